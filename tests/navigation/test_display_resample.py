"""Scanner-plane (RAS) slices resampled for display only: geometry against known truth, left stays
left on oblique and flipped storage, the data is never changed, and planes are cached per image."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.navigation.imaging.display_resample import (
    ScannerPlanes, StoredPlanes, obliquity_deg, slice_planes,
)
from tmsnav.navigation.imaging.volume import Volume
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.transforms import Frame, Transform
from tests.data_factories.mri_files import (
    HEAD_VALUE, MARKER_RAS, MARKER_VALUE, head_value_ras, oblique_affine, ras_affine, sample_on_grid,
)

SHAPE = (90, 110, 100)


def _volume(affine: np.ndarray, *, flip_x: bool = False) -> Volume:
    data = sample_on_grid(affine, SHAPE)
    if flip_x:  # same anatomy, voxel axis 0 stored the other way round (LAS-like)
        data = data[::-1].copy()
        flip = np.eye(4)
        flip[0, 0], flip[0, 3] = -1.0, SHAPE[0] - 1
        affine = affine @ flip
    return Volume.from_array(data, Transform(Frame.MRI, Frame.VOXEL, affine), name="synthetic")


def _oblique(deg=(0.0, 0.0, 20.0), flip_x: bool = False) -> Volume:
    return _volume(oblique_affine(shape=SHAPE, degrees=deg), flip_x=flip_x)


def _pixel_mm(planes, axis: int, index: int) -> np.ndarray:
    """mri mm of every pixel centre of plane ``index`` along ``axis``, shape (nh, nv, 3)."""
    h, v = [a for a in range(3) if a != axis]
    d = np.zeros((planes.shape[h], planes.shape[v], 3))
    d[..., h] = np.arange(planes.shape[h])[:, None]
    d[..., v] = np.arange(planes.shape[v])[None, :]
    d[..., axis] = index
    return planes.display_to_mri(d.reshape(-1, 3)).reshape(d.shape)


def _marker_mm(planes, axis: int, point_mm: np.ndarray) -> np.ndarray:
    """Centroid (mri mm) of the marker-bright pixels of the plane through ``point_mm``."""
    index = int(round(planes.mri_to_display(point_mm)[axis]))
    plane = np.asarray(planes.plane(axis, index), float)
    bright = np.nan_to_num(plane, nan=0.0) > (HEAD_VALUE + MARKER_VALUE) / 2.0
    assert bright.sum() > 10, "the marker is not on the plane through it"
    return _pixel_mm(planes, axis, index)[bright].mean(axis=0)


def _tilt_deg(mask: np.ndarray) -> float:
    """Angle between the long axis of a 2-D blob and the nearest image axis (degrees)."""
    ij = np.argwhere(mask).astype(float)
    ij -= ij.mean(axis=0)
    _, vecs = np.linalg.eigh(ij.T @ ij)
    long_axis = vecs[:, -1]
    return float(np.degrees(np.arccos(np.abs(long_axis).max())))


def test_obliquity_of_aligned_flipped_and_rotated_storage():
    assert obliquity_deg(ras_affine()) == pytest.approx(0.0, abs=1e-9)
    las = ras_affine() @ np.diag([-1.0, 1.0, 1.0, 1.0])
    assert obliquity_deg(las) == pytest.approx(0.0, abs=1e-9)
    assert obliquity_deg(oblique_affine(degrees=(0.0, 0.0, 20.0))) == pytest.approx(20.0, abs=1e-6)
    asr = make_phantom_head(4.0, orientation="ASR").volume
    assert obliquity_deg(asr.mri_from_voxel.matrix) == pytest.approx(0.0, abs=1e-9)


def test_aligned_image_shows_its_exact_voxels_in_scanner_mode():
    vol = _volume(ras_affine(shape=SHAPE))
    grid = vol.display_grid()
    planes = slice_planes(grid, "scanner")
    assert isinstance(planes, StoredPlanes) and planes.exact_axes
    np.testing.assert_array_equal(planes.plane(2, 40), grid.data[:, :, 40])
    np.testing.assert_array_equal(planes.plane(0, 12), grid.data[12])


def test_scanner_planes_of_an_oblique_image_match_the_anatomy_at_every_pixel():
    vol = _oblique()
    planes = slice_planes(vol.display_grid(), "scanner")
    assert isinstance(planes, ScannerPlanes) and planes.exact_axes
    lin = planes.mri_from_display.matrix[:3, :3]
    np.testing.assert_allclose(lin, np.diag(np.diag(lin)))   # pure scale: no rotation left
    assert np.all(np.diag(lin) > 0)                           # axes point R, A, S (not L, P, I)
    for axis in range(3):
        index = int(round(planes.mri_to_display(MARKER_RAS)[axis]))
        plane = np.asarray(planes.plane(axis, index), float)
        truth = head_value_ras(_pixel_mm(planes, axis, index)).astype(float)
        inside = np.isfinite(plane)
        assert inside.mean() > 0.5
        # interpolation blurs the edges only: the value class agrees almost everywhere
        agree = np.abs(plane[inside] - truth[inside]) < 150
        assert agree.mean() > 0.97, f"axis {axis}: resampled plane does not match the anatomy"
        np.testing.assert_allclose(_marker_mm(planes, axis, MARKER_RAS), MARKER_RAS, atol=1.5)


def test_scanner_planes_agree_with_the_volume_trilinear_value_at_the_same_mm():
    vol = _oblique((15.0, -10.0, 20.0))
    planes = slice_planes(vol.display_grid(), "scanner")
    index = planes.shape[1] // 2
    mm = _pixel_mm(planes, 1, index).reshape(-1, 3)
    expected = vol.value_at(mm, order=1)
    got = np.asarray(planes.plane(1, index), float).ravel()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    ok = ~np.isnan(got)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-5, atol=1e-3)


def test_scanner_planes_are_upright_where_the_stored_planes_are_tilted():
    vol = _oblique()
    grid = vol.display_grid()
    scanner, stored = slice_planes(grid, "scanner"), slice_planes(grid, "stored")
    centre = np.array([2.0, -8.0, 12.0])  # the test head's centre
    head_scanner = np.nan_to_num(scanner.plane(2, int(round(scanner.mri_to_display(centre)[2]))), nan=0) > 150
    head_stored = np.asarray(stored.plane(2, int(round(stored.mri_to_display(centre)[2])))) > 150
    assert _tilt_deg(head_scanner) < 1.0
    assert _tilt_deg(head_stored) == pytest.approx(20.0, abs=2.0)
    assert not stored.exact_axes and stored.obliquity_deg == pytest.approx(20.0, abs=1e-6)


@pytest.mark.safety(hazard="left-right",
                    control="scanner-plane slices resampled from oblique and oblique + flipped storage keep the "
                            "left marker at negative x (display axis 0 points Right)")
@pytest.mark.parametrize("flip_x", [False, True])
@pytest.mark.parametrize("deg", [(0.0, 0.0, 20.0), (15.0, -10.0, 20.0)])
def test_left_marker_stays_left_in_scanner_planes(deg, flip_x):
    vol = _oblique(deg, flip_x=flip_x)
    planes = slice_planes(vol.display_grid(), "scanner")
    found = _marker_mm(planes, 2, MARKER_RAS)
    assert found[0] < -20.0, "left/right flipped by the display resampling"
    np.testing.assert_allclose(found, MARKER_RAS, atol=1.5)
    # and on the screen grid: the marker's pixels lie in the low-index (left, x < centre) part
    d = planes.mri_to_display(MARKER_RAS)
    mirror = planes.mri_to_display(MARKER_RAS * [-1.0, 1.0, 1.0])
    assert d[0] < mirror[0]


def test_display_only_the_data_is_never_changed_and_planes_are_read_only():
    vol = _oblique()
    before = vol.data.copy()
    planes = slice_planes(vol.display_grid(), "scanner")
    plane = planes.plane(2, 30)
    assert not plane.flags.writeable
    with pytest.raises(ValueError):
        plane[0, 0] = 1.0
    np.testing.assert_array_equal(vol.data, before)
    assert vol.mri_from_voxel.matrix[0, 1] != 0.0  # the affine is still the oblique one


def test_click_round_trip_is_exact_in_both_modes():
    vol = _oblique((15.0, -10.0, 20.0), flip_x=True)
    rng = np.random.default_rng(3)
    points = rng.uniform(-60, 60, size=(50, 3))
    for mode in ("scanner", "stored"):
        planes = slice_planes(vol.display_grid(), mode)
        np.testing.assert_allclose(planes.display_to_mri(planes.mri_to_display(points)), points, atol=1e-9)


def test_outside_the_field_of_view_is_nan_not_zero():
    planes = slice_planes(_oblique().display_grid(), "scanner")
    plane = np.asarray(planes.plane(2, planes.shape[2] // 2))
    # the rotated box does not fill the axis-aligned box around it: its corners are outside
    assert np.isnan(plane[0, 0]) and np.isnan(plane[-1, -1])
    assert np.isfinite(plane[plane.shape[0] // 2, plane.shape[1] // 2])


def test_cached_per_image_and_per_plane():
    vol = _oblique()
    grid = vol.display_grid()
    planes = slice_planes(grid, "scanner")
    assert slice_planes(vol.display_grid(), "scanner") is planes
    assert planes.plane(2, 10) is planes.plane(2, 10)
    other = _oblique()
    assert slice_planes(other.display_grid(), "scanner") is not planes
    assert slice_planes(grid, "stored") is not planes


def test_large_field_of_view_is_capped_in_pixels():
    vol = _oblique()
    planes = ScannerPlanes(vol.display_grid(), max_pixels=64)
    assert max(planes.shape) <= 64
    assert planes.spacing_mm[0] > 2.0  # coarser than the voxels, but still isotropic
    np.testing.assert_allclose(planes.spacing_mm, planes.spacing_mm[0])


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="plane mode"):
        slice_planes(_oblique().display_grid(), "oblique")  # type: ignore[arg-type]


def test_sample_head_scanner_planes_are_resampled_and_agree_with_the_volume():
    from tmsnav.navigation.imaging.volume import load_volume
    from tmsnav.navigation.sample_head import sample_head_fiducials, sample_head_path

    vol = load_volume(sample_head_path())
    planes = slice_planes(vol.display_grid(), "scanner")
    assert isinstance(planes, ScannerPlanes)
    assert 2.0 < planes.obliquity_deg < 4.0           # the sample head is ~3 degrees oblique
    nasion = sample_head_fiducials()["nasion"]
    index = int(round(planes.mri_to_display(nasion)[0]))
    mm = _pixel_mm(planes, 0, index)[::7, ::7].reshape(-1, 3)
    plane = np.asarray(planes.plane(0, index), float)[::7, ::7].ravel()
    expected = vol.value_at(mm, order=1)
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(plane[ok], expected[ok], rtol=1e-4, atol=0.05)


def test_planes_of_a_closed_image_are_released():
    """The cache is keyed weakly by the image's grid: opening image after image must not keep
    every earlier volume (and its resampled planes) alive."""
    import gc
    import weakref

    from tmsnav.navigation.imaging import display_resample

    gc.collect()
    vol = _oblique()
    grid = vol.display_grid()
    planes = slice_planes(grid, "scanner")
    planes.plane(2, 10)
    volume_ref, grid_ref = weakref.ref(vol), weakref.ref(grid)
    n = len(display_resample._scanner_cache)
    del vol, grid, planes
    gc.collect()
    assert volume_ref() is None and grid_ref() is None
    assert len(display_resample._scanner_cache) == n - 1
