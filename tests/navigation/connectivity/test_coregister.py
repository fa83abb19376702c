"""Mean-BOLD-to-T1 rigid registration by mutual information recovers a known offset."""

from __future__ import annotations

import numpy as np
import pytest

from tests.navigation.connectivity import inputs_data as D
from tmsnav.navigation.connectivity.coregister import coregister
from tmsnav.navigation.connectivity.raw_synthetic import synthetic_raw_run
from tmsnav.navigation.connectivity.realign import rigid_about
from tmsnav.navigation.phantom import make_phantom_head

#: the run's scanner frame is off the T1's by 6 mm and 4-5 degrees on every axis
TRUTH = rigid_about(np.r_[6.0, -8.0, 5.0, np.radians([4.0, -3.0, 5.0])], np.array([0.0, 0.0, 20.0]))


def _brain_corners(t1) -> np.ndarray:
    """Corners of a box of 140 x 170 x 120 mm around the head's intensity centre (the brain's
    extent): a rotation error shows up there at its largest."""
    from scipy import ndimage as ndi

    data = np.asarray(t1.dataobj, dtype=np.float32)
    com = np.array(ndi.center_of_mass(np.clip(data, 0, None)))
    centre = t1.affine[:3, :3] @ com + t1.affine[:3, 3]
    half = np.array([70.0, 85.0, 60.0])
    return np.array([centre + half * [sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])


@pytest.mark.parametrize("head", ["sample", "phantom"])
@pytest.mark.parametrize("flip", [False, True])
def test_known_offset_is_recovered_within_1_5_mm(head, flip):
    t1 = D.sample_t1() if head == "sample" else make_phantom_head(2.0).nifti()
    data = np.asarray(t1.dataobj, dtype=np.float32)
    run = synthetic_raw_run(data, t1.affine, n_volumes=2, mri_from_bold=TRUTH, motion=np.zeros((2, 6)),
                            flip_x=flip, noise=10.0, seed=3)
    result = coregister(run.data.mean(axis=3), run.bold_from_voxel, data, t1.affine)
    corners = _brain_corners(t1)
    bold = (np.linalg.inv(TRUTH) @ np.c_[corners, np.ones(8)].T).T[:, :3]     # where the run has them
    estimated = bold @ result.mri_from_bold[:3, :3].T + result.mri_from_bold[:3, 3]
    error = np.linalg.norm(estimated - corners, axis=1)
    assert error.max() < 1.5, error.round(2)
    assert np.allclose(result.mri_from_bold[:3, :3] @ result.mri_from_bold[:3, :3].T, np.eye(3), atol=1e-9)
    assert np.linalg.det(result.mri_from_bold[:3, :3]) > 0           # a rotation, never a mirror
