"""Run long ``navigation`` work off the GUI thread with progress and cancel.

A :class:`Job` wraps a callable taking ``progress`` and ``cancel`` keyword arguments (the
``tmsnav.navigation.progress`` protocol) and reports back through Qt signals, which Qt delivers on the
GUI thread. The GUI never blocks: it shows a progress bar and a Cancel button.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6 import QtCore

from tmsnav.navigation.errors import Cancelled
from tmsnav.navigation.progress import CancelToken

from .logging_setup import current_log_file

log = logging.getLogger(__name__)

__all__ = ["Job", "user_message", "error_title", "is_project_error"]


_PROJECT_PACKAGES = ("tmsnav.app", "tmsnav.navigation", "tmsnav.hardware")


def is_project_error(exc: BaseException) -> bool:
    """True for an exception type defined by tmsnav itself (or derived from one).

    Decided by where the class is defined, not by a list of bases, so a new error type in
    ``navigation``/``hardware`` shows its own words without anyone remembering to register it;
    ``TransformError`` is a ``ValueError`` and ``CommandError`` has no project base, which is
    exactly how they used to fall through to "Unexpected problem".
    """
    return any(cls.__module__.split(".")[: len(p.split("."))] == p.split(".")
               for cls in type(exc).__mro__ for p in _PROJECT_PACKAGES)


def user_message(exc: BaseException) -> str:
    """The text a user sees for an exception: ours are already phrased for users.

    Only an exception tmsnav did not anticipate gets the generic text, and it names the log
    file holding the traceback (see :mod:`tmsnav.app.logging_setup`).
    """
    if is_project_error(exc):
        return str(exc).strip() or f"{type(exc).__name__} (no details given)."
    if isinstance(exc, MemoryError):
        return "Not enough memory to finish this operation. Close other programs and try again."
    if isinstance(exc, OSError):
        return f"{exc.strerror or 'System error'}: {exc.filename or ''}".strip(": ")
    log_file = current_log_file()
    where = (f"Details were written to the log file\n{log_file}" if log_file is not None
             else "Details were written to the terminal output (the log file could not be opened).")
    return f"Unexpected problem ({type(exc).__name__}: {exc}). {where}"


def error_title(exc: BaseException, default: str = "Problem") -> str:
    """Dialog title: "Unexpected problem" only for what :func:`user_message` calls unexpected."""
    expected = is_project_error(exc) or isinstance(exc, (MemoryError, OSError))
    return default if expected else "Unexpected problem"


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
