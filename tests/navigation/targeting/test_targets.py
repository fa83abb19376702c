"""Target / TargetSet: validation, coil frame, serialisation, handle convention, cortex point."""

import json

import numpy as np
import pytest

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import HeadAxes
from tmsnav.navigation.targeting.targets import (Evidence, Target, TargetSet, cortex_below,
                                                 default_handle_direction, target_from_scalp)
from tmsnav.navigation.transforms import Frame
from tests.navigation.targeting import targeting_data


EV = Evidence("Someone et al. 2020", "because", "10.0/xyz")


def make(name="T", scalp=(-50.0, 40.0, 60.0), normal=(0.0, 0.0, -1.0), handle=(0.0, -1.0, 0.0),
         cortex=(-45.0, 38.0, 42.0), **kw):
    return Target(name=name, scalp_point_mm=scalp, normal=normal, handle_direction=handle,
                  source="manual", evidence=EV, cortex_point_mm=cortex, **kw)


def test_mri_from_target_is_the_hotspot_frame():
    t = make(normal=(0.6, 0.0, -0.8), handle=(0.0, -1.0, 0.0))
    m = t.mri_from_target
    assert (m.to_frame, m.from_frame) == (Frame.MRI, Frame.TARGET)
    assert m.is_rigid and np.linalg.det(m.rotation) == pytest.approx(1.0)
    assert m.apply([0, 0, 0]) == pytest.approx(t.scalp_point_mm)
    assert m.apply_direction([0, 0, 1]) == pytest.approx(t.normal)
    assert m.apply_direction([0, 1, 0]) == pytest.approx(t.handle_direction)
    assert m.apply_direction([1, 0, 0]) == pytest.approx(np.cross(t.handle_direction, t.normal))
    # 20 mm along +z from the scalp entry goes into the head toward the cortex
    assert m.apply([0, 0, 20])[2] < t.scalp_point_mm[2]


def test_depth_is_scalp_to_cortex_distance():
    assert make().depth_mm == pytest.approx(np.linalg.norm([5.0, -2.0, -18.0]))
    assert make(cortex=None).depth_mm is None


@pytest.mark.parametrize("kw, match", [
    (dict(normal=(0, 0, -2.0)), "unit vector"),
    (dict(handle=(0.0, 0.1, -1.0)), "unit vector"),
    (dict(handle=(0.0, np.sqrt(0.5), -np.sqrt(0.5))), "perpendicular"),
    (dict(scalp=(np.nan, 0, 0)), "NaN"),
    (dict(scalp=(1.0, 2.0)), "three numbers"),
    (dict(name="  "), "non-empty name"),
])
def test_invalid_targets_are_refused(kw, match):
    with pytest.raises(NavigationError, match=match):
        make(**kw)


def test_dict_round_trip_through_json():
    t = make(mni_point_mm=(-38, 44, 26), notes="n")
    back = Target.from_dict(json.loads(json.dumps(t.to_dict())))
    assert back.to_dict() == t.to_dict()
    assert back.mri_from_target.is_close(t.mri_from_target)
    with pytest.raises(NavigationError, match="missing the field 'normal'"):
        Target.from_dict({k: v for k, v in t.to_dict().items() if k != "normal"})


def test_target_set_operations_and_distances():
    ts = TargetSet()
    ts.add(make("A", scalp=(0.0, 0, 80), cortex=(0.0, 0, 60)))
    ts.add(make("B", scalp=(30.0, 0, 80), cortex=(0.0, 40, 60)))
    ts.add(make("C", cortex=None))
    assert ts.active.name == "A"
    with pytest.raises(NavigationError, match="already exists"):
        ts.add(make("B"))
    ts.select("B")
    ts.rename("B", "B2")
    assert ts.active.name == "B2" and ts.names == ["A", "B2", "C"]
    assert ts.distance_mm("A", "B2") == pytest.approx(30.0)
    assert ts.distance_mm("A", "B2", "cortex") == pytest.approx(40.0)
    table = {(r["a"], r["b"]): r for r in ts.distance_table()}
    assert len(table) == 3 and table[("A", "C")]["cortex_mm"] is None
    again = TargetSet.from_dict(json.loads(json.dumps(ts.to_dict())))
    assert again.names == ts.names and again.active.name == "B2"
    ts.remove("B2")
    assert ts.active.name == "A"
    with pytest.raises(NavigationError, match="no target named"):
        ts.select("B2")
    with pytest.raises(NavigationError, match="unsupported target list version"):
        TargetSet.from_dict({"schema": 99, "targets": []})


def test_distance_table_with_scalp_arc():
    r = 90.0
    a, b = np.radians(20), np.radians(50)
    ts = TargetSet([make("A", scalp=r * np.array([0, np.sin(a), np.cos(a)]), cortex=None),
                    make("B", scalp=r * np.array([0, np.sin(b), np.cos(b)]), cortex=None)])
    (row,) = ts.distance_table(scalp_mesh=targeting_data.sphere(r, 120))
    assert row["scalp_arc_mm"] == pytest.approx(r * (b - a), rel=1e-3)
    assert row["scalp_mm"] == pytest.approx(2 * r * np.sin((b - a) / 2))


def test_default_handle_is_45_degrees_posterolateral():
    axes = HeadAxes.ras()
    z = np.array([0.0, 0.0, -1.0])  # coil on top of the head
    left = default_handle_direction(z, axes, "left")
    right = default_handle_direction(z, axes, "right")
    assert left == pytest.approx([-np.sqrt(0.5), -np.sqrt(0.5), 0.0])
    assert right == pytest.approx([np.sqrt(0.5), -np.sqrt(0.5), 0.0])
    assert default_handle_direction(z, axes, "midline") == pytest.approx([0, -1.0, 0])
    # tilted coil over the left DLPFC: still unit, tangent, posterior and lateral
    z2 = -np.array([-0.6, 0.3, 0.74]) / np.linalg.norm([-0.6, 0.3, 0.74])
    h = default_handle_direction(z2, axes, "left")
    assert np.linalg.norm(h) == pytest.approx(1.0) and abs(h @ z2) < 1e-9
    assert h[1] < 0 and h[0] < 0
    # forehead: posterior is degenerate, handle goes over the top instead
    assert default_handle_direction(np.array([0, -1.0, 0]), axes, "midline") == pytest.approx([0, 0, 1.0])


def test_cortex_below_along_axis_and_fallback():
    brain = targeting_data.sphere(70.0, 60)
    hit, note = cortex_below(brain, np.array([0, 0, 85.0]), np.array([0, 0, -1.0]))
    assert hit == pytest.approx([0, 0, 70.0], abs=0.2) and "coil axis meets" in note
    # a coil axis that grazes past the brain: closest brain point, and the note says so
    closest, note = cortex_below(brain, np.array([80.0, 0, 0]), np.array([0, 0, -1.0]))
    assert closest == pytest.approx([70.0, 0, 0], abs=0.3) and "closest brain point" in note


def test_target_from_scalp_side_from_head_axes():
    axes = HeadAxes.ras()
    t = target_from_scalp("x", [50.0, 0, 70], [0.5, 0, 0.866], source="manual", evidence=EV,
                          head_axes=axes, brain_mesh=targeting_data.sphere(60.0, 60))
    assert t.handle_direction[0] > 0 and t.handle_direction[1] < 0  # right hemisphere
    assert t.normal == pytest.approx(-np.array([0.5, 0, 0.866]) / np.linalg.norm([0.5, 0, 0.866]))
    assert 10 < t.depth_mm < 40
