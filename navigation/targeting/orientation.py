"""Coil handle angle that maximises the induced field at a cortical target.

The coil stays at the planned scalp point with its face on the scalp; only the rotation about
the coil normal (the "handle angle") changes. Objective: |E| at the target, or the component of
E along a cortical direction (e.g. the normal of the gyral wall, where pyramidal-cell axons run;
cf. Fox et al. 2004 Hum Brain Mapp 22:1 "cortical column cosine" model, Janssen et al. 2015).

Angle convention: the angle is a right-handed rotation about the target frame's +z axis, which
points INTO the head, applied to the planned pose: ``mri_from_target @ Rz(angle)``. Seen by the
operator from outside the head this turns the handle clockwise for a positive angle. Radians
inside; the UI converts to degrees.

Search: a coarse sweep of the full circle (default every 5 deg), then Brent's bounded method
(scipy ``minimize_scalar``) within one step of the best sample. Rotating the coil by theta is
computed as rotating the target and the sphere centre by -theta in the coil frame, so the coil
dipoles are built once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.transforms import Frame, Transform

from .coil_dipoles import DEFAULT_RINGS, DEFAULT_SECTORS, CoilWindings, figure8_dipoles
from .efield import efield_sphere
from .sphere_fit import SphereFit, fit_sphere_near

__all__ = ["OrientationResult", "optimise_orientation", "rotated_about_normal", "handle_angle_rad",
           "DEFAULT_SWEEP_STEP_RAD"]

DEFAULT_SWEEP_STEP_RAD = np.deg2rad(5.0)


def _rz(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _wrap(angle_rad: float) -> float:
    """Angle in (-pi, pi]."""
    wrapped = float(np.mod(angle_rad + np.pi, 2.0 * np.pi) - np.pi)
    return np.pi if wrapped == -np.pi else wrapped


def _check_pose(pose: Transform) -> None:
    if not isinstance(pose, Transform):
        raise NavigationError("the planned coil pose must be a Transform (mri_from_target or mri_from_hotspot)")
    if pose.to_frame != Frame.MRI or pose.from_frame not in (Frame.TARGET, Frame.HOTSPOT):
        raise NavigationError(f"the planned coil pose must map target or hotspot to mri, got {pose.name}")
    if not pose.is_rigid:
        raise NavigationError(f"the planned coil pose {pose.name} is not rigid")


def rotated_about_normal(mri_from_target: Transform, angle_rad: float) -> Transform:
    """The pose turned by ``angle_rad`` about its own +z (coil normal, into the head)."""
    _check_pose(mri_from_target)
    target_from_rotated = np.eye(4)
    target_from_rotated[:3, :3] = _rz(angle_rad)
    return Transform(mri_from_target.to_frame, mri_from_target.from_frame,
                     mri_from_target.matrix @ target_from_rotated)


def handle_angle_rad(mri_from_target: Transform, mri_from_hotspot: Transform) -> float:
    """Twist of a coil pose relative to the plan, about the plan's normal, in (-pi, pi]."""
    _check_pose(mri_from_target)
    _check_pose(mri_from_hotspot)
    y_in_target = mri_from_target.rotation.T @ mri_from_hotspot.rotation[:, 1]
    if np.hypot(y_in_target[0], y_in_target[1]) < 1e-6:
        raise NavigationError("the coil handle is perpendicular to the scalp; no handle angle is defined")
    return _wrap(np.arctan2(-y_in_target[0], y_in_target[1]))


@dataclass(frozen=True)
class OrientationResult:
    """Best handle angle and the angle -> field curve (V/m at ``didt_A_per_s``)."""

    best_angle_rad: float
    best_value_V_per_m: float
    angles_rad: np.ndarray = field(repr=False)
    values_V_per_m: np.ndarray = field(repr=False)
    current_angle_rad: float
    current_value_V_per_m: float
    objective: str                      # "magnitude", "along_direction" or "along_direction_unsigned"
    best_pose: Transform = field(repr=False)
    didt_A_per_s: float


def optimise_orientation(mri_from_target: Transform, target_point_mm: np.ndarray,
                         head: SphereFit | np.ndarray, windings: CoilWindings, *,
                         direction: np.ndarray | None = None, signed: bool = True,
                         current_angle_rad: float = 0.0, step_rad: float = DEFAULT_SWEEP_STEP_RAD,
                         didt_A_per_s: float = 1e6, n_rings: int = DEFAULT_RINGS,
                         n_sectors: int = DEFAULT_SECTORS) -> OrientationResult:
    """Handle angle maximising the field at ``target_point_mm`` (cortex, MRI mm).

    ``direction`` (MRI frame) switches the objective from |E| to E . direction (``signed``) or
    |E . direction|. When the objective repeats every 180 deg (|E|, unsigned) the best angle
    closest to ``current_angle_rad`` is returned.
    """
    _check_pose(mri_from_target)
    if not (np.isfinite(step_rad) and np.deg2rad(0.5) <= step_rad <= np.deg2rad(45.0)):
        raise NavigationError(f"sweep step must be 0.5-45 degrees, got {np.rad2deg(step_rad):.3g}")
    if not (np.isfinite(didt_A_per_s) and didt_A_per_s > 0):
        raise NavigationError(f"dI/dt must be a positive number of A/s, got {didt_A_per_s}")
    target = np.asarray(target_point_mm, dtype=float).reshape(-1)
    if target.shape != (3,) or not np.all(np.isfinite(target)):
        raise NavigationError(f"target point must be 3 finite numbers (mm), got {target_point_mm!r}")
    unit = None
    if direction is not None:
        d = np.asarray(direction, dtype=float).reshape(-1)
        if d.shape != (3,) or not np.all(np.isfinite(d)) or np.linalg.norm(d) < 1e-9:
            raise NavigationError(f"cortical direction must be a non-zero 3-vector, got {direction!r}")
        unit = d / np.linalg.norm(d)
    sphere = head if isinstance(head, SphereFit) else fit_sphere_near(head, mri_from_target.translation)
    if np.linalg.norm(target - sphere.centre_mm) >= sphere.radius_mm:
        raise NavigationError("the target lies outside the head sphere fitted under the coil; "
                              "is the planned coil position over the target?")

    dipoles = figure8_dipoles(windings, n_rings, n_sectors)      # hotspot (= target) frame
    rot = mri_from_target.rotation
    target_local = rot.T @ (target - mri_from_target.translation)
    centre_local = rot.T @ (sphere.centre_mm - mri_from_target.translation)
    if np.linalg.norm(dipoles.positions_mm - centre_local, axis=1).min() <= sphere.radius_mm:
        raise NavigationError("the coil windings reach into the head sphere at the planned pose; "
                              "check the planned coil position and normal")

    def field_mri(angle: float) -> np.ndarray:
        back = _rz(-angle)
        e_coil = efield_sphere(back @ target_local, dipoles.positions_mm, dipoles.moments_A_m2_per_A,
                               back @ centre_local, didt_A_per_s)[0]
        return rot @ (_rz(angle) @ e_coil)

    def objective(angle: float) -> float:
        e = field_mri(angle)
        if unit is None:
            return float(np.linalg.norm(e))
        along = float(e @ unit)
        return along if signed else abs(along)

    angles = np.arange(0.0, 2.0 * np.pi - 1e-12, step_rad)
    values = np.array([objective(a) for a in angles])
    i_best = int(np.argmax(values))
    refined = minimize_scalar(lambda a: -objective(a), method="bounded",
                              bounds=(angles[i_best] - step_rad, angles[i_best] + step_rad),
                              options={"xatol": 1e-5})
    best = float(refined.x) if refined.success and -refined.fun >= values[i_best] else float(angles[i_best])
    current = _wrap(current_angle_rad)
    periodic_pi = unit is None or not signed
    if periodic_pi:
        alternative = best + np.pi
        if abs(_wrap(alternative - current)) < abs(_wrap(best - current)):
            best = alternative
    best = _wrap(best)
    if unit is None:
        kind = "magnitude"
    else:
        kind = "along_direction" if signed else "along_direction_unsigned"
    return OrientationResult(
        best_angle_rad=best, best_value_V_per_m=objective(best), angles_rad=angles,
        values_V_per_m=values, current_angle_rad=current, current_value_V_per_m=objective(current),
        objective=kind, best_pose=rotated_about_normal(mri_from_target, best), didt_A_per_s=float(didt_A_per_s))
