"""Defect 8 (and the gate of defect 4): no registration reaches navigation before a scalp touch
agrees with it, and the Verify button / the steps cannot be completed out of order.

The simulated technician holds the pointer tip on real scalp points (top of the head, left
side, right forehead), held on each by a scenario clock until the Verify step has judged the
touch. Under a fiducials-only registration with LPA and RPA touched in
swapped order (it fits the three fiducials to < 1 mm, so every number of the result looks good),
those touches read tens of millimetres off the MRI scalp: Verified stays disabled and the
Navigate tab and the coil glyph say why. Under the true registration two of them agree and the
gate opens.
"""

import numpy as np
import pytest

from tmsnav.app.app_state import NOT_VERIFIED
from tmsnav.app.sim_head import head_geometry_for
from tmsnav.hardware.simulation.scenarios import Scenario, Segment, SimulationTruth
from tmsnav.hardware.simulation.head import ScalpSurface
from tmsnav.hardware.simulation.motion import MotionContext, hold, move, touch_pose
from tmsnav.hardware.simulation.clock import ScenarioClock
from tmsnav.hardware.simulation.tracker import SimulatedTracker
from tmsnav.navigation.registration import register_fiducials
from tmsnav.navigation.registration.verification import ScalpVerification, check_pointer
from tmsnav.navigation.transforms import Frame, Transform
from tests.app.registration_helpers import Technician, click, load, shot

pytestmark = pytest.mark.gui

TIP = np.array([0.0, 0.0, -150.0])
SCALP_DIRECTIONS = ((0.0, 0.0, 1.0), (-0.8, 0.0, 0.6), (0.5, 0.6, 0.6))


def scalp_touch_scenario(geometry, seed=0):
    truth = SimulationTruth.default(geometry)
    ctx = MotionContext(ScalpSurface(geometry), truth.toward_camera_head,
                        np.random.default_rng(seed))
    poses = []
    for d in SCALP_DIRECTIONS:
        point, normal = ctx.surface.point_and_normal(np.asarray(d, float))
        poses.append(touch_pose(point, normal, ctx))
    segments = []
    for i, pose in enumerate(poses):
        nxt = poses[(i + 1) % len(poses)]
        segments += [Segment(f"touching scalp {i + 1}", 2.0, head_from_tip=hold(pose, ctx)),
                     Segment(f"moving to scalp {(i + 1) % len(poses) + 1}", 1.5,
                             head_from_tip=move(pose, nxt, 1.5, ctx))]
    return Scenario("scalp_touches", truth, segments, loop=True), truth


def swapped_fiducial_registration(head, truth):
    """What "fiducials only" gives after LPA and RPA were touched in swapped order."""
    m = truth.reference_from_head
    marks = {k: np.asarray(v, float) for k, v in head.fiducials_mm.items()
             if k in ("nasion", "lpa", "rpa")}
    to_ref = {k: m[:3, :3] @ v + m[:3, 3] for k, v in marks.items()}
    swapped = {"nasion": to_ref["nasion"], "lpa": to_ref["rpa"], "rpa": to_ref["lpa"]}
    reg = register_fiducials(marks, swapped)
    assert reg.accepted and reg.fre_rms_mm < 1.5     # the numbers look fine
    return reg


class TrueRegistration:
    def __init__(self, truth):
        self.mri_from_reference = Transform(Frame.MRI, Frame.REFERENCE,
                                            np.linalg.inv(truth.reference_from_head))


@pytest.mark.safety(hazard="registration",
                    control=("Verified cannot be pressed without an accepted registration; steps are "
                             "not completed before their prerequisites"))
def test_verify_is_disabled_without_a_registration_and_steps_keep_their_order(window, qtbot):
    load(window)
    panel = window.registration_panel
    verify = panel.step("verify")
    panel.go_to("verify")
    assert not verify.done_button.isEnabled()
    assert "No registration is accepted" in verify.status.text()
    assert panel.nav_reason.text().startswith("First complete 6. Result")
    verify.done_button.click()                       # a disabled button does nothing
    assert not window.state.registration_verified and panel.status["verify"] == "todo"
    # a step's output cannot mark it done before its prerequisites (no pointer calibration)
    panel.go_to("fiducials")
    panel.step("fiducials").outputChanged.emit(True)
    assert panel.status["fiducials"] == "todo"
    assert "First complete 2. Pointer pivot" in panel.nav_reason.text()
    assert not panel.next_button.isEnabled()
    panel.go_to("scalp")
    assert panel.nav_reason.text().startswith("First complete 4. Fiducials")
    with pytest.raises(ValueError):
        window.state.set_registration_verified(ScalpVerification())


@pytest.mark.slow
@pytest.mark.safety(hazard="registration",
                    control=("no guidance numbers or coil glyph until scalp touches agree with the "
                             "registration; a swapped-LPA/RPA registration never agrees"))
def test_a_swapped_fiducials_only_registration_never_reaches_navigation(window, qtbot):
    head = load(window)
    geometry = head_geometry_for(head, window.state.targets)
    scenario, truth = scalp_touch_scenario(geometry)
    clock = ScenarioClock()
    hands = Technician(qtbot, window, clock, scenario)
    window.tracking.start(lambda: SimulatedTracker(scenario, scenario_clock=clock),
                          "scalp touches")
    window.state.set_pointer_calibration(None, TIP)
    panel = window.registration_panel
    verify = panel.step("verify")
    guidance = window.guidance_panel

    window.state.set_registration(swapped_fiducial_registration(head, truth))
    panel.go_to("verify")
    # every scalp place is touched once: each reads tens of mm off, none agrees
    for i in range(1, len(SCALP_DIRECTIONS) + 1):
        hands.hold_until(f"touching scalp {i}", lambda i=i: len(verify.verification.touches) >= i)
    readings = [t.scalp_distance_mm for t in verify.verification.touches]
    assert min(abs(d) for d in readings) > 10.0, readings
    assert not verify.verification.agreeing and not verify.done_button.isEnabled()
    assert not window.state.registration_verified
    snap = window.tracking.last
    assert guidance._why_not(snap) == NOT_VERIFIED
    assert all(v.text() == "—" for v in guidance.values.values())
    qtbot.waitUntil(lambda: "NOT VERIFIED" in window.view3d.banner, timeout=3000)
    assert "Verify: touch scalp" in window.view3d.banner
    coil = window.view3d._actors.get("coil")
    assert coil is None or not coil.GetVisibility()          # the coil glyph is not drawn
    pointer = window.view3d._actors.get("pointer")
    assert pointer is not None and pointer.GetVisibility()   # the pointer is (to verify with)
    shot(window, "verify-swapped-not-verified")
    window.panels.setCurrentWidget(guidance)
    qtbot.wait(100)
    shot(window, "navigate-not-verified")
    window.panels.setCurrentWidget(window.registration_panel)

    # the true registration: two places agree, Verified opens navigation
    window.state.set_registration(TrueRegistration(truth))
    assert verify.verification.touches == [] and not verify.done_button.isEnabled()
    for i in range(1, len(SCALP_DIRECTIONS) + 1):
        if verify.done_button.isEnabled():
            break
        hands.hold_until(f"touching scalp {i}", lambda i=i: len(verify.verification.touches) >= i)
    assert verify.done_button.isEnabled(), verify.status.text()
    agreeing = verify.verification.agreeing
    assert len(agreeing) >= 2 and all(abs(t.scalp_distance_mm) <= 3.0 for t in agreeing)
    assert guidance._why_not(window.tracking.last) == NOT_VERIFIED   # not before the click
    shot(window, "verify-true-agrees")
    click(qtbot, verify.done_button)
    assert window.state.registration_verified and panel.status["verify"] == "done"
    qtbot.waitUntil(lambda: guidance._why_not(window.tracking.last) != NOT_VERIFIED,
                    timeout=3000)
    # a new registration is not verified: the gate closes again
    window.state.set_registration(TrueRegistration(truth))
    assert not window.state.registration_verified
    assert guidance._why_not(window.tracking.last) == NOT_VERIFIED


def test_a_touch_inside_the_head_shuts_the_gate_and_touches_at_the_landmarks_do_not_count():
    """Pure logic on the phantom head (another head than the GUI tests)."""
    from tmsnav.navigation.phantom import make_phantom_head
    from tmsnav.navigation.registration import SurfaceIndex
    from tmsnav.navigation.surfaces.extract import extract_scalp

    ph = make_phantom_head(3.0)
    surface = SurfaceIndex(extract_scalp(ph.volume))
    marks = {"nasion": ph.nasion, "lpa": ph.lpa, "rpa": ph.rpa}
    v = ScalpVerification(marks)
    top, n_top = ph.scalp_point([0.0, 0.0, 1.0])
    side, n_side = ph.scalp_point([-0.7, 0.3, 0.6])
    centre = np.asarray(ph.scalp_centre_mm, float)
    near_nasion, _ = ph.scalp_point(np.asarray(ph.nasion) - centre + [0.0, 0.0, 12.0])
    assert 5.0 < np.linalg.norm(near_nasion - ph.nasion) < 25.0
    touch = v.add(check_pointer(near_nasion, surface, marks))
    assert touch.verdict == "near_landmark" and "'nasion'" in touch.message
    assert v.add(check_pointer(top, surface, marks)).verdict == "agrees"
    assert v.add(check_pointer(top + [5.0, 5.0, 0.0], surface, marks)).verdict != "agrees"
    assert not v.verified
    assert v.add(check_pointer(side, surface, marks)).verdict == "agrees"
    assert v.verified and "press Verified" in v.status()
    inside = v.add(check_pointer(side - 8.0 * n_side, surface, marks))
    assert inside.verdict == "inside" and not v.verified
    assert "registration is wrong" in v.status() and "inside the head" in v.status()
