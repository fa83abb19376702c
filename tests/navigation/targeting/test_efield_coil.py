"""Coil windings file block and its dipole discretisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from navigation.errors import NavigationError
from navigation.targeting.coil_dipoles import (
    GENERIC_FIG8_70, CoilWindings, figure8_dipoles, load_coil_windings, turn_radii_mm)
from navigation.transforms import Frame, Transform

EXAMPLE = {
    "format_version": 1, "name": "Generic 70 mm figure-8", "model_id": "generic-fig8-70", "units": "mm",
    "coil_from_hotspot": np.eye(4).tolist(),
    "windings": {"type": "figure8", "turns_per_wing": 9, "inner_radius_mm": 28.0, "outer_radius_mm": 43.5,
                 "wing_centre_separation_mm": 88.0, "winding_depth_mm": 6.0},
}


def test_loads_windings_block_from_coil_file(tmp_path):
    path = tmp_path / "coil.json"
    path.write_text(json.dumps(EXAMPLE))
    w = load_coil_windings(path)
    assert w == CoilWindings(9, 28.0, 43.5, 88.0, 6.0, name="generic-fig8-70")
    assert w == GENERIC_FIG8_70


@pytest.mark.parametrize("patch, message", [
    ({"units": "m"}, "units must be 'mm'"),
    ({"format_version": 2}, "format_version"),
    ({"windings": None}, "no 'windings' block"),
    ({"windings": {**EXAMPLE["windings"], "type": "circular"}}, "figure8"),
    ({"windings": {**EXAMPLE["windings"], "turns_per_wing": 8.5}}, "integer"),
    ({"windings": {**EXAMPLE["windings"], "outer_radius_mm": 0.0435}}, "inner_radius_mm <= outer_radius_mm"),
    ({"windings": {**EXAMPLE["windings"], "winding_depth_mm": "six"}}, "must be a number"),
    ({"windings": {k: v for k, v in EXAMPLE["windings"].items() if k != "winding_depth_mm"}},
     "missing 'winding_depth_mm'"),
])
def test_bad_coil_definitions_have_specific_messages(tmp_path, patch, message):
    path = tmp_path / "coil.json"
    path.write_text(json.dumps({**EXAMPLE, **patch}))
    with pytest.raises(NavigationError, match=message):
        load_coil_windings(path)


def test_unreadable_or_invalid_json(tmp_path):
    with pytest.raises(NavigationError, match="cannot read"):
        load_coil_windings(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(NavigationError, match="not valid JSON"):
        load_coil_windings(bad)


def test_turn_radii_are_equally_spaced():
    np.testing.assert_allclose(turn_radii_mm(GENERIC_FIG8_70), np.linspace(28.0, 43.5, 9))
    single = CoilWindings(1, 20.0, 30.0, 70.0, 5.0)
    np.testing.assert_allclose(turn_radii_mm(single), [25.0])


@pytest.mark.parametrize("rings, sectors", [(1, 1), (3, 7), (5, 8), (12, 30)])
def test_total_moment_equals_sum_of_turn_areas(rings, sectors):
    d = figure8_dipoles(GENERIC_FIG8_70, rings, sectors)
    assert d.count == 2 * rings * sectors
    assert d.frame is Frame.HOTSPOT
    expected = np.pi * (np.linspace(28.0, 43.5, 9) ** 2).sum() * 1e-6     # A m^2 per A per wing
    left = d.positions_mm[:, 0] < 0
    np.testing.assert_allclose(d.moments_A_m2_per_A[left, 2].sum(), expected, rtol=1e-12)
    np.testing.assert_allclose(d.moments_A_m2_per_A[~left, 2].sum(), -expected, rtol=1e-12)
    np.testing.assert_allclose(d.moments_A_m2_per_A[:, :2], 0.0)
    np.testing.assert_allclose(d.positions_mm[:, 2], -6.0)                 # windings above the face
    # each wing's dipoles are centred on its wing centre
    np.testing.assert_allclose(d.positions_mm[left, :2].mean(axis=0), [-44.0, 0.0], atol=1e-9)
    assert np.linalg.norm(d.positions_mm[left, :2] - [-44.0, 0.0], axis=1).max() < 43.5


def test_dipoles_follow_a_rigid_pose():
    d = figure8_dipoles(GENERIC_FIG8_70)
    pose = Transform.from_euler("xyz", [0.3, -0.2, 1.1], [10.0, 20.0, 70.0], to_frame="mri", from_frame="hotspot")
    moved = d.transformed(pose)
    assert moved.frame is Frame.MRI
    np.testing.assert_allclose(moved.positions_mm, pose.apply(d.positions_mm))
    np.testing.assert_allclose(moved.moments_A_m2_per_A, d.moments_A_m2_per_A @ pose.rotation.T)
    with pytest.raises(NavigationError, match="frame"):
        moved.transformed(pose)


def test_resolution_guard():
    with pytest.raises(NavigationError, match="rings"):
        figure8_dipoles(GENERIC_FIG8_70, 0, 8)


def test_shipped_coil_files_have_usable_windings():
    """Every coil definition shipped in assets/coils parses with this reader and gives dipoles."""
    from pathlib import Path
    files = sorted((Path(__file__).resolve().parents[3] / "assets" / "coils").glob("*.json"))
    if not files:
        pytest.skip("no coil definitions shipped yet")
    for path in files:
        w = load_coil_windings(path)
        d = figure8_dipoles(w)
        assert d.count == 80
        assert np.all(d.positions_mm[:, 2] == -w.winding_depth_mm)
        if w.name == "generic-fig8-70":
            assert w == GENERIC_FIG8_70
