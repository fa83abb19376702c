"""head_surfaces() and its disk cache (navigation/surfaces/cache.py): hit, miss, corruption, only
the user cache directory (never beside the image), keys that change with the image, its chosen
orientation (qform/sform, left/right confirmation) and the parameters."""

import os
import time

import numpy as np
import pytest
import pyvista as pv

from tmsnav.navigation.surfaces import cache as surface_cache
from tmsnav.navigation.surfaces.head import head_surfaces


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


def user_cache(tmp_path):
    return tmp_path / "xdg" / "tmsnav"


def test_second_open_comes_from_the_user_cache_and_nothing_is_written_beside_the_image(volume, tmp_path):
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
    assert len(list(user_cache(tmp_path).glob("scalp-*.npz"))) == 1
    assert [p.name for p in volume.source.parent.iterdir()] == ["t1.nii.gz"]


def test_an_old_cache_beside_the_image_is_never_read(volume, tmp_path):
    """Old versions wrote ``<image>.tmsnav-cache``; a file there (maybe from the other
    orientation) must not be used."""
    head_surfaces(volume, max_faces=20_000)
    (cached,) = user_cache(tmp_path).glob("scalp-*.npz")
    beside = volume.source.parent / "t1.nii.gz.tmsnav-cache"
    beside.mkdir()
    (beside / cached.name).write_bytes(cached.read_bytes())
    cached.unlink()
    assert head_surfaces(volume, max_faces=20_000).from_cache is False


def test_corrupt_cache_file_is_ignored_and_rebuilt(volume, tmp_path):
    head_surfaces(volume, max_faces=20_000)
    (cached,) = user_cache(tmp_path).glob("scalp-*.npz")
    raw = bytearray(cached.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = os.urandom(64)
    cached.write_bytes(bytes(raw))
    rebuilt = head_surfaces(volume, max_faces=20_000)
    assert rebuilt.from_cache is False and rebuilt.scalp.n_cells > 1000
    assert head_surfaces(volume, max_faces=20_000).from_cache is True
    cached.write_bytes(b"")  # truncated to nothing
    assert head_surfaces(volume, max_faces=20_000).from_cache is False


def test_read_only_image_folder_gets_no_files(volume, tmp_path):
    folder = volume.source.parent
    folder.chmod(0o555)
    try:
        assert head_surfaces(volume, max_faces=20_000).from_cache is False
        assert head_surfaces(volume, max_faces=20_000).from_cache is True
    finally:
        folder.chmod(0o755)
    assert [p.name for p in folder.iterdir()] == ["t1.nii.gz"]
    assert surface_cache.user_cache_dir() == user_cache(tmp_path)


def test_unwritable_user_cache_only_costs_a_rebuild(volume, monkeypatch, tmp_path):
    monkeypatch.setattr(surface_cache, "_writable_dir", lambda d: False)
    assert head_surfaces(volume, max_faces=20_000).from_cache is False
    assert head_surfaces(volume, max_faces=20_000).from_cache is False
    assert [p.name for p in volume.source.parent.iterdir()] == ["t1.nii.gz"]


def test_key_changes_with_image_affine_and_parameters(volume, tmp_path):
    head_surfaces(volume, max_faces=20_000)
    assert head_surfaces(volume, max_faces=10_000).from_cache is False
    other = Vol(volume.data, volume.mri_from_voxel, volume.source, "beef" * 16)
    assert head_surfaces(other, max_faces=20_000).from_cache is False
    shifted_affine = volume.mri_from_voxel.copy()
    shifted_affine[:3, 3] += [0.0, 5.0, 0.0]
    same_bytes_other_affine = Vol(volume.data, shifted_affine, volume.source, volume.sha256)
    moved = head_surfaces(same_bytes_other_affine, max_faces=20_000)
    assert moved.from_cache is False
    assert len(list(user_cache(tmp_path).glob("*.npz"))) == 4


@pytest.mark.safety(hazard="left-right", control="after a left/right confirmation flip the scalp is "
                    "rebuilt mirrored, never read from the cache of the other orientation")
def test_flip_lr_confirmation_gets_a_mirrored_scalp_not_the_cached_one(tmp_path, monkeypatch):
    """Issue 10 defect 3: after an L/R confirmation flip (same bytes, mirrored affine) the scalp
    must be the mirror image of the first one, not the first one read back from the cache."""
    from tests.data_factories.mri_files import small_head
    from tmsnav.navigation.imaging.volume import Volume

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data, affine = small_head()
    affine = affine.copy()
    affine[0, 3] += 17.0   # head off the x = 0 plane: a mirror moves it
    volume = Volume.from_array(data, affine, name="t1")
    first = head_surfaces(volume, max_faces=20_000)
    flipped_volume = volume.with_orientation_confirmed("test", flip_lr=True)
    flipped = head_surfaces(flipped_volume, max_faces=20_000)
    assert flipped.from_cache is False
    b0, b1 = first.scalp.bounds, flipped.scalp.bounds
    assert abs(b1.x_min + b0.x_max) < 0.5 and abs(b1.x_max + b0.x_min) < 0.5
    assert abs(b1.y_min - b0.y_min) < 0.5 and abs(b1.z_max - b0.z_max) < 0.5
    assert abs(first.scalp.center[0] + flipped.scalp.center[0]) < 0.5
    assert abs(first.scalp.center[0]) > 10.0
    assert head_surfaces(volume, max_faces=20_000).scalp.center[0] == pytest.approx(first.scalp.center[0])


@pytest.mark.safety(hazard="orientation", control="the qform and the sform of one file each get their "
                    "own surfaces; a cached scalp is never reused for the other choice")
def test_qform_and_sform_of_one_file_get_their_own_scalps(tmp_path, monkeypatch):
    """Issue 10 defect 3: one NIfTI whose qform and sform differ (the user picks one on import):
    each choice gets its own scalp, placed by its own affine."""
    from tests.data_factories.mri_files import small_head, write_nifti
    from tmsnav.navigation.imaging.volume import load_volume

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data, affine = small_head()
    qform = affine.copy()
    qform[:3, 3] += [0.0, 0.0, 30.0]   # 30 mm higher: what a mis-set qform looks like
    path = write_nifti(tmp_path / "t1.nii.gz", data, affine, qform=qform)
    by_sform = load_volume(path, affine_choice="sform")
    by_qform = load_volume(path, affine_choice="qform")
    assert by_sform.sha256 == by_qform.sha256
    a = head_surfaces(by_sform, max_faces=20_000)
    b = head_surfaces(by_qform, max_faces=20_000)
    assert (a.from_cache, b.from_cache) == (False, False)
    assert b.scalp.center[2] - a.scalp.center[2] == pytest.approx(30.0, abs=0.5)
    assert head_surfaces(by_qform, max_faces=20_000).scalp.center[2] == pytest.approx(b.scalp.center[2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t1.nii.gz", "xdg"]


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
