"""Motion primitives for the scripted clinical scenarios: touch, hold, move, slide, pivot, sway.

Each primitive returns a *pose function* ``f(local_s, global_s) -> 4x4`` (local time since its
segment started, global scenario time). Pointer functions give ``head_from_tip`` (or
``tracker_from_tip`` for the room-fixed pivot divot); coil functions give ``head_from_hotspot``.
Moves follow the minimum-jerk profile (Flash & Hogan 1985); physiological sway is a sum of slow
sinusoids (0.1-0.6 Hz postural sway, Winter 1995 "Human balance and posture control") plus a small
8-10 Hz physiological tremor, with phases drawn from the scenario's seeded RNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..rigid import frame_from_z_axis, interpolate_pose, min_jerk, rigid, rotation_about
from .head import ScalpSurface

__all__ = ["PoseFn", "MotionContext", "touch_pose", "hold", "move", "move_duration", "slide",
           "slide_duration", "pivot",
           "coil_sway", "head_turn"]

PoseFn = Callable[[float, float], np.ndarray]

_UP = np.array([0.0, 0.0, 1.0])  # head superior (+z in RAS)


@dataclass(frozen=True, eq=False)
class MotionContext:
    """What the primitives need to know about the scene (all in the head frame unless named)."""

    surface: ScalpSurface
    toward_camera_head: np.ndarray  # unit vector from the head toward the camera
    rng: np.random.Generator


def touch_pose(point: np.ndarray, normal: np.ndarray, ctx: MotionContext) -> np.ndarray:
    """``head_from_tip`` for a pointer touching ``point``: the shaft (tip +z, toward the marker)
    leans 20 deg from the outward normal toward the top of the head, the marker faces the camera."""
    shaft = np.asarray(normal, dtype=float) + 0.35 * _UP
    return rigid(frame_from_z_axis(shaft, y_hint=ctx.toward_camera_head), point)


def hold(pose: np.ndarray, ctx: MotionContext, wobble_deg: float = 0.6) -> PoseFn:
    """Hold the tip on one point while the hand wobbles the shaft slightly about the tip."""
    phase = ctx.rng.uniform(0, 2 * np.pi, 2)
    amp = np.radians(wobble_deg)

    def f(_u: float, t: float) -> np.ndarray:
        wobble = (rotation_about([1, 0, 0], amp * np.sin(2 * np.pi * 0.7 * t + phase[0]))
                  @ rotation_about([0, 1, 0], amp * np.sin(2 * np.pi * 0.45 * t + phase[1])))
        out = pose.copy()
        out[:3, :3] = pose[:3, :3] @ wobble  # rotation about the tip: the tip stays put
        return out

    return f


def _spherical_path(ctx: MotionContext, a: np.ndarray, b: np.ndarray, s: float,
                    lift_mm: float) -> np.ndarray:
    """Point a fraction ``s`` along a path from ``a`` to ``b`` that stays outside the scalp and
    goes over the top of the head (not under the chin) between far-apart points."""
    c = ctx.surface.centre_mm
    ra, rb = np.linalg.norm(a - c), np.linalg.norm(b - c)
    da, db = (a - c) / ra, (b - c) / rb
    bump = np.sin(np.pi * s)
    d = (1 - s) * da + s * db + _UP * bump * (1.0 - float(da @ db)) / 2.0 * 1.5
    d /= np.linalg.norm(d)
    surface_r = float(np.linalg.norm(ctx.surface.point_and_normal(d)[0] - c))
    radius = max((1 - s) * ra + s * rb, surface_r) + lift_mm * bump
    return c + d * radius


#: Peak hand speed for pointer moves in the air / sliding on the scalp (mm/s).
PEAK_SPEED_MM_S = 600.0
SLIDE_PEAK_SPEED_MM_S = 200.0
_MIN_JERK_PEAK = 1.875  # peak of d(min_jerk)/ds


def move_duration(a: np.ndarray, b: np.ndarray, ctx: MotionContext, min_s: float,
                  lift_mm: float = 40.0) -> float:
    """Time a hand needs for :func:`move` from ``a`` to ``b``: at least ``min_s``, longer when
    the path would otherwise need a peak speed above ``PEAK_SPEED_MM_S``."""
    s = np.linspace(0, 1, 81)
    pts = np.array([_spherical_path(ctx, a[:3, 3], b[:3, 3], x, lift_mm) for x in s])
    rate = float(np.max(np.linalg.norm(np.diff(pts, axis=0), axis=1))) / (s[1] - s[0])
    return max(min_s, rate * _MIN_JERK_PEAK / PEAK_SPEED_MM_S)


def slide_duration(a_mm: np.ndarray, b_mm: np.ndarray, min_s: float) -> float:
    """Time for :func:`slide` between two scalp points at most ``SLIDE_PEAK_SPEED_MM_S``."""
    arc = 1.2 * float(np.linalg.norm(np.asarray(b_mm) - np.asarray(a_mm)))
    return max(min_s, arc * _MIN_JERK_PEAK / SLIDE_PEAK_SPEED_MM_S)


def move(a: np.ndarray, b: np.ndarray, duration_s: float, ctx: MotionContext,
         lift_mm: float = 40.0) -> PoseFn:
    """Lift the tip off ``a``, carry it around the head and put it down on ``b``."""

    def f(u: float, _t: float) -> np.ndarray:
        s = min_jerk(u / duration_s)
        out = interpolate_pose(a, b, s)
        out[:3, 3] = _spherical_path(ctx, a[:3, 3], b[:3, 3], s, lift_mm)
        return out

    return f


def slide(a_mm: np.ndarray, b_mm: np.ndarray, duration_s: float, ctx: MotionContext) -> PoseFn:
    """Slide the tip over the scalp from point ``a`` to point ``b`` (both on the surface)."""
    c = ctx.surface.centre_mm
    da = (a_mm - c) / np.linalg.norm(a_mm - c)
    db = (b_mm - c) / np.linalg.norm(b_mm - c)

    def f(u: float, _t: float) -> np.ndarray:
        s = min_jerk(u / duration_s)
        point, normal = ctx.surface.point_and_normal((1 - s) * da + s * db)
        return touch_pose(point, normal, ctx)

    return f


def pivot(tracker_from_divot: np.ndarray, duration_s: float, cone_deg: float = 30.0,
          slip_mm: float = 0.0, slip_at: float = 0.15) -> PoseFn:
    """``tracker_from_tip`` for a pointer pivoting in a divot: the tip stays at the divot while the
    shaft sweeps a cone of half-angle 0.4-1.0 x ``cone_deg`` twice around, with some roll: enough
    rotation for a well-conditioned least-squares pivot calibration (tests recover the tip offset
    to 0.5 mm from 60 Hz noisy frames).

    ``slip_mm``: the mistake of a tip that slips out of the divot: from ``slip_at`` x the duration
    on, the tip slides ``slip_mm`` across the divot plate (divot x axis) within a tenth of the
    duration, then keeps pivoting about the new spot. ``cone_deg=0`` (and no roll) is a tip left
    still in the divot."""
    base = tracker_from_divot
    if slip_mm < 0 or not 0.0 <= slip_at <= 0.9:
        raise ValueError(f"slip_mm must be >= 0 and slip_at in [0, 0.9], got {slip_mm}, {slip_at}")
    roll_amp = 0.4 if cone_deg > 0 else 0.0

    def f(u: float, _t: float) -> np.ndarray:
        s = u / duration_s
        theta = np.radians(cone_deg) * (0.7 + 0.3 * np.sin(2 * np.pi * 3.0 * s))
        phi = 2 * np.pi * 2.0 * s
        roll = roll_amp * np.sin(2 * np.pi * 1.5 * s)
        r = (rotation_about([0, 0, 1], phi) @ rotation_about([0, 1, 0], theta)
             @ rotation_about([0, 0, 1], roll - phi))
        out = base.copy()
        out[:3, :3] = base[:3, :3] @ r
        if slip_mm > 0:
            out[:3, 3] += base[:3, 0] * slip_mm * min_jerk(float(np.clip((s - slip_at) / 0.1,
                                                                        0.0, 1.0)))
        return out

    return f


def coil_sway(head_from_target: np.ndarray, ctx: MotionContext, sway_mm: float = 1.0,
              sway_deg: float = 1.0, ramp_s: float = 1.0) -> PoseFn:
    """``head_from_hotspot`` for a hand-held coil on a target: in-plane sway of about ``sway_mm``
    amplitude, lift-off up to 0.3 x ``sway_mm`` (never into the head), tilt/twist of about
    ``sway_deg``, plus 0.05 mm tremor at 9 Hz. The sway ramps in over ``ramp_s``."""
    ph = ctx.rng.uniform(0, 2 * np.pi, 8)
    tilt = np.radians(sway_deg)

    def f(u: float, t: float) -> np.ndarray:
        amp = min(1.0, u / ramp_s) if ramp_s > 0 else 1.0
        w = 2 * np.pi * t
        dx = sway_mm * (0.7 * np.sin(0.23 * w + ph[0]) + 0.3 * np.sin(0.61 * w + ph[1]))
        dy = sway_mm * (0.7 * np.sin(0.19 * w + ph[2]) + 0.3 * np.sin(0.53 * w + ph[3]))
        dx += 0.05 * np.sin(9.0 * w + ph[4])
        dz = -0.3 * sway_mm * (1.0 + np.sin(0.17 * w + ph[5])) / 2.0
        r = (rotation_about([1, 0, 0], amp * tilt * np.sin(0.29 * w + ph[6]))
             @ rotation_about([0, 1, 0], amp * tilt * np.sin(0.37 * w + ph[7]))
             @ rotation_about([0, 0, 1], amp * 0.5 * tilt * np.sin(0.13 * w + ph[0])))
        return head_from_target @ rigid(r, amp * np.array([dx, dy, dz]))

    return f


def head_turn(pivot_head_mm: np.ndarray, yaw_deg: float = 20.0, pitch_deg: float = 8.0,
              roll_deg: float = 4.0, period_s: float = 20.0) -> Callable[[float], np.ndarray]:
    """``head0_from_head(t)``: slow head rotation about a point near the top of the neck.

    Yaw (about superior), pitch (about right) and roll (about anterior) are sinusoids with
    incommensurate periods, so the head never repeats exactly within a session.
    """
    p = np.asarray(pivot_head_mm, dtype=float)

    def f(t: float) -> np.ndarray:
        w = 2 * np.pi * t / period_s
        r = (rotation_about([0, 0, 1], np.radians(yaw_deg) * np.sin(w))
             @ rotation_about([1, 0, 0], np.radians(pitch_deg) * np.sin(w / 1.6 + 0.7))
             @ rotation_about([0, 1, 0], np.radians(roll_deg) * np.sin(w / 2.3 + 1.9)))
        return rigid(r, p - r @ p)

    return f
