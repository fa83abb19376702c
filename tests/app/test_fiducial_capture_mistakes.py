"""Defect 6 at the chair: the simulated technician makes the usual fiducial mistakes and the
hands-free capture must not store them.

One scripted run over the workflow head: the tip rests in the pivot divot when the step opens
(never captured), is lifted and put back in the divot (refused: the divot), touches the nasion
(captured), touches the LPA (captured), lifts and holds on the LPA again while the RPA is asked
(refused: the LPA again), pauses halfway over the head to the RPA (refused: far from where the
nasion and the LPA put the RPA), touches the RPA (captured), and finally the LPA is redone
without losing the others.
The simulated technician runs on a scenario clock: held in each phase until the app has judged
the hold (captured or refused), so the test neither races the script on a loaded machine nor
waits out the script's own hold times.
"""

import numpy as np
import pytest

from tmsnav.app.sim_head import head_geometry_for
from tmsnav.hardware.rigid import frame_from_z_axis, invert_rigid, rigid
from tmsnav.hardware.simulation.scenarios import Scenario, Segment, SimulationTruth
from tmsnav.hardware.simulation.head import ScalpSurface
from tmsnav.hardware.simulation.motion import MotionContext, hold, move, touch_pose
from tmsnav.hardware.simulation.clock import ScenarioClock
from tmsnav.hardware.simulation.tracker import SimulatedTracker
from tmsnav.navigation.registration import PivotCalibration
from tmsnav.navigation.registration.capture_checks import PREDICTION_LIMIT_MM, prediction_error
from tmsnav.navigation.transforms import Frame, Transform
from tests.app.registration_helpers import Technician, click, load, shot, wait_until_step_sees_tip

pytestmark = pytest.mark.gui

TIP = np.array([0.0, 0.0, -150.0])
HOLD_S = 2.5


def mistakes_scenario(geometry, seed=0):
    truth = SimulationTruth.default(geometry)
    ctx = MotionContext(ScalpSurface(geometry), truth.toward_camera_head,
                        np.random.default_rng(seed))
    tracker_from_head = truth.tracker_from_head
    head_from_tracker = invert_rigid(tracker_from_head)
    divot = tracker_from_head[:3, :3] @ (geometry.centroid_mm + [150.0, 110.0, -90.0]) \
        + tracker_from_head[:3, 3]
    divot_pose = head_from_tracker @ rigid(frame_from_z_axis(-divot, np.array([0, 1.0, 0])),
                                           divot)
    lifted = divot_pose @ rigid(np.eye(3), np.array([0.0, 0.0, 30.0]))
    poses = {}
    for name in ("nasion", "lpa", "rpa"):
        mark = geometry.landmark(name)
        poses[name] = touch_pose(mark, ctx.surface.nearest_normal(mark), ctx)
    half_fn = move(poses["lpa"], poses["rpa"], 3.0, ctx)
    halfway = half_fn(1.5, 0.0)
    off_lpa = poses["lpa"] @ rigid(np.eye(3), np.array([0.0, 0.0, 20.0]))
    back_on_lpa = poses["lpa"] @ rigid(np.eye(3), np.array([3.0, 0.0, 0.0]))

    def seg(phase, a, b, s=1.2):
        return Segment(phase, s, head_from_tip=move(a, b, s, ctx))

    segments = [
        Segment("resting in divot", 3.0, head_from_tip=lambda _u, _t: divot_pose),
        seg("lifting out of divot", divot_pose, lifted, 1.0),
        seg("back to divot", lifted, divot_pose, 1.0),
        Segment("back in divot", HOLD_S, head_from_tip=lambda _u, _t: divot_pose),
        seg("moving to nasion", divot_pose, poses["nasion"], 2.0),
        Segment("touching nasion", HOLD_S, head_from_tip=hold(poses["nasion"], ctx)),
        seg("moving to lpa", poses["nasion"], poses["lpa"], 2.5),
        Segment("touching lpa", HOLD_S, head_from_tip=hold(poses["lpa"], ctx)),
        seg("lifting off lpa", poses["lpa"], off_lpa, 0.8),
        seg("back to lpa", off_lpa, back_on_lpa, 0.8),
        Segment("holding on lpa again", HOLD_S, head_from_tip=hold(back_on_lpa, ctx)),
        seg("lifting off lpa again", back_on_lpa, poses["lpa"], 0.8),
        Segment("moving halfway", 1.5, head_from_tip=lambda u, t: half_fn(u, t)),
        Segment("pausing halfway", HOLD_S, head_from_tip=hold(halfway, ctx)),
        seg("moving on to rpa", halfway, poses["rpa"], 1.5),
        Segment("touching rpa", HOLD_S, head_from_tip=hold(poses["rpa"], ctx)),
        seg("moving to lpa for the redo", poses["rpa"], poses["lpa"], 3.0),
        Segment("redoing lpa", 30.0, head_from_tip=hold(poses["lpa"], ctx)),
    ]
    info = {"divot_tracker": divot, "halfway_head": halfway[:3, 3]}
    return Scenario("fiducial_mistakes", truth, segments, info=info), truth


def in_reference(truth, point_head):
    m = truth.reference_from_head
    return m[:3, :3] @ np.asarray(point_head, float) + m[:3, 3]


def judged_hold(qtbot, hands, fid, phase: str, timeout: int = 30_000) -> None:
    """Hold the technician in ``phase`` until the step has judged the hold: the detector arms
    on the new spot, then a capture or a refusal disarms it (both mark the spot)."""
    hands.hold(phase)
    qtbot.waitUntil(lambda: fid.detector.armed, timeout=timeout)
    qtbot.waitUntil(lambda: not fid.detector.armed, timeout=timeout)


def full_still_window(fid) -> bool:
    return fid.detector.state().held_s >= fid.detector.window_s - 1e-6


@pytest.mark.slow
@pytest.mark.safety(hazard="registration",
                    control=("a still tip in the pivot divot, on a landmark already captured or "
                             "paused on the way is not captured as the asked fiducial"))
def test_scripted_fiducial_mistakes_are_not_captured_and_one_landmark_is_redone(window, qtbot):
    head = load(window)
    geometry = head_geometry_for(head, window.state.targets)
    scenario, truth = mistakes_scenario(geometry)
    # the premise of the "halfway" mistake: far from where the nasion and LPA put the RPA
    marks = {n: geometry.landmark(n) for n in ("nasion", "lpa", "rpa")}
    err, _ = prediction_error("rpa", scenario.info["halfway_head"], marks,
                              {"nasion": marks["nasion"], "lpa": marks["lpa"]})
    assert err > PREDICTION_LIMIT_MM + 10

    panel = window.registration_panel
    ctx = panel.ctx
    fid = panel.step("fiducials")
    panel.go_to("fiducials")                      # the step is open before the tip moves
    clock = ScenarioClock(1.0)                    # the tip rests in the divot
    hands = Technician(qtbot, window, clock, scenario)
    window.tracking.start(lambda: SimulatedTracker(scenario, scenario_clock=clock),
                          "fiducial mistakes")
    qtbot.waitUntil(lambda: window.tracking.last is not None
                    and window.tracking.last.role_live("reference"), timeout=10_000)
    calibration = PivotCalibration(TIP, scenario.info["divot_tracker"], 0.2, 0.4, 1.0, 0.5, 600)
    window.state.set_pointer_calibration(calibration, TIP)
    assert fid.auto.isChecked()

    # 1. resting in the divot when the step opens: never captured, however long it rests
    hands.hold("resting in divot")
    qtbot.waitUntil(lambda: full_still_window(fid), timeout=30_000)
    assert ctx.touched == {} and "move the pointer" in fid.live.text()
    # 2. lifted and put back in the divot: a hold, refused because it is the divot
    hands.hold("lifting out of divot", where=0.99)            # 30 mm up: the hold re-arms
    qtbot.waitUntil(lambda: fid.detector.armed, timeout=30_000)
    hands.hold("back in divot")
    qtbot.waitUntil(lambda: "pivot divot" in fid.capture_message.text(), timeout=30_000)
    assert ctx.touched == {} and fid.current == "nasion"
    assert "Lift the pointer and touch the NASION" in fid.capture_message.text()
    # 3. the nasion, 4. the LPA
    hands.hold_until("touching nasion", lambda: "nasion" in ctx.touched)
    assert fid.current == "lpa"
    hands.hold_until("touching lpa", lambda: "lpa" in ctx.touched)
    assert fid.current == "rpa"
    # 5. lifted off the LPA and held there again while the RPA is asked: refused
    hands.hold("lifting off lpa", where=0.99)                 # 20 mm up: the hold re-arms
    qtbot.waitUntil(lambda: fid.detector.armed, timeout=30_000)
    hands.hold_until("holding on lpa again", lambda: "LPA again" in fid.capture_message.text())
    assert set(ctx.touched) == {"nasion", "lpa"}
    # 6. a pause halfway over the head to the RPA: refused with the distance
    hands.hold_until("pausing halfway",
                     lambda: "from where Nasion and LPA put the RPA" in fid.capture_message.text())
    shot(window, "fiducials-halfway-refused")
    assert set(ctx.touched) == {"nasion", "lpa"}
    # 7. the RPA: the set fits
    hands.hold_until("touching rpa", lambda: "rpa" in ctx.touched)
    assert ctx.fit_ok and panel.next_button.isEnabled()
    for name in ("nasion", "lpa", "rpa"):
        true = in_reference(truth, geometry.landmark(name))
        assert np.linalg.norm(ctx.touched[name] - true) < 2.5, name
    kept = {n: ctx.touched[n].copy() for n in ("nasion", "rpa")}
    # 8. redo the LPA only: select it, Redo touch (the tip still on the RPA), hold on the LPA
    fid.select("lpa")
    click(qtbot, fid.redo_button)
    assert set(ctx.touched) == {"nasion", "rpa"} and fid.current == "lpa"
    hands.hold_until("redoing lpa", lambda: "lpa" in ctx.touched)
    assert ctx.fit_ok
    for name, point in kept.items():
        assert np.array_equal(ctx.touched[name], point)
    assert np.linalg.norm(ctx.touched["lpa"] - in_reference(truth, geometry.landmark("lpa"))) < 2.5


def _touched_in_reference(head, names_to_points):
    reference_from_mri = Transform.from_euler("xyz", [0.2, -0.4, 0.9], [30.0, -40.0, 800.0],
                                              to_frame=Frame.REFERENCE, from_frame=Frame.MRI)
    return {k: reference_from_mri.apply(np.asarray(v, float)) for k, v in names_to_points.items()}


def test_a_swapped_touch_order_is_named_with_a_fourth_landmark(window, qtbot):
    head = load(window)
    panel = window.registration_panel
    ctx = panel.ctx
    window.state.set_pointer_calibration(None, TIP)
    marked = {k: np.asarray(v, float) for k, v in head.fiducials_mm.items()}
    top = np.asarray(head.scalp.points, float)
    vertex = top[np.argmax(top[:, 2] + 0.3 * top[:, 0])]   # up and a little to the right
    ctx.landmark_names.append("vertex")
    ctx.mri_fiducials["vertex"] = vertex
    touched = {"nasion": marked["nasion"], "lpa": marked["rpa"], "rpa": marked["lpa"],
               "vertex": vertex}
    ctx.touched = _touched_in_reference(head, touched)
    panel.go_to("fiducials")
    ctx.refit()
    fid = panel.step("fiducials")
    text = fid.fit_message.text()
    assert fid.fit_message.level == "error"
    assert "Likely cause: LPA and RPA look swapped: the distances fit with them exchanged" in text
    assert not panel.next_button.isEnabled() and "LPA and RPA look swapped" in panel.nav_reason.text()


def test_landmarks_shifted_by_one_are_named(window, qtbot):
    head = load(window)
    panel = window.registration_panel
    ctx = panel.ctx
    window.state.set_pointer_calibration(None, TIP)
    m = {k: np.asarray(v, float) for k, v in head.fiducials_mm.items()}
    divot = m["nasion"] + [150.0, 60.0, -110.0]
    ctx.touched = _touched_in_reference(head, {"nasion": divot, "lpa": m["nasion"],
                                               "rpa": m["lpa"]})
    panel.go_to("fiducials")
    ctx.refit()
    text = panel.step("fiducials").fit_message.text()
    assert "Likely cause: Landmarks shifted by one (touch order)" in text, text
    assert "Redo them in order: Nasion, LPA, RPA" in text


@pytest.mark.slow
@pytest.mark.safety(hazard="registration",
                    control=("LPA and RPA touched in swapped order are named by a fourth landmark "
                             "and Next stays blocked"))
def test_simulated_swapped_lpa_rpa_touch_order_is_named_by_the_fourth_landmark(window, qtbot):
    """The sample head carries an inion: the technician touches nasion, RPA (asked: LPA), LPA
    (asked: RPA), inion. Three landmarks fit either way; the inion shows the swap."""
    from tmsnav.hardware.simulation.scenario_library import make_scenario

    head = load(window)
    geometry = head_geometry_for(head, window.state.targets)
    if "inion" not in geometry.landmarks_mm:
        pytest.skip("the workflow head has no inion (phantom fallback)")
    scenario = make_scenario("fiducials", head=geometry, seed=3,
                             landmarks=("nasion", "rpa", "lpa", "inion"), hold_s=2.5)
    panel = window.registration_panel
    ctx = panel.ctx
    fid = panel.step("fiducials")
    panel.go_to("fiducials")
    clock = ScenarioClock()
    hands = Technician(qtbot, window, clock, scenario)
    window.tracking.start(lambda: SimulatedTracker(scenario, scenario_clock=clock),
                          "swapped touches")
    window.state.set_pointer_calibration(None, TIP)
    assert ctx.landmark_names == ["nasion", "lpa", "rpa", "inion"]
    wait_until_step_sees_tip(qtbot, fid)
    for touched in ("nasion", "rpa", "lpa", "inion"):   # each hold judged before moving on
        judged_hold(qtbot, hands, fid, f"touching {touched}")
    text = fid.capture_message.text() + " " + fid.fit_message.text()
    assert "LPA and RPA look swapped" in text, text
    assert not panel.next_button.isEnabled()
    assert "LPA and RPA look swapped" in panel.nav_reason.text()
    # redoing LPA and RPA (here: the right points put in by hand) clears the suspicion
    m = window.tracking.tracker_ref.truth.reference_from_head
    for name in ("lpa", "rpa"):
        fid.select(name)
        click(qtbot, fid.redo_button)
        ctx.touched[name] = m[:3, :3] @ geometry.landmark(name) + m[:3, 3]
    fid._after_change("rpa")
    assert not fid.suspected and ctx.fit_ok and panel.next_button.isEnabled()
