"""A bullseye: where the coil's hotspot is relative to the target, seen from OUTSIDE the head.

The centre is the target; the dot is the hotspot's in-plane offset; the rings are the distance
tolerance and twice it; a tick from the dot shows where the coil's handle points now. The dot is
drawn only when the error comes from live data: otherwise the widget says why and shows no
position.

Which way is up is a choice (:data:`HANDLE_UP` or :data:`ANTERIOR_UP`); which way is right is
not: the picture is what the operator sees looking at the coil from outside the head, i.e. a
camera looking along the target's +z (into the head), so screen right = forward × up. The target
frame is right-handed with x = y × z (docs/design.md), so with the handle up the target's +x is
on the screen's LEFT. An earlier version drew +x on the right: a mirror image, in which moving the
coil towards the dot's side moved it away from the target. In anatomical orientation the patient's
anterior is up and, for any target above the ears, the patient's right is on the screen's right,
so the drawing agrees with the "Anterior (+)" and "Right (+)" numbers
(:func:`tmsnav.navigation.guidance.anatomical_axes`). The A/P/R/L letters on the outer ring are drawn
at the true projected directions in both orientations, so the handle-up view still says where
anterior is.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.guidance import GuidanceError, Tolerance

__all__ = ["Bullseye", "ANTERIOR_UP", "HANDLE_UP", "screen_axes"]

ON_TARGET = QtGui.QColor("#2e7d32")
NEAR = QtGui.QColor("#f9a825")
OFF = QtGui.QColor("#c62828")
#: Brighter versions of the three states for the black chairside background (contrast >= 7:1).
BRIGHT = {ON_TARGET.name(): QtGui.QColor("#69f0ae"), NEAR.name(): QtGui.QColor("#ffd740"),
          OFF.name(): QtGui.QColor("#ff6e6e")}

HANDLE_UP = "handle"        # the coil's handle up: the picture turns with the planned handle
ANTERIOR_UP = "anatomical"  # the patient's anterior up: agrees with the anterior/right numbers


def screen_axes(up_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, up) unit vectors, in target x/y coordinates, of the screen seen from outside.

    The camera looks along the target's +z (into the head) with ``up_xy`` up; screen right is
    forward × up = z × up = (-up_y, up_x). Dot products of a target-plane offset with them give
    the screen position (mm right of and above the centre).
    """
    up = np.asarray(up_xy, float)[:2]
    up = up / np.linalg.norm(up)
    return np.array([-up[1], up[0]]), up


class Bullseye(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None, range_mm: float = 15.0) -> None:
        super().__init__(parent)
        self.setObjectName("bullseye")
        self.setMinimumSize(220, 220)
        self.range_mm = range_mm
        self.tolerance = Tolerance()
        self.error: GuidanceError | None = None
        self.message = "no target"
        self.orientation = ANTERIOR_UP
        #: The patient's anterior and right directions in target x/y (anatomical_axes of the
        #: active target); None until a target is set: anatomical mode then falls back to handle up.
        self.anterior_xy: np.ndarray | None = None
        self.right_xy: np.ndarray | None = None
        self.high_contrast = False      # the chairside layout: black, bright colours, big text

    # ----- state ----------------------------------------------------------------------------
    def show_error(self, error: GuidanceError | None, message: str = "") -> None:
        self.error = error
        self.message = message
        self.update()

    def set_orientation(self, orientation: str) -> None:
        if orientation not in (HANDLE_UP, ANTERIOR_UP):
            raise ValueError(f"bullseye orientation must be {HANDLE_UP!r} or {ANTERIOR_UP!r}")
        self.orientation = orientation
        self.update()

    def set_anatomical_axes(self, anterior_xy: np.ndarray | None, right_xy: np.ndarray | None) -> None:
        self.anterior_xy = None if anterior_xy is None else np.asarray(anterior_xy, float)[:2]
        self.right_xy = None if right_xy is None else np.asarray(right_xy, float)[:2]
        self.update()

    def up_xy(self) -> np.ndarray:
        """The target-plane direction drawn up now."""
        if self.orientation == ANTERIOR_UP and self.anterior_xy is not None:
            return self.anterior_xy
        return np.array([0.0, 1.0])

    def colour(self) -> QtGui.QColor:
        e = self.error
        if e is None:
            return QtGui.QColor("#9e9e9e")
        if e.on_target(self.tolerance):
            colour = ON_TARGET
        else:
            near = Tolerance(self.tolerance.distance_mm * 2, self.tolerance.depth_mm * 2,
                             self.tolerance.tilt_rad * 2, self.tolerance.twist_rad * 2)
            colour = NEAR if e.on_target(near) else OFF
        return BRIGHT[colour.name()] if self.high_contrast else colour

    # ----- geometry (shared by painting and tests) ----------------------------------------
    def _frame(self) -> tuple[QtCore.QPointF, float, float]:
        side = min(self.width(), self.height()) - 2 * self._margin()
        centre = QtCore.QPointF(self.width() / 2, self.height() / 2)
        return centre, side, side / 2 / self.range_mm

    def _margin(self) -> float:
        return max(20.0, 1.6 * self._letter_font().pixelSize())

    def _letter_font(self) -> QtGui.QFont:
        font = QtGui.QFont(self.font())
        side = min(self.width(), self.height())
        font.setPixelSize(int(max(12, min(28, side / 22))))
        font.setBold(True)
        return font

    def to_widget(self, xy_mm: np.ndarray) -> QtCore.QPointF:
        """Widget position of a target-plane point (mm in target x/y), clipped to the outer ring."""
        centre, _side, px_per_mm = self._frame()
        right, up = screen_axes(self.up_xy())
        sx, sy = float(np.asarray(xy_mm)[:2] @ right), float(np.asarray(xy_mm)[:2] @ up)
        r = np.hypot(sx, sy)
        if r > self.range_mm:
            sx, sy = sx * self.range_mm / r, sy * self.range_mm / r
        return QtCore.QPointF(centre.x() + sx * px_per_mm, centre.y() - sy * px_per_mm)

    def dot_position(self) -> QtCore.QPointF | None:
        """Where the hotspot dot is drawn, or None when no live error is shown."""
        if self.error is None:
            return None
        return self.to_widget(np.array([self.error.offset_x_mm, self.error.offset_y_mm]))

    # ----- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor("#000000" if self.high_contrast else "#10141c"))
        centre, side, px_per_mm = self._frame()
        ring = QtGui.QColor("#90a4ae" if self.high_contrast else "#455a64")
        p.setPen(QtGui.QPen(ring, 2 if self.high_contrast else 1))
        for r_mm in (self.tolerance.distance_mm, 2 * self.tolerance.distance_mm, self.range_mm):
            r = r_mm * px_per_mm
            p.drawEllipse(centre, r, r)
        p.drawLine(QtCore.QPointF(centre.x() - side / 2, centre.y()),
                   QtCore.QPointF(centre.x() + side / 2, centre.y()))
        p.drawLine(QtCore.QPointF(centre.x(), centre.y() - side / 2),
                   QtCore.QPointF(centre.x(), centre.y() + side / 2))
        self._paint_direction_letters(p)
        e = self.error
        if e is None:
            p.setPen(QtGui.QColor("#ffd740" if self.high_contrast else "#ffb74d"))
            font = QtGui.QFont(self.font())
            font.setPixelSize(int(max(14, min(40, min(self.width(), self.height()) / 14))))
            font.setBold(True)
            p.setFont(font)
            box = self.rect().adjusted(12, 0, -12, 0)     # long reasons wrap, never clipped
            p.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignCenter
                                | QtCore.Qt.TextFlag.TextWordWrap), self.message or "—")
            return
        dot = self.to_widget(np.array([e.offset_x_mm, e.offset_y_mm]))
        colour = self.colour()
        # the coil's handle now: its direction in target x/y is (-sin twist, cos twist)
        right, up = screen_axes(self.up_xy())
        handle = np.array([-np.sin(e.twist_rad), np.cos(e.twist_rad)])
        scale = max(1.0, side / 200.0)
        tick = 18.0 * scale
        tip = QtCore.QPointF(dot.x() + tick * float(handle @ right), dot.y() - tick * float(handle @ up))
        p.setPen(QtGui.QPen(colour, 3 * scale))
        p.drawLine(dot, tip)
        p.setBrush(QtGui.QBrush(colour))
        p.drawEllipse(dot, 7 * scale, 7 * scale)

    def letter_directions(self) -> dict[str, np.ndarray]:
        """Screen directions (unit (right, up)) of the "handle" mark and the A/P/R/L letters: the
        planned handle and the patient's directions projected on the scalp, seen from outside."""
        right, up = screen_axes(self.up_xy())
        xy = {"handle": np.array([0.0, 1.0])}
        if self.anterior_xy is not None and self.right_xy is not None:
            a, b = self.anterior_xy, self.right_xy
            xy.update({"A": a, "P": -a, "R": b, "L": -b})
        out = {}
        for text, v in xy.items():
            d = np.array([float(v @ right), float(v @ up)])
            out[text] = d / max(float(np.linalg.norm(d)), 1e-9)
        return out

    def _paint_direction_letters(self, p: QtGui.QPainter) -> None:
        """A/P/R/L outside the outer ring; "handle" small, inside it (:meth:`letter_directions`)."""
        centre, side, _ = self._frame()
        font = self._letter_font()
        metrics = QtGui.QFontMetricsF(font)
        small = QtGui.QFont(self.font())
        small.setPixelSize(max(11, int(font.pixelSize() * 0.55)))
        small_metrics = QtGui.QFontMetricsF(small)
        radius = side / 2 + 0.75 * font.pixelSize()
        for text, d in self.letter_directions().items():
            if text == "handle":
                p.setFont(small)
                p.setPen(QtGui.QColor("#90a4ae"))
                w, h = small_metrics.horizontalAdvance(text), small_metrics.capHeight()
                pos = QtCore.QPointF(centre.x() + d[0] * (side / 2 - 0.6 * w - 4) - w / 2,
                                     centre.y() - d[1] * (side / 2 - h - 4) + h / 2)
            else:
                p.setFont(font)
                p.setPen(QtGui.QColor("#ffffff"))
                w, h = metrics.horizontalAdvance(text), metrics.capHeight()
                pos = QtCore.QPointF(centre.x() + d[0] * radius - w / 2,
                                     centre.y() - d[1] * radius + h / 2)
            p.drawText(pos, text)
