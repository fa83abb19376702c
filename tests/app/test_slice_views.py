"""Slice views in scanner (RAS) planes by default, stored planes on request: the head is upright,
patient right is drawn on the side labelled R in both conventions and both modes (oblique and
flipped storage, the sample head), a click on a resampled slice lands on the RAS point under it,
labels of close targets do not overlap, and a click re-slices only the planes that change."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from tmsnav.app.slice_view import Marker, SliceView
from tmsnav.navigation.imaging.display_resample import ScannerPlanes, StoredPlanes
from tmsnav.navigation.imaging.volume import Volume
from tmsnav.navigation.transforms import Frame, Transform
from tests.data_factories.mri_files import MARKER_RAS, oblique_affine, ras_affine, sample_on_grid

pytestmark = pytest.mark.gui

SHAPE = (90, 110, 100)
BLUE = "#0000ff"


def _volume(affine: np.ndarray, flip_x: bool = False) -> Volume:
    data = sample_on_grid(affine, SHAPE)
    if flip_x:  # same anatomy stored with voxel axis 0 reversed
        data = data[::-1].copy()
        flip = np.eye(4)
        flip[0, 0], flip[0, 3] = -1.0, SHAPE[0] - 1
        affine = affine @ flip
    return Volume.from_array(data, Transform(Frame.MRI, Frame.VOXEL, affine), name="synthetic")


def _oblique(flip_x: bool = False, deg=(0.0, 0.0, 20.0)) -> Volume:
    return _volume(oblique_affine(shape=SHAPE, degrees=deg), flip_x)


def _view(qtbot, orientation: str, volume: Volume, size: int = 420) -> SliceView:
    view = SliceView(orientation)
    qtbot.addWidget(view)
    view.resize(size, size)
    view.show()
    qtbot.waitExposed(view)
    view.set_grid(volume.display_grid(), 500.0, 1000.0)   # head grey 76, marker white
    return view


def grab_rgb(view: SliceView) -> np.ndarray:
    img = view.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    raw = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes())
    rows = raw.reshape(img.height(), img.bytesPerLine())[:, :img.width() * 3]
    rgb = rows.reshape(img.height(), img.width(), 3).copy()
    if view.mode_button.isVisible():   # its light text is not image content
        g = view.mode_button.geometry()
        rgb[g.top():g.bottom() + 1, g.left():g.right() + 1] = 0
    return rgb


def _centroid(mask: np.ndarray) -> np.ndarray:
    assert mask.sum() > 5, "nothing found on the slice"
    yx = np.argwhere(mask)
    return yx.mean(axis=0)[::-1]   # (x, y) widget pixels


def _white(rgb: np.ndarray) -> np.ndarray:
    """The bright marker of the image (grey, not a coloured overlay)."""
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return (r > 235) & (np.abs(r - g) < 8) & (np.abs(g - b) < 8)


def _blue(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 2] > 200) & (rgb[..., 0] < 60) & (rgb[..., 1] < 60)


def _head(rgb: np.ndarray) -> np.ndarray:
    """Grey image pixels brighter than the background, away from the edge letters and texts."""
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    mask = (r > 40) & (np.abs(r - g) < 8) & (np.abs(g - b) < 8)
    mask[:24], mask[-24:], mask[:, :24], mask[:, -24:] = False, False, False, False
    return mask


def _tilt_deg(mask: np.ndarray) -> float:
    yx = np.argwhere(mask).astype(float)
    yx -= yx.mean(axis=0)
    _, vecs = np.linalg.eigh(yx.T @ yx)
    return float(np.degrees(np.arccos(np.abs(vecs[:, -1]).max())))


def test_oblique_image_is_shown_upright_in_scanner_planes_by_default(qtbot):
    view = _view(qtbot, "axial", _oblique())
    assert view.plane_mode == "scanner" and isinstance(view.planes, ScannerPlanes)
    assert view.mode_button.isVisible() and view.mode_button.text().startswith("Scanner")
    view.set_cursor(np.array([2.0, -8.0, 12.0]))
    assert _tilt_deg(_head(grab_rgb(view))) < 1.5
    view.mode_button.click()   # to the stored planes: the head is tilted by the obliquity
    assert view.plane_mode == "stored" and isinstance(view.planes, StoredPlanes)
    assert "20°" in view.mode_button.text()
    assert _tilt_deg(_head(grab_rgb(view))) == pytest.approx(20.0, abs=2.5)


def test_axis_aligned_image_has_no_mode_button(qtbot):
    view = _view(qtbot, "axial", _volume(ras_affine(shape=SHAPE)))
    assert not view.mode_button.isVisible()
    assert isinstance(view.planes, StoredPlanes)


@pytest.mark.safety(hazard="left-right",
                    control="on oblique and oblique + flipped images, in scanner and stored planes and in both "
                            "conventions, a marker at patient right (+x) is drawn on the side labelled R and the "
                            "image's left-hemisphere marker on the side labelled L (axial and coronal; also a "
                            "flipped, not oblique, image)")
@pytest.mark.parametrize("orientation", ["axial", "coronal"])
@pytest.mark.parametrize("storage", ["oblique", "oblique+flipped", "flipped"])
def test_patient_right_is_drawn_on_the_side_labelled_r(qtbot, orientation, storage):
    volume = (_volume(ras_affine(shape=SHAPE), flip_x=True) if storage == "flipped"
              else _oblique(storage == "oblique+flipped", deg=(10.0, -5.0, 20.0)))
    view = _view(qtbot, orientation, volume)
    view.set_cursor(MARKER_RAS)   # the slice through the left marker
    for mode, radiological in itertools.product(("scanner", "stored"), (False, True)):
        view.set_plane_mode(mode)
        view.set_radiological(radiological)
        # a point on the shown slice, 76 mm from the marker along the slice's horizontal axis:
        # patient right in RAS (x > 0) in either mode (the stored axis is 20 degrees off R)
        planes = view.planes
        d = planes.mri_to_display(MARKER_RAS)
        d[0] += 76.0 / planes.spacing_mm[0]
        right = planes.display_to_mri(d)
        assert right[0] > 20.0
        view.set_markers([Marker(tuple(right), BLUE)])
        letters = view.edge_letters()
        assert {letters["left"], letters["right"]} == {"L", "R"}
        rgb = grab_rgb(view)
        mid = view.width() / 2.0
        right_x = _centroid(_blue(rgb))[0]
        left_x = _centroid(_white(rgb))[0]
        right_side = "right" if right_x > mid else "left"
        left_side = "right" if left_x > mid else "left"
        assert letters[right_side] == "R", f"{mode}, radiological={radiological}: patient right drawn under L"
        assert letters[left_side] == "L", f"{mode}, radiological={radiological}: the left marker drawn under R"


@pytest.mark.safety(hazard="left-right",
                    control="on the sample head the LPA is drawn on the side labelled L and the RPA on the side "
                            "labelled R, neurological and radiological, scanner and stored planes")
def test_sample_head_fiducials_on_their_labelled_sides(qtbot):
    from tmsnav.navigation.imaging.volume import load_volume
    from tmsnav.navigation.sample_head import sample_head_fiducials, sample_head_path

    vol = load_volume(sample_head_path())
    fid = sample_head_fiducials()
    view = SliceView("coronal")
    qtbot.addWidget(view)
    view.resize(420, 420)
    view.show()
    qtbot.waitExposed(view)
    view.set_grid(vol.display_grid(), *vol.default_window())
    view.set_cursor((fid["lpa"] + fid["rpa"]) / 2.0)
    assert isinstance(view.planes, ScannerPlanes)   # ~3 degrees oblique
    for mode, radiological in itertools.product(("scanner", "stored"), (False, True)):
        view.set_plane_mode(mode)
        view.set_radiological(radiological)
        letters = view.edge_letters()
        for name, letter in (("lpa", "L"), ("rpa", "R")):
            x = view.mri_to_widget(fid[name]).x()
            assert letters["right" if x > view.width() / 2 else "left"] == letter, (name, mode, radiological)
        # a click on the landmark's pixel gives its RAS point (in-plane exact, depth: the plane shown)
        view.set_cursor(fid["lpa"])
        with qtbot.waitSignal(view.cursorPicked, timeout=5000) as picked:
            view.click_at(view.mri_to_widget(fid["lpa"]))
        view.set_cursor((fid["lpa"] + fid["rpa"]) / 2.0)
        got = np.asarray(picked.args[0])
        # (stored planes: snapping to the tilted plane moves the point by < 0.1 mm in-plane)
        np.testing.assert_allclose(got[[0, 2]], fid["lpa"][[0, 2]], atol=1e-6 if mode == "scanner" else 0.1)
        assert abs(got[1] - fid["lpa"][1]) <= view.planes.spacing_mm.max()


@pytest.mark.parametrize("mode", ["scanner", "stored"])
@pytest.mark.parametrize("radiological", [False, True])
def test_click_on_the_marker_seen_on_screen_returns_its_ras_point(qtbot, mode, radiological):
    view = _view(qtbot, "axial", _oblique(flip_x=True, deg=(15.0, -10.0, 20.0)))
    view.set_plane_mode(mode)
    view.set_radiological(radiological)
    view.set_cursor(MARKER_RAS)
    x, y = _centroid(_white(grab_rgb(view)))
    with qtbot.waitSignal(view.cursorPicked, timeout=5000) as picked:
        qtbot.mouseClick(view, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(int(round(x)), int(round(y))))
    point = np.asarray(picked.args[0])
    # the marker is a sphere of radius 8 mm: its on-screen centre is its RAS centre (pixel ~0.5 mm)
    np.testing.assert_allclose(point[:2], MARKER_RAS[:2], atol=1.5)
    # depth: the plane shown, within one display voxel of the marker centre
    assert abs(point[2] - MARKER_RAS[2]) <= view.planes.spacing_mm[2]
    assert abs(view.planes.mri_to_display(point)[2] - view.slice_index) < 1e-6


def test_switching_planes_keeps_the_cursor_in_mm(qtbot):
    view = _view(qtbot, "sagittal", _oblique())
    target = np.array([10.0, -20.0, 30.0])
    view.set_cursor(target)
    for mode in ("stored", "scanner", "stored"):
        view.set_plane_mode(mode)
        pos = view.mri_to_widget(target)
        got = view.widget_to_mri(pos)
        # in-plane exact; depth snapped to the shown plane (within half a display voxel)
        np.testing.assert_allclose(got, target, atol=view.planes.spacing_mm.max() / 2 + 1e-6)
    with pytest.raises(ValueError):
        view.set_plane_mode("voxel")


def test_labels_of_two_targets_5_mm_apart_do_not_overlap(qtbot):
    view = _view(qtbot, "axial", _oblique())
    a = np.array([30.0, 20.0, 40.0])
    b = a + [5.0, 0.0, 0.0]
    markers = [Marker(tuple(a), "#ff9800", "M1 hand"), Marker(tuple(b), "#03a9f4", "▶ M1 hand (2)"),
               Marker(tuple(a + [0, 0, -20]), "#ff9800", "")]   # a cortex point, unlabelled
    view.set_markers(markers)
    view.set_cursor(a)
    view.grab()   # paints
    rects = dict(view.label_rects)
    assert set(rects) == {"M1 hand", "▶ M1 hand (2)"}
    pa, pb = view.mri_to_widget(a), view.mri_to_widget(b)
    assert abs(pa.x() - pb.x()) < rects["M1 hand"].width()   # the old fixed offset would overlap
    assert not rects["M1 hand"].intersects(rects["▶ M1 hand (2)"])
    for rect in rects.values():
        for p in (pa, pb):
            assert not rect.intersects(QtCore.QRectF(p.x() - 5, p.y() - 5, 10, 10)), "a label hides a dot"
        assert QtCore.QRectF(view.rect()).contains(rect)
        for b in view.reserved_boxes():   # edge letters, slice number, mode button
            assert not rect.intersects(QtCore.QRectF(b.x, b.y, b.w, b.h))


def test_stored_planes_are_views_of_the_voxels_not_copies():
    # The click latency of issue 12: np.take on the re-ordered grid copied the whole volume for
    # every plane (88 ms on the sample head); basic indexing returns a view.
    vol = _volume(ras_affine(shape=SHAPE), flip_x=True)
    grid = vol.display_grid()
    planes = StoredPlanes(grid)
    for axis in range(3):
        plane = planes.plane(axis, 20)
        assert np.shares_memory(plane, vol.data)
        np.testing.assert_array_equal(plane, np.take(grid.data, 20, axis=axis))


def test_a_slice_click_allocates_planes_not_volumes(qtbot):
    """Work per click without a wall clock: the old path (np.take on the re-ordered grid) copied
    the whole volume for each changed plane; now only plane-sized arrays are made."""
    import tracemalloc

    vol = _volume(ras_affine(shape=SHAPE), flip_x=True)   # a re-ordered (flipped) display grid
    views = {name: _view(qtbot, name, vol) for name in ("axial", "coronal", "sagittal")}
    for view in views.values():
        view.cursorPicked.connect(lambda p: [v.set_cursor(p) for v in views.values()])
        view.grab()
    axial = views["axial"]
    target = np.array([20.0, -30.0, 12.0])
    tracemalloc.start()
    try:
        qtbot.mouseClick(axial, QtCore.Qt.MouseButton.LeftButton, pos=axial.mri_to_widget(target).toPoint())
        for view in views.values():
            view.grab()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert views["coronal"].slice_index == int(round(views["coronal"].planes.mri_to_display(target)[1]))
    assert peak < vol.data.nbytes / 4, f"a click allocated {peak} bytes for a {vol.data.nbytes} byte volume"


def _count_slicing(window, counts: dict[str, int]) -> None:
    """Count plane extractions per view (the three views share one planes object per image)."""
    planes = window.slices["axial"].planes
    original = planes.plane
    by_axis = {view.s_axis: name for name, view in window.slices.items()}

    def counted(axis: int, index: int):
        counts[by_axis[axis]] += 1
        return original(axis, index)

    planes.plane = counted   # type: ignore[method-assign]


def _paint(window) -> None:
    for view in window.slices.values():
        view.grab()   # paintEvent now, as the event loop would


def test_a_slice_click_reslices_only_the_planes_that_change(window, qtbot):
    from tests.app.test_main_window import synthetic_head

    window._on_head_loaded(synthetic_head())
    _paint(window)
    counts = {name: 0 for name in window.slices}
    _count_slicing(window, counts)
    axial = window.slices["axial"]
    target = window.cursor_mri + [20.0, -30.0, 0.0]
    qtbot.mouseClick(axial, QtCore.Qt.MouseButton.LeftButton, pos=axial.mri_to_widget(target).toPoint())
    _paint(window)
    assert counts == {"axial": 0, "coronal": 1, "sagittal": 1}
    counts.update({name: 0 for name in counts})
    qtbot.mouseClick(axial, QtCore.Qt.MouseButton.LeftButton, pos=axial.mri_to_widget(target).toPoint())
    _paint(window)
    assert counts == {"axial": 0, "coronal": 0, "sagittal": 0}


def test_the_mode_button_switches_all_three_views_and_keeps_the_cursor(window, qtbot):
    from tmsnav.app.loading import LoadedHead

    window._on_head_loaded(LoadedHead(_oblique(), None, None))
    cursor = window.cursor_mri.copy()
    assert {v.plane_mode for v in window.slices.values()} == {"scanner"}
    window.slices["coronal"].mode_button.click()
    assert {v.plane_mode for v in window.slices.values()} == {"stored"}
    np.testing.assert_allclose(window.cursor_mri, cursor)
    window.slices["sagittal"].mode_button.click()
    assert {v.plane_mode for v in window.slices.values()} == {"scanner"}


def _pixels_match_the_phantom(view: SliceView, ph) -> float:
    """Fraction of sampled pixels whose brightness (head or air) agrees with the phantom's
    analytic scalp at the mm point :meth:`SliceView.widget_to_mri` gives for that pixel."""
    rgb = grab_rgb(view)
    agree = []
    for x in range(30, view.width() - 30, 9):
        for y in range(30, view.height() - 30, 9):
            mm = view.widget_to_mri(QtCore.QPointF(x + 0.5, y + 0.5))
            q = float(ph.scalp.quadratic(mm[None, :])[0])
            if abs(q - 1.0) < 0.08 or ph.on_bump(mm[None, :], 3.0)[0]:
                continue   # skip the partial-volume rim and the nose/ears
            agree.append((rgb[y, x, 0] > 25) == (q < 1.0))
    assert len(agree) > 500
    return float(np.mean(agree))


def test_oblique_phantom_in_the_window_scanner_and_stored_planes(window, qtbot, tmp_path):
    """The phantom head stored 10/0/20 degrees oblique: upright in scanner planes, tilted in
    stored planes, and in both every pixel shows the anatomy at the mm a click there would give
    (TMSNAV_SCREENSHOT_DIR keeps the pictures for docs/images)."""
    import os
    from pathlib import Path

    import pyvista as pv

    from tmsnav.app.loading import LoadedHead
    from tmsnav.navigation.phantom import make_phantom_head

    ph = make_phantom_head(2.0, rotation_deg=(10.0, 0.0, 20.0), seed=4)
    scalp = pv.ParametricEllipsoid(*ph.scalp_semi_axes_mm).translate(ph.scalp_centre_mm).triangulate()
    window._on_head_loaded(LoadedHead(ph.volume, scalp, None))
    window.set_cursor(ph.scalp_centre_mm)
    hand = ph.scalp_centre_mm + [35.0, 0.0, 40.0]
    window.set_markers("targets", [Marker(tuple(hand), "#ff9800", "M1 hand"),
                                   Marker(tuple(hand + [5.0, 0.0, 0.0]), "#03a9f4", "▶ M1 hand (2)"),
                                   Marker(tuple(ph.left_marker), "#e91e63", "left marker")])
    out = Path(os.environ.get("TMSNAV_SCREENSHOT_DIR", tmp_path))
    for mode, axial_tilt in (("scanner", 0.0), ("stored", 20.0)):
        if window.slices["axial"].plane_mode != mode:
            window.slices["axial"].mode_button.click()
        qtbot.wait(50)
        assert _tilt_deg(_head(grab_rgb(window.slices["axial"]))) == pytest.approx(axial_tilt, abs=2.0)
        for name, view in window.slices.items():
            assert _pixels_match_the_phantom(view, ph) > 0.98, f"{name} in {mode} planes"
        window.save_screenshot(out / f"slices-oblique-{mode}-planes.png")


def test_repainting_a_slice_does_not_repaint_the_window_behind_it(qtbot):
    """A slice view paints every pixel itself, so a cursor move must not make Qt paint the parent's
    background under it first (it did: the whole central area was repainted on every click)."""
    from PySide6 import QtWidgets

    parent = QtWidgets.QWidget()
    qtbot.addWidget(parent)
    layout = QtWidgets.QVBoxLayout(parent)
    view = SliceView("axial")
    layout.addWidget(view)
    parent.resize(400, 400)
    parent.show()
    qtbot.waitExposed(parent)
    view.set_grid(_oblique().display_grid(), 500.0, 1000.0)
    painted: list[str] = []

    class Spy(QtCore.QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
            if event.type() == QtCore.QEvent.Type.Paint:
                painted.append(obj.objectName() or type(obj).__name__)
            return False

    spy = Spy()
    parent.installEventFilter(spy)
    view.installEventFilter(spy)
    parent.repaint()                          # whatever was pending is painted now
    QtWidgets.QApplication.processEvents()
    painted.clear()
    view.set_cursor(MARKER_RAS)
    qtbot.waitUntil(lambda: "slice_axial" in painted, timeout=5000)
    assert "QWidget" not in painted


@pytest.mark.parametrize("orientation", ["axial", "coronal", "sagittal"])
def test_every_edge_letter_names_the_direction_drawn_toward_it(qtbot, orientation):
    """Not only L/R: a point 50 mm toward R, L, A, P, S or I from the cursor is drawn toward the
    edge carrying that letter, in both plane modes and both conventions, on an oblique LAS phantom."""
    from tmsnav.navigation.phantom import make_phantom_head

    ph = make_phantom_head(4.0, orientation="LAS", rotation_deg=(10.0, -5.0, 20.0))
    view = _view(qtbot, orientation, ph.volume)
    centre = ph.scalp_centre_mm
    view.set_cursor(centre)
    directions = {"R": (1, 0, 0), "L": (-1, 0, 0), "A": (0, 1, 0), "P": (0, -1, 0),
                  "S": (0, 0, 1), "I": (0, 0, -1)}
    for mode, radiological in itertools.product(("scanner", "stored"), (False, True)):
        view.set_plane_mode(mode)
        view.set_radiological(radiological)
        letters = view.edge_letters()
        c = view.mri_to_widget(centre)
        for edge, letter in letters.items():
            p = view.mri_to_widget(centre + 50.0 * np.asarray(directions[letter], float))
            dx, dy = p.x() - c.x(), p.y() - c.y()
            toward = {"left": -dx, "right": dx, "top": -dy, "bottom": dy}[edge]
            assert toward > 40.0, f"{orientation} {mode} radiological={radiological}: {letter} not toward {edge}"
