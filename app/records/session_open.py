"""Opening a session folder safely: its lock, and a damaged ``session.json``.

Two tmsnav instances writing one session folder (two rooms opening the same course day, or the
app started twice) would interleave their event logs: the folder is locked while it is open
(:mod:`tmsnav.navigation.session.lock`) and a second opener is told who holds it (host, process,
since when) instead of opening it.

A ``session.json`` that does not parse (edited by hand, a disk fault) is not a dead end: the last
autosave that parses is offered (:mod:`tmsnav.navigation.session.recovery`); the damaged file is
kept aside, never deleted, so nothing that might still be in it is lost.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from PySide6 import QtWidgets

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.session import Session

log = logging.getLogger(__name__)

__all__ = ["open_locked", "lock_folder", "ask_use_last_good", "ask_take_over"]


def lock_folder(folder: str | Path) -> Any:
    """The folder's lock for a session this instance just created (nobody else can hold it)."""
    from tmsnav.navigation.session.lock import SessionLock, SessionLockedError

    try:
        return SessionLock.acquire(Path(folder))
    except (SessionLockedError, OSError) as exc:
        log.warning("session folder not locked: %s", exc)
        return None


def ask_use_last_good(window, message: str, autosave: Path) -> bool:
    """Yes/No: open the session from its last good autosave (tests replace this function)."""
    answer = QtWidgets.QMessageBox.question(
        window, "Session file damaged",
        f"{message}\n\nOpen the session from its last good autosave ({autosave.name})? The damaged "
        "file is kept beside it; nothing is deleted.")
    return answer == QtWidgets.QMessageBox.StandardButton.Yes


def ask_take_over(window, message: str) -> bool:
    """Yes/No: another computer's lock, whose program the user says is no longer running."""
    answer = QtWidgets.QMessageBox.question(
        window, "Session in use on another computer",
        f"{message}\n\nTake the lock over? Only if that program is really closed: two programs "
        "writing one session would mix their logs.",
        defaultButton=QtWidgets.QMessageBox.StandardButton.No)
    return answer == QtWidgets.QMessageBox.StandardButton.Yes


def open_locked(window, folder: str | Path, use_last_good: bool | None = None) -> tuple[Session, Any] | None:
    """(session, lock), or None after telling the user why not (locked, damaged, newer, missing).
    ``use_last_good``: for a damaged file, None asks, True/False answers in advance."""
    from tmsnav.navigation.session.lock import SessionLock, SessionLockedError
    from tmsnav.navigation.session.recovery import DamagedSessionError, describe, open_from_autosave

    folder = Path(folder)
    if not (folder / "session.json").exists():
        window.show_error("Cannot open the session", f"No session.json in {folder}.")
        return None
    try:
        lock = SessionLock.acquire(folder)
    except SessionLockedError as exc:
        holder = exc.holder
        if holder is None or holder.host == socket.gethostname() or not ask_take_over(window, str(exc)):
            window.show_error("Session in use", str(exc))
            return None
        lock = SessionLock.acquire(folder, take_over=True)   # the user checked it is closed there
    if lock.warning:
        window.show_problem(lock.warning)
    try:
        try:
            return Session.open(folder), lock
        except DamagedSessionError as exc:
            if exc.autosave is None:
                window.show_error("Session file damaged", f"{exc} No autosave of it could be read either.")
                lock.release()
                return None
            if use_last_good is None:
                use_last_good = ask_use_last_good(window, describe(exc), Path(exc.autosave))
            if not use_last_good:
                lock.release()
                return None
            session = open_from_autosave(folder, exc.autosave)
            window.show_problem(f"session.json was damaged: opened from the autosave {Path(exc.autosave).name}; "
                                "the damaged file is kept in the session folder.")
            return session, lock
    except NavigationError as exc:
        lock.release()
        window.show_error("Cannot open the session", str(exc))
        return None
