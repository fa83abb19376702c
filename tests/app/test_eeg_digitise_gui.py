"""The electrode digitising box in the main window, driven by the simulated technician.

The simulated cap sits 6 mm anterior of the template positions (as caps do); the technician
touches an electrode before any registration (refused: no registration), then touches nasion,
LPA, RPA and inion (captured by the Registration tab's fiducial step, 1 mm localisation error
each: a real fiducial registration, accepted), then the 19 electrodes of the 10-20 cap with two
mistakes on the way: the tip left on Fp1 when Fp2 is asked (refused, Fp1 named) and F3 touched
when F7 is asked (refused: F7 skipped). Every digitised electrode must be within 2 mm of where the
simulated cap really has it. The positions then go through the box's BIDS save and load. A
second test paints a scalp map and checks the screenshot for colour-mapped pixels on the head.
The technician runs on a scenario clock, held in each touch until the box has judged it.
"""

import time

import numpy as np
import pytest

from tmsnav.app.eeg.digitise_box import DigitiseElectrodesBox
from tmsnav.app.eeg.scalp_view import (MAP_OVERLAY, clear_scalp_map, electrode_labels_shown,
                                       show_electrodes, show_scalp_map)
from tmsnav.app.sim_head import head_geometry_for
from tmsnav.hardware.rigid import rigid
from tmsnav.hardware.simulation.clock import ScenarioClock
from tmsnav.hardware.simulation.head import HeadGeometry, ScalpSurface
from tmsnav.hardware.simulation.motion import MotionContext, hold, move, touch_pose
from tmsnav.hardware.simulation.scenarios import Scenario, Segment, SimulationTruth
from tmsnav.hardware.simulation.tracker import SimulatedTracker
from tmsnav.navigation.eeg.electrodes import TEN_TWENTY_19, place_electrodes, project_to_scalp
from tmsnav.navigation.eeg.scalp_map import scalp_map
from tmsnav.navigation.targeting.planning import landmarks_from
from tests.app.registration_helpers import (Technician, click, load, shot, wait_new_frames,
                                           wait_until_step_sees_tip)

pytestmark = pytest.mark.gui

TIP = np.array([0.0, 0.0, -150.0])
FIDUCIALS = ("nasion", "lpa", "rpa", "inion")
CAP_SHIFT_MM = 6.0
FIDUCIAL_ERROR_MM = 1.0


def true_cap(head):
    """Where the simulated cap's electrodes really are (mri mm, on the scalp)."""
    choice = landmarks_from(head.fiducials_mm, head.scalp)
    template = place_electrodes(head.scalp, choice.landmarks, TEN_TWENTY_19).positions_mm
    shifted = np.array([p + CAP_SHIFT_MM * choice.landmarks.axes.anterior for p in template.values()])
    return dict(zip(template, project_to_scalp(head.scalp, shifted)))


def cap_scenario(head, window, electrodes):
    """Touch plan: Fp1 before registering, the fiducials, then the cap with two mistakes."""
    base = head_geometry_for(head, window.state.targets)
    rng = np.random.default_rng(4)
    marks = {}
    for name in FIDUCIALS:
        p = np.asarray(base.landmark(name), float)
        d = rng.normal(size=3)
        marks[name] = p + FIDUCIAL_ERROR_MM * d / np.linalg.norm(d)
    geometry = HeadGeometry(base.scalp_vertices_mm, base.scalp_normals, {**marks, **electrodes},
                            base.targets)
    truth = SimulationTruth.default(geometry)
    ctx = MotionContext(ScalpSurface(geometry), truth.toward_camera_head, rng)
    plan = [("Fp1 unregistered", electrodes["Fp1"])]
    plan += [(name, marks[name]) for name in FIDUCIALS]
    plan += [("Fp1", electrodes["Fp1"]), ("Fp1 again", electrodes["Fp1"] + [1.5, 0.0, 0.0]),
             ("Fp2", electrodes["Fp2"]), ("F3 early", electrodes["F3"])]
    plan += [(name, electrodes[name]) for name in TEN_TWENTY_19[2:]]
    parked = truth.tracker_from_pointer_parked @ truth.pointer_from_tip
    prev = np.linalg.inv(truth.tracker_from_head) @ parked
    segments = [Segment("parked", 2.0, head_from_tip=lambda _u, _t, p=prev: p)]
    for label, point in plan:
        pose = touch_pose(point, ctx.surface.nearest_normal(point), ctx)
        lifted = pose @ rigid(np.eye(3), np.array([0.0, 0.0, 25.0]))
        segments += [Segment(f"moving to {label}", 1.5, head_from_tip=move(prev, pose, 1.5, ctx)),
                     Segment(f"touching {label}", 3.0, head_from_tip=hold(pose, ctx)),
                     Segment(f"lifting off {label}", 0.6, head_from_tip=move(pose, lifted, 0.6, ctx))]
        prev = lifted
    return Scenario("eeg_cap", truth, segments, info={"marks": marks})


def put(qtbot, hands, phase, where=0.5, timeout=30_000):
    """Put the simulated technician ``where`` into ``phase`` and wait until the tracker reads
    frames there. (The shared ``hold_in_phase`` asserts the phase as soon as new frames arrive;
    at load 12 a frame computed just before the jump arrived after it and failed that assert.)"""
    start, end = hands.scenario.window(phase)
    hands.clock.pause()
    hands.clock.jump_to(hands.scenario, phase, where * (end - start))
    qtbot.waitUntil(lambda: hands.window.tracking.tracker_ref.phase == phase, timeout=timeout)
    wait_new_frames(qtbot, hands.window)


def judged(qtbot, hands, box, phase, condition, timeout=30_000):
    """Hold the technician on ``phase`` until ``condition()`` (the box captured or refused)."""
    put(qtbot, hands, f"moving to {phase}", where=0.2)     # away from the last spot: re-arms
    since = time.monotonic_ns()
    qtbot.waitUntil(lambda: box._last_ns > since and not box._arm_after_move, timeout=timeout)
    put(qtbot, hands, f"touching {phase}")
    qtbot.waitUntil(condition, timeout=timeout)


@pytest.fixture
def eeg_tab(window):
    box = DigitiseElectrodesBox(window)
    window.panels.addTab(box, "qEEG electrodes")
    return box


@pytest.mark.slow
@pytest.mark.safety(hazard="registration",
                    control=("EEG electrodes touched with the pointer before a registration, on the "
                             "electrode touched before, or out of order are refused with the cause; "
                             "the others land within 2 mm of the true cap"))
def test_digitising_the_cap_with_the_simulated_pointer(window, eeg_tab, qtbot, tmp_path):
    head = load(window, with_target=False)
    box = eeg_tab
    electrodes = true_cap(head)
    scenario = cap_scenario(head, window, electrodes)
    clock = ScenarioClock(1.0)
    hands = Technician(qtbot, window, clock, scenario)
    window.tracking.start(lambda: SimulatedTracker(scenario, scenario_clock=clock), "eeg cap")
    qtbot.waitUntil(lambda: window.tracking.last is not None
                    and window.tracking.last.role_live("reference"), timeout=10_000)
    window.state.set_pointer_calibration(None, TIP)

    # 1. digitising starts: template positions of the 10-20 set on this head, Fp1 asked
    window.panels.setCurrentWidget(box)
    click(qtbot, box.start_button)
    qtbot.waitUntil(lambda: box.digitisation is not None, timeout=30_000)
    assert box.digitisation.current == "Fp1" and "Touch Fp1" in box.instruction.text()
    assert box.table.rowCount() == 19
    # the tip resting (parked) when digitising starts is never judged, however long it rests
    put(qtbot, hands, "parked")
    qtbot.waitUntil(lambda: not box._arm_after_move
                    and box.detector.state().held_s >= box.detector.window_s - 1e-6, timeout=30_000)
    assert "refused" not in box.message.text() and box.digitisation.rows["Fp1"].status == "to touch"
    # 2. no registration yet: refused with the cause, nothing stored
    judged(qtbot, hands, box, "Fp1 unregistered", lambda: "no head registration" in box.message.text())
    assert box.digitisation.captured() == [] and box.table.item(0, 1).text() == "refused"
    shot(window, "eeg-digitise-no-registration")

    # 3. a real fiducial registration: the Registration tab's fiducial step captures the touches
    panel = window.registration_panel
    window.panels.setCurrentWidget(panel)
    panel.go_to("fiducials")
    fid = panel.step("fiducials")
    wait_until_step_sees_tip(qtbot, fid)
    assert panel.ctx.landmark_names == list(FIDUCIALS)
    for name in FIDUCIALS:
        put(qtbot, hands, f"touching {name}")
        qtbot.waitUntil(lambda n=name: n in panel.ctx.touched, timeout=30_000)
    assert panel.ctx.fit_ok
    window.state.set_registration(panel.ctx.fiducial_fit)
    window.panels.setCurrentWidget(box)

    # 4. the cap, with two mistakes
    dig = box.digitisation
    judged(qtbot, hands, box, "Fp1", lambda: "Fp1" in dig.captured())
    assert dig.current == "Fp2"
    judged(qtbot, hands, box, "Fp1 again", lambda: "still on Fp1" in box.message.text())
    assert dig.captured() == ["Fp1"]
    judged(qtbot, hands, box, "Fp2", lambda: "Fp2" in dig.captured())
    assert dig.current == "F7"
    judged(qtbot, hands, box, "F3 early", lambda: "F7 was skipped" in box.message.text())
    assert "F3" not in dig.captured()
    # the 3-D view looks at the electrode asked (F7, left frontal) from outside the head
    camera = np.asarray(window.view3d.plotter.camera_position[0], float)
    centre = np.asarray(head.scalp.points, float).mean(axis=0)
    toward = dig.predicted("F7") - centre
    assert (camera - centre) @ toward / (np.linalg.norm(camera - centre) * np.linalg.norm(toward)) > 0.99
    window.view3d.render_now()
    shot(window, "eeg-digitise-skipped")
    for name in TEN_TWENTY_19[2:]:
        judged(qtbot, hands, box, name, lambda n=name: n in dig.captured())
    assert dig.current is None and "Every electrode has a position" in box.instruction.text()
    errors = {n: float(np.linalg.norm(p - electrodes[n])) for n, p in box.positions_mm().items()}
    assert set(errors) == set(TEN_TWENTY_19)
    print(f"digitised: max {max(errors.values()):.2f} mm, median {np.median(list(errors.values())):.2f} mm")
    assert max(errors.values()) < 2.0, errors
    window.view3d.render_now()
    shot(window, "eeg-digitise-done")

    # a new registration (here the same fit again) re-maps the touched electrodes and says so
    window.state.set_registration(panel.ctx.fiducial_fit)
    assert "the 19 touched electrodes were re-mapped" in box.message.text()
    assert max(float(np.linalg.norm(p - electrodes[n])) for n, p in box.positions_mm().items()) < 2.0

    # 5. redo one (select, Redo) and save / load as BIDS
    box.select("Cz")
    click(qtbot, box.redo_button)
    assert dig.current == "Cz" and "Cz" not in dig.captured()
    judged(qtbot, hands, box, "Cz", lambda: "Cz" in dig.captured())
    tsv = box.save_bids(tmp_path / "sub-01_space-Other")
    assert tsv is not None and tsv.is_file()
    saved = box.positions_mm()
    box.reset()
    assert box.load_bids(tsv)
    loaded = box.positions_mm()
    assert set(loaded) == set(saved)
    for name, p in saved.items():
        assert np.array_equal(loaded[name], p), name
    assert box.table.item(0, 1).text() == "captured"
    # a click on Template positions does not throw the digitised cap away: it asks first
    click(qtbot, box.template_button)
    assert "19 electrodes are digitised: Save BIDS" in box.message.text()
    assert box.positions_mm().keys() == saved.keys() and box.digitising


def test_template_positions_and_scalp_map_are_drawn_on_the_head(window, eeg_tab, qtbot):
    """Template positions through the box (no tracker), then a map painted on the scalp: the
    screenshot has colour-mapped (strongly red or blue) pixels on the head, none before."""
    head = load(window, with_target=False)
    box = eeg_tab
    window.panels.setCurrentWidget(box)
    got = []
    box.positionsChanged.connect(got.append)
    click(qtbot, box.template_button)
    qtbot.waitUntil(lambda: bool(got), timeout=30_000)
    positions = got[-1]
    assert set(positions) == set(TEN_TWENTY_19)
    assert box.table.item(0, 1).text() == "template" and not box.capture_button.isEnabled()
    window.view3d.view_from("top")
    window.view3d.render_now()
    before = window.view3d.plotter.screenshot(None, return_img=True)

    values = {n: float(p[0]) for n, p in positions.items()}      # left blue, right red
    per_vertex = scalp_map(np.asarray(head.scalp.points), positions, values)
    show_scalp_map(window, per_vertex, "x (mm)")
    show_electrodes(window, positions)
    window.view3d.render_now()
    after = window.view3d.plotter.screenshot(None, return_img=True)
    shot(window, "eeg-scalp-map")

    def mapped(img):
        r, g, b = (img[..., i].astype(int) for i in range(3))
        return int(np.sum(((r - b) > 90) & ((r - g) > 60)) + np.sum(((b - r) > 90) & ((b - g) > 30)))

    assert mapped(before) < 200
    assert mapped(after) > 5000, mapped(after)
    assert "x (mm)" in window.view3d.plotter.scalar_bars
    assert set(electrode_labels_shown(window)) == set(TEN_TWENTY_19)      # from the top: all
    # from the left only left and midline names: a far-side name drawn over the near side
    # (labels are 2-D, drawn over the head) would put "F4" on the left hemisphere
    window.view3d.view_from("left")
    window.view3d.render_now()
    shown = electrode_labels_shown(window)
    assert {"F3", "C3", "P3", "T7", "F7"} <= set(shown), shown
    assert not [n for n in shown if n[-1].isdigit() and int(n[-1]) % 2 == 0], shown
    shot(window, "eeg-electrodes-from-left")
    # another measure replaces the map and its colour bar (the lifted scalp is reused)
    second = show_scalp_map(window, -per_vertex, "minus x (mm)")
    bars = window.view3d.plotter.scalar_bars
    assert "minus x (mm)" in bars and "x (mm)" not in bars
    assert list(second.point_data.keys()) == ["minus x (mm)"]
    clear_scalp_map(window)
    assert not window.view3d.has_overlay(MAP_OVERLAY) and not window.view3d.plotter.scalar_bars


def test_the_box_says_why_without_a_head_or_recording(window, eeg_tab, qtbot):
    box = eeg_tab
    window.panels.setCurrentWidget(box)
    click(qtbot, box.start_button)
    assert "Open the patient's T1" in box.message.text() and box.message.level == "error"
    load(window, with_target=False)
    window.panels.setCurrentWidget(box)
    box.set_choice.setCurrentIndex(box.set_choice.findData("recording"))
    click(qtbot, box.start_button)
    assert "no EEG recording is loaded" in box.message.text()
    box.set_channels(["Fp1", "F3", "T3", "Cz", "EKG"])
    click(qtbot, box.template_button)
    qtbot.waitUntil(lambda: box.digitisation is not None, timeout=30_000)
    assert box.digitisation.order == ["Fp1", "F3", "T7", "Cz"]
    assert "No position for EKG" in box.message.text() and "T3 → T7" in box.message.text()
    box.set_channels(["EKG", "EOG"])                 # nothing to place: said, no traceback
    done = box.digitisation
    click(qtbot, box.template_button)
    qtbot.waitUntil(lambda: "No electrode positions" in box.message.text(), timeout=30_000)
    assert "none of EKG, EOG" in box.message.text() and box.digitisation is done


def test_a_file_of_another_head_is_refused(window, eeg_tab, qtbot, tmp_path):
    from tmsnav.navigation.eeg.bids_electrodes import write_bids_electrodes

    head = load(window, with_target=False)
    box = eeg_tab
    far = {"F3": np.array([-50.0, 50.0, 400.0]), "F4": np.array([50.0, 50.0, 400.0]),
           "Cz": np.array([0.0, 0.0, 480.0])}
    tsv, _ = write_bids_electrodes(tmp_path / "sub-01", far)
    assert not box.load_bids(tsv)
    assert "from this head's scalp" in box.message.text() and box.message.level == "error"
    # a file of this head written with old names and n/a: renamed, shown, the missing one listed
    choice = landmarks_from(head.fiducials_mm, head.scalp)
    pos = place_electrodes(head.scalp, choice.landmarks, ["F3", "T7", "Cz", "P4"]).positions_mm
    tsv, _ = write_bids_electrodes(tmp_path / "sub-02", {"F3": pos["F3"], "T3": pos["T7"], "Cz": pos["Cz"],
                                                         "P4": pos["P4"], "T4": None},
                                   placement={"Cz": "interpolated"})
    assert box.load_bids(tsv)
    assert "renamed T3 → T7, T4 → T8" in box.message.text()
    assert set(box.positions_mm()) == {"F3", "T7", "Cz", "P4"}
    assert box.digitisation.rows["Cz"].status == "interpolated"
