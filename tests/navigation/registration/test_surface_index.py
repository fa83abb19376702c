"""Closest point on the scalp mesh: exact against VTK's cell locator, correct sign."""

import numpy as np
import pytest
import pyvista as pv
import vtk

from tmsnav.navigation.registration import SurfaceIndex
from tmsnav.navigation.registration.surface_index import closest_point_on_triangles


def _irregular_head():
    """A marching-cubes bumpy ellipsoid, decimated: skinny, irregular triangles."""
    grid = pv.ImageData(dimensions=(70, 80, 76), spacing=(3.0, 3.0, 3.0),
                        origin=(-100.0, -120.0, -110.0))
    p = grid.points
    u = p / np.maximum(np.linalg.norm(p, axis=1), 1e-9)[:, None]
    grid["v"] = (np.linalg.norm(p / np.array([75.0, 95.0, 90.0]), axis=1)
                 * (1 + 0.03 * np.sin(3 * u[:, 0]) * np.cos(2 * u[:, 1])))
    return grid.contour([1.0], scalars="v").triangulate().clean().decimate(0.5)


def _vtk_distances(mesh, points):
    loc = vtk.vtkStaticCellLocator()
    loc.SetDataSet(mesh)
    loc.BuildLocator()
    cp, cid, sid, d2 = [0.0, 0.0, 0.0], vtk.reference(0), vtk.reference(0), vtk.reference(0.0)
    out = []
    for x in points:
        loc.FindClosestPoint(x.tolist(), cp, cid, sid, d2)
        out.append(np.sqrt(float(d2)))
    return np.array(out)


def test_matches_vtk_cell_locator_on_an_irregular_mesh():
    mesh = _irregular_head()
    rng = np.random.default_rng(0)
    q = mesh.points[rng.integers(0, mesh.n_points, 1500)] + rng.normal(scale=4.0, size=(1500, 3))
    ref = _vtk_distances(mesh, q)
    got = SurfaceIndex(mesh).closest(q)
    np.testing.assert_allclose(got.distances_mm, ref, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(got.points - q, axis=1), ref, atol=1e-9)


def test_signed_distance_on_a_sphere():
    sphere = pv.Icosphere(radius=80.0, nsub=5)
    index = SurfaceIndex(sphere)
    rng = np.random.default_rng(1)
    u = rng.normal(size=(400, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    radii = rng.uniform(60.0, 100.0, 400)
    sd = index.signed_distance(u * radii[:, None])
    # the mesh lies inside the true sphere by at most the chord sagitta (< 0.05 mm here)
    np.testing.assert_allclose(sd, radii - 80.0, atol=0.05)
    assert np.all(np.sign(sd[np.abs(radii - 80) > 0.1]) == np.sign(radii - 80)[
        np.abs(radii - 80) > 0.1])


def test_inward_wound_mesh_is_reoriented():
    sphere = pv.Icosphere(radius=80.0, nsub=3)
    faces = np.asarray(sphere.regular_faces)[:, ::-1]
    index = SurfaceIndex((np.asarray(sphere.points), faces))
    assert index.signed_distance([[0, 0, 100.0]])[0] > 0
    assert index.signed_distance([[0, 0, 50.0]])[0] < 0


def test_triangle_regions_against_brute_force():
    rng = np.random.default_rng(2)
    a, b, c = (rng.normal(size=(2000, 3)) for _ in range(3))
    p = rng.normal(scale=2.0, size=(2000, 3))
    q, bary = closest_point_on_triangles(p, a, b, c)
    assert np.all(bary >= -1e-12) and np.allclose(bary.sum(1), 1.0)
    # brute force on a dense barycentric grid never beats the analytic closest point
    s = np.linspace(0, 1, 41)
    uu, vv = np.meshgrid(s, s)
    keep = uu + vv <= 1
    uu, vv = uu[keep], vv[keep]
    for i in range(0, 2000, 97):
        grid = a[i] + uu[:, None] * (b[i] - a[i]) + vv[:, None] * (c[i] - a[i])
        best = np.linalg.norm(grid - p[i], axis=1).min()
        assert np.linalg.norm(q[i] - p[i]) <= best + 1e-12


def test_bad_meshes_are_refused():
    with pytest.raises(ValueError, match="faces"):
        SurfaceIndex((np.zeros((4, 3)), np.zeros((0, 3), int)))
    with pytest.raises(ValueError, match="index vertices"):
        SurfaceIndex((np.eye(3), np.array([[0, 1, 5]])))
    with pytest.raises(ValueError, match="non-zero area"):
        SurfaceIndex((np.zeros((3, 3)), np.array([[0, 1, 2]])))
