"""E-field in the Planning tab on the phantom head: the map on the brain (values under the coil,
grey where not evaluated), the numbers at the target, and the handle-angle optimiser applied.
Set TMSNAV_SCREENSHOT_DIR to keep the screenshots (docs/images is made that way)."""

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtWidgets

from tmsnav.app.planning.efield_view import COIL_OVERLAY, FIELD_OVERLAY, SCALARS
from tmsnav.navigation.targeting.planning import with_handle_angle
from tmsnav.navigation.targeting.targets import Target

from tests.app.planning_helpers import open_planning_window

pytestmark = pytest.mark.gui


@pytest.fixture
def phantom(planning_phantom):
    return planning_phantom


@pytest.fixture
def window(planning_window):
    return planning_window


def keep_screenshot(widget, name: str, tmp_path: Path) -> Path:
    out = Path(os.environ.get("TMSNAV_SCREENSHOT_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    for _ in range(20):   # let deferred layout passes (wrapped labels) settle
        QtWidgets.QApplication.processEvents()
    assert widget.grab().save(str(path), "PNG")
    return path


def add_manual(window, point) -> Target:
    panel = window.planning_panel
    window.set_cursor(point)
    panel.add_box.choose("manual")
    panel.add_box.name.setText("L-DLPFC")
    panel.add_box.add_button.click()
    assert window.wait_for_job(30_000)
    return window.state.targets.active


def compute(window, qtbot):
    panel = window.planning_panel
    with qtbot.waitSignal(panel.fieldShown, timeout=30_000):
        panel.efield_box.compute.click()
    assert window.wait_for_job(30_000)
    return panel.field


def left_frontal_cortex(ph, depth_mm=18.0):
    scalp, normal = ph.scalp_point(np.array([-0.45, 0.55, 0.7]))
    return np.asarray(scalp).reshape(3) - depth_mm * np.asarray(normal).reshape(3)


def test_field_map_on_the_brain_with_values_under_the_coil(window, qtbot, phantom, tmp_path):
    ph, _, brain = phantom
    target = add_manual(window, left_frontal_cortex(ph))
    panel = window.planning_panel
    panel.efield_box.output.setValue(70.0)
    t, field, orient = compute(window, qtbot)
    assert t is target and orient is not None
    view = window.view3d
    assert view.has_overlay(FIELD_OVERLAY) and view.has_overlay(COIL_OVERLAY)
    values = np.asarray(panel.field_mesh.point_data[SCALARS])
    near = np.linalg.norm(np.asarray(brain.points) - target.cortex_point_mm, axis=1) < 10.0
    assert near.sum() > 10 and np.all(np.isfinite(values[near])) and np.all(values[near] > 0)
    assert np.isnan(values).sum() > 0.2 * len(values)          # far side: not evaluated -> grey
    assert field.target_V_per_m > 0 and field.target_depth_mm == pytest.approx(target.depth_mm, abs=0.5)
    # 70 % of the approximate 100 A/us at ~18 mm below a figure-8 coil: tens to ~150 V/m
    assert 30.0 < field.target_V_per_m < 200.0
    box = panel.efield_box
    assert box.values["at_target"].text() == f"{field.target_V_per_m:.0f} V/m"
    assert box.values["depth"].text().startswith(f"{field.target_depth_mm:.1f} mm")
    assert "cm²" in box.values["area"].text()
    assert not view._actors["brain"].GetVisibility()           # the map replaces the plain brain
    assert view.scalp_opacity == pytest.approx(0.2)
    # not-evaluated vertices are drawn in the neutral NaN colour; the map itself is on screen
    assert view._actors[FIELD_OVERLAY].mapper.lookup_table.nan_color.hex_rgb == "#9e9e9e"
    img = view.plotter.screenshot(None, return_img=True).astype(int)
    hot = (img[..., 0] > 200) & (img[..., 1] > 90) & (img[..., 2] < 110)   # inferno yellow-orange
    assert hot.sum() > 200
    keep_screenshot(window, "planning_efield.png", tmp_path)
    box.show_map.setChecked(False)
    assert not view.has_overlay(FIELD_OVERLAY) and view._actors["brain"].GetVisibility()


def test_orientation_optimiser_applies_the_best_handle_angle(window, qtbot, phantom):
    ph, _, _ = phantom
    planned = add_manual(window, left_frontal_cortex(ph))
    # aim the field 12 mm beside the coil axis: the handle angle now matters
    side = np.cross(planned.normal, planned.handle_direction)
    off_axis = planned.with_changes(cortex_point_mm=planned.cortex_point_mm + 12.0 * side)
    window.state.targets.replace(off_axis)
    window.state.targets_edited("test: off-axis cortex point")
    _, field, orient = compute(window, qtbot)
    values = orient.values_V_per_m
    assert np.ptp(values) > 0.1 * values.max() and abs(np.rad2deg(orient.best_angle_rad)) > 2.0
    assert orient.best_value_V_per_m >= values.max() - 1e-9
    panel = window.planning_panel
    assert panel.efield_box.apply.isEnabled() and len(panel.efield_box.plot.values) == len(values)
    panel.efield_box.apply.click()                               # turns the handle, recomputes
    assert window.wait_for_job(30_000)
    turned = window.state.targets.active
    expected = with_handle_angle(off_axis, orient.best_angle_rad)
    np.testing.assert_allclose(turned.handle_direction, expected.handle_direction, atol=1e-9)
    np.testing.assert_allclose(turned.normal, off_axis.normal)
    t2, field2, orient2 = panel.field
    assert t2 is turned and abs(np.rad2deg(orient2.best_angle_rad)) < 1.0
    assert field2.target_V_per_m == pytest.approx(orient.best_value_V_per_m, rel=1e-3)
    assert field2.target_V_per_m > field.target_V_per_m


def test_field_needs_a_brain_surface_and_an_active_target(qtbot, phantom):
    ph = phantom[0]
    w = open_planning_window(qtbot, phantom, with_brain=False)
    try:
        w.planning_panel.efield_box.compute.click()
        assert "Add a target" in w.last_error
        w._error_box.close()
        add_manual(w, left_frontal_cortex(ph))
        assert w.state.targets.active.cortex_point_mm is not None   # an inner point is the cortex
        w.planning_panel.efield_box.compute.click()
        assert w.job is None and "brain" in w.last_error
    finally:
        w.close()
