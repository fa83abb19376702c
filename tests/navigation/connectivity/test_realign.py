"""Rigid realignment recovers known motion (sample head and phantom), and FD follows Power 2012."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tests.navigation.connectivity import inputs_data as D
from tmsnav.navigation.connectivity.confounds import framewise_displacement
from tmsnav.navigation.connectivity.raw_synthetic import random_motion, synthetic_raw_run
from tmsnav.navigation.connectivity.realign import realign, rigid_about
from tmsnav.navigation.phantom import make_phantom_head

EXTREMES = np.array([[3, -3, 3, *np.radians([3, -3, 3])], [-3, 3, -3, *np.radians([-3, 3, -3])]])


def _motion(n: int, seed: int) -> np.ndarray:
    """A random walk within 3 mm / 3 degrees per axis, with two volumes at the extremes."""
    motion = random_motion(n, seed=seed)
    motion[5], motion[6] = EXTREMES
    return motion


def _errors(result, truth: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-volume translation (mm, at the head centre) and rotation (deg) errors.

    The reference a realignment chooses (here the mean image) is arbitrary, so the estimates are
    compared with the truth up to ONE common rigid offset (the reference's pose): the offset is
    taken from the middle volume and must then fit every other volume."""
    mid = len(truth) // 2
    offset = np.linalg.inv(result.volume_from_reference[mid]) @ truth[mid]
    t_err, r_err = [], []
    for estimate, true in zip(result.volume_from_reference, truth):
        d = estimate @ offset @ np.linalg.inv(true)
        t_err.append(np.linalg.norm(d[:3, :3] @ centre + d[:3, 3] - centre))
        r_err.append(np.degrees(Rotation.from_matrix(d[:3, :3]).magnitude()))
    return np.array(t_err), np.array(r_err)


@pytest.fixture(scope="module")
def sample_run():
    t1 = D.sample_t1()
    return synthetic_raw_run(np.asarray(t1.dataobj), t1.affine, n_volumes=40, motion=_motion(40, 1), seed=1)


@pytest.fixture(scope="module")
def phantom_run():
    head = make_phantom_head(2.0).nifti()
    return synthetic_raw_run(np.asarray(head.dataobj, dtype=np.float32), head.affine, n_volumes=30,
                             motion=_motion(30, 4), seed=2)


@pytest.mark.parametrize("which", ["sample_run", "phantom_run"])
def test_known_motion_is_recovered(which, request):
    run = request.getfixturevalue(which)
    result = realign(run.data, run.bold_from_voxel)
    t_err, r_err = _errors(result, run.volume_from_reference, run.centre_mm)
    assert t_err.max() < 0.2, t_err.round(3)
    assert r_err.max() < 0.2, r_err.round(3)
    # FD is what the pipeline uses: the estimated FD follows the true one
    c = result.centre_mm
    true_motion = np.array([[*(m[:3, :3] @ c + m[:3, 3] - c), *Rotation.from_matrix(m[:3, :3]).as_euler("xyz")]
                            for m in run.volume_from_reference])
    fd_error = np.abs(result.framewise_displacement_mm - framewise_displacement(true_motion))
    assert fd_error.max() < 0.3, fd_error.round(3)
    assert result.framewise_displacement_mm[5] > 5.0 and result.framewise_displacement_mm[7] > 5.0
    # the realigned volumes agree with each other: the extreme volume now matches its neighbours
    still = result.data[..., 4:8]
    head = still.mean(axis=3) > 0.2 * still.max()
    assert np.abs(still[..., 1][head] - still[..., 2][head]).mean() < 0.3 * np.abs(
        run.data[..., 5][head] - run.data[..., 6][head]).mean()


def test_still_run_gives_zero_motion(sample_run):
    still = np.repeat(sample_run.data[..., :1], 12, axis=3)
    result = realign(still, sample_run.bold_from_voxel)
    assert np.abs(result.motion[:, :3]).max() < 1e-3
    assert np.abs(result.framewise_displacement_mm).max() < 1e-2


def test_flipped_storage_gives_the_same_motion_in_mm(sample_run):
    """The same run stored right-to-left: motion is in mm of the run's own frame, not in voxel
    order, so a trans_x to the patient's right stays positive."""
    flipped_affine = sample_run.bold_from_voxel.copy()
    nx = sample_run.data.shape[0]
    flipped_affine[:3, 3] = sample_run.bold_from_voxel[:3, :3] @ [nx - 1, 0, 0] + flipped_affine[:3, 3]
    flipped_affine[:3, 0] *= -1
    data = sample_run.data[::-1, :, :, :12].copy()
    a = realign(sample_run.data[..., :12], sample_run.bold_from_voxel)
    b = realign(data, flipped_affine)
    rel_a = np.array([m @ np.linalg.inv(a.volume_from_reference[0]) for m in a.volume_from_reference])
    rel_b = np.array([m @ np.linalg.inv(b.volume_from_reference[0]) for m in b.volume_from_reference])
    # the stride-2 sub-grid falls on other voxels of the mirrored storage: equal within the accuracy
    assert np.abs(rel_a[:, :3, 3] - rel_b[:, :3, 3]).max() < 0.2
    assert np.abs(rel_a[:, 0, 3]).max() > 1.0        # there was x motion to get wrong


def test_power_fd_by_hand():
    motion = np.zeros((4, 6))
    motion[1] = [1.0, 0, 0, 0, 0, 0]
    motion[2] = [1.0, -0.5, 0, 0.01, 0, 0]
    motion[3] = [1.0, -0.5, 0, 0.01, 0, -0.02]
    fd = framewise_displacement(motion)
    assert fd == pytest.approx([0.0, 1.0, 0.5 + 50 * 0.01, 50 * 0.02])


def test_rigid_about_keeps_the_centre_for_a_pure_rotation():
    centre = np.array([10.0, -20.0, 30.0])
    m = rigid_about(np.r_[0, 0, 0, 0.1, -0.2, 0.05], centre)
    assert np.allclose(m[:3, :3] @ centre + m[:3, 3], centre)
