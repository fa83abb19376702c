"""The one error of the exchange package: a file that is not what the reader expects.

Its message names the format that was expected and what the file looks like instead (from
:func:`tmsnav.navigation.exchange.detect.describe`), so the user can pick the right menu entry or
export again from the other tool; the GUI shows it in a message box, never a traceback.
"""

from __future__ import annotations

from tmsnav.navigation.errors import NavigationError

__all__ = ["ExchangeError"]


class ExchangeError(NavigationError):
    """A file for or from another tool cannot be read or written as asked; the message says why."""
