"""Markers on a slice (fiducials, targets, the pointer tip) and their decluttered labels.

A marker within 2 mm of the shown slice is a filled dot; up to 10 mm away it is a small ring
(it is off this slice); farther, it is not drawn. Labels go through
:func:`~tmsnav.app.slice_labels.place_labels` so that no two overlap and none hides another
dot; a label moved away from its dot gets a thin leader line. Each label sits on a dark box so
it reads over bright tissue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PySide6 import QtCore, QtGui

from .slice_labels import Box, place_labels

__all__ = ["Marker", "paint_markers", "ON_SLICE_MM", "NEAR_SLICE_MM"]

ON_SLICE_MM = 2.0     # closer than this: drawn as on the slice (filled, full size)
NEAR_SLICE_MM = 10.0  # farther than this: not drawn on this slice
_LABEL_PAD = 2.0


@dataclass(frozen=True)
class Marker:
    """A point drawn on the slices: fiducial, target, pointer tip..."""

    mri_mm: tuple[float, float, float]
    color: str
    label: str = ""
    live: bool = True          # False: drawn hollow and grey (e.g. stale tracker data)


class MarkerCanvas(Protocol):
    """What painting markers needs from a slice view (:class:`tmsnav.app.slice_view.SliceView`);
    a protocol, so this module does not import the view that imports it."""

    def marker_offsets_mm(self, marker: Marker) -> tuple[np.ndarray, float]: ...
    def display_to_widget(self, d: np.ndarray) -> QtCore.QPointF: ...
    def reserved_boxes(self) -> list[Box]: ...
    def width(self) -> int: ...
    def height(self) -> int: ...


def paint_markers(p: QtGui.QPainter, view: MarkerCanvas,
                  markers: list[Marker]) -> list[tuple[str, QtCore.QRectF]]:
    """Draw ``markers`` on ``view``; returns the (label, rectangle) of every label drawn."""
    shown: list[tuple[Marker, QtCore.QPointF, float]] = []
    for m in markers:
        d, off_mm = view.marker_offsets_mm(m)
        if off_mm > NEAR_SLICE_MM:
            continue
        pt = view.display_to_widget(d)
        radius = 5.0 if off_mm < ON_SLICE_MM else 3.0  # smaller when the point is off this slice
        color = QtGui.QColor(m.color if m.live else "#888888")
        p.setPen(QtGui.QPen(color, 2))
        p.setBrush(QtGui.QBrush(color) if m.live and off_mm < ON_SLICE_MM else QtCore.Qt.BrushStyle.NoBrush)
        p.drawEllipse(pt, radius, radius)
        shown.append((m, pt, radius))
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    labelled = [(m, pt) for m, pt, _ in shown if m.label]
    if not labelled:
        return []
    font = QtGui.QFont(p.font())
    font.setPointSize(9)
    font.setBold(True)
    p.setFont(font)
    metrics = QtGui.QFontMetricsF(font)
    sizes = [(metrics.horizontalAdvance(m.label) + 2 * _LABEL_PAD, metrics.height()) for m, _ in labelled]
    # every dot on the slice is an obstacle for the labels, labelled or not
    anchors = [(pt.x(), pt.y()) for m, pt in labelled]
    others = [(pt.x(), pt.y()) for m, pt, _ in shown if not m.label]
    placements = place_labels(anchors, sizes, Box(0.0, 0.0, float(view.width()), float(view.height())),
                              obstacles=others, blocked=view.reserved_boxes())
    rects: list[tuple[str, QtCore.QRectF]] = []
    for (m, pt), place in zip(labelled, placements):
        b = place.box
        rect = QtCore.QRectF(b.x, b.y, b.w, b.h)
        color = QtGui.QColor(m.color if m.live else "#888888")
        if place.leader:
            end = b.nearest_point(pt.x(), pt.y())
            p.setPen(QtGui.QPen(color, 1))
            p.drawLine(pt, QtCore.QPointF(*end))
        p.fillRect(rect, QtGui.QColor(0, 0, 0, 170))
        p.setPen(color)
        p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, m.label)
        rects.append((m.label, rect))
    return rects
