"""A 2-D slice view (axial, coronal or sagittal) of the display grid, painted with QPainter.

Slices come from :class:`tmsnav.navigation.imaging.volume.DisplayGrid` (the image's voxels re-ordered toward
RAS, never resampled), so a pixel maps back to ``mri`` mm exactly through ``mri_from_display``.
Orientation letters sit on every edge; the radiological convention flips the display, never the data.
Mouse: left click/drag moves the cursor, wheel steps slices, right drag changes window/level,
Ctrl+wheel zooms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.imaging.volume import DisplayGrid

__all__ = ["SliceView", "Marker", "ORIENTATIONS"]

# orientation -> (horizontal display axis, vertical display axis, slice axis)
ORIENTATIONS = {"axial": (0, 1, 2), "coronal": (0, 2, 1), "sagittal": (1, 2, 0)}
_POS = ("R", "A", "S")
_NEG = ("L", "P", "I")


@dataclass(frozen=True)
class Marker:
    """A point drawn on the slices: fiducial, target, pointer tip..."""

    mri_mm: tuple[float, float, float]
    color: str
    label: str = ""
    live: bool = True          # False: drawn hollow and grey (e.g. stale tracker data)


class SliceView(QtWidgets.QWidget):
    cursorPicked = QtCore.Signal(object)       # np.ndarray (3,) mri mm
    windowChanged = QtCore.Signal(float, float)  # level, width

    def __init__(self, orientation: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        if orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {list(ORIENTATIONS)}")
        self.orientation = orientation
        self.h_axis, self.v_axis, self.s_axis = ORIENTATIONS[orientation]
        self.setObjectName(f"slice_{orientation}")
        self.setMinimumSize(160, 160)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self._grid: DisplayGrid | None = None
        self._spacing = np.ones(3)
        self._cursor_display = np.zeros(3)
        self._slice = 0
        self._level, self._width = 0.5, 1.0
        self._radiological = False
        self._zoom = 1.0
        self._image: QtGui.QImage | None = None
        self._image_key: tuple | None = None
        self._markers: list[Marker] = []
        self._wl_drag: tuple[QtCore.QPointF, float, float] | None = None

    # ----- data ---------------------------------------------------------------------------
    def set_grid(self, grid, level: float, width: float) -> None:
        """Show a :class:`DisplayGrid`; ``level``/``width`` set the grey-scale window."""
        self._grid = grid
        lin = np.asarray(grid.mri_from_display.matrix)[:3, :3]
        self._spacing = np.linalg.norm(lin, axis=0)
        self._level, self._width = float(level), max(float(width), 1e-6)
        self._image_key = None
        shape = np.asarray(grid.data.shape)
        self.set_cursor(np.asarray(grid.display_to_mri((shape - 1) / 2.0)))

    def clear(self) -> None:
        self._grid, self._image, self._image_key = None, None, None
        self.update()

    def set_cursor(self, mri_mm: np.ndarray) -> None:
        if self._grid is None:
            return
        d = np.asarray(self._grid.mri_to_display(np.asarray(mri_mm, float)), float)
        self._cursor_display = d
        n = self._grid.data.shape[self.s_axis]
        self._slice = int(np.clip(np.round(d[self.s_axis]), 0, n - 1))
        self.update()

    def set_window(self, level: float, width: float) -> None:
        self._level, self._width = float(level), max(float(width), 1e-6)
        self._image_key = None
        self.update()

    def set_radiological(self, on: bool) -> None:
        self._radiological = bool(on)
        self.update()

    def set_markers(self, markers: list[Marker]) -> None:
        self._markers = list(markers)
        self.update()

    @property
    def slice_index(self) -> int:
        return self._slice

    # ----- geometry -----------------------------------------------------------------------
    @property
    def _loaded(self) -> DisplayGrid:
        """The grid shown; geometry and painting run only once an image is set."""
        if self._grid is None:
            raise RuntimeError("no image in this slice view")
        return self._grid

    def _flip_h(self) -> bool:
        # Axial/coronal: patient right on the screen's right (neurological) unless radiological.
        # Sagittal: anterior on the left (viewer at the patient's left side).
        if self.orientation == "sagittal":
            return True
        return self._radiological

    def _layout(self) -> tuple[float, float, float, float, float]:
        """(x0, y0, pixels per mm, image width px, image height px)."""
        shape = self._loaded.data.shape
        w_mm = shape[self.h_axis] * self._spacing[self.h_axis]
        h_mm = shape[self.v_axis] * self._spacing[self.v_axis]
        s = min(self.width() / w_mm, self.height() / h_mm) * self._zoom
        w_px, h_px = w_mm * s, h_mm * s
        return (self.width() - w_px) / 2.0, (self.height() - h_px) / 2.0, s, w_px, h_px

    def display_to_widget(self, d: np.ndarray) -> QtCore.QPointF:
        """Screen position of continuous display-voxel coordinates ``d`` (3,)."""
        x0, y0, s, _, _ = self._layout()
        shape = self._loaded.data.shape
        u, v = float(d[self.h_axis]), float(d[self.v_axis])
        nh, nv = shape[self.h_axis], shape[self.v_axis]
        hu = (nh - 0.5 - u) if self._flip_h() else (u + 0.5)
        x = x0 + hu * self._spacing[self.h_axis] * s
        y = y0 + (nv - 0.5 - v) * self._spacing[self.v_axis] * s
        return QtCore.QPointF(x, y)

    def widget_to_display(self, pos: QtCore.QPointF) -> np.ndarray:
        x0, y0, s, _, _ = self._layout()
        shape = self._loaded.data.shape
        nh, nv = shape[self.h_axis], shape[self.v_axis]
        hu = (pos.x() - x0) / (self._spacing[self.h_axis] * s)
        u = (nh - 0.5 - hu) if self._flip_h() else (hu - 0.5)
        v = nv - 0.5 - (pos.y() - y0) / (self._spacing[self.v_axis] * s)
        d = np.array(self._cursor_display, float)
        d[self.h_axis], d[self.v_axis], d[self.s_axis] = u, v, self._slice
        return d

    def mri_to_widget(self, mri_mm: np.ndarray) -> QtCore.QPointF:
        return self.display_to_widget(np.asarray(self._loaded.mri_to_display(np.asarray(mri_mm, float))))

    # ----- painting -----------------------------------------------------------------------
    def _slice_image(self) -> QtGui.QImage:
        key = (self._slice, self._level, self._width, self._flip_h(), id(self._grid))
        if self._image is not None and self._image_key == key:
            return self._image
        plane = np.take(self._loaded.data, self._slice, axis=self.s_axis)  # [h, v]
        lo = self._level - self._width / 2.0
        grey = np.clip((plane.astype(np.float32) - lo) * (255.0 / self._width), 0, 255).astype(np.uint8)
        rows = grey.T[::-1, :]  # row 0 = top = highest v
        if self._flip_h():
            rows = rows[:, ::-1]
        rows = np.ascontiguousarray(rows)
        img = QtGui.QImage(rows.data, rows.shape[1], rows.shape[0], rows.strides[0],
                           QtGui.QImage.Format.Format_Grayscale8).copy()
        self._image, self._image_key = img, key
        return img

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor("black"))
        if self._grid is None:
            p.setPen(QtGui.QColor("#888"))
            p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, f"{self.orientation}\n(no image)")
            return
        x0, y0, _, w_px, h_px = self._layout()
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(QtCore.QRectF(x0, y0, w_px, h_px), self._slice_image())
        self._paint_cursor(p)
        self._paint_markers(p)
        self._paint_labels(p)
        p.end()

    def _paint_cursor(self, p: QtGui.QPainter) -> None:
        c = self.display_to_widget(self._cursor_display)
        pen = QtGui.QPen(QtGui.QColor(0, 255, 0, 170), 1)
        p.setPen(pen)
        gap = 6
        p.drawLine(QtCore.QPointF(0, c.y()), QtCore.QPointF(c.x() - gap, c.y()))
        p.drawLine(QtCore.QPointF(c.x() + gap, c.y()), QtCore.QPointF(self.width(), c.y()))
        p.drawLine(QtCore.QPointF(c.x(), 0), QtCore.QPointF(c.x(), c.y() - gap))
        p.drawLine(QtCore.QPointF(c.x(), c.y() + gap), QtCore.QPointF(c.x(), self.height()))

    def _paint_markers(self, p: QtGui.QPainter) -> None:
        for m in self._markers:
            d = np.asarray(self._loaded.mri_to_display(np.asarray(m.mri_mm, float)))
            off_mm = abs(d[self.s_axis] - self._slice) * self._spacing[self.s_axis]
            if off_mm > 10.0:
                continue
            pt = self.display_to_widget(d)
            color = QtGui.QColor(m.color if m.live else "#888888")
            radius = 5.0 if off_mm < 2.0 else 3.0  # smaller when the point is off this slice
            p.setPen(QtGui.QPen(color, 2))
            p.setBrush(QtGui.QBrush(color) if m.live and off_mm < 2.0 else QtCore.Qt.BrushStyle.NoBrush)
            p.drawEllipse(pt, radius, radius)
            if m.label:
                p.drawText(pt + QtCore.QPointF(7, -7), m.label)

    def _paint_labels(self, p: QtGui.QPainter) -> None:
        font = p.font()
        font.setBold(True)
        font.setPointSize(11)
        p.setFont(font)
        p.setPen(QtGui.QColor("#ffd24d"))
        h, v = self.h_axis, self.v_axis
        left, right = (_POS[h], _NEG[h]) if self._flip_h() else (_NEG[h], _POS[h])
        w, hh = self.width(), self.height()
        p.drawText(QtCore.QRectF(4, 0, 20, hh), QtCore.Qt.AlignmentFlag.AlignVCenter, left)
        p.drawText(QtCore.QRectF(w - 18, 0, 18, hh), QtCore.Qt.AlignmentFlag.AlignVCenter, right)
        p.drawText(QtCore.QRectF(0, 2, w, 18), QtCore.Qt.AlignmentFlag.AlignHCenter, _POS[v])
        p.drawText(QtCore.QRectF(0, hh - 20, w, 18), QtCore.Qt.AlignmentFlag.AlignHCenter, _NEG[v])
        font.setBold(False)
        font.setPointSize(9)
        p.setFont(font)
        p.setPen(QtGui.QColor("#bbbbbb"))
        n = self._loaded.data.shape[self.s_axis]
        p.drawText(QtCore.QPointF(6, hh - 6), f"{self.orientation}  {self._slice + 1}/{n}")

    # ----- interaction --------------------------------------------------------------------
    def _emit_cursor_at(self, pos: QtCore.QPointF) -> None:
        d = self.widget_to_display(pos)
        shape = np.asarray(self._loaded.data.shape) - 1
        d = np.clip(d, 0, shape)
        self.cursorPicked.emit(np.asarray(self._loaded.display_to_mri(d), float))

    def click_at(self, pos: QtCore.QPointF) -> None:
        """Same as a left click at widget position ``pos`` (tests and keyboard use it)."""
        if self._grid is not None:
            self._emit_cursor_at(pos)

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        if self._grid is None:
            return
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self._emit_cursor_at(ev.position())
        elif ev.button() == QtCore.Qt.MouseButton.RightButton:
            self._wl_drag = (ev.position(), self._level, self._width)

    def mouseMoveEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        if self._grid is None:
            return
        if ev.buttons() & QtCore.Qt.MouseButton.LeftButton:
            self._emit_cursor_at(ev.position())
        elif self._wl_drag is not None:
            start, level, width = self._wl_drag
            dx, dy = ev.position().x() - start.x(), ev.position().y() - start.y()
            new_width = max(1e-3, width * float(np.exp(dx / 200.0)))
            new_level = level - dy * width / 300.0
            self.set_window(new_level, new_width)
            self.windowChanged.emit(new_level, new_width)

    def mouseReleaseEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._wl_drag = None

    def wheelEvent(self, ev: QtGui.QWheelEvent) -> None:  # noqa: N802
        if self._grid is None:
            return
        steps = int(np.sign(ev.angleDelta().y()))
        if ev.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier:
            self._zoom = float(np.clip(self._zoom * (1.15 ** steps), 0.5, 8.0))
            self.update()
        else:
            self.step_slice(steps)

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802
        keys: dict[int, int] = {QtCore.Qt.Key.Key_Up: 1, QtCore.Qt.Key.Key_PageUp: 1,
                QtCore.Qt.Key.Key_Down: -1, QtCore.Qt.Key.Key_PageDown: -1}
        if ev.key() in keys:
            self.step_slice(keys[ev.key()])
        else:
            super().keyPressEvent(ev)

    def step_slice(self, steps: int) -> None:
        if self._grid is None or steps == 0:
            return
        d = np.array(self._cursor_display, float)
        n = self._grid.data.shape[self.s_axis]
        d[self.s_axis] = float(np.clip(self._slice + steps, 0, n - 1))
        self.cursorPicked.emit(np.asarray(self._grid.display_to_mri(d), float))
