"""The target lands at the same place in the head whatever the grid: rotated, anisotropic,
stored right-to-left, in MNI or in the patient's MRI with a non-identity MNI registration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.connectivity.method import ConnectivityParams, compute_connectivity
from tmsnav.navigation.transforms import Frame

from tests.navigation.connectivity.synthetic_runs import BRAIN_CENTRE, make_run, prepared_from

CLEAN = dict(n_volumes=240, seed=2, noise=0.7)


def _grid(rotation_deg=(0, 0, 0), voxel=(3.0, 3.0, 3.0), shape=(54, 56, 48)):
    lin = Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix() @ np.diag(voxel)
    affine = np.eye(4)
    affine[:3, :3] = lin
    affine[:3, 3] = BRAIN_CENTRE + [0, 8, 0] - lin @ ((np.array(shape) - 1) / 2)
    return affine, shape


@pytest.mark.parametrize("rotation_deg, voxel", [((12, -8, 20), (3.0, 3.0, 3.0)),
                                                 ((0, 0, 0), (2.5, 3.0, 3.6))],
                         ids=["oblique", "anisotropic"])
def test_oblique_and_anisotropic_grids(rotation_deg, voxel):
    shape = tuple(int(np.ceil(s * 3.0 / v)) for s, v in zip((54, 56, 48), voxel))
    affine, shape = _grid(rotation_deg, voxel, shape)
    run = make_run(**CLEAN, affine=affine, shape=shape)
    res = compute_connectivity(prepared_from(run))
    assert np.linalg.norm(res.target_mni_mm - run.planted_mni) < 3.0


@pytest.mark.safety(hazard="left-right",
                    control="a run stored right-to-left (LPI/LAS, negative x in the affine) gives the "
                            "same left-hemisphere connectivity target as the same run stored RAS")
def test_right_to_left_storage_keeps_the_target_left():
    run = make_run(**CLEAN)
    flip = np.eye(4)
    flip[0, 0], flip[0, 3] = -1.0, run.data.shape[0] - 1
    flipped = prepared_from(run, data=np.ascontiguousarray(run.data[::-1]), affine=run.affine @ flip)
    for name in ("brain_mask", "gm_probability", "wm_mask", "csf_mask"):
        setattr(flipped, name, np.ascontiguousarray(getattr(flipped, name)[::-1]))
    assert flipped.space_from_voxel[0, 0] < 0
    a = compute_connectivity(prepared_from(run))
    b = compute_connectivity(flipped)
    assert a.target_mni_mm[0] < -30 and b.target_mni_mm[0] < -30
    np.testing.assert_allclose(b.target_mni_mm, a.target_mni_mm, atol=1e-6)
    np.testing.assert_allclose(b.target_mri_mm, a.target_mri_mm, atol=1e-6)
    np.testing.assert_allclose(b.correlation_map[::-1], a.correlation_map, atol=1e-9, equal_nan=True)


def _patient_affine():
    """mri_from_mni: a patient 8 % smaller than the template, turned and shifted (12 parameters)."""
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("xyz", (6, -4, 10), degrees=True).as_matrix() @ np.diag([0.92, 0.95, 0.9])
    m[:3, 3] = (4.0, -18.0, 22.0)
    return m


def test_mri_space_run_with_a_non_identity_mni_registration():
    """The run lies in the patient's MRI (fMRIPrep space-T1w or the minimal pipeline): the MNI
    spheres must be carried in through mni_from_space, and the target reported in both frames."""
    run = make_run(**CLEAN)
    mri_from_mni = _patient_affine()
    prepared = prepared_from(run, affine=mri_from_mni @ run.affine, space=Frame.MRI,
                             mni_from_space=np.linalg.inv(mri_from_mni))
    res = compute_connectivity(prepared)
    assert res.space == Frame.MRI
    assert np.linalg.norm(res.target_mni_mm - run.planted_mni) < 3.0
    np.testing.assert_allclose(res.target_mri_mm, res.target_space_mm)
    np.testing.assert_allclose(res.target_mri_mm, mri_from_mni[:3, :3] @ res.target_mni_mm + mri_from_mni[:3, 3],
                               atol=1e-9)
    assert np.linalg.norm(res.target_mri_mm - (mri_from_mni[:3, :3] @ run.planted_mni + mri_from_mni[:3, 3])) < 3.0
    assert res.map_image().header["sform_code"] == 1          # scanner (patient) space


def test_mni_space_run_reports_the_patient_mri_point():
    run = make_run(**CLEAN)
    mri_from_mni = _patient_affine()
    res = compute_connectivity(prepared_from(run, mri_from_space=mri_from_mni))
    np.testing.assert_allclose(res.target_mni_mm, res.target_space_mm)
    np.testing.assert_allclose(res.target_mri_mm, mri_from_mni[:3, :3] @ res.target_mni_mm + mri_from_mni[:3, 3],
                               atol=1e-9)
    for half in res.split_targets_mri_mm:          # the displayed split targets are in mri too
        assert np.linalg.norm(half - res.target_mri_mm) < 3.0
    assert res.mri_from_space is not None         # overlays place the MNI-grid map on the head
    np.testing.assert_allclose(res.mri_from_space.apply(res.target_space_mm), res.target_mri_mm)


def test_seed_map_of_the_sphere_equals_the_sphere_seed(tmp_path):
    """The seed-map variant with a map that is 1 in the seed sphere (in MNI, its own 1 mm grid)
    gives the sphere seed's result: the weights go through the same MNI placement."""
    import nibabel as nib

    run = make_run(**CLEAN)
    params = ConnectivityParams(null_surrogates=19, alpha=1.0)
    sphere = compute_connectivity(prepared_from(run), params)
    # the map: 1 at run voxels of the sphere, sampled on a grid that is the run's own (so
    # trilinear sampling returns exactly 1 and 0), stored in MNI
    weights = sphere.seed_mask.astype(np.float32)
    path = tmp_path / "seedmap.nii.gz"
    nib.save(nib.Nifti1Image(weights, run.affine), path)
    mapped = compute_connectivity(prepared_from(run), ConnectivityParams(null_surrogates=19, alpha=1.0,
                                                                         seed_map=str(path)))
    np.testing.assert_array_equal(mapped.seed_mask, sphere.seed_mask)
    np.testing.assert_allclose(mapped.correlation_map, sphere.correlation_map, atol=1e-9, equal_nan=True)
