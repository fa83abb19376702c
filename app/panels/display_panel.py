"""Display controls: scalp opacity (reveals the brain), the brain surface (where it came from, its
volume, load one or make one from the template), window/level, radiological convention."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["DisplayPanel"]


class DisplayPanel(QtWidgets.QWidget):
    scalpOpacityChanged = QtCore.Signal(float)
    brainVisibleChanged = QtCore.Signal(bool)
    windowChanged = QtCore.Signal(float, float)   # level, width
    radiologicalChanged = QtCore.Signal(bool)
    viewPresetRequested = QtCore.Signal(str)
    loadBrainRequested = QtCore.Signal()
    templateBrainRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("display_panel")
        self._quiet = False
        form = QtWidgets.QFormLayout(self)

        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setObjectName("scalp_opacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(100)
        self.opacity.setToolTip("Lower the scalp opacity to see the brain surface underneath")
        self.opacity.valueChanged.connect(lambda v: self.scalpOpacityChanged.emit(v / 100.0))
        form.addRow("Scalp opacity", self.opacity)

        self.brain = QtWidgets.QCheckBox("Show brain surface")
        self.brain.setChecked(True)
        self.brain.toggled.connect(self.brainVisibleChanged)
        form.addRow(self.brain)
        self.brain_status = QtWidgets.QLabel("No image")
        self.brain_status.setObjectName("brain_status")
        self.brain_status.setWordWrap(True)
        form.addRow(self.brain_status)
        buttons = QtWidgets.QHBoxLayout()
        self.load_brain = QtWidgets.QPushButton("Load brain surface…")
        self.load_brain.setObjectName("load_brain")
        self.load_brain.setToolTip("FreeSurfer lh.pial + rh.pial, SimNIBS .msh, GIfTI/STL/VTK/PLY/OBJ, or a "
                                   "brain mask / segmentation (NIfTI, MGZ) of this patient")
        self.load_brain.clicked.connect(self.loadBrainRequested)
        self.template_brain = QtWidgets.QPushButton("From the template (MNI)")
        self.template_brain.setObjectName("template_brain")
        self.template_brain.setToolTip("An approximate brain: the MNI152 grey+white matter maps placed on "
                                       "this head by its MNI registration (runs it if needed)")
        self.template_brain.clicked.connect(self.templateBrainRequested)
        buttons.addWidget(self.load_brain)
        buttons.addWidget(self.template_brain)
        form.addRow(buttons)

        # window_level / window_width, not level / width: QWidget.width() is a method
        self.window_level = QtWidgets.QDoubleSpinBox()
        self.window_width = QtWidgets.QDoubleSpinBox()
        for box in (self.window_level, self.window_width):
            box.setRange(-1e6, 1e6)
            box.setDecimals(1)
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._emit_window)
        self.window_width.setMinimum(0.1)
        form.addRow("Window level", self.window_level)
        form.addRow("Window width", self.window_width)
        hint = QtWidgets.QLabel("Right-drag on a slice to change window/level.")
        hint.setStyleSheet("color: grey")
        form.addRow(hint)

        self.radiological = QtWidgets.QCheckBox("Radiological convention (patient right on screen left)")
        self.radiological.toggled.connect(self.radiologicalChanged)
        form.addRow(self.radiological)

        presets = QtWidgets.QHBoxLayout()
        for name in ("front", "left", "right", "top", "back"):
            b = QtWidgets.QPushButton(name.capitalize())
            b.clicked.connect(lambda _=False, n=name: self.viewPresetRequested.emit(n))
            presets.addWidget(b)
        form.addRow("3-D view from", presets)

    def show_brain(self, text: str, tooltip: str = "") -> None:
        """Where the brain surface came from and its volume, as the user should read it."""
        self.brain_status.setText(text)
        self.brain_status.setToolTip(tooltip)
        approximate = "approximate" in text
        self.brain_status.setStyleSheet("color: #b26a00" if approximate else "")

    def set_window(self, level: float, width: float) -> None:
        """Show a window set elsewhere (e.g. by dragging) without echoing it back."""
        self._quiet = True
        self.window_level.setValue(level)
        self.window_width.setValue(width)
        self._quiet = False

    def _emit_window(self) -> None:
        if not self._quiet:
            self.windowChanged.emit(self.window_level.value(), self.window_width.value())
