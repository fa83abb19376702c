"""Small rigid-pose helpers for the simulator (hardware may not import ``navigation.transforms``).

Poses are raw 4x4 float arrays named ``<to>_from_<from>``; rotations are interpolated on the
quaternion sphere (scipy ``Slerp``) and motions are timed with the minimum-jerk profile of
Flash & Hogan (1985, J Neurosci 5:1688), which is how a hand moves between two points.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

__all__ = ["rigid", "invert_rigid", "is_rigid", "frame_from_z_axis", "rotation_about",
           "interpolate_pose", "min_jerk", "translation"]


def rigid(rotation: np.ndarray, translation_mm: np.ndarray) -> np.ndarray:
    """4x4 pose from a 3x3 rotation and a translation in mm."""
    m = np.eye(4)
    m[:3, :3] = rotation
    m[:3, 3] = translation_mm
    return m


def translation(offset_mm: np.ndarray) -> np.ndarray:
    return rigid(np.eye(3), offset_mm)


def invert_rigid(a_from_b: np.ndarray) -> np.ndarray:
    """Closed-form rigid inverse ``[R^T, -R^T t]`` (never a pseudo-inverse)."""
    r = a_from_b[:3, :3]
    return rigid(r.T, -r.T @ a_from_b[:3, 3])


def is_rigid(m: np.ndarray, tol: float = 1e-6) -> bool:
    """True when ``m`` is a proper rigid 4x4 (orthonormal rotation, det +1, bottom row 0 0 0 1)."""
    m = np.asarray(m, dtype=float)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        return False
    r = m[:3, :3]
    return (np.allclose(r.T @ r, np.eye(3), atol=tol) and abs(np.linalg.det(r) - 1.0) < tol
            and np.allclose(m[3], [0, 0, 0, 1], atol=tol))


def frame_from_z_axis(z_axis: np.ndarray, y_hint: np.ndarray) -> np.ndarray:
    """Right-handed rotation whose +z is ``z_axis`` and whose +y leans toward ``y_hint``."""
    z = np.asarray(z_axis, dtype=float)
    z = z / np.linalg.norm(z)
    y = np.asarray(y_hint, dtype=float) - np.dot(y_hint, z) * z
    if np.linalg.norm(y) < 1e-6:  # hint parallel to z: pick any perpendicular
        y = np.cross(z, [1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0])
    y = y / np.linalg.norm(y)
    x = np.cross(y, z)
    return np.column_stack([x, y, z])


def rotation_about(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """3x3 rotation by ``angle_rad`` about ``axis`` (right-hand rule)."""
    a = np.asarray(axis, dtype=float)
    return Rotation.from_rotvec(a / np.linalg.norm(a) * angle_rad).as_matrix()


def interpolate_pose(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    """Pose a fraction ``s`` (0..1) of the way from ``a`` to ``b``: slerp + linear translation."""
    ra = Rotation.from_matrix(a[:3, :3])
    rel = (ra.inv() * Rotation.from_matrix(b[:3, :3])).as_rotvec()
    r = (ra * Rotation.from_rotvec(rel * s)).as_matrix()
    return rigid(r, (1.0 - s) * a[:3, 3] + s * b[:3, 3])


def min_jerk(s: float) -> float:
    """Minimum-jerk progress 10s^3 - 15s^4 + 6s^5 for s in [0, 1] (zero speed at both ends)."""
    s = min(max(s, 0.0), 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s * s)
