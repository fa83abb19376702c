"""Drawing pulses as a point cloud with a legend in the 3-D view, shared by two overlays.

The course's previous sessions' pulses (:mod:`.previous_pulses`, one colour per session) and the
pulses imported from another navigator (:mod:`.pulse_import`, one colour, square markers) are
both one VTK point actor plus one legend box: one actor whatever the number of points keeps the
30 Hz Navigate view cheap (measured in :mod:`.previous_pulses`), and an even subsample caps what a
long file or course costs per frame.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["rgb", "even_subsample", "legend_actor", "draw_cloud"]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """"#rrggbb" -> (r, g, b) 0-255."""
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def even_subsample(points: np.ndarray, limit: int) -> np.ndarray:
    """At most ``limit`` rows of ``points``, evenly spread over the whole sequence (first and last
    kept), so a subsampled session or file still shows its start, middle and end."""
    points = np.asarray(points)
    if len(points) <= limit:
        return points
    return points[np.linspace(0, len(points) - 1, max(1, limit)).round().astype(int)]


def legend_actor(entries: Sequence[tuple[str, str]], *, left: float, top: float, width: float,
                 line_height: float = 0.045, square: bool = False) -> Any:
    """A VTK legend box of (text, "#rrggbb") lines, a dot (or a square, like the markers it
    explains) of that colour before each; placed in normalised viewport coordinates from its
    top-left corner."""
    import vtk

    legend = vtk.vtkLegendBoxActor()
    legend.SetNumberOfEntries(len(entries))
    dot = vtk.vtkPlaneSource() if square else vtk.vtkSphereSource()
    dot.Update()
    for i, (text, colour) in enumerate(entries):
        r, g, b = rgb(colour)
        legend.SetEntry(i, dot.GetOutput(), text, (r / 255, g / 255, b / 255))
    height = line_height * len(entries)
    legend.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    legend.GetPositionCoordinate().SetValue(left, top - height)
    legend.GetPosition2Coordinate().SetCoordinateSystemToNormalizedViewport()
    legend.GetPosition2Coordinate().SetValue(width, height)
    legend.UseBackgroundOn()
    legend.SetBackgroundColor(0.1, 0.12, 0.16)
    legend.SetBackgroundOpacity(0.7)
    legend.GetEntryTextProperty().SetColor(0.95, 0.95, 0.95)
    return legend


def draw_cloud(view, name: str, legend_name: str, points: np.ndarray | None,
               colours: np.ndarray | None, legend: Any = None, *, spheres: bool = True,
               point_size: float = 6) -> int:
    """Show ``points`` (n, 3 mm) coloured per point (n, 3 uint8) as overlay ``name`` of the
    :class:`~tmsnav.app.view3d.HeadView3D` ``view`` with ``legend`` (a VTK prop) as
    ``legend_name``; no points (None or empty) removes both. Returns the points drawn."""
    import pyvista as pv

    if points is None or not len(points):
        view.set_overlay(name, None, render=False)
        view.set_overlay_actor(legend_name, None)
        view.request_render()
        return 0
    cloud = pv.PolyData(np.asarray(points, float))
    cloud.point_data["rgb"] = np.asarray(colours, np.uint8)
    view.set_overlay(name, cloud, render=False, scalars="rgb", rgb=True, point_size=point_size,
                     render_points_as_spheres=spheres, cloud=True)   # target markers see-through
    view.set_overlay_actor(legend_name, legend)
    view.request_render()
    return len(points)
