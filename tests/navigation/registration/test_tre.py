"""Predicted TRE against Monte-Carlo simulation on synthetic fiducial configurations."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.registration import (IcpOptions, SurfaceIndex, fit_rigid, fle_from_fre,
                                            predicted_tre, predicted_tre_from_covariance,
                                            refine_with_surface)
from tmsnav.navigation.registration.trials import AnalyticHead
from tmsnav.navigation.transforms import Transform

CONFIGS = {
    "nas-lpa-rpa": [(0, 85, -35), (-80, -29, -41), (84, -28, -41)],
    "five landmarks": [(0, 85, -35), (-80, -29, -41), (84, -28, -41), (0, -110, -20),
                       (0, -20, 100)],
    "clustered front": [(0, 85, -35), (-30, 75, -20), (30, 75, -20), (0, 80, 10)],
}
TARGETS = np.array([[-38.0, 44.0, 26.0],      # DLPFC-like, MNI-ish
                    [-37.0, -21.0, 58.0],     # M1 hand knob
                    [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fwm_formula_matches_monte_carlo_within_10_percent(name):
    fid = np.array(CONFIGS[name], dtype=float)
    rng = np.random.default_rng(len(name))
    sigma = 1.0                                  # per axis → FLE (3-D RMS) = √3 mm
    trials = 4000
    sq_err = np.zeros(len(TARGETS))
    fre2 = 0.0
    for _ in range(trials):
        fit = fit_rigid(fid + rng.normal(scale=sigma, size=fid.shape), fid)
        sq_err += np.sum((fit.apply(TARGETS) - TARGETS) ** 2, axis=1)
        fre2 += fit.rms_mm**2
    mc = np.sqrt(sq_err / trials)
    predicted = predicted_tre(fid, TARGETS, fle_mm=np.sqrt(3) * sigma)
    np.testing.assert_allclose(predicted, mc, rtol=0.10)
    # ⟨FRE²⟩ = (1 − 2/N) ⟨FLE²⟩, so FLE estimated from the mean FRE² recovers √3
    n = len(fid)
    assert fle_from_fre(np.sqrt(fre2 / trials), n) == pytest.approx(np.sqrt(3), rel=0.05)


def test_tre_grows_away_from_the_fiducial_centroid():
    fid = np.array(CONFIGS["clustered front"], dtype=float)
    near = predicted_tre(fid, fid.mean(0), 2.0)[0]
    far = predicted_tre(fid, fid.mean(0) + [0, -150, 0], 2.0)[0]
    assert near == pytest.approx(2.0 / 2.0)       # at the centroid: FLE/√N
    assert far > 3 * near


def test_input_checks():
    with pytest.raises(ValueError, match="at least 3"):
        fle_from_fre(1.0, 2)
    with pytest.raises(ValueError, match="collinear"):
        predicted_tre([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [0, 0, 0], 1.0)
    with pytest.raises(ValueError, match="6x6"):
        predicted_tre_from_covariance(np.eye(3), [0, 0, 0], [1, 1, 1])


def test_icp_covariance_prediction_matches_monte_carlo():
    head = AnalyticHead()
    scalp = SurfaceIndex(head.mesh_arrays(8000))
    target = head.dlpfc_target_mri()
    rng = np.random.default_rng(3)
    errors, predicted = [], []
    for _ in range(60):
        rot = Rotation.random(random_state=rng).as_matrix()
        trans = rng.uniform(-100, 100, 3)
        pts_ref = (head.sample_scalp(200, rng) @ rot.T + trans
                   + rng.normal(scale=0.3, size=(200, 3)))
        truth = Transform.from_rotation(rot.T, -rot.T @ trans, to_frame="mri",
                                        from_frame="reference")
        start = Transform.from_translation(rng.normal(size=3), to_frame="mri",
                                           from_frame="mri") @ truth
        res = refine_with_surface(pts_ref, scalp, start, options=IcpOptions())
        assert res.ok, res.failure_reason
        est = res.mri_from_reference.apply(rot @ target + trans)
        errors.append(np.sum((est - target) ** 2))
        predicted.append(predicted_tre_from_covariance(res.pose_covariance,
                                                       res.covariance_centre_mm, target)[0] ** 2)
    mc, pred = np.sqrt(np.mean(errors)), np.sqrt(np.mean(predicted))
    assert pred == pytest.approx(mc, rel=0.25)
