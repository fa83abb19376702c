"""The named clinical scenarios and :func:`make_scenario`.

======================  =====================================================================
name                    what happens (phase labels in quotes)
======================  =====================================================================
``idle``                every tool lies still in view ("idle")
``pivot``               pointer tip in a divot, shaft sweeps a +/-30 deg cone ("pivoting");
                        ``slip_mm``: the tip slips out of the divot; ``cone_deg=0``: left still
``fiducials``           tip touches nasion, LPA, RPA in turn ("touching nasion", ...), holding
                        ``hold_s`` at each with a localisation error up to ``error_mm``
``scalp_sweep``         tip slides over the upper scalp touching ``n_points`` ("sweep point k/N")
``coil_approach``       coil comes from the side onto a target and holds, swaying
                        ("coil approaching", "coil placing", "holding on target")
``head_motion``         the head turns slowly, the reference follows ("head turning")
``occlusion``           pointer, coil, reference, then all, disappear in turn
                        ("pointer occluded", "coil occluded", "reference occluded", "all occluded")
``coil_check``          the coil lies on the table; the pointer tip touches its centre mark, the
                        handle end and the left wing edge in turn ("touching coil centre", ...):
                        the verification of the coil calibration (``calibrate=1``: every casing
                        landmark first, as a calibration by touching)
``full_session``        pivot -> coil check -> fiducials -> scalp sweep -> two verification
                        touches on the scalp -> coil approach -> hold
======================  =====================================================================
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..rigid import frame_from_z_axis, interpolate_pose, invert_rigid, min_jerk, rigid
from .scenarios import TOOL_COIL, TOOL_POINTER, TOOL_REFERENCE, Scenario, Segment, SimulationTruth
from .head import HeadGeometry, ScalpSurface, demo_head_geometry
from .motion import (MotionContext, PoseFn, coil_sway, head_turn, hold, move, move_duration,
                     pivot, slide, slide_duration, touch_pose)

__all__ = ["SCENARIO_NAMES", "make_scenario"]


@dataclass(frozen=True, eq=False)
class _Scene:
    truth: SimulationTruth
    ctx: MotionContext
    head0_from_tracker: np.ndarray

    @property
    def parked_tip_head(self) -> np.ndarray:
        return (self.head0_from_tracker @ self.truth.tracker_from_pointer_parked
                @ self.truth.pointer_from_tip)

    @property
    def parked_hotspot_head(self) -> np.ndarray:
        return (self.head0_from_tracker @ self.truth.tracker_from_coil_parked
                @ self.truth.coil_from_hotspot)


def _static(pose: np.ndarray) -> PoseFn:
    return lambda _u, _t: pose


def _glide(a: np.ndarray, b: np.ndarray, duration_s: float) -> PoseFn:
    return lambda u, _t: interpolate_pose(a, b, min_jerk(u / duration_s))


def _move(phase: str, a: np.ndarray, b: np.ndarray, min_s: float, scene: "_Scene") -> Segment:
    """A pointer move segment, long enough for a hand to make the trip."""
    duration = move_duration(a, b, scene.ctx, min_s)
    return Segment(phase, duration, head_from_tip=move(a, b, duration, scene.ctx))


# --- building blocks: each returns (segments, pointer pose at the end, info) ---------------------

def _pivot_part(scene: _Scene, duration_s: float, cone_deg: float, slip_mm: float = 0.0):
    truth = scene.truth
    tracker_from_head = truth.tracker_from_head
    divot = tracker_from_head[:3, :3] @ (truth.head.centroid_mm + [150.0, 110.0, -90.0]) \
        + tracker_from_head[:3, 3]
    tracker_from_divot = rigid(frame_from_z_axis(-divot, y_hint=np.array([0, 1.0, 0])), divot)
    fn = pivot(tracker_from_divot, duration_s, cone_deg, slip_mm)
    segments = [Segment("placing tip in divot", 1.0, tracker_from_tip=_static(fn(0.0, 0.0))),
                Segment("pivoting", duration_s, tracker_from_tip=fn)]
    end = scene.head0_from_tracker @ fn(duration_s, 0.0)
    return segments, end, {"pivot_point_tracker": divot.copy()}


def _fiducial_part(scene: _Scene, start: np.ndarray, landmarks, error_mm: float, hold_s: float,
                   move_s: float):
    if error_mm < 0:
        raise ValueError(f"error_mm must be >= 0, got {error_mm}")
    ctx, segments, touched = scene.ctx, [], {}
    prev = start
    for name in landmarks:
        mark = scene.truth.head.landmark(name)
        normal = ctx.surface.nearest_normal(mark)
        e1 = frame_from_z_axis(normal, y_hint=np.array([0, 0, 1.0]))
        angle, radius = ctx.rng.uniform(0, 2 * np.pi), error_mm * np.sqrt(ctx.rng.uniform())
        point = mark + radius * (np.cos(angle) * e1[:, 0] + np.sin(angle) * e1[:, 1])
        touched[name] = point
        pose = touch_pose(point, normal, ctx)
        segments += [_move(f"moving to {name}", prev, pose, move_s, scene),
                     Segment(f"touching {name}", hold_s, head_from_tip=hold(pose, ctx))]
        prev = pose
    return segments, prev, {"touched_points_head": touched, "localisation_error_mm": error_mm}


def _sweep_points(scene: _Scene, n_points: int) -> np.ndarray:
    """``n_points`` well-spread scalp points over the upper head, in a short touring order."""
    surface, rng = scene.ctx.surface, scene.ctx.rng
    dirs = scene.truth.head.scalp_vertices_mm - surface.centre_mm
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    dirs = dirs[dirs[:, 2] > 0.3]
    if len(dirs) < n_points:
        raise ValueError(f"the head has only {len(dirs)} upper-scalp vertices, fewer than "
                         f"n_points={n_points}")
    chosen = [int(rng.integers(len(dirs)))]
    dist = np.linalg.norm(dirs - dirs[chosen[0]], axis=1)
    for _ in range(n_points - 1):  # farthest-point sampling
        chosen.append(int(np.argmax(dist)))
        dist = np.minimum(dist, np.linalg.norm(dirs - dirs[chosen[-1]], axis=1))
    picked = dirs[chosen]
    order = [int(np.argmax(picked[:, 1]))]  # start at the front, then nearest neighbour
    left = set(range(len(picked))) - set(order)
    while left:
        nxt = min(left, key=lambda j: float(np.linalg.norm(picked[j] - picked[order[-1]])))
        order.append(nxt)
        left.remove(nxt)
    return np.array([surface.point_and_normal(picked[j])[0] for j in order])


def _sweep_part(scene: _Scene, start: np.ndarray, n_points: int, hold_s: float, slide_s: float,
                move_s: float):
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}")
    ctx = scene.ctx
    points = _sweep_points(scene, n_points)
    first = touch_pose(points[0], ctx.surface.nearest_normal(points[0]), ctx)
    segments = [_move("moving to scalp", start, first, move_s, scene)]
    for i, p in enumerate(points):
        pose = touch_pose(p, ctx.surface.nearest_normal(p), ctx)
        segments.append(Segment(f"sweep point {i + 1}/{n_points}", hold_s,
                                head_from_tip=hold(pose, ctx, wobble_deg=0.0)))
        if i + 1 < n_points:
            duration = slide_duration(p, points[i + 1], slide_s)
            segments.append(Segment(f"sliding to point {i + 2}/{n_points}", duration,
                                    head_from_tip=slide(p, points[i + 1], duration, ctx)))
    end = touch_pose(points[-1], ctx.surface.nearest_normal(points[-1]), ctx)
    return segments, end, {"sweep_points_head": points}


def _coil_part(scene: _Scene, target: str | None, approach_s: float, place_s: float,
               hold_s: float, sway_mm: float, sway_deg: float):
    head = scene.truth.head
    head_from_target = head.target(target)
    x_axis, pos = head_from_target[:3, 0], head_from_target[:3, 3]
    side = 1.0 if float(x_axis @ (pos - head.centroid_mm)) >= 0 else -1.0
    pre = head_from_target @ rigid(np.eye(3), np.array([side * 150.0, 0.0, -80.0]))
    start = scene.parked_hotspot_head
    segments = [
        Segment("coil approaching", approach_s, head_from_hotspot=_glide(start, pre, approach_s)),
        Segment("coil placing", place_s, head_from_hotspot=_glide(pre, head_from_target, place_s)),
        Segment("holding on target", hold_s,
                head_from_hotspot=coil_sway(head_from_target, scene.ctx, sway_mm, sway_deg)),
    ]
    name = target if target is not None else next(iter(head.targets))
    return segments, {"target_name": name, "head_from_target": head_from_target}


#: What the technician touches on the coil to verify its calibration: the centre mark (the
#: hotspot, on the coil face), then two points spread across the casing so that a turned or
#: tilted marker shows too (the app's tmsnav.navigation.coils.VERIFY_LANDMARKS, same names).
COIL_CHECK_LANDMARKS = ("centre", "handle_end", "left_wing_edge")


def _coil_touch_pose(scene: _Scene, name: str) -> np.ndarray:
    """``tracker_from_tip`` with the tip on coil landmark ``name`` of the parked coil; the shaft
    leaves the casing outward (from the casing middle through the landmark) and leans toward
    the camera so that the pointer's marker stays in view."""
    truth = scene.truth
    try:
        local = np.asarray(truth.coil_landmarks_hotspot_mm[name], dtype=float)
    except KeyError:
        known = ", ".join(sorted(truth.coil_landmarks_hotspot_mm)) or "none"
        raise ValueError(f"the simulated coil has no landmark {name!r} (it has: {known})") from None
    tracker_from_hotspot = truth.tracker_from_coil_parked @ truth.coil_from_hotspot
    rot = tracker_from_hotspot[:3, :3]
    point = rot @ local + tracker_from_hotspot[:3, 3]
    outward = local - np.array([0.0, 0.0, -10.0])       # from inside the casing to the mark
    outward = rot @ (outward / np.linalg.norm(outward))
    toward_camera = -point / np.linalg.norm(point)
    up = truth.tracker_from_head[:3, :3] @ np.array([0.0, 0.0, 1.0])
    return rigid(frame_from_z_axis(outward + 0.5 * toward_camera, y_hint=up), point)


def _coil_check_part(scene: _Scene, start_tracker: np.ndarray, landmarks, hold_s: float,
                     move_s: float):
    """The pointer (starting at ``start_tracker``, tracker frame) touches coil landmarks."""
    segments, prev = [], start_tracker
    for name in landmarks:
        pose = _coil_touch_pose(scene, name)
        label = name.replace("_", " ")
        segments += [Segment(f"moving to coil {label}", move_s,
                             tracker_from_tip=_glide(prev, pose, move_s)),
                     Segment(f"touching coil {label}", hold_s,
                             tracker_from_tip=hold(pose, scene.ctx))]
        prev = pose
    truth = scene.truth
    touched = {n: np.asarray(truth.coil_landmarks_hotspot_mm[n], float) for n in landmarks}
    return segments, prev, {"coil_touched_landmarks_hotspot": touched}


def _verify_touch_part(scene: _Scene, start: np.ndarray, sweep_points: np.ndarray,
                       wait_s: float, hold_s: float, move_s: float):
    """After the sweep: the pointer waits lifted above the scalp while the registration is
    computed and accepted ("waiting for the registration"), then touches the scalp and holds
    still at two sweep points far apart ("verify touch 1/2", "verify touch 2/2"): the Verify
    step's check that the registration agrees with the skin."""
    ctx = scene.ctx
    lifted = start.copy()
    lifted[:3, 3] = start[:3, 3] + 40.0 * ctx.surface.nearest_normal(start[:3, 3])
    segments = [Segment("lifting pointer", 1.0, head_from_tip=_glide(start, lifted, 1.0)),
                Segment("waiting for the registration", wait_s, head_from_tip=_static(lifted))]
    n = len(sweep_points)
    chosen = [sweep_points[n // 3], sweep_points[(2 * n) // 3]]
    prev = lifted
    for i, p in enumerate(chosen):
        pose = touch_pose(p, ctx.surface.nearest_normal(p), ctx)
        segments += [_move(f"moving to verify touch {i + 1}/2", prev, pose, move_s, scene),
                     Segment(f"verify touch {i + 1}/2", hold_s, head_from_tip=hold(pose, ctx))]
        prev = pose
    return segments, prev, {"verify_points_head": np.array(chosen)}


def _put_away(scene: _Scene, start: np.ndarray, move_s: float) -> list[Segment]:
    return [_move("putting pointer away", start, scene.parked_tip_head, move_s, scene),
            Segment("pointer parked", 1.0)]


# --- the scenarios -----------------------------------------------------------------------------

def _idle(scene: _Scene):
    return [Segment("idle", 10.0)], {}


def _pivot(scene: _Scene, duration_s: float = 10.0, cone_deg: float = 30.0,
           slip_mm: float = 0.0):
    """``slip_mm`` > 0: the tip slips that far out of the divot 15 % into the pivoting (1.5 s
    by default); ``cone_deg=0``: the tip is left still in the divot."""
    segments, _, info = _pivot_part(scene, duration_s, cone_deg, slip_mm)
    return segments, info


def _fiducials(scene: _Scene, landmarks=("nasion", "lpa", "rpa"), error_mm: float = 2.0,
               hold_s: float = 1.5, move_s: float = 1.5):
    segments, end, info = _fiducial_part(scene, scene.parked_tip_head, landmarks, error_mm,
                                         hold_s, move_s)
    return segments + _put_away(scene, end, move_s), info


def _scalp_sweep(scene: _Scene, n_points: int = 30, hold_s: float = 0.4, slide_s: float = 0.6,
                 move_s: float = 1.5):
    segments, end, info = _sweep_part(scene, scene.parked_tip_head, n_points, hold_s, slide_s,
                                      move_s)
    return segments + _put_away(scene, end, move_s), info


def _coil_approach(scene: _Scene, target: str | None = None, approach_s: float = 3.0,
                   place_s: float = 1.5, hold_s: float = 20.0, sway_mm: float = 1.0,
                   sway_deg: float = 1.0):
    return _coil_part(scene, target, approach_s, place_s, hold_s, sway_mm, sway_deg)


def _head_motion(scene: _Scene, yaw_deg: float = 20.0, period_s: float = 20.0,
                 coil_on_target: bool = False, target: str | None = None):
    coil = None
    if coil_on_target:
        coil = coil_sway(scene.truth.head.target(target), scene.ctx, ramp_s=0.0)
    pivot_point = scene.truth.head.centroid_mm + np.array([0.0, -10.0, -100.0])
    motion = head_turn(pivot_point, yaw_deg=yaw_deg, pitch_deg=0.4 * yaw_deg,
                       roll_deg=0.2 * yaw_deg, period_s=period_s)
    return [Segment("head turning", 3 * period_s, head_from_hotspot=coil)], \
        {"head_motion": motion, "neck_pivot_head": pivot_point}


def _occlusion(scene: _Scene, occluded_s: float = 2.0, visible_s: float = 1.0,
               target: str | None = None):
    head, ctx = scene.truth.head, scene.ctx
    top, normal = ctx.surface.point_and_normal(np.array([0.0, 0.0, 1.0]))
    tip = hold(touch_pose(top, normal, ctx), ctx)
    coil = coil_sway(head.target(target), ctx, ramp_s=0.0)
    plan = [("all visible", 2.0, ()), ("pointer occluded", occluded_s, (TOOL_POINTER,)),
            ("all visible", visible_s, ()), ("coil occluded", occluded_s, (TOOL_COIL,)),
            ("all visible", visible_s, ()), ("reference occluded", occluded_s, (TOOL_REFERENCE,)),
            ("all visible", visible_s, ()),
            ("all occluded", occluded_s, (TOOL_POINTER, TOOL_COIL, TOOL_REFERENCE)),
            ("all visible", 2.0, ())]
    return [Segment(p, d, head_from_tip=tip, head_from_hotspot=coil, hidden=frozenset(h))
            for p, d, h in plan], {}


def _coil_check(scene: _Scene, hold_s: float = 2.0, move_s: float = 1.5, calibrate: int = 0):
    """``calibrate`` (1 = yes): first touch every casing landmark of the coil (a calibration by
    touching), then the three verification points."""
    start = scene.truth.tracker_from_pointer_parked @ scene.truth.pointer_from_tip
    names: tuple[str, ...] = COIL_CHECK_LANDMARKS
    if calibrate:
        names = tuple(scene.truth.coil_landmarks_hotspot_mm) + names
    segments, end, info = _coil_check_part(scene, start, names, hold_s, move_s)
    return segments + [Segment("putting pointer away", move_s,
                               tracker_from_tip=_glide(end, start, move_s)),
                       Segment("pointer parked", 1.0)], info


def _full_session(scene: _Scene, pivot_s: float = 14.0, error_mm: float = 2.0,
                  n_points: int = 20, target: str | None = None, hold_s: float = 20.0,
                  sway_mm: float = 1.0, coil_check: int = 1, verify_touches: int = 1):
    """``coil_check`` (1 = yes): after the pivot the pointer touches the parked coil's centre
    mark, handle end and left wing edge, holding 1.6 s on each (verifying the coil calibration;
    a hold-still capture needs about 1.2 s, so little of the last hold is left when the user
    moves on to the fiducials).
    The pivot lasts 14 s; the Pivot step records until the rotation suffices, about 4 s of it.
    ``verify_touches`` (1 = yes): after the sweep the pointer waits 6 s lifted (the user stops
    the sweep, registers and accepts), then holds still 2 s at two scalp points far apart."""
    info: dict[str, Any] = {}
    segments, end, part = _pivot_part(scene, pivot_s, 30.0)
    info.update(part)
    if coil_check:
        end_tracker = scene.truth.tracker_from_head @ end
        more, end_tracker, part = _coil_check_part(scene, end_tracker, COIL_CHECK_LANDMARKS,
                                                   1.6, 1.5)
        segments += more
        info.update(part)
        end = scene.head0_from_tracker @ end_tracker
    more, end, part = _fiducial_part(scene, end, ("nasion", "lpa", "rpa"), error_mm, 1.5, 1.5)
    segments += more
    info.update(part)
    more, end, part = _sweep_part(scene, end, n_points, 0.4, 0.6, 1.5)
    segments += more
    info.update(part)
    if verify_touches:
        more, end, part = _verify_touch_part(scene, end, part["sweep_points_head"], 6.0, 2.0, 1.5)
        segments += more
        info.update(part)
    segments += _put_away(scene, end, 1.5)[:1]
    more, part = _coil_part(scene, target, 3.0, 1.5, hold_s, sway_mm, 1.0)
    info.update(part)
    return segments + more, info


_BUILDERS: dict[str, Callable[..., tuple[list[Segment], dict[str, Any]]]] = {
    "idle": _idle, "pivot": _pivot, "fiducials": _fiducials, "scalp_sweep": _scalp_sweep,
    "coil_approach": _coil_approach, "head_motion": _head_motion, "occlusion": _occlusion,
    "coil_check": _coil_check, "full_session": _full_session,
}
SCENARIO_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def scenario_options(name: str) -> dict[str, Any]:
    """The options a scenario takes, with their defaults."""
    builder = _BUILDERS[name]
    return {p.name: p.default for p in list(inspect.signature(builder).parameters.values())[1:]}


def make_scenario(name: str, *, head: HeadGeometry | None = None,
                  truth: SimulationTruth | None = None, seed: int = 0, loop: bool = False,
                  **options: Any) -> Scenario:
    """Build scenario ``name`` (see the module table) over ``truth`` (default: a plausible set-up
    around ``head``, itself defaulting to the demo ellipsoid head). ``seed`` fixes every random
    choice (localisation errors, sweep points, sway phases)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIO_NAMES)}")
    allowed = scenario_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"scenario {name!r} does not take option(s) {', '.join(unknown)}; "
                         f"it takes: {', '.join(allowed) or 'none'}")
    if truth is None:
        truth = SimulationTruth.default(head if head is not None else demo_head_geometry())
    ctx = MotionContext(ScalpSurface(truth.head), truth.toward_camera_head,
                        np.random.default_rng(seed))
    scene = _Scene(truth, ctx, invert_rigid(truth.tracker_from_head))
    segments, info = _BUILDERS[name](scene, **options)
    motion = info.pop("head_motion", None)
    return Scenario(name, truth, segments, head_motion=motion, loop=loop, info=info)
