"""Overlay controls: map / search region / cluster toggles, |r| threshold, opacity, and the colour
bar (with its unit) that the slices share with the 3-D view's bar."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .overlay_slices import BAR_TITLE, OverlaySettings, colour_lut

__all__ = ["OverlayBox", "ColourBar"]


class ColourBar(QtWidgets.QWidget):
    """A horizontal diverging colour bar from -limit to +limit with its unit underneath."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fmri_colour_bar")
        self.limit = 0.5
        self.threshold = 0.1
        lut = colour_lut()
        self._image = QtGui.QImage(np.ascontiguousarray(lut[None, :, :]).data, 256, 1, 256 * 4,
                                   QtGui.QImage.Format.Format_RGBA8888).copy()
        self.setMinimumHeight(46)

    def set_scale(self, limit: float, threshold: float) -> None:
        self.limit, self.threshold = float(limit), float(threshold)
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QtGui.QPainter(self)
        w = self.width() - 16
        bar = QtCore.QRectF(8, 2, w, 14)
        p.drawImage(bar, self._image)
        if self.threshold > 0:            # the clear band: |r| under the threshold is not coloured
            half = w / 2 * min(1.0, self.threshold / max(self.limit, 1e-9))
            p.fillRect(QtCore.QRectF(8 + w / 2 - half, 2, 2 * half, 14), QtGui.QColor(128, 128, 128, 200))
        p.setPen(self.palette().color(QtGui.QPalette.ColorRole.WindowText))
        for frac, text in ((0.0, f"{-self.limit:+.2f}"), (0.5, "0"), (1.0, f"{self.limit:+.2f}")):
            x = 8 + frac * w
            p.drawText(QtCore.QRectF(x - 30, 17, 60, 14), QtCore.Qt.AlignmentFlag.AlignCenter, text)
        p.drawText(QtCore.QRectF(0, 31, self.width(), 14), QtCore.Qt.AlignmentFlag.AlignCenter, BAR_TITLE)
        p.end()


class OverlayBox(QtWidgets.QGroupBox):
    changed = QtCore.Signal(object)     # OverlaySettings

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Overlay", parent)
        self.setObjectName("fmri_overlay")
        form = QtWidgets.QFormLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.show_map = QtWidgets.QCheckBox("Map")
        self.show_search = QtWidgets.QCheckBox("Search region")
        self.show_cluster = QtWidgets.QCheckBox("Cluster")
        for box, name in ((self.show_map, "fmri_show_map"), (self.show_search, "fmri_show_search"),
                          (self.show_cluster, "fmri_show_cluster")):
            box.setObjectName(name)
            box.setChecked(True)
            box.toggled.connect(self._emit)
            row.addWidget(box)
        form.addRow(row)
        self.threshold = QtWidgets.QDoubleSpinBox()
        self.threshold.setObjectName("fmri_threshold")
        self.threshold.setRange(0.0, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(OverlaySettings().threshold)
        self.threshold.setToolTip("Voxels with |r| below this are not coloured")
        self.threshold.valueChanged.connect(self._emit)
        form.addRow("Threshold |r|", self.threshold)
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setObjectName("fmri_opacity")
        self.opacity.setRange(5, 100)
        self.opacity.setValue(int(round(100 * OverlaySettings().opacity)))
        self.opacity.valueChanged.connect(self._emit)
        form.addRow("Opacity", self.opacity)
        self.bar = ColourBar()
        form.addRow(self.bar)
        legend = QtWidgets.QLabel("Blue: anticorrelated with the sgACC (the target); white outline: "
                                  "search region; yellow: cluster; orange balls: split-half targets.")
        legend.setWordWrap(True)
        form.addRow(legend)
        self.setEnabled(False)

    def settings(self) -> OverlaySettings:
        return OverlaySettings(threshold=float(self.threshold.value()), opacity=self.opacity.value() / 100.0,
                               show_map=self.show_map.isChecked(), show_search=self.show_search.isChecked(),
                               show_cluster=self.show_cluster.isChecked())

    def set_limit(self, limit: float) -> None:
        self.bar.set_scale(limit, self.threshold.value())

    def _emit(self, *_: object) -> None:
        self.bar.set_scale(self.bar.limit, self.threshold.value())
        self.changed.emit(self.settings())
