"""Draw every target at once: in 3-D a ball at the coil entry, an arrow along the coil axis (into
the head), an arrow along the handle, a line down to a ball at the cortex point and a label; on
the slices a marker at the scalp and cortex points. The active target gets a ring and a larger
ball. One merged mesh with per-point colours keeps it to one actor however many targets."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from tmsnav.navigation.targeting.targets import Target, TargetSet

from ..slice_view import Marker
from .target_list import target_colour

__all__ = ["target_glyph", "TargetDrawer", "OVERLAY", "LABELS", "LANDMARK_OVERLAY"]

OVERLAY = "planning_targets"
LABELS = "planning_target_labels"
LANDMARK_OVERLAY = "planning_landmarks"
ACTIVE_RING_COLOUR = "#ffeb3b"


def _rgb(colour: str) -> np.ndarray:
    c = colour.lstrip("#")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.uint8)


def _painted(mesh: pv.PolyData, colour: str) -> pv.PolyData:
    mesh = mesh.triangulate() if mesh.n_cells and mesh.n_lines == 0 else mesh
    mesh.point_data["rgb"] = np.tile(_rgb(colour), (mesh.n_points, 1))
    return mesh


def target_glyph(t: Target, colour: str, active: bool = False) -> pv.PolyData:
    """Glyph of one target in mri mm (see the module docstring)."""
    s, n, h = t.scalp_point_mm, t.normal, t.handle_direction
    parts = [_painted(pv.Sphere(radius=5.0 if active else 3.5, center=s), colour),
             _painted(pv.Arrow(start=s - 38.0 * n, direction=n, scale=33.0, tip_length=0.3,
                               tip_radius=0.12, shaft_radius=0.04), colour),
             _painted(pv.Arrow(start=s - 3.0 * n, direction=h, scale=28.0, tip_length=0.35,
                               tip_radius=0.14, shaft_radius=0.05), colour)]
    if t.cortex_point_mm is not None:
        parts.append(_painted(pv.Sphere(radius=2.5, center=t.cortex_point_mm), colour))
        parts.append(_painted(pv.Line(s, t.cortex_point_mm), colour))
    if active:
        parts.append(_painted(pv.Disc(center=s - 1.5 * n, inner=8.0, outer=10.5, normal=n, c_res=48),
                              ACTIVE_RING_COLOUR))
    return pv.merge(parts)


class TargetDrawer:
    """Keeps the 3-D target glyphs, their labels and the landmark balls up to date; skips the
    (software-GL, ~0.1 s) render when there is nothing to add or remove."""

    def __init__(self, window) -> None:
        self.window = window
        self._labels = None
        self._landmarks_drawn = False

    def draw_targets(self, targets: TargetSet) -> None:
        """Replace the target glyphs in the 3-D view and the target markers on the slices."""
        view = self.window.view3d
        active = targets.active.name if targets.active is not None else None
        glyphs, label_points, labels, markers = [], [], [], []
        for i, t in enumerate(targets):
            colour = target_colour(i)
            tag = ("▶ " if t.name == active else "") + t.name
            glyphs.append(target_glyph(t, colour, t.name == active))
            label_points.append(t.scalp_point_mm - 44.0 * t.normal)
            labels.append(tag)
            markers.append(Marker(tuple(t.scalp_point_mm), colour, tag))
            if t.cortex_point_mm is not None:
                markers.append(Marker(tuple(t.cortex_point_mm), colour, ""))
        self.window.set_markers("targets", markers)
        if not glyphs and not view.has_overlay(OVERLAY) and self._labels is None:
            return
        plotter = view.plotter
        if self._labels is not None:
            plotter.remove_actor(self._labels, render=False)
            self._labels = None
        if labels:
            self._labels = plotter.add_point_labels(
                np.asarray(label_points), labels, name=LABELS, font_size=12, text_color="white",
                shape_color="#263238", shape_opacity=0.6, show_points=False, always_visible=True,
                reset_camera=False, render=False)
        view.set_overlay(OVERLAY, pv.merge(glyphs) if glyphs else None, scalars="rgb", rgb=True,
                         line_width=3, show_scalar_bar=False)

    @property
    def labels_actor(self):
        return self._labels

    def draw_landmarks(self, points: dict[str, np.ndarray]) -> None:
        """Small white balls and slice markers at the landmarks used for 10-20 / Beam / 5-cm."""
        names = {"nasion": "NAS", "inion": "IN", "lpa": "LPA", "rpa": "RPA"}
        present = [(names[k], np.asarray(p, float)) for k, p in points.items() if p is not None]
        self.window.set_markers("landmarks", [Marker(tuple(p), "#ffffff", label) for label, p in present])
        if not present and not self._landmarks_drawn:
            return
        mesh = pv.merge([pv.Sphere(radius=3.0, center=p) for _, p in present]) if present else None
        self.window.view3d.set_overlay(LANDMARK_OVERLAY, mesh, color="white")
        self._landmarks_drawn = bool(present)
