"""The targets' name labels in the 3-D view: two VTK label actors, updated in place.

VTK's label placement (``vtkLabelPlacementMapper``) leaves out labels that would overlap one
already placed, and stops once labels cover ``MaximumLabelFraction`` of the view (5 % by
default, which a 450-px view on a laptop reaches with four names). With pyvista's
``add_point_labels`` every label had the same priority, so the one left out could be the
active target's, the one the clinician is about to stimulate (issue 12). So the active target's
label has its own actor: always placed, drawn last (on top), in the active mark's yellow and
reading "ACTIVE: name". The other labels share one actor that may leave some out where they
crowd (the target table lists every name) but may cover up to half the view. Both actors are
built once; each change replaces their points and strings, which costs no actor rebuild.
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


class TargetLabels:
    """The target labels: ``actors`` (others first, active last) to add to a renderer."""

    def __init__(self, font_size: int = 12) -> None:
        self.others = _LabelSet(font_size, (1.0, 1.0, 1.0), place_all=False)
        self.active = _LabelSet(font_size + 2, ACTIVE_TEXT_RGB, place_all=True)
        self.actors = (self.others.actor, self.active.actor)
        self.texts: list[str] = []

    def set_labels(self, points: np.ndarray, names: Sequence[str], active: int | None) -> None:
        """Label ``names[i]`` at ``points[i]`` (mri mm); ``active`` indexes the active one."""
        points = np.asarray(points, float).reshape(-1, 3)
        self.texts = [(ACTIVE_PREFIX + n) if i == active else n for i, n in enumerate(names)]
        rest = [i for i in range(len(names)) if i != active]
        self.others.set(points[rest], [self.texts[i] for i in rest])
        if active is None:
            self.active.set(np.zeros((0, 3)), [])
        else:
            self.active.set(points[[active]], [self.texts[active]])
        self.others.actor.SetVisibility(bool(rest))
        self.active.actor.SetVisibility(active is not None)
