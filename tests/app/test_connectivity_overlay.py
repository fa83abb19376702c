"""The fMRI target's overlays without a computation: the map on a slice lands on the patient's
side it belongs to (whatever way the T1 and the run are stored, neurological or radiological
display), the surface sampling reads the cortical ribbon under each vertex, and the inputs are
refused with a clear message before any job starts."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtGui

from tmsnav.app.connectivity.compute_job import InputChoice, InputChoiceError, mri_from_run_voxel
from tmsnav.app.connectivity.overlay_slices import (LAYER, MapData, MapLayer, OverlaySettings, colour_lut,
                                                  rgba_for)
from tmsnav.app.connectivity.surface_sampling import sample_on_surface
from tmsnav.app.slice_view import SliceView
from tmsnav.navigation.imaging.volume import DisplayGrid
from tmsnav.navigation.transforms import Frame, Transform


def _affine(voxel_mm: float, n: int, flip_x: bool) -> np.ndarray:
    """A grid of n^3 voxels centred on mri (0, 0, 0); x stored right-to-left when flip_x (LAS)."""
    a = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    a[:3, 3] = -voxel_mm * (n - 1) / 2.0
    if flip_x:
        a[0, 0] = -voxel_mm
        a[0, 3] = voxel_mm * (n - 1) / 2.0
    return a


def _left_blob_map(flip_x: bool) -> MapData:
    """A run on a 3 mm grid with r = -0.8 in the patient's LEFT hemisphere (mri x < -6 mm)."""
    n = 21
    affine = _affine(3.0, n, flip_x)
    ijk = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    x_mm = (affine[:3, :3] @ ijk.T + affine[:3, 3:4])[0].reshape(n, n, n)
    r = np.where(x_mm < -6.0, -0.8, np.nan).astype(np.float32)
    search = np.isfinite(r)
    cluster = search & (x_mm < -15.0)
    return MapData(r, search, cluster, affine, np.array([-20.0, 0, 0]), [])


def _blue_columns(view: SliceView) -> np.ndarray:
    """x positions (widget px) of the map's blue pixels in a grab of the view."""
    img = view.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())[:, :3 * w].reshape(h, w, 3)
    arr = arr.astype(int)
    blue = (arr[..., 2] - arr[..., 0] > 40) & (arr[..., 2] > arr[..., 1])
    return np.nonzero(blue)[1]


@pytest.mark.safety(hazard="left-right",
                    control="the fMRI correlation map drawn on a slice sits on the side of the 'L' edge "
                            "letter for a left-hemisphere blob, for RAS- and LAS-stored T1s and runs, "
                            "in neurological and radiological display")
@pytest.mark.parametrize("t1_flip", [False, True])
@pytest.mark.parametrize("run_flip", [False, True])
def test_map_on_a_slice_stays_on_the_patients_left(qtbot, t1_flip, run_flip):
    n = 64
    t1 = np.full((n, n, n), 100.0, np.float32)
    grid = DisplayGrid.from_volume(t1, Transform(Frame.MRI, Frame.VOXEL, _affine(1.0, n, t1_flip)))
    view = SliceView("axial")
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_grid(grid, 100.0, 200.0)
    view.set_cursor(np.zeros(3))
    view.set_layer(LAYER, MapLayer(_left_blob_map(run_flip), OverlaySettings(show_search=False,
                                                                                show_cluster=False), colour_lut()))
    centre = view.width() / 2.0
    for radiological in (False, True):
        view.set_radiological(radiological)
        cols = _blue_columns(view)
        assert cols.size > 200, "the map was not drawn"
        left_on_screen_left = view.edge_letters()["left"] == "L"
        assert left_on_screen_left == (not radiological)
        side = np.mean(cols) < centre
        assert side == left_on_screen_left, (
            f"map drawn on the wrong side (radiological={radiological}, t1_flip={t1_flip}, run_flip={run_flip})")
        assert (view.mri_to_widget(np.array([-20.0, 0, 0])).x() < centre) == left_on_screen_left
    view.set_layer(LAYER, None)
    assert _blue_columns(view).size == 0


def test_threshold_and_opacity_of_the_colour_layer():
    lut = colour_lut()
    r = np.array([-0.9, -0.3, -0.05, 0.0, 0.5, np.nan])
    rgba = rgba_for(r, 0.9, lut, threshold=0.1, opacity=0.5)
    assert list(rgba[:, 3]) == [128, 128, 0, 0, 128, 0]     # |r| < 0.1 and NaN stay clear
    assert rgba[0, 2] > rgba[0, 0] + 50                       # negative r is blue ...
    assert rgba[4, 0] > rgba[4, 2] + 50                       # ... positive r is red
    assert np.all(rgba_for(r, 0.9, lut, threshold=0.95, opacity=1.0)[:, 3] == 0)


def test_surface_sampling_reads_the_ribbon_under_each_vertex():
    """A flat 'brain surface' at z = 10 mm with outward normals +z over a map defined only
    between z = 2 and 8 mm (the ribbon): each vertex takes the ribbon's value; a vertex beyond the
    map stays NaN; normals pointing the wrong way (into the air) find nothing."""
    affine = _affine(2.0, 21, False)                     # -20..20 mm
    ijk = np.stack(np.meshgrid(*[np.arange(21)] * 3, indexing="ij"), -1).reshape(-1, 3).T
    xyz = (affine[:3, :3] @ ijk + affine[:3, 3:4]).T.reshape(21, 21, 21, 3)
    ribbon = (xyz[..., 2] >= 2) & (xyz[..., 2] <= 8)
    r = np.where(ribbon, -0.5 + 0.01 * xyz[..., 0], np.nan).astype(np.float32)
    cluster = ribbon & (xyz[..., 0] < -6)
    points = np.array([[-10.0, 0, 10], [0.0, 0, 10], [10.0, 0, 10], [40.0, 0, 10]])
    normals = np.tile([0.0, 0.0, 1.0], (4, 1))
    values, in_cluster = sample_on_surface(r, cluster, affine, points, normals)
    np.testing.assert_allclose(values[:3], [-0.6, -0.5, -0.4], atol=1e-6)
    assert np.isnan(values[3])
    assert list(in_cluster) == [True, False, False, False]
    wrong, _ = sample_on_surface(r, cluster, affine, points, -normals)
    assert np.all(np.isnan(wrong))


def test_an_mni_space_run_goes_through_the_patients_registration():
    """A run in MNI space is drawn through mri_from_mni, never as if MNI were the patient's mm."""
    class Run:
        space = Frame.MNI
        space_from_voxel = np.diag([2.0, 2.0, 2.0, 1.0])

    mri_from_mni = Transform.from_translation([5.0, -3.0, 12.0], to_frame=Frame.MRI, from_frame=Frame.MNI)
    m = mri_from_run_voxel(Run(), mri_from_mni)
    np.testing.assert_allclose(m @ [1, 1, 1, 1], [7.0, -1.0, 14.0, 1.0])
    Run.space = Frame.MRI
    np.testing.assert_allclose(mri_from_run_voxel(Run(), mri_from_mni) @ [1, 1, 1, 1], [2, 2, 2, 1])


@pytest.mark.parametrize("make, expected", [
    (lambda d: InputChoice("bold", ""), "Choose a BOLD file"),
    (lambda d: InputChoice("fmriprep", " "), "Choose an fMRIPrep or BIDS folder"),
    (lambda d: InputChoice("bold", str(d / "missing.nii.gz")), "missing.nii.gz does not exist"),
    (lambda d: InputChoice("bold", str(d)), "is a folder; a 4-D BOLD NIfTI file is needed"),
    (lambda d: InputChoice("fmriprep", str(d / "run.nii.gz")), "is a file; an fMRIPrep or BIDS folder"),
    (lambda d: InputChoice("bold", str(d / "run.nii.gz"), confounds=str(d)), "confounds TSV"),
])
def test_unusable_choices_are_refused_with_their_cause(tmp_path, make, expected):
    (tmp_path / "run.nii.gz").write_bytes(b"x")
    with pytest.raises(InputChoiceError, match=expected):
        make(tmp_path).checked()


def test_participants_are_listed_from_bids_and_derivatives(tmp_path):
    from tmsnav.app.connectivity.inputs_box import participants_in

    for d in ("sub-02", "derivatives/fmriprep/sub-01", "derivatives/fmriprep/sub-02"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "sub-03.html").write_text("report")
    assert participants_in(tmp_path) == ["01", "02"]


def test_result_box_shows_every_warning_and_the_minimal_pipeline_label(qtbot):
    """Each warning in full, the MINIMAL label for the built-in pipeline, and the numbers."""
    from types import SimpleNamespace

    from tmsnav.app.connectivity.result_box import ResultBox
    from tmsnav.navigation.connectivity.params import ConnectivityParams

    warnings = ["the sgACC seed has a low temporal SNR (12 < 20): susceptibility dropout; check the EPI",
                "42 % of the volumes were scrubbed (FD > 0.5 mm): the run moved a lot"]
    result = SimpleNamespace(params=ConnectivityParams(), pipeline="minimal", target_mni_mm=[-40.0, 42.0, 28.0],
                             correlation_at_target=-0.41, cluster_voxels=57, cluster_volume_mm3=2443.9,
                             stability_mm=4.25, n_volumes_used=174, scrubbed_fraction=0.42, mean_fd_mm=0.31,
                             seed_tsnr=12.0, warnings=warnings,
                             distance_to_mni_mm=lambda xyz: float(np.linalg.norm(np.subtract(xyz, [-40, 42, 28]))))
    box = ResultBox()
    qtbot.addWidget(box)
    box.show()
    box.show_result(result, ["Sample run: 1.2 mm from the planted target"])
    text = box.evidence_text()
    for words in warnings + ["MINIMAL", "r at target: -0.41", "Cluster: 57 voxels (2444 mm³)",
                             "Distance to the Fox 2012 group target: 3.5 mm", "moves 4.2 mm", "42 % scrubbed",
                             "seed tSNR 12", "1.2 mm from the planted target"]:
        assert words in text, words
    assert box.minimal_label.isVisible() and box.add_button.isEnabled()
    box.clear()
    assert not box.minimal_label.isVisible() and not box.add_button.isEnabled()
    assert "No target computed" in box.evidence_text()


def test_params_box_gives_the_method_and_refuses_what_the_method_refuses(qtbot):
    from tmsnav.app.connectivity.params_box import ParamsBox
    from tmsnav.navigation.connectivity.method_errors import ConnectivityError
    from tmsnav.navigation.connectivity.params import ConnectivityParams

    box = ParamsBox()
    qtbot.addWidget(box)
    assert box.params() == ConnectivityParams()            # the published defaults
    box.method.setCurrentIndex(box.method.findData("peak"))
    box.spins["seed_radius_mm"].setValue(6)
    box.spins["fd_threshold_mm"].setValue(0.3)
    p = box.params()
    assert (p.method, p.seed_radius_mm, p.fd_threshold_mm) == ("peak", 6.0, 0.3)
    box.spins["smoothing_fwhm_mm"].setMaximum(40)
    box.spins["smoothing_fwhm_mm"].setValue(30)              # beyond what the method accepts
    with pytest.raises(ConnectivityError, match="smoothing_fwhm_mm"):
        box.params()
    box.reset()
    assert box.params() == ConnectivityParams()


def test_search_region_and_cluster_outlines_follow_their_toggles(qtbot):
    """White outline = search region, yellow = cluster, each drawn only while its box is ticked,
    and an outline is the region's border, not the region filled."""
    from tmsnav.app.connectivity.overlay_slices import CLUSTER_COLOUR, SEARCH_COLOUR

    n = 64
    grid = DisplayGrid.from_volume(np.full((n, n, n), 100.0, np.float32),
                                   Transform(Frame.MRI, Frame.VOXEL, _affine(1.0, n, False)))
    view = SliceView("axial")
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    view.set_grid(grid, 100.0, 200.0)
    view.set_cursor(np.zeros(3))
    data = _left_blob_map(False)

    def counts(**flags) -> tuple[int, int, int]:
        rgba = MapLayer(data, OverlaySettings(**flags), colour_lut()).plane_rgba(view)
        opaque = rgba[..., 3] == 255
        white = opaque & np.all(rgba[..., :3] == SEARCH_COLOUR, axis=-1)
        yellow = opaque & np.all(rgba[..., :3] == CLUSTER_COLOUR, axis=-1)
        return int(white.sum()), int(yellow.sum()), int((rgba[..., 3] > 0).sum())

    white, yellow, drawn = counts(show_map=False)
    assert white > 20 and yellow > 20
    search_area = int(sample_on_area(data, view))
    assert white + yellow < search_area / 2, "outlines, not filled regions"
    assert counts(show_map=False, show_search=False)[:2] == (0, yellow)
    only_search = counts(show_map=False, show_cluster=False)
    assert only_search[1] == 0 and only_search[0] >= white     # (the cluster border drew over part of it)
    assert counts(show_map=False, show_search=False, show_cluster=False)[2] == 0


def sample_on_area(data: MapData, view: SliceView) -> int:
    """Pixels of the search region on the view's plane."""
    from tmsnav.app.connectivity.surface_sampling import sample_plane

    planes = view.planes
    m = data.voxel_from_mri @ planes.mri_from_display.matrix
    return int(sample_plane(data.search, m, view.s_axis, view.slice_index, planes.shape, order=0).sum())
