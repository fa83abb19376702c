"""What the registration steps draw: landmarks on the 3-D head and the slices, and surface
points as small spheres coloured by their distance to the MRI scalp.

Colours for distances (signed, outside the head positive) come in 2-mm bands so a technician
can read them without a legend: green within 1 mm of the MRI scalp, light blue / orange 1-3 mm
inside / outside, blue / red beyond 3 mm.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pyvista as pv

from tmsnav.navigation.registration.fiducials import canonical_name

from ..slice_view import Marker
from .context import display_name

__all__ = ["draw_landmarks", "draw_points", "clear_overlays", "DISTANCE_COLORS",
           "DISTANCE_LEGEND_HTML", "OVERLAYS"]

PLANNED_COLOR = "#ffd54f"     # MRI landmark
TOUCHED_COLOR = "#00e5ff"     # touched landmark mapped into the MRI by the current fit
CURRENT_COLOR = "#ff4081"     # the landmark to touch now
DISTANCE_COLORS = ["#2962ff", "#80d8ff", "#00c853", "#ffab40", "#d50000"]
DISTANCE_CLIM_MM = (-5.0, 5.0)
DISTANCE_LEGEND_HTML = ("<span style='color:#2962ff'>●</span> &gt;3 mm inside "
                        "<span style='color:#80d8ff'>●</span> 1–3 inside "
                        "<span style='color:#00c853'>●</span> within 1 mm "
                        "<span style='color:#ffab40'>●</span> 1–3 outside "
                        "<span style='color:#d50000'>●</span> &gt;3 mm outside")
OVERLAYS = ("reg_planned", "reg_touched", "reg_current", "reg_points")
MARKER_LAYER = "registration"


def _spheres(points: np.ndarray, radius: float, distances_mm: np.ndarray | None = None
             ) -> pv.PolyData | None:
    pts = np.asarray(points, float).reshape(-1, 3)
    if not len(pts):
        return None
    cloud = pv.PolyData(pts)
    if distances_mm is not None:
        cloud.point_data["distance_mm"] = np.clip(np.asarray(distances_mm, float).reshape(-1),
                                                  *DISTANCE_CLIM_MM)
    return cloud.glyph(geom=pv.Sphere(radius=radius, theta_resolution=12, phi_resolution=12),
                       scale=False, orient=False)


def draw_landmarks(window, planned_mri: Mapping[str, np.ndarray],
                   touched_mri: Mapping[str, np.ndarray] | None = None,
                   current: str | None = None) -> None:
    """Planned landmarks (yellow), touched ones mapped by the fit (cyan), the one to touch now
    (pink, larger), on the 3-D view and as markers on every slice. Landmarks that are the
    head's own marked fiducials get no slice label (other panels label those already), except
    the current one."""
    view = window.view3d
    planned = {k: np.asarray(v, float) for k, v in planned_mri.items()}
    view.set_overlay("reg_planned", _spheres(np.array(list(planned.values())), 3.0),
                     color=PLANNED_COLOR, smooth_shading=True)
    touched = {k: np.asarray(v, float) for k, v in (touched_mri or {}).items()}
    view.set_overlay("reg_touched", _spheres(np.array(list(touched.values())), 2.0),
                     color=TOUCHED_COLOR, smooth_shading=True)
    cur = planned.get(current) if current else None
    view.set_overlay("reg_current", None if cur is None else _spheres(cur, 4.5),
                     color=CURRENT_COLOR, opacity=0.6, smooth_shading=True)
    marked = _head_fiducials(window)
    markers = [Marker(tuple(p), CURRENT_COLOR if k == current else PLANNED_COLOR,
                      display_name(k) if k == current or not _same(marked.get(k), p) else "")
               for k, p in planned.items()]
    markers += [Marker(tuple(p), TOUCHED_COLOR, "") for p in touched.values()]
    window.set_markers(MARKER_LAYER, markers)


def _head_fiducials(window) -> dict[str, np.ndarray]:
    head = getattr(window.state, "head", None)
    marked = getattr(head, "fiducials_mm", None) or {}
    return {canonical_name(k): np.asarray(v, float) for k, v in marked.items()}


def _same(a: np.ndarray | None, b: np.ndarray) -> bool:
    return a is not None and float(np.linalg.norm(a - b)) < 0.01


def draw_points(window, points_mri: np.ndarray, distances_mm: np.ndarray | None) -> None:
    """Surface points as 1.5 mm spheres coloured by signed distance (None: one colour)."""
    mesh = _spheres(points_mri, 1.5, distances_mm)
    if mesh is None:
        window.view3d.set_overlay("reg_points", None)
        return
    if distances_mm is None:
        window.view3d.set_overlay("reg_points", mesh, color="#00e5ff")
        return
    window.view3d.set_overlay("reg_points", mesh, scalars="distance_mm", cmap=DISTANCE_COLORS,
                              clim=DISTANCE_CLIM_MM, n_colors=len(DISTANCE_COLORS),
                              show_scalar_bar=False)


def clear_overlays(window) -> None:
    for name in OVERLAYS:
        window.view3d.set_overlay(name, None)
    window.set_markers(MARKER_LAYER, [])
