"""MNI registration from the Planning tab: progress and Cancel (nothing stored), the real run on
the bundled sample head (cached the second time), the status bar in MNI, and published targets
landing where the 10-20 system says on that head."""

import importlib.util
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.loading import LoadedHead
from app.main_window import MainWindow
from navigation.imaging import load_volume
from navigation.phantom import make_phantom_head
from navigation.surfaces import head_surfaces

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
    """The bundled mean head, copied so its disk cache starts empty (a cold registration)."""
    folder = tmp_path_factory.mktemp("sample")
    path = folder / "mean_reg2mean.nii.gz"
    shutil.copy(ROOT / "assets" / "sample_head" / "mean_reg2mean.nii.gz", path)
    volume = load_volume(path)
    return volume, head_surfaces(volume).scalp


@pytest.mark.slow
def test_mni_registration_on_the_sample_head_then_fox_2012_lands_near_f3(window, qtbot, sample_head):
    volume, scalp = sample_head
    window._on_head_loaded(LoadedHead(volume, scalp, None, None))
    panel = window.planning_panel
    progress = start_registration(window)
    assert window.wait_for_job(120_000)
    reg = window.state.mni
    assert reg is not None and not reg.from_cache
    assert [f for f, _ in progress] == sorted(f for f, _ in progress) and progress[-1][0] == 1.0
    assert "similarity" in panel.mni_box.status.text() and "computed in" in panel.mni_box.status.text()
    assert "MNI (" in window.cursor_label.text()
    assert list(Path(volume.source).parent.rglob("mni-*.json"))      # cached beside the image
    # the second time comes from the per-image cache
    t0 = time.perf_counter()
    panel.mni_box.button.click()
    assert window.wait_for_job(30_000)
    assert window.state.mni.from_cache and time.perf_counter() - t0 < 3.0
    np.testing.assert_allclose(window.state.mni.mri_from_mni.matrix, reg.mri_from_mni.matrix)

    # landmarks: the template's (Colin27, MNI152) nasion / ears mapped in, set with the cursor
    colin = _targeting_data().colin27("colin27_1020.elc")
    geometry = panel._context().geometry
    from navigation.targeting.scalp_geometry import closest_point

    for key, label in (("nasion", "Nz"), ("lpa", "LPA"), ("rpa", "RPA")):
        mapped = reg.mri_from_mni.apply(colin[label])
        on_scalp = closest_point(geometry.scalp, mapped)
        assert np.linalg.norm(on_scalp - mapped) < 12.0   # the affine puts them on this scalp
        window.set_cursor(on_scalp)
        panel.add_box.landmarks.setRequested.emit(key)

    def add(method, setup):
        panel.add_box.choose(method)
        setup(panel.add_box.current_form)
        panel.add_box.add_button.click()
        assert window.wait_for_job(30_000)
        return window.state.targets.active

    f3 = add("ten_twenty", lambda f: f.position.setCurrentText("F3"))
    fox = add("literature", lambda f: f.select_key("fox2012"))
    assert f3.scalp_point_mm[0] < -20 and fox.scalp_point_mm[0] < -20     # patient LEFT
    assert np.linalg.norm(fox.scalp_point_mm - f3.scalp_point_mm) < 30.0  # a few cm at most
    colin_f3 = reg.mri_from_mni.apply(colin["F3"])
    assert np.linalg.norm(colin_f3 - f3.scalp_point_mm) < 15.0
    five = add("five_cm", lambda f: f.hotspot.setCurrentIndex(0))     # from the left M1 knob
    assert five.scalp_point_mm[0] < 0 and five.scalp_point_mm[1] > f3.scalp_point_mm[1] - 60
    rows = panel.list_box.distance_rows()
    assert len(rows) == 3 and all(r[3] == "—" for r in rows)          # no brain: no cortex distance
