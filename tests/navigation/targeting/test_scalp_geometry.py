"""Scalp arcs and projections against analytic spheres and ellipsoids."""

import numpy as np
import pytest
from scipy.special import ellipe

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import (HeadAxes, SurfaceMesh, arc_through, closest_point,
                                                        outward_normal, plane_section, ray_hit, surface_path,
                                                        walk)
from tests.navigation.targeting import targeting_data


R = 90.0


@pytest.fixture(scope="module")
def sph():
    return SurfaceMesh(targeting_data.sphere(R, 120))


def _ellipse_quarter(a: float, b: float) -> float:
    """Quarter perimeter of an ellipse with semi-axes a, b (complete elliptic integral)."""
    big, small = max(a, b), min(a, b)
    return big * ellipe(1.0 - (small / big) ** 2)


def test_half_great_circle_arc_matches_pi_r(sph):
    path = arc_through(sph, [0, R, 0], [0, 0, R], [0, -R, 0])
    assert path.length_mm == pytest.approx(np.pi * R, rel=1e-4)  # measured: -2.9e-5 at 120x120
    assert path.point_at_fraction(0.5) == pytest.approx([0, 0, R], abs=0.05)


def test_arc_goes_through_the_via_point_not_the_short_way(sph):
    over_top = arc_through(sph, [-R, 0, 0], [0, 0, R], [0, -R, 0])
    under = arc_through(sph, [-R, 0, 0], [0, 0, -R], [0, -R, 0])
    # mirror images (half great circles), but one passes over the top and the other under
    assert over_top.length_mm == pytest.approx(under.length_mm, rel=1e-3)
    assert over_top.point_at_fraction(0.5)[2] > 0 > under.point_at_fraction(0.5)[2]
    longer = arc_through(sph, [0, R, 0], [0, -R * np.sqrt(0.5), -R * np.sqrt(0.5)], [0, 0, R])
    assert longer.length_mm == pytest.approx(1.5 * np.pi * R, rel=1e-3)


@pytest.mark.parametrize("axes", [(75.0, 95.0, 85.0), (70.0, 100.0, 110.0)])
def test_ellipsoid_principal_arcs_match_elliptic_integrals(axes):
    a, b, c = axes
    mesh = targeting_data.sphere(1.0, 160)
    mesh.points = np.asarray(mesh.points) * np.array([a, b, c])
    surf = SurfaceMesh(mesh)
    sagittal = arc_through(surf, [0, b, 0], [0, 0, c], [0, -b, 0])
    coronal = arc_through(surf, [-a, 0, 0], [0, 0, c], [a, 0, 0])
    assert sagittal.length_mm == pytest.approx(2 * _ellipse_quarter(b, c), rel=5e-4)
    assert coronal.length_mm == pytest.approx(2 * _ellipse_quarter(a, c), rel=5e-4)


def test_walk_on_sphere_lands_at_the_analytic_point(sph):
    start = R * np.array([-np.sin(0.6), 0.0, np.cos(0.6)])  # over the left "motor" area
    path = walk(sph, start, [0, 1, 0], 50.0)
    # great circle through start in the plane spanned by start and +y: angle 50/R
    ang = 50.0 / R
    expected = np.cos(ang) * start + np.sin(ang) * R * np.array([0, 1.0, 0])
    assert path.points[-1] == pytest.approx(expected, abs=0.1)
    assert path.length_mm == pytest.approx(50.0, abs=1e-6)
    back = walk(sph, start, [0, -1, 0], 50.0).points[-1]
    assert back[1] == pytest.approx(-expected[1], abs=0.1)


def test_walk_too_far_on_open_surface_is_a_clear_error():
    mesh = targeting_data.sphere(R, 80).clip(normal=[0, 0, -1], origin=[0, 0, 0])  # keep the top half
    with pytest.raises(NavigationError, match="cannot walk"):
        walk(mesh, [0, 0, R], [0, 1, 0], 200.0)


def test_surface_path_is_great_circle_distance(sph):
    a = R * np.array([np.sin(0.3), 0, np.cos(0.3)])
    b = R * np.array([0, np.sin(0.9), np.cos(0.9)])
    ang = np.arccos(a @ b / R**2)
    assert surface_path(sph, a, b).length_mm == pytest.approx(R * ang, rel=5e-4)


def test_normals_are_outward_even_when_the_mesh_winding_is_inward():
    mesh = targeting_data.sphere(R, 60)
    flipped = mesh.copy()
    flipped.faces = mesh.faces.reshape(-1, 4)[:, [0, 1, 3, 2]].ravel()
    for m in (mesh, flipped):
        p = R * np.array([0.6, 0.0, 0.8])
        assert outward_normal(m, p) == pytest.approx([0.6, 0, 0.8], abs=5e-3)  # < 0.3 deg


def test_closest_point_and_ray(sph):
    assert closest_point(sph, [0, 0, R + 7]) == pytest.approx([0, 0, R], abs=0.05)
    hit = ray_hit(sph, [0, 0, 0], [1, 1, 0])
    assert np.linalg.norm(hit) == pytest.approx(R, abs=0.1)
    assert ray_hit(sph, [0, 0, R + 10], [0, 0, 1]) is None


def test_plane_section_of_sphere_is_one_closed_circle(sph):
    curves = plane_section(sph, [0, 0, 30], [0, 0, 1])
    assert len(curves) == 1 and curves[0][1]
    radii = np.linalg.norm(curves[0][0][:, :2], axis=1)
    assert radii.max() == pytest.approx(np.sqrt(R**2 - 30**2), abs=0.05)


def test_landmark_far_from_surface_is_rejected(sph):
    with pytest.raises(NavigationError, match="same frame"):
        arc_through(sph, [0, 3 * R, 0], [0, 0, R], [0, -R, 0])


def test_head_axes_from_oblique_fiducials():
    rot = targeting_data.oblique_pose()
    pts = {k: rot[:3, :3] @ v + rot[:3, 3] for k, v in
           {"n": np.array([0, 90.0, -5]), "l": np.array([-80.0, -10, -5]), "r": np.array([80.0, -10, -5])}.items()}
    axes = HeadAxes.from_landmarks(pts["n"], pts["l"], pts["r"])
    assert axes.right == pytest.approx(rot[:3, :3] @ [1, 0, 0], abs=1e-9)
    assert axes.anterior == pytest.approx(rot[:3, :3] @ [0, 1, 0], abs=1e-9)
    assert axes.side_of(pts["l"]) == "left" and axes.side_of(pts["r"]) == "right"
