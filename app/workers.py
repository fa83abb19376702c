"""Run long ``navigation`` work off the GUI thread with progress and cancel.

A :class:`Job` wraps a callable taking ``progress`` and ``cancel`` keyword arguments (the
``navigation.progress`` protocol) and reports back through Qt signals, which Qt delivers on the
GUI thread. The GUI never blocks: it shows a progress bar and a Cancel button.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6 import QtCore

from navigation.errors import Cancelled, NavigationError
from navigation.progress import CancelToken

log = logging.getLogger(__name__)

__all__ = ["Job", "user_message"]


def user_message(exc: BaseException) -> str:
    """The text a user sees for an exception: ours are already phrased for users."""
    if isinstance(exc, NavigationError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory to finish this operation. Close other programs and try again."
    if isinstance(exc, OSError):
        return f"{exc.strerror or 'System error'}: {exc.filename or ''}".strip(": ")
    return f"Unexpected problem ({type(exc).__name__}: {exc}). Details were written to the log."


class _Signals(QtCore.QObject):
    progress = QtCore.Signal(float, str)
    succeeded = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()
    finished = QtCore.Signal()


class Job(QtCore.QThread):
    """One background task. Connect to ``signals`` before ``start()``.

    ``fn(progress=..., cancel=...)`` runs on the worker thread; exceptions become ``failed``
    with a user message (the traceback goes to the log, never to the user).
    """

    def __init__(self, fn: Callable[..., Any], *, name: str = "job",
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._fn = fn
        self.cancel_token = CancelToken()
        self.signals = _Signals()
        self.result: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.context: object = None

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def run(self) -> None:  # worker thread
        try:
            self.result = self._fn(progress=self._emit_progress, cancel=self.cancel_token)
        except Cancelled:
            self.signals.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user as text
            log.error("%s failed:\n%s", self.objectName(), traceback.format_exc())
            self.exception = exc
            self.error = user_message(exc)
            self.signals.failed.emit(self.error)
        else:
            self.signals.succeeded.emit(self.result)
        finally:
            self.signals.finished.emit()

    def _emit_progress(self, fraction: float, message: str) -> None:
        self.signals.progress.emit(float(fraction), str(message))
