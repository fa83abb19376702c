"""Small rigid-pose helpers for hardware: the simulator's poses and the drivers' quaternion
conversions.

The rigid basics (``rigid``, ``invert_rigid``, ``is_rigid``) are those of
:mod:`tmsnav.navigation.transforms`, the one module of ``navigation`` that hardware may import (pure
numpy/scipy math, no Qt, no VTK): one rigidity test with one tolerance for the whole project
(``tmsnav.navigation.transforms.RIGID_TOL``, where the value is explained).

Poses are raw 4x4 float arrays named ``<to>_from_<from>``; rotations are interpolated on the
quaternion sphere (scipy ``Slerp``) and motions are timed with the minimum-jerk profile of
Flash & Hogan (1985, J Neurosci 5:1688), which is how a hand moves between two points.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.transform import Rotation

from tmsnav.navigation.transforms import invert_rigid, is_rigid
from tmsnav.navigation.transforms import make_rigid as rigid

__all__ = ["rigid", "invert_rigid", "is_rigid", "frame_from_z_axis", "rotation_about",
           "interpolate_pose", "min_jerk", "translation", "rotation_from_quaternion_wxyz",
           "quaternion_wxyz_from_rotation"]


def translation(offset_mm: np.ndarray) -> np.ndarray:
    return rigid(np.eye(3), offset_mm)


def frame_from_z_axis(z_axis: ArrayLike, y_hint: ArrayLike) -> np.ndarray:
    """Right-handed rotation whose +z is ``z_axis`` and whose +y leans toward ``y_hint``."""
    z = np.asarray(z_axis, dtype=float)
    z = z / np.linalg.norm(z)
    y = np.asarray(y_hint, dtype=float) - np.dot(y_hint, z) * z
    if np.linalg.norm(y) < 1e-6:  # hint parallel to z: pick any perpendicular
        y = np.cross(z, [1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0])
    y = y / np.linalg.norm(y)
    x = np.cross(y, z)
    return np.column_stack([x, y, z])


def rotation_about(axis: ArrayLike, angle_rad: float) -> np.ndarray:
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


def rotation_from_quaternion_wxyz(q) -> np.ndarray:
    """3x3 rotation from a scalar-first quaternion (NDI q0 qx qy qz, Polhemus q0..q3); normalised
    first. Raises ValueError for a non-finite or zero quaternion (a corrupt record, never a pose)."""
    w, x, y, z = (float(v) for v in q)
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(norm) or norm < 1e-6:
        raise ValueError(f"quaternion {tuple(float(v) for v in q)} cannot be a rotation")
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def quaternion_wxyz_from_rotation(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """Scalar-first unit quaternion with q0 >= 0 of a 3x3 rotation (Shepperd 1978: pick the
    largest of trace and diagonal so the square root never nears zero; stable for every angle)."""
    m = np.asarray(rotation, dtype=float)[:3, :3]
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = (0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s)
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = ((m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s)
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = ((m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s)
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = ((m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s)
    norm = math.sqrt(sum(v * v for v in q))
    sign = -1.0 if q[0] < 0 else 1.0
    return tuple(sign * v / norm for v in q)  # type: ignore[return-value]
