"""Scalp/brain surfaces whose closest-point queries never call VTK, for targeting on a worker
thread while a GUI draws with VTK.

Why: :class:`SurfaceMesh` answers ``closest_point`` through the pyvista mesh
(``find_closest_cell``: a VTK cell locator, a ``vtkGenericCell`` and mutable wrappers created
per call). In the planning GUI tests, a worker thread inside that call and the GUI thread
inside a pyvistaqt render callback deadlocked (one run in three). Every other geometry step of
``tmsnav.navigation.targeting`` is numpy. This module swaps in a mesh whose ``find_closest_cell`` goes
through :class:`tmsnav.navigation.registration.surface_index.SurfaceIndex` (numpy + scipy KD-tree,
Ericson's exact closest point on triangles), so once :func:`worker_safe_surface` has run (on
the GUI thread: it reads the VTK arrays) the targeting functions touch no VTK object at all.

Cost for the sample head's 133k-triangle scalp: ~85 ms for :func:`worker_safe_surface` (copy,
arrays, ``SurfaceMesh``) on the calling thread; the index itself (~185 ms) is built from plain
arrays on the first query, i.e. on the worker. The index searches the triangles around the
``k_vertices`` nearest vertices. For a point up to a few centimetres inside a smooth head
surface that finds the same point as VTK's exhaustive locator (tested against it in
``tests/navigation/targeting/test_worker_mesh.py``).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.registration.surface_index import SurfaceIndex

from .scalp_geometry import SurfaceMesh

__all__ = ["IndexedPolyData", "worker_safe_surface", "DEFAULT_K_VERTICES"]

DEFAULT_K_VERTICES = 8


class IndexedPolyData(pv.PolyData):
    """A triangle ``PolyData`` whose closest-cell query is pure numpy (see the module doc).

    The returned cell id indexes the index's (non-degenerate) triangles; callers in
    ``tmsnav.navigation.targeting`` use only the point."""

    _surface_index: SurfaceIndex | None = None
    _index_arrays: tuple[np.ndarray, np.ndarray, int] | None = None

    def find_closest_cell(self, point, return_closest_point: bool = False):  # noqa: D102
        if self._surface_index is None:
            if self._index_arrays is None:
                raise NavigationError("internal: the surface has no index arrays (use worker_safe_surface)")
            vertices, faces, k = self._index_arrays
            try:
                self._surface_index = SurfaceIndex((vertices, faces), k_vertices=k)
            except ValueError as exc:
                raise NavigationError(f"cannot index the surface: {exc}") from None
        p = np.asarray(point, dtype=float)
        single = p.ndim == 1
        found = self._surface_index.closest(p.reshape(-1, 3), pseudo_normals=False)
        cells: int | np.ndarray = found.faces.astype(int)
        points = found.points
        if single:
            cells, points = int(found.faces[0]), points[0]
        return (cells, points) if return_closest_point else cells


def worker_safe_surface(mesh: pv.PolyData | SurfaceMesh, k_vertices: int = DEFAULT_K_VERTICES) -> SurfaceMesh:
    """A :class:`SurfaceMesh` of ``mesh`` whose queries are all numpy (call on the GUI thread;
    the closest-point index is built from copied arrays on the first query)."""
    if isinstance(mesh, SurfaceMesh):
        mesh = mesh.polydata
    if not isinstance(mesh, pv.PolyData) or mesh.n_points < 4:
        raise NavigationError("the surface must be a non-empty triangle mesh (pyvista PolyData)")
    poly = mesh if mesh.is_all_triangles else mesh.triangulate()
    indexed = IndexedPolyData(poly, deep=True)
    indexed._index_arrays = (np.array(indexed.points, dtype=float),
                             np.array(indexed.regular_faces, dtype=np.int64), int(k_vertices))
    return SurfaceMesh(indexed)
