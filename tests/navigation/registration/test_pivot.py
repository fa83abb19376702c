"""Pivot calibration on simulated pivoting with a known tip offset, and every refusal."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.registration import (CalibrationError, pivot_calibrate, rotation_spread,
                                            tip_in_frame)
from tmsnav.navigation.registration.pivot import MIN_SAMPLES
from tmsnav.navigation.registration.trials import simulate_pivot_poses
from tmsnav.navigation.transforms import Frame

TIP = np.array([1.2, -3.4, 152.7])           # pointer frame, mm (a ~15 cm pointer)
PIVOT = np.array([35.0, -120.0, -1450.0])    # tracker frame, mm (1.45 m from the camera)


@pytest.mark.parametrize("seed", range(5))
def test_tip_recovered_within_0_1_mm_with_0_25_mm_noise(seed):
    rng = np.random.default_rng(seed)
    poses = simulate_pivot_poses(TIP, PIVOT, 500, np.deg2rad(30), 0.25, rng)
    cal = pivot_calibrate(poses)
    assert np.linalg.norm(cal.tip_offset_mm - TIP) < 0.1
    assert np.linalg.norm(cal.pivot_tracker_mm - PIVOT) < 0.1
    assert 0.3 < cal.rms_mm < 0.5          # 0.25 mm per axis → ≈ 0.43 mm 3-D RMS
    assert cal.rotation_span_rad > np.deg2rad(40)
    assert cal.n_samples == 500
    ptr = cal.pointer_from_tip
    assert (ptr.to_frame, ptr.from_frame) == (Frame.POINTER, Frame.POINTER_TIP)
    np.testing.assert_allclose(ptr.apply([0, 0, 0]), cal.tip_offset_mm)


def test_exact_data_gives_exact_answer_and_round_trip():
    poses = simulate_pivot_poses(TIP, PIVOT, 100, np.deg2rad(25), 0.0,
                                 np.random.default_rng(1))
    cal = pivot_calibrate(poses)
    np.testing.assert_allclose(cal.tip_offset_mm, TIP, atol=1e-8)
    assert cal.rms_mm < 1e-8
    again = type(cal).from_dict(cal.to_dict())
    np.testing.assert_array_equal(again.tip_offset_mm, cal.tip_offset_mm)
    assert again.to_dict() == cal.to_dict()


def test_cone_angle_matches_the_motion():
    poses = simulate_pivot_poses(TIP, PIVOT, 2000, np.deg2rad(20), 0.0,
                                 np.random.default_rng(2))
    cal = pivot_calibrate(poses)
    # tilts uniform in [0.3, 1]·20° about random horizontal axes: RMS tilt ≈ 14.5°
    assert np.deg2rad(10) < cal.cone_angle_rad < np.deg2rad(20)
    # the live read-out gives the same numbers; an exact 15° cone gives a 15° cone angle
    assert rotation_spread(poses[:, :3, :3]) == (cal.rotation_span_rad, cal.cone_angle_rad)
    azimuth = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    axes = np.column_stack([np.cos(azimuth), np.sin(azimuth), np.zeros(360)])
    cone = Rotation.from_rotvec(axes * np.deg2rad(15)).as_matrix()
    span, cone_angle = rotation_spread(cone)
    assert cone_angle == pytest.approx(np.deg2rad(15), abs=1e-9)
    assert span == pytest.approx(np.deg2rad(30), abs=np.deg2rad(0.5))


def test_too_few_samples_and_nan_frames():
    poses = simulate_pivot_poses(TIP, PIVOT, MIN_SAMPLES + 5, np.deg2rad(30), 0.1,
                                 np.random.default_rng(3))
    poses[:10] = np.nan                      # dropped frames are skipped...
    with pytest.raises(CalibrationError, match=f"Only {MIN_SAMPLES - 5} valid pivot samples"):
        pivot_calibrate(poses)               # ...and then too few remain
    more = simulate_pivot_poses(TIP, PIVOT, 10, np.deg2rad(30), 0.1, np.random.default_rng(4))
    assert pivot_calibrate(np.concatenate([poses, more])).n_samples == MIN_SAMPLES + 5


def test_too_little_rotation_is_refused():
    poses = simulate_pivot_poses(TIP, PIVOT, 300, np.deg2rad(8), 0.1,
                                 np.random.default_rng(5))
    # spin about the pointer axis is free in the simulation: keep it small here
    spin_free = poses.copy()
    for i, p in enumerate(spin_free):
        r = Rotation.from_matrix(p[:3, :3]).as_rotvec()
        r[2] = 0.0
        spin_free[i, :3, :3] = Rotation.from_rotvec(r).as_matrix()
        spin_free[i, :3, 3] = PIVOT - spin_free[i, :3, :3] @ TIP
    with pytest.raises(CalibrationError, match="rotated only .*°"):
        pivot_calibrate(spin_free)


def test_rocking_in_one_plane_or_spinning_is_refused():
    rng = np.random.default_rng(6)
    angles = rng.uniform(-0.5, 0.5, 300)
    for axis in ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0]):   # rock about x; spin about the shaft
        rot = Rotation.from_rotvec(np.outer(angles, axis)).as_matrix()
        poses = np.tile(np.eye(4), (300, 1, 1))
        poses[:, :3, :3] = rot
        poses[:, :3, 3] = PIVOT - rot @ TIP
        with pytest.raises(CalibrationError, match="one plane only"):
            pivot_calibrate(poses)


def test_slipping_tip_is_refused():
    rng = np.random.default_rng(7)
    poses = simulate_pivot_poses(TIP, PIVOT, 300, np.deg2rad(30), 0.1, rng)
    poses[150:, :3, 3] += [4.0, 0.0, 0.0]    # the tip jumped 4 mm to another spot
    with pytest.raises(CalibrationError, match="residual .* above 1.0 mm"):
        pivot_calibrate(poses)


def test_bad_shapes_and_non_rigid_poses():
    with pytest.raises(CalibrationError, match="4x4"):
        pivot_calibrate(np.zeros((50, 3, 3)))
    poses = simulate_pivot_poses(TIP, PIVOT, 100, np.deg2rad(30), 0.0,
                                 np.random.default_rng(8))
    poses[5, :3, :3] *= 1.05
    with pytest.raises(CalibrationError, match="not rigid"):
        pivot_calibrate(poses)


def test_tip_in_reference_frame_chain():
    rng = np.random.default_rng(9)
    tracker_from_reference = np.eye(4)
    tracker_from_reference[:3, :3] = Rotation.random(random_state=rng).as_matrix()
    tracker_from_reference[:3, 3] = [100, 50, -1200]
    tracker_from_pointer = np.eye(4)
    tracker_from_pointer[:3, :3] = Rotation.random(random_state=rng).as_matrix()
    tracker_from_pointer[:3, 3] = [80, 20, -1100]
    tip = tip_in_frame(tracker_from_reference, tracker_from_pointer, TIP)
    expected = (np.linalg.inv(tracker_from_reference) @ tracker_from_pointer
                @ np.append(TIP, 1.0))[:3]
    np.testing.assert_allclose(tip, expected, atol=1e-9)
