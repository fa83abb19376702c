"""A throwaway PostgreSQL server for tests and benchmarks (Debian's ``postgresql`` package).

``start_postgres()`` runs ``initdb`` + ``pg_ctl start`` on a fresh temporary folder and listens on
a Unix socket in that folder only (nothing on the network), with trust authentication for the
user ``tmsnav``. initdb refuses to run as root, so as root the folder is given to the
``postgres`` system user and the tools run through ``runuser``. Start to ready: about 2 s.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

__all__ = ["PgServer", "PgUnavailable", "find_pg_bin", "start_postgres", "skip_or_fail"]

USER = "tmsnav"
PORT = 5433


class PgUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed (the reason says what to install)."""


def find_pg_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with initdb and pg_ctl."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise PgUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
                        "'postgresql' package (run.sh does).")


@dataclass
class PgServer:
    """A running server: ``url`` connects to its ``postgres`` database as ``tmsnav``."""

    folder: Path
    bin_dir: Path
    as_postgres_user: bool
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"postgresql+psycopg://{USER}@/postgres?host={self.folder}&port={PORT}"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@/{database}?host={self.folder}&port={PORT}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "LC_ALL": "C"})

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-w", "-t", "60", "-l",
                  str(self.folder / "log"), "-o",
                  f"-k {self.folder} -p {PORT} -c listen_addresses='' -c fsync=off", "start")

    def stop(self, *, remove: bool = True) -> None:
        """Stop the server (fast shutdown: open connections are cut) and delete its folder."""
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-w", "-m", "fast", "stop",
                      check=False)
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)


def skip_or_fail(reason: PgUnavailable | str) -> NoReturn:
    """Skip a PostgreSQL test for ``reason`` - except under CI (``CI=true``), where a missing
    server must fail: a CI that silently tested SQLite only would hide PostgreSQL bugs."""
    import pytest

    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI must test PostgreSQL: {reason}", pytrace=False)
    pytest.skip(str(reason))


def start_postgres(tmp_dir: Path | None = None) -> PgServer:
    """Initialise and start a server in a new folder under ``tmp_dir`` (as root: under the system
    temp folder, which the ``postgres`` user can reach). PgUnavailable without the binaries."""
    bin_dir = find_pg_bin()
    as_root = os.geteuid() == 0
    parent = None if as_root or tmp_dir is None else str(tmp_dir)
    folder = Path(tempfile.mkdtemp(prefix="tmsnav-pg-", dir=parent))
    if as_root:
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise PgUnavailable("running as root needs the 'postgres' system user (Debian's "
                                "postgresql package creates it)") from None
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PgServer(folder, bin_dir, as_root)
    try:
        server._run("initdb", "-D", str(folder / "data"), "-A", "trust", "-U", USER, "-E", "UTF8",
                    "--locale=C", "--lc-ctype=C.UTF-8", "--no-sync")
        server.start()
    except subprocess.CalledProcessError as err:
        log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {err.stderr or err.stdout}\n{log}") from None
    return server
