"""Issue 10, defects 4 and 5 on a head the defaults were not tuned on (the image phantom):

* LPA/RPA touched swapped is refused on *both* paths, fiducials only included, with the cause;
  a registration without scalp touches cannot be used (left/right unchecked);
* points lifted 1.5 mm off the skin and an MRI 2 % off in scale are warned with their cause,
  clean sessions are not;
* the displayed predicted error (a 95 % bound) covers the measured error at the target in
  simulated sessions with and without these biases.

Every test here failed on the code before the fix: swapped fiducials-only was accepted as a
mild warning, there were no offset/scale warnings, and the displayed figure was an RMS that the
measured error exceeded in most biased sessions.
"""

import json

import numpy as np
import pytest

from tmsnav.navigation.registration import RegistrationResult, SurfaceIndex, register
from tmsnav.navigation.registration.icp import refine_with_surface
from tmsnav.navigation.registration.fiducials import register_fiducials
from tmsnav.navigation.registration.trials import phantom_session_head, simulate_session
from tmsnav.navigation.registration.verdict import FAIL, PASS, WARN, assess_registration


@pytest.fixture(scope="module")
def head():
    return phantom_session_head()


@pytest.fixture(scope="module")
def scalp(head):
    return SurfaceIndex(head.scalp_mesh)


def run(head, scalp, condition, seed, *, refine=True, n_points=None):
    session = simulate_session(head, condition, np.random.default_rng(seed))
    pts = session.points_reference if n_points is None else session.points_reference[:n_points]
    result = register(session.mri_fiducials, session.touched, scalp_points_reference=pts,
                      surface=scalp, refine=refine, targets_mri={"DLPFC": session.target_mri})
    return session, result, assess_registration(result, "DLPFC")


# ----- defect 4: swapped LPA/RPA ---------------------------------------------------------------
@pytest.mark.safety(hazard="left-right", control="LPA and RPA touched swapped are refused "
                    "(FAIL, 'LPA and RPA look swapped') with fiducials only, from 6 scalp touches")
@pytest.mark.parametrize("seed", range(12))
def test_swapped_lpa_rpa_fiducials_only_is_refused_with_the_cause(head, scalp, seed):
    session, result, verdict = run(head, scalp, "swapped_lpa_rpa", seed, refine=False,
                                   n_points=6)
    assert session.error_mm(result.mri_from_reference) > 50.0      # what it would have cost
    assert not result.accepted and verdict.level == FAIL and not verdict.usable
    assert verdict.reasons[0].startswith("LPA and RPA look swapped")


@pytest.mark.parametrize("seed", range(4))
def test_swapped_lpa_rpa_with_surface_points_is_refused_before_icp(head, scalp, seed):
    _, result, verdict = run(head, scalp, "swapped_lpa_rpa", seed)
    assert verdict.level == FAIL and result.method == "fiducials"
    assert verdict.reasons[0].startswith("LPA and RPA look swapped")


def test_fiducials_only_in_the_right_order_is_usable(head, scalp):
    for seed in range(8):
        session, result, verdict = run(head, scalp, "clean", seed, refine=False, n_points=6)
        assert result.accepted and verdict.level == WARN, verdict.reasons
        assert any(r.startswith("Fiducials only") for r in verdict.reasons)
        # the 95 % bound of the fiducial fit holds here too
        assert session.error_mm(result.mri_from_reference) < result.predicted_error_mm["DLPFC"]


def test_each_side_test_alone_catches_the_swap(head, scalp):
    """The plane test needs no surface; the both-assignments test needs no plane."""
    from tmsnav.navigation.registration.sides import check_sides

    session = simulate_session(head, "swapped_lpa_rpa", np.random.default_rng(40))
    fid = register_fiducials(session.mri_fiducials, session.touched)
    pts = session.points_reference[:6]
    assert check_sides(fid, pts, None).startswith("LPA and RPA look swapped")
    assert "with LPA and RPA exchanged" in check_sides(fid, pts, scalp)
    right = simulate_session(head, "clean", np.random.default_rng(40))
    fid = register_fiducials(right.mri_fiducials, right.touched)
    assert check_sides(fid, right.points_reference[:6], scalp) is None


@pytest.mark.safety(hazard="registration", control="no registration is usable without 5 scalp "
                    "touches: three fiducials cannot show a swapped LPA/RPA")
def test_no_scalp_touches_means_no_usable_registration(head, scalp):
    session = simulate_session(head, "clean", np.random.default_rng(1))
    for pts in (None, session.points_reference[:4]):
        result = register(session.mri_fiducials, session.touched, scalp_points_reference=pts,
                          surface=scalp, refine=False)
        verdict = assess_registration(result)
        assert verdict.level == FAIL and "Left and right cannot be checked" in verdict.reasons[0]


# ----- defect 5: systematic offsets ------------------------------------------------------------
@pytest.mark.safety(hazard="registration", control="points lifted 1.5 mm off the skin (hair, a "
                    "cap) are warned with the cause and the shown error includes their effect")
@pytest.mark.parametrize("seed", range(5))
def test_points_lifted_1_5_mm_are_warned_with_the_cause(head, scalp, seed):
    session, result, verdict = run(head, scalp, "lifted_1_5mm", seed)
    assert result.accepted and verdict.level == WARN
    assert result.surface_offset_mm == pytest.approx(1.5, abs=0.3)
    text = " ".join(verdict.reasons)
    assert "mm outside the skin: hair or a cap under the pointer" in text
    # the old figure (random error only) is exceeded; the shown one is not
    error = session.error_mm(result.mri_from_reference)
    assert result.predicted_tre_icp_mm["DLPFC"] < error < result.predicted_error_mm["DLPFC"]
    assert result.predicted_error_systematic_mm["DLPFC"] > 1.0


@pytest.mark.safety(hazard="registration", control="an MRI 2 % off in scale is warned with the "
                    "cause (voxel size / scanner calibration)")
@pytest.mark.parametrize("seed", range(5))
def test_mri_two_percent_off_in_scale_is_warned_with_the_cause(head, scalp, seed):
    session, result, verdict = run(head, scalp, "scale_2pct", seed)
    assert verdict.level == WARN
    assert result.head_scale == pytest.approx(1.02, abs=0.004)
    text = " ".join(verdict.reasons)
    assert "larger than the MRI: check the MRI voxel size / scanner calibration" in text
    error = session.error_mm(result.mri_from_reference)
    assert error < result.predicted_error_mm["DLPFC"]


def test_clean_sessions_raise_no_offset_or_scale_alarm(head, scalp):
    """20 clean sessions: the offset stays within ±0.1 mm, the scale within ±0.1 %, no bias
    warning (the warning lines are 0.8 mm and 1.2 %)."""
    for seed in range(20):
        _, result, verdict = run(head, scalp, "clean", 500 + seed)
        assert abs(result.surface_offset_mm) < 0.1 and abs(result.head_scale - 1) < 0.001
        text = " ".join(verdict.reasons)
        assert "skin" not in text and "than the MRI" not in text, verdict.reasons
        assert verdict.level in (PASS, WARN)


def test_hair_outliers_are_dropped_not_warned_as_an_offset(head, scalp):
    for seed in range(5):
        _, result, verdict = run(head, scalp, "hair_outliers", 900 + seed)
        assert result.accepted and abs(result.surface_offset_mm) < 0.3
        assert "outside the skin" not in " ".join(verdict.reasons)


def test_icp_settles_on_lifted_points(head, scalp):
    """Before the damping, 4 of 6 such sessions cycled between two poses for 50 iterations and
    were refused as "did not settle" (the wrong cause)."""
    for seed in range(6):
        session = simulate_session(head, "lifted_1_5mm", np.random.default_rng(seed))
        fid = register_fiducials(session.mri_fiducials, session.touched)
        icp = refine_with_surface(session.points_reference, scalp, fid.mri_from_reference,
                                  fiducials_reference=fid.reference_mm,
                                  fiducials_mri=fid.mri_mm)
        assert icp.converged and icp.iterations < 20, icp.history_rms_mm


# ----- the displayed prediction covers the measured error ---------------------------------------
@pytest.mark.slow
@pytest.mark.safety(hazard="registration", control="the shown predicted error covers the measured "
                    "error at the target in simulated sessions with hair, lifted points and a "
                    "scale error")
def test_predicted_error_covers_the_measured_error_in_simulation(head, scalp):
    """A small fixed-seed version of the benchmark: 25 sessions per condition.

    Goal: the measured error exceeds the shown 95 % bound in at most 5 % of sessions. With 25
    sessions per condition (100 in all) a true rate of 5 % gives at most 9 exceedances in 100
    with probability 0.97 (binomial), so more than 9 in all, or more than 3 in one condition
    (P < 0.04 at 5 %), fails. The benchmark runs 100 per condition.
    """
    total = 0
    for condition in ("clean", "hair_outliers", "lifted_1_5mm", "scale_2pct"):
        exceeded = 0
        for seed in range(25):
            session, result, verdict = run(head, scalp, condition, 2000 + seed)
            if verdict.usable:
                exceeded += session.error_mm(result.mri_from_reference) > \
                    result.predicted_error_mm["DLPFC"]
        assert exceeded <= 3, (condition, exceeded)
        total += exceeded
    assert total <= 9


def test_record_keeps_the_honest_numbers_and_reads_version_1(head, scalp):
    _, result, _ = run(head, scalp, "lifted_1_5mm", 3)
    again = RegistrationResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.to_dict() == result.to_dict()
    assert again.surface_offset_mm == result.surface_offset_mm
    assert again.predicted_error_mm == result.predicted_error_mm
    old = {k: v for k, v in result.to_dict().items()
           if k not in ("predicted_error_mm", "predicted_error_random_mm",
                        "predicted_error_systematic_mm", "surface_offset_mm",
                        "surface_offset_se_mm", "head_scale", "head_scale_se", "bias_cause",
                        "mean_surface_distance_mm")}
    old["format_version"] = 1
    v1 = RegistrationResult.from_dict(old)
    assert v1.surface_offset_mm is None and v1.predicted_error_mm == {}


def test_without_the_offset_analysis_the_bound_is_still_a_bound_and_says_so(head, scalp):
    """A record without the offset/scale fits (e.g. from version 1, or a singular fit) shows the
    random 95 % bound, never the bare RMS, and the verdict says the systematic part is missing."""
    _, result, _ = run(head, scalp, "clean", 8)
    d = result.to_dict()
    for key in ("surface_offset_mm", "surface_offset_se_mm", "head_scale", "head_scale_se",
                "bias_cause"):
        d[key] = None
    verdict = assess_registration(RegistrationResult.from_dict(d), "DLPFC")
    assert verdict.level == WARN
    assert any("could not be estimated" in r for r in verdict.reasons)


def test_touches_on_the_face_are_not_passed_off_as_a_left_right_check(head, scalp):
    """Face touches with the right order look like upper-head touches with swapped ears to the
    plane test: refused, and the message names both possibilities."""
    from tmsnav.navigation.registration.trials import _random_pose

    ph = head.phantom
    rng = np.random.default_rng(7)
    d = rng.normal(size=(400, 3))
    d = d[(d[:, 1] > 0.8 * np.abs(d).max(1)) & (d[:, 2] < 0)]        # anterior and low: face
    face, _ = ph.scalp_point(d[:8])
    face = face[~ph.on_bump(face)]
    session = simulate_session(head, "clean", np.random.default_rng(3))
    pose = _random_pose(np.random.default_rng(3))                      # the session's pose
    result = register(session.mri_fiducials, session.touched,
                      scalp_points_reference=pose.apply(face), surface=scalp, refine=False)
    verdict = assess_registration(result)
    assert verdict.level == FAIL
    assert "or the scalp touches are on the face or neck" in verdict.reasons[0]
