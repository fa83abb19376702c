"""The field map in the 3-D view: |E| painted on the brain surface (points not evaluated stay a
neutral grey), the planned coil drawn at the target, the camera looking down the coil axis.

While the map is shown the plain brain actor is hidden (the map is the same surface; both at
once would z-fight) and the scalp is made see-through; both come back when the map goes."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from tmsnav.navigation.targeting.efield import EfieldResult
from tmsnav.navigation.targeting.targets import Target

from ..tool_glyphs import coil_glyph

__all__ = ["show_field_map", "clear_field_map", "FIELD_OVERLAY", "COIL_OVERLAY", "SCALARS"]

FIELD_OVERLAY = "planning_efield"
COIL_OVERLAY = "planning_coil"
SCALARS = "|E| (V/m)"
BAR_TITLE = "E-field (V/m)"
NEUTRAL = "#9e9e9e"
SEE_THROUGH_SCALP = 20   # display-panel slider value (percent opacity)


def show_field_map(window, brain: pv.PolyData, field: EfieldResult, target: Target,
                   coil_definition=None, aim_camera: bool = True) -> pv.PolyData:
    """Draw the map (returns the drawn mesh, whose point data holds ``SCALARS``)."""
    view = window.view3d
    mesh = brain.copy(deep=False)
    magnitude = np.asarray(field.magnitude_V_per_m, float)
    mesh.point_data[SCALARS] = magnitude
    peak = float(np.nanmax(magnitude)) if np.any(np.isfinite(magnitude)) else 1.0
    if BAR_TITLE in view.plotter.scalar_bars:
        view.plotter.remove_scalar_bar(BAR_TITLE, render=False)
    view.set_overlay(FIELD_OVERLAY, mesh, scalars=SCALARS, cmap="inferno", clim=[0.0, peak],
                     nan_color=NEUTRAL, nan_opacity=1.0, smooth_shading=True,
                     scalar_bar_args={"title": BAR_TITLE, "vertical": True, "position_x": 0.80,
                                      "position_y": 0.25, "height": 0.5, "width": 0.08,
                                      "fmt": "%.0f", "color": "white",
                                      # pyvista renders synchronously when it adds the bar
                                      # (~170 ms of frozen window); the view renders once below
                                      "render": False})
    casing = coil_definition.drawing_mesh() if hasattr(coil_definition, "drawing_mesh") else None
    view.set_overlay(COIL_OVERLAY, coil_glyph(casing), color="#7e57c2", opacity=0.25,
                     line_width=3)
    view.set_overlay_matrix(COIL_OVERLAY, target.mri_from_target.matrix)
    opacity = window.display_panel.opacity
    if opacity.value() > SEE_THROUGH_SCALP:
        opacity.setValue(SEE_THROUGH_SCALP)
    view.set_brain_visible(False)
    if aim_camera:
        focus = target.cortex_point_mm if target.cortex_point_mm is not None else target.scalp_point_mm
        up = target.handle_direction
        view.plotter.camera_position = [tuple(target.scalp_point_mm - 380.0 * target.normal),
                                        tuple(focus), tuple(-up)]
    view.request_render()
    return mesh


def clear_field_map(window) -> None:
    view = window.view3d
    had_map = view.has_overlay(FIELD_OVERLAY)
    if not had_map and not view.has_overlay(COIL_OVERLAY):
        return
    view.set_overlay(FIELD_OVERLAY, None)
    view.set_overlay(COIL_OVERLAY, None)
    if BAR_TITLE in view.plotter.scalar_bars:
        view.plotter.remove_scalar_bar(BAR_TITLE, render=False)
    if had_map:
        view.set_brain_visible(window.display_panel.brain.isChecked())
    view.request_render()
