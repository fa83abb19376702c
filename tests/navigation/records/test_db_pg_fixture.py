"""The PostgreSQL test server helper: a clear reason when the binaries are missing, a skip on a
developer's machine, a failure under CI, and a server that really starts, serves and stops."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from pg_server import PgServer, PgUnavailable, find_pg_bin, skip_or_fail


def test_missing_binaries_name_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import pg_server

    monkeypatch.setattr(pg_server.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg_server.shutil, "which", lambda name: None)
    with pytest.raises(PgUnavailable, match="'postgresql' package"):
        find_pg_bin()


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception),
                                         ("TRUE", pytest.fail.Exception)])
def test_skip_on_a_workstation_fail_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str,
                                             outcome: type[BaseException]) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="postgresql"):
        skip_or_fail(PgUnavailable("install Debian's 'postgresql' package"))


def test_the_session_server_serves_on_a_unix_socket_only(pg_server: PgServer) -> None:
    assert Path(pg_server.folder, ".s.PGSQL.5433").is_socket()
    with psycopg.connect(host=str(pg_server.folder), port=5433, user="tmsnav", dbname="postgres") as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
        assert conn.execute("SELECT current_user").fetchone() == ("tmsnav",)


def test_each_test_gets_an_empty_database(pg_database_url: str) -> None:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(pg_database_url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()
