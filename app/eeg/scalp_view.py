"""qEEG on the 3-D head: a per-vertex measure painted on the scalp with a colour bar, and the
electrodes as small spheres with their names.

The map is the scalp mesh itself with the values as point scalars, lifted 0.4 mm outward along
the vertex normals: drawn exactly on the plain scalp the two coincident surfaces would z-fight
(speckle). Vertices without a value (NaN: far from every electrode, see
:mod:`tmsnav.navigation.eeg.scalp_map`) are drawn in a neutral grey, never in a colour of the
scale. Adding the scalar bar is done with ``render=False`` and one coalesced render is requested
afterwards (a synchronous render inside a change froze the window ~170 ms in the e-field view).

Electrode colours: captured (touched with the pointer) green, interpolated orange, template /
still to touch light grey, refused red; the electrode to touch next is a larger pink sphere with
its name in a bold label.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

import numpy as np
import pyvista as pv
import vtk

from tmsnav.navigation.errors import NavigationError

__all__ = ["show_scalp_map", "clear_scalp_map", "show_electrodes", "clear_electrodes",
           "MAP_OVERLAY", "ELECTRODE_OVERLAY", "HIGHLIGHT_OVERLAY", "LABEL_OVERLAY", "NEUTRAL",
           "STATUS_COLORS", "electrode_labels_shown"]

MAP_OVERLAY = "eeg_scalp_map"
ELECTRODE_OVERLAY = "eeg_electrodes"
HIGHLIGHT_OVERLAY = "eeg_electrode_next"
LABEL_OVERLAY = "eeg_electrode_labels"
NEUTRAL = "#9e9e9e"
LIFT_MM = 0.4
STATUS_COLORS = {"captured": "#00c853", "interpolated": "#ff9100", "template": "#eceff1",
                 "to touch": "#eceff1", "refused": "#d50000"}
HIGHLIGHT_COLOR = "#ff4081"
FACING_COS = -0.25        # label an electrode while its outward direction is within ~104 deg of the camera
_bar_titles: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()  # view -> bar title


def _scalp(window) -> pv.PolyData:
    head = window.state.head
    if head is None or head.scalp is None:
        raise NavigationError("no head with a scalp surface is loaded: open the patient's T1 first")
    return head.scalp


_lift_cache: "weakref.WeakKeyDictionary[object, tuple[weakref.ref, pv.PolyData]]" = \
    weakref.WeakKeyDictionary()     # view -> (its scalp, the lifted copy): one per head


def _lifted_for(view, scalp: pv.PolyData) -> pv.PolyData:
    """The lifted scalp of this head, built once (normals of a 128 k-triangle scalp: ~60 ms,
    which each repaint of another measure would otherwise pay again)."""
    cached = _lift_cache.get(view)
    if cached is None or cached[0]() is not scalp:
        cached = (weakref.ref(scalp), _lifted(scalp))
        _lift_cache[view] = cached
    return cached[1].copy(deep=False)


def _lifted(scalp: pv.PolyData) -> pv.PolyData:
    """A copy of the scalp moved ``LIFT_MM`` outward (normals oriented away from the centre)."""
    with_normals = scalp.compute_normals(point_normals=True, cell_normals=False,
                                         split_vertices=False, consistent_normals=False)
    normals = np.asarray(with_normals.point_data["Normals"], float)
    pts = np.asarray(scalp.points, float)
    if np.mean(np.einsum("ij,ij->i", normals, pts - pts.mean(axis=0))) < 0:
        normals = -normals
    out = pv.PolyData(pts + LIFT_MM * normals, scalp.faces)
    return out


def show_scalp_map(window, values_per_vertex: np.ndarray, title: str, cmap: str = "RdBu_r",
                   clim: tuple[float, float] | None = None) -> pv.PolyData:
    """Paint ``values_per_vertex`` (one per scalp vertex, NaN = no value) with a colour bar titled
    ``title``. ``clim`` None: symmetric about 0 when the values have both signs (z-scores,
    asymmetries), else their range. Returns the drawn mesh."""
    scalp = _scalp(window)
    values = np.asarray(values_per_vertex, float).reshape(-1)
    if len(values) != scalp.n_points:
        raise NavigationError(f"the map has {len(values)} values but the scalp has {scalp.n_points} "
                              "vertices: it was computed for another head")
    finite = values[np.isfinite(values)]
    if not len(finite):
        raise NavigationError("the map has no value anywhere on the scalp (no electrode positions?)")
    if clim is None:
        lo, hi = float(finite.min()), float(finite.max())
        if lo < 0 < hi:
            lo, hi = -max(-lo, hi), max(-lo, hi)
        clim = (lo, hi if hi > lo else lo + 1e-12)
    view = window.view3d
    clear_scalp_map(window, render=False)
    mesh = _lifted_for(view, scalp)
    mesh.point_data[title] = values
    view.set_overlay(MAP_OVERLAY, mesh, render=False, scalars=title, cmap=cmap, clim=list(clim),
                     nan_color=NEUTRAL, nan_opacity=1.0, smooth_shading=True,
                     scalar_bar_args={"title": title, "vertical": True, "position_x": 0.84,
                                      "position_y": 0.2, "height": 0.55, "width": 0.07,
                                      "fmt": "%.3g", "color": "white", "render": False})
    _bar_titles[view] = title
    view.request_render()
    return mesh


def clear_scalp_map(window, render: bool = True) -> None:
    view = window.view3d
    title = _bar_titles.pop(view, None)
    if title is not None and title in view.plotter.scalar_bars:
        view.plotter.remove_scalar_bar(title, render=False)
    if view.has_overlay(MAP_OVERLAY):
        view.set_overlay(MAP_OVERLAY, None, render=False)
    if render:
        view.request_render()


def _spheres(points: np.ndarray, radius: float) -> pv.PolyData:
    return pv.PolyData(np.asarray(points, float).reshape(-1, 3)).glyph(
        geom=pv.Sphere(radius=radius, theta_resolution=12, phi_resolution=12), scale=False,
        orient=False)


class _FacingLabels:
    """The electrodes' names, only for those on the side of the head facing the camera.

    2-D labels are drawn over everything: a name on the far side of the head would be shown
    over the near side (looking at the left hemisphere, "F4" and "P8" appeared over it in the
    first screenshots: a left-right confusion). Before every render (renderer StartEvent) the
    labels whose outward direction (from the head centre) points away from the camera are
    left out (angle to the camera over ~104 deg, ``FACING_COS``: electrodes on the outline, where
    the outward direction from the centre is only roughly the skin normal, keep their names); the
    spheres themselves are occluded by the head like any 3-D object."""

    def __init__(self, renderer, points: np.ndarray, centre: np.ndarray, texts: list[str]) -> None:
        self.renderer = renderer
        self.points = np.asarray(points, float)
        out = self.points - centre
        self.outward = out / np.maximum(np.linalg.norm(out, axis=1), 1e-9)[:, None]
        self.texts = texts
        self.polydata = vtk.vtkPolyData()
        hierarchy = vtk.vtkPointSetToLabelHierarchy()
        hierarchy.SetInputData(self.polydata)
        hierarchy.SetLabelArrayName("labels")
        prop = hierarchy.GetTextProperty()
        prop.SetFontSize(11)
        prop.SetColor(1.0, 1.0, 1.0)
        prop.SetBold(True)
        prop.SetShadow(True)
        mapper = vtk.vtkLabelPlacementMapper()
        mapper.SetInputConnection(hierarchy.GetOutputPort())
        mapper.SetPlaceAllLabels(True)
        mapper.SetShapeToRoundedRect()
        mapper.SetStyleToFilled()
        mapper.SetBackgroundColor(0.15, 0.2, 0.22)
        mapper.SetBackgroundOpacity(0.6)
        self.hierarchy = hierarchy
        self.actor = vtk.vtkActor2D()
        self.actor.SetMapper(mapper)
        self.actor.SetPickable(False)
        self._camera: tuple[float, ...] | None = None
        self.shown: list[str] = []
        self.update()
        self._tag = renderer.AddObserver("StartEvent", self.update)

    def update(self, *_args: object) -> None:
        camera = tuple(self.renderer.GetActiveCamera().GetPosition())
        if camera == self._camera:
            return
        self._camera = camera
        view = np.asarray(camera) - self.points
        view /= np.maximum(np.linalg.norm(view, axis=1), 1e-9)[:, None]
        facing = np.einsum("ij,ij->i", view, self.outward) > FACING_COS
        vtk_points = vtk.vtkPoints()
        labels = vtk.vtkStringArray()
        labels.SetName("labels")
        self.shown = [t for t, f in zip(self.texts, facing) if f]
        for p, text in zip(self.points[facing], self.shown):
            vtk_points.InsertNextPoint(*p)
            labels.InsertNextValue(text)
        self.polydata.SetPoints(vtk_points)
        self.polydata.GetPointData().Initialize()
        self.polydata.GetPointData().AddArray(labels)
        self.polydata.Modified()

    def detach(self) -> None:
        self.renderer.RemoveObserver(self._tag)


_labels: "weakref.WeakKeyDictionary[object, _FacingLabels]" = weakref.WeakKeyDictionary()


def electrode_labels_shown(window) -> list[str]:
    """The names drawn now (those facing the camera), for tests and the status line."""
    labels = _labels.get(window.view3d)
    return list(labels.shown) if labels is not None else []


def show_electrodes(window, positions_mm: Mapping[str, object], highlight: str | None = None,
                    status: Mapping[str, str] | None = None) -> None:
    """Electrodes as 3 mm spheres coloured by ``status`` (name -> one of ``STATUS_COLORS``;
    default "template"), labelled; ``highlight`` (the one to touch next) larger and pink."""
    view = window.view3d
    names = list(positions_mm)
    if not names:
        clear_electrodes(window)
        return
    pts = np.array([np.asarray(positions_mm[n], float).reshape(3) for n in names])
    kinds = [(status or {}).get(n, "template") for n in names]
    colors = np.array([pv.Color(STATUS_COLORS.get(k, STATUS_COLORS["template"])).int_rgb for k in kinds],
                      dtype=np.uint8)
    cloud = pv.PolyData(pts)
    cloud.point_data["rgb"] = colors
    spheres = cloud.glyph(geom=pv.Sphere(radius=3.0, theta_resolution=12, phi_resolution=12),
                          scale=False, orient=False)
    view.set_overlay(ELECTRODE_OVERLAY, spheres, render=False, scalars="rgb", rgb=True,
                     smooth_shading=True)
    index = names.index(highlight) if highlight in names else None
    view.set_overlay(HIGHLIGHT_OVERLAY, None if index is None else _spheres(pts[index], 5.5),
                     render=False, color=HIGHLIGHT_COLOR, opacity=0.75, smooth_shading=True)
    _detach_labels(view)
    texts = [f"▶ {n}" if i == index else n for i, n in enumerate(names)]
    labels = _FacingLabels(view.plotter.renderer, pts, np.asarray(_scalp(window).center, float), texts)
    _labels[view] = labels
    view.set_overlay_actor(LABEL_OVERLAY, labels.actor)
    view.request_render()


def _detach_labels(view) -> None:
    old = _labels.pop(view, None)
    if old is not None:
        old.detach()


def clear_electrodes(window) -> None:
    view = window.view3d
    for name in (ELECTRODE_OVERLAY, HIGHLIGHT_OVERLAY):
        view.set_overlay(name, None, render=False)
    _detach_labels(view)
    view.set_overlay_actor(LABEL_OVERLAY, None)
    view.request_render()
