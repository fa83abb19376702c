"""Pointer samples for the registration workflow: hands-free capture and evenly spaced points.

**Hold-still capture.** During fiducial and coil-landmark touches both of the technician's hands
are busy (pointer and patient), so a capture is triggered by a footswitch or by holding the tip
still. "Still" here means: over the last ``window_s`` (1 s) the *low-passed* tip stayed within
``max_motion_mm`` (0.5 mm) of its mean position. The low-pass (a ``smoothing_s`` boxcar, 0.25 s)
is needed because tracker noise alone moves a pointer tip by 0.3-0.5 mm RMS from frame to frame
(marker noise of ~0.2 mm plus the angular noise times a 150 mm lever, see
``hardware/simulation/tracker.py``): a raw max-excursion test would flicker, while a hand that drifts
even 1 mm/s is still caught. After a capture the detector stays quiet until the tip has moved
``rearm_distance_mm`` away, so one hold gives exactly one capture. A gap in the samples (tool
lost, stale data) longer than ``max_gap_s`` restarts the hold.

**Spaced surface points.** A scalp sweep at 30-60 Hz oversamples wherever the hand slows down;
ICP then weighs those spots more. :class:`SpacedPointCollector` keeps a point only when it is at
least ``min_spacing_mm`` (3 mm) from every kept point, which spreads the weight evenly over the
covered skin, as head digitisers do with their "minimum distance between points" setting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

__all__ = ["HoldStillDetector", "SpacedPointCollector", "HoldState", "TrackingGap"]


@dataclass(frozen=True)
class HoldState:
    """What the detector thinks now (for a progress display)."""

    held_s: float            # how long the tip has been still so far (capped at the window)
    motion_mm: float | None  # low-passed excursion over the window, None without enough data
    armed: bool              # False right after a capture, until the tip moves away
    still: bool              # held for the whole window and armed: capture now


def _point(value: object) -> np.ndarray | None:
    if value is None:
        return None
    p = np.asarray(value, dtype=float).reshape(-1)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        return None
    return p


@dataclass
class HoldStillDetector:
    """Decide when the pointer tip has been held still long enough to capture it.

    Feed it ``add(t_s, tip_mm)`` for every paired sample (``tip_mm=None`` for a sample without a
    valid tip). ``state()`` says whether to capture; ``held_point()`` is the mean tip over the
    hold (noise averaged out); call ``mark_captured(point)`` after capturing.
    """

    window_s: float = 1.0
    max_motion_mm: float = 0.5
    smoothing_s: float = 0.25
    rearm_distance_mm: float = 5.0
    max_gap_s: float = 0.3
    min_rate_hz: float = 10.0
    _t: deque = field(default_factory=deque, init=False, repr=False)
    _p: deque = field(default_factory=deque, init=False, repr=False)
    _anchor: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.window_s > 0 or not self.max_motion_mm > 0:
            raise ValueError("window_s and max_motion_mm must be positive")
        if not 0 <= self.smoothing_s < self.window_s:
            raise ValueError("smoothing_s must be at least 0 and shorter than window_s")

    def reset(self) -> None:
        """Forget the samples (the hold starts over); the re-arm anchor is kept."""
        self._t.clear()
        self._p.clear()

    def add(self, t_s: float, tip_mm: object) -> None:
        p = _point(tip_mm)
        if p is None:
            self.reset()
            return
        t = float(t_s)
        if self._t and (t - self._t[-1] > self.max_gap_s or t < self._t[-1]):
            self.reset()
        self._t.append(t)
        self._p.append(p)
        horizon = self.window_s + self.smoothing_s + self.max_gap_s   # a little spare
        while self._t and t - self._t[0] > horizon:
            self._t.popleft()
            self._p.popleft()
        if self._anchor is not None and np.linalg.norm(p - self._anchor) > self.rearm_distance_mm:
            self._anchor = None

    @property
    def armed(self) -> bool:
        return self._anchor is None

    def mark_captured(self, point_mm: object) -> None:
        """Quiet until the tip is ``rearm_distance_mm`` away from ``point_mm``."""
        p = _point(point_mm)
        self._anchor = p if p is not None else (self._p[-1].copy() if self._p else None)

    def _smoothed(self) -> tuple[np.ndarray, np.ndarray]:
        t = np.fromiter(self._t, float, len(self._t))
        p = np.array(self._p, dtype=float).reshape(-1, 3)
        if self.smoothing_s <= 0:
            return t, p
        csum = np.vstack([np.zeros(3), np.cumsum(p, axis=0)])
        start = np.searchsorted(t, t - self.smoothing_s, side="left")
        idx = np.arange(len(t))
        smooth = (csum[idx + 1] - csum[start]) / (idx + 1 - start)[:, None]
        # only samples with a full smoothing window behind them are low-passed properly
        full = t - t[0] >= self.smoothing_s - 1e-9
        return t[full], smooth[full]

    def state(self) -> HoldState:
        if len(self._t) < 2:
            return HoldState(0.0, None, self.armed, False)
        t, s = self._smoothed()
        if len(t) < 2:
            return HoldState(0.0, None, self.armed, False)
        newest = t[-1]
        in_window = t >= newest - self.window_s - 1e-9
        sw = s[in_window]
        motion = float(np.max(np.linalg.norm(sw - sw.mean(0), axis=1)))
        held = 0.0
        for i in range(len(t) - 1, -1, -1):     # longest still suffix (a few dozen samples)
            tail = s[i:]
            if np.max(np.linalg.norm(tail - tail.mean(0), axis=1)) > self.max_motion_mm:
                break
            held = newest - t[i]
            if held >= self.window_s:           # samples are not exactly 1/rate apart
                break
        enough = int(np.sum(in_window)) >= self.min_rate_hz * self.window_s
        still = held >= self.window_s - 1e-9 and enough and self.armed
        return HoldState(float(min(held, self.window_s)), motion, self.armed, bool(still))

    def held_point(self) -> np.ndarray | None:
        """Mean raw tip over the last window (None without samples)."""
        if not self._t:
            return None
        t = np.fromiter(self._t, float, len(self._t))
        p = np.array(self._p, dtype=float)
        return p[t >= t[-1] - self.window_s - 1e-9].mean(axis=0)


class SpacedPointCollector:
    """Keep surface points at least ``min_spacing_mm`` apart (at most ``max_points``)."""

    def __init__(self, min_spacing_mm: float = 3.0, max_points: int = 1000) -> None:
        if not min_spacing_mm >= 0:
            raise ValueError(f"min_spacing_mm must be >= 0, got {min_spacing_mm}")
        if max_points < 1:
            raise ValueError(f"max_points must be >= 1, got {max_points}")
        self.min_spacing_mm = float(min_spacing_mm)
        self.max_points = int(max_points)
        self._points = np.zeros((0, 3))
        self.rejected_close = 0

    def __len__(self) -> int:
        return len(self._points)

    @property
    def points(self) -> np.ndarray:
        return self._points.copy()

    @property
    def full(self) -> bool:
        return len(self._points) >= self.max_points

    def clear(self) -> None:
        self._points = np.zeros((0, 3))
        self.rejected_close = 0

    def offer(self, point_mm: object) -> bool:
        """Add ``point_mm`` if it is far enough from every kept point; True when kept."""
        p = _point(point_mm)
        if p is None or self.full:
            return False
        if len(self._points):
            d2 = np.min(np.sum((self._points - p) ** 2, axis=1))
            if d2 < self.min_spacing_mm**2:
                self.rejected_close += 1
                return False
        self._points = np.vstack([self._points, p])
        return True

    def remove_last(self, n: int = 1) -> None:
        """Drop the ``n`` most recent points (undo a slip)."""
        if n > 0:
            self._points = self._points[:max(0, len(self._points) - n)]


class TrackingGap:
    """Whether a loss of tracking has lasted long enough to restart a hold-still count.

    A pose a few tens of ms late (a busy machine kept the acquisition thread waiting) says nothing
    about the tip having moved: the samples after the gap, with their device times, still show
    it. Restarting the 1 s hold at every such gap made capture impossible on a loaded machine.
    A loss longer than ``limit_s`` (the tip may have been lifted and put back) restarts it.
    """

    def __init__(self, limit_s: float = 0.25) -> None:
        self.limit_s = float(limit_s)
        self._lost_since: float | None = None

    def too_long(self, live: bool, now_s: float) -> bool:
        """Feed whether the pose is live at ``now_s``; True once the loss exceeds the limit."""
        if live:
            self._lost_since = None
            return False
        if self._lost_since is None:
            self._lost_since = now_s
        return now_s - self._lost_since > self.limit_s
