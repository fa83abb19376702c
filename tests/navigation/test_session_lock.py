"""The session folder lock: a second program (a real second process) is refused with who holds
the lock; a holder killed with -9 leaves a stale lock that is taken over with a warning; a lock
from another host is refused unless taken over on purpose."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tmsnav.navigation.session import Session
from tmsnav.navigation.session.lock import LOCK_NAME, LockHolder, SessionLock, SessionLockedError


def _holder_process(folder: Path) -> subprocess.Popen:
    """A second program that takes the lock, says so, and holds it until killed."""
    script = textwrap.dedent(f"""
        import sys
        from tmsnav.navigation.session.lock import SessionLock
        lock = SessionLock.acquire({str(folder)!r})
        print("locked", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_process_is_refused_with_host_pid_and_what_to_do(tmp_path):
    Session.create(tmp_path / "s", "P01")
    proc = _holder_process(tmp_path / "s")
    try:
        with pytest.raises(SessionLockedError) as info:
            SessionLock.acquire(tmp_path / "s")
        message = str(info.value)
        assert f"process {proc.pid}" in message and socket.gethostname() in message
        assert "Close the session there first" in message
        assert info.value.holder is not None and info.value.holder.pid == proc.pid
        # even "take over" never steals the lock from a live process on this host
        with pytest.raises(SessionLockedError):
            SessionLock.acquire(tmp_path / "s", take_over=True)
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_process_is_taken_over_with_a_warning(tmp_path):
    folder = tmp_path / "s"
    Session.create(folder, "P01")
    proc = _holder_process(folder)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (folder / LOCK_NAME).exists()          # kill -9 left the file behind
    lock = SessionLock.acquire(folder)
    try:
        assert f"process {proc.pid}" in lock.warning and "no longer running" in lock.warning
        assert SessionLock.holder_of(folder).pid == os.getpid()
    finally:
        lock.release()
    assert not (folder / LOCK_NAME).exists()


def test_released_lock_can_be_taken_again_without_warning(tmp_path):
    with SessionLock.acquire(tmp_path) as lock:
        assert lock.held and lock.warning == ""
        with pytest.raises(SessionLockedError):    # a second window of this very program
            SessionLock.acquire(tmp_path)
    assert not lock.held
    again = SessionLock.acquire(tmp_path)
    assert again.warning == ""
    again.release()
    again.release()                                # idempotent


def _write_foreign_lock(folder: Path, host: str, pid: int) -> None:
    (folder / LOCK_NAME).write_text(json.dumps({"host": host, "pid": pid,
                                                "since_utc": "2026-12-05T08:15:00+00:00"}))


def test_lock_from_another_host_is_refused_then_taken_over_on_purpose(tmp_path):
    _write_foreign_lock(tmp_path, "room-2-navigator", 4242)
    with pytest.raises(SessionLockedError) as info:
        SessionLock.acquire(tmp_path)
    message = str(info.value)
    assert "room-2-navigator" in message and "process 4242" in message
    assert "2026-12-05 08:15:00 UTC" in message and "take the lock over" in message
    lock = SessionLock.acquire(tmp_path, take_over=True)
    assert "room-2-navigator" in lock.warning
    assert SessionLock.holder_of(tmp_path).host == socket.gethostname()
    lock.release()


def test_reused_pid_is_not_mistaken_for_the_holder(tmp_path):
    """A lock naming a live pid (this test's parent) whose start time differs: the pid was reused
    after the holder died (e.g. after a reboot), so the lock is stale."""
    (tmp_path / LOCK_NAME).write_text(json.dumps({
        "host": socket.gethostname(), "pid": os.getppid(), "since_utc": "2026-12-04T08:00:00+00:00",
        "process_start": "1"}))
    lock = SessionLock.acquire(tmp_path)
    assert "no longer running" in lock.warning
    lock.release()


def test_unreadable_lock_file_without_holder_is_replaced(tmp_path):
    (tmp_path / LOCK_NAME).write_bytes(b"")       # its writer died between create and write
    lock = SessionLock.acquire(tmp_path)
    assert "unreadable" in lock.warning
    assert LockHolder.from_bytes((tmp_path / LOCK_NAME).read_bytes()).pid == os.getpid()
    lock.release()


def test_many_threads_racing_for_one_stale_lock_only_one_wins(tmp_path):
    """Each thread stands for a program: exactly one gets the lock, the rest are refused."""
    _write_foreign_lock(tmp_path, socket.gethostname(), 999_999_999)    # a dead pid
    barrier = threading.Barrier(8)
    won: list[SessionLock] = []
    refused: list[SessionLockedError] = []

    def race() -> None:
        barrier.wait()
        try:
            won.append(SessionLock.acquire(tmp_path))
        except SessionLockedError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 7
    won[0].release()


def test_a_copied_folder_of_an_open_session_is_not_locked_by_the_original(tmp_path):
    """Copying an open session's folder copies session.lock too; the copy is a different file,
    which the original's holder does not hold: the copy can be opened (and says why)."""
    import shutil

    Session.create(tmp_path / "s", "P01")
    proc = _holder_process(tmp_path / "s")
    try:
        shutil.copytree(tmp_path / "s", tmp_path / "copy")
        lock = SessionLock.acquire(tmp_path / "copy")
        assert "does not hold this folder" in lock.warning and f"process {proc.pid}" in lock.warning
        lock.release()
        with pytest.raises(SessionLockedError):            # the original stays locked
            SessionLock.acquire(tmp_path / "s")
    finally:
        proc.kill()
        proc.wait()
