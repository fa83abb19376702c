"""Live coil guidance: where the coil's hotspot is relative to the planned target.

The chain (docs/design.md):
``mri_from_hotspot = mri_from_reference @ inv(tracker_from_reference) @ tracker_from_coil @ coil_from_hotspot``
and the error is ``target_from_hotspot = inv(mri_from_target) @ mri_from_hotspot``, decomposed into
what a clinician can act on: in-plane offset (along the target's own axes and along the patient's
anterior / left-right directions), depth along the coil normal, tilt of the coil normal and twist
of the handle about it. Radians and mm here; the GUI converts to degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .transforms import Frame, Transform, TransformError, rotation_angle_rad

__all__ = ["GuidanceError", "Tolerance", "guidance_error", "mri_from_hotspot", "anatomical_axes",
           "coil_not_ready_reason", "COIL_NOT_VERIFIED"]

COIL_NOT_VERIFIED = ("coil calibration not verified: touch the coil's centre mark in the "
                     "Registration tab's Coil step")


@dataclass(frozen=True)
class Tolerance:
    """When the coil counts as "on target". Defaults follow common TMS practice (a few mm, a few degrees)."""

    distance_mm: float = 3.0
    depth_mm: float = 5.0          # hair and cap thickness make depth the loosest term
    tilt_rad: float = np.deg2rad(5.0)
    twist_rad: float = np.deg2rad(10.0)


@dataclass(frozen=True)
class GuidanceError:
    """Hotspot pose relative to the target, in the target frame (x = y × z, y = handle, z = into head)."""

    offset_x_mm: float          # along target x
    offset_y_mm: float          # along target y (handle direction)
    depth_mm: float             # along target z: > 0 the hotspot is deeper than the target point
    tilt_rad: float             # angle between coil normal and target normal (0..pi)
    twist_rad: float            # signed handle rotation about the target normal (-pi..pi)
    anterior_mm: float          # in-plane offset projected on the patient's anterior direction
    right_mm: float             # in-plane offset projected on the patient's right direction

    @property
    def in_plane_mm(self) -> float:
        return float(np.hypot(self.offset_x_mm, self.offset_y_mm))

    @property
    def distance_mm(self) -> float:
        return float(np.sqrt(self.offset_x_mm ** 2 + self.offset_y_mm ** 2 + self.depth_mm ** 2))

    def on_target(self, tol: Tolerance = Tolerance()) -> bool:
        return (self.in_plane_mm <= tol.distance_mm and abs(self.depth_mm) <= tol.depth_mm
                and self.tilt_rad <= tol.tilt_rad and abs(self.twist_rad) <= tol.twist_rad)

    def to_dict(self) -> dict:
        return {"offset_x_mm": self.offset_x_mm, "offset_y_mm": self.offset_y_mm,
                "depth_mm": self.depth_mm, "tilt_rad": self.tilt_rad, "twist_rad": self.twist_rad,
                "anterior_mm": self.anterior_mm, "right_mm": self.right_mm,
                "distance_mm": self.distance_mm}


def coil_not_ready_reason(coil_from_hotspot: Transform | None, verification) -> str:
    """Why guidance may not use the coil calibration now ("" = it may).

    A coil calibration is used for navigation only after a verification touch agreed with it
    (:func:`tmsnav.navigation.coils.verify_coil_calibration`) *for this very calibration*: a nominal
    file mount or a restored session's calibration can be tens of mm off the coil in the room,
    and the guidance numbers would then look precise while the hotspot is beside the target.
    ``verification`` is a :class:`tmsnav.navigation.coils.CoilVerification` or None.
    """
    if coil_from_hotspot is None:
        return "coil not calibrated"
    if verification is None or not verification.passed \
            or not verification.applies_to(coil_from_hotspot):
        return COIL_NOT_VERIFIED
    return ""


def mri_from_hotspot(mri_from_reference: Transform, tracker_from_reference: Transform,
                     tracker_from_coil: Transform, coil_from_hotspot: Transform) -> Transform:
    """The live chain; each factor is frame-checked so a swapped argument raises."""
    return (mri_from_reference @ tracker_from_reference.inverse() @ tracker_from_coil
            @ coil_from_hotspot)


def anatomical_axes(mri_from_target: Transform) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (in target x/y coordinates) of the patient's anterior and right directions
    projected into the target's tangent plane. Near the vertex or temples one of them may be
    degenerate; it is then replaced by the cross product of the other with the normal."""
    r = mri_from_target.rotation  # columns: target axes in mri
    anterior = r.T @ np.array([0.0, 1.0, 0.0])
    right = r.T @ np.array([1.0, 0.0, 0.0])
    a, b = anterior[:2], right[:2]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-3 and nb < 1e-3:
        raise TransformError("target normal is parallel to both anatomical axes")
    if na < 1e-3:
        b = b / nb
        a = np.array([-b[1], b[0]])
    elif nb < 1e-3:
        a = a / na
        b = np.array([a[1], -a[0]])
    else:
        a, b = a / na, b / nb
    return a, b


def guidance_error(mri_from_target: Transform, mri_from_hotspot_now: Transform) -> GuidanceError:
    """Decompose ``target_from_hotspot`` into offset, depth, tilt and twist."""
    if mri_from_target.to_frame != Frame.MRI or mri_from_target.from_frame != Frame.TARGET:
        raise TransformError(f"expected mri_from_target, got {mri_from_target.name}")
    target_from_hotspot = mri_from_target.inverse() @ mri_from_hotspot_now
    if target_from_hotspot.from_frame != Frame.HOTSPOT:
        raise TransformError(f"expected a hotspot pose, got {mri_from_hotspot_now.name}")
    t = target_from_hotspot.translation
    r = target_from_hotspot.rotation
    z_h = r[:, 2]
    tilt = float(np.arccos(np.clip(z_h[2], -1.0, 1.0)))
    # Twist: remove the tilt with the minimal rotation taking z_h onto z, then read the angle of
    # the handle (y) axis in the target x-y plane.
    untilt = _rotation_between(z_h, np.array([0.0, 0.0, 1.0]))
    y_h = untilt @ r[:, 1]
    twist = float(np.arctan2(-y_h[0], y_h[1]))
    a, b = anatomical_axes(mri_from_target)
    return GuidanceError(offset_x_mm=float(t[0]), offset_y_mm=float(t[1]), depth_mm=float(t[2]),
                         tilt_rad=tilt, twist_rad=twist, anterior_mm=float(t[:2] @ a),
                         right_mm=float(t[:2] @ b))


def _rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Smallest rotation taking unit vector u onto unit vector v (Rodrigues)."""
    u = u / np.linalg.norm(u)
    v = v / np.linalg.norm(v)
    axis = np.cross(u, v)
    s, c = np.linalg.norm(axis), float(u @ v)
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        # 180 degrees: any axis perpendicular to u
        perp = np.cross(u, [1.0, 0.0, 0.0])
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(u, [0.0, 1.0, 0.0])
        perp /= np.linalg.norm(perp)
        return 2.0 * np.outer(perp, perp) - np.eye(3)
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * (kx @ kx)


def angle_between_rad(u: np.ndarray, v: np.ndarray) -> float:
    return rotation_angle_rad(_rotation_between(np.asarray(u, float), np.asarray(v, float)))
