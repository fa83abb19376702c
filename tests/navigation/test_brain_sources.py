"""A patient's brain surface from clinic files (navigation/surfaces/brain_sources.py) on the phantom head,
whose brain is a known ellipsoid 14 mm under the scalp, and the mistakes people make with them:
a surface in FreeSurfer's tkr space, another subject, a scalp instead of a brain, a mask from
another image, one hemisphere twice."""

import nibabel as nib
import numpy as np
import pytest
import pyvista as pv

from tmsnav.navigation.surfaces.brain_sources import (brain_mask_from_image, check_brain_in_scalp, describe_brain,
                                                      load_brain)
from tmsnav.navigation.imaging.volume import Volume
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.files import mri_from_tkr
from tmsnav.navigation.surfaces.extract import SurfaceError, extract_scalp
from tmsnav.navigation.surfaces.template_brain import provenance_of

SHIFT = np.array([30.0, -40.0, 60.0])   # scanner origin far from the image centre (large c_ras)


@pytest.fixture(scope="module")
def head():
    phantom = make_phantom_head(2.0)
    affine = phantom.volume.mri_from_voxel.matrix.copy()
    affine[:3, 3] += SHIFT
    volume = Volume.from_array(np.asarray(phantom.volume.data), affine, name="phantom")
    return phantom, volume, extract_scalp(volume, max_faces=40_000)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def brain_ellipsoid(phantom, grow_mm=0.0, offset=(0.0, 0.0, 0.0)) -> pv.PolyData:
    """The phantom's true brain surface (scalp shrunk 14 mm) in the shifted scanner space."""
    e = phantom.brain
    sphere = pv.Icosphere(radius=1.0, nsub=4)
    points = sphere.points * (e.semi_axes + grow_mm) + e.centre + SHIFT + np.asarray(offset)
    return pv.PolyData.from_regular_faces(points, sphere.regular_faces)


def distance_to_true_brain(phantom, points) -> np.ndarray:
    return phantom.brain.signed_distance(np.asarray(points) - SHIFT)


def save_nifti(path, data, affine):
    nib.save(nib.Nifti1Image(np.asarray(data), affine), str(path))
    return path


def test_mask_on_its_own_grid_and_affine_gives_the_true_brain(head, tmp_path):
    phantom, volume, scalp = head
    mask = np.asarray(phantom.brain_mask)[::-1]               # stored left-to-right: another affine
    affine = volume.mri_from_voxel.matrix.copy()
    affine[:3, 0] *= -1.0
    affine[:3, 3] = volume.voxel_to_mri([mask.shape[0] - 1, 0, 0])
    path = save_nifti(tmp_path / "brainmask.nii.gz", mask.astype(np.uint8), affine)
    brain = load_brain(path, volume, max_faces=40_000)
    assert np.median(np.abs(distance_to_true_brain(phantom, brain.points))) < 1.0
    assert "brainmask.nii.gz" in provenance_of(brain) and "own grid" in provenance_of(brain)
    check = check_brain_in_scalp(brain, scalp)
    assert check.inside_fraction == 1.0 and 12.0 < check.median_gap_mm < 16.0
    expected_ml = 4 / 3 * np.pi * np.prod(phantom.brain.semi_axes) / 1000
    assert check.volume_ml == pytest.approx(expected_ml, rel=0.05)
    assert f"{check.volume_ml:.0f} mL" in describe_brain(brain)


def test_segmentations_use_their_grey_and_white_matter_labels(head, tmp_path):
    phantom, volume, scalp = head
    affine = volume.mri_from_voxel.matrix
    brain = np.asarray(phantom.brain_mask)
    ijk = np.indices(brain.shape).reshape(3, -1).T
    left = (volume.voxel_to_mri(ijk)[:, 0] < phantom.brain.centre[0] + SHIFT[0]).reshape(brain.shape)
    head_mask = np.asarray(phantom.volume.data) > 400
    simnibs = np.where(brain, 2, np.where(head_mask, 5, 0)).astype(np.int16)
    simnibs[ndi_erode(brain)] = 1
    aseg = np.where(brain, np.where(left, 3, 42), 0).astype(np.int16)
    aseg[ndi_erode(brain) & left], aseg[ndi_erode(brain) & ~left] = 2, 41
    aseg[head_mask & ~brain & ndi_dilate(brain)] = 24   # CSF around the brain: not brain
    for name, labels, how in (("final_tissues.nii.gz", simnibs, "SimNIBS"),
                              ("aseg.mgz", aseg, "FreeSurfer")):
        path = tmp_path / name
        if name.endswith(".mgz"):
            nib.save(nib.MGHImage(labels.astype(np.int32), affine), str(path))
        else:
            save_nifti(path, labels, affine)
        _, _, text = brain_mask_from_image(path)
        assert how in text
        mesh = load_brain(path, volume, max_faces=40_000)
        assert np.median(np.abs(distance_to_true_brain(phantom, mesh.points))) < 1.0, name
        check_brain_in_scalp(mesh, scalp)


def ndi_erode(mask):
    from scipy import ndimage as ndi
    return ndi.binary_erosion(mask, iterations=2)


def ndi_dilate(mask):
    from scipy import ndimage as ndi
    return ndi.binary_dilation(mask, iterations=2)


@pytest.mark.safety(hazard="brain", control="a brain mask that does not overlap the T1 is refused with its reason")
def test_mask_of_another_image_is_refused_with_its_reason(head, tmp_path):
    phantom, volume, _ = head
    affine = volume.mri_from_voxel.matrix.copy()
    affine[:3, 3] += [0.0, 0.0, 400.0]                          # another image's space
    path = save_nifti(tmp_path / "other_mask.nii.gz", np.asarray(phantom.brain_mask, np.uint8), affine)
    with pytest.raises(SurfaceError, match="does not overlap this T1"):
        load_brain(path, volume)


@pytest.mark.safety(hazard="left-right", control=(
    "lh.pial lands left and rh.pial right of the midline after the tkr-to-scanner "
    "alignment"))
def test_freesurfer_lh_and_rh_pial_are_merged_in_scanner_space(head, tmp_path):
    phantom, volume, scalp = head
    tkr_from_mri = np.linalg.inv(mri_from_tkr(volume))
    c = phantom.brain.centre + SHIFT
    paths, truth = [], []
    for hemi, side in (("lh", -1.0), ("rh", 1.0)):
        half = pv.ParametricEllipsoid(30.0, 60.0, 45.0).triangulate().clean()
        half.points += c + [side * 33.0, 0.0, 0.0]
        truth.append(np.asarray(half.points))
        tkr = half.points @ tkr_from_mri[:3, :3].T + tkr_from_mri[:3, 3]
        path = tmp_path / f"{hemi}.pial"
        nib.freesurfer.write_geometry(str(path), tkr, half.regular_faces)
        paths.append(path)
    brain = load_brain(paths, volume)
    np.testing.assert_allclose(brain.points, np.vstack(truth), atol=1e-3)
    assert brain.points[:len(truth[0]), 0].max() < c[0] < brain.points[len(truth[0]):, 0].min()
    assert "lh.pial + rh.pial" in provenance_of(brain)
    check_brain_in_scalp(brain, scalp)
    with pytest.raises(SurfaceError, match="both files are lh"):
        load_brain([paths[0], paths[0]], volume)
    assert "ONE hemisphere" in provenance_of(load_brain(paths[0], volume))


@pytest.mark.safety(hazard="brain", control=(
    "a surface in FreeSurfer tkr space read as scanner space is refused as 'another "
    "space'"))
def test_surface_in_tkr_space_saved_as_stl_is_refused_as_another_space(head, tmp_path):
    phantom, volume, scalp = head
    true = brain_ellipsoid(phantom)
    tkr_from_mri = np.linalg.inv(mri_from_tkr(volume))
    moved = true.copy()
    moved.points = true.points @ tkr_from_mri[:3, :3].T + tkr_from_mri[:3, 3]
    path = tmp_path / "pial_tkr.stl"
    moved.save(str(path))
    brain = load_brain(path, volume)
    with pytest.raises(SurfaceError, match="another space"):
        check_brain_in_scalp(brain, scalp)


@pytest.mark.parametrize("grow, offset, message", [
    (12.0, (0, 0, 0), "scalp or skull surface"),           # a scalp-sized surface
    (-25.0, (0, 0, 0), "mL; a brain is"),                          # a third of the volume: units?
    (2.0, (14.0, 0, 0), "does not fit this head"),           # another subject, shifted and larger
])
@pytest.mark.safety(hazard="brain", control=(
    "a scalp-sized, too small or misplaced brain surface is refused with the likely "
    "cause"))
def test_implausible_brains_are_refused_with_the_likely_cause(head, grow, offset, message):
    phantom, _, scalp = head
    with pytest.raises(SurfaceError, match=message):
        check_brain_in_scalp(brain_ellipsoid(phantom, grow, offset), scalp)


def test_true_brain_passes_the_check(head):
    phantom, _, scalp = head
    check = check_brain_in_scalp(brain_ellipsoid(phantom), scalp)
    assert check.inside_fraction == 1.0 and abs(check.median_gap_mm - 14.0) < 1.5


def test_simnibs_head_mesh_gives_its_grey_matter_surface(head, tmp_path):
    from tests.navigation.test_simnibs_msh import write_binary

    phantom, volume, scalp = head
    gm = brain_ellipsoid(phantom)
    outer = brain_ellipsoid(phantom, 14.0)
    xyz = np.vstack([gm.points, outer.points])
    ids = np.arange(1, len(xyz) + 1)
    elements = [(2, [1002, 1002], list(ids[f])) for f in gm.regular_faces]
    elements += [(2, [1005, 1005], list(ids[f + gm.n_points])) for f in outer.regular_faces]
    path = tmp_path / "subject.msh"
    write_binary(path, ids, xyz, elements)
    brain = load_brain(path, volume)
    assert brain.n_points == gm.n_points
    assert "SimNIBS" in provenance_of(brain)
    assert check_brain_in_scalp(brain, scalp).inside_fraction == 1.0
