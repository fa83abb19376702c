"""Scalp/brain surfaces whose closest-point queries never call VTK, for targeting on a worker
thread while a GUI draws with VTK.

Why: :class:`SurfaceMesh` answers ``closest_point`` through the pyvista mesh
(``find_closest_cell``: a VTK cell locator, a ``vtkGenericCell`` and mutable wrappers created
per call). In the planning GUI tests, a worker thread inside that call and the GUI thread
inside a pyvistaqt render callback deadlocked (one run in three). Every other geometry step of
``navigation.targeting`` is numpy. This module swaps in a mesh whose ``find_closest_cell`` goes
through :class:`navigation.registration.surface_index.SurfaceIndex` (numpy + scipy KD-tree,
Ericson's exact closest point on triangles), so once :func:`worker_safe_surface` has run (on
the GUI thread: it reads the VTK arrays) the targeting functions touch no VTK object at all.

The index searches the triangles around the ``k_vertices`` nearest vertices. For a point up to
a few centimetres inside a smooth head surface that finds the same point as VTK's exhaustive
locator (tested against it in ``tests/navigation/targeting/test_worker_mesh.py``).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from navigation.errors import NavigationError
from navigation.registration.surface_index import SurfaceIndex

from .scalp_geometry import SurfaceMesh

__all__ = ["IndexedPolyData", "worker_safe_surface", "DEFAULT_K_VERTICES"]

DEFAULT_K_VERTICES = 8


class IndexedPolyData(pv.PolyData):
    """A triangle ``PolyData`` whose closest-cell query is pure numpy (see the module doc).

    The returned cell id indexes the index's (non-degenerate) triangles; callers in
    ``navigation.targeting`` use only the point."""

    _surface_index: SurfaceIndex | None = None

    def find_closest_cell(self, point, return_closest_point: bool = False):  # noqa: D102
        if self._surface_index is None:
            raise NavigationError("internal: the surface index was not built (use worker_safe_surface)")
        p = np.asarray(point, dtype=float)
        single = p.ndim == 1
        found = self._surface_index.closest(p.reshape(-1, 3), pseudo_normals=False)
        cells = found.faces.astype(int)
        points = found.points
        if single:
            cells, points = int(cells[0]), points[0]
        return (cells, points) if return_closest_point else cells


def worker_safe_surface(mesh: pv.PolyData | SurfaceMesh, k_vertices: int = DEFAULT_K_VERTICES) -> SurfaceMesh:
    """A :class:`SurfaceMesh` of ``mesh`` whose queries are all numpy (call on the GUI thread)."""
    if isinstance(mesh, SurfaceMesh):
        mesh = mesh.polydata
    if not isinstance(mesh, pv.PolyData) or mesh.n_points < 4:
        raise NavigationError("the surface must be a non-empty triangle mesh (pyvista PolyData)")
    poly = mesh if mesh.is_all_triangles else mesh.triangulate()
    indexed = IndexedPolyData(poly, deep=True)
    try:
        indexed._surface_index = SurfaceIndex((np.asarray(indexed.points, float),
                                               np.asarray(indexed.regular_faces, np.int64)),
                                              k_vertices=k_vertices)
    except ValueError as exc:
        raise NavigationError(f"cannot index the surface: {exc}") from None
    return SurfaceMesh(indexed)
