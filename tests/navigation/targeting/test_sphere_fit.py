"""Sphere fit to scalp points under the coil: recovery of a known sphere and the guards."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.sphere_fit import SphereFit, SphereFitError, fit_sphere, fit_sphere_near


def cap_points(rng, centre, radius, apex_dir, half_angle_deg, n, noise_mm):
    """Points uniformly on a spherical cap around ``apex_dir`` with Gaussian noise."""
    apex = np.asarray(apex_dir, float) / np.linalg.norm(apex_dir)
    cos_max = np.cos(np.deg2rad(half_angle_deg))
    cos_t = rng.uniform(cos_max, 1.0, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    helper = np.array([1.0, 0, 0]) if abs(apex[0]) < 0.9 else np.array([0, 1.0, 0])
    u = np.cross(apex, helper)
    u /= np.linalg.norm(u)
    v = np.cross(apex, u)
    sin_t = np.sqrt(1 - cos_t ** 2)
    d = cos_t[:, None] * apex + sin_t[:, None] * (np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * v)
    return np.asarray(centre) + radius * d + rng.normal(scale=noise_mm, size=(n, 3))


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_exact_points_recover_sphere(rng):
    p = cap_points(rng, [5.0, -20.0, 35.0], 91.0, [0.3, 0.2, 1.0], 40.0, 60, 0.0)
    fit = fit_sphere(p, refine=False)
    np.testing.assert_allclose(fit.centre_mm, [5.0, -20.0, 35.0], atol=1e-8)
    assert fit.radius_mm == pytest.approx(91.0, abs=1e-8)
    assert fit.rms_residual_mm < 1e-8
    assert fit.n_points == 60


def test_noisy_cap_recovers_sphere_within_tolerance(rng):
    centre, radius = np.array([-3.0, 12.0, 20.0]), 86.0
    errors_centre, errors_radius = [], []
    for _ in range(10):
        p = cap_points(rng, centre, radius, [-0.5, 0.1, 0.9], 35.0, 400, 0.3)
        fit = fit_sphere(p)
        errors_centre.append(np.linalg.norm(fit.centre_mm - centre))
        errors_radius.append(abs(fit.radius_mm - radius))
        assert fit.rms_residual_mm == pytest.approx(0.3, rel=0.2)
    assert np.median(errors_radius) < 1.5
    assert np.median(errors_centre) < 1.5


def test_geometric_refinement_removes_algebraic_bias(rng):
    """Algebraic fits shrink the radius of noisy short arcs; the geometric step is closer on average."""
    centre, radius = np.zeros(3), 85.0
    alg, geo = [], []
    for _ in range(20):
        p = cap_points(rng, centre, radius, [0, 0, 1], 30.0, 300, 1.0)
        alg.append(fit_sphere(p, refine=False).radius_mm - radius)
        geo.append(fit_sphere(p).radius_mm - radius)
    assert abs(np.mean(geo)) < abs(np.mean(alg))


def test_fit_near_uses_only_points_close_to_the_coil(rng):
    # two different spheres: the fit near the coil must see only the first
    near = cap_points(rng, [0, 0, 0], 80.0, [0, 0, 1], 30.0, 300, 0.0)
    far = cap_points(rng, [0, 0, 30.0], 120.0, [0, 1, 0], 20.0, 300, 0.0)
    fit = fit_sphere_near(np.vstack([near, far]), [0.0, 0.0, 80.0], 50.0)
    assert fit.radius_mm == pytest.approx(80.0, abs=1e-6)
    assert fit.n_points == 300


def test_too_few_points(rng):
    p = cap_points(rng, [0, 0, 0], 85.0, [0, 0, 1], 30.0, 9, 0.0)
    with pytest.raises(SphereFitError, match="at least 10"):
        fit_sphere(p)
    with pytest.raises(NavigationError, match="within 50 mm of the coil centre"):
        fit_sphere_near(p, [200.0, 0.0, 0.0])


@pytest.mark.parametrize("radius", [30.0, 200.0])
def test_implausible_radius_is_rejected(rng, radius):
    p = cap_points(rng, [0, 0, 0], radius, [0, 0, 1], 40.0, 100, 0.0)
    with pytest.raises(SphereFitError, match="50-150 mm"):
        fit_sphere(p)


def test_metre_units_are_caught(rng):
    p = cap_points(rng, [0, 0, 0], 0.085, [0, 0, 1], 40.0, 100, 0.0)
    with pytest.raises(SphereFitError, match="in mm"):
        fit_sphere(p)


def test_flat_and_degenerate_points_are_rejected(rng):
    plane = np.column_stack([rng.uniform(-40, 40, (100, 2)), np.zeros(100)])
    with pytest.raises(SphereFitError):
        fit_sphere(plane)
    line = np.outer(np.linspace(0, 1, 50), [1.0, 2.0, 3.0])
    with pytest.raises(SphereFitError, match="degenerate"):
        fit_sphere(line)
    with pytest.raises(SphereFitError, match=r"\(N, 3\)"):
        fit_sphere(np.zeros((20, 2)))


def test_sphere_fit_value_checks():
    with pytest.raises(SphereFitError, match="centre"):
        SphereFit([0.0, np.nan, 0.0], 85.0)
    s = SphereFit([1, 2, 3], 85)
    assert s.to_dict()["centre_mm"] == [1.0, 2.0, 3.0]
