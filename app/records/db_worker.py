"""Database calls off the GUI thread, one at a time, answers back on the GUI thread.

A clinic database can be a PostgreSQL server across the building: a query may take a moment, and
a server that has gone away takes up to the connect timeout to say so. The GUI must keep
answering (the Navigate view draws the coil at 30 Hz), so every :class:`~tmsnav.navigation.records.
repository.Records` call of the records windows runs here, on one worker thread.

One thread and a queue rather than a thread per call: calls then run in the order they were asked
(a new patient is added before the list that should show it is read), and an SQLite file never sees
two writers from this process. Results come back through a queued Qt signal, so callbacks always
run on the GUI thread; a callback of a widget that was closed meanwhile is simply not called
(:meth:`DbWorker.submit` takes the widget as ``owner``).
"""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore
from shiboken6 import isValid

from ..workers import is_project_error, user_message

log = logging.getLogger(__name__)

__all__ = ["DbWorker", "DbCall"]


@dataclass
class DbCall:
    """One queued call; ``error`` holds the exception once it failed (``message`` its user text)."""

    fn: Callable[[], Any]
    on_done: Callable[[Any], object] | None
    on_error: Callable[[BaseException, str], object] | None
    owner: QtCore.QObject | None
    name: str
    result: Any = None
    error: BaseException | None = None
    message: str = ""


class DbWorker(QtCore.QObject):
    """Runs submitted callables serially on its own thread (start it once, stop it at close)."""

    _finished = QtCore.Signal(object)        # DbCall, emitted on the worker thread, queued to the GUI
    idle = QtCore.Signal()                   # the queue ran empty (tests wait for it)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.Queue[DbCall | None] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._finished.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    @property
    def pending(self) -> int:
        """Calls queued or running whose answer has not reached the GUI thread yet."""
        with self._lock:
            return self._pending

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="records-db", daemon=True)
            self._thread.start()

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], object] | None = None,
               on_error: Callable[[BaseException, str], object] | None = None, *,
               owner: QtCore.QObject | None = None, name: str = "records call") -> DbCall:
        """Queue ``fn()``; ``on_done(result)`` or ``on_error(exception, user message)`` run on the
        GUI thread later, unless ``owner`` was deleted by then."""
        call = DbCall(fn, on_done, on_error, owner, name)
        with self._lock:
            self._pending += 1
        self.start()
        self._queue.put(call)
        return call

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the queued calls and end the thread (window closing)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout_s)
        self._thread = None

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        """Process events until every answer was delivered; for tests and closing."""
        timer = QtCore.QElapsedTimer()
        timer.start()
        while self.pending and timer.elapsed() < timeout_ms:
            QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            QtCore.QThread.msleep(2)
        return not self.pending

    def _run(self) -> None:  # worker thread
        while True:
            call = self._queue.get()
            if call is None:
                return
            try:
                call.result = call.fn()
            except BaseException as exc:  # noqa: BLE001 - every failure reaches the user as text
                if is_project_error(exc):          # anticipated (a duplicate, a server away)
                    log.warning("%s: %s", call.name, exc)
                else:
                    log.error("%s failed:\n%s", call.name, traceback.format_exc())
                call.error = exc
                call.message = user_message(exc)
            self._finished.emit(call)

    def _deliver(self, call: DbCall) -> None:  # GUI thread
        try:
            if call.owner is not None and not isValid(call.owner):
                return
            if call.error is None:
                if call.on_done is not None:
                    call.on_done(call.result)
            elif call.on_error is not None:
                call.on_error(call.error, call.message)
        finally:
            with self._lock:
                self._pending -= 1
                empty = self._pending == 0
            if empty:
                self.idle.emit()
