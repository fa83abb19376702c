"""The synthetic phantom head: truth fields are exact, left stays left in every storage."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy.spatial import cKDTree

from tmsnav.navigation.imaging.volume import load_volume
from tmsnav.navigation.phantom import INTENSITIES, Ellipsoid, make_phantom_head


@pytest.fixture(scope="module")
def ph():
    return make_phantom_head()


def test_fiducials_on_the_surface_and_plausible(ph):
    for p in (ph.nasion, ph.lpa, ph.rpa):
        assert abs(float(ph.scalp_distance(p))) < 1e-9
    c = ph.scalp_centre_mm
    assert ph.lpa[0] < c[0] - 70 and ph.rpa[0] > c[0] + 70          # LPA is on the LEFT (-x)
    assert ph.nasion[1] > c[1] + 80 and abs(ph.nasion[0] - c[0]) < 1e-9
    np.testing.assert_allclose(ph.lpa * [-1, 1, 1], ph.rpa, atol=1e-9)  # symmetric about x = 0
    assert 130 < np.linalg.norm(ph.lpa - ph.rpa) < 180
    assert 100 < np.linalg.norm(ph.nasion - ph.lpa) < 140
    np.testing.assert_allclose(ph.scalp_semi_axes_mm, [75, 95, 85])


@pytest.mark.parametrize("orientation,rotation", [("RAS", (0, 0, 0)), ("LAS", (0, 0, 0)),
                                                  ("LPI", (0, 0, 0)), ("ASR", (0, 0, 0)),
                                                  ("RAS", (12.0, -8.0, 25.0))])
def test_left_marker_stays_left_in_any_storage(orientation, rotation):
    ph = make_phantom_head(4.0, orientation, rotation_deg=rotation, noise_sd=0.0)
    vol = ph.volume
    if rotation == (0, 0, 0):
        assert vol.axcodes == orientation
    assert ph.left_marker[0] < ph.scalp_centre_mm[0] - 20
    assert vol.value_at(ph.left_marker) > INTENSITIES["white"] + 200
    mirror = ph.left_marker.copy()
    mirror[0] = 2 * ph.scalp_centre_mm[0] - mirror[0]
    assert vol.value_at(mirror) == pytest.approx(INTENSITIES["white"], abs=30)
    bright = np.argwhere(np.asarray(vol.data) > 1200)
    assert np.all(vol.voxel_to_mri(bright)[:, 0] < 0)
    grid = vol.display_grid()
    d = np.argwhere(grid.data > 1200).mean(axis=0)
    assert d[0] < (grid.shape[0] - 1) / 2.0


def test_nifti_roundtrip_keeps_marker_left(ph, tmp_path):
    nib.save(ph.nifti(), tmp_path / "phantom.nii.gz")
    vol = load_volume(tmp_path / "phantom.nii.gz")
    np.testing.assert_allclose(vol.mri_from_voxel.matrix, ph.volume.mri_from_voxel.matrix, atol=1e-4)
    np.testing.assert_array_equal(vol.data, ph.volume.data)
    assert vol.value_at(ph.left_marker) > 1200
    assert not vol.report.warnings


def test_scalp_points_and_normals_are_exact(ph):
    pts, nrm = ph.sample_scalp_points(500, rng=3, region="upper")
    assert pts.shape == (500, 3) and nrm.shape == (500, 3)
    np.testing.assert_allclose(ph.scalp.quadratic(pts), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0, atol=1e-12)
    grad = (pts - ph.scalp_centre_mm) / ph.scalp_semi_axes_mm ** 2
    cosang = np.sum(grad / np.linalg.norm(grad, axis=1, keepdims=True) * nrm, axis=1)
    np.testing.assert_allclose(cosang, 1.0, atol=1e-12)
    assert np.all(pts[:, 2] >= ph.nasion[2] + 5) and not np.any(ph.on_bump(pts))
    again, _ = ph.sample_scalp_points(500, rng=3, region="upper")
    np.testing.assert_array_equal(pts, again)
    fh, _ = ph.sample_scalp_points(50, rng=1, region="forehead")
    assert np.all(fh[:, 1] > ph.scalp_centre_mm[1] + 0.6 * 95)
    with pytest.raises(ValueError, match="region"):
        ph.sample_scalp_points(5, region="neck")


def test_iso_surface_matches_analytic_scalp(ph):
    """Partial-volume sampling puts the scalp_threshold crossing within a fraction of a voxel."""
    pts, nrm = ph.sample_scalp_points(300, rng=0, region="all")
    t = np.linspace(-3.0, 3.0, 121)
    offsets = []
    for p, n in zip(pts, nrm):
        v = ph.volume.value_at(p + t[:, None] * n)
        above = np.flatnonzero(v < ph.scalp_threshold)
        i = above[0]
        offsets.append(t[i - 1] + (t[i] - t[i - 1]) * (v[i - 1] - ph.scalp_threshold) / (v[i - 1] - v[i]))
    offsets = np.abs(offsets)
    assert np.mean(offsets) < 0.2 and np.percentile(offsets, 95) < 0.4, offsets.max()


def test_tissue_intensities_and_brain_mask(ph):
    c = ph.scalp_centre_mm
    vol = ph.volume
    assert vol.value_at(c) == pytest.approx(INTENSITIES["white"], abs=40)
    up = np.array([0.0, 0.0, 1.0])
    top = c + up * 85.0
    assert vol.value_at(top - 2.5 * up) == pytest.approx(INTENSITIES["scalp"], abs=40)
    assert vol.value_at(top - 8.0 * up) == pytest.approx(INTENSITIES["skull"], abs=40)
    assert vol.value_at(top + 10 * up) < 40
    ijk = np.argwhere(ph.brain_mask)
    xyz = vol.voxel_to_mri(ijk)
    assert np.all(ph.brain.signed_distance(xyz) < ph.voxel_mm)
    expected = 4 / 3 * np.pi * np.prod(ph.brain.semi_axes) / ph.voxel_mm ** 3
    assert len(ijk) == pytest.approx(expected, rel=0.03)
    assert ph.brain_mask.shape == vol.shape


def test_exact_ellipsoid_distance_against_dense_sampling():
    e = Ellipsoid(np.array([1.0, -2.0, 3.0]), np.array([75.0, 95.0, 85.0]))
    rng = np.random.default_rng(0)
    th, phi = rng.uniform(0, np.pi, 300_000), rng.uniform(0, 2 * np.pi, 300_000)
    surf = e.centre + np.c_[75 * np.sin(th) * np.cos(phi), 95 * np.sin(th) * np.sin(phi), 85 * np.cos(th)]
    pts = e.centre + rng.uniform(-130, 130, size=(300, 3))
    brute, _ = cKDTree(surf).query(pts)
    d = e.signed_distance(pts)
    assert np.all(np.abs(d) <= brute + 1e-9)
    assert np.max(brute - np.abs(d)) < 0.3
    assert np.all(np.sign(d) == np.sign(e.quadratic(pts) - 1))
    assert e.signed_distance(e.centre) == pytest.approx(-75.0)


def test_memoised_and_read_only(ph):
    assert make_phantom_head(3.0) is make_phantom_head(3.0)
    with pytest.raises(ValueError):
        ph.nasion[0] = 1.0
    with pytest.raises(ValueError):
        ph.volume.data[0, 0, 0] = 1
    with pytest.raises(ValueError, match="orientation"):
        make_phantom_head(4.0, "RAR")
