"""Spherical-spline scalp maps: exact at the electrodes, smooth between, NaN far from the cap,
against an independent evaluation of Perrin's g, and timed on the sample head's scalp."""

import time

import numpy as np
import pytest
from numpy.polynomial import legendre

from tmsnav.navigation.eeg.electrodes import TEN_TWENTY_19, place_electrodes
from tmsnav.navigation.eeg.scalp_map import ScalpMapError, SphericalSpline, scalp_map
from tests.navigation.eeg.eeg_heads import phantom_head, sample_head


def _electrodes(which=sample_head, names=TEN_TWENTY_19):
    _scalp, surf, lm, tt = which()
    return surf, place_electrodes(surf, lm, names, ten_twenty=tt).positions_mm


@pytest.mark.parametrize("which", [sample_head, phantom_head])
def test_the_map_passes_exactly_through_every_electrode_value(which):
    surf, pos = _electrodes(which)
    rng = np.random.default_rng(1)
    values = {n: float(rng.normal(10.0, 3.0)) for n in pos}
    at = scalp_map(np.array(list(pos.values())), pos, values)
    np.testing.assert_allclose(at, list(values.values()), atol=1e-6)


def test_a_linear_field_is_reproduced_between_the_electrodes():
    """Values sampled from a smooth field (here left-right linear) are reproduced between the
    electrodes to a few percent of their range, e.g. at the 10-10 points none of the 19 has."""
    _scalp, surf, lm, tt = sample_head()
    pos = _electrodes()[1]
    inner = place_electrodes(surf, lm, ["F1", "FC3", "C1", "CP4", "P2", "AFz"], ten_twenty=tt).positions_mm
    values = {n: float(p[0]) for n, p in pos.items()}
    got = scalp_map(np.array(list(inner.values())), pos, values)
    want = np.array([p[0] for p in inner.values()])
    span = np.ptp(list(values.values()))
    assert np.max(np.abs(got - want)) < 0.06 * span, got - want


def test_smooth_between_electrodes_and_no_wild_numbers_on_the_cap():
    """On the sample head's scalp: a smooth pattern (a Gaussian bump around F3) stays within the
    range of its electrode values; a step (1 at F3, Fz, F4, 0 elsewhere) rings a little, never
    wildly (before the outline was used the face below Fp1/Fp2 read -1.7); neighbouring vertices
    differ little (no speckle)."""
    scalp, surf, _lm, _tt = sample_head()
    pos = _electrodes()[1]
    bump = {n: float(np.exp(-np.sum((p - pos["F3"]) ** 2) / (2 * 60.0 ** 2))) for n, p in pos.items()}
    m = scalp_map(surf.vertices, pos, bump)
    inside = np.isfinite(m)
    assert 0.35 < inside.mean() < 0.7                     # the upper head, not the face or neck
    lo, hi = min(bump.values()), max(bump.values())
    assert m[inside].min() > lo - 0.02 * (hi - lo) and m[inside].max() < hi + 0.02 * (hi - lo)
    edges = np.asarray(scalp.extract_all_edges().lines).reshape(-1, 3)[:, 1:]
    both = inside[edges[:, 0]] & inside[edges[:, 1]]
    jumps = np.abs(m[edges[both, 0]] - m[edges[both, 1]])
    assert np.percentile(jumps, 99.9) < 0.03 * (hi - lo)
    step = scalp_map(surf.vertices, pos, {n: float(n in ("F3", "Fz", "F4")) for n in pos})
    assert np.nanmin(step) > -0.3 and np.nanmax(step) < 1.1  # measured -0.24 / 1.06


def test_far_from_every_electrode_is_nan_not_extrapolated():
    """The face, the neck and below the ears are further than 0.75 x the largest electrode
    spacing from the cap: NaN (drawn grey), whatever the spline would have said there."""
    _scalp, surf, lm, _tt = sample_head()
    pos = _electrodes()[1]
    values = {n: 1.0 + p[2] / 100 for n, p in pos.items()}
    axes = lm.axes
    below_chin = lm.nasion - 90.0 * axes.superior
    neck_back = lm.inion - 70.0 * axes.superior
    m = scalp_map(np.array([below_chin, neck_back, pos["Cz"], pos["T7"]]), pos, values)
    assert np.isnan(m[0]) and np.isnan(m[1])
    assert np.isfinite(m[2]) and np.isfinite(m[3])


def test_g_table_matches_an_independent_legendre_sum():
    """The tabulated g against a direct sum written here from Perrin et al. 1989 (eq. 3):
    g(x) = 1/(4 pi) sum_n (2n+1) / (n (n+1))^4 P_n(x), n = 1..50."""
    from tmsnav.navigation.eeg.scalp_map import _g

    x = np.linspace(-1, 1, 997)
    direct = sum((2 * k + 1) / (k * (k + 1)) ** 4 * legendre.Legendre.basis(k)(x)
                 for k in range(1, 51)) / (4 * np.pi)
    np.testing.assert_allclose(_g(x), direct, atol=1e-9)


def test_a_few_electrodes_use_the_scalp_around_them_for_the_sphere():
    """6 electrodes cannot fit a sphere of their own: the scalp vertices near them give it, and
    the map still passes through every value."""
    _scalp, surf, _lm, _tt = sample_head()
    pos = {n: p for n, p in _electrodes()[1].items() if n in ("F3", "F4", "C3", "C4", "P3", "P4")}
    values = {"F3": 1.0, "F4": 2.0, "C3": 3.0, "C4": 4.0, "P3": 5.0, "P4": 6.0}
    spline = SphericalSpline.fit(pos, values, support_mm=surf.vertices)
    assert 60.0 < spline.radius_mm < 120.0
    np.testing.assert_allclose(scalp_map(np.array(list(pos.values())), pos, values),
                               list(values.values()), atol=1e-6)


def test_too_few_electrodes_or_values_without_positions_are_named():
    pos = _electrodes()[1]
    with pytest.raises(ScalpMapError, match="4 or more"):
        scalp_map(np.zeros((2, 3)), pos, {"F3": 1.0, "F4": 2.0, "A1": 3.0})
    spline = SphericalSpline.fit(pos, {**{n: 1.0 for n in pos}, "A1": 2.0, "Cz": float("nan")})
    assert spline.skipped == ("Cz", "A1") or set(spline.skipped) == {"Cz", "A1"}
    with pytest.raises(ScalpMapError, match="in mm"):
        SphericalSpline.fit({n: p / 1000 for n, p in pos.items()}, {n: 1.0 for n in pos})


def test_the_cached_matrix_gives_the_spline_and_follows_changed_positions():
    """scalp_map keeps the interpolation matrix per (vertices, electrode positions): it equals
    the spline evaluated directly, for other values too, and moved electrodes are not served the
    old matrix."""
    from tmsnav.navigation.eeg import scalp_map as module

    _scalp, surf, _lm, _tt = sample_head()
    pos = _electrodes()[1]
    rng = np.random.default_rng(0)
    for _ in range(2):
        values = {n: float(rng.normal()) for n in pos}
        got = scalp_map(surf.vertices, pos, values)
        want = SphericalSpline.fit(pos, values).evaluate(surf.vertices)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[np.isfinite(got)], want[np.isfinite(want)], atol=1e-9)
    moved = dict(pos, F3=pos["C3"] + [0.0, 20.0, 5.0])
    got = scalp_map(np.array([moved["F3"]]), moved, values)
    assert got[0] == pytest.approx(values["F3"], abs=1e-6)
    assert len(module._CACHE) <= module._CACHE_SIZE
    uncached = scalp_map(surf.vertices, pos, values, cache=False)
    np.testing.assert_array_equal(uncached, scalp_map(surf.vertices, pos, values))


def test_scalp_map_time_on_the_sample_head():
    """Goal < 100 ms for one measure on the app's scalp mesh (64 k vertices, 19 electrodes).
    First map for a head and electrode set (builds the interpolation): 65-130 ms at load 11-12
    on 2 cores; each further measure with the same positions: 2-20 ms.
    Timed, not asserted (a loaded machine must pass)."""
    from tmsnav.navigation.eeg import scalp_map as module

    _scalp, surf, _lm, _tt = sample_head()
    pos = _electrodes()[1]
    values = {n: float(i) for i, n in enumerate(pos)}
    module.clear_cache()
    t = time.perf_counter()
    m = scalp_map(surf.vertices, pos, values)
    first = time.perf_counter() - t
    t = time.perf_counter()
    scalp_map(surf.vertices, pos, {n: -v for n, v in values.items()})
    again = time.perf_counter() - t
    print(f"scalp_map on {len(surf.vertices)} vertices: first {1000 * first:.0f} ms, "
          f"next measure {1000 * again:.0f} ms")
    assert m.shape == (len(surf.vertices),)
