"""The GUI never picks an orientation or a series silently: it asks, then loads what was chosen."""

import numpy as np
import pytest
from PySide6 import QtWidgets

from tests.data_factories.dicom_files import write_series
from tests.data_factories.mri_files import small_head, write_nifti

pytestmark = pytest.mark.gui


def find_dialog(window, name):
    return window.findChild(QtWidgets.QDialog, name)


@pytest.mark.safety(hazard="orientation",
                    control="the GUI asks which of qform/sform to use and loads exactly the choice")
def test_qform_sform_disagreement_asks_then_loads_the_choice(window, qtbot, tmp_path):
    data, affine = small_head()
    flipped = affine.copy()
    flipped[0] *= -1  # qform says the x axis runs the other way: a left/right flip
    path = write_nifti(tmp_path / "ambiguous.nii.gz", data, affine, qform=flipped)
    window.open_image(path)
    qtbot.waitUntil(lambda: find_dialog(window, "orientation_box") is not None, timeout=20_000)
    box = find_dialog(window, "orientation_box")
    assert "sform" in box.text() and "qform" in box.text()
    assert window.head is None  # nothing shown before the user chooses
    button = next(b for b in box.buttons() if b.text() == "Use sform")
    with qtbot.waitSignal(window.headLoaded, timeout=30_000):
        button.click()
    assert window.head.volume.affine_source == "sform"
    np.testing.assert_allclose(window.head.volume.mri_from_voxel.matrix, affine, atol=1e-4)


def test_dicom_folder_with_two_series_asks_which(window, qtbot, tmp_path):
    uid_t1, _ = write_series(tmp_path, description="T1 MPRAGE", series_number=3, n_slices=30)
    write_series(tmp_path, description="localizer", series_number=1, n_slices=12, name_fmt="LOC{:04d}.dcm")
    window.open_image(tmp_path)
    qtbot.waitUntil(lambda: find_dialog(window, "series_dialog") is not None, timeout=20_000)
    dialog = find_dialog(window, "series_dialog")
    t1_label = next(s for s in dialog.comboBoxItems() if "T1 MPRAGE" in s)
    dialog.setTextValue(t1_label)
    with qtbot.waitSignal(window.headLoaded, timeout=30_000):
        dialog.accept()
    assert window.head.volume.shape[2] == 30


@pytest.mark.safety(hazard="orientation", control="navigation stays disabled until the orientation is confirmed")
def test_unknown_orientation_blocks_navigation_until_confirmed(window, qtbot, tmp_path):
    data, affine = small_head()
    path = write_nifti(tmp_path / "nocodes.nii", data, affine, qcode=0, scode=0)
    with qtbot.waitSignal(window.headLoaded, timeout=30_000):
        window.open_image(path)
    box = find_dialog(window, "confirm_orientation_box")
    assert box is not None and box.isVisible()
    assert window.state.navigation_block.startswith("ORIENTATION NOT CONFIRMED")
    assert window.view3d.banner.startswith("ORIENTATION NOT CONFIRMED")
    ok = next(b for b in box.buttons() if b.text() == "Left/right is correct")
    ok.click()
    assert window.state.navigation_block == ""
    assert window.view3d.banner == ""
    assert not window.head.volume.report.needs_confirmation


@pytest.mark.safety(hazard="left-right", control="the 'mirror L/R' answer flips image and surfaces together")
def test_mirror_answer_flips_world_x_of_image_and_surfaces(window, qtbot, tmp_path):
    data, affine = small_head()
    path = write_nifti(tmp_path / "nocodes.nii", data, affine, qcode=0, scode=0)
    with qtbot.waitSignal(window.headLoaded, timeout=30_000):
        window.open_image(path)
    before_x = window.head.volume.voxel_to_mri([10, 50, 50])[0]
    scalp_x = float(window.head.scalp.center[0])
    box = find_dialog(window, "confirm_orientation_box")
    next(b for b in box.buttons() if b.text() == "Mirror left/right").click()
    assert window.head.volume.voxel_to_mri([10, 50, 50])[0] == pytest.approx(-before_x)
    assert float(window.head.scalp.center[0]) == pytest.approx(-scalp_x, abs=1e-3)
    assert "mirrored" in window.head.volume.report.summary()
