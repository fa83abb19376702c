"""Registration steps one at a time: refused captures (occluded, stale), the tool check's
explanations, swapped LPA/RPA touches caught by the surface check, coil calibration by touching
its landmarks, the footswitch key, and "needs redo" after an upstream change."""

import numpy as np
import pytest
from PySide6 import QtCore

from tmsnav.app.sim_head import head_geometry_for
from tmsnav.hardware.config import TrackerConfig
from tmsnav.hardware.simulation.clock import ScenarioClock
from tmsnav.hardware.simulation.scenarios import Scenario, Segment, SimulationTruth
from tmsnav.hardware.simulation.coil import HANDLE_MOUNTED_COIL_FROM_HOTSPOT
from tmsnav.hardware.simulation.tracker import SimulatedTracker
from tmsnav.navigation.coils import CoilDefinition, COIL_ASSETS_DIR
from tmsnav.navigation.transforms import Frame, Transform
from tests.app.registration_helpers import (click, hold_in_phase, load, press_until_taken,
                                           upper_scalp_points)

pytestmark = pytest.mark.gui

TIP_OFFSET = np.array([0.0, 0.0, -150.0])     # the simulator's pointer geometry


def connect_idle(window, qtbot):
    window.connect_tracker(TrackerConfig.parse("sim:idle"))
    qtbot.waitUntil(lambda: window.tracking.last is not None
                    and window.tracking.last.role_live("reference")
                    and window.tracking.last.role_live("pointer"), timeout=5000)


def test_capture_is_refused_while_the_reference_is_occluded_or_stale(window, qtbot):
    load(window)
    panel = window.registration_panel
    window.state.set_pointer_calibration(None, TIP_OFFSET)
    panel.go_to("fiducials")
    fid = panel.step("fiducials")
    fid.auto.setChecked(False)
    click(qtbot, fid.capture_button)
    assert "not connected" in fid.capture_message.text() and not panel.ctx.touched

    connect_idle(window, qtbot)
    window.tracking.tracker_ref.forced_missing.add("reference")
    qtbot.waitUntil(lambda: not window.tracking.last.role_live("reference"), timeout=3000)
    click(qtbot, fid.capture_button)
    text = fid.capture_message.text()
    assert text.startswith("Capture refused") and "head reference is not tracked" in text
    assert fid.capture_message.level == "error" and panel.ctx.touched == {}
    qtbot.waitUntil(lambda: "head reference is not tracked" in fid.live.text(), timeout=3000)

    window.tracking.tracker_ref.forced_missing.clear()
    qtbot.waitUntil(lambda: window.tracking.last.role_live("reference"), timeout=3000)
    press_until_taken(qtbot, fid.capture_button, lambda: "nasion" in panel.ctx.touched,
                      fid.capture_message)
    assert set(panel.ctx.touched) == {"nasion"} and fid.current == "lpa"

    window.tracking.acquisition.stop()               # the stream freezes behind the GUI
    qtbot.waitUntil(lambda: not window.tracking.last.role_live("pointer"), timeout=5000)
    click(qtbot, fid.capture_button)
    assert "stale" in fid.capture_message.text() and set(panel.ctx.touched) == {"nasion"}


def test_tool_check_names_the_missing_tool_and_blocks_next(window, qtbot):
    load(window)
    panel = window.registration_panel
    tools = panel.step("tools")
    assert "not connected" in tools.message.text() and not panel.next_button.isEnabled()
    connect_idle(window, qtbot)
    qtbot.waitUntil(panel.next_button.isEnabled, timeout=3000)
    assert tools.lights == {"reference": "green", "pointer": "green", "coil": "green"}
    assert tools.table.item(0, 2).text().endswith("mm")            # RMS of a green tool
    window.tracking.tracker_ref.forced_missing.add("coil")
    qtbot.waitUntil(lambda: not panel.next_button.isEnabled(), timeout=3000)
    assert tools.lights["coil"] == "red" and tools.table.item(2, 2).text() == "—"
    assert "coil is not visible (missing)" in tools.message.text()
    assert "coil is not visible" in panel.nav_reason.text()


def test_swapped_lpa_rpa_touches_are_refused_with_the_math_message(window, qtbot):
    """Three fiducials cannot reveal a mirror; the scalp points can (check_scalp_side)."""
    head = load(window)
    marked = head.fiducials_mm
    panel = window.registration_panel
    ctx = panel.ctx
    window.state.set_pointer_calibration(None, TIP_OFFSET)
    reference_from_mri = Transform.from_euler("xyz", [0.3, -0.2, 1.1], [40.0, -60.0, 900.0],
                                              to_frame=Frame.REFERENCE, from_frame=Frame.MRI)
    swapped = {"nasion": marked["nasion"], "lpa": marked["rpa"], "rpa": marked["lpa"]}
    ctx.touched = {k: reference_from_mri.apply(np.asarray(v)) for k, v in swapped.items()}
    ctx.refit()
    assert ctx.fit_ok                      # 3 swapped points fit by a rotation: FRE looks fine
    points = upper_scalp_points(head, 150, np.random.default_rng(0))
    ctx.scalp_points = reference_from_mri.apply(points)
    panel.go_to("scalp")
    scalp = panel.step("scalp")
    n = len(ctx.scalp_points)                     # the 3 mm spacing rule thins them a little
    assert 130 <= n <= 150 and f"{n} points" in scalp.count.text()
    click(qtbot, scalp.register_button)
    qtbot.waitUntil(lambda: scalp.job is None, timeout=10000)
    text = scalp.message.text()
    assert text.startswith("Registration refused: LPA and RPA look swapped")
    assert "Traceback" not in text and scalp.message.level == "error"
    # the Result step shows it as FAIL with the cause and it cannot be accepted
    assert panel.current.key == "result" and not ctx.candidate.accepted
    result_step = panel.step("result")
    assert result_step.verdict.level == "fail"
    assert "LPA and RPA look swapped" in result_step.reasons.text()
    assert not result_step.accept_button.isEnabled()


def coil_touch_scenario(geometry, definition, names, hold_s=1.0):
    """The pointer tip rests on each coil landmark in turn while the coil lies on the table;
    the coil's marker is mounted on the handle, unlike the definition file says."""
    truth = SimulationTruth.default(geometry, coil_from_hotspot=HANDLE_MOUNTED_COIL_FROM_HOTSPOT)
    tracker_from_hotspot = truth.tracker_from_coil_parked @ truth.coil_from_hotspot
    segments = [Segment("idle", 0.5)]
    for name in names:
        pose = tracker_from_hotspot.copy()
        pose[:3, 3] = tracker_from_hotspot[:3, :3] @ definition.landmarks_hotspot_mm[name] \
            + tracker_from_hotspot[:3, 3]
        segments.append(Segment(f"touching {name}", hold_s,
                                tracker_from_tip=lambda _u, _t, p=pose: p))
    return Scenario("coil_touch", truth, segments), truth


@pytest.mark.slow
def test_coil_calibration_by_touching_landmarks_finds_the_true_hotspot(window, qtbot):
    head = load(window)
    panel = window.registration_panel
    definition = CoilDefinition.load(COIL_ASSETS_DIR / "generic-fig8-70.json")
    names = ["top_centre", "centre", "right_wing_edge", "handle_end"]   # not in file order
    scenario, truth = coil_touch_scenario(head_geometry_for(head, window.state.targets),
                                          definition, names)
    clock = ScenarioClock()
    window.tracking.start(lambda: SimulatedTracker(scenario, scenario_clock=clock), "coil touch")
    window.state.set_pointer_calibration(None, TIP_OFFSET)
    panel.go_to("coil")
    coil = panel.step("coil")
    coil.select_model("generic-fig8-70")
    coil.use_touch.setChecked(True)
    assert not coil.accept_button.isEnabled() and "centre" in coil.message.text()
    for name in names:
        hold_in_phase(qtbot, window, clock, scenario, f"touching {name}")   # held until taken
        coil.select(name)
        press_until_taken(qtbot, coil.capture_button, lambda n=name: n in coil.touched,
                          coil.message)
    assert coil.calibration is not None, coil.message.text()
    assert coil.accept_button.isEnabled()
    assert coil.calibration.residual_rms_mm < 0.6
    click(qtbot, coil.accept_button)
    state = window.state
    assert state.coil_calibration is coil.calibration and panel.status["coil"] != "done"
    assert "Verify the coil" in panel.nav_reason.text()      # not used before it is verified
    true = truth.coil_from_hotspot
    for name in ("centre", "handle_end", "left_wing_edge"):   # the walk: test_coil_verification_gui
        coil.capture_verification(true[:3, :3] @ definition.landmarks_hotspot_mm[name]
                                  + true[:3, 3])
    assert coil.verified and panel.status["coil"] == "done"
    got = state.coil_from_hotspot.matrix
    assert np.linalg.norm(got[:3, 3] - true[:3, 3]) < 0.6
    angle = np.degrees(np.arccos(np.clip((np.trace(got[:3, :3].T @ true[:3, :3]) - 1) / 2, -1, 1)))
    assert angle < 0.6
    # the file's nominal hotspot is far from this coil's: calibrating mattered
    assert np.linalg.norm(definition.coil_from_hotspot.translation - true[:3, 3]) > 50
    # a new pointer calibration voids a coil calibrated with the old tip
    panel.step("pivot").outputChanged.emit(True)
    assert panel.status["coil"] == "redo"
    assert panel.step_list.item(2).data(QtCore.Qt.ItemDataRole.UserRole) == "redo"
    assert "needs redo" in panel.step_list.item(2).text()


def test_capture_key_is_configurable_and_space_works_in_the_panel(window, qtbot):
    load(window)
    panel = window.registration_panel
    connect_idle(window, qtbot)
    panel.go_to("pivot")
    pivot = panel.step("pivot")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    try:
        panel.set_capture_key("F9")
        assert panel.capture_key == "F9"
        assert QtCore.QSettings("tmsnav", "tmsnav").value("registration/capture_key") == "F9"
        qtbot.keyClick(window, QtCore.Qt.Key.Key_F12)          # the old key does nothing now
        assert not pivot.collecting
        qtbot.keyClick(window, QtCore.Qt.Key.Key_F9)           # footswitch: start recording
        assert pivot.collecting and pivot.start_button.text() == "Cancel"
        panel.step_list.setFocus()
        qtbot.keyClick(panel.step_list, QtCore.Qt.Key.Key_Space)   # Space in the panel: cancel
        assert not pivot.collecting and "cancelled" in pivot.result.text()
    finally:
        panel.set_capture_key("F12")
    assert panel.capture_key == "F12"


def test_fiducial_redo_marks_later_steps_and_a_new_pivot_voids_touches(window, qtbot):
    head = load(window)
    panel = window.registration_panel
    ctx = panel.ctx
    window.state.set_pointer_calibration(None, TIP_OFFSET)
    reference_from_mri = Transform.from_euler("xyz", [0.1, 0.2, -0.3], [10.0, 20.0, 700.0],
                                              to_frame=Frame.REFERENCE, from_frame=Frame.MRI)
    ctx.touched = {k: reference_from_mri.apply(np.asarray(v))
                   for k, v in head.fiducials_mm.items() if k in ("nasion", "lpa", "rpa")}
    ctx.refit()
    panel.go_to("fiducials")
    fid = panel.step("fiducials")
    for key in ("fiducials", "scalp", "result"):
        panel.status[key] = "done"
    fid.select("lpa")
    click(qtbot, fid.redo_button)
    assert "lpa" not in ctx.touched and not ctx.fit_ok and fid.current == "lpa"
    assert [panel.status[k] for k in ("fiducials", "scalp", "result")] == ["redo"] * 3
    assert "Touch the LPA" in fid.instruction.text() and not panel.next_button.isEnabled()
    panel.step("pivot").outputChanged.emit(True)  # a new tip offset: every touch is void
    assert ctx.touched == {} and ctx.fiducial_fit is None


def nasion_hold_scenario(geometry, hold_s=8.0):
    """The pointer tip rests on the nasion (a long hold: time for button, redo and key)."""
    from tmsnav.hardware.rigid import frame_from_z_axis, rigid

    truth = SimulationTruth.default(geometry)
    nasion = geometry.landmark("nasion")
    shaft = np.array([0.0, 1.0, 0.35])                 # out of the forehead, tilted up
    head_from_tip = rigid(frame_from_z_axis(shaft, y_hint=np.array([0.0, 0.0, 1.0])), nasion)
    segments = [Segment("touching nasion", hold_s, head_from_tip=lambda _u, _t: head_from_tip)]
    return Scenario("nasion_hold", truth, segments), truth


@pytest.mark.slow
def test_fiducial_capture_by_button_redo_and_footswitch_key(window, qtbot):
    head = load(window)
    panel = window.registration_panel
    ctx = panel.ctx
    scenario, truth = nasion_hold_scenario(head_geometry_for(head, window.state.targets))
    window.tracking.start(lambda: SimulatedTracker(scenario), "nasion hold")
    window.state.set_pointer_calibration(None, TIP_OFFSET)
    panel.go_to("fiducials")
    fid = panel.step("fiducials")
    fid.auto.setChecked(False)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.waitUntil(lambda: "Pointer tracked" in fid.live.text(), timeout=5000)
    assert fid.current == "nasion" and "Touch the NASION" in fid.instruction.text()
    press_until_taken(qtbot, fid.capture_button, lambda: "nasion" in ctx.touched,
                      fid.capture_message)                            # 1. the button
    first = ctx.touched["nasion"].copy()
    assert fid.current == "lpa" and "Nasion captured" in fid.capture_message.text()
    fid.select("nasion")
    click(qtbot, fid.redo_button)                                     # 2. redo
    assert "nasion" not in ctx.touched and fid.current == "nasion"
    press_until_taken(qtbot, fid.capture_button, lambda: "nasion" in ctx.touched,
                      fid.capture_message,                            # 3. the footswitch
                      action=lambda: qtbot.keyClick(window, QtCore.Qt.Key.Key_F12))
    assert window.tracking.tracker_ref.phase == "touching nasion"
    # both captures are the nasion in the reference frame (tracker noise ~0.4 mm)
    reference_from_head = truth.reference_from_head
    nasion = head.fiducials_mm["nasion"]
    true_ref = reference_from_head[:3, :3] @ nasion + reference_from_head[:3, 3]
    for point in (first, ctx.touched["nasion"]):
        assert np.linalg.norm(point - true_ref) < 1.5
    # the key pressed again before moving: "LPA" would land on the nasion: refused, and said
    assert fid.current == "lpa"
    press_until_taken(qtbot, fid.capture_button,
                      lambda: "the Nasion again" in fid.capture_message.text(), fid.capture_message)
    text = fid.capture_message.text()
    assert fid.capture_message.level == "error" and "the Nasion again" in text
    assert "Move to the LPA" in text
    assert set(ctx.touched) == {"nasion"}
    # with auto-capture on, holding still does not capture the nasion again as the LPA
    fid.auto.setChecked(True)
    # until the detector holds a full still window (what a capture needs), from the GUI's ticks
    qtbot.waitUntil(lambda: fid.detector.state().held_s >= fid.detector.window_s - 1e-6,
                    timeout=20_000)
    assert set(ctx.touched) == {"nasion"} and "move the pointer" in fid.live.text()
