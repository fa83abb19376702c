"""The motor map in the 3-D view: the grid sites on the scalp coloured by their MEP amplitude, the
current site ringed, the same amplitudes spread on the cortex, and one colour bar (µV).

Why both surfaces: the coil sits on the scalp (where the user aims), but the map's meaning is on
the cortex under it (the excited hand area; Wassermann et al. 1992, Electroencephalogr Clin
Neurophysiol 85:1-8, map onto the brain surface). The cortex map is a display aid, not a
measurement: each brain vertex within ``CORTEX_REACH_MM`` of a measured site's cortical point
takes the Gaussian-weighted mean (SD = half the grid spacing) of the site amplitudes; vertices
farther away stay a neutral grey, so nothing is painted where no pulse was given.

Unmeasured sites are drawn small and grey (NaN), measured ones larger; sites below 50 µV keep the
bottom colour of the bar, so "silent" and "not yet stimulated" are never confused.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from tmsnav.navigation.treatment.motor_map import MotorGrid

__all__ = ["show_motor_map", "clear_motor_map", "SITES_OVERLAY", "CURRENT_OVERLAY", "CORTEX_OVERLAY",
           "SCALARS", "BAR_TITLE", "cortex_amplitudes"]

SITES_OVERLAY = "motor_sites"
CURRENT_OVERLAY = "motor_current_site"
CORTEX_OVERLAY = "motor_cortex_map"
SCALARS = "MEP (µV)"
BAR_TITLE = "MEP (µV)"
NEUTRAL = "#9e9e9e"
CMAP = "viridis"
CORTEX_REACH_MM = 12.0


def site_amplitudes(grid: MotorGrid) -> np.ndarray:
    """Per-site amplitude (µV), NaN where no MEP was recorded."""
    return np.array([np.nan if (a := grid.site_amplitude_uv(s)) is None else a for s in grid.sites])


def cortex_amplitudes(grid: MotorGrid, brain_points: np.ndarray) -> np.ndarray:
    """Amplitude per brain vertex (NaN beyond ``CORTEX_REACH_MM`` of every measured site)."""
    amps = site_amplitudes(grid)
    measured = np.isfinite(amps)
    pts = np.asarray(brain_points, float)
    out = np.full(len(pts), np.nan)
    centres = [s.target.cortex_point_mm for s, m in zip(grid.sites, measured) if m]
    if not centres or any(c is None for c in centres):
        return out
    c = np.asarray(centres, float)
    d2 = ((pts[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)          # (n_vertices, n_measured)
    near = d2.min(axis=1) <= CORTEX_REACH_MM ** 2
    sd = 0.5 * grid.spacing_mm
    w = np.exp(-d2[near] / (2.0 * sd * sd))
    out[near] = (w @ amps[measured]) / np.maximum(w.sum(axis=1), 1e-12)
    return out


def show_motor_map(window, grid: MotorGrid, current: str | None, brain: pv.PolyData | None) -> float:
    """Draw (or redraw) the map; returns the colour bar's top (µV)."""
    view = window.view3d
    amps = site_amplitudes(grid)
    top = float(np.nanmax(amps)) if np.any(np.isfinite(amps)) else 100.0
    top = max(top, 100.0)                       # a bar that starts at the 50 µV criterion's scale
    clim = [0.0, top]
    if BAR_TITLE in view.plotter.scalar_bars:
        view.plotter.remove_scalar_bar(BAR_TITLE, render=False)
    pts = np.array([s.target.scalp_point_mm + 1.5 * s.target.normal for s in grid.sites])
    cloud = pv.PolyData(pts)
    cloud.point_data[SCALARS] = amps
    cloud.point_data["radius"] = np.where(np.isfinite(amps), 3.0, 1.8)
    spheres = cloud.glyph(scale="radius", orient=False, geom=pv.Sphere(radius=1.0, theta_resolution=12,
                                                                         phi_resolution=12))
    view.set_overlay(SITES_OVERLAY, spheres, render=False, scalars=SCALARS, cmap=CMAP, clim=clim,
                     nan_color=NEUTRAL, nan_opacity=1.0,
                     scalar_bar_args={"title": BAR_TITLE, "vertical": True, "position_x": 0.82,
                                      "position_y": 0.25, "height": 0.5, "width": 0.07, "fmt": "%.0f",
                                      "color": "white", "render": False})
    if current is not None:
        site = grid.site(current)
        ring = pv.Disc(center=site.target.scalp_point_mm + 2.0 * site.target.normal, inner=4.5, outer=6.0,
                       normal=site.target.normal, c_res=32)
        view.set_overlay(CURRENT_OVERLAY, ring, render=False, color="#00e5ff")
    else:
        view.set_overlay(CURRENT_OVERLAY, None, render=False)
    if brain is not None and brain.n_points and np.any(np.isfinite(amps)):
        mesh = brain.copy(deep=False)
        mesh.point_data[SCALARS] = cortex_amplitudes(grid, np.asarray(brain.points))
        view.set_overlay(CORTEX_OVERLAY, mesh, render=False, scalars=SCALARS, cmap=CMAP, clim=clim,
                         nan_color=NEUTRAL, nan_opacity=1.0, show_scalar_bar=False, smooth_shading=True)
        view.set_brain_visible(False)           # the map is the same surface: no z-fighting
    else:
        view.set_overlay(CORTEX_OVERLAY, None, render=False)
    view.request_render()
    return top


def clear_motor_map(window) -> None:
    view = window.view3d
    had_cortex = view.has_overlay(CORTEX_OVERLAY)
    for name in (SITES_OVERLAY, CURRENT_OVERLAY, CORTEX_OVERLAY):
        view.set_overlay(name, None, render=False)
    if BAR_TITLE in view.plotter.scalar_bars:
        view.plotter.remove_scalar_bar(BAR_TITLE, render=False)
    if had_cortex:
        view.set_brain_visible(window.display_panel.brain.isChecked())
    view.request_render()
