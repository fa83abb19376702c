"""Coil calibration verified before use (issue 10, defect 7).

The pointer touches the coil's centre mark and two more casing landmarks; the calibration is
refused with the measured mismatch when the coil in the room is not the one the calibration
describes. The touches come from the simulated tracker (noise included), so these tests also pin
that the demo's simulated coil IS the shipped definition file the demo tells the user to accept.
"""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.hardware.simulation.scenario_library import COIL_CHECK_LANDMARKS, make_scenario
from tmsnav.hardware.simulation.scenarios import DEFAULT_COIL_FROM_HOTSPOT, SimulationTruth
from tmsnav.hardware.simulation.coil import HANDLE_MOUNTED_COIL_FROM_HOTSPOT, SIM_COIL_FILE
from tmsnav.hardware.simulation.head import demo_head_geometry
from tmsnav.hardware.simulation.tracker import NoisyPoseSource
from tmsnav.navigation.coils import (VERIFY_LANDMARKS, CalibrationError, CoilDefinition,
                                     list_coil_definitions, verification_landmarks,
                                     verify_coil_calibration)
from tmsnav.navigation.guidance import COIL_NOT_VERIFIED, coil_not_ready_reason
from tmsnav.navigation.registration import tip_in_frame
from tmsnav.navigation.transforms import Frame, Transform

GENERIC = CoilDefinition.load(SIM_COIL_FILE)


def coil_touches(coil_from_hotspot=None, seed=0, head=None):
    """Pointer tip in the coil-marker frame while the simulated technician holds it on each
    verification landmark (mean of the noisy frames in the middle of each hold)."""
    head = head if head is not None else demo_head_geometry()
    truth = SimulationTruth.default(head, coil_from_hotspot=coil_from_hotspot)
    scenario = make_scenario("coil_check", truth=truth, seed=seed)
    source = NoisyPoseSource(scenario, rate_hz=60.0, seed=seed)
    tip = truth.pointer_from_tip[:3, 3]
    out = {}
    for name in COIL_CHECK_LANDMARKS:
        t0, t1 = scenario.window(f"touching coil {name.replace('_', ' ')}")
        samples = []
        for t in np.arange(t0 + 0.5, t1 - 0.2, 1 / 60):
            poses = source.poses_at(t)
            samples.append(tip_in_frame(poses["coil"], poses["pointer"], tip))
        out[name] = np.mean(samples, axis=0)
    return out, truth


def test_the_demo_coil_is_the_shipped_definition_the_demo_selects():
    """The cause of defect 7: the simulator had its own coil mount (80 mm behind, 20° tilted)."""
    first = list_coil_definitions()[0]          # the Coil step's default choice
    assert first.source.endswith(SIM_COIL_FILE.name)
    np.testing.assert_allclose(DEFAULT_COIL_FROM_HOTSPOT, first.coil_from_hotspot.matrix,
                               atol=1e-9)
    truth = SimulationTruth.default(demo_head_geometry())
    for name, point in first.landmarks_hotspot_mm.items():
        np.testing.assert_allclose(truth.coil_landmarks_hotspot_mm[name], point)
    assert tuple(VERIFY_LANDMARKS) == tuple(COIL_CHECK_LANDMARKS)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_file_is_verified_on_the_coil_it_describes(seed):
    touched, _ = coil_touches(seed=seed)
    result = verify_coil_calibration(GENERIC.coil_from_hotspot, touched, GENERIC)
    assert result.passed, result.message
    assert result.hotspot_mismatch_mm < 1.0 and max(result.mismatch_mm.values()) < 1.5
    assert result.angle_rad is not None and np.rad2deg(result.angle_rad) < 1.0
    assert result.message.startswith("Coil verified")
    assert result.applies_to(GENERIC.coil_from_hotspot)


@pytest.mark.safety(hazard="coil", control=("a coil whose marker is mounted unlike its file is refused with the "
                                            "measured hotspot mismatch (81 mm)"))
def test_a_marker_mounted_unlike_the_file_is_refused_with_the_mismatch():
    """The old demo: the coil file accepted as is, the marker really 80 mm back and 20° tilted."""
    touched, truth = coil_touches(HANDLE_MOUNTED_COIL_FROM_HOTSPOT)
    result = verify_coil_calibration(GENERIC.coil_from_hotspot, touched, GENERIC)
    true_offset = np.linalg.norm(truth.coil_from_hotspot[:3, 3]
                                 - GENERIC.coil_from_hotspot.translation)
    assert not result.passed
    assert result.hotspot_mismatch_mm == pytest.approx(true_offset, abs=1.0)   # 81 mm
    assert f"puts the hotspot {true_offset:.0f} mm from where the pointer touched the coil's " \
           "centre mark" in result.message
    assert "wrong coil file or the marker moved" in result.message


@pytest.mark.safety(hazard="coil", control=("the wrong coil model's file is refused, naming the landmark that does "
                                            "not fit"))
def test_the_wrong_coil_model_is_refused_naming_the_landmark():
    """MagVenture-like file chosen for the generic coil: the centre is only 2 mm off, the
    handle end 14 mm: refused, naming the handle end."""
    magventure = next(d for d in list_coil_definitions() if d.model_id == "magventure-b65-like")
    touched, _ = coil_touches()
    result = verify_coil_calibration(magventure.coil_from_hotspot, touched, magventure)
    assert not result.passed
    assert result.hotspot_mismatch_mm < 3.0
    assert "handle end" in result.message and "turned or tilted" in result.message


@pytest.mark.safety(hazard="coil", control=("a marker turned 10 degrees about the hotspot is refused although the "
                                            "centre mark agrees"))
def test_a_coil_turned_about_its_hotspot_is_refused():
    """The centre mark alone cannot see a marker turned about the coil normal: the two other
    landmarks do. 10° about the hotspot's z axis (the clamp slipped)."""
    turn = np.eye(4)
    turn[:3, :3] = Rotation.from_euler("z", 10, degrees=True).as_matrix()
    touched, _ = coil_touches(GENERIC.coil_from_hotspot.matrix @ turn)
    result = verify_coil_calibration(GENERIC.coil_from_hotspot, touched, GENERIC)
    assert result.hotspot_mismatch_mm < 1.0
    assert not result.passed and np.rad2deg(result.angle_rad) == pytest.approx(10, abs=1)
    assert "handle end" in result.message or "left wing edge" in result.message


def test_a_small_orientation_error_over_the_angle_limit_is_refused_by_angle():
    """Landmarks each within 3 mm but the set turned 6°: only the angle check catches it (a
    coil definition with landmarks close to the centre)."""
    small = CoilDefinition.from_dict({**GENERIC.to_dict(), "landmarks_hotspot_mm": {
        "centre": [0, 0, 0], "handle_end": [0, 25, -10], "left_wing_edge": [-25, 0, -10]}})
    rot = np.eye(4)
    rot[:3, :3] = Rotation.from_euler("z", 6, degrees=True).as_matrix()
    truth = GENERIC.coil_from_hotspot.matrix @ rot
    touched = {n: truth[:3, :3] @ p + truth[:3, 3] for n, p in small.landmarks_hotspot_mm.items()}
    result = verify_coil_calibration(small.coil_from_hotspot, touched, small)
    assert max(result.mismatch_mm.values()) < 3.0
    assert not result.passed and "orientation differs by 6.0°" in result.message


def test_verification_inputs_are_checked():
    touched, _ = coil_touches()
    with pytest.raises(CalibrationError, match="centre mark"):
        verify_coil_calibration(GENERIC.coil_from_hotspot,
                                {k: v for k, v in touched.items() if k != "centre"}, GENERIC)
    with pytest.raises(CalibrationError, match="Unknown landmark"):
        verify_coil_calibration(GENERIC.coil_from_hotspot, {**touched, "nose": [0, 0, 0]},
                                GENERIC)
    with pytest.raises(CalibrationError, match="coil_from_hotspot"):
        verify_coil_calibration(GENERIC.coil_from_hotspot.inverse(), touched, GENERIC)
    assert verification_landmarks(GENERIC) == ["centre", "handle_end", "left_wing_edge"]


@pytest.mark.safety(hazard="coil", control=("guidance refuses a coil calibration that is unverified, refused, or "
                                            "verified for another calibration"))
def test_guidance_refuses_an_unverified_or_other_calibration():
    touched, _ = coil_touches()
    cal = GENERIC.coil_from_hotspot
    good = verify_coil_calibration(cal, touched, GENERIC)
    assert coil_not_ready_reason(None, good) == "coil not calibrated"
    assert coil_not_ready_reason(cal, None) == COIL_NOT_VERIFIED
    assert coil_not_ready_reason(cal, good) == ""
    moved = Transform(Frame.COIL, Frame.HOTSPOT, cal.matrix @ np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2.0], [0, 0, 0, 1]]))
    assert coil_not_ready_reason(moved, good) == COIL_NOT_VERIFIED   # verified another one
    bad = verify_coil_calibration(cal, coil_touches(HANDLE_MOUNTED_COIL_FROM_HOTSPOT)[0], GENERIC)
    assert coil_not_ready_reason(cal, bad) == COIL_NOT_VERIFIED
    assert "not verified" in COIL_NOT_VERIFIED


def test_the_right_wing_touched_for_the_left_is_refused():
    """A plausible chairside mistake: the technician touches the wrong wing edge."""
    touched, _ = coil_touches()
    right = GENERIC.coil_from_hotspot.apply(GENERIC.landmarks_hotspot_mm["right_wing_edge"])
    result = verify_coil_calibration(GENERIC.coil_from_hotspot,
                                     {**touched, "left_wing_edge": right}, GENERIC)
    assert not result.passed and result.mismatch_mm["left_wing_edge"] == pytest.approx(188, abs=2)
    assert "left wing edge" in result.message


def test_verification_does_not_depend_on_where_the_camera_and_head_are():
    """Another set-up: the head turned 90° in the camera, the reference elsewhere; the touches
    are in the coil-marker frame, so the same coil verifies and the same wrong mount is refused."""
    from tmsnav.hardware.rigid import rigid, rotation_about

    head = demo_head_geometry()
    turned = SimulationTruth.default(head)
    spin = rigid(rotation_about([0, 1, 0], np.radians(90.0)), np.array([200.0, -100.0, 300.0]))
    for mount, ok in ((None, True), (HANDLE_MOUNTED_COIL_FROM_HOTSPOT, False)):
        truth = SimulationTruth.default(head, tracker_from_reference=spin
                                        @ turned.tracker_from_reference, coil_from_hotspot=mount)
        scenario = make_scenario("coil_check", truth=truth, seed=3)
        source = NoisyPoseSource(scenario, rate_hz=60.0, seed=3)
        touched = {}
        for name in COIL_CHECK_LANDMARKS:
            t0, t1 = scenario.window(f"touching coil {name.replace('_', ' ')}")
            poses = source.poses_at(0.5 * (t0 + t1))
            touched[name] = tip_in_frame(poses["coil"], poses["pointer"],
                                         truth.pointer_from_tip[:3, 3])
        result = verify_coil_calibration(GENERIC.coil_from_hotspot, touched, GENERIC)
        assert result.passed is ok, result.message
