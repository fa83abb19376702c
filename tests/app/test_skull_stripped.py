"""Skull-stripped images (issue 10): detected on import (brain-sized head, no dark skull shell),
said in the import report, their outer surface becomes the brain and there is no scalp; and a
skull-stripped image loaded as the brain of the T1 with its scalp. Sample head and phantom."""

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage as ndi

from tmsnav.app.loading import SKULL_STRIPPED_BRAIN, load_head, load_sample_head
from tmsnav.navigation import sample_head
from tmsnav.navigation.surfaces.brain_sources import check_brain_in_scalp, load_brain
from tmsnav.navigation.imaging.checks import check_skull_stripped
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.template_brain import provenance_of, template_tissue_probability


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def stripped_sample_head(path):
    """The sample head multiplied by its template brain mask (GM+WM > 0.3): what BET gives."""
    image = nib.load(str(sample_head.sample_head_path()))
    tissue, mni_from_voxel = template_tissue_probability()
    voxel = np.linalg.inv(sample_head.sample_head_mri_from_mni().matrix @ mni_from_voxel) @ image.affine
    mask = ndi.affine_transform(tissue, voxel[:3, :3], voxel[:3, 3], output_shape=image.shape, order=1) > 0.3
    data = np.asarray(image.dataobj) * mask
    nib.save(nib.Nifti1Image(data.astype(np.int16), image.affine), str(path))
    return path


def test_thresholds():
    assert check_skull_stripped(1500.0, 0.95)                 # brain-sized, no dark shell
    assert not check_skull_stripped(3900.0, 1.2)              # a whole head
    assert not check_skull_stripped(1800.0, 0.4)              # small, but a dark skull: not stripped


def test_skull_stripped_sample_head_is_detected_and_becomes_its_own_brain(tmp_path):
    head = load_head(stripped_sample_head(tmp_path / "t1_brain.nii.gz"))
    assert head.skull_stripped and head.scalp is None
    assert head.volume.report.has("skull-stripped") and head.volume.report.has("brain-surface")
    assert "no scalp" in head.volume.report.summary()
    assert provenance_of(head.brain) == SKULL_STRIPPED_BRAIN
    info = [p.message for p in head.volume.report.infos if p.code == "brain-surface"][0]
    assert "mL" in info


def test_heads_with_a_scalp_are_not_called_skull_stripped(tmp_path):
    sample = load_sample_head()
    assert not sample.skull_stripped and sample.scalp is not None
    assert not sample.volume.report.has("skull-stripped")
    info = [p.message for p in sample.volume.report.infos if p.code == "brain-surface"][0]
    assert "approximate, from the template" in info and " mL" in info
    phantom = make_phantom_head(2.0)
    path = tmp_path / "phantom.nii.gz"
    nib.save(phantom.nifti(), str(path))
    head = load_head(path)
    assert not head.skull_stripped and head.scalp is not None and head.brain is None


def test_skull_stripped_image_loads_as_the_brain_of_the_t1_with_its_scalp(tmp_path):
    """What a clinic should do with its BET output: open the T1, load the stripped image as brain."""
    from tmsnav.navigation.imaging.volume import load_volume
    from tmsnav.navigation.surfaces.head import head_surfaces

    path = stripped_sample_head(tmp_path / "t1_brain.nii.gz")
    volume = load_volume(sample_head.sample_head_path())
    brain = load_brain(path, volume, max_faces=60_000)
    assert "skull-stripped image" in provenance_of(brain)
    check = check_brain_in_scalp(brain, head_surfaces(volume).scalp)
    assert check.inside_fraction >= 0.99 and 1000.0 < check.volume_ml < 1800.0


def test_load_head_with_a_brain_file_checks_it_against_the_scalp(tmp_path):
    """``load_head(brain_mesh_path=...)``: the patient's brain is used when it fits the head and
    refused with its cause when it does not (here: the stripped brain of another, shifted image)."""
    from tmsnav.navigation.surfaces.extract import SurfaceError

    stripped = stripped_sample_head(tmp_path / "t1_brain.nii.gz")
    t1 = tmp_path / "t1.nii.gz"
    t1.write_bytes(sample_head.sample_head_path().read_bytes())
    head = load_head(t1, brain_mesh_path=stripped)
    assert not head.skull_stripped and head.scalp is not None
    assert "skull-stripped image" in provenance_of(head.brain)
    info = [p.message for p in head.volume.report.infos if p.code == "brain-surface"][0]
    assert "t1_brain.nii.gz" in info and " mL" in info
    image = nib.load(str(stripped))
    moved = image.affine.copy()
    moved[:3, 3] += [0.0, 0.0, 45.0]           # another session's scanner space: 45 mm higher
    other = tmp_path / "other_brain.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj), moved), str(other))
    with pytest.raises(SurfaceError, match="does not lie inside the scalp"):
        load_head(t1, brain_mesh_path=other)
