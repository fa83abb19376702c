"""Coil windings file block and its dipole discretisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.coil_dipoles import (
    GENERIC_FIG8_70, CoilWindings, figure8_dipoles, load_coil_windings, turn_radii_mm, winding_dipoles,
    windings_problem)
from tmsnav.navigation.transforms import Frame, Transform

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
    ({"windings": {**EXAMPLE["windings"], "type": "H-coil"}}, "not one of"),
    ({"windings": {**EXAMPLE["windings"], "type": "circular"}}, "circular coil has wing_centre_separation_mm 0"),
    ({"windings": {**EXAMPLE["windings"], "turns_per_wing": 8.5}}, "whole number"),
    ({"windings": {**EXAMPLE["windings"], "turns_per_wing": 90}}, "whole number 1–50, got 90"),
    ({"windings": {**EXAMPLE["windings"], "outer_radius_mm": 0.0435}}, "outer radius = 0.0435 mm is outside"),
    ({"windings": {**EXAMPLE["windings"], "inner_radius_mm": 43.5}}, "must be below the outer"),
    ({"windings": {**EXAMPLE["windings"], "wing_centre_separation_mm": 300.0}}, "separation = 300 mm"),
    ({"windings": {**EXAMPLE["windings"], "winding_depth_mm": 60.0}}, "winding depth = 60 mm"),
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


def test_one_windings_validator_with_the_documented_limits():
    """CoilWindings refuses exactly what windings_problem refuses (the check tmsnav.navigation.coils is
    to call too): 50 turns per wing at most (was 100 here, 50 there), circular coils allowed."""
    ok = dict(kind="figure8", turns_per_wing=9, inner_radius_mm=28.0, outer_radius_mm=43.5,
              wing_centre_separation_mm=88.0, winding_depth_mm=6.0)
    assert windings_problem(**ok) is None
    for turns, fine in ((1, True), (15, True), (50, True), (51, False), (100, False), (0, False)):
        assert (windings_problem(**{**ok, "turns_per_wing": turns}) is None) is fine, turns
        if not fine:
            with pytest.raises(NavigationError, match="whole number 1–50"):
                CoilWindings(turns, 28.0, 43.5, 88.0, 6.0)
    assert "finite" in windings_problem(**{**ok, "outer_radius_mm": float("nan")})
    circular = {**ok, "kind": "circular", "wing_centre_separation_mm": 0.0, "outer_radius_mm": 70.0,
                "inner_radius_mm": 20.0, "turns_per_wing": 15}
    assert windings_problem(**circular) is None
    shipped = sorted((Path(__file__).resolve().parents[3] / "assets" / "coils").glob("*.json"))
    for path in shipped:
        w = json.loads(path.read_text())["windings"]
        assert windings_problem(w["type"], **{k: v for k, v in w.items() if k != "type"}) is None, path


def test_a_circular_coil_is_one_wing_whose_field_circles_its_axis(tmp_path):
    """MagVenture MMC-140-like round coil: loaded from a file, one wing at the hotspot, and the
    sphere model gives the physics of a round coil: no field on the axis, an azimuthal field
    that peaks under the windings."""
    from tmsnav.navigation.targeting.efield import efield_sphere

    path = tmp_path / "round.json"
    path.write_text(json.dumps({**EXAMPLE, "model_id": "round-140", "windings": {
        "type": "circular", "turns_per_wing": 15, "inner_radius_mm": 20.0, "outer_radius_mm": 70.0,
        "winding_depth_mm": 8.0}}))
    w = load_coil_windings(path)
    assert (w.type, w.name, w.wing_centre_separation_mm) == ("circular", "round-140", 0.0)
    d = winding_dipoles(w, 5, 8)
    assert d.count == 40 and figure8_dipoles is winding_dipoles
    np.testing.assert_allclose(d.positions_mm[:, :2].mean(axis=0), [0.0, 0.0], atol=1e-9)
    expected = np.pi * (np.linspace(20.0, 70.0, 15) ** 2).sum() * 1e-6
    np.testing.assert_allclose(d.moments_A_m2_per_A[:, 2].sum(), expected, rtol=1e-12)
    # cortex 15 mm under the scalp of an 85 mm head sphere, from the axis out to 65 mm aside
    lateral = np.array([0.0, 10.0, 25.0, 40.0, 50.0, 65.0])
    theta = np.arcsin(lateral / 70.0)
    centre = np.array([0.0, 0.0, 85.0])
    points = centre + 70.0 * np.column_stack([np.sin(theta), np.zeros_like(theta), -np.cos(theta)])
    e = efield_sphere(points, d.positions_mm, d.moments_A_m2_per_A, centre, 1e8)
    magnitude = np.linalg.norm(e, axis=1)
    assert magnitude[0] < 1e-3 * magnitude.max()                  # nothing on the axis
    assert np.all(np.abs(e[1:, [0, 2]]) < 1e-3 * magnitude[1:, None])  # azimuthal (along y) only
    assert np.argmax(magnitude) in (3, 4)                         # peak under the windings


def test_a_round_coil_accepted_by_the_coil_loader_can_be_planned():
    """tmsnav.navigation.coils accepted circular coils but the e-field windings refused them, so the
    planning step failed for a coil the Coil step had loaded."""
    from tmsnav.navigation.coils import COIL_ASSETS_DIR, CoilDefinition
    from tmsnav.navigation.targeting.planning import coil_windings_for

    raw = json.loads((COIL_ASSETS_DIR / "generic-fig8-70.json").read_text())
    raw["windings"].update(type="circular", wing_centre_separation_mm=0.0)
    w = coil_windings_for(CoilDefinition.from_dict(raw))
    assert w.type == "circular" and w.turns_per_wing == raw["windings"]["turns_per_wing"]
    assert winding_dipoles(w).count == 40
