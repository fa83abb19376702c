"""The session package's errors, in a module of their own so the lock and the store both use them
without importing each other."""

from __future__ import annotations

from pathlib import Path

from ..errors import NavigationError

__all__ = ["SessionError", "DamagedSessionError"]


class SessionError(NavigationError):
    """The session folder or file cannot be used; the message says why."""


class DamagedSessionError(SessionError):
    """``session.json`` exists but cannot be read as a session (a hand edit, a disk fault).

    ``autosave`` is the newest autosave of the folder that does parse (None when there is none);
    :func:`tmsnav.navigation.session.recovery.open_from_autosave` opens the session from it and
    keeps the damaged file aside, never deleting it.
    """

    def __init__(self, message: str, path: Path, autosave: Path | None) -> None:
        super().__init__(message)
        self.path = path
        self.autosave = autosave
