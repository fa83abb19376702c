"""Handle-angle optimiser: known best angles on synthetic targets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.coil_dipoles import GENERIC_FIG8_70
from tmsnav.navigation.targeting.efield import simulate
from tmsnav.navigation.targeting.orientation import (
    handle_angle_rad, optimise_orientation, rotated_about_normal)
from tmsnav.navigation.targeting.sphere_fit import SphereFit
from tmsnav.navigation.transforms import Frame, Transform


def planned_pose(centre, out_dir, handle, radius=85.0, frame=Frame.TARGET) -> Transform:
    out = np.asarray(out_dir, float) / np.linalg.norm(out_dir)
    z = -out
    y = np.asarray(handle, float) - (np.asarray(handle, float) @ z) * z
    y /= np.linalg.norm(y)
    m = np.eye(4)
    m[:3, :3] = np.column_stack([np.cross(y, z), y, z])
    m[:3, 3] = np.asarray(centre, float) + radius * out
    return Transform(Frame.MRI, frame, m)


CENTRE = np.array([2.0, -8.0, 15.0])
SPHERE = SphereFit(CENTRE, 85.0)


def expected_angle_for_direction(pose: Transform, direction) -> float:
    """On the coil axis E points along -y of the (rotated) coil: E || d needs Rz(theta) y = -d."""
    d = pose.rotation.T @ (np.asarray(direction, float) / np.linalg.norm(direction))
    return float(np.arctan2(d[0], -d[1]))


def ang_diff(a, b):
    return abs((a - b + np.pi) % (2 * np.pi) - np.pi)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finds_known_best_angle_along_direction(seed):
    rng = np.random.default_rng(seed)
    out = np.array([-0.5, 0.3, 0.8]) + 0.1 * rng.normal(size=3)
    pose = planned_pose(CENTRE, out, rng.normal(size=3))
    target = pose.translation + 17.0 * pose.rotation[:, 2]
    # a tangential "gyral wall normal" direction at a random angle in the tangent plane
    tangent = pose.rotation[:, 0] * np.cos(rng.uniform(0, 6.28)) + pose.rotation[:, 1] * rng.uniform(-1, 1)
    res = optimise_orientation(pose, target, SPHERE, GENERIC_FIG8_70, direction=tangent)
    expected = expected_angle_for_direction(pose, tangent)
    assert ang_diff(res.best_angle_rad, expected) < np.deg2rad(0.05)
    assert res.objective == "along_direction"
    assert res.best_value_V_per_m >= res.values_V_per_m.max() - 1e-12
    # the curve is a cosine of the angle for a tangential direction on the axis
    amplitude = res.best_value_V_per_m          # error quadratic in the angle error: negligible
    expected_curve = amplitude * np.cos(res.angles_rad - expected)
    np.testing.assert_allclose(res.values_V_per_m, expected_curve, atol=1e-9 * 1e3)
    # the returned pose is the plan turned about its normal, and reproduces the value
    assert ang_diff(handle_angle_rad(pose, res.best_pose), res.best_angle_rad) < 1e-9
    np.testing.assert_allclose(res.best_pose.translation, pose.translation)
    np.testing.assert_allclose(res.best_pose.rotation[:, 2], pose.rotation[:, 2], atol=1e-12)
    check = simulate(res.best_pose, target[None, :], SPHERE, GENERIC_FIG8_70, didt_A_per_s=1e6,
                     target_point_mm=target)
    unit = tangent / np.linalg.norm(tangent)
    assert check.target_vector_V_per_m @ unit == pytest.approx(res.best_value_V_per_m, rel=1e-9)


def test_unsigned_objective_prefers_the_equivalent_angle_nearest_the_current_one():
    pose = planned_pose(CENTRE, [0.2, 0.1, 1.0], [0.0, -1.0, 0.0])
    target = pose.translation + 15.0 * pose.rotation[:, 2]
    direction = pose.rotation[:, 0]                       # best signed angle: atan2(1, 0) = 90 deg
    signed = optimise_orientation(pose, target, SPHERE, GENERIC_FIG8_70, direction=direction)
    assert ang_diff(signed.best_angle_rad, np.pi / 2) < 1e-4
    unsigned = optimise_orientation(pose, target, SPHERE, GENERIC_FIG8_70, direction=direction,
                                    signed=False, current_angle_rad=np.deg2rad(-80.0))
    assert ang_diff(unsigned.best_angle_rad, -np.pi / 2) < 1e-4
    assert unsigned.current_angle_rad == pytest.approx(np.deg2rad(-80.0))
    assert unsigned.current_value_V_per_m == pytest.approx(
        signed.best_value_V_per_m * np.cos(np.deg2rad(10.0)), rel=1e-6)


def test_magnitude_on_axis_is_rotation_invariant_and_off_axis_has_period_pi():
    pose = planned_pose(CENTRE, [0.0, 0.0, 1.0], [0.0, 1.0, 0.0])
    on_axis = optimise_orientation(pose, pose.translation + 20.0 * pose.rotation[:, 2], SPHERE,
                                   GENERIC_FIG8_70)
    assert np.ptp(on_axis.values_V_per_m) < 1e-9 * on_axis.values_V_per_m.max() * 1e3
    off = pose.apply([12.0, 3.0, 20.0])
    res = optimise_orientation(pose, off, SPHERE, GENERIC_FIG8_70, current_angle_rad=0.3)
    n = len(res.angles_rad)
    np.testing.assert_allclose(res.values_V_per_m[: n // 2], res.values_V_per_m[n // 2:], rtol=1e-9)
    assert np.ptp(res.values_V_per_m) > 0.02 * res.values_V_per_m.max()
    assert res.best_value_V_per_m >= res.values_V_per_m.max() - 1e-12
    assert abs(res.best_angle_rad - 0.3) <= np.pi / 2 + 1e-9       # nearest of the two equivalent maxima


def test_didt_scales_the_curve():
    pose = planned_pose(CENTRE, [0.3, -0.2, 1.0], [1.0, 0.0, 0.0])
    target = pose.translation + 18.0 * pose.rotation[:, 2]
    a = optimise_orientation(pose, target, SPHERE, GENERIC_FIG8_70, didt_A_per_s=1e6)
    b = optimise_orientation(pose, target, SPHERE, GENERIC_FIG8_70, didt_A_per_s=1.2e8)
    np.testing.assert_allclose(b.values_V_per_m, 120.0 * a.values_V_per_m, rtol=1e-12)


def test_handle_angle_round_trip():
    pose = planned_pose(CENTRE, [-0.4, 0.5, 0.7], [0.0, 0.0, 1.0])
    for angle in np.deg2rad([-179.0, -45.0, 0.0, 30.0, 135.0, 180.0]):
        turned = rotated_about_normal(pose, angle)
        assert ang_diff(handle_angle_rad(pose, turned), angle) < 1e-12
        expected = pose.rotation @ Rotation.from_euler("z", angle).as_matrix()
        np.testing.assert_allclose(turned.rotation, expected, atol=1e-12)
    # a tilted hotspot pose still reports its twist about the plan's normal
    tilted = rotated_about_normal(pose, 0.5).matrix @ np.block(
        [[Rotation.from_euler("x", 0.2).as_matrix(), np.zeros((3, 1))], [np.zeros((1, 3)), 1.0]])
    twist = handle_angle_rad(pose, Transform(Frame.MRI, Frame.HOTSPOT, tilted))
    assert twist == pytest.approx(0.5, abs=1e-12)


def test_bad_inputs_have_clear_messages():
    pose = planned_pose(CENTRE, [0.0, 0.0, 1.0], [0.0, 1.0, 0.0])
    target = pose.translation + 15.0 * pose.rotation[:, 2]
    with pytest.raises(NavigationError, match="non-zero"):
        optimise_orientation(pose, target, SPHERE, GENERIC_FIG8_70, direction=[0.0, 0.0, 0.0])
    with pytest.raises(NavigationError, match="outside the head sphere"):
        optimise_orientation(pose, pose.translation - 5.0 * pose.rotation[:, 2], SPHERE, GENERIC_FIG8_70)
    with pytest.raises(NavigationError, match="sweep step"):
        optimise_orientation(pose, target, SPHERE, GENERIC_FIG8_70, step_rad=np.deg2rad(90.0))
    with pytest.raises(NavigationError, match="map target or hotspot to mri"):
        optimise_orientation(Transform.identity("mri", "coil"), target, SPHERE, GENERIC_FIG8_70)
