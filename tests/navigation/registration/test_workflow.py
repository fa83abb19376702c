"""register() end to end, the session record round trip, and the live pointer check."""

import json
from datetime import datetime, timezone

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.registration import (RegistrationResult, SurfaceIndex,
                                            check_pointer, register, tip_in_mri)
from tmsnav.navigation.registration.trials import AnalyticHead
from tmsnav.navigation.transforms import Transform

HEAD = AnalyticHead()
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def scalp():
    return SurfaceIndex(HEAD.mesh_arrays(8000))


def _session(seed, fle=2.5):
    rng = np.random.default_rng(seed)
    reference_from_mri = Transform.from_rotation(Rotation.random(random_state=rng),
                                                 rng.uniform(-150, 150, 3),
                                                 to_frame="reference", from_frame="mri")
    fid_mri = HEAD.fiducials_mri()
    touched = {}
    for k, p in fid_mri.items():
        d = rng.normal(size=3)
        touched[k] = reference_from_mri.apply(p + fle * d / np.linalg.norm(d))
    pts = reference_from_mri.apply(HEAD.sample_scalp(250, rng)) + rng.normal(
        scale=0.25, size=(250, 3))
    return fid_mri, touched, pts, reference_from_mri


def test_register_with_icp_is_accepted_and_accurate(scalp):
    fid_mri, touched, pts, reference_from_mri = _session(1)
    targets = {"dlpfc": HEAD.dlpfc_target_mri()}
    progress = []
    res = register(fid_mri, touched, scalp_points_reference=pts, surface=scalp,
                   targets_mri=targets, now=NOW, progress=lambda f, m: progress.append(f))
    assert res.accepted and res.method == "fiducials+icp" and res.problems == ()
    assert progress[0] == 0.0 and progress[-1] == 1.0
    target_ref = reference_from_mri.apply(targets["dlpfc"])
    err_icp = np.linalg.norm(res.mri_from_reference.apply(target_ref) - targets["dlpfc"])
    err_fid = np.linalg.norm(res.fiducial_mri_from_reference.apply(target_ref)
                             - targets["dlpfc"])
    assert err_icp < 1.0 < err_fid
    assert set(res.predicted_tre_mm) == {"dlpfc"}
    assert res.predicted_tre_fiducials_mm["dlpfc"] > res.predicted_tre_icp_mm["dlpfc"]
    assert 0.15 < res.icp_rms_mm < 0.4 and len(res.icp_distances_mm) == 250


def test_record_round_trips_exactly_through_json(scalp):
    fid_mri, touched, pts, _ = _session(2)
    res = register(fid_mri, touched, scalp_points_reference=pts, surface=scalp,
                   targets_mri={"dlpfc": HEAD.dlpfc_target_mri()}, now=NOW)
    text = json.dumps(res.to_dict(), allow_nan=False)
    again = RegistrationResult.from_dict(json.loads(text))
    assert again.to_dict() == res.to_dict()
    np.testing.assert_array_equal(again.mri_from_reference.matrix, res.mri_from_reference.matrix)
    np.testing.assert_array_equal(again.scalp_points_reference_mm, res.scalp_points_reference_mm)
    np.testing.assert_array_equal(again.icp_inliers, res.icp_inliers)
    assert again.timestamp == "2026-11-26T09:30:00+00:00"
    fid_only = register(fid_mri, touched, now=NOW)
    assert fid_only.method == "fiducials" and fid_only.predicted_tre_mm == {}
    again = RegistrationResult.from_dict(json.loads(json.dumps(fid_only.to_dict())))
    assert again.to_dict() == fid_only.to_dict() and again.icp_rms_mm is None
    with pytest.raises(ValueError, match="format_version"):
        RegistrationResult.from_dict({**fid_only.to_dict(), "format_version": 99})


def test_swapped_lpa_rpa_with_three_fiducials_is_refused(scalp):
    """Refused with the cause (a record, not an exception): the Result step shows it as FAIL."""
    fid_mri, touched, pts, _ = _session(3)
    touched["lpa"], touched["rpa"] = touched["rpa"], touched["lpa"]
    res = register(fid_mri, touched, scalp_points_reference=pts, surface=scalp)
    assert not res.accepted and res.method == "fiducials"
    assert res.problems[0].startswith("LPA and RPA look swapped")


def test_failed_icp_gives_a_not_accepted_result_with_the_reason(scalp):
    fid_mri, touched, pts, reference_from_mri = _session(4)
    # the head reference slipped 15 mm after the fiducials were touched
    pts = pts + reference_from_mri.apply_direction([0.0, 15.0, 0.0])
    res = register(fid_mri, touched, scalp_points_reference=pts, surface=scalp)
    assert not res.accepted
    assert len(res.problems) == 1 and "away from the fiducials" in res.problems[0]
    with pytest.raises(ValueError, match="surface"):
        register(fid_mri, touched, scalp_points_reference=pts)


def test_pointer_check_tip_chain_and_distances(scalp):
    rng = np.random.default_rng(5)
    mri_from_reference = Transform.from_rotation(Rotation.random(random_state=rng), [5, 6, 7],
                                                 to_frame="mri", from_frame="reference")
    tracker_from_reference = np.eye(4)
    tracker_from_reference[:3, :3] = Rotation.random(random_state=rng).as_matrix()
    tracker_from_reference[:3, 3] = [10, 20, -1300]
    tip_offset = np.array([0.0, 0.0, 150.0])
    nasion = HEAD.fiducials_mri()["nasion"]
    wanted_mri = nasion + [0.0, 3.0, 0.0]           # 3 mm in front of the nasion (outside)
    wanted_tracker = (tracker_from_reference @ np.append(
        mri_from_reference.inverse().apply(wanted_mri), 1.0))[:3]
    tracker_from_pointer = np.eye(4)
    tracker_from_pointer[:3, 3] = wanted_tracker - tip_offset
    tip = tip_in_mri(mri_from_reference, tracker_from_reference, tracker_from_pointer,
                     tip_offset)
    np.testing.assert_allclose(tip, wanted_mri, atol=1e-9)
    check = check_pointer(tip, scalp, {"nasion": nasion, "lpa": HEAD.fiducials_mri()["lpa"]})
    assert check.scalp_distance_mm == pytest.approx(3.0, abs=0.3)
    assert check.nearest_landmark == ("nasion", pytest.approx(3.0))
    inside = check_pointer(nasion - [0.0, 5.0, 0.0], scalp)
    assert inside.scalp_distance_mm < -4.0 and inside.nearest_landmark is None
