"""A bullseye: where the coil's hotspot is relative to the target, seen from outside the head.

The centre is the target; the dot is the hotspot's in-plane offset (target x right, handle y up);
the rings are the distance tolerance and twice it; a tick shows the handle twist. The dot is drawn
only when the error comes from live data: otherwise the widget says why and shows no position.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.guidance import GuidanceError, Tolerance

__all__ = ["Bullseye"]

ON_TARGET = QtGui.QColor("#2e7d32")
NEAR = QtGui.QColor("#f9a825")
OFF = QtGui.QColor("#c62828")


class Bullseye(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None, range_mm: float = 15.0) -> None:
        super().__init__(parent)
        self.setObjectName("bullseye")
        self.setMinimumSize(220, 220)
        self.range_mm = range_mm
        self.tolerance = Tolerance()
        self.error: GuidanceError | None = None
        self.message = "no target"

    def show_error(self, error: GuidanceError | None, message: str = "") -> None:
        self.error = error
        self.message = message
        self.update()

    def colour(self) -> QtGui.QColor:
        e = self.error
        if e is None:
            return QtGui.QColor("#9e9e9e")
        if e.on_target(self.tolerance):
            return ON_TARGET
        near = Tolerance(self.tolerance.distance_mm * 2, self.tolerance.depth_mm * 2,
                         self.tolerance.tilt_rad * 2, self.tolerance.twist_rad * 2)
        return NEAR if e.on_target(near) else OFF

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor("#10141c"))
        side = min(self.width(), self.height()) - 20
        centre = QtCore.QPointF(self.width() / 2, self.height() / 2)
        px_per_mm = side / 2 / self.range_mm
        p.setPen(QtGui.QPen(QtGui.QColor("#455a64"), 1))
        for r_mm in (self.tolerance.distance_mm, 2 * self.tolerance.distance_mm, self.range_mm):
            r = r_mm * px_per_mm
            p.drawEllipse(centre, r, r)
        p.drawLine(QtCore.QPointF(centre.x() - side / 2, centre.y()),
                   QtCore.QPointF(centre.x() + side / 2, centre.y()))
        p.drawLine(QtCore.QPointF(centre.x(), centre.y() - side / 2),
                   QtCore.QPointF(centre.x(), centre.y() + side / 2))
        p.setPen(QtGui.QColor("#90a4ae"))
        p.drawText(QtCore.QPointF(centre.x() + 4, centre.y() - side / 2 + 12), "handle")
        e = self.error
        if e is None:
            p.setPen(QtGui.QColor("#ffb74d"))
            font = p.font()
            font.setPointSize(12)
            font.setBold(True)
            p.setFont(font)
            box = self.rect().adjusted(12, 0, -12, 0)     # long reasons wrap, never clipped
            p.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignCenter
                                | QtCore.Qt.TextFlag.TextWordWrap), self.message or "—")
            return
        x = float(np.clip(e.offset_x_mm, -self.range_mm, self.range_mm))
        y = float(np.clip(e.offset_y_mm, -self.range_mm, self.range_mm))
        dot = QtCore.QPointF(centre.x() + x * px_per_mm, centre.y() - y * px_per_mm)
        colour = self.colour()
        # handle direction of the coil now: a tick rotated by the twist
        tick = 18.0
        tx, ty = -np.sin(e.twist_rad) * tick, np.cos(e.twist_rad) * tick
        p.setPen(QtGui.QPen(colour, 3))
        p.drawLine(dot, QtCore.QPointF(dot.x() + tx, dot.y() - ty))
        p.setBrush(QtGui.QBrush(colour))
        p.drawEllipse(dot, 7, 7)
