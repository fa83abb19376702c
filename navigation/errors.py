"""Base errors of ``navigation``. ``str(err)`` is always a message a user can act on:
the GUI shows it in a dialog, the CLI prints it, neither shows a traceback."""

from __future__ import annotations

__all__ = ["NavigationError", "Cancelled"]


class NavigationError(Exception):
    """A problem with the user's data or request, phrased for the user."""


class Cancelled(NavigationError):
    """The user cancelled a long operation; not an error to report, just stop."""
