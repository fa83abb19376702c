"""The pulse log: every delivered pulse with its output, the coil pose live at that instant, the
active target and the guidance error, written to the session's event log as it happens.

Why each pulse carries its own pose: accuracy and outcome analyses of a TMS course need where
each pulse really landed, not where the coil was planned to be; navigated and non-navigated
stimulation differ exactly there (Julkunen et al. 2009, NeuroImage 44:790-795).

* The pose is the one :class:`~.pose_history.PoseHistory` says was live at the pulse's host time;
  if none was (coil not tracked, the last frame older than the tracker's staleness limit, no
  frame yet) the pulse is logged as "pose unknown" with that reason, never with an older pose.
  ``pose_age_ms`` says how old that pose was at the pulse (pulse time minus its frame's time).
* The errors are the ones the Navigate tab shows (:func:`tmsnav.navigation.guidance.guidance_error`):
  position error = the distance on the scalp (in-plane offset, mm), angle error = the tilt of
  the coil normal (rad), plus depth (mm) and handle twist (rad); "within tolerance" uses the
  Navigate tab's tolerance (:func:`navigate_tolerance`).
* Output (% MSO) and dI/dt are what the device reported for that pulse (None when the source
  cannot know, e.g. a TTL edge), never what the host last asked for.

:class:`PulsePairer` holds a pulse until its pose is settled (see :mod:`.pose_history`: reader
threads race; a later frame or a 1.5 ms settle margin decides it), then records it. The app adds
every tracker frame to it and polls it from a timer so a pulse is decided even while the
tracker is silent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import numpy as np

from ..guidance import Tolerance, guidance_error
from ..session.event_log import Event, EventLog, read_events
from ..transforms import Frame, Transform, TransformError
from .pose_history import DEFAULT_MAX_AGE_NS, DEFAULT_SETTLE_MARGIN_NS, PoseHistory
from .statistics import PulseStatistics, pulse_statistics

__all__ = ["LoggedPulse", "PulseLog", "PulsePairer", "PulseTarget", "navigate_tolerance",
           "pulses_from_events", "statistics_from_event_log", "EVENT_KIND"]

EVENT_KIND = "pulse"


class PulseTarget(Protocol):
    """What the log needs of the active target (a :class:`tmsnav.navigation.targeting.targets.Target`)."""

    @property
    def name(self) -> str: ...
    @property
    def mri_from_target(self) -> Transform: ...


def navigate_tolerance(distance_mm: float = 3.0, angle_rad: float = float(np.deg2rad(5.0))) -> Tolerance:
    """The tolerance the Navigate tab builds from its two boxes (app/panels/guidance_panel.py):
    in-plane distance and tilt as set, depth max(5 mm, distance), twist twice the angle."""
    if not distance_mm > 0 or not angle_rad > 0:
        raise ValueError(f"tolerance must be positive, got {distance_mm} mm and {angle_rad} rad")
    return Tolerance(distance_mm, max(5.0, distance_mm), angle_rad, 2.0 * angle_rad)


def wall_time_iso(host_time_ns: int, *, mono_now_ns: int | None = None,
                  wall_now_ns: int | None = None) -> str:
    """UTC wall-clock time of a monotonic host time (ms precision), for the report."""
    mono = time.monotonic_ns() if mono_now_ns is None else mono_now_ns
    wall = time.time_ns() if wall_now_ns is None else wall_now_ns
    stamp = datetime.fromtimestamp(0, timezone.utc) + timedelta(microseconds=(wall - (mono - host_time_ns)) // 1000)
    return stamp.isoformat(timespec="milliseconds")


@dataclass(frozen=True, eq=False)
class LoggedPulse:
    """One pulse as logged. ``mri_from_hotspot`` None = pose unknown, ``pose_reason`` says why;
    ``pose_age_ms`` = how old the pose was at the pulse (None without a pose, and in logs written
    before it was recorded)."""

    index: int
    host_time_ns: int
    wall_time_iso: str
    source: str
    sequence: int | None
    output_pct_mso: float | None
    didt_a_per_us: float | None
    mri_from_hotspot: Transform | None
    pose_reason: str
    target_name: str | None
    position_error_mm: float | None
    angle_error_rad: float | None
    depth_error_mm: float | None
    twist_error_rad: float | None
    within_tolerance: bool | None
    pose_age_ms: float | None = None

    @property
    def pose_known(self) -> bool:
        return self.mri_from_hotspot is not None

    def to_event_data(self) -> dict[str, Any]:
        """The fields written to the event log (plain JSON types)."""
        return {"index": self.index, "host_time_ns": self.host_time_ns,
                "wall_time_iso": self.wall_time_iso, "source": self.source, "sequence": self.sequence,
                "output_pct_mso": self.output_pct_mso, "didt_a_per_us": self.didt_a_per_us,
                "mri_from_hotspot": (None if self.mri_from_hotspot is None
                                     else self.mri_from_hotspot.matrix.tolist()),
                "pose_reason": self.pose_reason, "pose_age_ms": self.pose_age_ms,
                "target_name": self.target_name,
                "position_error_mm": self.position_error_mm, "angle_error_rad": self.angle_error_rad,
                "depth_error_mm": self.depth_error_mm, "twist_error_rad": self.twist_error_rad,
                "within_tolerance": self.within_tolerance}

    @classmethod
    def from_event_data(cls, data: dict[str, Any]) -> "LoggedPulse":
        """Inverse of :meth:`to_event_data`; KeyError/TypeError/ValueError on a malformed record."""
        matrix = data["mri_from_hotspot"]

        def opt(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        within = data.get("within_tolerance")
        return cls(index=int(data["index"]), host_time_ns=int(data["host_time_ns"]),
                   wall_time_iso=str(data["wall_time_iso"]), source=str(data["source"]),
                   sequence=None if data.get("sequence") is None else int(data["sequence"]),
                   output_pct_mso=opt("output_pct_mso"), didt_a_per_us=opt("didt_a_per_us"),
                   mri_from_hotspot=(None if matrix is None
                                     else Transform(Frame.MRI, Frame.HOTSPOT, np.array(matrix, float))),
                   pose_reason=str(data.get("pose_reason") or ""), pose_age_ms=opt("pose_age_ms"),
                   target_name=data.get("target_name"), position_error_mm=opt("position_error_mm"),
                   angle_error_rad=opt("angle_error_rad"), depth_error_mm=opt("depth_error_mm"),
                   twist_error_rad=opt("twist_error_rad"),
                   within_tolerance=None if within is None else bool(within))


class PulseLog:
    """Thread-safe: ``record`` may be called from any reader thread; listeners run on that thread."""

    def __init__(self, event_log: EventLog | None = None, tolerance_mm: float = 3.0,
                 tolerance_rad: float = float(np.deg2rad(5.0)), *,
                 tolerance: Tolerance | None = None) -> None:
        self.event_log = event_log
        self.tolerance = tolerance if tolerance is not None else navigate_tolerance(tolerance_mm,
                                                                                    tolerance_rad)
        self._lock = threading.Lock()
        self._pulses: list[LoggedPulse] = []
        self._listeners: list[Callable[[LoggedPulse], None]] = []

    @property
    def pulses(self) -> list[LoggedPulse]:
        with self._lock:
            return list(self._pulses)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pulses)

    def add_listener(self, callback: Callable[[LoggedPulse], None]) -> None:
        """``callback(pulse)`` after each pulse is logged (e.g. the live error plot; marshal to the GUI)."""
        with self._lock:
            self._listeners.append(callback)

    def start_over(self, event_log: EventLog | None) -> None:
        """A new session: forget the pulses shown so far (they are in the previous session's own
        event log) and log the next ones, numbered from 1, into ``event_log``."""
        with self._lock:
            self._pulses = []
            self.event_log = event_log

    def set_tolerance(self, tolerance: Tolerance) -> None:
        """Applies to pulses logged from now on (each pulse keeps the verdict it was logged with)."""
        self.tolerance = tolerance

    def record(self, host_time_ns: int, source: str, *, mri_from_hotspot: Transform | None,
               pose_reason: str = "", target: PulseTarget | None = None,
               output_pct_mso: float | None = None, didt_a_per_us: float | None = None,
               sequence: int | None = None, wall_time: str | None = None,
               pose_age_ns: int | None = None) -> LoggedPulse:
        """Log one pulse with the pose live at ``host_time_ns`` (None + ``pose_reason`` = unknown)
        and its age at the pulse (``pose_age_ns``, kept only with a pose)."""
        if mri_from_hotspot is not None and (mri_from_hotspot.to_frame != Frame.MRI
                                             or mri_from_hotspot.from_frame != Frame.HOTSPOT):
            raise TransformError(f"expected mri_from_hotspot, got {mri_from_hotspot.name}")
        position = angle = depth = twist = None
        within: bool | None = None
        reason = "" if mri_from_hotspot is not None else (pose_reason or "pose unknown")
        if mri_from_hotspot is not None and target is not None:
            try:
                err = guidance_error(target.mri_from_target, mri_from_hotspot)
            except TransformError as exc:      # a degenerate target frame: no error, say why
                reason = f"no guidance error: {exc}"
            else:
                position, angle, depth, twist = (err.in_plane_mm, err.tilt_rad, err.depth_mm,
                                                 err.twist_rad)
                within = bool(err.on_target(self.tolerance))
        with self._lock:
            pulse = LoggedPulse(index=len(self._pulses) + 1, host_time_ns=int(host_time_ns),
                                wall_time_iso=wall_time or wall_time_iso(int(host_time_ns)),
                                source=str(source), sequence=sequence,
                                output_pct_mso=None if output_pct_mso is None else float(output_pct_mso),
                                didt_a_per_us=None if didt_a_per_us is None else float(didt_a_per_us),
                                mri_from_hotspot=mri_from_hotspot, pose_reason=reason,
                                target_name=None if target is None else target.name,
                                position_error_mm=position, angle_error_rad=angle,
                                depth_error_mm=depth, twist_error_rad=twist, within_tolerance=within,
                                pose_age_ms=(None if mri_from_hotspot is None or pose_age_ns is None
                                             else pose_age_ns / 1e6))
            self._pulses.append(pulse)
            if self.event_log is not None:
                self.event_log.append(EVENT_KIND, **pulse.to_event_data())
            listeners = list(self._listeners)
        for callback in listeners:
            callback(pulse)
        return pulse

    def statistics(self) -> PulseStatistics:
        return pulse_statistics(self.pulses)


def pulses_from_events(events: Iterable[Event]) -> list[LoggedPulse]:
    """The logged pulses among a session's events, in log order (malformed pulse records skipped)."""
    out: list[LoggedPulse] = []
    for event in events:
        if event.kind != EVENT_KIND:
            continue
        try:
            out.append(LoggedPulse.from_event_data(event.data))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def statistics_from_event_log(path: str | Path) -> PulseStatistics:
    """Re-read a session's ``events.jsonl`` and compute the pulse statistics from it."""
    return pulse_statistics(pulses_from_events(read_events(path).events))


@dataclass(frozen=True)
class _Held:
    host_time_ns: int
    source: str
    sequence: int | None
    output_pct_mso: float | None
    didt_a_per_us: float | None
    target: PulseTarget | None
    wall_time: str


class PulseTiming(Protocol):
    """A pulse as a source reports it (``tmsnav.hardware.stimulators.base.PulseEvent`` has these)."""

    @property
    def host_time_ns(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def output_pct_mso(self) -> float | None: ...
    @property
    def didt_a_per_us(self) -> float | None: ...


class PulsePairer:
    """Pairs each pulse with the pose live at its host time, once that pose can no longer change.

    A pulse is held until a tracker frame received after it has been added (the frame that
    covered its time, if any, was then added too: frames are added in receive order), or until
    ``settle_margin_ns`` has passed since it while the latest frame at or before it gives a live
    pose, or until ``max_age_ns`` has passed since it (a frame still to come would be stale at
    the pulse anyway). The margin keeps the pulse-to-log delay short at any tracker rate (waiting
    for the next frame cost up to a whole period: 4 ms at 250 Hz, 17 ms at 60 Hz): a frame is
    stamped when its bytes are seen and added once parsed, well within the margin (benchmark
    ``frame_stamp_to_add_p99_ms``); a frame later than that is too late for the pulse, which
    keeps the previous, still-live frame's pose with its age (``pose_age_ms``), never a stale one.
    Held pulses are logged in host-time order; a pulse handed over after a later one was
    already written (a reader thread blocked for longer than the hold) is written next, since
    the log is append-only: its index is then out of host-time order, its pose is still the one
    live at its own host time.

    Two ways to run it. :meth:`start` (the app, the benchmark): a writer thread of its own
    decides and writes, so neither the tracker's acquisition thread nor a pulse reader ever waits
    for the disk (an fsync takes 3-8 ms here, longer than a 250 Hz tracker period: in the
    tracker's thread it delayed frames and made the poses of later pulses stale); it wakes on
    every frame and pulse, and by itself when the staleness limit of the oldest held pulse
    passes. Without :meth:`start`, :meth:`submit` / :meth:`add_frame` / :meth:`poll` decide on
    the calling thread (tests, scripts): poll from a timer so a pulse is decided while the
    tracker is silent.
    """

    def __init__(self, log: PulseLog, history: PoseHistory | None = None, *,
                 max_age_ns: int = DEFAULT_MAX_AGE_NS,
                 settle_margin_ns: int | None = DEFAULT_SETTLE_MARGIN_NS,
                 clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self.log = log
        self.history = history if history is not None else PoseHistory()
        self.max_age_ns = int(max_age_ns)
        self.settle_margin_ns = None if settle_margin_ns is None else int(settle_margin_ns)
        self.clock_ns = clock_ns
        self._lock = threading.Lock()          # held pulses; one decider at a time
        self._wake = threading.Condition()
        self._held: list[_Held] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.errors: list[str] = []            # a failed write in the writer thread, for the GUI

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._held)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Decide and write on a writer thread of its own (idempotent)."""
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="pulse-log", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the writer thread after logging every held pulse (as known now); idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        thread.join(timeout_s)
        self.poll(now_ns=self.clock_ns() + self.max_age_ns + 1)

    def _notify(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                with self._lock:
                    oldest = self._held[0].host_time_ns if self._held else None
                if oldest is None:
                    self._wake.wait()
                elif not self._settled(oldest, now := self.clock_ns()):
                    margin = self.settle_margin_ns
                    due = oldest + (margin if margin is not None and now - oldest <= margin
                                    else self.max_age_ns)
                    self._wake.wait(timeout=max(due - now, 0) / 1e9 + 1e-4)
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - the writer thread must survive to log the next pulse
                self.errors.append(f"a pulse could not be logged: {exc}")

    def _settled(self, time_ns: int, now_ns: int) -> bool:
        return self.history.settled(time_ns, now_ns, self.max_age_ns, self.settle_margin_ns)

    def submit(self, pulse: PulseTiming, target: PulseTarget | None) -> list[LoggedPulse]:
        """Hand over one pulse (any thread) with the target active when it arrived; returns the
        pulses logged by this call (none when the writer thread runs, or while it waits for its
        frame)."""
        held = _Held(int(pulse.host_time_ns), str(pulse.source), getattr(pulse, "sequence", None),
                     pulse.output_pct_mso, pulse.didt_a_per_us, target,
                     wall_time_iso(int(pulse.host_time_ns)))
        with self._lock:
            self._held.append(held)
            self._held.sort(key=lambda h: h.host_time_ns)
        if self._thread is not None:
            self._notify()
            return []
        return self.poll()

    def add_frame(self, time_ns: int, mri_from_hotspot: Transform | None, live: bool,
                  reason: str = "") -> list[LoggedPulse]:
        """Add one tracker frame's hotspot pose (the acquisition thread) and log what it settles
        (on the writer thread when it runs: then this returns at once)."""
        self.history.add(time_ns, mri_from_hotspot, live, reason)
        if self._thread is not None:
            if self.pending:
                self._notify()
            return []
        return self.poll()

    def poll(self, now_ns: int | None = None) -> list[LoggedPulse]:
        """Log every held pulse whose pose is settled; returns them in log order."""
        logged: list[LoggedPulse] = []
        with self._lock:       # one decider at a time keeps the log in host-time order
            now = self.clock_ns() if now_ns is None else now_ns
            while self._held and self._settled(self._held[0].host_time_ns, now):
                h = self._held.pop(0)
                found = self.history.lookup(h.host_time_ns, self.max_age_ns)
                logged.append(self.log.record(h.host_time_ns, h.source,
                                              mri_from_hotspot=found.mri_from_hotspot,
                                              pose_age_ns=found.age_ns,
                                              pose_reason=found.reason, target=h.target,
                                              output_pct_mso=h.output_pct_mso,
                                              didt_a_per_us=h.didt_a_per_us, sequence=h.sequence,
                                              wall_time=h.wall_time))
        return logged
