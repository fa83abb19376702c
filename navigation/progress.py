"""Progress reporting and cancellation for long work (loading, surfaces, registration).

Long functions in ``navigation`` take ``progress: ProgressCallback | None`` and
``cancel: CancelToken | None``. They call ``progress(fraction, message)`` now and then and
``cancel.raise_if_cancelled()`` between steps, so the GUI can run them on a worker thread with a
progress bar and a Cancel button without ``navigation`` knowing about Qt.
"""

from __future__ import annotations

import threading
from typing import Protocol

from .errors import Cancelled

__all__ = ["ProgressCallback", "CancelToken", "report", "scaled"]


class ProgressCallback(Protocol):
    def __call__(self, fraction: float, message: str) -> None: ...


class CancelToken:
    """Thread-safe flag set by the GUI thread, polled by the worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def report(progress: ProgressCallback | None, fraction: float, message: str,
           cancel: CancelToken | None = None) -> None:
    """Report progress (clamped to 0..1) and honour a pending cancel."""
    if cancel is not None:
        cancel.raise_if_cancelled()
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)


def scaled(progress: ProgressCallback | None, start: float, stop: float) -> ProgressCallback | None:
    """A callback mapping 0..1 of a sub-step onto ``start..stop`` of the parent's range."""
    if progress is None:
        return None

    def sub(fraction: float, message: str) -> None:
        progress(start + (stop - start) * min(1.0, max(0.0, fraction)), message)

    return sub

