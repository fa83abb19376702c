"""Main window: 3-D view renders, slices and 3-D share one cursor, L/R stays left on screen,
bad files give a dialog and the app stays usable. Runs under Xvfb with QT_QPA_PLATFORM=xcb."""

import numpy as np
import pytest
import pyvista as pv
from PySide6 import QtCore, QtGui

from tmsnav.app.loading import LoadedHead
from tmsnav.navigation.imaging.volume import Volume
from tmsnav.navigation.transforms import Transform

pytestmark = pytest.mark.gui

MARKER_MRI = np.array([-40.0, 10.0, 20.0])  # patient's LEFT hemisphere


def synthetic_head(las: bool = False) -> LoadedHead:
    """A 2 mm ellipsoid head with a bright marker in the left hemisphere, stored RAS or LAS."""
    shape = (90, 110, 100)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-89.0, -109.0, -99.0]
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1)
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    r = (xyz[..., 0] / 75) ** 2 + (xyz[..., 1] / 95) ** 2 + (xyz[..., 2] / 85) ** 2
    data = np.where(r < 1.0, 300, 0).astype(np.int16)
    data[np.linalg.norm(xyz - MARKER_MRI, axis=-1) < 6] = 900
    if las:  # store the same head with the x axis reversed: the world must not change
        data = data[::-1].copy()
        flip = np.diag([-1.0, 1.0, 1.0, 1.0])
        flip[0, 3] = shape[0] - 1
        affine = affine @ flip
    volume = Volume.from_array(data, Transform("mri", "voxel", affine), name="synthetic")
    scalp = pv.ParametricEllipsoid(75, 95, 85).triangulate()
    brain = pv.ParametricEllipsoid(60, 80, 65).triangulate()
    return LoadedHead(volume, scalp, brain)


def non_background_fraction(img: np.ndarray) -> float:
    corner = img[2, 2].astype(int)
    return float(np.mean(np.abs(img.astype(int) - corner).sum(axis=-1) > 30))


def test_3d_view_renders_the_head_not_black(window, qtbot):
    window._on_head_loaded(synthetic_head())
    qtbot.wait(50)
    img = window.view3d.plotter.screenshot(None, return_img=True)
    assert img.mean() > 20, "3-D view rendered black"
    assert non_background_fraction(img) > 0.05, "3-D view shows no head"


def test_slice_click_moves_3d_cursor_to_the_clicked_mm(window, qtbot):
    head = synthetic_head()
    window._on_head_loaded(head)
    axial = window.slices["axial"]
    target = np.array([20.0, -30.0, window.cursor_mri[2]])
    pos = axial.mri_to_widget(target)
    qtbot.mouseClick(axial, QtCore.Qt.MouseButton.LeftButton, pos=pos.toPoint())
    # clicked point within half a pixel (~1 mm) of the intended mm coordinate, same slice height
    np.testing.assert_allclose(window.cursor_mri[:2], target[:2], atol=1.5)
    assert window.cursor_mri[2] == pytest.approx(target[2], abs=1.0)
    np.testing.assert_allclose(window.view3d.cursor_mm, window.cursor_mri)
    for name in ("coronal", "sagittal"):
        view = window.slices[name]
        d = head.volume.display_grid().mri_to_display(window.cursor_mri)
        assert view.slice_index == int(np.round(d[view.s_axis]))
    x, y, z = window.cursor_mri
    assert f"mri RAS ({x:+.1f}, {y:+.1f}, {z:+.1f}) mm" in window.cursor_label.text()


def test_3d_click_on_scalp_moves_slices(window, qtbot):
    window._on_head_loaded(synthetic_head())
    window.view3d.view_from("front")
    qtbot.wait(50)
    surface_point = np.array([0.0, 95.0, 0.0])  # tip of the nose-side of the ellipsoid
    x, y = window.view3d.world_to_display(surface_point)
    picked = window.view3d.pick_at(int(round(x)), int(round(y)))
    assert picked is not None
    assert np.linalg.norm(picked - surface_point) < 3.0
    window.view3d.cursorPicked.emit(picked)
    np.testing.assert_allclose(window.cursor_mri, picked)
    d = window.head.volume.display_grid().mri_to_display(picked)
    assert window.slices["axial"].slice_index == int(np.round(d[2]))


def widget_rgb(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    arr = np.array([[img.pixel(x, y) for x in range(img.width())] for y in range(img.height())],
                   dtype=np.uint32)
    return np.stack([(arr >> 16) & 255, (arr >> 8) & 255, arr & 255], axis=-1).astype(np.uint8)


@pytest.mark.safety(hazard="left-right", control=("the left marker is drawn on the screen's left in neurological and "
                                                  "right in radiological display"))
@pytest.mark.parametrize("las", [False, True])
def test_left_marker_is_drawn_on_the_left_in_neurological_and_right_in_radiological(window, qtbot, las):
    window._on_head_loaded(synthetic_head(las=las))
    window.set_cursor(MARKER_MRI)
    axial = window.slices["axial"]
    axial.set_window(600.0, 1200.0)  # head dark grey (64), marker light grey (191)
    for radiological, expect_left_half in ((False, True), (True, False)):
        axial.set_radiological(radiological)
        blue = widget_rgb(axial)[..., 2].astype(int)  # overlays (cursor, labels) carry little blue
        col = int(np.argmax(blue.max(axis=0)))
        assert blue.max() > 150
        assert (col < axial.width() / 2) == expect_left_half
        assert (axial.mri_to_widget(MARKER_MRI).x() < axial.width() / 2) == expect_left_half


def test_bad_file_shows_dialog_and_app_stays_usable(window, qtbot, tmp_path):
    bad = tmp_path / "notes.nii.gz"
    bad.write_bytes(b"this is not an image")
    with qtbot.waitSignal(window.loadFailed, timeout=20_000) as blocker:
        window.open_image(bad)
    assert "notes.nii.gz" in blocker.args[0]
    assert window.last_error and window._error_box.isVisible()
    window._error_box.close()
    window.wait_for_job()
    window._on_head_loaded(synthetic_head())  # still usable
    assert window.head is not None
