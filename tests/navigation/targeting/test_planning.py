"""Planning helpers: landmarks from fiducials (inion estimated and said so), a target from any
point on a sphere head with exact truth, the handle-angle edit, coil windings, MNI mapping."""

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

from tmsnav.navigation.coils import CoilDefinition
from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.coil_dipoles import GENERIC_FIG8_70
from tmsnav.navigation.targeting.planning import (coil_windings_for, cortical_normal, field_for_target,
                                                  find_fiducial,
                                                  head_axes_from, landmarks_from, mni_to_mri, mri_to_mni,
                                                  orientation_for_target, point_target, unique_name,
                                                  with_handle_angle)
from tmsnav.navigation.targeting.scalp_geometry import SurfaceMesh
from tmsnav.navigation.transforms import Frame, Transform

ROOT = Path(__file__).resolve().parents[3]
R_SCALP, R_BRAIN = 90.0, 75.0
FIDUCIALS = {"Nasion": [0.0, R_SCALP, 0.0], "LPA": [-R_SCALP, 0.0, 0.0], "RPA": [R_SCALP, 0.0, 0.0]}


@pytest.fixture(scope="module")
def scalp():
    return SurfaceMesh(pv.Sphere(radius=R_SCALP, theta_resolution=120, phi_resolution=120))


@pytest.fixture(scope="module")
def brain():
    return pv.Sphere(radius=R_BRAIN, theta_resolution=120, phi_resolution=120)


def unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def test_find_fiducial_accepts_usual_labels_and_returns_none_when_absent():
    np.testing.assert_allclose(find_fiducial(FIDUCIALS, "nasion"), [0, R_SCALP, 0])
    np.testing.assert_allclose(find_fiducial({"NAS": [1, 2, 3]}, "nasion"), [1, 2, 3])
    assert find_fiducial(FIDUCIALS, "inion") is None
    assert find_fiducial(None, "lpa") is None


def test_missing_inion_is_estimated_at_the_back_of_the_head_and_said_so(scalp):
    choice = landmarks_from(FIDUCIALS, scalp)
    np.testing.assert_allclose(choice.landmarks.inion, [0.0, -R_SCALP, 0.0], atol=0.5)
    assert choice.origin == {"nasion": "image fiducials", "lpa": "image fiducials",
                             "rpa": "image fiducials", "inion": "estimated"}
    assert any("inion estimated" in n for n in choice.notes)


def test_cursor_set_landmarks_take_precedence(scalp):
    inion = [0.0, -R_SCALP * np.cos(0.2), R_SCALP * np.sin(0.2)]
    choice = landmarks_from(FIDUCIALS, scalp, {"inion": inion, "nasion": None})
    np.testing.assert_allclose(choice.landmarks.inion, inion)
    assert choice.origin["inion"] == "cursor" and choice.origin["nasion"] == "image fiducials"
    assert choice.notes == ()


def test_missing_or_swapped_ears_are_refused_with_the_reason(scalp):
    with pytest.raises(NavigationError, match="missing: LPA"):
        landmarks_from({"nasion": [0, R_SCALP, 0], "rpa": [R_SCALP, 0, 0]}, scalp)
    with pytest.raises(NavigationError, match="swapped"):
        head_axes_from({**FIDUCIALS, "LPA": [R_SCALP, 0, 0], "RPA": [-R_SCALP, 0, 0]})


def test_point_inside_the_head_becomes_cortex_point_under_the_closest_scalp_point(scalp, brain):
    direction = unit([-0.5, 0.6, 0.62])
    cortex = 70.0 * direction
    axes = head_axes_from(FIDUCIALS)
    t = point_target("DLPFC", cortex, scalp, brain=brain, head_axes=axes)
    np.testing.assert_allclose(t.cortex_point_mm, cortex)
    np.testing.assert_allclose(t.scalp_point_mm, R_SCALP * direction, atol=0.3)
    assert np.degrees(np.arccos(np.clip(t.normal @ -direction, -1, 1))) < 1.0
    assert t.depth_mm == pytest.approx(R_SCALP - 70.0, abs=0.3)
    assert t.scalp_point_mm[0] < 0
    # default handle: posterior and toward the patient's left for a left target
    assert t.handle_direction[1] < 0 and t.handle_direction[0] < 0
    assert t.source == "manual" and "closest scalp point" in t.notes


def test_point_on_the_scalp_is_the_coil_entry_and_the_cortex_is_found_below(scalp, brain):
    direction = unit([0.4, -0.3, 0.87])
    on_scalp = R_SCALP * direction * 0.999   # vertices of a tessellated sphere are inside R
    t = point_target("right", on_scalp, scalp, brain=brain, mni_point_mm=[1, 2, 3])
    assert np.linalg.norm(t.scalp_point_mm - R_SCALP * direction) < 1.0
    assert t.depth_mm == pytest.approx(R_SCALP - R_BRAIN, abs=0.8)
    np.testing.assert_allclose(t.mni_point_mm, [1, 2, 3])
    assert "image axes" in t.notes   # no head axes given: the user is told


def test_points_outside_or_too_deep_are_refused(scalp):
    with pytest.raises(NavigationError, match="outside the scalp"):
        point_target("far", [0, 0, R_SCALP + 40], scalp)
    with pytest.raises(NavigationError, match="below the scalp"):
        point_target("deep", [0, 0, 10.0], scalp)


def test_handle_angle_turns_about_the_normal_clockwise_from_outside(scalp):
    t = point_target("T", 70.0 * unit([-0.3, 0.5, 0.8]), scalp, head_axes=head_axes_from(FIDUCIALS))
    x_old = t.mri_from_target.matrix[:3, 0]
    turned = with_handle_angle(t, np.pi / 2)
    np.testing.assert_allclose(turned.handle_direction, -x_old, atol=1e-12)
    np.testing.assert_allclose(turned.normal, t.normal)
    np.testing.assert_allclose(turned.scalp_point_mm, t.scalp_point_mm)
    back = with_handle_angle(turned, -np.pi / 2)
    np.testing.assert_allclose(back.handle_direction, t.handle_direction, atol=1e-12)
    assert "+90.0 deg" in turned.notes


def test_unique_name():
    assert unique_name([], "F3") == "F3"
    assert unique_name(["F3", "F3 2"], "F3") == "F3 3"


def test_coil_windings_from_a_definition_file_or_the_generic_coil():
    definition = CoilDefinition.load(ROOT / "assets" / "coils" / "magventure-b65-like.json")
    w = coil_windings_for(definition)
    assert (w.turns_per_wing, w.inner_radius_mm, w.outer_radius_mm) == (5, 17.5, 37.5)
    generic = coil_windings_for(None)                     # assets/coils/generic-fig8-70.json
    assert generic.name == "generic-fig8-70"
    for field in ("turns_per_wing", "inner_radius_mm", "outer_radius_mm", "wing_centre_separation_mm",
                  "winding_depth_mm"):
        assert getattr(generic, field) == getattr(GENERIC_FIG8_70, field)
    with pytest.raises(NavigationError):
        coil_windings_for("a string")


def test_mni_mapping_round_trip_and_frame_check():
    m = np.diag([1.1, 0.9, 1.05, 1.0])
    m[:3, 3] = [2.0, -20.0, 5.0]
    mri_from_mni = Transform(Frame.MRI, Frame.MNI, m)
    p = mni_to_mri(mri_from_mni, [-38, 44, 26])
    np.testing.assert_allclose(p, [-38 * 1.1 + 2, 44 * 0.9 - 20, 26 * 1.05 + 5])
    np.testing.assert_allclose(mri_to_mni(mri_from_mni, p), [-38, 44, 26])
    with pytest.raises(NavigationError, match="register"):
        mni_to_mri(mri_from_mni.inverse(), [0, 0, 0])


def test_field_and_orientation_for_a_target_on_a_sphere_head(scalp, brain):
    t = point_target("T", 75.0 * unit([-0.3, 0.4, 0.87]), scalp, head_axes=head_axes_from(FIDUCIALS))
    scalp_points = np.asarray(scalp.vertices)
    cortex, faces = np.asarray(brain.points), np.asarray(brain.regular_faces)
    res = field_for_target(t, cortex, faces, scalp_points, GENERIC_FIG8_70, stimulator_output_percent=60.0)
    assert res.target_V_per_m > 0
    assert res.target_depth_mm == pytest.approx(R_SCALP - 75.0, abs=0.5)
    assert np.isnan(res.magnitude_V_per_m).any() and np.isfinite(res.magnitude_V_per_m).any()
    # under the coil the field is strongest: the peak is within a centimetre of the target
    assert np.linalg.norm(res.peak_point_mm - t.cortex_point_mm) < 15.0
    double = field_for_target(t, cortex, faces, scalp_points, GENERIC_FIG8_70,
                              stimulator_output_percent=100.0)
    assert double.target_V_per_m == pytest.approx(res.target_V_per_m * 100 / 60, rel=1e-6)
    orient = orientation_for_target(t, scalp_points, GENERIC_FIG8_70, didt_A_per_s=1e8)
    # sphere symmetry: |E| at a point on the coil axis does not depend on the handle angle
    assert np.ptp(orient.values_V_per_m) < 0.01 * orient.values_V_per_m.max()
    with pytest.raises(NavigationError, match="brain"):
        field_for_target(t, None, None, scalp_points, GENERIC_FIG8_70, stimulator_output_percent=60.0)
    no_cortex = t.with_changes(cortex_point_mm=None)
    with pytest.raises(NavigationError, match="no cortex point"):
        orientation_for_target(no_cortex, scalp_points, GENERIC_FIG8_70, didt_A_per_s=1e8)


def test_cortical_normal_and_the_direction_objective_make_the_angle_matter(scalp, brain):
    axes = head_axes_from(FIDUCIALS)
    t = point_target("T", R_BRAIN * unit([-0.3, 0.4, 0.87]), scalp, head_axes=axes)
    n = cortical_normal(brain, t.cortex_point_mm)
    np.testing.assert_allclose(n, unit(t.cortex_point_mm), atol=0.02)   # sphere: radial
    # a tilted "gyral wall" direction: its tangential part points along the head's right axis
    wall = unit(0.8 * unit(t.cortex_point_mm) + 0.6 * np.array([1.0, 0.0, 0.0]))
    orient = orientation_for_target(t, np.asarray(scalp.vertices), GENERIC_FIG8_70,
                                    didt_A_per_s=1e8, direction=wall)
    assert np.ptp(orient.values_V_per_m) > 0.5 * orient.values_V_per_m.max()
    # best: the induced E (antiparallel to the handle under the centre) lies along the wall's
    # tangential part, i.e. the turned handle is parallel or antiparallel to it
    turned = with_handle_angle(t, orient.best_angle_rad)
    tangential = wall - t.normal * (wall @ t.normal)
    cos = abs(turned.handle_direction @ unit(tangential))
    assert cos > 0.99
