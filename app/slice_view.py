"""A 2-D slice view (axial, coronal or sagittal) painted with QPainter.

By default the slices are the scanner (RAS) planes: for an oblique image they are resampled for
display only (:mod:`tmsnav.navigation.imaging.display_resample`), so the head is upright and the
edge letters are exact; the button in the corner switches to the image's stored planes. Either
way a pixel maps back to ``mri`` mm exactly through the planes' ``mri_from_display``, so clicks,
targets and registration stay in the image's exact millimetres.
Orientation letters sit on every edge; the radiological convention flips the display, never the
data. Mouse: left click/drag moves the cursor, wheel steps slices, right drag changes
window/level, Ctrl+wheel zooms.

Speed (issue 12: a click took 0.45 s, because ``np.take`` copied the whole re-ordered volume for
every changed plane): planes are views of the voxels (or one resampled plane), a click re-slices
only the planes whose index changed (the grey image is cached per plane, window and flip), the
clicked view repaints its crosshair and markers over its cached image, and the view is opaque so
Qt does not repaint the window behind it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.imaging.display_resample import (
    ALIGNED_TOL_DEG, PLANE_MODES, PlaneMode, SlicePlanes, slice_planes,
)
from tmsnav.navigation.imaging.volume import DisplayGrid

from .slice_labels import Box
from .slice_markers import Marker, paint_markers

__all__ = ["SliceView", "SliceLayer", "Marker", "ORIENTATIONS"]

# orientation -> (horizontal display axis, vertical display axis, slice axis)
ORIENTATIONS = {"axial": (0, 1, 2), "coronal": (0, 2, 1), "sagittal": (1, 2, 0)}
_POS = ("R", "A", "S")
_NEG = ("L", "P", "I")


class SliceLayer(Protocol):
    """A named layer painted over the grey slice, under the cursor and markers (e.g. a functional
    map); it reads the view's ``planes``, ``s_axis``, ``slice_index`` and :meth:`SliceView.image_rect`."""

    def paint(self, p: QtGui.QPainter, view: "SliceView") -> None: ...


class SliceView(QtWidgets.QWidget):
    cursorPicked = QtCore.Signal(object)       # np.ndarray (3,) mri mm
    windowChanged = QtCore.Signal(float, float)  # level, width
    planeModeChanged = QtCore.Signal(str)      # the user switched "scanner" <-> "stored"

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
        # paintEvent fills every pixel: Qt need not repaint the window behind the view first
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._grid: DisplayGrid | None = None
        self._planes: SlicePlanes | None = None
        self._mode: PlaneMode = "scanner"
        self._cursor_mri = np.zeros(3)
        self._cursor_display = np.zeros(3)
        self._slice = 0
        self._level, self._width = 0.5, 1.0
        self._radiological = False
        self._zoom = 1.0
        self._image: QtGui.QImage | None = None
        self._image_key: tuple | None = None
        self._markers: list[Marker] = []
        self._layers: dict[str, SliceLayer] = {}
        self._wl_drag: tuple[QtCore.QPointF, float, float] | None = None
        #: (label, widget rectangle) of the marker labels drawn by the last paint (tests read it)
        self.label_rects: list[tuple[str, QtCore.QRectF]] = []
        self.mode_button = QtWidgets.QToolButton(self)
        self.mode_button.setObjectName(f"slice_mode_{orientation}")
        self.mode_button.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.mode_button.setStyleSheet(
            "QToolButton { color: #e0e0e0; background: rgba(40, 40, 40, 200); border: 1px solid #777;"
            " border-radius: 3px; padding: 1px 5px; font-size: 11px; }")
        self.mode_button.clicked.connect(self._toggle_mode)
        self.mode_button.move(4, 4)
        self.mode_button.hide()

    # ----- data ---------------------------------------------------------------------------
    def set_grid(self, grid: DisplayGrid, level: float, width: float) -> None:
        """Show a :class:`DisplayGrid`; ``level``/``width`` set the grey-scale window."""
        self._grid = grid
        self._planes = slice_planes(grid, self._mode)
        self._level, self._width = float(level), max(float(width), 1e-6)
        self._image_key = None
        self._update_mode_button()
        shape = np.asarray(grid.data.shape)
        self.set_cursor(np.asarray(grid.display_to_mri((shape - 1) / 2.0)))

    def clear(self) -> None:
        self._grid, self._planes, self._image, self._image_key = None, None, None, None
        self.mode_button.hide()
        self.update()

    @property
    def plane_mode(self) -> PlaneMode:
        """"scanner" (RAS planes, resampled for display if the image is oblique) or "stored"."""
        return self._mode

    @property
    def planes(self) -> SlicePlanes | None:
        return self._planes

    def set_plane_mode(self, mode: str) -> None:
        """Show the scanner (RAS) planes or the image's stored planes; the cursor stays put in mm."""
        if mode not in PLANE_MODES:
            raise ValueError(f"plane mode must be one of {PLANE_MODES}, got {mode!r}")
        if mode == self._mode:
            return
        self._mode = "scanner" if mode == "scanner" else "stored"
        if self._grid is not None:
            self._planes = slice_planes(self._grid, self._mode)
            self._image_key = None
            self._update_mode_button()
            self.set_cursor(self._cursor_mri)

    def _toggle_mode(self) -> None:
        new = "stored" if self._mode == "scanner" else "scanner"
        self.set_plane_mode(new)
        self.planeModeChanged.emit(new)

    def _update_mode_button(self) -> None:
        planes = self._planes
        oblique = planes is not None and planes.obliquity_deg >= ALIGNED_TOL_DEG
        self.mode_button.setVisible(oblique)
        if planes is None or not oblique:
            return
        self._set_mode_button_text()
        other = "stored" if self._mode == "scanner" else "scanner"
        self.mode_button.setToolTip(
            f"The image is stored {planes.obliquity_deg:.1f}° oblique. Showing the "
            + ("scanner planes (resampled for display only; clicks and targets use exact mm)."
               if self._mode == "scanner" else
               "stored planes: the edge letters are the nearest directions.")
            + f" Click to show the {other} planes.")

    def _set_mode_button_text(self) -> None:
        """The full text ("Stored planes, 20° oblique") when it fits left of the top edge
        letter, else the short one ("Stored 20°")."""
        planes = self._planes
        if planes is None:
            return
        tilt = f"{planes.obliquity_deg:.0f}°"
        full = "Scanner planes ▾" if self._mode == "scanner" else f"Stored planes, {tilt} oblique ▾"
        short = "Scanner ▾" if self._mode == "scanner" else f"Stored {tilt} ▾"
        room = self.width() / 2 - 20
        for text in (full, short):
            self.mode_button.setText(text)
            self.mode_button.adjustSize()
            if self.mode_button.width() <= room:
                break

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self._planes is not None:
            self._set_mode_button_text()

    def set_cursor(self, mri_mm: np.ndarray) -> None:
        self._cursor_mri = np.asarray(mri_mm, float).reshape(3).copy()
        if self._planes is None:
            return
        d = np.asarray(self._planes.mri_to_display(self._cursor_mri), float)
        self._cursor_display = d
        n = self._planes.shape[self.s_axis]
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

    def set_layer(self, name: str, layer: SliceLayer | None) -> None:
        """Add, replace (or with None remove) a named layer drawn over the image."""
        if layer is None:
            self._layers.pop(name, None)
        else:
            self._layers[name] = layer
        self.update()

    @property
    def slice_index(self) -> int:
        return self._slice

    def image_rect(self) -> QtCore.QRectF:
        """Where the slice image is drawn (widget px); a layer draws its plane image here."""
        x0, y0, _, w_px, h_px = self._layout()
        return QtCore.QRectF(x0, y0, w_px, h_px)

    def plane_rows(self, plane: np.ndarray) -> np.ndarray:
        """A plane indexed ``[h, v, ...]`` in the drawn image's row order (top row first,
        mirrored as the view is), contiguous: what a layer turns into a QImage."""
        rows = np.swapaxes(plane, 0, 1)[::-1]
        return np.ascontiguousarray(rows[:, ::-1] if self._flip_h() else rows)

    # ----- geometry -----------------------------------------------------------------------
    @property
    def _loaded(self) -> SlicePlanes:
        """The planes shown; geometry and painting run only once an image is set."""
        if self._planes is None:
            raise RuntimeError("no image in this slice view")
        return self._planes

    def _flip_h(self) -> bool:
        # Axial/coronal: patient right on the screen's right (neurological) unless radiological.
        # Sagittal: anterior on the left (viewer at the patient's left side).
        if self.orientation == "sagittal":
            return True
        return self._radiological

    def edge_letters(self) -> dict[str, str]:
        """The orientation letters drawn on the left, right, top and bottom edges."""
        h, v = self.h_axis, self.v_axis
        left, right = (_POS[h], _NEG[h]) if self._flip_h() else (_NEG[h], _POS[h])
        return {"left": left, "right": right, "top": _POS[v], "bottom": _NEG[v]}

    def reserved_boxes(self) -> list[Box]:
        """Areas marker labels must not cover: the edge letters, the slice number, the mode button."""
        w, h = float(self.width()), float(self.height())
        boxes = [Box(0, h / 2 - 11, 22, 22), Box(w - 20, h / 2 - 11, 20, 22),   # left, right letters
                 Box(w / 2 - 11, 0, 22, 22), Box(w / 2 - 11, h - 22, 22, 22),   # top, bottom letters
                 Box(0, h - 20, max(0.0, w / 2 - 14), 20)]                      # "axial 12/256"
        if self.mode_button.isVisible():
            g = self.mode_button.geometry()
            boxes.append(Box(g.x(), g.y(), g.width() + 2, g.height() + 2))
        return boxes

    def _layout(self) -> tuple[float, float, float, float, float]:
        """(x0, y0, pixels per mm, image width px, image height px)."""
        planes = self._loaded
        shape, spacing = planes.shape, planes.spacing_mm
        w_mm = shape[self.h_axis] * spacing[self.h_axis]
        h_mm = shape[self.v_axis] * spacing[self.v_axis]
        s = min(self.width() / w_mm, self.height() / h_mm) * self._zoom
        w_px, h_px = w_mm * s, h_mm * s
        return (self.width() - w_px) / 2.0, (self.height() - h_px) / 2.0, s, w_px, h_px

    def display_to_widget(self, d: np.ndarray) -> QtCore.QPointF:
        """Screen position of continuous display coordinates ``d`` (3,) of the shown planes."""
        x0, y0, s, _, _ = self._layout()
        planes = self._loaded
        shape, spacing = planes.shape, planes.spacing_mm
        u, v = float(d[self.h_axis]), float(d[self.v_axis])
        nh, nv = shape[self.h_axis], shape[self.v_axis]
        hu = (nh - 0.5 - u) if self._flip_h() else (u + 0.5)
        x = x0 + hu * spacing[self.h_axis] * s
        y = y0 + (nv - 0.5 - v) * spacing[self.v_axis] * s
        return QtCore.QPointF(x, y)

    def widget_to_display(self, pos: QtCore.QPointF) -> np.ndarray:
        x0, y0, s, _, _ = self._layout()
        planes = self._loaded
        shape, spacing = planes.shape, planes.spacing_mm
        nh, nv = shape[self.h_axis], shape[self.v_axis]
        hu = (pos.x() - x0) / (spacing[self.h_axis] * s)
        u = (nh - 0.5 - hu) if self._flip_h() else (hu - 0.5)
        v = nv - 0.5 - (pos.y() - y0) / (spacing[self.v_axis] * s)
        d = np.array(self._cursor_display, float)
        d[self.h_axis], d[self.v_axis], d[self.s_axis] = u, v, self._slice
        return d

    def mri_to_widget(self, mri_mm: np.ndarray) -> QtCore.QPointF:
        return self.display_to_widget(np.asarray(self._loaded.mri_to_display(np.asarray(mri_mm, float))))

    def widget_to_mri(self, pos: QtCore.QPointF) -> np.ndarray:
        """The mri mm point under widget position ``pos`` on the shown slice."""
        return np.asarray(self._loaded.display_to_mri(self.widget_to_display(pos)), float)

    # ----- painting -----------------------------------------------------------------------
    def _slice_image(self) -> QtGui.QImage:
        planes = self._loaded
        key = (id(planes), self._slice, self._level, self._width, self._flip_h())
        if self._image is not None and self._image_key == key:
            return self._image
        plane = planes.plane(self.s_axis, self._slice)  # [h, v]; NaN outside the field of view
        lo = self._level - self._width / 2.0
        scaled = (plane.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / self._width)
        grey = np.nan_to_num(np.clip(scaled, 0, 255), nan=0.0).astype(np.uint8)
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
        if self._planes is None:
            p.setPen(QtGui.QColor("#888"))
            p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, f"{self.orientation}\n(no image)")
            self.label_rects = []
            return
        x0, y0, _, w_px, h_px = self._layout()
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(QtCore.QRectF(x0, y0, w_px, h_px), self._slice_image())
        for layer in list(self._layers.values()):
            layer.paint(p, self)
        self._paint_cursor(p)
        self.label_rects = paint_markers(p, self, self._markers)
        self._paint_labels(p)
        p.end()

    def marker_offsets_mm(self, marker: Marker) -> tuple[np.ndarray, float]:
        """(display coordinates, distance in mm from the shown slice) of a marker."""
        planes = self._loaded
        d = np.asarray(planes.mri_to_display(np.asarray(marker.mri_mm, float)))
        return d, float(abs(d[self.s_axis] - self._slice) * planes.spacing_mm[self.s_axis])

    def _paint_cursor(self, p: QtGui.QPainter) -> None:
        c = self.display_to_widget(self._cursor_display)
        pen = QtGui.QPen(QtGui.QColor(0, 255, 0, 170), 1)
        p.setPen(pen)
        gap = 6
        p.drawLine(QtCore.QPointF(0, c.y()), QtCore.QPointF(c.x() - gap, c.y()))
        p.drawLine(QtCore.QPointF(c.x() + gap, c.y()), QtCore.QPointF(self.width(), c.y()))
        p.drawLine(QtCore.QPointF(c.x(), 0), QtCore.QPointF(c.x(), c.y() - gap))
        p.drawLine(QtCore.QPointF(c.x(), c.y() + gap), QtCore.QPointF(c.x(), self.height()))

    def _paint_labels(self, p: QtGui.QPainter) -> None:
        font = p.font()
        font.setBold(True)
        font.setPointSize(11)
        p.setFont(font)
        p.setPen(QtGui.QColor("#ffd24d"))
        letters = self.edge_letters()
        w, hh = self.width(), self.height()
        p.drawText(QtCore.QRectF(4, 0, 20, hh), QtCore.Qt.AlignmentFlag.AlignVCenter, letters["left"])
        p.drawText(QtCore.QRectF(w - 18, 0, 18, hh), QtCore.Qt.AlignmentFlag.AlignVCenter, letters["right"])
        p.drawText(QtCore.QRectF(0, 2, w, 18), QtCore.Qt.AlignmentFlag.AlignHCenter, letters["top"])
        p.drawText(QtCore.QRectF(0, hh - 20, w, 18), QtCore.Qt.AlignmentFlag.AlignHCenter, letters["bottom"])
        font.setBold(False)
        font.setPointSize(9)
        p.setFont(font)
        p.setPen(QtGui.QColor("#bbbbbb"))
        n = self._loaded.shape[self.s_axis]
        # left of the bottom edge letter, never under it (a long text is elided, not overlapped)
        room = max(0, int(w / 2 - 20))
        info = p.fontMetrics().elidedText(f"{self.orientation}  {self._slice + 1}/{n}",
                                          QtCore.Qt.TextElideMode.ElideRight, room)
        p.drawText(QtCore.QPointF(6, hh - 6), info)

    # ----- interaction --------------------------------------------------------------------
    def _emit_cursor_at(self, pos: QtCore.QPointF) -> None:
        d = self.widget_to_display(pos)
        shape = np.asarray(self._loaded.shape) - 1
        d = np.clip(d, 0, shape)
        self.cursorPicked.emit(np.asarray(self._loaded.display_to_mri(d), float))

    def click_at(self, pos: QtCore.QPointF) -> None:
        """Same as a left click at widget position ``pos`` (tests and keyboard use it)."""
        if self._planes is not None:
            self._emit_cursor_at(pos)

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        if self._planes is None:
            return
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self._emit_cursor_at(ev.position())
        elif ev.button() == QtCore.Qt.MouseButton.RightButton:
            self._wl_drag = (ev.position(), self._level, self._width)

    def mouseMoveEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        if self._planes is None:
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
        if self._planes is None:
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
        if self._planes is None or steps == 0:
            return
        d = np.array(self._cursor_display, float)
        n = self._planes.shape[self.s_axis]
        d[self.s_axis] = float(np.clip(self._slice + steps, 0, n - 1))
        self.cursorPicked.emit(np.asarray(self._planes.display_to_mri(d), float))
