"""Scalp and mask surfaces on synthetic volumes with known geometry (navigation/surfaces/extract.py)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.errors import Cancelled
from tmsnav.navigation.progress import CancelToken
from tmsnav.navigation.surfaces.extract import (SurfaceError, extract_scalp, extract_surface_from_mask,
                                                head_threshold, volume_arrays)
from tmsnav.navigation.transforms import Transform


def oblique_affine(voxel_mm=(1.0, 1.0, 1.0), angles_deg=(8.0, -5.0, 12.0), flip_x=False,
                   origin=(-60.0, -70.0, -50.0)) -> np.ndarray:
    m = np.eye(4)
    lin = Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix() @ np.diag(voxel_mm)
    if flip_x:
        lin = np.diag([-1.0, 1.0, 1.0]) @ lin
    m[:3, :3] = lin
    m[:3, 3] = origin
    return m


def ellipsoid_mask(shape, mri_from_voxel, centre_mm, radii_mm) -> np.ndarray:
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    xyz = ijk @ mri_from_voxel[:3, :3].T + mri_from_voxel[:3, 3]
    return (((xyz - centre_mm) / radii_mm) ** 2).sum(axis=-1) <= 1.0


def synthetic_head(seed=0, voxel_mm=1.5, shape=(110, 120, 110)):
    """Bright scalp shell, dark skull, bright brain, noisy air; ellipsoid radii 75/90/80 mm,
    cut flat at the bottom (open neck) like a real T1."""
    affine = oblique_affine((voxel_mm,) * 3, angles_deg=(6.0, 0.0, -4.0),
                            origin=(-80.0, -90.0, -70.0))
    centre = affine[:3, :3] @ (np.array(shape) / 2) + affine[:3, 3]
    radii = np.array([75.0, 90.0, 80.0])
    head = ellipsoid_mask(shape, affine, centre, radii)
    inner = ellipsoid_mask(shape, affine, centre, radii - 6.0)
    brain = ellipsoid_mask(shape, affine, centre, radii - 14.0)
    rng = np.random.default_rng(seed)
    data = rng.rayleigh(8.0, size=shape)
    data[head] = 400.0
    data[inner] = 40.0
    data[brain] = 300.0
    data += rng.normal(0, 10.0, size=shape)
    data[:, :, :6] = rng.rayleigh(8.0, size=data[:, :, :6].shape)  # neck cut: image ends below
    return data.astype(np.float32), affine, centre, radii


def ellipsoid_distance(points, centre, radii):
    """Approximate distance (mm) from points to an ellipsoid surface (first-order)."""
    q = (points - centre) / radii
    r = np.linalg.norm(q, axis=1)
    grad = np.linalg.norm(q / radii, axis=1)
    return (r ** 2 - 1) / (2 * grad)


def test_sphere_mask_vertices_within_one_voxel_and_normals_outward():
    affine = oblique_affine((1.0, 1.2, 0.9))
    shape = (80, 70, 90)
    centre = affine[:3, :3] @ (np.array(shape) / 2) + affine[:3, 3]
    mask = ellipsoid_mask(shape, affine, centre, np.array([25.0, 25.0, 25.0]))
    mesh = extract_surface_from_mask(mask, affine)
    radius = np.linalg.norm(mesh.points - centre, axis=1)
    assert np.abs(radius - 25.0).max() < 1.0
    assert abs(np.median(radius) - 25.0) < 0.3
    outward = np.einsum("ij,ij->i", mesh.point_data["Normals"], mesh.points - centre)
    assert (outward > 0).mean() > 0.999
    assert mesh.n_open_edges == 0
    assert mesh.is_all_triangles


def test_mask_accepts_transform_and_volume_like_objects():
    affine = oblique_affine()
    mask = ellipsoid_mask((50, 50, 50), affine, affine[:3, :3] @ [25, 25, 25] + affine[:3, 3],
                          np.array([15.0, 15.0, 15.0]))
    t = Transform("mri", "voxel", affine)
    a = extract_surface_from_mask(mask, t)
    b = extract_surface_from_mask(mask, affine)
    np.testing.assert_allclose(a.points, b.points)
    with pytest.raises(SurfaceError, match="mri_from_voxel"):
        extract_surface_from_mask(mask, Transform("mni", "voxel", affine))


@pytest.mark.parametrize("flip_x", [False, True])
def test_left_blob_stays_left_through_oblique_and_flipped_affines(flip_x):
    """A blob placed at world x = -30 mm must come out at x = -30 (left), whatever the storage
    order of the voxels (RAS or LAS) and the obliquity."""
    affine = oblique_affine((1.0, 1.0, 1.0), angles_deg=(10.0, 15.0, -20.0), flip_x=flip_x,
                            origin=(0.0, 0.0, 0.0))
    shape = (100, 100, 100)
    grid_centre = affine[:3, :3] @ (np.array(shape) / 2)
    affine[:3, 3] = -grid_centre  # world origin at the image centre
    blob_centre = np.array([-30.0, 5.0, 10.0])
    mask = ellipsoid_mask(shape, affine, blob_centre, np.array([10.0, 10.0, 10.0]))
    mesh = extract_surface_from_mask(mask, affine)
    assert mesh.points[:, 0].max() < -18.0
    np.testing.assert_allclose(mesh.points.mean(axis=0), blob_centre, atol=0.5)
    outward = np.einsum("ij,ij->i", mesh.point_data["Normals"], mesh.points - blob_centre)
    assert (outward > 0).mean() > 0.999


def test_max_faces_is_respected_and_smooth_off_keeps_voxel_staircase():
    affine = np.eye(4)
    mask = ellipsoid_mask((90, 90, 90), affine, np.array([45.0, 45.0, 45.0]), np.array([40.0, 35.0, 30.0]))
    small = extract_surface_from_mask(mask, affine, max_faces=5_000)
    assert 2_000 < small.n_cells <= 5_000
    raw = extract_surface_from_mask(mask, affine, smooth=False, max_faces=10_000_000)
    # without smoothing, vertices sit on the voxel lattice (half-way between voxel centres)
    frac = np.abs(raw.points - np.round(raw.points * 2) / 2)
    assert np.median(frac.max(axis=1)) < 1e-6


def test_empty_mask_and_bad_arguments_raise_clear_errors():
    with pytest.raises(SurfaceError, match="empty"):
        extract_surface_from_mask(np.zeros((20, 20, 20), bool), np.eye(4))
    with pytest.raises(SurfaceError, match="3-D"):
        extract_surface_from_mask(np.ones((20, 20), bool), np.eye(4))
    with pytest.raises(SurfaceError, match="singular"):
        extract_surface_from_mask(np.ones((20, 20, 20), bool), np.diag([1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(SurfaceError, match="blank"):
        extract_scalp((np.zeros((30, 30, 30)), np.eye(4)))
    with pytest.raises(SurfaceError, match="expected an MRI volume"):
        volume_arrays("t1.nii")


def test_threshold_lies_between_air_and_tissue():
    data, _, _, _ = synthetic_head()
    t = head_threshold(data)
    assert 30.0 < t < 300.0


def test_scalp_of_synthetic_head_matches_ellipsoid_closed_outward():
    data, affine, centre, radii = synthetic_head()
    fractions = []
    mesh = extract_scalp((data, affine), max_faces=40_000,
                         progress=lambda f, m: fractions.append(f))
    assert mesh.n_cells <= 40_000
    assert mesh.n_open_edges == 0  # closed at the neck cut too
    top = mesh.points[:, 2] > centre[2] - 40.0  # away from the neck cut
    dist = ellipsoid_distance(mesh.points[top], centre, radii)
    assert np.abs(dist).max() < 1.5 * 1.5  # within ~1.5 voxels (1.5 mm voxels)
    assert abs(np.median(dist)) < 0.5
    outward = np.einsum("ij,ij->i", mesh.point_data["Normals"][top], mesh.points[top] - centre)
    assert (outward > 0).mean() > 0.999
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_scalp_cancel_raises_cancelled():
    data, affine, _, _ = synthetic_head()
    token = CancelToken()

    def progress(fraction, message):
        if fraction >= 0.3:
            token.cancel()

    with pytest.raises(Cancelled):
        extract_scalp((data, affine), progress=progress, cancel=token)


def test_scalp_from_imaging_volume_object():
    imaging = pytest.importorskip("tmsnav.navigation.imaging.volume")
    data, affine, centre, radii = synthetic_head(seed=1)
    volume = imaging.Volume.from_array(data, affine)
    mesh = extract_scalp(volume, max_faces=20_000)
    assert mesh.n_cells <= 20_000
    np.testing.assert_allclose(np.median(np.linalg.norm((mesh.points - centre) / radii, axis=1)),
                               1.0, atol=0.02)
