"""The large chairside view: the guidance numbers readable from 2 m, and a large bullseye.

Why 48 pixels. A character is comfortably legible when it subtends about 20 minutes of arc
(ISO 9241-303 recommends 20-22 arcmin for character height, 16 as the minimum; the Snellen 6/6
letter is 5 arcmin). At 2 m, 20 arcmin is 2000 mm x tan(20/60 deg) = 11.6 mm. A 15.6" 1366x768
laptop panel has 0.253 mm pixels (a 14" one 0.227 mm), so 11.6 mm is 46 pixels (51 on the 14"):
the digits here are at least 48 pixels high at 1366x768 (12.1 mm, 21 arcmin on the 15.6" panel,
18.7 on the 14" one, above the 16-arcmin minimum); as laid out they are 70 pixels (30 arcmin), and
they follow the window's size (tests/app/test_chairside_layout.py measures the rendered pixels).
White and bright state colours on black give a contrast ratio >= 7:1 (WCAG AAA) under room light;
the on-target state is also written as text, never shown by colour alone.

The numbers are those of the Navigate tab (:class:`tmsnav.app.panels.guidance_panel.GuidancePanel`
sends every update through ``guidanceChanged``); "—" whenever the panel shows no live value, with
the reason in large text in the bullseye.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.clinic_settings import DISTANCE_UNITS, format_distance
from tmsnav.navigation.guidance import GuidanceError, Tolerance

from .bullseye import Bullseye

__all__ = ["ChairsideView", "MIN_DIGIT_PX"]

DASH = "—"
MIN_DIGIT_PX = 48              # digit height at 1366x768: 2 m reading distance (see above)
#: what format_value can give at its widest (|v| >= 100 has no decimal): each must fit a tile
WIDEST_VALUES = ("+88.8", "-88.8", "+888", "<-999", ">999")
#: key, caption (unit included: the big value is the number alone)
NUMBERS = (("in_plane", "Distance on scalp, mm"), ("tilt", "Tilt, °"),
           ("anterior", "Anterior (+) / posterior, mm"), ("right", "Right (+) / left, mm"))
WIDEST_PULSES = "Pulses 88888   On target 100 %"   # the widest pulse line (set_pulses)
NUMBERS_FRACTION = 0.42        # of the width, for the numbers' column (the bullseye has the rest)


def format_value(value: float, signed: bool) -> str:
    """One decimal up to 99.9, whole numbers to 999, beyond that ">999" / "<-999" (a coil on the
    table): the text never outgrows the width the tile was sized for (:data:`WIDEST_VALUES`)."""
    if abs(value) < 99.95:
        return f"{value:+.1f}" if signed else f"{value:.1f}"
    if abs(value) < 999.5:
        return f"{value:+.0f}" if signed else f"{value:.0f}"
    return ">999" if value > 0 or not signed else "<-999"


class ChairsideView(QtWidgets.QWidget):
    exitRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chairside_view")
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor("#000000"))
        pal.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor("#ffffff"))
        self.setPalette(pal)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(10, 6, 10, 6)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        self.target_label = self._label("chairside_target", "No active target", wrap=True)
        grid.addWidget(self.target_label, 0, 0, 1, 2)
        self.bullseye = Bullseye()
        self.bullseye.high_contrast = True
        self.bullseye.setMinimumSize(160, 160)
        grid.addWidget(self.bullseye, 1, 0)

        column = QtWidgets.QVBoxLayout()
        column.setSpacing(0)
        self.captions: dict[str, QtWidgets.QLabel] = {}
        self.values: dict[str, QtWidgets.QLabel] = {}
        for key, caption in NUMBERS:
            self.captions[key] = self._label(f"chairside_caption_{key}", caption, wrap=True)
            self.values[key] = self._label(f"chairside_{key}", DASH)
            column.addWidget(self.captions[key])
            column.addWidget(self.values[key])
            column.addStretch(1)
        grid.addLayout(column, 1, 1)
        self.state_label = self._label("chairside_state", "", wrap=True)
        self.state_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.state_label, 2, 0)
        self.small_label = self._label("chairside_depth_twist", "", wrap=True)
        grid.addWidget(self.small_label, 2, 1)
        # Treatment tab counters (pulses, % on target), shown once a pulse is logged
        self.pulse_label = self._label("chairside_pulses", "")
        self.pulse_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.pulse_label.hide()
        grid.addWidget(self.pulse_label, 3, 0, 1, 2)
        self.exit_button = QtWidgets.QPushButton("Normal layout (Ctrl+L)")
        self.exit_button.setObjectName("chairside_exit")
        self.exit_button.clicked.connect(self.exitRequested)
        grid.addWidget(self.exit_button, 4, 0, 1, 2)
        grid.setColumnStretch(0, round(100 * (1 - NUMBERS_FRACTION)))
        grid.setColumnStretch(1, round(100 * NUMBERS_FRACTION))
        grid.setRowStretch(1, 1)
        self._value_colour = "#ffffff"
        self._latest: tuple[GuidanceError | None, str] = (None, "no target")
        self.distance_unit = "mm"
        for label in (self.target_label, self.small_label, *self.captions.values()):
            label.setStyleSheet("color: #e0e0e0" if label in self.captions.values() else "color: #ffffff")
        self._show_small(DASH, DASH)
        self._apply_fonts()

    @staticmethod
    def _label(name: str, text: str, wrap: bool = False) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setObjectName(name)
        label.setWordWrap(wrap)
        # fonts follow the size (resizeEvent): a label's text must not push the width back
        label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                            QtWidgets.QSizePolicy.Policy.Preferred)
        label.setMinimumWidth(1)
        return label

    # ----- content ------------------------------------------------------------------------
    def set_distance_unit(self, unit: str) -> None:
        """Distances in "mm" or "cm" (clinic settings): the captions name the unit."""
        self.distance_unit = unit if unit in DISTANCE_UNITS else "mm"
        for key, caption in NUMBERS:
            self.captions[key].setText(caption.replace(", mm", f", {self.distance_unit}"))
        self._show(*self._latest)

    def _distance(self, mm: float, signed: bool) -> str:
        value = mm / DISTANCE_UNITS[self.distance_unit]
        if self.distance_unit != "mm" and abs(value) < 9.995:     # 0.1 mm as in mm, same width
            return f"{value:+.2f}" if signed else f"{value:.2f}"
        return format_value(value, signed)

    def set_target(self, name: str | None) -> None:
        self.target_label.setText(f"Target: {name}" if name else "No active target (add one in Planning)")

    def set_tolerance(self, tolerance: Tolerance) -> None:
        self.bullseye.tolerance = tolerance
        self.bullseye.update()

    def show_error(self, err: GuidanceError | None, reason: str = "") -> None:
        """The same error (or its absence and why) as the Navigate tab shows. While the view is
        hidden only the latest is kept (no relayout per tracker frame); showing applies it."""
        self._latest = (err, reason)
        if self.isVisible():
            self._show(err, reason)

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self._show(*self._latest)

    def _show(self, err: GuidanceError | None, reason: str) -> None:
        self.bullseye.show_error(err, reason)
        if err is None:
            for key, _ in NUMBERS:
                self.values[key].setText(DASH)
            self._value_colour = "#ffffff"
            self.state_label.setText("")
            self._show_small(DASH, DASH)
        else:
            self.values["in_plane"].setText(self._distance(err.in_plane_mm, signed=False))
            self.values["tilt"].setText(format_value(np.rad2deg(err.tilt_rad), signed=False))
            self.values["anterior"].setText(self._distance(err.anterior_mm, signed=True))
            self.values["right"].setText(self._distance(err.right_mm, signed=True))
            self._value_colour = self.bullseye.colour().name()
            on = err.on_target(self.bullseye.tolerance)
            self.state_label.setText("ON TARGET" if on else "not on target")
            self._show_small(format_distance(err.depth_mm, self.distance_unit, signed=True),
                             f"{np.rad2deg(err.twist_rad):+.1f}°")
        self._apply_colours()

    def set_pulses(self, n: int, on_target_pct: float | None) -> None:
        """The Treatment tab's counters in large text (hidden until the first pulse)."""
        pct = DASH if on_target_pct is None else f"{on_target_pct:.0f} %"
        text = f"Pulses {n}   On target {pct}" if n else ""
        if text != self.pulse_label.text():
            shown = not self.pulse_label.isHidden()
            self.pulse_label.setText(text)
            self.pulse_label.setVisible(bool(text))
            if shown != bool(text):
                self._apply_fonts()           # the numbers give up the line's height

    def _show_small(self, depth: str, twist: str) -> None:
        self.small_label.setText(f"Depth (+ pressing in) {depth}\nHandle twist {twist}")

    # ----- sizes --------------------------------------------------------------------------
    def value_font(self) -> QtGui.QFont:
        return self.values["in_plane"].font()

    def digit_height_px(self) -> float:
        """Height of a digit glyph in the big values (what a reader at 2 m resolves)."""
        return QtGui.QFontMetricsF(self.value_font()).tightBoundingRect("8").height()

    def _value_pixel_size(self) -> int:
        """Largest size at which the widest value fits the numbers' column and the four values
        with their captions fit the height left by the target name and the bottom rows."""
        font = QtGui.QFont(self.font())
        font.setBold(True)
        font.setPixelSize(100)
        metrics = QtGui.QFontMetricsF(font)
        em_width = max(metrics.horizontalAdvance(text) for text in WIDEST_VALUES) / 100.0
        column = (self.width() - 20 - 12) * NUMBERS_FRACTION - 2
        by_width = column / em_width
        pulses = 0 if self.pulse_label.isHidden() else self.pulse_label.sizeHint().height() + 4
        by_height = ((self.height() - 150 - pulses) / 4 - 26) / 1.2
        return int(max(16, min(120, by_width, by_height)))

    def _pulse_pixel_size(self, value_px: int) -> int:
        """The pulse line as large as the widest text it can show fits the view's width."""
        font = self._font(100, bold=True)
        em_width = QtGui.QFontMetricsF(font).horizontalAdvance(WIDEST_PULSES) / 100.0
        return int(max(14, min(value_px * 0.8, (self.width() - 24) / em_width)))

    def _apply_fonts(self) -> None:
        size = self._value_pixel_size()
        caption_px = int(max(12, min(22, size / 4.0)))
        for key, _ in NUMBERS:
            self.values[key].setFont(self._font(size, bold=True))
            self.captions[key].setFont(self._font(caption_px))
        self.target_label.setFont(self._font(max(14, min(24, caption_px + 2)), bold=True))
        self.small_label.setFont(self._font(max(12, min(22, caption_px)), bold=True))
        self.state_label.setFont(self._font(int(max(14, min(36, size / 2.6))), bold=True))
        self.pulse_label.setFont(self._font(self._pulse_pixel_size(size), bold=True))
        self._apply_colours()

    def _font(self, pixel_size: int, bold: bool = False) -> QtGui.QFont:
        font = QtGui.QFont(self.font())
        font.setPixelSize(int(pixel_size))
        font.setBold(bold)
        return font

    def _apply_colours(self) -> None:
        """Text colours by palette (a style sheet per tracker frame would re-polish each time)."""
        for label, colour in ((self.values["in_plane"], self._value_colour),
                              (self.values["tilt"], "#ffffff"), (self.values["anterior"], "#ffffff"),
                              (self.values["right"], "#ffffff"), (self.state_label, self._value_colour),
                              (self.pulse_label, "#ffffff")):
            pal = label.palette()
            if pal.color(QtGui.QPalette.ColorRole.WindowText).name() != colour:
                pal.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(colour))
                label.setPalette(pal)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._apply_fonts()
