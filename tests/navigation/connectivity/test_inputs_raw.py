"""A raw scanner run through the minimal pipeline: realigned, coregistered, masked, labelled."""

from __future__ import annotations

import numpy as np
import pytest

from tests.navigation.connectivity import inputs_data as D
from tmsnav.navigation.connectivity.bold_file import FunctionalInputError
from tmsnav.navigation.connectivity.inputs import prepare_bold_file
from tmsnav.navigation.connectivity.raw_synthetic import random_motion, synthetic_raw_run
from tmsnav.navigation.connectivity.realign import rigid_about
from tmsnav.navigation.transforms import Frame

N = 100
TRUTH = rigid_about(np.r_[4.0, -5.0, 3.0, np.radians([3.0, -2.0, 4.0])], np.array([0.0, 0.0, 20.0]))


def _motion() -> np.ndarray:
    motion = random_motion(N, max_mm=1.0, max_deg=1.0, seed=5) * 0.1      # FD ~0.1 mm between volumes
    motion[30:] += [1.2, 0, 0, 0, 0, 0]          # one 1.2 mm jump: FD > 0.5 at volume 30 only
    return motion


def _write(tmp_path, flip: bool):
    t1 = D.sample_t1()
    run = synthetic_raw_run(np.asarray(t1.dataobj), t1.affine, n_volumes=N, mri_from_bold=TRUTH,
                            motion=_motion(), flip_x=flip, seed=7)
    path = tmp_path / f"sub-01_task-rest_flip{int(flip)}_bold.nii.gz"
    import nibabel as nib

    nib.save(run.nifti(2.0), str(path))
    return run, path


@pytest.fixture(scope="module")
def prepared_pair(tmp_path_factory):
    out = {}
    for flip in (False, True):
        run, path = _write(tmp_path_factory.mktemp(f"raw{flip}"), flip)
        out[flip] = (run, prepare_bold_file(path, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni()))
    return out


def _corners_mm(run, prepared) -> np.ndarray:
    """Distances (mm) between where the prepared run puts the brain's corners in the T1 and where
    they are (the realigned run lies where its reference, the middle volume's position, lies)."""
    from tests.navigation.connectivity.test_coregister import _brain_corners

    corners = _brain_corners(D.sample_t1())
    mid = N // 2
    mri_from_voxel = TRUTH @ np.linalg.inv(run.volume_from_reference[mid]) @ run.bold_from_voxel
    ijk = (np.linalg.inv(mri_from_voxel) @ np.c_[corners, np.ones(8)].T).T
    return np.linalg.norm((ijk @ prepared.space_from_voxel.T)[:, :3] - corners, axis=1)


@pytest.mark.slow
def test_raw_run_becomes_a_minimal_prepared_run(prepared_pair):
    run, prepared = prepared_pair[False]
    assert prepared.pipeline == "minimal" and prepared.space == Frame.MRI
    assert [s.split(" ")[0] for s in prepared.steps][:3] == ["read", "rigid", "coregistration"]
    assert any(s.startswith("not done") for s in prepared.steps)
    assert prepared.mri_from_space.is_close(prepared.mri_from_space.identity(Frame.MRI, Frame.MRI))
    assert np.allclose(prepared.mni_from_space.matrix, np.linalg.inv(D.mri_from_mni().matrix))
    assert prepared.grid_shape == (64, 64, 36) and prepared.n_volumes == N      # native voxels kept
    assert _corners_mm(run, prepared).max() < 1.5
    names = prepared.confound_names
    assert names[:6] == ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    assert names[-3:] == ["global_signal", "white_matter", "csf"] and len(names) == 15
    fd = prepared.framewise_displacement_mm
    assert fd[30] == pytest.approx(1.2, abs=0.25)
    assert list(np.nonzero(~prepared.kept_volumes)[0]) == [30]
    assert 0.2 < np.ptp(prepared.confounds[:, names.index("trans_x")]) < 3.0
    assert prepared.brain_mask.sum() > 5000 and prepared.wm_mask is not None and prepared.wm_mask.sum() > 50
    assert prepared.csf_mask is not None and prepared.csf_mask.any()
    assert 0.0 <= prepared.gm_probability.min() and prepared.gm_probability.max() <= 1.0


@pytest.mark.slow
@pytest.mark.safety(hazard="left-right", control="a raw BOLD run stored right-to-left is realigned and "
                    "coregistered to the same millimetres of the patient's T1 as the run stored "
                    "left-to-right: its left side lands on the T1's left")
def test_raw_run_stored_right_to_left_lands_on_the_same_mm(prepared_pair):
    run_a, a = prepared_pair[False]
    run_b, b = prepared_pair[True]
    assert (b.space_from_voxel[0, 0] < 0) and (a.space_from_voxel[0, 0] > 0)
    assert _corners_mm(run_b, b).max() < 1.5
    nx = a.grid_shape[0]
    # voxel (i, j, k) of one is voxel (nx-1-i, j, k) of the other: the same place in the T1
    for ijk in ([5, 30, 20], [58, 30, 20], [32, 10, 5]):
        pa = a.space_from_voxel @ np.r_[ijk, 1.0]
        pb = b.space_from_voxel @ np.r_[nx - 1 - ijk[0], ijk[1], ijk[2], 1.0]
        assert np.linalg.norm(pa[:3] - pb[:3]) < 1.5
    left = a.space_from_voxel @ np.r_[5, 30, 20, 1.0]
    right = a.space_from_voxel @ np.r_[58, 30, 20, 1.0]
    assert left[0] < right[0]                     # voxel i grows to the patient's right (RAS storage)


def test_raw_run_with_nan_inside_the_head_is_refused_before_the_work(tmp_path, monkeypatch):
    import tmsnav.navigation.connectivity.raw_pipeline as raw

    t1 = D.sample_t1()
    run = synthetic_raw_run(np.asarray(t1.dataobj), t1.affine, n_volumes=N, motion=np.zeros((N, 6)), seed=1)
    run.data[32, 32, 18, 7] = np.nan
    path = tmp_path / "nan_bold.nii.gz"
    import nibabel as nib

    nib.save(run.nifti(2.0), str(path))
    monkeypatch.setattr(raw, "realign", lambda *a, **k: pytest.fail("realignment started on a damaged run"))
    with pytest.raises(FunctionalInputError, match=r"1 voxels inside the brain hold NaN"):
        prepare_bold_file(path, t1_volume=t1, mri_from_mni=D.mri_from_mni())


@pytest.mark.slow
def test_raw_sample_run_finds_the_planted_target(tmp_path):
    """The bundled raw sample (motion with spikes, drift, physiological noise) through the minimal
    pipeline and the method: the planted target within 3 mm. Trilinear reslicing of the realigned
    volumes failed this (6.4 mm: its blur follows the motion); the cubic spline gives 0.9 mm."""
    from tmsnav.navigation.connectivity.method import compute_connectivity
    from tmsnav.navigation.connectivity.sample_run import write_sample_run
    from tmsnav.navigation.imaging.volume import load_volume

    truth = write_sample_run(tmp_path, variant="raw", n_volumes=200, seed=0)
    prepared = prepare_bold_file(truth.bold_path, t1_volume=load_volume(truth.t1_path),
                                 mri_from_mni=D.mri_from_mni())
    assert prepared.pipeline == "minimal"
    assert set(np.nonzero(~prepared.kept_volumes)[0]) >= set(truth.spike_volumes.tolist())
    result = compute_connectivity(prepared)
    assert np.linalg.norm(np.asarray(result.target_mri_mm) - truth.target_mri_mm) < 3.0
