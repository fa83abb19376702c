"""The coil's recent poses in mri, one per tracker frame, so a pulse gets the pose live at its instant.

A pulse and a tracker frame are read by different threads (the stimulator's or trigger's reader,
the tracker acquisition), both stamped with ``time.monotonic_ns()`` when their bytes were seen
(:class:`tmsnav.hardware.frames.ToolFrame.host_time_ns`, ``PulseEvent.host_time_ns``). The pose
live at a pulse is the one from the latest frame received at or before the pulse, if that
frame had the coil tracked and is younger than the tracker's own staleness limit (three device
periods, at most 100 ms: the limit the Navigate view hides a pose by, hardware/acquisition).
Otherwise there is no pose, with the reason; an older pose is never handed out, because a
pulse logged with a stale pose would claim a position the coil may have left (docs/safety.md).

Reader threads race: a pulse may be handed over a little before the frame that covers its time
has been added here (a frame is stamped when its first bytes are seen and added only after the
rest is read, parsed and its pose computed). :meth:`PoseHistory.settled` says when the answer for
a time is decided: a newer frame has arrived; or a short settle margin has passed since the pulse
(longer than the stamp-to-add delay of a frame, measured by benchmarks/treatment.py) and the
latest frame at or before the pulse gives a live pose; or the staleness limit has passed since
the pulse. :class:`tmsnav.navigation.treatment.pulse_log.PulsePairer` holds each pulse until
then. A frame stamped before the pulse but added after the margin (a starved acquisition thread)
then comes too late: the pulse keeps the previous frame's pose, which was still live, and its age
(:attr:`PoseAt.age_ns`, logged as ``pose_age_ms``) says how old it was; a stale pose is never
given. Frames may also be added out of order; they are kept sorted by host time.

Pure logic (no Qt, no hardware types): the app adds ``mri_from_hotspot`` from
:func:`tmsnav.navigation.live_poses.compute_live_poses` for every tracker frame.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

from ..transforms import Frame, Transform, TransformError

__all__ = ["PoseAt", "PoseHistory", "PoseSample", "staleness_limit_ns", "DEFAULT_MAX_AGE_NS",
           "DEFAULT_SETTLE_MARGIN_NS", "PULSE_BEFORE_FIRST_FRAME", "COIL_NOT_TRACKED"]

#: The staleness cap of the tracker acquisition (hardware/acquisition/core.py ``max_staleness_s``).
DEFAULT_MAX_AGE_NS = 100_000_000
#: How long after a pulse a frame stamped before it may still be on its way to :meth:`PoseHistory.add`
#: (see :meth:`PoseHistory.settled`): 1.5x the stamp-to-add p99 that benchmarks/treatment.py
#: measures (``frame_stamp_to_add_p99_ms``: 0.9-1.0 ms at 250 Hz, load 0.2-3), well under a 250 Hz period.
DEFAULT_SETTLE_MARGIN_NS = 1_500_000
PULSE_BEFORE_FIRST_FRAME = "pulse before the first frame"
COIL_NOT_TRACKED = "coil not tracked"


def staleness_limit_ns(rate_hz: float, periods: float = 3.0, max_s: float = 0.1) -> int:
    """Age beyond which a pose is stale: ``periods`` device periods, capped at ``max_s``.

    The same rule as ``tmsnav.hardware.acquisition.state.staleness_limit_ns`` (navigation may not
    import hardware; a test checks the two agree), so a pulse gets a pose exactly when the
    Navigate view would show that pose as live."""
    if not rate_hz > 0:
        raise ValueError(f"tracker rate must be > 0 Hz, got {rate_hz}")
    return int(min(periods / rate_hz, max_s) * 1e9)


@dataclass(frozen=True)
class PoseSample:
    """One tracker frame: when it was received, the hotspot pose in mri (None if not live), why not."""

    time_ns: int
    mri_from_hotspot: Transform | None
    live: bool
    reason: str = ""


@dataclass(frozen=True)
class PoseAt:
    """The answer for one instant: the pose (None = unknown, ``reason`` says why) and, with a pose,
    ``age_ns`` = the instant minus the host time of the frame it came from (0 <= age <= limit)."""

    mri_from_hotspot: Transform | None
    reason: str
    age_ns: int | None = None


class PoseHistory:
    """A thread-safe buffer of the last ``capacity`` frames' hotspot poses, sorted by host time."""

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 2:
            raise ValueError(f"capacity must be at least 2 frames, got {capacity}")
        self.capacity = int(capacity)
        self._lock = threading.Lock()
        self._times: list[int] = []
        self._samples: list[PoseSample] = []
        self._dropped = False           # frames older than the buffer were discarded

    def __len__(self) -> int:
        with self._lock:
            return len(self._samples)

    def add(self, time_ns: int, mri_from_hotspot: Transform | None, live: bool,
            reason: str = "") -> None:
        """Record one frame (any thread). ``live`` False or no pose: the coil was not usable in
        that frame; ``reason`` says why ("coil not tracked", "head reference not tracked")."""
        if mri_from_hotspot is not None and (mri_from_hotspot.to_frame != Frame.MRI
                                             or mri_from_hotspot.from_frame != Frame.HOTSPOT):
            raise TransformError(f"expected mri_from_hotspot, got {mri_from_hotspot.name}")
        usable = bool(live) and mri_from_hotspot is not None
        sample = PoseSample(int(time_ns), mri_from_hotspot if usable else None, usable,
                            "" if usable else (reason or COIL_NOT_TRACKED))
        with self._lock:
            if not self._times or sample.time_ns >= self._times[-1]:
                self._times.append(sample.time_ns)
                self._samples.append(sample)
            else:                          # a frame handed over late by its thread
                i = bisect.bisect_right(self._times, sample.time_ns)
                self._times.insert(i, sample.time_ns)
                self._samples.insert(i, sample)
            if len(self._times) > 2 * self.capacity:   # trim in chunks: amortised O(1)
                del self._times[:-self.capacity]
                del self._samples[:-self.capacity]
                self._dropped = True

    def latest_time_ns(self) -> int | None:
        with self._lock:
            return self._times[-1] if self._times else None

    def covers(self, time_ns: int) -> bool:
        """True when a frame received after ``time_ns`` is in the history."""
        with self._lock:
            return bool(self._times) and self._times[-1] > time_ns

    def settled(self, time_ns: int, now_ns: int, max_age_ns: int = DEFAULT_MAX_AGE_NS,
                settle_margin_ns: int | None = None) -> bool:
        """True when the answer of :meth:`lookup` for ``time_ns`` is decided: a newer frame has
        arrived (frames come in receive order per thread); or ``settle_margin_ns`` (None: not
        used) has passed since ``time_ns`` and the latest frame at or before it gives a live pose
        (a frame stamped before ``time_ns`` would have been added by then; one that is later
        still is too late and the pose it would have replaced was live: its age is logged); or
        ``max_age_ns`` has passed since ``time_ns`` (any frame still to come would be judged
        against a tracker that went silent for longer than its staleness limit). Without a live
        pose the margin does not decide: a frame still on its way may give one."""
        if self.covers(time_ns) or now_ns - time_ns > max_age_ns:
            return True
        return (settle_margin_ns is not None and now_ns - time_ns > settle_margin_ns
                and self.lookup(time_ns, max_age_ns).mri_from_hotspot is not None)

    def lookup(self, time_ns: int, max_age_ns: int = DEFAULT_MAX_AGE_NS) -> PoseAt:
        """The pose from the latest frame at or before ``time_ns`` when that frame was live and
        at most ``max_age_ns`` older than ``time_ns`` (with its age); else no pose and why."""
        with self._lock:
            i = bisect.bisect_right(self._times, time_ns)
            if i == 0:
                if self._dropped:
                    return PoseAt(None, "pulse older than the pose history")
                return PoseAt(None, PULSE_BEFORE_FIRST_FRAME)
            sample = self._samples[i - 1]
        age_ns = time_ns - sample.time_ns
        if age_ns > max_age_ns:
            return PoseAt(None, f"last frame {age_ns / 1e6:.0f} ms old")
        if not sample.live or sample.mri_from_hotspot is None:
            return PoseAt(None, sample.reason or COIL_NOT_TRACKED)
        return PoseAt(sample.mri_from_hotspot, "", age_ns)

    def pose_at(self, time_ns: int, max_age_ns: int = DEFAULT_MAX_AGE_NS) -> tuple[Transform | None, str]:
        """``(mri_from_hotspot, "")`` from the latest frame at or before ``time_ns`` when that frame
        was live and at most ``max_age_ns`` older than ``time_ns``; else ``(None, reason)``."""
        found = self.lookup(time_ns, max_age_ns)
        return found.mri_from_hotspot, found.reason
