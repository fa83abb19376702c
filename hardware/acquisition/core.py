"""Acquisition: owns one tracker on its own thread and serves the latest frames to everyone else.

Safety rules it enforces (docs/hardware-core.md, docs/safety.md): a pose older than its staleness limit
(3 device periods, capped at 100 ms) is never reported live; when the device is lost every tool
turns ``DISCONNECTED`` at once (never frozen at its last pose); the device frame number, not the
host clock, detects dropped frames, and a backwards or implausible jump marks the frame INVALID
(PlusLib #244); a frozen stream (same frame number again and again) does not refresh liveness;
no driver exception ever kills the thread or reaches the caller. Time is ``time.monotonic_ns()``.

Threading: ``subscribe`` callbacks run **on the acquisition thread**. GUI code must hand the data
to its own thread (e.g. emit a Qt signal with a queued connection, or just poll ``latest()`` /
``snapshot()`` from a timer) and must never touch widgets inside the callback. Why a thread and
not a process: see docs/hardware-core.md (measured).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from functools import partial
from typing import Any, Callable, Iterable

from .process import BridgeHost, check_process_isolation, run_bridge
from .state import (AcquisitionStats, BatchFrameCheck, call_quietly, describe_error,
                    disconnected_frames, measured_rate_hz, measured_together,
                    staleness_limit_ns)
from ..errors import ConnectionLost, TrackerConnectionError, TrackerError
from ..frames import ToolFrame, ToolStatus
from ..tracker import Tracker

__all__ = ["Acquisition", "AcquisitionStats"]

log = logging.getLogger("tmsnav.hardware.acquisition")

FrameCallback = Callable[[list[ToolFrame]], None]

#: Consecutive recoverable read errors (bad CRC, garbage, driver bugs) before a reconnect.
MAX_CONSECUTIVE_ERRORS = 10


class Acquisition:
    """Run ``make_tracker()`` on a background thread; read poses without ever blocking.

    ``make_tracker`` is called again for each reconnection (a fresh driver object each time).
    ``staleness_periods`` / ``max_staleness_s`` set the liveness limit; ``clock_ns`` can be
    injected in tests (it must be the same clock the tracker stamps ``host_time_ns`` with).
    ``isolation="process"`` runs the driver in a child process (see
    :mod:`tmsnav.hardware.acquisition.process`; ``make_tracker`` must then be picklable, e.g.
    ``functools.partial(NDITracker, "/dev/ttyUSB0")``), so a busy GUI thread cannot starve it.
    """

    def __init__(self, make_tracker: Callable[[], Tracker], *, name: str = "",
                 reconnect: bool = True, buffer_seconds: float = 5.0,
                 staleness_periods: float = 3.0, max_staleness_s: float = 0.1,
                 read_timeout_s: float = 0.1, backoff_initial_s: float = 0.5,
                 backoff_max_s: float = 8.0, isolation: str = "thread",
                 clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        if buffer_seconds <= 0 or staleness_periods <= 0 or max_staleness_s <= 0:
            raise ValueError("buffer_seconds, staleness_periods and max_staleness_s must be > 0")
        if isolation not in ("thread", "process"):
            raise ValueError(f"isolation must be 'thread' or 'process', got {isolation!r}")
        if isolation == "process":
            check_process_isolation(make_tracker, clock_ns)
        self.isolation = isolation
        self._make_tracker = make_tracker
        self.name = name or "tracker"
        self.reconnect = reconnect
        self.buffer_seconds = float(buffer_seconds)
        self.staleness_periods = float(staleness_periods)
        self.max_staleness_s = float(max_staleness_s)
        self.read_timeout_s = float(read_timeout_s)
        self.backoff_initial_s, self.backoff_max_s = float(backoff_initial_s), float(backoff_max_s)
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process: Any = None  # multiprocessing.Process with isolation="process"
        self._latest: dict[str, ToolFrame] = {}
        self._history: dict[str, deque[ToolFrame]] = {}
        self._subscribers: list[FrameCallback] = []
        self._state_subscribers: list[Callable[[str], None]] = []
        self._failed_callbacks: set[int] = set()
        self._last_logged: dict[str, float] = {}
        self._stats = AcquisitionStats()
        self._rate_hz = 60.0
        self._stale_rate_hz = 60.0   # the rate staleness is judged against (see _prepare)
        self._state = "stopped"
        self._frame_check = BatchFrameCheck()

    # --- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread (no-op if running). Returns at once; see ``state``."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = stop = threading.Event()  # per run: a thread still stopping keeps its own
        self._set_state("connecting")
        target = partial(self._run, stop) if self.isolation == "thread" else \
            partial(run_bridge, _ProcessBridgeHost(self), stop)
        self._thread = threading.Thread(target=target, name=f"acquisition-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop and join the thread (default wait 2 s, 5 s with a child process); idempotent.
        The tracker is stopped and closed."""
        self._stop.set()
        thread = self._thread
        if timeout_s is None:
            timeout_s = 2.0 if self.isolation == "thread" else 5.0
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if thread.is_alive():
                log.error("%s: acquisition thread did not stop within %.1f s", self.name, timeout_s)
        self._thread = None
        self._set_state("stopped")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def process_pid(self) -> int | None:
        """PID of the child process running the driver (``isolation="process"``), else None."""
        proc = self._process
        return proc.pid if proc is not None and proc.is_alive() else None

    @property
    def thread_native_id(self) -> int | None:
        """OS id of the acquisition thread (for CPU accounting, e.g. psutil), None if stopped."""
        thread = self._thread
        return thread.native_id if thread is not None and thread.is_alive() else None

    def __enter__(self) -> "Acquisition":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- reading (any thread) ----------------------------------------------------------------
    @property
    def state(self) -> str:
        """"connecting", "tracking", "disconnected: <reason>", "reconnecting in N s", "stopped"."""
        with self._lock:
            return self._state

    @property
    def stats(self) -> AcquisitionStats:
        """A copy of the counters, with per-tool rates measured over the last second."""
        now = self._clock_ns()
        with self._lock:
            rates = {tool: measured_rate_hz(hist, now) for tool, hist in self._history.items()}
            return self._stats.copy(rate_hz=rates)

    @property
    def nominal_rate_hz(self) -> float:
        """The connected device's frame rate (60 until a device has connected)."""
        return self._rate_hz

    @property
    def staleness_limit_s(self) -> float:
        return staleness_limit_ns(self._stale_rate_hz, self.staleness_periods, self.max_staleness_s) / 1e9

    def latest(self, tool: str) -> ToolFrame | None:
        with self._lock:
            return self._latest.get(tool)

    def latest_all(self) -> dict[str, ToolFrame]:
        with self._lock:
            return dict(self._latest)

    def is_fresh(self, frame: ToolFrame | None, now_ns: int | None = None) -> bool:
        """True when ``frame`` is younger than the staleness limit (whatever its status)."""
        if frame is None:
            return False
        now = self._clock_ns() if now_ns is None else now_ns
        limit = staleness_limit_ns(self._stale_rate_hz, self.staleness_periods, self.max_staleness_s)
        return now - frame.host_time_ns <= limit

    def is_live(self, tool: str, now_ns: int | None = None) -> bool:
        """True when the tool's latest pose is trackable and fresh: safe to draw as live."""
        frame = self.latest(tool)
        return frame is not None and frame.is_trackable and self.is_fresh(frame, now_ns)

    def snapshot(self, tools: Iterable[str], now_ns: int | None = None,
                 max_frame_gap: int = 1) -> dict[str, ToolFrame] | None:
        """Latest frames of ``tools`` if they were measured together, else None.

        Together = every tool has a fresh, connected frame and their device frame numbers differ
        by at most ``max_frame_gap`` (or, for devices without frame numbers, their receive times
        by at most one device period). Statuses are not checked: a fresh MISSING frame is
        returned as such, and the caller decides (docs/safety.md: never pair a coil pose and
        a head-reference pose from different device frames).
        """
        tools = list(tools)
        with self._lock:
            found = {t: self._latest.get(t) for t in tools}
        frames = {t: f for t, f in found.items()
                  if f is not None and f.status is not ToolStatus.DISCONNECTED and self.is_fresh(f, now_ns)}
        if len(frames) != len(found):
            return None
        together = measured_together(list(frames.values()), max_frame_gap, self._rate_hz)
        return frames if together else None

    def history(self, tool: str, seconds: float | None = None) -> list[ToolFrame]:
        """Frames of ``tool`` received in the last ``seconds`` (all of the buffer if None)."""
        with self._lock:
            frames = list(self._history.get(tool, ()))
        if seconds is None:
            return frames
        cutoff = self._clock_ns() - int(seconds * 1e9)
        return [f for f in frames if f.host_time_ns >= cutoff]

    def subscribe(self, callback: FrameCallback) -> Callable[[], None]:
        """Call ``callback(frames)`` for each device frame, ON THE ACQUISITION THREAD.

        GUI code must marshal to its own thread (queued Qt signal) and return quickly.
        Exceptions in the callback are logged and counted, never propagated. Returns a function
        that unsubscribes.
        """
        return self._register(self._subscribers, callback)

    # --- the thread --------------------------------------------------------------------------
    def subscribe_state(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(state)`` on every state change (on the thread that changes it,
        usually the acquisition thread: marshal to the GUI thread). Returns an unsubscriber."""
        return self._register(self._state_subscribers, callback)

    def _register(self, registry: list, callback: Callable) -> Callable[[], None]:
        with self._lock:
            registry.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in registry:
                    registry.remove(callback)

        return unsubscribe

    def _set_state(self, state: str) -> None:
        with self._lock:
            if state == self._state:
                return
            kind_changed = self._state.split(" ")[0] != state.split(" ")[0]
            self._state = state
            subscribers = list(self._state_subscribers)
        if kind_changed:  # log "reconnecting in 3.2 s" once, not every countdown tick
            log.info("%s: %s", self.name, state)
        for callback in subscribers:
            try:
                callback(state)
            except Exception:  # noqa: BLE001 - a consumer bug must not stop acquisition
                log.exception("%s: state subscriber %r raised", self.name, callback)

    def _wait_backoff(self, backoff_s: float, stop: threading.Event) -> None:
        """Count down ``backoff_s`` in the state text; returns early when stopped."""
        deadline = time.monotonic() + backoff_s
        while not stop.is_set() and time.monotonic() < deadline:
            self._set_state(f"reconnecting in {max(0.0, deadline - time.monotonic()):.1f} s")
            stop.wait(min(0.25, max(0.0, deadline - time.monotonic())))

    def _run(self, stop: threading.Event) -> None:
        backoff = self.backoff_initial_s
        first = True
        while not stop.is_set():
            if not first:
                with self._lock:
                    self._stats.reconnects += 1
            first = False
            tracker = None
            try:
                self._set_state("connecting")
                tracker = self._make_tracker()
                tracker.connect()
                if stop.is_set():  # stopped (maybe restarted) while connecting: touch nothing
                    break
                tools = [t.name for t in tracker.tools()]
                self._prepare(tracker, tools)
                tracker.start()
                self._set_state("tracking")
                backoff = self.backoff_initial_s
                reason = self._read_loop(tracker, stop)
            except BaseException as exc:  # noqa: BLE001 - the thread must survive anything
                reason = describe_error(exc)
                self._record_error(reason, exc)
            finally:
                if tracker is not None:
                    call_quietly(tracker.stop)
                    call_quietly(tracker.close)
            if stop.is_set():
                break
            self._mark_disconnected(reason)
            if not self.reconnect:
                break
            self._wait_backoff(backoff, stop)
            backoff = min(backoff * 2, self.backoff_max_s)

    def _prepare(self, tracker: Tracker, tools: list[str]) -> None:
        rate = float(tracker.nominal_rate_hz)
        maxlen = int(self.buffer_seconds * rate * 1.5) + 16
        # Staleness is judged against the rate frames can arrive at: a link that carries fewer
        # (Tracker.link_rate_hz, with its link_warning) spaces them wider than the device's rate.
        link_rate = float(getattr(tracker, "link_rate_hz", 0.0) or 0.0)
        with self._lock:
            self._rate_hz = rate if rate > 0 else 60.0
            self._stale_rate_hz = min(self._rate_hz, link_rate) if link_rate > 0 else self._rate_hz
            self._stats.device_model = str(getattr(tracker, "device_model", "") or "")
            self._stats.link_warning = str(getattr(tracker, "link_warning", "") or "")
            self._stats.link_rate_hz = link_rate
            for tool in tools:
                old = self._history.get(tool, ())
                self._history[tool] = deque(old, maxlen=maxlen)
            self._frame_check = BatchFrameCheck()

    def _read_loop(self, tracker: Tracker, stop: threading.Event) -> str:
        """Read until stopped (returns "") or the device is lost (returns the reason)."""
        errors = 0
        while not stop.is_set():
            try:
                frames = tracker.read_frames(self.read_timeout_s)
            except (ConnectionLost, TrackerConnectionError, OSError) as exc:
                reason = describe_error(exc)
                self._record_error(reason, exc)
                return reason
            except Exception as exc:  # noqa: BLE001 - bad CRC, garbage, or a driver bug
                errors += 1
                self._record_error(describe_error(exc), exc, invalid=True)
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    return f"{errors} errors in a row, last: {describe_error(exc)}"
                continue
            errors = 0
            if frames:
                self._ingest(frames)
        return ""

    def _ingest(self, frames: list[ToolFrame]) -> None:
        now = self._clock_ns()
        with self._lock:
            verdict = self._frame_check.check(frames, now, self._rate_hz)
            if verdict.duplicate:
                self._stats.duplicates += 1
                return  # a frozen stream must not refresh liveness (docs/safety.md)
            self._stats.frames_received += 1
            self._stats.dropped += verdict.dropped
            if verdict.invalid_reason:
                self._stats.invalid += 1
                self._stats.last_error = verdict.invalid_reason
                frames = [ToolFrame(f.tool, None, ToolStatus.INVALID, None, f.frame_number,
                                    f.device_time_s, f.host_time_ns, f.port_status)
                          for f in frames]
        if verdict.invalid_reason:
            log.warning("%s: %s", self.name, verdict.invalid_reason)
        self._store(frames)

    def _store(self, frames: list[ToolFrame]) -> None:
        """Make ``frames`` the latest, append them to the history, tell the subscribers."""
        with self._lock:
            for f in frames:
                self._latest[f.tool] = f
                hist = self._history.get(f.tool)
                if hist is None:
                    maxlen = int(self.buffer_seconds * self._rate_hz * 1.5) + 16
                    hist = self._history[f.tool] = deque(maxlen=maxlen)
                hist.append(f)
            subscribers = list(self._subscribers)
        self._notify(subscribers, frames)

    def _notify(self, subscribers: list[FrameCallback], frames: list[ToolFrame]) -> None:
        for callback in subscribers:
            try:
                callback(frames)
            except Exception:  # noqa: BLE001 - a consumer bug must not stop acquisition
                with self._lock:
                    self._stats.callback_errors += 1
                if id(callback) not in self._failed_callbacks:  # log once per callback
                    self._failed_callbacks.add(id(callback))
                    log.exception("%s: subscriber %r raised", self.name, callback)

    def _mark_disconnected(self, reason: str) -> None:
        """Every tool goes DISCONNECTED now: the last poses become invalid, not frozen."""
        reason = reason or "device closed"
        now = self._clock_ns()
        with self._lock:
            frames = disconnected_frames(self._latest.keys() | self._history.keys(), now)
            for f in frames:
                self._latest[f.tool] = f
                if f.tool in self._history:
                    self._history[f.tool].append(f)
            subscribers = list(self._subscribers)
        self._set_state(f"disconnected: {reason}")
        log.warning("%s: tracking lost (%s); all tools marked disconnected", self.name, reason)
        self._notify(subscribers, frames)

    def _record_error(self, text: str, exc: BaseException, invalid: bool = False) -> None:
        with self._lock:
            self._stats.errors += 1
            self._stats.last_error = text
            if invalid:
                self._stats.invalid += 1
        key, now = type(exc).__name__, time.monotonic()
        if now - self._last_logged.get(key, -1e9) < 1.0:
            return  # at most one log line per error type per second (bad CRCs come at 250 Hz)
        self._last_logged[key] = now
        if isinstance(exc, TrackerError):
            log.warning("%s: %s", self.name, text)
        else:
            log.error("%s: unexpected %s", self.name, text, exc_info=exc)


class _ProcessBridgeHost(BridgeHost):
    """What :func:`tmsnav.hardware.acquisition.process.run_bridge` may do to its parent Acquisition.

    An adapter rather than public methods on Acquisition, so application code cannot inject
    frames or states; the bridge module never touches Acquisition's private members itself.
    """

    def __init__(self, acq: Acquisition) -> None:
        self._acq = acq
        self.name, self.reconnect = acq.name, acq.reconnect
        self.backoff_initial_s, self.backoff_max_s = acq.backoff_initial_s, acq.backoff_max_s

    def child_factory(self) -> Callable[[], Acquisition]:
        acq = self._acq
        return partial(Acquisition, acq._make_tracker, name=acq.name, reconnect=acq.reconnect,
                       buffer_seconds=acq.buffer_seconds, staleness_periods=acq.staleness_periods,
                       max_staleness_s=acq.max_staleness_s, read_timeout_s=acq.read_timeout_s,
                       backoff_initial_s=acq.backoff_initial_s, backoff_max_s=acq.backoff_max_s)

    def process_started(self, proc: object) -> None:
        self._acq._process = proc

    def frames_arrived(self, frames: list[ToolFrame]) -> None:
        self._acq._store(frames)

    def state_changed(self, state: str) -> None:
        self._acq._set_state(state)

    def rate_known(self, rate_hz: float) -> None:
        with self._acq._lock:
            self._acq._rate_hz = self._acq._stale_rate_hz = float(rate_hz)

    def stats_arrived(self, stats: AcquisitionStats, restarts: int) -> None:
        acq = self._acq
        with acq._lock:
            acq._stats = stats.copy(reconnects=stats.reconnects + restarts,
                                    callback_errors=acq._stats.callback_errors)
            if 0 < stats.link_rate_hz < acq._rate_hz:      # the child's link carries fewer frames
                acq._stale_rate_hz = stats.link_rate_hz

    def child_lost(self, reason: str) -> None:
        self._acq._record_error(reason, RuntimeError(reason))
        self._acq._mark_disconnected(reason)

    def restarting(self) -> None:
        with self._acq._lock:
            self._acq._stats.reconnects += 1

    def wait_backoff(self, backoff_s: float, stop: threading.Event) -> None:
        self._acq._wait_backoff(backoff_s, stop)
