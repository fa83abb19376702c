"""The correlation map on the brain surface in the 3-D view, with its colour bar.

The patch of brain surface over the search region is drawn as its own mesh, lifted 0.4 mm off
the brain (no z-fighting with the brain actor underneath), coloured by r with the diverging map
centred at 0 and a colour bar titled "r (correlation with sgACC)"; vertices with |r| under the
threshold are clear. The cluster's border is a yellow line on the surface; the target (yellow)
and the split-half targets (orange) are balls at their cortical points. The scalp is made
see-through (as for the e-field map) so the brain shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvista as pv

from .overlay_slices import BAR_TITLE, CMAP, SPLIT_COLOUR, TARGET_COLOUR, MapData, OverlaySettings

__all__ = ["SurfaceMap", "surface_normals", "show_surface_map", "clear_surface_map", "MAP_OVERLAY", "CLUSTER_OVERLAY",
           "POINTS_OVERLAY", "SCALARS"]

MAP_OVERLAY = "connectivity_map"
CLUSTER_OVERLAY = "connectivity_cluster"
POINTS_OVERLAY = "connectivity_points"
SCALARS = "r"
LIFT_MM = 0.4
SEE_THROUGH_SCALP = 20   # display-panel slider value (percent opacity)


def surface_normals(brain: pv.PolyData) -> np.ndarray:
    """Outward vertex normals of the brain surface (its own, or computed)."""
    if "Normals" in brain.point_data:
        return np.asarray(brain.point_data["Normals"], float)
    return np.asarray(brain.point_normals, float)


class SurfaceMap:
    """The brain surface lifted off the brain, with r per vertex (built once per result); the
    drawn patch is the part over the search region with |r| at or above the threshold."""

    def __init__(self, brain: pv.PolyData, surface_r: np.ndarray, surface_cluster: np.ndarray) -> None:
        self.r = np.asarray(surface_r, float)
        finite = np.isfinite(self.r)
        lifted = pv.PolyData(np.asarray(brain.points) + LIFT_MM * surface_normals(brain), np.asarray(brain.faces))
        lifted.point_data[SCALARS] = self.r
        self.lifted = lifted
        self._abs = np.where(finite, np.abs(np.where(finite, self.r, 0.0)), -1.0)
        cluster_patch = _submesh(lifted, np.asarray(surface_cluster, bool) & finite)
        self.cluster_edges: pv.PolyData | None = None
        if cluster_patch.n_points:
            edges = cluster_patch.extract_feature_edges(boundary_edges=True, feature_edges=False,
                                                        manifold_edges=False, non_manifold_edges=False)
            self.cluster_edges = edges if edges.n_points else None

    def patch(self, threshold: float) -> pv.PolyData:
        """The coloured part: vertices over the search region with |r| >= ``threshold``."""
        return _submesh(self.lifted, self._abs >= max(float(threshold), 0.0))


def _submesh(mesh: pv.PolyData, vertex_mask: np.ndarray) -> pv.PolyData:
    """The triangles whose three vertices are all in ``vertex_mask`` (numpy, no VTK filter: the
    brain surface from marching cubes is all triangles), with their point data."""
    if not mesh.is_all_triangles:
        mesh = mesh.triangulate()
    tri = np.asarray(mesh.faces).reshape(-1, 4)[:, 1:]
    keep = np.asarray(vertex_mask, bool)[tri].all(axis=1)
    if not keep.any():
        return pv.PolyData()
    used = np.unique(tri[keep])
    remap = np.full(mesh.n_points, -1, np.int64)
    remap[used] = np.arange(used.size)
    faces = np.column_stack([np.full(int(keep.sum()), 3), remap[tri[keep]]]).ravel()
    out = pv.PolyData(np.asarray(mesh.points)[used], faces)
    for name in mesh.point_data.keys():
        out.point_data[name] = np.asarray(mesh.point_data[name])[used]
    return out


def _points_mesh(data: MapData) -> pv.PolyData:
    parts = []
    for centre, colour, radius in [(data.target_mri, TARGET_COLOUR, 3.0)] + \
            [(p, SPLIT_COLOUR, 2.2) for p in data.split_targets_mri]:
        ball = pv.Sphere(radius=radius, center=centre, theta_resolution=14, phi_resolution=10)
        c = colour.lstrip("#")
        ball.point_data["rgb"] = np.tile(np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], np.uint8),
                                         (ball.n_points, 1))
        parts.append(ball)
    return pv.merge(parts)


def show_surface_map(window: Any, surface: SurfaceMap | None, data: MapData, settings: OverlaySettings,
                     aim_camera: bool = False) -> None:
    """Draw (or redraw after a control changed) the map, cluster border and target balls."""
    view = window.view3d
    plotter = view.plotter
    if BAR_TITLE in plotter.scalar_bars:
        plotter.remove_scalar_bar(BAR_TITLE, render=False)
    patch = surface.patch(settings.threshold) if surface is not None and settings.show_map else None
    if patch is not None and patch.n_points:
        view.set_overlay(MAP_OVERLAY, patch, render=False, scalars=SCALARS, cmap=CMAP,
                         clim=[-data.r_limit, data.r_limit], opacity=settings.opacity,
                         smooth_shading=True, show_scalar_bar=True,
                         # horizontal, bottom centre: clear of the axes (lower left), the brain
                         # legend (lower right) and the e-field bar (right edge)
                         scalar_bar_args={"title": BAR_TITLE, "vertical": False, "position_x": 0.22,
                                          "position_y": 0.06, "height": 0.07, "width": 0.5,
                                          "fmt": "%+.2f", "color": "white", "n_labels": 5,
                                          "render": False})   # pyvista renders synchronously otherwise
    else:
        view.set_overlay(MAP_OVERLAY, None, render=False)
    edges = surface.cluster_edges if surface is not None else None
    if settings.show_cluster and edges is not None:
        view.set_overlay(CLUSTER_OVERLAY, edges, render=False, color=TARGET_COLOUR, line_width=4)
    else:
        view.set_overlay(CLUSTER_OVERLAY, None, render=False)
    view.set_overlay(POINTS_OVERLAY, _points_mesh(data), render=False, scalars="rgb", rgb=True)
    opacity = window.display_panel.opacity
    if opacity.value() > SEE_THROUGH_SCALP:
        opacity.setValue(SEE_THROUGH_SCALP)
    if aim_camera:
        centre = np.asarray(plotter.bounds, float).reshape(3, 2).mean(axis=1)   # the head's middle
        out = data.target_mri - centre
        out = out / max(np.linalg.norm(out), 1e-9)
        plotter.camera_position = [tuple(data.target_mri + 420.0 * out), tuple(data.target_mri), (0, 0, 1)]
    view.request_render()


def clear_surface_map(window: Any) -> None:
    view = window.view3d
    if not any(view.has_overlay(n) for n in (MAP_OVERLAY, CLUSTER_OVERLAY, POINTS_OVERLAY)):
        return
    for name in (MAP_OVERLAY, CLUSTER_OVERLAY, POINTS_OVERLAY):
        view.set_overlay(name, None, render=False)
    if BAR_TITLE in view.plotter.scalar_bars:
        view.plotter.remove_scalar_bar(BAR_TITLE, render=False)
    view.request_render()
