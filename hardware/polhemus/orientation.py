"""Polhemus orientation conventions and unit conversion (device units -> mm).

Euler angles (FASTRAK manual rev. G, output item 4 "az, el, roll"; the direction cosine items 5/6/7
follow from them): azimuth ``a`` about Z, elevation ``e`` about Y, roll ``r`` about X, applied
**intrinsically in Z, Y', X'' order**. The rotation takes the source (transmitter) frame onto the
sensor (receiver) frame, so the matrix whose *columns* are the sensor axes written in source
coordinates is::

    source_from_sensor = Rz(a) @ Ry(e) @ Rx(r)

Worked checks (tested): azimuth +90 deg maps sensor +x onto source +y; elevation +90 deg maps
sensor +x onto source -z; roll +90 deg maps sensor +y onto source +z. Its first row is item 5
("X-direction cosines of the receiver's x, y, z axes"), its first column is the line-of-sight
vector (manual, note 3 of the data-record table).

Quaternions (FASTRAK item 11, Liberty/Patriot item 7) are scalar first ``(q0, q1, q2, q3)`` and
describe the same rotation. The tracker frame of tmsnav *is* the Polhemus source frame: no fixed
flip is applied here (a host that wants the transmitter's +Z up composes that itself).
"""

from __future__ import annotations

import math

import numpy as np

from ..rigid import quaternion_wxyz_from_rotation, rotation_from_quaternion_wxyz

__all__ = [
    "MM_PER_INCH", "MM_PER_CM", "mm_per_unit", "rotation_from_euler_deg", "euler_deg_from_rotation",
    "rotation_from_quaternion", "quaternion_from_rotation", "pose_mm",
]

MM_PER_INCH = 25.4
MM_PER_CM = 10.0


def mm_per_unit(units: str) -> float:
    """Millimetres per device length unit ("inch" or "cm")."""
    if units == "inch":
        return MM_PER_INCH
    if units == "cm":
        return MM_PER_CM
    raise ValueError(f"unknown Polhemus length unit {units!r}; use 'inch' or 'cm'")


def rotation_from_euler_deg(azimuth_deg: float, elevation_deg: float, roll_deg: float) -> np.ndarray:
    """``source_from_sensor`` 3x3 from Polhemus azimuth/elevation/roll in degrees (Z-Y'-X'')."""
    a, e, r = (math.radians(v) for v in (azimuth_deg, elevation_deg, roll_deg))
    ca, sa, ce, se, cr, sr = math.cos(a), math.sin(a), math.cos(e), math.sin(e), math.cos(r), math.sin(r)
    return np.array([
        [ca * ce, ca * se * sr - sa * cr, ca * se * cr + sa * sr],
        [sa * ce, sa * se * sr + ca * cr, sa * se * cr - ca * sr],
        [-se, ce * sr, ce * cr],
    ])


def euler_deg_from_rotation(source_from_sensor: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`rotation_from_euler_deg`: (azimuth, elevation, roll) in degrees.

    Elevation is kept in [-90, 90]; at elevation +-90 (gimbal lock) roll is set to 0.
    """
    m = np.asarray(source_from_sensor, dtype=float)
    sin_el = float(np.clip(-m[2, 0], -1.0, 1.0))
    elevation = math.asin(sin_el)
    if abs(sin_el) > 1.0 - 1e-12:
        azimuth = math.atan2(-m[0, 1], m[1, 1])
        roll = 0.0
    else:
        azimuth = math.atan2(m[1, 0], m[0, 0])
        roll = math.atan2(m[2, 1], m[2, 2])
    return math.degrees(azimuth) + 0.0, math.degrees(elevation) + 0.0, math.degrees(roll) + 0.0


def rotation_from_quaternion(q0: float, q1: float, q2: float, q3: float) -> np.ndarray:
    """3x3 from a scalar-first quaternion; normalised first. Raises ValueError on a zero quaternion."""
    return rotation_from_quaternion_wxyz((q0, q1, q2, q3))


def quaternion_from_rotation(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """Scalar-first unit quaternion with q0 >= 0 (Shepperd's method, stable for every angle)."""
    return quaternion_wxyz_from_rotation(rotation)


def pose_mm(position_device_units: np.ndarray, units: str, source_from_sensor: np.ndarray) -> np.ndarray:
    """4x4 ``tracker_from_sensor`` in mm from a position in device units ("inch"/"cm")."""
    position_in_units = np.asarray(position_device_units, dtype=float)
    tracker_from_sensor = np.eye(4)
    tracker_from_sensor[:3, :3] = np.asarray(source_from_sensor, dtype=float)
    tracker_from_sensor[:3, 3] = position_in_units * mm_per_unit(units)
    return tracker_from_sensor
