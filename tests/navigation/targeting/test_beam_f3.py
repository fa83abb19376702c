"""Beam F3: calculator values, unit guards, placement on the scalp mesh."""

import numpy as np
import pytest

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.beam_f3 import (BeamMeasurements, beam_f3_distances, beam_f3_target,
                                                 place_beam_f3)
from tmsnav.navigation.targeting.scalp_geometry import SurfaceMesh
from tmsnav.navigation.targeting.ten_twenty import HeadLandmarks, compute_ten_twenty
from tests.navigation.targeting import targeting_data


@pytest.fixture(scope="module")
def fsavg():
    d = targeting_data
    ref = d.fsaverage_1010()
    surf = SurfaceMesh(d.fsaverage_scalp())
    lm = HeadLandmarks(ref["NAS"], ref["Iz"], ref["LPA"], ref["RPA"])
    return surf, lm, compute_ten_twenty(surf, lm)


@pytest.mark.parametrize("tt, ni, hc, x, y, xl, yl", [
    (36, 38, 60, 6.95, 9.79, 6.92, 9.76),   # web calculator / linear (docs/targeting.md)
    (35, 35, 57, 6.59, 9.24, 6.58, 9.23),
])
def test_calculator_values(tt, ni, hc, x, y, xl, yl):
    m = BeamMeasurements(tt, ni, hc)
    web = beam_f3_distances(m)
    assert (round(web.x_cm, 2), round(web.y_cm, 2)) == (x, y)
    assert web.theta_deg == pytest.approx(-48.3, abs=0.2)
    lin = beam_f3_distances(m, method="linear")
    assert (round(lin.x_cm, 2), round(lin.y_cm, 2)) == (xl, yl)
    adj = beam_f3_distances(m, mir_moghtadaei_adjustment=True)
    assert adj.y_cm == pytest.approx(web.y_cm + 0.35) and adj.x_cm == web.x_cm


@pytest.mark.parametrize("args, match", [
    ((360, 38, 60), "did you type millimetres"),
    ((36, 380, 600), "did you type millimetres"),
    ((14, 15, 23.6), "inches"),
    ((36, 38, float("nan")), "finite"),
    ((36, "abc", 60), "must be a number"),
    ((36, 38, 90), "larger than any adult head"),
])
def test_unit_guards(args, match):
    with pytest.raises(NavigationError, match=match):
        BeamMeasurements(*args)


def test_unknown_method():
    with pytest.raises(NavigationError, match="'web' or 'linear'"):
        beam_f3_distances(BeamMeasurements(36, 38, 60), method="paper")


def test_on_fsaverage_close_to_ten_twenty_f3_and_left(fsavg):
    surf, lm, tt = fsavg
    p = place_beam_f3(surf, tt)
    assert p.mesh_measurements.nasion_inion_cm == pytest.approx(39.6, abs=0.2)
    assert p.mesh_measurements.circumference_cm == pytest.approx(60.1, abs=0.3)
    # walked exactly X along the ring and Y from Cz
    assert tt.left_ring.locate(p.point_a_mm) == pytest.approx(10 * p.distances.x_cm, abs=0.5)
    d = np.linalg.norm(p.f3_point_mm - tt.point("F3"))
    assert d < 10.0  # measured 5.5 mm: Beam approximates the 10-20 F3
    assert lm.axes.side_of(p.f3_point_mm) == "left" and p.f3_point_mm[0] < -40
    t = beam_f3_target(surf, tt, brain_mesh=targeting_data.fsaverage_inner_skull())
    assert t.source == "beam-f3" and "Beam" in t.evidence.citation
    assert t.scalp_point_mm == pytest.approx(p.f3_point_mm) and 5 < t.depth_mm < 30
    assert t.handle_direction[0] < 0 and t.handle_direction[1] < 0


def test_typed_measurements_and_adjustment_move_f3_forward_along_y(fsavg):
    surf, lm, tt = fsavg
    base = place_beam_f3(surf, tt, BeamMeasurements(37.4, 39.6, 60.1))
    adj = place_beam_f3(surf, tt, BeamMeasurements(37.4, 39.6, 60.1), mir_moghtadaei_adjustment=True)
    assert np.linalg.norm(adj.f3_point_mm - base.f3_point_mm) == pytest.approx(3.5, abs=0.2)
    t = beam_f3_target(surf, tt, BeamMeasurements(33.0, 34.0, 52.0))
    assert "WARNING typed measurements differ" in t.notes


def test_oblique_pose_keeps_f3_on_the_left(fsavg):
    surf, lm, tt = fsavg
    pose = targeting_data.oblique_pose()
    rot, shift = pose[:3, :3], pose[:3, 3]
    moved = SurfaceMesh(targeting_data.moved(surf.polydata, pose))
    lm2 = HeadLandmarks(*(rot @ p + shift for p in (lm.nasion, lm.inion, lm.lpa, lm.rpa)))
    p2 = place_beam_f3(moved, lm2)
    p1 = place_beam_f3(surf, tt)
    assert p2.f3_point_mm == pytest.approx(rot @ p1.f3_point_mm + shift, abs=0.2)
    assert lm2.axes.side_of(p2.f3_point_mm) == "left"


def test_requires_preauricular_reference(fsavg):
    surf, lm, _ = fsavg
    tt = compute_ten_twenty(surf, lm, coronal_reference="lower-contour")
    with pytest.raises(NavigationError, match="tragus to tragus"):
        place_beam_f3(surf, tt)
