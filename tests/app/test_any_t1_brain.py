"""Issue 10, done means: a T1 that is NOT the sample head gets a brain surface with no files
besides the T1 (template route: MNI registration, then the template brain follows), F3 is planned
with its cortex depth shown, and the e-field is computed on that brain. Also: the brain file route
from the GUI, a refused brain, and a skull-stripped image end to end."""

import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy.spatial.transform import Rotation

from tmsnav.navigation.sample_head import sample_head_fiducials, sample_head_mri_from_mni, sample_head_path

pytestmark = pytest.mark.gui

ROTATION = Rotation.from_euler("xyz", [6.0, -4.0, 9.0], degrees=True).as_matrix()
SHIFT = np.array([12.0, -20.0, 35.0])
SCALE = 1.04                   # another head: 4 % larger


def new_from_sample() -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = SCALE * ROTATION
    m[:3, 3] = SHIFT
    return m


def write_other_t1(path: Path) -> Path:
    """The sample head moved, turned, scaled and resampled to 1.5 mm with another contrast and
    noise: another T1 with another affine, and its true mri_from_mni known."""
    sample = nib.load(str(sample_head_path()))
    data = np.asarray(sample.dataobj, np.float32)
    new_from_old = new_from_sample()
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    shape = (130, 170, 170)
    centre_old = sample.affine[:3, :3] @ (np.array(data.shape) / 2) + sample.affine[:3, 3]
    affine[:3, 3] = new_from_old[:3, :3] @ centre_old + new_from_old[:3, 3] - 1.5 * np.array(shape) / 2
    voxel_old_from_new = np.linalg.inv(sample.affine) @ np.linalg.inv(new_from_old) @ affine
    out = ndi.affine_transform(data, voxel_old_from_new[:3, :3], voxel_old_from_new[:3, 3],
                               output_shape=shape, order=1)
    out = 900.0 * (np.clip(out, 0, None) / out.max()) ** 0.85
    out += np.random.default_rng(3).normal(0.0, 4.0, out.shape)
    nib.save(nib.Nifti1Image(np.abs(out).astype(np.int16), affine), str(path))
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_any_t1_gets_a_template_brain_then_f3_with_depth_and_an_efield(window, qtbot, tmp_path, cache):
    path = write_other_t1(tmp_path / "patient_t1.nii.gz")
    window.open_image(path)
    assert window.wait_for_job(120_000)
    head = window.state.head
    assert head is not None and not head.is_sample and head.brain is None
    panel = window.display_panel
    assert panel.brain_status.text().startswith("No brain surface")

    started = time.perf_counter()
    panel.template_brain.click()            # runs the MNI registration; the brain follows
    qtbot.waitUntil(lambda: window.state.head.brain is not None and window.job is None, timeout=240_000)
    seconds = time.perf_counter() - started
    print(f"MNI registration + template brain: {seconds:.1f} s")
    assert window.state.mni is not None
    brain = window.state.head.brain
    assert "approximate, from the template" in panel.brain_status.text()
    assert " mL" in panel.brain_status.text()
    assert window.view3d.brain_legend == "Brain: approximate, from the template (MNI152)"
    from tmsnav.navigation.surfaces.extract import mesh_volume_ml
    from tmsnav.navigation.surfaces.template_brain import provenance_of

    assert provenance_of(brain).startswith("approximate, from the template")
    # the template brain sits where the known transform puts the sample's brain (4 % larger)
    assert 1000.0 * SCALE ** 3 < mesh_volume_ml(brain) < 1600.0 * SCALE ** 3
    truth = new_from_sample() @ sample_head_mri_from_mni().matrix
    found = window.state.mni.mri_from_mni
    for mni in ([-38.0, 44.0, 26.0], [-37.0, -21.0, 58.0]):
        expected = truth[:3, :3] @ mni + truth[:3, 3]
        assert np.linalg.norm(found.apply(mni) - expected) < 5.0

    # plan F3 (Beam, measured on the mesh) with landmarks set from the cursor, as a user does
    planning = window.planning_panel
    window.panels.setCurrentWidget(planning)
    fids = sample_head_fiducials()
    for name in ("nasion", "lpa", "rpa", "inion"):
        p = new_from_sample()[:3, :3] @ fids[name] + new_from_sample()[:3, 3]
        window.set_cursor(p)
        planning.set_landmark_from_cursor(name)
    planning.add_box.choose("beam")
    planning.add_box.current_form.use_mesh.setChecked(True)
    planning.add_box.add_button.click()
    assert window.wait_for_job(60_000)
    f3 = window.state.targets.active
    assert f3 is not None and f3.source == "beam-f3"
    assert f3.cortex_point_mm is not None and 8.0 < f3.depth_mm < 25.0
    left = new_from_sample()[:3, :3] @ np.array([-1.0, 0.0, 0.0])
    assert np.dot(f3.scalp_point_mm - found.apply([0.0, 0.0, 0.0]), left) > 20.0   # patient LEFT
    row = [planning.list_box.table.item(0, c).text() for c in range(planning.list_box.table.columnCount())]
    assert f"{f3.depth_mm:.1f} mm" in row

    with qtbot.waitSignal(planning.fieldShown, timeout=60_000):
        planning.efield_box.compute.click()
    assert window.wait_for_job(60_000)
    _, field, _ = planning.field
    assert np.isfinite(field.peak_V_per_m) and field.peak_V_per_m > 10.0
    assert planning.efield_box.values["depth"].text().endswith("mm below the coil face")
    window.save_screenshot(tmp_path / "any_t1.png")


@pytest.mark.safety(hazard="brain", control=(
    "a brain file loaded in the GUI from another space is refused and the previous "
    "brain kept"))
def test_brain_file_from_the_gui_is_checked_against_the_scalp(window, qtbot, tmp_path, cache, monkeypatch):
    import pyvista as pv

    from tmsnav.navigation.phantom import make_phantom_head

    ph = make_phantom_head(2.0)
    affine = ph.volume.mri_from_voxel.matrix
    t1 = tmp_path / "phantom.nii.gz"
    nib.save(ph.nifti(), str(t1))
    window.open_image(t1)
    assert window.wait_for_job(60_000)
    mask = tmp_path / "brain_mask.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(ph.brain_mask, np.uint8), affine), str(mask))
    from PySide6 import QtWidgets

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *a, **k: ([str(mask)], "")))
    (action,) = [a for a in window.file_menu.actions() if a.text() == "Load &brain surface…"]
    action.trigger()                           # File > Load brain surface… (a job with progress)
    assert window.job is not None and window.progress.isVisible()
    assert window.wait_for_job(60_000)
    brain = window.state.head.brain
    assert brain is not None and "brain_mask.nii.gz" in window.display_panel.brain_status.text()
    assert window.view3d.brain_legend.startswith("Brain: from brain_mask.nii.gz")
    # a brain from another space (10 cm off) is refused with its cause; the good one stays
    wrong = tmp_path / "pial_elsewhere.stl"
    sphere = pv.Icosphere(radius=60.0, nsub=3, center=ph.scalp_centre_mm + [0.0, 100.0, 0.0])
    sphere.save(str(wrong))
    window.brains.load_files([wrong])
    assert window.wait_for_job(60_000)
    assert "does not lie inside the scalp" in window.last_error
    assert window.state.head.brain is brain
    # the template route never replaces a patient's own brain
    from tmsnav.navigation.targeting.mni_registration import MniRegistration
    from tmsnav.navigation.transforms import Frame, Transform

    window.state.set_mni(MniRegistration(Transform(Frame.MRI, Frame.MNI, np.eye(4)), 0.5, 1.0, "test"))
    assert window.job is None and not window.brains.template_running
    assert window.state.head.brain is brain


@pytest.mark.safety(hazard="brain", control="a skull-stripped image is reported, has no scalp and blocks navigation")
def test_skull_stripped_image_is_reported_its_own_brain_and_blocks_navigation(window, qtbot, tmp_path, cache):
    from tmsnav.navigation.phantom import make_phantom_head

    ph = make_phantom_head(2.0)
    stripped = np.asarray(ph.volume.data) * np.asarray(ph.brain_mask)
    path = tmp_path / "t1_brain.nii.gz"
    nib.save(nib.Nifti1Image(stripped.astype(np.int16), ph.volume.mri_from_voxel.matrix), str(path))
    window.open_image(path)
    assert window.wait_for_job(60_000)
    head = window.state.head
    assert head.skull_stripped and head.scalp is None and head.brain is not None
    assert head.volume.report.has("skull-stripped")
    assert "skull-stripped" in head.volume.report.summary()
    assert "skull-stripped image" in window.display_panel.brain_status.text()
    assert window.state.navigation_block == window.view3d.banner == "NO SCALP: navigation off"
    assert not window.display_panel.template_brain.isEnabled()
    brain_actor = window.view3d._actors["brain"]
    assert brain_actor.GetVisibility()          # no scalp to hide it: the brain is drawn
    # planning on the scalp says why it cannot, instead of a traceback
    window.planning_panel.add_box.choose("ten_twenty")
    window.planning_panel.add_target()
    assert "scalp" in window.last_error
    # the next image (with a scalp) lifts the block
    window.open_sample_head()
    assert window.wait_for_job(120_000)
    assert window.state.navigation_block == "" and window.view3d.banner == ""
