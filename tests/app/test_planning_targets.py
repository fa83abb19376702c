"""Planning tab on the phantom head (exact truth): targets by every method, left stays left,
clear messages instead of tracebacks, the list, distances, and targets saved in the session."""

import json

import numpy as np
import pytest

from tmsnav.app.planning.target_display import OVERLAY
from tmsnav.navigation.session import Session
from tmsnav.navigation.targeting.mni_registration import MniRegistration
from tmsnav.navigation.targeting.targets import TargetSet
from tmsnav.navigation.transforms import Frame, Transform


pytestmark = pytest.mark.gui
GREY_DEPTH_MM = 14.0   # the phantom's grey matter starts 14 mm below the scalp (phantom.py)


@pytest.fixture
def phantom(planning_phantom):
    return planning_phantom


@pytest.fixture
def window(planning_window):
    return planning_window


def add(window, method, name="", **setup):
    """Choose a method, apply ``setup`` (callables on the form), press Add, wait for the job."""
    panel = window.planning_panel
    panel.add_box.choose(method)
    form = panel.add_box.current_form
    for fn in setup.values():
        fn(form)
    panel.add_box.name.setText(name)
    before = set(window.state.targets.names)
    panel.add_box.add_button.click()
    assert window.wait_for_job(60_000)
    added = [n for n in window.state.targets.names if n not in before]
    return window.state.targets[added[0]] if added else None


def on_scalp_mm(ph, point) -> float:
    return float(abs(ph.scalp_distance(np.asarray(point))))


def test_f3_and_f4_by_10_20_land_left_and_right_with_the_inion_estimate_said_and_distances(window, phantom):
    ph, _, _ = phantom
    f3 = add(window, "ten_twenty", position=lambda f: f.position.setCurrentText("F3"))
    f4 = add(window, "ten_twenty", position=lambda f: f.position.setCurrentText("F4"))
    assert f3.name == "F3 (10-20)" and f3.source == "10-20"
    assert f3.scalp_point_mm[0] < -20 and f4.scalp_point_mm[0] > 20      # patient LEFT / RIGHT
    assert f3.scalp_point_mm[1] > ph.scalp_centre_mm[1] + 30              # frontal
    assert abs(f3.scalp_point_mm[0] + f4.scalp_point_mm[0]) < 4.0         # symmetric phantom
    assert on_scalp_mm(ph, f3.scalp_point_mm) < 1.5
    assert f3.depth_mm == pytest.approx(GREY_DEPTH_MM, abs=2.5)
    panel = window.planning_panel
    assert any("inion estimated" in m for m in panel.last_messages)
    assert "inion estimated" in f3.notes
    assert panel.add_box.landmarks.labels["inion"].text().startswith("estimated")
    assert window.statusBar().currentMessage().startswith("Added F4 (10-20): inion estimated")
    # drawn: one glyph overlay + labels in 3-D, markers on the slices, two rows, one distance
    assert window.view3d.has_overlay(OVERLAY) and panel.drawer.labels_actor is not None
    labels = [m.label for m in window._marker_layers["targets"]]
    assert "F3 (10-20)" in labels and "▶ F4 (10-20)" in labels     # the last added is active
    rows = panel.list_box.distance_rows()
    assert len(rows) == 1 and rows[0][:2] == ("F3 (10-20)", "F4 (10-20)")
    assert float(rows[0][2].split()[0]) == pytest.approx(
        np.linalg.norm(f3.scalp_point_mm - f4.scalp_point_mm), abs=0.05)
    assert "Jasper" in panel.list_box.why.text()
    # along the scalp (a job off the GUI thread): over the forehead a bit longer than the chord
    panel.list_box.measure.click()
    assert window.wait_for_job(30_000)
    (row,) = panel.list_box.distance_rows()
    arc, chord = float(row[4].split()[0]), np.linalg.norm(f3.scalp_point_mm - f4.scalp_point_mm)
    assert chord < arc < 1.3 * chord


def test_bad_beam_measurements_show_the_module_message_and_good_ones_give_left_f3(window, qtbot, phantom):
    ph, _, _ = phantom
    t = add(window, "beam", typed=lambda f: f.set_typed(360.0, 37.0, 57.0))
    assert t is None and window.job is None                  # refused before any job started
    assert "did you type millimetres? 360 mm = 36 cm" in window.last_error
    assert window._error_box.isVisible() and "Traceback" not in window.last_error
    window._error_box.close()
    t = add(window, "beam", typed=lambda f: f.set_typed(14.0, 37.0, 57.0))
    assert t is None and "inches?" in window.last_error
    window._error_box.close()
    mesh_f3 = add(window, "beam", mesh=lambda f: f.use_mesh.setChecked(True))
    assert mesh_f3.source == "beam-f3" and mesh_f3.scalp_point_mm[0] < -20
    assert on_scalp_mm(ph, mesh_f3.scalp_point_mm) < 1.5
    typed = add(window, "beam", name="Beam typed", typed=lambda f: f.set_typed(30.0, 33.0, 55.0))
    assert typed.name == "Beam typed" and typed.scalp_point_mm[0] < 0


def test_five_cm_rule_from_the_cursor_walks_anterior_on_the_same_side(window, phantom):
    ph, _, _ = phantom
    hotspot, _ = ph.scalp_point(np.array([-0.55, -0.05, 0.83]))
    window.set_cursor(hotspot)
    t = add(window, "five_cm", hotspot=lambda f: f.hotspot.setCurrentIndex(f.hotspot.findData("cursor")),
            distance=lambda f: f.distance.setCurrentIndex(f.distance.findData(5.5)))
    assert t.name == "5.5-cm rule" and t.source == "5-cm-rule"
    assert t.scalp_point_mm[0] < 0 and t.scalp_point_mm[1] > hotspot[1] + 40
    chord = np.linalg.norm(t.scalp_point_mm - hotspot)
    assert 50.0 < chord < 55.0                                 # 55 mm of arc, a little less as a chord
    assert on_scalp_mm(ph, t.scalp_point_mm) < 1.5
    # the M1 option needs the MNI registration and says so
    add(window, "five_cm", hotspot=lambda f: f.hotspot.setCurrentIndex(0))
    assert "register the image to MNI first" in window.last_error


def test_manual_targets_from_cursor_and_typed_coordinates(window, phantom):
    ph, _, _ = phantom
    scalp, _ = ph.scalp_point(np.array([-0.4, 0.6, 0.7]))
    n = ph.scalp.centre - scalp
    inside = scalp + 20.0 * n / np.linalg.norm(n)
    window.set_cursor(inside)
    t = add(window, "manual", name="cursor target")
    np.testing.assert_allclose(t.cortex_point_mm, inside)
    assert on_scalp_mm(ph, t.scalp_point_mm) < 1.5 and t.depth_mm < 21.0
    cursor_text = window.planning_panel.add_box.forms["manual"].cursor_info.text()
    assert cursor_text.startswith("Cursor: mri (")
    typed = add(window, "manual", src=lambda f: f.set_typed("mri", scalp))
    assert np.linalg.norm(typed.scalp_point_mm - scalp) < 2.0 and typed.cortex_point_mm is not None
    assert add(window, "manual", src=lambda f: f.set_typed("mni", [-38, 44, 26])) is None
    assert "MNI registration" in window.last_error


def test_literature_needs_mni_refuses_the_seed_and_maps_fox_2012(window, phantom):
    ph, _, _ = phantom
    assert add(window, "literature", e=lambda f: f.select_key("fox2012")) is None
    assert "register the image to MNI first" in window.last_error
    mri_from_mni = np.diag([0.85, 0.85, 0.85, 1.0])
    mri_from_mni[:3, 3] = ph.scalp_centre_mm + [0.0, 10.0, -5.0]
    window.state.set_mni(MniRegistration(Transform(Frame.MRI, Frame.MNI, mri_from_mni), 0.5, 1.0, "test affine"))
    assert "MNI (" in window.cursor_label.text()
    window._error_box.close()
    assert add(window, "literature", e=lambda f: f.select_key("sgacc_seed")) is None
    assert "cannot be a coil target" in window.last_error
    fox = add(window, "literature", e=lambda f: f.select_key("fox2012"))
    expected = mri_from_mni[:3, :3] @ [-38, 44, 26] + mri_from_mni[:3, 3]
    np.testing.assert_allclose(fox.cortex_point_mm, expected)
    np.testing.assert_allclose(fox.mni_point_mm, [-38, 44, 26])
    assert fox.source == "literature-mni" and "Fox" in fox.evidence.citation
    assert fox.scalp_point_mm[0] < 0 and on_scalp_mm(ph, fox.scalp_point_mm) < 1.5
    # an MNI coordinate typed by hand lands at the same place
    typed = add(window, "manual", src=lambda f: f.set_typed("mni", [-38, 44, 26]))
    np.testing.assert_allclose(typed.cortex_point_mm, expected, atol=1e-9)


def test_list_click_rename_activate_delete_and_landmark_from_cursor(window, qtbot, phantom):
    ph, _, _ = phantom
    a = add(window, "ten_twenty", p=lambda f: f.position.setCurrentText("C3"))
    b = add(window, "ten_twenty", p=lambda f: f.position.setCurrentText("Fz"))
    panel, box = window.planning_panel, window.planning_panel.list_box
    box.table.selectRow(0)                                   # selecting a row makes it active
    box._clicked(0)                                          # a click on the row
    np.testing.assert_allclose(window.cursor_mri, a.cortex_point_mm)
    assert window.state.targets.active.name == a.name
    assert box.table.item(0, 0).text() == "● active" and box.table.item(1, 0).text() == "○"
    assert panel.rename_target(a.name, "M1 guess")
    assert "M1 guess" in window.state.targets and a.name not in window.state.targets
    assert not panel.rename_target("M1 guess", b.name)         # duplicate name: refused, said so
    assert "already exists" in window.last_error
    panel.delete_target(b.name)
    assert window.state.targets.names == ["M1 guess"] and box.distance_rows() == []
    # landmark set from the cursor replaces the estimate and is drawn
    inion, _ = ph.scalp_point(np.array([0.0, -0.95, 0.3]))
    window.set_cursor(inion)
    panel.add_box.landmarks.findChild(type(box.measure), "set_inion").click()
    assert panel.add_box.landmarks.labels["inion"].text().startswith("cursor")
    assert "IN" in [m.label for m in window._marker_layers["landmarks"]]
    c3 = add(window, "ten_twenty", p=lambda f: f.position.setCurrentText("C3"))
    assert "inion estimated" not in c3.notes and c3.scalp_point_mm[0] < 0


def test_targets_are_saved_in_the_session_and_read_back(window, tmp_path):
    session = Session.create(tmp_path / "P001", "P001")
    window.state.set_session(session)
    f3 = add(window, "ten_twenty", p=lambda f: f.position.setCurrentText("F3"))
    window.set_cursor(f3.cortex_point_mm + [0.0, 0.0, -5.0])
    add(window, "manual", name="below F3")
    window.planning_panel.activate_target(f3.name)
    reopened = Session.open(tmp_path / "P001")
    targets = TargetSet.from_dict(reopened.record.targets)
    assert targets.names == [f3.name, "below F3"] and targets.active.name == f3.name
    np.testing.assert_allclose(targets[f3.name].scalp_point_mm, f3.scalp_point_mm)
    np.testing.assert_allclose(targets[f3.name].handle_direction, f3.handle_direction)
    assert targets[f3.name].evidence == f3.evidence
    events = [json.loads(line) for line in (tmp_path / "P001" / "events.jsonl").read_text().splitlines()]
    reasons = [e["reason"] for e in events if e["kind"] == "targets_changed"]
    assert f"added {f3.name} (10-20)" in reasons and f"active target: {f3.name}" in reasons
