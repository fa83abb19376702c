"""A small line plot of the field at the target against the handle angle (QPainter, no extra
dependency): the current handle at 0 deg, the best angle marked."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["AnglePlot"]


class AnglePlot(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("angle_plot")
        self.setMinimumHeight(120)
        self.angles_deg = np.zeros(0)
        self.values = np.zeros(0)
        self.best_deg: float | None = None

    def set_curve(self, angles_rad: np.ndarray | None, values: np.ndarray | None,
                  best_rad: float | None) -> None:
        """Angles relative to the current handle (radians); shown in degrees, -180..180."""
        if angles_rad is None or values is None or len(angles_rad) == 0:
            self.angles_deg, self.values, self.best_deg = np.zeros(0), np.zeros(0), None
        else:
            deg = (np.rad2deg(np.asarray(angles_rad, float)) + 180.0) % 360.0 - 180.0
            order = np.argsort(deg)
            self.angles_deg, self.values = deg[order], np.asarray(values, float)[order]
            self.best_deg = None if best_rad is None else float(np.rad2deg(best_rad))
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), QtGui.QColor("#fafafa"))
        left, right, top, bottom = 42, 8, 8, 20
        w, h = self.width() - left - right, self.height() - top - bottom
        p.setPen(QtGui.QColor("#999"))
        p.drawRect(left, top, w, h)
        if len(self.values) < 2 or w < 10 or h < 10:
            p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter,
                       "field vs handle angle (compute the field)")
            p.end()
            return
        lo, hi = float(self.values.min()), float(self.values.max())
        if hi - lo < 1e-9 * max(abs(hi), 1.0):
            lo, hi = lo - 1.0, hi + 1.0

        def xy(a: float, v: float) -> QtCore.QPointF:
            return QtCore.QPointF(left + (a + 180.0) / 360.0 * w, top + (hi - v) / (hi - lo) * h)

        p.setPen(QtGui.QPen(QtGui.QColor("#bbb"), 1, QtCore.Qt.PenStyle.DashLine))
        p.drawLine(xy(0.0, hi), xy(0.0, lo))                         # current handle
        if self.best_deg is not None:
            p.setPen(QtGui.QPen(QtGui.QColor("#2e7d32"), 1.5, QtCore.Qt.PenStyle.DashLine))
            p.drawLine(xy(self.best_deg, hi), xy(self.best_deg, lo))
        p.setPen(QtGui.QPen(QtGui.QColor("#1565c0"), 2))
        p.drawPolyline(QtGui.QPolygonF([xy(a, v) for a, v in zip(self.angles_deg, self.values)]))
        p.setPen(QtGui.QColor("#333"))
        font = p.font()
        font.setPointSize(7)
        p.setFont(font)
        decimals = int(np.clip(np.ceil(-np.log10(max(hi - lo, 1e-9))) + 1, 0, 3))
        p.drawText(QtCore.QRectF(0, top - 4, left - 3, 12), QtCore.Qt.AlignmentFlag.AlignRight, f"{hi:.{decimals}f}")
        p.drawText(QtCore.QRectF(0, top + h - 8, left - 3, 12), QtCore.Qt.AlignmentFlag.AlignRight,
                   f"{lo:.{decimals}f}")
        p.drawText(QtCore.QRectF(0, top + h / 2 - 6, left - 3, 12), QtCore.Qt.AlignmentFlag.AlignRight, "V/m")
        for a in (-180, -90, 0, 90, 180):
            pt = xy(float(a), lo)
            p.drawText(QtCore.QRectF(pt.x() - 20, top + h + 3, 40, 12),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, f"{a:+d}°" if a else "0° (now)")
        p.end()
