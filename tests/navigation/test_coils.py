"""Coil definition files (schema, units, bounds) and coil calibration from touched landmarks."""

import copy
import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.coils import (COIL_ASSETS_DIR, CalibrationError, CoilCalibration,
                                     CoilDefinition, CoilDefinitionError, calibrate_coil_from_points,
                                     list_coil_definitions)
from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.transforms import Frame, Transform

GENERIC = COIL_ASSETS_DIR / "generic-fig8-70.json"


def _raw():
    return json.loads(GENERIC.read_text())


def test_shipped_definitions_load_with_the_agreed_schema():
    coils = list_coil_definitions()
    assert {c.model_id for c in coils} >= {"generic-fig8-70", "magventure-b65-like"}
    for coil in coils:
        assert "approximate" in coil.name
        t = coil.coil_from_hotspot
        assert (t.to_frame, t.from_frame) == (Frame.COIL, Frame.HOTSPOT) and t.is_rigid
        assert coil.windings.type == "figure8" and coil.windings.turns_per_wing >= 1
        assert {"centre", "left_wing_edge", "right_wing_edge", "handle_end",
                "top_centre"} <= set(coil.landmarks_hotspot_mm)
        # +x is the right wing, +y the handle, the casing sits outside the head (z <= 0)
        lm = coil.landmarks_hotspot_mm
        assert lm["right_wing_edge"][0] > 0 > lm["left_wing_edge"][0]
        assert lm["handle_end"][1] > 100 and lm["top_centre"][2] < 0
    raw = _raw()
    assert set(raw["windings"]) == {"type", "turns_per_wing", "inner_radius_mm",
                                    "outer_radius_mm", "wing_centre_separation_mm",
                                    "winding_depth_mm"}
    generic = CoilDefinition.load(GENERIC)
    assert generic.windings.to_dict() == raw["windings"]
    assert CoilDefinition.from_dict(generic.to_dict()).to_dict() == generic.to_dict()


def test_drawing_mesh_is_in_hotspot_coordinates():
    coil = CoilDefinition.load(GENERIC)
    mesh = coil.drawing_mesh()
    assert mesh.n_cells > 50 and mesh.is_all_triangles
    xmin, xmax, ymin, ymax, zmin, zmax = mesh.bounds
    assert xmin == pytest.approx(-94.0) and xmax == pytest.approx(94.0)
    assert ymax == pytest.approx(coil.landmarks_hotspot_mm["handle_end"][1])
    assert zmax == pytest.approx(0.0) and zmin == pytest.approx(-coil.casing.thickness_mm)
    raw = _raw()
    raw["windings"].update(type="circular", wing_centre_separation_mm=0.0)
    round_coil = CoilDefinition.from_dict(raw).drawing_mesh()
    assert round_coil.n_cells > 50


@pytest.mark.parametrize("unit, factor", [("cm", 10.0), ("m", 1000.0)])
def test_cm_and_m_files_are_converted_to_mm(unit, factor):
    raw = _raw()
    mm = CoilDefinition.from_dict(raw)
    scaled = copy.deepcopy(raw)
    scaled["units"] = unit
    for key in ("inner_radius_mm", "outer_radius_mm", "wing_centre_separation_mm",
                "winding_depth_mm"):
        scaled["windings"][key] /= factor
    for block in ("casing", "handle"):
        scaled[block] = {k: v / factor for k, v in raw[block].items()}
    scaled["landmarks_hotspot_mm"] = {k: [x / factor for x in v]
                                      for k, v in raw["landmarks_hotspot_mm"].items()}
    for row in scaled["coil_from_hotspot"][:3]:
        row[3] /= factor
    coil = CoilDefinition.from_dict(scaled)
    assert coil.windings == mm.windings and coil.casing == mm.casing
    assert coil.coil_from_hotspot.is_close(mm.coil_from_hotspot, atol_mm=1e-9)
    for k, v in mm.landmarks_hotspot_mm.items():
        np.testing.assert_allclose(coil.landmarks_hotspot_mm[k], v)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(units="in"), "inches are not accepted"),
    (lambda d: d.update(units="furlong"), "units 'furlong' not supported"),
    (lambda d: d["windings"].update(outer_radius_mm=4.35, inner_radius_mm=2.8),
     "outer radius = 4.35 mm is outside"),
    (lambda d: d["windings"].update(inner_radius_mm=50.0), "must be below the outer"),
    (lambda d: d["windings"].update(wing_centre_separation_mm=300.0), "separation"),
    (lambda d: d["windings"].update(type="H-coil"), "not one of"),
    (lambda d: d["windings"].update(turns_per_wing=9.5), "whole number"),
    (lambda d: d["windings"].pop("winding_depth_mm"), "missing 'winding_depth_mm'"),
    (lambda d: d["coil_from_hotspot"][2].__setitem__(3, 600.0), "600 mm from the coil marker"),
    (lambda d: d["coil_from_hotspot"][0].__setitem__(0, 2.0), "not a rigid transform"),
    (lambda d: d["casing"].update(length_mm=120.0), "do not fit in the casing"),
    (lambda d: d.update(format_version=2), "format_version must be 1"),
    (lambda d: d.pop("landmarks_hotspot_mm"), "missing 'landmarks_hotspot_mm'"),
    (lambda d: d["landmarks_hotspot_mm"].update(far=[0, 0, 900.0]), "landmark 'far'"),
])
def test_bad_definitions_are_rejected_with_a_reason(edit, message):
    raw = _raw()
    edit(raw)
    with pytest.raises(CoilDefinitionError, match=message) as info:
        CoilDefinition.from_dict(raw, source="my-coil.json")
    assert isinstance(info.value, NavigationError)
    assert "my-coil.json" in str(info.value) or "format_version" in message


def test_unreadable_files(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{ not json")
    with pytest.raises(CoilDefinitionError, match="broken.json is not valid JSON"):
        CoilDefinition.load(bad)
    with pytest.raises(CoilDefinitionError, match="Cannot read"):
        CoilDefinition.load(tmp_path / "missing.json")


def _touch(coil, coil_from_hotspot, names=None, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    names = names or list(coil.landmarks_hotspot_mm)
    return {n: coil_from_hotspot.apply(coil.landmarks_hotspot_mm[n])
            + rng.normal(scale=noise, size=3) for n in names}


def _known_pose(seed=1):
    rng = np.random.default_rng(seed)
    return Transform.from_rotation(Rotation.random(random_state=rng), rng.uniform(-80, 80, 3),
                                   to_frame="coil", from_frame="hotspot")


def test_calibration_recovers_a_known_coil_from_hotspot():
    coil = CoilDefinition.load(GENERIC)
    truth = _known_pose()
    cal = calibrate_coil_from_points(_touch(coil, truth), coil)
    assert cal.coil_from_hotspot.is_close(truth, atol_mm=1e-9, atol_rad=1e-12)
    assert cal.residual_rms_mm < 1e-9
    noisy = calibrate_coil_from_points(_touch(coil, truth, noise=0.3, seed=2), coil)
    hotspot_error = np.linalg.norm(noisy.coil_from_hotspot.translation - truth.translation)
    assert hotspot_error < 0.5 and 0.1 < noisy.residual_rms_mm < 0.6
    assert set(noisy.per_point_errors_mm) == set(coil.landmarks_hotspot_mm)
    again = CoilCalibration.from_dict(json.loads(json.dumps(noisy.to_dict())))
    assert again.to_dict() == noisy.to_dict() and again.model_id == "generic-fig8-70"
    calibrated = coil.with_calibration(noisy)
    assert calibrated.coil_from_hotspot is noisy.coil_from_hotspot


def test_swapped_wing_edges_are_detected():
    coil = CoilDefinition.load(GENERIC)
    touched = _touch(coil, _known_pose(3))
    touched["left_wing_edge"], touched["right_wing_edge"] = (touched["right_wing_edge"],
                                                             touched["left_wing_edge"])
    with pytest.raises(CalibrationError, match="mirror image"):
        calibrate_coil_from_points(touched, coil)


def test_calibration_refusals():
    coil = CoilDefinition.load(GENERIC)
    truth = _known_pose(4)
    flat = ["centre", "left_wing_edge", "right_wing_edge", "handle_end"]
    flat_coil = CoilDefinition.from_dict({**_raw(), "landmarks_hotspot_mm": {
        "centre": [0, 0, 0], "left_wing_edge": [-94, 0, 0], "right_wing_edge": [94, 0, 0],
        "handle_end": [0, 190, 0], "top_centre": [0, 0, -20]}})
    with pytest.raises(CalibrationError, match="lie in one plane"):
        calibrate_coil_from_points(_touch(flat_coil, truth, flat), flat_coil)
    with pytest.raises(CalibrationError, match="at least 3"):
        calibrate_coil_from_points(_touch(coil, truth, ["centre", "top_centre"]), coil)
    with pytest.raises(CalibrationError, match="Unknown landmark"):
        calibrate_coil_from_points({"nose": [0, 0, 0], **_touch(coil, truth)}, coil)
    touched = _touch(coil, truth)
    touched["centre"] = touched["centre"] + [0.0, 0.0, 5.0]      # mis-touched by 5 mm
    with pytest.raises(CalibrationError, match="'centre' is 3.8 mm off"):
        calibrate_coil_from_points(touched, coil)
    in_cm = {k: v / 10 for k, v in _touch(coil, truth).items()}
    with pytest.raises(CalibrationError, match="tracker units"):
        calibrate_coil_from_points(in_cm, coil)
