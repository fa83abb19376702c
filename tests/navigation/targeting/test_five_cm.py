"""5-cm rule: analytic sphere, fsaverage landing zone, unit guards, hemisphere."""

import numpy as np
import pytest

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.five_cm import five_cm_point, five_cm_target
from tmsnav.navigation.targeting.literature import get, map_to_patient
from tmsnav.navigation.targeting.scalp_geometry import HeadAxes, SurfaceMesh
from tmsnav.navigation.targeting.ten_twenty import HeadLandmarks, compute_ten_twenty
from tmsnav.navigation.transforms import Transform
from tests.navigation.targeting import targeting_data


R = 90.0


@pytest.mark.parametrize("distance", [50.0, 55.0, 60.0])
def test_sphere_great_circle_answer(distance):
    surf = SurfaceMesh(targeting_data.sphere(R, 120))
    a = 0.6  # hotspot 34 deg left of the vertex, in the coronal plane
    hotspot = R * np.array([-np.sin(a), 0.0, np.cos(a)])
    point, normal, path = five_cm_point(surf, hotspot, HeadAxes.ras(), distance)
    ang = distance / R
    expected = np.cos(ang) * hotspot + np.sin(ang) * np.array([0, R, 0])
    assert point == pytest.approx(expected, abs=0.15)
    assert normal == pytest.approx(expected / R, abs=5e-3)
    assert path.length_mm == pytest.approx(distance)


def test_oblique_head_walks_along_the_head_not_the_scanner_axis():
    pose = targeting_data.oblique_pose()
    rot, shift = pose[:3, :3], pose[:3, 3]
    surf = SurfaceMesh(targeting_data.moved(targeting_data.sphere(R, 120), pose))
    axes = HeadAxes(shift, rot @ [1.0, 0, 0], rot @ [0, 1.0, 0])
    hotspot = rot @ (R * np.array([-np.sin(0.6), 0.0, np.cos(0.6)])) + shift
    point, _, _ = five_cm_point(surf, hotspot, axes, 50.0)
    local = rot.T @ (point - shift)
    ang = 50.0 / R
    expected = np.cos(ang) * R * np.array([-np.sin(0.6), 0, np.cos(0.6)]) + np.sin(ang) * np.array([0, R, 0])
    assert local == pytest.approx(expected, abs=0.15)


def test_fsaverage_from_c3_lands_near_fc3_and_from_m1_near_the_published_average():
    d = targeting_data
    ref = d.fsaverage_1010()
    surf = SurfaceMesh(d.fsaverage_scalp())
    lm = HeadLandmarks(ref["NAS"], ref["Iz"], ref["LPA"], ref["RPA"])
    tt = compute_ten_twenty(surf, lm)
    t = five_cm_target(surf, tt.point("C3"), lm.axes, 50.0, brain_mesh=d.fsaverage_inner_skull())
    to_fc3 = np.linalg.norm(t.scalp_point_mm - tt.point("FC3"))
    assert to_fc3 < 15.0  # measured 10.9 mm (C3->FC3 is ~35-40 mm, so 5 cm overshoots a little)
    assert to_fc3 < np.linalg.norm(t.scalp_point_mm - tt.point("F3"))
    assert t.source == "5-cm-rule" and t.handle_direction[0] < 0 and 5 < t.depth_mm < 30
    # hotspot = left M1 hand knob projected to the scalp; compare with Fox 2012's average 5-cm site
    mri_from_mni = Transform("mri", "mni", np.linalg.inv(d.MNI152_FROM_MNI305))
    m1 = map_to_patient(get("m1_hand_left"), mri_from_mni, surf, head_axes=lm.axes)
    avg = map_to_patient(get("avg_5cm"), mri_from_mni, surf, head_axes=lm.axes)
    five = five_cm_target(surf, m1.scalp_point_mm, lm.axes, 50.0)
    assert np.linalg.norm(five.scalp_point_mm - avg.scalp_point_mm) < 20.0  # measured 12.7 mm
    six = five_cm_target(surf, m1.scalp_point_mm, lm.axes, 60.0)
    assert (six.scalp_point_mm - five.scalp_point_mm) @ lm.axes.anterior > 5.0
    assert six.name == "6-cm rule"


def test_right_hemisphere_hotspot_gives_right_target():
    surf = SurfaceMesh(targeting_data.sphere(R, 80))
    hotspot = R * np.array([np.sin(0.6), 0.0, np.cos(0.6)])
    t = five_cm_target(surf, hotspot, HeadAxes.ras(), 50.0)
    assert t.scalp_point_mm[0] > 0 and t.handle_direction[0] > 0


@pytest.mark.parametrize("distance, match", [(5.0, "distances are in millimetres"),
                                             (-50.0, "positive"), (500.0, "beyond any published")])
def test_distance_guards(distance, match):
    surf = SurfaceMesh(targeting_data.sphere(R, 40))
    with pytest.raises(NavigationError, match=match):
        five_cm_point(surf, [0, 0, R], HeadAxes.ras(), distance)


def test_hotspot_off_the_scalp_is_refused():
    surf = SurfaceMesh(targeting_data.sphere(R, 40))
    with pytest.raises(NavigationError, match="from the scalp"):
        five_cm_point(surf, [0, 0, 40.0], HeadAxes.ras(), 50.0)
