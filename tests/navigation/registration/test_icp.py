"""Scalp ICP on the analytic bumpy head: recovers the truth, rejects outliers, and refuses
(with a reason) to drift, to run on too few points, or to accept a poor fit."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.registration import (IcpOptions, RegistrationError, SurfaceIndex,
                                            refine_with_surface)
from tmsnav.navigation.registration.trials import AnalyticHead
from tmsnav.navigation.transforms import Frame, Transform

HEAD = AnalyticHead()


@pytest.fixture(scope="module")
def scalp():
    return SurfaceIndex(HEAD.mesh_arrays(8000))


def _setup(seed, n=300, noise=0.25, init_rot_deg=3.0, init_shift_mm=4.0):
    rng = np.random.default_rng(seed)
    reference_from_mri = Transform.from_rotation(Rotation.random(random_state=rng),
                                                 rng.uniform(-200, 200, 3),
                                                 to_frame="reference", from_frame="mri")
    pts_ref = reference_from_mri.apply(HEAD.sample_scalp(n, rng)) + rng.normal(
        scale=noise, size=(n, 3))
    truth = reference_from_mri.inverse()
    axis = rng.normal(size=3)
    perturb = Transform.from_rotation(
        Rotation.from_rotvec(np.deg2rad(init_rot_deg) * axis / np.linalg.norm(axis)),
        rng.normal(size=3) / np.sqrt(3) * init_shift_mm, to_frame="mri", from_frame="mri")
    return pts_ref, truth, perturb @ truth, rng


def _error_at(t_est, t_true, p_mri):
    p_ref = t_true.inverse().apply(p_mri)
    return float(np.linalg.norm(t_est.apply(p_ref) - p_mri))


def test_recovers_the_truth_from_a_perturbed_start(scalp):
    pts, truth, init, _ = _setup(1)
    res = refine_with_surface(pts, scalp, init)
    assert res.ok and res.converged, res.failure_reason
    assert res.mri_from_reference.to_frame == Frame.MRI
    target = HEAD.dlpfc_target_mri()
    start = [_error_at(init, truth, p) for p in HEAD.fiducials_mri().values()]
    assert min(start) > 3.0                              # the start is several mm off
    assert _error_at(res.mri_from_reference, truth, target) < 1.0
    assert 0.15 < res.rms_mm < 0.35                     # ≈ the 0.25 mm noise
    assert res.inliers.all() and len(res.distances_mm) == len(pts)
    assert res.iterations < 20
    assert res.history_rms_mm[0] > res.history_rms_mm[-1]


def test_outliers_are_rejected(scalp):
    pts, truth, init, rng = _setup(2)
    bad = rng.choice(len(pts), 30, replace=False)      # 10 % lifted pointer / hair: 5–15 mm off
    mri_pts = truth.apply(pts[bad])
    pts[bad] = truth.inverse().apply(mri_pts * (1 + rng.uniform(0.06, 0.15, (30, 1))))
    res = refine_with_surface(pts, scalp, init)
    assert res.ok, res.failure_reason
    assert not res.inliers[bad].any()
    assert res.inliers.sum() >= 265
    assert _error_at(res.mri_from_reference, truth, HEAD.dlpfc_target_mri()) < 1.0


def test_guard_trips_when_the_surface_pulls_far_from_the_fiducials(scalp):
    pts, truth, _, _ = _setup(3)
    fid_mri = np.array(list(HEAD.fiducials_mri().values()))
    fid_ref = truth.inverse().apply(fid_mri)
    # a fiducial solution 15 mm off (e.g. a wrong landmark); surface points are right
    wrong = Transform.from_translation([15.0, 0, 0], to_frame="mri", from_frame="mri") @ truth
    res = refine_with_surface(pts, scalp, wrong, fiducials_reference=fid_ref,
                              fiducials_mri=fid_mri + [15.0, 0, 0],
                              options=IcpOptions(fiducial_fle_mm=1e6))
    assert not res.ok
    assert "away from the fiducials" in res.failure_reason
    assert res.fiducial_shift_mm.max() > 10.0
    with pytest.raises(RegistrationError, match="away from the fiducials"):
        res.raise_if_failed()


def test_rotation_guard(scalp):
    pts, truth, _, _ = _setup(4)
    rot = Transform.from_euler("z", [np.deg2rad(14)], to_frame="mri", from_frame="mri")
    res = refine_with_surface(pts, scalp, rot @ truth)
    assert not res.ok and "rotated" in res.failure_reason


def test_not_converging_is_reported(scalp):
    pts, _, init, _ = _setup(5)
    res = refine_with_surface(pts, scalp, init, options=IcpOptions(max_iterations=1))
    assert not res.converged and "did not settle after 1 iterations" in res.failure_reason


def test_poor_fit_and_too_many_outliers_are_reported(scalp):
    pts, truth, init, rng = _setup(6, noise=3.0)
    res = refine_with_surface(pts, scalp, init)
    assert not res.ok and "RMS from the MRI scalp" in res.failure_reason
    pts, truth, init, rng = _setup(7)
    far = rng.choice(len(pts), 105, replace=False)        # 35 % of the points 15–25 mm off
    pts[far] = truth.inverse().apply(truth.apply(pts[far]) * rng.uniform(1.2, 1.3, (105, 1)))
    res = refine_with_surface(pts, scalp, init)
    assert not res.ok and "Only 65 % of the surface points fit" in res.failure_reason


def test_input_checks(scalp):
    pts, _, init, _ = _setup(8)
    with pytest.raises(RegistrationError, match="Only 10 head-surface points"):
        refine_with_surface(pts[:10], scalp, init)
    strip = np.column_stack([np.linspace(-50, 50, 100), np.zeros(100), np.full(100, 90.0)])
    with pytest.raises(RegistrationError, match="strip only"):
        refine_with_surface(strip, scalp, init)
    with pytest.raises(ValueError, match="mri_from_reference"):
        refine_with_surface(pts, scalp, init.inverse())
