"""Pointer pivot calibration: find the tip offset while the tip rests in a divot.

Each sample is a pose ``tracker_from_pointer = (R_i, p_i)``; the tip (offset ``t`` in the pointer
frame) stays at one tracker point ``b``: ``R_i t + p_i = b``. Stacking ``[R_i  −I] [t; b] = −p_i``
gives a 3N×6 linear least-squares problem (solved through its 6×6 normal equations): the
"algebraic one-step" method compared in Yaniv 2015, *Which pivot calibration?* (SPIE Medical
Imaging 9415, 941527), which found it as accurate as the alternatives for realistic noise.

Why the motion checks: the normal matrix is ``N [[I, −M̄ᵀ], [−M̄, I]]`` with ``M̄ = mean R_i``; its
eigenvalues are ``N (1 ± σ_k(M̄))``, so the smallest, ``N (1 − σ_max(M̄))``, is zero when every
rotation shares one axis (the tip component along that axis is then unobservable). For tilts of
half-angle α about all horizontal axes (a cone), ``1 − σ_max = sin²(α/2)``; we report
``2·asin(√(1 − σ_max))`` as the **cone angle**, the smallest spread in any direction, and the
**rotation span** (largest angle between two sample orientations). A recording is refused with
fewer than ``MIN_SAMPLES`` samples, a span below ``MIN_SPAN_RAD`` (30°), a cone angle below
``MIN_CONE_RAD`` (8°: "you rocked the pointer in one plane only"), an RMS residual above
``MAX_RMS_MM`` (1 mm: the tip slipped in the divot or the pose data is bad) or a tip farther than
500 mm or nearer than 20 mm from the marker (unit mix-up: cm or m instead of mm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy.spatial.transform import Rotation

from ..transforms import Frame, Transform, invert_rigid
from .errors import CalibrationError

__all__ = ["PivotCalibration", "pivot_calibrate", "rotation_spread", "rotation_coverage",
           "RotationCoverage", "tip_in_frame", "PivotMotionError", "PivotSlipError", "MIN_SAMPLES",
           "MIN_SPAN_RAD", "MIN_CONE_RAD", "MAX_RMS_MM", "MAX_TIP_OFFSET_MM", "MIN_TIP_OFFSET_MM"]

MIN_SAMPLES = 30
MIN_SPAN_RAD = np.deg2rad(30.0)
MIN_CONE_RAD = np.deg2rad(8.0)
MAX_RMS_MM = 1.0
MAX_TIP_OFFSET_MM = 500.0
#: Nearer than this the "tip" is the marker itself: poses in metres (0.15 for a 150 mm pointer).
MIN_TIP_OFFSET_MM = 20.0
_SPAN_SUBSAMPLE = 256
_COVERAGE_SUBSAMPLE = 2048


class PivotMotionError(CalibrationError):
    """Not enough to solve yet: too few samples, or too little / one-plane rotation. A live
    recording keeps going on this error; a finished one reports it."""


class PivotSlipError(CalibrationError):
    """The samples do not share one tip point: the tip slid in (or out of) the divot, or the
    tracker lost the marker. More recording cannot fix it."""


@dataclass(frozen=True, eq=False)
class PivotCalibration:
    """Tip offset in the pointer frame and the pivot point in the tracker frame (mm)."""

    tip_offset_mm: np.ndarray
    pivot_tracker_mm: np.ndarray
    rms_mm: float
    max_residual_mm: float
    rotation_span_rad: float
    cone_angle_rad: float
    n_samples: int

    @property
    def pointer_from_tip(self) -> Transform:
        """``pointer_from_pointer_tip``: translation by the tip offset."""
        return Transform.from_translation(self.tip_offset_mm, to_frame=Frame.POINTER,
                                          from_frame=Frame.POINTER_TIP)

    def to_dict(self) -> dict:
        return {"tip_offset_mm": [float(x) for x in self.tip_offset_mm],
                "pivot_tracker_mm": [float(x) for x in self.pivot_tracker_mm],
                "rms_mm": float(self.rms_mm), "max_residual_mm": float(self.max_residual_mm),
                "rotation_span_rad": float(self.rotation_span_rad),
                "cone_angle_rad": float(self.cone_angle_rad), "n_samples": int(self.n_samples)}

    @classmethod
    def from_dict(cls, d: dict) -> "PivotCalibration":
        return cls(tip_offset_mm=np.array(d["tip_offset_mm"], float),
                   pivot_tracker_mm=np.array(d["pivot_tracker_mm"], float),
                   rms_mm=float(d["rms_mm"]), max_residual_mm=float(d["max_residual_mm"]),
                   rotation_span_rad=float(d["rotation_span_rad"]),
                   cone_angle_rad=float(d["cone_angle_rad"]), n_samples=int(d["n_samples"]))


def _poses(tracker_from_pointer: Iterable) -> np.ndarray:
    try:
        if isinstance(tracker_from_pointer, np.ndarray):       # no per-row copy (live use)
            m = np.asarray(tracker_from_pointer, dtype=float)
        else:
            m = np.array([np.asarray(p, dtype=float) for p in tracker_from_pointer], dtype=float)
    except (TypeError, ValueError):
        raise CalibrationError("Pivot samples must be 4x4 pointer poses in mm.") from None
    if m.ndim != 3 or m.shape[1:] != (4, 4):
        raise CalibrationError(f"Pivot samples must be 4x4 poses, got shape {m.shape}.")
    finite = np.all(np.isfinite(m), axis=(1, 2))
    m = m[finite]          # a dropped frame (NaN pose) is skipped, not fatal
    if len(m) < MIN_SAMPLES:
        raise PivotMotionError(
            f"Only {len(m)} valid pivot samples; record at least {MIN_SAMPLES} (a few seconds "
            "of pivoting with the pointer visible).")
    rot = m[:, :3, :3]
    ortho_error = np.abs(np.einsum("nji,njk->nik", rot, rot) - np.eye(3)).max(axis=(1, 2))
    bad = int(np.count_nonzero((ortho_error > 1e-4) | (np.linalg.det(rot) < 0)))
    if bad:
        raise CalibrationError(f"{bad} pivot samples are not rigid poses (rotation not "
                               "orthonormal): check the tracker tool definition.")
    return m


def rotation_spread(rotations: np.ndarray) -> tuple[float, float]:
    """(rotation span, cone angle) in radians of (N, 3, 3) rotations; see the module docstring.

    Cheap enough (≈ 1 ms for 2,000 samples) to show live while the technician pivots."""
    sigma_max = float(np.linalg.svd(rotations.mean(axis=0), compute_uv=False)[0])
    cone = 2.0 * float(np.arcsin(np.sqrt(np.clip(1.0 - sigma_max, 0.0, 1.0))))
    step = max(1, len(rotations) // _SPAN_SUBSAMPLE)
    q = Rotation.from_matrix(rotations[::step]).as_quat()
    cos_half = np.clip(np.abs(q @ q.T), 0.0, 1.0)
    span = 2.0 * float(np.arccos(cos_half.min()))
    return span, cone


@dataclass(frozen=True)
class RotationCoverage:
    """How far the pointer has been tilted about its two main axes of rotation (radians).

    ``first_rad`` >= ``second_rad``: the 2nd-98th percentile ranges of the orientations' rotation
    vectors (relative to their mean orientation) along their two principal directions. Rotation
    about a single axis leaves the tip component along that axis unobservable (module
    docstring), so the second range is the one that says "keep going": rocking in one plane gives
    (40°, 0°), a ±20° circle (40°, 40°)."""

    first_rad: float
    second_rad: float
    n_samples: int

    def fraction(self, target_rad: float) -> float:
        """0-1: the second (smaller) range over its target, for a progress bar."""
        return float(min(1.0, self.second_rad / target_rad)) if target_rad > 0 else 1.0


def rotation_coverage(rotations: np.ndarray) -> RotationCoverage:
    """:class:`RotationCoverage` of (N, 3, 3) rotations; a few ms for 10,000 samples (at most
    2,048 evenly spaced ones are used), cheap enough for every GUI tick while recording."""
    rotations = np.asarray(rotations, dtype=float)
    n = len(rotations)
    if n < 3:
        return RotationCoverage(0.0, 0.0, n)
    sub = rotations[::max(1, n // _COVERAGE_SUBSAMPLE)]
    u, _, vt = np.linalg.svd(sub.mean(axis=0))
    if np.linalg.det(u @ vt) < 0:
        u[:, -1] = -u[:, -1]
    mean = u @ vt                                          # chordal mean orientation
    w = Rotation.from_matrix(np.einsum("ji,njk->nik", mean, sub)).as_rotvec()
    centred = w - w.mean(axis=0)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
    lo, hi = np.percentile(centred @ axes.T, [2.0, 98.0], axis=0)
    first, second = sorted((float(x) for x in hi - lo), reverse=True)
    return RotationCoverage(first, second, n)


_motion = rotation_spread   # earlier private name, still imported by the GUI


def pivot_calibrate(tracker_from_pointer: Iterable, *, max_rms_mm: float = MAX_RMS_MM,
                    min_span_rad: float = MIN_SPAN_RAD, min_cone_rad: float = MIN_CONE_RAD
                    ) -> PivotCalibration:
    """Least-squares tip offset from pointer poses recorded while pivoting about the tip.

    :param tracker_from_pointer: N poses (4x4, mm); rows with NaN (dropped frames) are skipped.
    :raises CalibrationError: too few samples, too little or one-axis motion, residual too big.
    """
    m = _poses(tracker_from_pointer)
    rot, pos = m[:, :3, :3], m[:, :3, 3]
    n = len(m)
    span, cone = rotation_spread(rot)
    if span < min_span_rad:
        raise PivotMotionError(
            f"The pointer was rotated only {np.rad2deg(span):.0f}° while pivoting; tilt it at "
            f"least {np.rad2deg(min_span_rad):.0f}° (±{np.rad2deg(min_span_rad) / 2:.0f}° each "
            "way) in a cone around the divot.")
    if cone < min_cone_rad:
        raise PivotMotionError(
            f"The pointer was rocked in one plane only (spread {np.rad2deg(cone):.0f}° in the "
            f"other direction, need {np.rad2deg(min_cone_rad):.0f}°): tilt it in a circle "
            "(cone), not just back and forth or around its own axis.")
    # Normal equations of the stacked system, summed in closed form (6x6; the motion checks
    # above keep it well conditioned): [[N I, -Σ R_iᵀ], [-Σ R_i, N I]] [t; b] = [-Σ R_iᵀ p_i; Σ p_i]
    sum_rot = rot.sum(axis=0)
    normal = np.block([[n * np.eye(3), -sum_rot.T], [-sum_rot, n * np.eye(3)]])
    rhs = np.concatenate([-np.einsum("nji,nj->i", rot, pos), pos.sum(axis=0)])
    sol = np.linalg.solve(normal, rhs)
    tip, pivot = sol[:3], sol[3:]
    residuals = np.linalg.norm(rot @ tip + pos - pivot, axis=1)
    rms = float(np.sqrt(np.mean(residuals**2)))
    if np.linalg.norm(tip) < MIN_TIP_OFFSET_MM:
        raise CalibrationError(
            f"The computed tip is {np.linalg.norm(tip):.2f} mm from the marker; a pointer tip is "
            f"at least {MIN_TIP_OFFSET_MM:.0f} mm from its markers: are the tracker poses in "
            "metres instead of mm?")
    if np.linalg.norm(tip) > MAX_TIP_OFFSET_MM:
        raise CalibrationError(
            f"The computed tip is {np.linalg.norm(tip):.0f} mm from the marker (limit "
            f"{MAX_TIP_OFFSET_MM:.0f} mm): check the tracker units and that the tip stayed in "
            "the divot.")
    if rms > max_rms_mm:
        raise PivotSlipError(
            f"Pivot residual {rms:.2f} mm RMS (up to {residuals.max():.1f} mm) is above "
            f"{max_rms_mm:.1f} mm: the tip moved in the divot, or the tracker lost the marker. "
            "Keep the tip pressed in the divot and record again.")
    return PivotCalibration(tip_offset_mm=tip, pivot_tracker_mm=pivot, rms_mm=rms,
                            max_residual_mm=float(residuals.max()), rotation_span_rad=span,
                            cone_angle_rad=cone, n_samples=n)


def tip_in_frame(tracker_from_frame: np.ndarray, tracker_from_pointer: np.ndarray,
                 tip_offset_mm: Iterable[float]) -> np.ndarray:
    """Pointer tip in another tracked frame:
    ``inv(tracker_from_frame) @ tracker_from_pointer @ tip``.

    With ``tracker_from_frame = tracker_from_reference`` this is the sample used for registration
    (reference coordinates, so the patient may move); with ``tracker_from_coil`` it is a touched
    coil landmark in the coil-marker frame.
    """
    tfp = np.asarray(tracker_from_pointer, dtype=float)
    frame_from_tracker = invert_rigid(np.asarray(tracker_from_frame, dtype=float), tol=1e-4)
    tip_tracker = tfp[:3, :3] @ np.asarray(tip_offset_mm, dtype=float) + tfp[:3, 3]
    return frame_from_tracker[:3, :3] @ tip_tracker + frame_from_tracker[:3, 3]
