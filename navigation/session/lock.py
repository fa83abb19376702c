"""A folder lock so that two tmsnav programs never write one session at the same time.

Two navigators (or two windows on one) appending to one ``events.jsonl`` would interleave pulse
records and overwrite each other's ``session.json``; the lock refuses the second one with who
holds it and how to proceed.

How it works (``session.lock`` in the session folder):

* The file is created with ``O_CREAT | O_EXCL`` (atomic on local disks and on NFS v3+) and holds
  the holder's host name, process id, that process's start time (Linux ``/proc/<pid>/stat``
  field 22, so a process id reused after a reboot is not mistaken for the holder) and the time
  the lock was taken.
* On POSIX the holder also keeps ``fcntl.flock`` on the file for as long as it holds the lock:
  the kernel drops it when the process dies however it dies (kill -9, power loss of a network
  client aside), so between processes of one host the flock is the arbiter; a flock taken on a
  lock file that was meanwhile removed or replaced is let go and the whole attempt retried.
* A lock file whose holder is a dead process on this host is stale: it is taken over, and
  :attr:`SessionLock.warning` says so (the app shows it; it is also logged).
* A lock file from another host cannot be checked from here (its process may be alive):
  :class:`SessionLockedError` names host, process and since when; the user may take it over
  explicitly (``take_over=True``) once they know that program is closed.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import SessionError

try:                                   # POSIX only; elsewhere the O_EXCL file and the pid check
    import fcntl
except ImportError:                    # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["SessionLock", "SessionLockedError", "LockHolder", "LOCK_NAME"]

log = logging.getLogger(__name__)

LOCK_NAME = "session.lock"
_ATTEMPTS = 20


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a session lock."""

    host: str
    pid: int
    since_utc: str
    process_start: str = ""        # /proc start time of ``pid`` ("" when unknown)

    def to_dict(self) -> dict:
        return {"host": self.host, "pid": self.pid, "since_utc": self.since_utc,
                "process_start": self.process_start}

    @classmethod
    def from_bytes(cls, data: bytes) -> "LockHolder | None":
        """None when the file is empty or not a lock record (a lock being written, or damaged)."""
        try:
            d = json.loads(data.decode("utf-8"))
            return cls(str(d["host"]), int(d["pid"]), str(d["since_utc"]),
                       str(d.get("process_start") or ""))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def describe(self) -> str:
        since = self.since_utc[:19].replace("T", " ")
        return f"tmsnav on {self.host} (process {self.pid}) since {since} UTC"


class SessionLockedError(SessionError):
    """Another program writes this session; ``holder`` says which (None if unreadable)."""

    def __init__(self, message: str, folder: Path, holder: LockHolder | None) -> None:
        super().__init__(message)
        self.folder = folder
        self.holder = holder


def _process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` (clock ticks since boot), "" where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else ""


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM       # exists, owned by another user
    return True


def _holder_alive(holder: LockHolder) -> bool:
    """On this host: is the holding process still the one that took the lock?"""
    if not _pid_alive(holder.pid):
        return False
    if holder.process_start:
        now = _process_start(holder.pid)
        if now and now != holder.process_start:
            return False                       # the pid was reused by another process
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _try_flock(fd: int) -> bool | None:
    """True: flock taken; False: another open file holds it; None: no flock on this system or
    file system (then the O_EXCL file and the pid check decide alone)."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        if exc.errno in (errno.ENOLCK, errno.ENOTSUP, errno.EOPNOTSUPP):
            return None
        raise
    return True


def _read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _write_fd(fd: int, holder: LockHolder) -> None:
    data = json.dumps(holder.to_dict()).encode("utf-8")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)
    os.fsync(fd)


class SessionLock:
    """Held while this program writes a session folder; :meth:`acquire` takes it, :meth:`release`
    gives it back (also a context manager)."""

    def __init__(self, folder: Path, fd: int, holder: LockHolder, warning: str = "") -> None:
        self.folder = folder
        self.holder = holder
        self.warning = warning        # non-empty after taking over a stale or foreign lock
        self._fd: int | None = fd

    @property
    def path(self) -> Path:
        return self.folder / LOCK_NAME

    @property
    def held(self) -> bool:
        return self._fd is not None

    @staticmethod
    def holder_of(folder: str | Path) -> LockHolder | None:
        """Who the lock file of ``folder`` names (None when there is none or it is unreadable)."""
        try:
            return LockHolder.from_bytes((Path(folder) / LOCK_NAME).read_bytes())
        except OSError:
            return None

    @classmethod
    def acquire(cls, folder: str | Path, *, take_over: bool = False) -> "SessionLock":
        """Lock ``folder`` for this process.

        Raises :class:`SessionLockedError` while a live program on this host holds it, or a
        program on another host does (unless ``take_over``: the user has checked that program
        is closed). A dead holder on this host is taken over with :attr:`warning` set.
        """
        folder = Path(folder)
        path = folder / LOCK_NAME
        me = LockHolder(socket.gethostname(), os.getpid(),
                        datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        _process_start(os.getpid()))
        for _ in range(_ATTEMPTS):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                created = True
            except FileExistsError:
                try:
                    fd = os.open(path, os.O_RDWR)
                except FileNotFoundError:
                    continue                   # released meanwhile: try to create it
                created = False
            except OSError as exc:
                raise SessionError(f"Cannot lock the session folder {folder}: "
                                   f"{exc.strerror or exc}.") from exc
            try:
                lock = cls._settle(folder, path, fd, me, created, take_over)
            except BaseException:
                os.close(fd)
                raise
            if lock is not None:
                return lock
            os.close(fd)                       # the file changed under us: start again
            time.sleep(0.01)
        raise SessionError(f"Cannot lock the session folder {folder}: its lock file keeps changing "
                           "(another program is opening and closing it). Try again.")

    @classmethod
    def _settle(cls, folder: Path, path: Path, fd: int, me: LockHolder, created: bool,
                take_over: bool) -> "SessionLock | None":
        """Decide with ``fd`` open on the lock file; None = retry."""
        flocked = _try_flock(fd)
        if flocked is False:
            holder = LockHolder.from_bytes(_read_fd(fd))
            raise cls._locked(folder, holder, live=True)
        if not _same_file(fd, path):
            return None                        # removed or replaced between open and flock
        if created:
            _write_fd(fd, me)
            return cls(folder, fd, me)
        holder = LockHolder.from_bytes(_read_fd(fd))
        warning = ""
        if holder is None:
            # Only possible when its writer died between create and write (flock is free).
            warning = "An unreadable lock file of a program that is no longer running was replaced."
        elif holder.host != me.host:
            if not take_over:
                raise cls._locked(folder, holder, live=False)
            warning = (f"The lock of {holder.describe()} was taken over as asked; if that program "
                       "is still running, close it without saving.")
        elif flocked is None and _holder_alive(holder):
            raise cls._locked(folder, holder, live=True)      # no flock here: trust the pid
        elif _holder_alive(holder):
            # Alive but without the flock it would keep while holding the lock: the lock file was
            # copied with the folder (a copy opened for reading), or left by this very program.
            warning = (f"The lock file names {holder.describe()}, which does not hold this folder "
                       "(a copied session folder?); the lock was taken.")
        else:
            warning = (f"The session was left locked by {holder.describe()}, which is no longer "
                       "running (it probably closed unexpectedly); the lock was taken over.")
        _write_fd(fd, me)
        log.warning("session lock taken over in %s: %s", folder.name, warning)
        return cls(folder, fd, me, warning)

    @staticmethod
    def _locked(folder: Path, holder: LockHolder | None, *, live: bool) -> SessionLockedError:
        who = holder.describe() if holder is not None else "another tmsnav program"
        if live:
            how = ("Close the session there first (File > Close), or open a copy of the folder "
                   "to read it.")
        else:
            how = ("Close the session on that computer first. If that program is no longer running "
                   "(it crashed or the computer was switched off), take the lock over.")
        return SessionLockedError(f"This session is open in {who}: two programs must not write one "
                                  f"session. {how}", folder, holder)

    def release(self) -> None:
        """Remove the lock file and let go of the flock; idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if _same_file(fd, self.path):
                self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the session lock in %s: %s", self.folder.name, exc)
        finally:
            os.close(fd)                       # drops the flock

    def __enter__(self) -> "SessionLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:                 # a forgotten lock still ends with the object
        fd = getattr(self, "_fd", None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
