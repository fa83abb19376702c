"""The targets' name labels in the 3-D view: two VTK label actors, updated in place.

VTK's label placement (``vtkLabelPlacementMapper``) leaves out labels that would overlap one
already placed, and stops once labels cover ``MaximumLabelFraction`` of the view (5 % by
default, which a 450-px view on a laptop reaches with four names). With pyvista's
``add_point_labels`` every label had the same priority, so the one left out could be the
active target's, the one the clinician is about to stimulate (issue 12). So the active target's
label has its own actor: a text drawn last (on top), in the active mark's yellow, reading
"ACTIVE: name", placed beside its target before every render and moved inward when it would
run past an edge of the view (a long name near the right edge was cut). The other labels share
one actor that may leave some out where they crowd (the target table lists every name) but
may cover up to half the view. The actors are built once; each change replaces their points
and strings, which costs no actor rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import vtk

__all__ = ["TargetLabels", "ACTIVE_PREFIX", "ACTIVE_TEXT_RGB", "MAX_LABEL_FRACTION"]

ACTIVE_PREFIX = "ACTIVE: "
ACTIVE_TEXT_RGB = (1.0, 0.92, 0.23)   # #ffeb3b, the active ring's yellow
MAX_LABEL_FRACTION = 0.5              # the other labels may cover half the view


class _LabelSet:
    """Labels at points, one style, placed by VTK without overlaps (or all, ``place_all``)."""

    def __init__(self, font_size: int, rgb: tuple[float, float, float], place_all: bool) -> None:
        self.polydata = vtk.vtkPolyData()
        self.set(np.zeros((0, 3)), [])
        hierarchy = vtk.vtkPointSetToLabelHierarchy()
        hierarchy.SetInputData(self.polydata)
        hierarchy.SetLabelArrayName("labels")
        text = hierarchy.GetTextProperty()
        text.SetFontSize(font_size)
        text.SetColor(*rgb)
        text.SetBold(True)
        text.SetShadow(True)
        mapper = vtk.vtkLabelPlacementMapper()
        mapper.SetInputConnection(hierarchy.GetOutputPort())
        mapper.SetShapeToRoundedRect()
        mapper.SetStyleToFilled()
        mapper.SetBackgroundColor(0.15, 0.2, 0.22)
        mapper.SetBackgroundOpacity(0.85 if place_all else 0.6)
        mapper.SetMargin(3)
        mapper.SetMaximumLabelFraction(MAX_LABEL_FRACTION)
        mapper.SetPlaceAllLabels(place_all)
        self.hierarchy, self.mapper = hierarchy, mapper
        self.actor = vtk.vtkActor2D()
        self.actor.SetMapper(mapper)
        self.actor.SetPickable(False)

    def set(self, points: np.ndarray, texts: Sequence[str]) -> None:
        vtk_points = vtk.vtkPoints()
        for p in np.asarray(points, float).reshape(-1, 3):
            vtk_points.InsertNextPoint(*p)
        labels = vtk.vtkStringArray()
        labels.SetName("labels")
        for text in texts:
            labels.InsertNextValue(text)
        self.polydata.SetPoints(vtk_points)
        self.polydata.GetPointData().Initialize()
        self.polydata.GetPointData().AddArray(labels)
        self.polydata.Modified()


class _ActiveLabel:
    """The active target's label: a 2-D text kept whole inside the view (see the module doc)."""

    MARGIN_PX = 4
    OFFSET_PX = 10           # right of and above the anchor, as the other labels

    def __init__(self, font_size: int) -> None:
        self.actor = vtk.vtkTextActor()
        prop = self.actor.GetTextProperty()
        prop.SetFontSize(font_size)
        prop.SetColor(*ACTIVE_TEXT_RGB)
        prop.SetBold(True)
        prop.SetShadow(True)
        prop.SetBackgroundColor(0.15, 0.2, 0.22)
        prop.SetBackgroundOpacity(0.85)
        prop.SetVerticalJustificationToBottom()
        self.actor.SetPickable(False)
        self.anchor: np.ndarray | None = None

    def set(self, anchor: np.ndarray | None, text: str) -> None:
        self.anchor = None if anchor is None else np.asarray(anchor, float).reshape(3)
        self.actor.SetInput(text)
        self.actor.SetVisibility(anchor is not None)

    def place(self, renderer: vtk.vtkRenderer) -> None:
        """Beside the anchor's screen position, shifted inward to fit the viewport."""
        if self.anchor is None:
            return
        renderer.SetWorldPoint(*self.anchor, 1.0)
        renderer.WorldToDisplay()
        x, y, _ = renderer.GetDisplayPoint()
        bbox = [0.0] * 4
        self.actor.GetBoundingBox(renderer, bbox)
        width, height = bbox[1] - bbox[0], bbox[3] - bbox[2]
        x0, y0 = renderer.GetOrigin()
        w, h = renderer.GetSize()
        m = self.MARGIN_PX
        px = min(max(x + self.OFFSET_PX, x0 + m), x0 + w - width - m)
        py = min(max(y + self.OFFSET_PX, y0 + m), y0 + h - height - m)
        self.actor.SetDisplayPosition(int(round(max(px, x0 + m))), int(round(max(py, y0 + m))))


class TargetLabels:
    """The target labels: ``actors`` (others first, active last) to add to a renderer, and
    :meth:`attach` to that renderer so the active label is placed before each render."""

    def __init__(self, font_size: int = 12) -> None:
        self.others = _LabelSet(font_size, (1.0, 1.0, 1.0), place_all=False)
        self.active = _ActiveLabel(font_size + 2)
        self.actors = (self.others.actor, self.active.actor)
        self.texts: list[str] = []

    def attach(self, renderer: vtk.vtkRenderer) -> None:
        renderer.AddObserver("StartEvent", lambda *_: self.active.place(renderer))

    def set_labels(self, points: np.ndarray, names: Sequence[str], active: int | None) -> None:
        """Label ``names[i]`` at ``points[i]`` (mri mm); ``active`` indexes the active one."""
        points = np.asarray(points, float).reshape(-1, 3)
        self.texts = [(ACTIVE_PREFIX + n) if i == active else n for i, n in enumerate(names)]
        rest = [i for i in range(len(names)) if i != active]
        self.others.set(points[rest], [self.texts[i] for i in rest])
        self.active.set(None if active is None else points[active], "" if active is None else self.texts[active])
        self.others.actor.SetVisibility(bool(rest))
