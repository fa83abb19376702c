"""Imported targets against a head: kept on the scalp, moved out from the cortex along their own
axis, or reported as not on this head (another image / coordinate system)."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.navigation.exchange.scalp_fit import fit_to_scalp
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.extract import extract_scalp
from tmsnav.navigation.targeting.targets import Evidence, Target


@pytest.fixture(scope="module")
def scalp():
    phantom = make_phantom_head(voxel_mm=3.0)
    return extract_scalp(phantom.volume)


def _target(point, normal) -> Target:
    normal = np.asarray(normal, float) / np.linalg.norm(normal)
    helper = [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 0.0, 1.0]
    handle = np.cross(normal, helper)
    handle /= np.linalg.norm(handle)
    return Target("T", point, normal, handle, "imported", Evidence("t", "t"))


def _top(scalp):
    pts = np.asarray(scalp.points)
    return pts[np.argmax(pts[:, 2])]


def test_on_scalp_kept(scalp):
    fit = fit_to_scalp(_target(_top(scalp), [0, 0, -1]), scalp)
    assert fit.kind == "on-scalp" and fit.target.cortex_point_mm is None


def test_cortical_point_moved_out_along_its_axis(scalp):
    top = _top(scalp)
    fit = fit_to_scalp(_target(top - [0, 0, 20.0], [0, 0, -1]), scalp)
    assert fit.kind == "moved-to-scalp"
    assert np.linalg.norm(fit.target.scalp_point_mm - top) < 4.0
    np.testing.assert_allclose(fit.target.cortex_point_mm, top - [0, 0, 20.0])
    np.testing.assert_allclose(fit.target.normal, [0, 0, -1])           # orientation unchanged
    assert "below the scalp" in fit.target.notes


def test_point_off_this_head_is_reported(scalp):
    far = _target(_top(scalp) + [0, 0, 40.0], [0, 0, -1])
    fit = fit_to_scalp(far, scalp)
    assert fit.kind == "off-head" and "another image" in fit.message
    assert fit.target is far
    # a point left/right mirrored onto a head it was not made for: beside the head, not on it
    lateral = np.asarray(scalp.points)[np.argmin(np.asarray(scalp.points)[:, 0])]
    outside = _target(lateral - [30.0, 0, 0], [1, 0, 0])
    assert fit_to_scalp(outside, scalp).kind == "off-head"


def test_coil_facing_away_from_the_head_is_reported(scalp):
    flipped = _target(_top(scalp) + [0, 0, 25.0], [0, 0, 1])          # normal pointing up, out
    fit = fit_to_scalp(flipped, scalp)
    assert fit.kind == "facing-away" and "flipped axis" in fit.message
