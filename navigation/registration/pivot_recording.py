"""When to stop a pivot recording: once the pointer has been tilted enough, not after a set time.

A fixed recording time fails both ways: a technician who starts a little late, or pivots a
little slowly, either runs out of time or keeps recording after lifting the pointer out of the
divot (the fit then mixes two tip positions: tens of mm of residual). :class:`PivotRecorder`
instead records until the **rotation coverage** (:func:`~.pivot.rotation_coverage`: the tilt
range about the two main axes, default target 30° each) and the sample count are reached and the
least-squares fit (:func:`~.pivot.pivot_calibrate`, Yaniv 2015) passes, and stops there. It ends
early, with the cause, when

* the fit shows the tip moved (residual above 1 mm RMS, or the tip point wandering more than
  1.5 mm over the recording, :func:`tip_travel_mm`, which also catches a slip the RMS hides):
  more data cannot fix a slipped tip, so the technician is told at once, not at the time limit;
* the time limit passes without enough rotation: the message says how far the pointer was tilted
  about each axis, how many frames showed it, and whether the marker travelled without turning
  (the pointer was carried, not pivoted).

Pure logic (no Qt, no clock of its own): the caller feeds timestamped poses and the current time,
so the GUI, the tests and a replay all drive it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable

import numpy as np

from .errors import CalibrationError
from .pivot import (MAX_RMS_MM, MIN_SAMPLES, PivotCalibration, PivotMotionError,
                    RotationCoverage, pivot_calibrate, rotation_coverage)

__all__ = ["PivotRecorder", "PivotProgress", "PivotOutcome", "tip_travel_mm", "TARGET_TILT_RAD",
           "TARGET_SAMPLES", "DEFAULT_MAX_TIME_S", "MAX_TIP_TRAVEL_MM", "LOOK_S"]

#: Tilt range asked for about each of two axes: a ±15° rock each way, or a ±20° circle.
TARGET_TILT_RAD = float(np.deg2rad(30.0))
#: Samples asked for (under 2 s at 60 Hz): averages the tracker noise well below 0.1 mm.
TARGET_SAMPLES = 100
#: Largest wander of the tip point over the recording (block means, :func:`tip_travel_mm`): a
#: tip pressed into a divot stays within a few tenths of a mm; 1.5 mm means it slid.
MAX_TIP_TRAVEL_MM = 1.5
_BLOCK = 10
#: How often :meth:`PivotRecorder.feed` looks at the recording, in sample time (s).
LOOK_S = 0.1
#: Give up after this long without enough rotation (seconds).
DEFAULT_MAX_TIME_S = 30.0
#: A marker that travels this far while turning less than the target was carried, not pivoted.
_CARRIED_MM = 20.0
#: Below this tilt range the pointer was not pivoted at all (hand tremor is about 1°).
_STILL_RAD = float(np.deg2rad(5.0))


class PivotOutcome(Enum):
    RECORDING = "recording"
    DONE = "done"                  # a calibration that passed every check
    NO_ROTATION = "no rotation"    # the time limit passed without enough rotation
    SLIPPED = "slipped"            # the tip did not stay at one point
    REFUSED = "refused"            # any other calibration refusal (units, non-rigid poses)

    @property
    def finished(self) -> bool:
        return self is not PivotOutcome.RECORDING


@dataclass(frozen=True)
class PivotProgress:
    """One look at the recording: what to show, and whether it is over."""

    outcome: PivotOutcome
    coverage: RotationCoverage
    elapsed_s: float
    fraction: float                      # 0-1 for the progress bar: coverage and samples
    message: str                         # the cause when it failed, a note when done
    calibration: PivotCalibration | None = None


class PivotRecorder:
    """Collect ``tracker_from_pointer`` poses until the rotation suffices (see module docstring).

    ``add(t_s, pose)`` for each pointer frame (``None`` or NaN = not seen), ``update(now_s)``
    whenever the caller wants to show progress; once ``update`` returns a finished outcome the
    recorder ignores further frames. Times are seconds on the caller's monotonic clock.
    """

    def __init__(self, start_s: float, *, max_time_s: float = DEFAULT_MAX_TIME_S,
                 target_tilt_rad: float = TARGET_TILT_RAD, target_samples: int = TARGET_SAMPLES,
                 max_rms_mm: float = MAX_RMS_MM,
                 max_travel_mm: float = MAX_TIP_TRAVEL_MM) -> None:
        if not max_time_s > 0:
            raise ValueError(f"max_time_s must be positive, got {max_time_s}")
        if not 0 < target_tilt_rad < np.pi:
            raise ValueError(f"target_tilt_rad must be in (0, pi), got {target_tilt_rad}")
        self.start_s = float(start_s)
        self.max_time_s = float(max_time_s)
        self.target_tilt_rad = float(target_tilt_rad)
        self.target_samples = max(int(target_samples), MIN_SAMPLES)
        self.max_rms_mm = float(max_rms_mm)
        self.max_travel_mm = float(max_travel_mm)
        self._buffer = np.zeros((256, 4, 4))      # grows by doubling: no list-to-array per look
        self._n = 0
        self._coverage = RotationCoverage(0.0, 0.0, 0)
        self._frames_offered = 0
        self._solved_at = 0                       # sample count of the last fit attempt
        self._last_fit: PivotCalibration | None = None
        self.progress = PivotProgress(PivotOutcome.RECORDING, RotationCoverage(0.0, 0.0, 0), 0.0,
                                      0.0, "")

    @property
    def n_samples(self) -> int:
        return self._n

    @property
    def poses(self) -> np.ndarray:
        """The recorded ``tracker_from_pointer`` poses, (N, 4, 4), in time order (a view)."""
        return self._buffer[:self._n]

    @property
    def finished(self) -> bool:
        return self.progress.outcome.finished

    def add(self, t_s: float, tracker_from_pointer: np.ndarray | None) -> None:
        """One pointer frame; frames before ``start_s`` or after the end are ignored."""
        if self.finished or t_s < self.start_s:
            return
        self._frames_offered += 1
        if tracker_from_pointer is None:
            return
        pose = np.asarray(tracker_from_pointer, dtype=float)
        if pose.shape == (4, 4) and np.all(np.isfinite(pose)):
            if self._n == len(self._buffer):
                self._buffer = np.concatenate([self._buffer, np.zeros_like(self._buffer)])
            self._buffer[self._n] = pose
            self._n += 1

    def feed(self, samples: Iterable[tuple[float, np.ndarray | None]],
             now_s: float | None = None) -> PivotProgress:
        """Add time-ordered ``(t_s, pose)`` samples, looking every ``LOOK_S`` of *sample* time,
        then once more at ``now_s``. A caller that comes late with seconds of frames (a busy GUI
        thread) still stops at the frame where the rotation sufficed, not seconds later when
        the pointer may have left the divot; the frames after the end are not used."""
        last_look = None
        for t_s, pose in samples:
            if self.finished:
                break
            self.add(t_s, pose)
            if last_look is None:
                last_look = t_s
            elif t_s - last_look >= LOOK_S:
                self.update(t_s)
                last_look = t_s
        if now_s is not None and not self.finished:
            self.update(now_s)
        return self.progress

    def update(self, now_s: float) -> PivotProgress:
        """Re-assess the recording at ``now_s``; returns (and keeps) the new progress."""
        if self.finished:
            return self.progress
        elapsed = max(0.0, now_s - self.start_s)
        poses = self.poses
        n = len(poses)
        if n - self._coverage.n_samples >= max(1, self._coverage.n_samples // 50):
            self._coverage = rotation_coverage(poses[:, :3, :3])   # every 2 % more samples
        coverage = self._coverage
        fraction = min(coverage.fraction(self.target_tilt_rad),
                       len(poses) / self.target_samples)
        outcome, message, cal = PivotOutcome.RECORDING, "", None
        # refit once 10 % more samples came (a few dozen fits over a long recording, so a look
        # costs about a millisecond on the GUI thread even at 240 Hz after 30 s), and with every
        # sample before the recording may end: the result always uses, and checks, all of them
        final = fraction >= 1.0 or elapsed >= self.max_time_s
        grown = n >= self._solved_at + max(1, self._solved_at // 10)
        if n >= MIN_SAMPLES and n != self._solved_at and (grown or final):
            self._solved_at = n
            try:
                fit = pivot_calibrate(poses, max_rms_mm=np.inf)
                travel = tip_travel_mm(poses, fit.tip_offset_mm)
                if fit.rms_mm > self.max_rms_mm or travel > self.max_travel_mm:
                    outcome, message = PivotOutcome.SLIPPED, self._slip_message(fit, travel)
                else:
                    self._last_fit = fit
            except PivotMotionError:
                pass                                       # not enough rotation yet: go on
            except CalibrationError as exc:
                outcome, message = PivotOutcome.REFUSED, str(exc)
        if outcome is PivotOutcome.RECORDING:
            if self._last_fit is not None and fraction >= 1.0 \
                    and self._last_fit.n_samples == n:
                outcome, cal = PivotOutcome.DONE, self._last_fit
            elif elapsed >= self.max_time_s:
                if self._last_fit is not None:       # the minimum is met, the target was not
                    outcome, cal = PivotOutcome.DONE, self._last_fit
                    message = (f"Less rotation than asked for ({self._tilt_text(coverage)}), "
                               "but enough for a calibration.")
                else:
                    outcome = PivotOutcome.NO_ROTATION
                    message = self._timeout_message(poses, coverage)
        if outcome is PivotOutcome.DONE:
            fraction = 1.0
        self.progress = PivotProgress(outcome, coverage, elapsed, fraction, message, cal)
        return self.progress

    # ----- messages ---------------------------------------------------------------------------
    def _tilt_text(self, coverage: RotationCoverage) -> str:
        return (f"tilted {np.degrees(coverage.first_rad):.0f}° about one axis and "
                f"{np.degrees(coverage.second_rad):.0f}° about another, need "
                f"{np.degrees(self.target_tilt_rad):.0f}° about both")

    def _timeout_message(self, poses: np.ndarray, coverage: RotationCoverage) -> str:
        head = f"No pivoting seen in {self.max_time_s:.0f} s: "
        if len(poses) < MIN_SAMPLES:
            return (head + f"the pointer was tracked in only {len(poses)} of "
                    f"{self._frames_offered} frames. Turn its markers toward the camera and "
                    "keep them in view while pivoting.")
        text = head + "the pointer was " + self._tilt_text(coverage) + "."
        travel = float(np.ptp(poses[:, :3, 3], axis=0).max()) if len(poses) else 0.0
        if coverage.first_rad < _STILL_RAD:
            text += " It was held still: tilt the pointer in a slow circle (±20°) about its tip."
        elif coverage.first_rad < self.target_tilt_rad:
            text += " Tilt it further, in a slow circle of about ±20°."
        else:
            text += " It was rocked in one plane only: tilt it in a circle, not back and forth."
        if travel > _CARRIED_MM and coverage.second_rad < self.target_tilt_rad / 2:
            text += (f" The marker moved {travel:.0f} mm without turning enough: keep the tip in "
                     "the divot and tilt the pointer about it.")
        return text

    def _slip_message(self, fit: PivotCalibration, travel_mm: float) -> str:
        return (f"The tip moved at least {travel_mm:.1f} mm during the recording (fit residual "
                f"{fit.rms_mm:.2f} mm RMS, up to {fit.max_residual_mm:.1f} mm; allowed "
                f"{self.max_travel_mm:.1f} mm and {self.max_rms_mm:.1f} mm RMS): it slid in or "
                "out of the divot, the recording started before the tip was in the divot, or "
                "the marker was partly hidden. Press the tip into the divot, then press Start, "
                "keep the tip there, and record again.")


def tip_travel_mm(tracker_from_pointer: np.ndarray, tip_offset_mm: np.ndarray) -> float:
    """How far the tip point wandered during a time-ordered recording (mm): the largest distance
    between the mean tip positions of consecutive blocks of samples (at least ``_BLOCK``, about
    a twentieth of the recording each), so the tracker's frame-to-frame jitter averages out
    while a slip, even one near the end that the RMS residual hides, shows in full."""
    poses = np.asarray(tracker_from_pointer, dtype=float)
    tips = poses[:, :3, :3] @ np.asarray(tip_offset_mm, dtype=float) + poses[:, :3, 3]
    size = max(_BLOCK, len(tips) // 20)
    n_blocks = len(tips) // size
    if n_blocks < 2:
        return 0.0
    means = tips[: n_blocks * size].reshape(n_blocks, size, 3).mean(axis=1)
    return float(np.linalg.norm(means[:, None] - means[None], axis=2).max())
