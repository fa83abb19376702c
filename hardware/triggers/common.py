"""What every pulse source shares: a reader thread, counters, and how problems reach the user.

Each source (:mod:`.ttl_serial`, :mod:`.modem_lines`, :mod:`.lsl_markers`, :mod:`.key_source`)
says "a pulse happened at ``host_time_ns``" on the ``time.monotonic_ns()`` clock, the clock of
:class:`tmsnav.hardware.frames.ToolFrame.host_time_ns`, so the treatment log can pair the pulse
with the coil pose that was live then. Problems are never swallowed: things the source ignored
(a byte that is not the pulse byte, a key repeat, a contact bounce, a marker with other text) are
counted in :class:`SourceStats` and the first of each kind is said through the problem callback;
a failure that stops the source (adapter pulled, LSL stream gone) is said once, marked ``fatal``,
and :meth:`ThreadedSource.stop` still never raises.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Callable

from ..stimulators.base import PulseCallback, PulseEvent, PulseSource, StimulatorError

__all__ = ["PulseSourceError", "SourceProblem", "ProblemCallback", "SourceStats", "ThreadedSource"]

log = logging.getLogger(__name__)


class PulseSourceError(StimulatorError):
    """A pulse source cannot start (port missing, no modem lines, no such LSL stream). For the user."""


@dataclass(frozen=True)
class SourceProblem:
    """Something the user should see. ``fatal``: the source has stopped delivering pulses."""

    source: str
    message: str
    fatal: bool
    host_time_ns: int


ProblemCallback = Callable[[SourceProblem], None]


@dataclass
class SourceStats:
    """Counters a source keeps while it runs (read them from any thread; ints only)."""

    pulses: int = 0
    ignored: dict[str, int] = field(default_factory=dict)     # reason -> how many
    error: str | None = None                                   # why the source stopped, if it did

    def ignored_total(self) -> int:
        return sum(self.ignored.values())


class ThreadedSource(PulseSource):
    """A :class:`PulseSource` whose subclass reads its device in :meth:`_run` on its own thread.

    Subclasses implement ``_open()`` (raise :class:`PulseSourceError`), ``_run()`` (loop until
    ``self._stop_event`` is set; raise anything when the device fails) and ``_close()`` (release;
    may raise, it is guarded)."""

    name = "pulse source"

    def __init__(self, *, on_problem: ProblemCallback | None = None) -> None:
        self.stats = SourceStats()
        self._callback: PulseCallback | None = None
        self._on_problem = on_problem
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._said: set[str] = set()
        self._sequence = 0

    # ----- PulseSource ------------------------------------------------------------------------------
    def start(self, callback: PulseCallback) -> None:
        """Open the device (raises :class:`PulseSourceError` with the reason) and start reading."""
        self.stop()
        self.stats = SourceStats()
        self._said.clear()
        self._sequence = 0
        self._callback = callback
        self._stop_event.clear()
        self._open()
        self._thread = threading.Thread(target=self._guarded_run, name=f"pulses-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and release the device. Idempotent; never raises (a pulled cable included)."""
        self._stop_event.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        try:
            self._close()
        except Exception as exc:  # noqa: BLE001 - stop() must never raise; the reason is logged
            log.debug("closing %s: %s", self.name, exc)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_problem_callback(self, callback: ProblemCallback | None) -> None:
        """Where problems go (from the source's thread)."""
        self._on_problem = callback

    # ----- for subclasses ---------------------------------------------------------------------------
    @abstractmethod
    def _open(self) -> None:
        """Open the device (on the caller's thread, so a bad port fails start() at once)."""

    @abstractmethod
    def _run(self) -> None:
        """The reader loop (on the source's own thread) until ``self._stop_event`` is set."""

    @abstractmethod
    def _close(self) -> None:
        """Release the device; never raises."""

    def _emit(self, host_time_ns: int, detail: dict | None = None) -> PulseEvent:
        """Count and deliver one pulse seen at ``host_time_ns``."""
        with self._lock:
            self._sequence += 1
            self.stats.pulses += 1
            event = PulseEvent(host_time_ns=int(host_time_ns), source=self.name, sequence=self._sequence,
                               detail=dict(detail or {}))
        if self._callback is not None:
            try:
                self._callback(event)
            except Exception as exc:  # noqa: BLE001 - a failing receiver must not pass for a pulled cable
                log.exception("handing pulse %d of %s over", event.sequence, self.name)
                self._ignore("not delivered", f"pulse {event.sequence} from {self.name} could not be logged: {exc}")
        return event

    def _ignore(self, reason: str, message: str, count: int = 1) -> None:
        """Count ``count`` ignored inputs under ``reason``; say ``message`` the first time."""
        with self._lock:
            self.stats.ignored[reason] = self.stats.ignored.get(reason, 0) + count
            first = reason not in self._said
            self._said.add(reason)
        if first:
            self._problem(message, fatal=False)

    def _problem(self, message: str, *, fatal: bool) -> None:
        if fatal:
            self.stats.error = message
        log.warning("%s: %s", self.name, message)
        if self._on_problem is not None:
            self._on_problem(SourceProblem(self.name, message, fatal, time.monotonic_ns()))

    def _guarded_run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - any device failure ends the source, said once
            if not self._stop_event.is_set():
                self._problem(self._failure_message(exc), fatal=True)

    def _failure_message(self, exc: Exception) -> str:
        return f"{self.name} stopped: {exc}"
