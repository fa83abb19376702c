"""simulate(): coil pose + cortex mesh -> EfieldResult, and the dosing helpers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.coil_dipoles import GENERIC_FIG8_70, CoilWindings
from tmsnav.navigation.targeting.efield import (
    DEFAULT_DIDT_AT_100_PERCENT_A_PER_S, didt_from_output, field_under_centre, intensity_for_target,
    simulate, stokes_adjusted_intensity)
from tmsnav.navigation.targeting.sphere_fit import SphereFit
from tmsnav.navigation.transforms import Frame, Transform


def fibonacci_sphere(n: int, radius: float, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    i = np.arange(n) + 0.5
    polar = np.arccos(1 - 2 * i / n)
    azimuth = np.pi * (1 + 5 ** 0.5) * i
    unit = np.column_stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)])
    return np.asarray(centre) + radius * unit


def top_pose(radius=85.0, centre=(0.0, 0.0, 0.0), frame=Frame.HOTSPOT) -> Transform:
    """Coil on the vertex of the sphere, +z into the head (-z MRI), handle toward -y (posterior)."""
    m = np.eye(4)
    m[:3, :3] = np.column_stack([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])   # x, y=handle, z=into head
    m[:3, 3] = np.asarray(centre) + [0.0, 0.0, radius]
    return Transform(Frame.MRI, frame, m)


SPHERE = SphereFit([0.0, 0.0, 0.0], 85.0)


def test_target_value_matches_on_axis_curve_and_scales_with_output():
    cortex = fibonacci_sphere(4000, 70.0)
    res = simulate(top_pose(), cortex, SPHERE, GENERIC_FIG8_70, stimulator_output_percent=60.0,
                   target_point_mm=[0.0, 0.0, 70.0])
    didt = 0.6 * DEFAULT_DIDT_AT_100_PERCENT_A_PER_S
    assert res.didt_A_per_s == pytest.approx(didt)
    expected = field_under_centre(GENERIC_FIG8_70, [15.0], didt_A_per_s=didt)[0]
    assert res.target_V_per_m == pytest.approx(expected, rel=1e-9)
    assert res.target_depth_mm == pytest.approx(15.0)
    assert res.target_lateral_offset_mm == pytest.approx(0.0, abs=1e-9)
    # E under the centre points away from the handle: handle is -y (posterior) -> E along +y (anterior)
    assert res.target_vector_V_per_m[1] > 0.999 * res.target_V_per_m
    # the peak is under the coil and close to the target value
    assert res.peak_point_mm[2] > 60.0
    assert res.peak_V_per_m == pytest.approx(res.target_V_per_m, rel=0.05)
    assert res.dipole_count == 80
    double = simulate(top_pose(), cortex, SPHERE, GENERIC_FIG8_70, didt_A_per_s=2 * didt,
                      target_point_mm=[0.0, 0.0, 70.0])
    assert double.target_V_per_m == pytest.approx(2 * res.target_V_per_m, rel=1e-12)
    np.testing.assert_allclose(double.magnitude_V_per_m, 2 * res.magnitude_V_per_m, rtol=1e-5, equal_nan=True)


def test_planned_target_pose_is_accepted_like_a_hotspot_pose():
    cortex = fibonacci_sphere(500, 70.0)
    a = simulate(top_pose(), cortex, SPHERE, GENERIC_FIG8_70, didt_A_per_s=1e8)
    b = simulate(top_pose(frame=Frame.TARGET), cortex, SPHERE, GENERIC_FIG8_70, didt_A_per_s=1e8)
    np.testing.assert_array_equal(a.magnitude_V_per_m, b.magnitude_V_per_m)
    with pytest.raises(NavigationError, match="mri"):
        simulate(Transform.identity("tracker", "hotspot"), cortex, SPHERE, GENERIC_FIG8_70, didt_A_per_s=1e8)


def test_points_beyond_region_or_outside_sphere_are_flagged_nan():
    cortex = np.vstack([fibonacci_sphere(2000, 70.0), [[0.0, 0.0, 84.9]], [[0.0, 5.0, 90.0]]])
    res = simulate(top_pose(), cortex, SPHERE, GENERIC_FIG8_70, didt_A_per_s=1e8, region_radius_mm=60.0)
    distance = np.linalg.norm(cortex - [0.0, 0.0, 85.0], axis=1)
    np.testing.assert_array_equal(res.beyond_region, distance > 60.0)
    assert res.outside_sphere[-1] and res.outside_sphere[-2]        # on / outside the 85 mm sphere
    assert not res.outside_sphere[:-2].any()
    np.testing.assert_array_equal(res.evaluated, ~res.beyond_region & ~res.outside_sphere)
    assert np.all(np.isnan(res.magnitude_V_per_m[~res.evaluated]))
    assert np.all(np.isfinite(res.magnitude_V_per_m[res.evaluated]))
    assert any("outside the head sphere" in w for w in res.warnings)


def test_half_value_area_grows_with_depth_and_is_plausible():
    areas = []
    for depth in (12.0, 25.0):
        cortex = fibonacci_sphere(12000, 85.0 - depth)
        faces = ConvexHull(cortex).simplices
        res = simulate(top_pose(), cortex, SPHERE, GENERIC_FIG8_70, didt_A_per_s=1e8, cortex_faces=faces)
        total = 4 * np.pi * (85.0 - depth) ** 2
        assert res.half_value_area_mm2 < 0.2 * total
        areas.append(res.half_value_area_mm2)
    assert 1500.0 < areas[0] < areas[1] < 5000.0                    # ~30 cm^2, less focal when deeper


def test_scalp_points_are_fitted_to_a_sphere():
    scalp = fibonacci_sphere(20000, 88.0, centre=(1.0, -2.0, 3.0))
    cortex = fibonacci_sphere(2000, 70.0, centre=(1.0, -2.0, 3.0))
    res = simulate(top_pose(88.0, (1.0, -2.0, 3.0)), cortex, scalp, GENERIC_FIG8_70, didt_A_per_s=1e8)
    assert res.sphere.radius_mm == pytest.approx(88.0, abs=1e-6)
    np.testing.assert_allclose(res.sphere.centre_mm, [1.0, -2.0, 3.0], atol=1e-6)


def test_coil_inside_head_is_rejected():
    deep = top_pose()
    m = np.array(deep.matrix)
    m[2, 3] = 70.0                                                   # coil face 15 mm inside the scalp
    with pytest.raises(NavigationError, match="reach .* into the head sphere"):
        simulate(Transform(Frame.MRI, Frame.HOTSPOT, m), fibonacci_sphere(100, 60.0), SPHERE,
                 GENERIC_FIG8_70, didt_A_per_s=1e8)


def test_target_outside_sphere_gives_nan_and_warning():
    res = simulate(top_pose(), fibonacci_sphere(300, 70.0), SPHERE, GENERIC_FIG8_70, didt_A_per_s=1e8,
                   target_point_mm=[0.0, 0.0, 95.0])
    assert np.isnan(res.target_V_per_m)
    assert any("target lies outside" in w for w in res.warnings)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "either dI/dt"),
    ({"didt_A_per_s": 1e8, "stimulator_output_percent": 50.0}, "either dI/dt"),
    ({"didt_A_per_s": -1.0}, "positive"),
    ({"stimulator_output_percent": 120.0}, "0-100"),
    ({"stimulator_output_percent": 50.0, "didt_at_100_percent_A_per_s": 150.0}, "A/us"),
])
def test_dose_arguments_are_checked(kwargs, message):
    with pytest.raises(NavigationError, match=message):
        simulate(top_pose(), fibonacci_sphere(100, 70.0), SPHERE, GENERIC_FIG8_70, **kwargs)


def test_didt_from_output_is_linear():
    assert didt_from_output(100.0) == DEFAULT_DIDT_AT_100_PERCENT_A_PER_S
    assert didt_from_output(45.0, 150e6) == pytest.approx(67.5e6)


def test_intensity_relative_to_motor_threshold():
    # target field 80 % of the motor-site field -> needs 1/0.8 of MT
    assert intensity_for_target(50.0, 100.0, 80.0) == pytest.approx(62.5)
    # with the sphere model: deeper target needs more output
    near, deep = field_under_centre(GENERIC_FIG8_70, [14.0, 20.0])
    assert intensity_for_target(48.0, near, deep) == pytest.approx(48.0 * near / deep)
    assert intensity_for_target(48.0, near, deep) > 48.0
    with pytest.raises(NavigationError, match="positive"):
        intensity_for_target(50.0, 100.0, 0.0)


def test_stokes_depth_adjustment():
    assert stokes_adjusted_intensity(50.0, 15.0, 20.0) == pytest.approx(64.0)
    assert stokes_adjusted_intensity(50.0, 15.0, 12.0, slope_percent_per_mm=3.0) == pytest.approx(41.0)
    with pytest.raises(NavigationError, match="depths"):
        stokes_adjusted_intensity(50.0, 15.0, 90.0)


def test_coil_geometry_changes_the_field():
    """A smaller coil is more focal and weaker at depth (sanity check that windings are used)."""
    small = CoilWindings(9, 15.0, 25.0, 50.0, 6.0)
    big_ratio = np.divide(*field_under_centre(GENERIC_FIG8_70, [30.0, 10.0]))
    small_ratio = np.divide(*field_under_centre(small, [30.0, 10.0]))
    assert small_ratio < big_ratio
