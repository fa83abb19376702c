"""Volume, DisplayGrid and NIfTI loading: geometry and left/right safety with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.navigation.imaging.volume import DisplayGrid, Volume, load_volume
from tmsnav.navigation.imaging.checks import ImageImportError
from tmsnav.navigation.transforms import Frame, Transform
from tests.data_factories.mri_files import (
    MARKER_RAS, MARKER_VALUE, marker_centroid_voxel, oblique_affine, ras_affine, sample_on_grid,
    write_nifti,
)

SHAPE = (90, 110, 100)


def _las_from_ras(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Same anatomy stored with voxel axis 0 running toward patient LEFT (index 0 = right side)."""
    n = data.shape[0]
    las = data[::-1].copy()
    flip = np.eye(4)
    flip[0, 0], flip[0, 3] = -1.0, n - 1
    return las, affine @ flip


def _assert_marker_left(vol: Volume) -> None:
    centre_mri = vol.voxel_to_mri(marker_centroid_voxel(vol.data))
    assert centre_mri[0] < -20.0, f"marker at x={centre_mri[0]:.1f} mm: left/right flipped"
    np.testing.assert_allclose(centre_mri, MARKER_RAS, atol=1.5)
    assert vol.value_at(MARKER_RAS, order=0) == MARKER_VALUE
    mirrored = MARKER_RAS * np.array([-1.0, 1.0, 1.0])
    assert vol.value_at(mirrored, order=0) != MARKER_VALUE
    grid = vol.display_grid()
    d_centre = marker_centroid_voxel(grid.data)
    # display axis 0 points Right: the left marker sits in the low-index half
    assert d_centre[0] < (grid.shape[0] - 1) / 2.0
    np.testing.assert_allclose(grid.display_to_mri(d_centre), centre_mri, atol=1e-6)


@pytest.mark.safety(hazard="left-right", control="a left-hemisphere marker loads at negative x from RAS storage")
def test_marker_left_from_ras_storage(tmp_path):
    aff = ras_affine(shape=SHAPE)
    path = write_nifti(tmp_path / "ras.nii.gz", sample_on_grid(aff, SHAPE), aff)
    vol = load_volume(path)
    assert vol.axcodes == "RAS" and vol.affine_source == "sform"
    assert vol.data.dtype == np.int16
    _assert_marker_left(vol)


@pytest.mark.safety(hazard="left-right",
                    control="LAS storage (radiological order) still puts the left marker at negative x")
def test_marker_left_from_las_storage(tmp_path):
    aff = ras_affine(shape=SHAPE)
    las, las_aff = _las_from_ras(sample_on_grid(aff, SHAPE), aff)
    # in the stored LAS array the left marker is at HIGH i (index 0 is the right side)
    assert marker_centroid_voxel(las)[0] > SHAPE[0] / 2
    vol = load_volume(write_nifti(tmp_path / "las.nii", las, las_aff))
    assert vol.axcodes == "LAS"
    assert np.linalg.det(vol.mri_from_voxel.matrix[:3, :3]) < 0  # normal, not an error
    assert not vol.report.errors and not vol.report.warnings
    _assert_marker_left(vol)
    # display grid of LAS storage equals the RAS array (pure flip, no resampling)
    np.testing.assert_array_equal(vol.display_grid().data, las[::-1])


@pytest.mark.safety(hazard="left-right", control="an oblique affine is kept exactly and the marker stays left")
def test_marker_left_from_oblique_affine_kept_exactly(tmp_path):
    aff = oblique_affine(shape=SHAPE)
    path = write_nifti(tmp_path / "obl.nii.gz", sample_on_grid(aff, SHAPE), aff)
    vol = load_volume(path)
    np.testing.assert_allclose(vol.mri_from_voxel.matrix, aff, atol=1e-4)  # oblique kept
    _assert_marker_left(vol)
    grid = vol.display_grid()
    assert grid.mri_from_display.matrix[0, :3] @ [1, 0, 0] > 0  # axis 0 closest to +x
    ijk = np.array([[3.0, 7.0, 11.0], [50.5, 20.25, 80.0]])
    np.testing.assert_allclose(grid.mri_to_display(grid.display_to_mri(ijk)), ijk, atol=1e-9)


@pytest.mark.safety(hazard="left-right",
                    control="any axis order or flip is reordered to RAS for display without resampling")
@pytest.mark.parametrize("perm,flips", [((0, 1, 2), (1, 1, 1)), ((1, 0, 2), (1, -1, 1)),
                                        ((2, 0, 1), (-1, 1, -1)), ((1, 2, 0), (-1, -1, -1))])
def test_display_grid_reorders_any_storage_to_ras(perm, flips):
    aff = ras_affine(shape=SHAPE)
    ras = sample_on_grid(aff, SHAPE)
    # build storage: stored axis a = RAS axis perm[a], flipped when flips[a] = -1
    stored = np.transpose(ras, perm)
    voxel_to_rasidx = np.zeros((4, 4))
    voxel_to_rasidx[3, 3] = 1
    for a, (src, f) in enumerate(zip(perm, flips)):
        if f < 0:
            stored = np.flip(stored, axis=a)
        voxel_to_rasidx[src, a] = f
        voxel_to_rasidx[src, 3] = 0 if f > 0 else SHAPE[src] - 1
    vol = Volume.from_array(stored, aff @ voxel_to_rasidx)
    grid = vol.display_grid()
    np.testing.assert_array_equal(grid.data, ras)
    np.testing.assert_allclose(grid.mri_from_display.matrix, aff, atol=1e-12)
    assert grid.axial(40).shape == (SHAPE[0], SHAPE[1])
    assert grid.coronal(40).shape == (SHAPE[0], SHAPE[2])
    assert grid.sagittal(40).shape == (SHAPE[1], SHAPE[2])
    np.testing.assert_array_equal(grid.axial(40), ras[:, :, 40])
    assert vol.display_grid() is grid  # cached


def test_volume_geometry_roundtrip_and_bounds():
    aff = oblique_affine(voxel_mm=1.5, shape=(80, 90, 70))
    vol = Volume.from_array(np.ones((80, 90, 70), np.float32) * np.arange(70), aff, name="t")
    np.testing.assert_allclose(vol.voxel_sizes_mm, [1.5, 1.5, 1.5])
    rng = np.random.default_rng(0)
    ijk = rng.uniform(0, 60, size=(20, 3))
    np.testing.assert_allclose(vol.mri_to_voxel(vol.voxel_to_mri(ijk)), ijk, atol=1e-9)
    assert vol.voxel_to_mri([0, 0, 0]).shape == (3,)
    lo, hi = vol.bounds_mm()
    corners = np.array([[a, b, c] for a in (0, 79) for b in (0, 89) for c in (0, 69)])
    np.testing.assert_allclose(lo, vol.voxel_to_mri(corners).min(axis=0))
    np.testing.assert_allclose(hi, vol.voxel_to_mri(corners).max(axis=0))
    # trilinear along k is exact for a linear ramp; outside is NaN
    p = vol.voxel_to_mri([[10, 10, 12.25], [10, 10, 200]])
    vals = vol.value_at(p)
    assert vals[0] == pytest.approx(12.25) and np.isnan(vals[1])
    assert vol.mri_from_voxel.to_frame == Frame.MRI and vol.mri_from_voxel.from_frame == Frame.VOXEL
    assert not vol.data.flags.writeable


def test_default_window_from_robust_percentiles():
    rng = np.random.default_rng(1)
    data = np.zeros((60, 60, 60), np.int16)
    data[10:50, 10:50, 10:50] = rng.integers(100, 200, size=(40, 40, 40))
    data[30, 30, 30] = 30000  # one hot voxel must not stretch the window
    vol = Volume.from_array(data, np.diag([2.0, 2.0, 2.0, 1.0]))
    level, width = vol.default_window()
    assert 100 <= level - width / 2 <= 103 and 197 <= level + width / 2 <= 200


def test_from_array_rejects_bad_input():
    with pytest.raises(ImageImportError, match="singular"):
        Volume.from_array(np.ones((4, 4, 4)) * np.arange(4), np.diag([1.0, 1.0, 0.0, 1.0]) + 0)
    with pytest.raises(ImageImportError, match="3-D"):
        Volume.from_array(np.ones((4, 4)), np.eye(4))
    with pytest.raises(ValueError, match="mri_from_voxel"):
        Volume(np.zeros((2, 2, 2)), Transform.identity("mri", "mni"), "x", None, "x")
    with pytest.raises(ValueError, match="mri_from_voxel"):
        Volume.from_array(np.ones((4, 4, 4)), Transform.identity("mni", "voxel"))


@pytest.mark.safety(hazard="orientation",
                    control="confirming or mirroring L/R is explicit and recorded in the image report")
def test_orientation_confirmation_and_lr_mirror():
    aff = ras_affine(shape=SHAPE)
    vol = Volume.from_array(sample_on_grid(aff, SHAPE), aff)
    mirrored = vol.with_orientation_confirmed("marker seen on the right", flip_lr=True)
    c = mirrored.voxel_to_mri(marker_centroid_voxel(mirrored.data))
    np.testing.assert_allclose(c, MARKER_RAS * [-1, 1, 1], atol=1.5)
    assert mirrored.report.has("orientation-confirmed")
    assert isinstance(mirrored.display_grid(), DisplayGrid)


def test_record_for_the_session(tmp_path):
    import json
    aff = ras_affine(shape=SHAPE)
    path = write_nifti(tmp_path / "rec.nii.gz", sample_on_grid(aff, SHAPE), aff)
    rec = load_volume(path).to_record()
    again = json.loads(json.dumps(rec))
    assert again["affine_source"] == "sform" and again["path"] == str(path)
    assert Transform.from_dict(again["mri_from_voxel"]).is_close(Transform(Frame.MRI, Frame.VOXEL, aff),
                                                                 atol_mm=1e-4, atol_rad=1e-6)
    assert any(p["code"] == "affine-chosen" for p in again["problems"])


@pytest.mark.safety(hazard="left-right", control="a big-endian NIfTI loads with the marker on the left")
def test_big_endian_nifti(tmp_path):
    import nibabel as nib
    aff = ras_affine(shape=SHAPE)
    data = sample_on_grid(aff, SHAPE)
    img = nib.Nifti1Image(data.astype(">i2"), aff, nib.Nifti1Header(endianness=">"))
    img.set_data_dtype(np.dtype(">i2"))
    img.set_sform(aff, 1)
    img.set_qform(aff, 1)
    nib.save(img, tmp_path / "be.nii")
    assert (tmp_path / "be.nii").read_bytes()[:4] == (348).to_bytes(4, "big")
    vol = load_volume(tmp_path / "be.nii")
    assert vol.data.dtype == np.int16 and vol.data.dtype.isnative
    np.testing.assert_array_equal(vol.data, data)
    _assert_marker_left(vol)
