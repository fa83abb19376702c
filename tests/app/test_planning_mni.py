"""MNI registration from the Planning tab: progress and Cancel (nothing stored), the real run on
the bundled sample head (cached the second time), the status bar in MNI, and published targets
landing where the 10-20 system says on that head."""

import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtWidgets

from tmsnav.app.loading import LoadedHead
from tmsnav.app.main_window import MainWindow
from tmsnav.navigation.imaging.volume import load_volume
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.head import head_surfaces

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]


def _targeting_data():
    if "targeting_data" not in sys.modules:
        path = ROOT / "tests" / "navigation" / "targeting" / "targeting_data.py"
        spec = importlib.util.spec_from_file_location("targeting_data", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules["targeting_data"] = mod
    return sys.modules["targeting_data"]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def start_registration(window):
    progress = []
    window.planning_panel.mni_box.button.click()
    assert window.job is not None and window.cancel_button.isVisible()
    window.job.signals.progress.connect(lambda f, m: progress.append((f, m)))
    return progress


def test_cancelled_mni_registration_stores_nothing(window, qtbot, tmp_path):
    ph = make_phantom_head(voxel_mm=2.0)
    scalp = head_surfaces(ph.volume, max_faces=20_000).scalp
    window._on_head_loaded(LoadedHead(ph.volume, scalp, None, None))
    progress = start_registration(window)
    qtbot.waitUntil(lambda: len(progress) >= 2, timeout=30_000)   # into the optimisation
    assert "MNI registration" in progress[-1][1]
    t0 = time.perf_counter()
    window.cancel_button.click()
    assert window.wait_for_job(30_000)
    assert time.perf_counter() - t0 < 5.0
    assert window.state.mni is None and "MNI (" not in window.cursor_label.text()
    assert window.planning_panel.mni_box.status.text().startswith("Not registered")
    assert not list((tmp_path / "cache").rglob("mni-*"))          # no cached registration
    assert window.statusBar().currentMessage().endswith("cancelled")
    assert not window.cancel_button.isVisible()


@pytest.fixture(scope="module")
def sample_head(tmp_path_factory):
    """The bundled mean head (with its marked fiducials and MNI brain surface), its T1 copied so
    the registration cache starts empty (a cold registration)."""
    from tmsnav.navigation.surfaces.sample_brain import sample_head_brain_surface
    from tmsnav.navigation.sample_head import sample_head_fiducials

    folder = tmp_path_factory.mktemp("sample")
    path = folder / "mean_reg2mean.nii.gz"
    shutil.copy(ROOT / "assets" / "sample_head" / "mean_reg2mean.nii.gz", path)
    volume = load_volume(path)
    return LoadedHead(volume, head_surfaces(volume).scalp, sample_head_brain_surface(),
                      sample_head_fiducials(), True)


def keep_screenshot(widget, name: str) -> None:
    out = os.environ.get("TMSNAV_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        for _ in range(20):   # let deferred layout passes (wrapped labels) settle
            QtWidgets.QApplication.processEvents()
        assert widget.grab().save(str(Path(out) / name), "PNG")


@pytest.mark.slow
def test_sample_head_mni_registration_targets_by_each_method_and_field(window, qtbot, sample_head):
    head = sample_head
    window._on_head_loaded(head)
    window.panels.setCurrentWidget(window.planning_panel)
    panel = window.planning_panel
    progress = start_registration(window)
    assert window.wait_for_job(120_000)
    reg = window.state.mni
    assert reg is not None and not reg.from_cache
    assert [f for f, _ in progress] == sorted(f for f, _ in progress) and progress[-1][0] == 1.0
    assert "similarity" in panel.mni_box.status.text() and "computed in" in panel.mni_box.status.text()
    assert "MNI (" in window.cursor_label.text()
    from tmsnav.navigation.surfaces.cache import user_cache_dir

    assert list(user_cache_dir().glob("mni-*.json"))                     # cached in the user cache,
    assert not list(Path(head.volume.source).parent.rglob("mni-*.json"))  # never beside the image
    # the brain follows the new registration (template placed on this head) before planning
    qtbot.waitUntil(lambda: not window.brains.template_running, timeout=120_000)
    from tmsnav.navigation.surfaces.template_brain import template_transform_of

    np.testing.assert_allclose(template_transform_of(window.state.head.brain), reg.mri_from_mni.matrix)
    # the second time comes from the per-image cache
    panel.mni_box.button.click()
    assert window.wait_for_job(30_000)
    assert window.state.mni.from_cache
    np.testing.assert_allclose(window.state.mni.mri_from_mni.matrix, reg.mri_from_mni.matrix)
    # the template's (Colin27, MNI152) nasion and ears land on this head's marked ones
    colin = _targeting_data().colin27("colin27_1020.elc")
    for key, label in (("nasion", "Nz"), ("lpa", "LPA"), ("rpa", "RPA")):
        mapped = reg.mri_from_mni.apply(colin[label])
        assert np.linalg.norm(mapped - head.fiducials_mm[key]) < 20.0

    def add(method, setup):
        panel.add_box.choose(method)
        setup(panel.add_box.current_form)
        panel.add_box.add_button.click()
        assert window.wait_for_job(30_000)
        return window.state.targets.active

    f3 = add("ten_twenty", lambda f: f.position.setCurrentText("F3"))
    assert panel.add_box.landmarks.labels["inion"].text().startswith("image")   # marked, not estimated
    fox = add("literature", lambda f: f.select_key("fox2012"))
    beam = add("beam", lambda f: f.use_mesh.setChecked(True))
    five = add("five_cm", lambda f: f.hotspot.setCurrentIndex(0))     # from the left M1 knob
    window.set_cursor(fox.cortex_point_mm + 3.0 * fox.normal)
    manual = add("manual", lambda f: f.source.setCurrentIndex(0))
    for t in (f3, fox, beam, five, manual):
        assert t.scalp_point_mm[0] < -20, t.name                       # all on the patient's LEFT
        assert t.cortex_point_mm is not None and 5.0 < t.depth_mm < 35.0, t.name
    assert np.linalg.norm(fox.scalp_point_mm - f3.scalp_point_mm) < 30.0  # a few cm at most
    assert np.linalg.norm(reg.mri_from_mni.apply(colin["F3"]) - f3.scalp_point_mm) < 15.0
    assert np.linalg.norm(beam.scalp_point_mm - f3.scalp_point_mm) < 25.0
    assert five.scalp_point_mm[1] < f3.scalp_point_mm[1]               # 5-cm rule: behind F3
    assert len(panel.list_box.distance_rows()) == 10
    panel.add_box.choose("literature")
    panel.list_box.select(fox.name)
    np.testing.assert_allclose(window.cursor_mri, fox.cortex_point_mm)
    assert "Fox MD" in panel.list_box.why.text() and "Fox MD" in panel.add_box.forms["literature"].info.text()
    keep_screenshot(window, "planning_targets.png")

    panel.activate_target(fox.name)
    with qtbot.waitSignal(panel.fieldShown, timeout=30_000):
        panel.efield_box.compute.click()
    assert window.wait_for_job(30_000)
    _, field, orient = panel.field
    assert field.target_V_per_m > 0 and orient is not None
    values = np.asarray(panel.field_mesh.point_data["|E| (V/m)"])
    near = np.linalg.norm(np.asarray(head.brain.points) - fox.cortex_point_mm, axis=1) < 10.0
    assert near.any() and np.all(np.isfinite(values[near]))
    # on the coil axis |E| ignores the handle angle; E along the cortical normal does not
    assert not panel.efield_box.apply.isEnabled()
    panel.efield_box.objective.setCurrentIndex(panel.efield_box.objective.findData("normal"))
    with qtbot.waitSignal(panel.fieldShown, timeout=30_000):
        panel.efield_box.compute.click()
    assert window.wait_for_job(30_000)
    orient = panel.field[2]
    assert orient.objective == "along_direction_unsigned"
    assert np.ptp(orient.values_V_per_m) > 0.05 * orient.values_V_per_m.max()
    assert panel.efield_box.apply.isEnabled()
    panel.ensureWidgetVisible(panel.efield_box.apply)
    keep_screenshot(window, "planning_efield_sample_head.png")
