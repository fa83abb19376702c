"""The VTK-free surface gives VTK's closest points on a real scalp (fsaverage) and a sphere, and
the targeting functions give identical targets with it."""

import numpy as np
import pytest
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import SurfaceMesh, closest_point
from tmsnav.navigation.targeting.ten_twenty import HeadLandmarks, compute_ten_twenty, ten_twenty_target
from tmsnav.navigation.targeting.worker_mesh import IndexedPolyData, worker_safe_surface
from tests.navigation.targeting import targeting_data


def vtk_closest(mesh: pv.PolyData, p: np.ndarray) -> np.ndarray:
    return np.asarray(mesh.find_closest_cell(p, return_closest_point=True)[1], float)


def test_closest_points_match_vtk_on_the_fsaverage_scalp_inside_and_outside():
    scalp = targeting_data.fsaverage_scalp()
    surf = worker_safe_surface(scalp)
    assert isinstance(surf.polydata, IndexedPolyData)
    rng = np.random.default_rng(7)
    upper = np.asarray(scalp.points)[np.asarray(scalp.points)[:, 2] > 0]
    base = upper[rng.choice(len(upper), 300, replace=False)]
    centre = np.array([0.0, -20.0, 10.0])
    inward = (centre - base) / np.linalg.norm(centre - base, axis=1)[:, None]
    queries = base + inward * rng.uniform(-10.0, 60.0, (300, 1))   # 10 mm outside .. 60 mm deep
    ours = np.array([closest_point(surf, q) for q in queries])
    ref = np.array([vtk_closest(scalp, q) for q in queries])
    ours_d = np.linalg.norm(ours - queries, axis=1)
    ref_d = np.linalg.norm(ref - queries, axis=1)
    # same distance to 1 micrometre (where two points are equally close they may differ)
    assert np.max(np.abs(ours_d - ref_d)) < 1e-3


def test_ten_twenty_is_identical_with_the_worker_safe_surface():
    d = targeting_data
    scalp = d.fsaverage_scalp()
    ref = d.fsaverage_1010()
    lm = HeadLandmarks(ref["NAS"], ref["Iz"], ref["LPA"], ref["RPA"])
    a = ten_twenty_target(compute_ten_twenty(SurfaceMesh(scalp), lm), "F3")
    b = ten_twenty_target(compute_ten_twenty(worker_safe_surface(scalp), lm), "F3")
    np.testing.assert_allclose(a.scalp_point_mm, b.scalp_point_mm, atol=1e-6)
    np.testing.assert_allclose(a.normal, b.normal, atol=1e-9)


def test_batch_queries_and_bad_input():
    surf = worker_safe_surface(pv.Sphere(radius=80.0, theta_resolution=60, phi_resolution=60))
    cells, points = surf.polydata.find_closest_cell(np.array([[0, 0, 10.0], [0, 30.0, 0]]),
                                                    return_closest_point=True)
    assert cells.shape == (2,) and points.shape == (2, 3)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 80.0, atol=0.3)
    with pytest.raises(NavigationError):
        worker_safe_surface(pv.PolyData())
