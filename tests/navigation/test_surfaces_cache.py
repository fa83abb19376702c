"""head_surfaces() and its disk cache (navigation/surface_cache.py): hit, miss, corruption,
fallback to the user cache, keys that change with the image and the parameters."""

import os
import time

import numpy as np
import pytest
import pyvista as pv

from navigation import surface_cache
from navigation.surfaces import head_surfaces


def blob_head(seed=0, shape=(70, 80, 70)):
    """Bright ellipsoid head with a dark inner shell and a bright brain, 2 mm voxels."""
    rng = np.random.default_rng(seed)
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).astype(float)
    r = np.linalg.norm((ijk - np.array(shape) / 2) / [30.0, 35.0, 30.0], axis=-1)
    data = rng.rayleigh(6.0, size=shape)
    data[r < 1.0] = 400.0
    data[r < 0.9] = 40.0
    data[r < 0.8] = 300.0
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -np.array(shape)
    return (data + rng.normal(0, 8.0, size=shape)).astype(np.float32), affine


class Vol:
    def __init__(self, data, affine, source, sha):
        self.data, self.mri_from_voxel, self.source, self.sha256 = data, affine, source, sha


@pytest.fixture
def volume(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data, affine = blob_head()
    source = tmp_path / "images" / "t1.nii.gz"
    source.parent.mkdir()
    source.write_bytes(b"image")
    return Vol(data, affine, source, "c0ffee" * 10 + "abcd")


def test_second_open_comes_from_the_cache_beside_the_image(volume):
    t0 = time.perf_counter()
    first = head_surfaces(volume, max_faces=20_000)
    t1 = time.perf_counter()
    second = head_surfaces(volume, max_faces=20_000)
    t2 = time.perf_counter()
    assert first.from_cache is False and second.from_cache is True
    assert second.brain is None
    np.testing.assert_allclose(second.scalp.points, first.scalp.points)
    np.testing.assert_array_equal(second.scalp.regular_faces, first.scalp.regular_faces)
    np.testing.assert_allclose(second.scalp.point_data["Normals"], first.scalp.point_data["Normals"])
    assert (t2 - t1) < (t1 - t0)
    cache_dir = volume.source.parent / "t1.nii.gz.tmsnav-cache"
    assert len(list(cache_dir.glob("scalp-*.npz"))) == 1
    assert not (volume.source.parent.parent / "xdg").exists()


def test_corrupt_cache_file_is_ignored_and_rebuilt(volume):
    head_surfaces(volume, max_faces=20_000)
    (cached,) = (volume.source.parent / "t1.nii.gz.tmsnav-cache").glob("scalp-*.npz")
    raw = bytearray(cached.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = os.urandom(64)
    cached.write_bytes(bytes(raw))
    rebuilt = head_surfaces(volume, max_faces=20_000)
    assert rebuilt.from_cache is False and rebuilt.scalp.n_cells > 1000
    assert head_surfaces(volume, max_faces=20_000).from_cache is True
    cached.write_bytes(b"")  # truncated to nothing
    assert head_surfaces(volume, max_faces=20_000).from_cache is False


def test_unwritable_image_folder_falls_back_to_the_user_cache(volume, monkeypatch, tmp_path):
    real = surface_cache._writable_dir
    monkeypatch.setattr(surface_cache, "_writable_dir",
                        lambda d: False if d.name.endswith(".tmsnav-cache") else real(d))
    assert head_surfaces(volume, max_faces=20_000).from_cache is False
    assert len(list((tmp_path / "xdg" / "tmsnav").glob("scalp-*.npz"))) == 1
    assert head_surfaces(volume, max_faces=20_000).from_cache is True
    assert surface_cache.user_cache_dir() == tmp_path / "xdg" / "tmsnav"


def test_key_changes_with_image_and_parameters(volume):
    head_surfaces(volume, max_faces=20_000)
    assert head_surfaces(volume, max_faces=10_000).from_cache is False
    other = Vol(volume.data, volume.mri_from_voxel, volume.source, "beef" * 16)
    assert head_surfaces(other, max_faces=20_000).from_cache is False
    names = {p.name for p in (volume.source.parent / "t1.nii.gz.tmsnav-cache").glob("*.npz")}
    assert len(names) == 3


def test_brain_from_mask_and_from_file_are_returned_in_mri_mm(volume, tmp_path):
    data, affine = volume.data, volume.mri_from_voxel
    mask = data > 200
    mask[:, :, :] &= np.linalg.norm(np.indices(data.shape).T - np.array(data.shape) / 2, axis=-1).T < 25
    surfaces = head_surfaces(volume, brain_mask=mask, max_faces=20_000)
    assert surfaces.brain is not None and surfaces.brain.n_cells > 500
    centre = affine[:3, :3] @ (np.array(data.shape) / 2) + affine[:3, 3]
    radius = np.linalg.norm(surfaces.brain.points - centre, axis=1)
    assert abs(np.median(radius) - 50.0) < 2.0  # 25 voxels of 2 mm
    assert head_surfaces(volume, brain_mask=mask, max_faces=20_000).from_cache is True
    path = tmp_path / "brain.stl"
    pv.Sphere(radius=40.0).triangulate().save(str(path))
    from_file = head_surfaces(volume, brain_mesh_path=path, max_faces=20_000)
    assert from_file.brain.n_points > 100


def test_volume_hash_without_sha256_attribute_follows_the_voxels():
    data, affine = blob_head()
    a = surface_cache.volume_sha256((data, affine))
    assert a == surface_cache.volume_sha256((data.copy(), affine.copy()))
    changed = data.copy()
    changed[0, 0, 0] += 1
    assert a != surface_cache.volume_sha256((changed, affine))
    flipped = affine.copy()
    flipped[0, 0] = -2.0
    assert a != surface_cache.volume_sha256((data, flipped))


def test_load_mesh_rejects_inconsistent_arrays(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, points=np.zeros((3, 3)), faces=np.array([[0, 1, 5]], np.int32))
    assert surface_cache.load_mesh(path) is None
    assert surface_cache.load_mesh(tmp_path / "missing.npz") is None
