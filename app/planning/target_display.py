"""Draw every target at once: in 3-D a ball at the coil entry, an arrow along the coil axis (into
the head), an arrow along the handle, a line down to a ball at the cortex point and a label; on
the slices a marker at the scalp and cortex points. The active target gets a yellow ring and a
larger ball, and its label reads "ACTIVE: name" in yellow (always drawn, on top). One merged
mesh with per-point colours keeps the glyphs to one actor however many targets."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from tmsnav.navigation.targeting.targets import Target, TargetSet

from ..slice_view import Marker
from .target_labels import TargetLabels
from .target_list import target_colour

__all__ = ["target_glyph", "active_marker", "TargetDrawer", "OVERLAY", "ACTIVE_OVERLAY", "LABELS",
           "ACTIVE_LABEL", "LANDMARK_OVERLAY"]

OVERLAY = "planning_targets"
ACTIVE_OVERLAY = "planning_active_target"
LABELS = "planning_target_labels"
ACTIVE_LABEL = "planning_active_label"
LANDMARK_OVERLAY = "planning_landmarks"
ACTIVE_RING_COLOUR = "#ffeb3b"


def _rgb(colour: str) -> np.ndarray:
    c = colour.lstrip("#")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.uint8)


def _painted(mesh: pv.PolyData, colour: str) -> pv.PolyData:
    mesh = mesh.triangulate() if mesh.n_cells and mesh.n_lines == 0 else mesh
    mesh.point_data["rgb"] = np.tile(_rgb(colour), (mesh.n_points, 1))
    return mesh


def target_glyph(t: Target, colour: str) -> pv.PolyData:
    """Glyph of one target in mri mm (see the module docstring)."""
    s, n, h = t.scalp_point_mm, t.normal, t.handle_direction
    parts = [_painted(pv.Sphere(radius=3.5, center=s, theta_resolution=16, phi_resolution=12), colour),
             _painted(pv.Arrow(start=s - 38.0 * n, direction=n, scale=33.0, tip_length=0.3,
                               tip_radius=0.12, shaft_radius=0.04), colour),
             _painted(pv.Arrow(start=s - 3.0 * n, direction=h, scale=28.0, tip_length=0.35,
                               tip_radius=0.14, shaft_radius=0.05), colour)]
    if t.cortex_point_mm is not None:
        parts.append(_painted(pv.Sphere(radius=2.5, center=t.cortex_point_mm, theta_resolution=12,
                                        phi_resolution=8), colour))
        parts.append(_painted(pv.Line(s, t.cortex_point_mm), colour))
    return pv.merge(parts)


def active_marker() -> pv.PolyData:
    """The active target's mark in the target's own frame (origin on the scalp, +z into the
    head): a ring lying on the scalp and a larger ball, moved onto the active target by its
    ``mri_from_target`` matrix, so changing the active target rebuilds nothing."""
    ring = pv.Disc(center=(0.0, 0.0, -1.5), inner=8.0, outer=11.0, normal=(0.0, 0.0, 1.0), c_res=48)
    return pv.merge([ring.triangulate(), pv.Sphere(radius=5.0, theta_resolution=16, phi_resolution=12)])


class TargetDrawer:
    """Keeps the 3-D target glyphs, their labels and the landmark balls up to date.

    Why it is built this way: every rebuilt glyph costs ~20 ms of VTK filters and every
    re-added actor a pipeline update, which made a click in the target list take 0.6 s under
    software GL (benchmarks/gui_latency.py). Glyphs are cached per (immutable) target and
    colour, the merged overlay is rebuilt only when a target is added, removed or changed,
    and the active mark and labels are moved or updated in place."""

    def __init__(self, window) -> None:
        self.window = window
        self.labels = TargetLabels()
        self._labels_added = False
        self._glyphs: dict[int, tuple[Target, str, pv.PolyData]] = {}
        self._drawn_key: tuple = ()
        self._landmarks_drawn = False
        self._landmarks_key: tuple = ()
        self.glyph_builds = 0            # how many glyphs were built (tests: caching works)

    def _glyph(self, t: Target, colour: str) -> pv.PolyData:
        cached = self._glyphs.get(id(t))
        if cached is not None and cached[0] is t and cached[1] == colour:
            return cached[2]
        mesh = target_glyph(t, colour)
        self.glyph_builds += 1
        self._glyphs[id(t)] = (t, colour, mesh)
        return mesh

    def draw_targets(self, targets: TargetSet) -> None:
        """Show ``targets`` in the 3-D view (glyphs, active mark, labels) and on the slices."""
        view = self.window.view3d
        active = targets.active
        items = [(t, target_colour(i)) for i, t in enumerate(targets)]
        markers = []
        for t, colour in items:
            tag = ("▶ " if t is active else "") + t.name
            markers.append(Marker(tuple(t.scalp_point_mm), colour, tag))
            if t.cortex_point_mm is not None:
                markers.append(Marker(tuple(t.cortex_point_mm), colour, ""))
        self.window.set_markers("targets", markers)
        key = tuple((id(t), colour) for t, colour in items)
        if key != self._drawn_key:
            glyphs = [self._glyph(t, colour) for t, colour in items]
            live = {id(t) for t, _ in items}
            self._glyphs = {k: v for k, v in self._glyphs.items() if k in live}
            view.set_overlay(OVERLAY, pv.merge(glyphs) if glyphs else None, scalars="rgb", rgb=True,
                             line_width=3, show_scalar_bar=False, render=False, see_through=True)
            self._drawn_key = key
        if active is not None and not view.has_overlay(ACTIVE_OVERLAY):
            view.set_overlay(ACTIVE_OVERLAY, active_marker(), color=ACTIVE_RING_COLOUR, render=False,
                             see_through=True)
        view.set_overlay_matrix(ACTIVE_OVERLAY, None if active is None else active.mri_from_target.matrix,
                                render=False)
        if not self._labels_added:
            view.set_overlay_actor(LABELS, self.labels.actors[0])
            view.set_overlay_actor(ACTIVE_LABEL, self.labels.actors[1])   # added last: on top
            self.labels.attach(view.plotter.renderer)
            self._labels_added = True
        self.labels.set_labels(np.array([t.scalp_point_mm - 44.0 * t.normal for t, _ in items]).reshape(-1, 3),
                               [t.name for t, _ in items],
                               next((i for i, (t, _) in enumerate(items) if t is active), None))
        view.request_render()

    @property
    def labels_actor(self):
        """The other targets' label actor while any target is labelled, else None."""
        return self.labels.actors[0] if self.labels.texts else None

    def draw_landmarks(self, points: dict[str, np.ndarray]) -> None:
        """Small white balls and slice markers at the landmarks used for 10-20 / Beam / 5-cm
        (rebuilt only when a landmark moved: every added target asks again)."""
        names = {"nasion": "NAS", "inion": "IN", "lpa": "LPA", "rpa": "RPA"}
        present = [(names[k], np.asarray(p, float)) for k, p in points.items() if p is not None]
        key = tuple((label, tuple(np.round(p, 6))) for label, p in present)
        if key == self._landmarks_key:
            return
        self._landmarks_key = key
        self.window.set_markers("landmarks", [Marker(tuple(p), "#ffffff", label) for label, p in present])
        if not present and not self._landmarks_drawn:
            return
        mesh = pv.merge([pv.Sphere(radius=3.0, center=p) for _, p in present]) if present else None
        self.window.view3d.set_overlay(LANDMARK_OVERLAY, mesh, color="white")
        self._landmarks_drawn = bool(present)
