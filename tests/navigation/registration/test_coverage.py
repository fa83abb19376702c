"""Scalp coverage regions: known points land in the right region, left stays left, an oblique
head gives the same answer (the axes come from the fiducials, not the scanner)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.registration.coverage import (REQUIRED_REGIONS, head_axes_from_fiducials,
                                                     scalp_coverage)

CENTRE = np.array([0.0, -10.0, 15.0])
SEMI = np.array([75.0, 95.0, 85.0])
FIDUCIALS = {"Nasion": [0.0, 84.3, 5.0], "LPA": [-80.2, -18.0, 5.0], "RPA": [80.2, -18.0, 5.0]}
DIRECTIONS = {"forehead": (0.0, 1.0, 0.35), "left": (-1.0, 0.0, 0.4), "right": (1.0, 0.1, 0.4),
              "top": (0.05, -0.1, 1.0), "back": (0.0, -1.0, 0.3)}


def on_scalp(direction, n, rng, spread=0.12):
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    d = d + rng.normal(scale=spread, size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    t = 1.0 / np.sqrt(np.sum((d / SEMI) ** 2, axis=1))
    return CENTRE + d * t[:, None]


def test_points_fall_in_their_region_and_left_is_left():
    rng = np.random.default_rng(0)
    axes = head_axes_from_fiducials(FIDUCIALS)
    for region, direction in DIRECTIONS.items():
        cov = scalp_coverage(on_scalp(direction, 40, rng), axes)
        assert cov.counts[region] >= 36, (region, cov.counts)
    left = scalp_coverage(on_scalp(DIRECTIONS["left"], 20, rng, spread=0.02), axes)
    assert left.counts["left"] == 20 and left.counts["right"] == 0
    assert np.all(on_scalp(DIRECTIONS["left"], 5, rng)[:, 0] < 0)   # left = RAS -x


def test_missing_regions_are_named_and_back_is_optional():
    rng = np.random.default_rng(1)
    axes = head_axes_from_fiducials(FIDUCIALS)
    pts = np.vstack([on_scalp(DIRECTIONS["forehead"], 30, rng, 0.02),
                     on_scalp(DIRECTIONS["top"], 30, rng, 0.02)])
    cov = scalp_coverage(pts, axes)
    assert cov.missing == ["left", "right"] and not cov.complete
    assert cov.advice() == "Add points on the left side, the right side."
    pts = np.vstack([pts, on_scalp(DIRECTIONS["left"], 12, rng, 0.02),
                     on_scalp(DIRECTIONS["right"], 12, rng, 0.02)])
    cov = scalp_coverage(pts, axes)
    assert cov.complete and cov.counts["back"] == 0
    assert "back of the head" in cov.advice()
    assert set(REQUIRED_REGIONS) == {"forehead", "left", "right", "top"}


def test_oblique_head_in_the_scanner_gives_the_same_regions():
    rng = np.random.default_rng(2)
    pts = np.vstack([on_scalp(d, 15, rng) for d in DIRECTIONS.values()])
    straight = scalp_coverage(pts, head_axes_from_fiducials(FIDUCIALS))
    rot = Rotation.from_euler("xyz", [25, -15, 40], degrees=True)
    moved = {k: rot.apply(v) + [5, 6, 7] for k, v in FIDUCIALS.items()}
    tilted = scalp_coverage(rot.apply(pts) + [5, 6, 7], head_axes_from_fiducials(moved))
    assert tilted.counts == straight.counts
    np.testing.assert_array_equal(tilted.regions, straight.regions)


def test_empty_and_bad_input():
    axes = head_axes_from_fiducials(FIDUCIALS)
    cov = scalp_coverage(np.zeros((0, 3)), axes)
    assert sum(cov.counts.values()) == 0 and cov.missing == list(REQUIRED_REGIONS)
    with pytest.raises(ValueError, match="missing: rpa"):
        head_axes_from_fiducials({"nasion": [0, 90, 0], "lpa": [-80, 0, 0]})
    with pytest.raises(ValueError, match="NaN"):
        scalp_coverage([[np.nan, 0, 0]], axes)
