"""The e-field group: stimulator output and the (approximate) dI/dt at 100 %, the numbers at the
active target, and the handle-angle curve with "apply best angle". Degrees only here."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.targeting.efield import DEFAULT_DIDT_AT_100_PERCENT_A_PER_S, EfieldResult
from tmsnav.navigation.targeting.orientation import OrientationResult

from .angle_plot import AnglePlot
from .method_forms import compact

__all__ = ["EfieldBox", "DASH", "FLAT_FRACTION", "OBJECTIVES"]

DASH = "—"
FLAT_FRACTION = 0.01   # a curve varying less than this: the handle angle does not matter
OBJECTIVES = (("magnitude", "|E| at the target"),
              ("normal", "E along the cortical normal (column model)"))


class EfieldBox(QtWidgets.QGroupBox):
    computeRequested = QtCore.Signal()
    applyAngleRequested = QtCore.Signal()
    mapVisibleChanged = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("E-field at the active target", parent)
        self.setObjectName("efield_box")
        layout = QtWidgets.QVBoxLayout(self)
        model = QtWidgets.QLabel("Spherical head estimate for planning, not dosimetry (docs/efield.md).")
        model.setWordWrap(True)
        model.setStyleSheet("color: #666")
        layout.addWidget(model)
        form = QtWidgets.QFormLayout()
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.addLayout(form)
        self.coil = QtWidgets.QLabel("generic 70 mm figure-8")
        self.coil.setObjectName("efield_coil")
        self.coil.setWordWrap(True)
        form.addRow("Coil", self.coil)
        self.output = QtWidgets.QDoubleSpinBox()
        self.output.setObjectName("efield_output")
        self.output.setRange(1.0, 100.0)
        self.output.setValue(60.0)
        self.output.setSuffix(" % MSO")
        self.output.setMaximumWidth(130)
        form.addRow("Stimulator output", self.output)
        self.didt = QtWidgets.QDoubleSpinBox()
        self.didt.setObjectName("efield_didt")
        self.didt.setRange(1.0, 1000.0)
        self.didt.setValue(DEFAULT_DIDT_AT_100_PERCENT_A_PER_S / 1e6)
        self.didt.setSuffix(" A/µs")
        self.didt.setToolTip("Peak dI/dt of your stimulator + coil at 100 % output: APPROXIMATE. "
                             "Roughly 70-170 A/µs for common 70 mm figure-8 set-ups; enter your "
                             "device's value when known. Field values scale with it.")
        self.didt.setMaximumWidth(130)
        form.addRow("dI/dt at 100 % ≈", self.didt)
        approx = QtWidgets.QLabel("approximate: enter your stimulator's value when known")
        approx.setStyleSheet("color: #666")
        approx.setWordWrap(True)
        form.addRow(approx)
        self.compute = QtWidgets.QPushButton("Compute field at the active target")
        self.compute.setObjectName("efield_compute")
        self.compute.clicked.connect(self.computeRequested)
        layout.addWidget(self.compute)
        self.show_map = QtWidgets.QCheckBox("Show the field map on the brain")
        self.show_map.setObjectName("efield_show_map")
        self.show_map.setChecked(True)
        self.show_map.toggled.connect(self.mapVisibleChanged)
        layout.addWidget(self.show_map)

        results = QtWidgets.QGridLayout()
        self.values: dict[str, QtWidgets.QLabel] = {}
        for row, (key, label) in enumerate((("target", "Target"), ("at_target", "|E| at target"),
                                            ("depth", "Depth"), ("peak", "Peak |E|"),
                                            ("area", "Half-value area"), ("note", ""))):
            value = QtWidgets.QLabel(DASH)
            value.setObjectName(f"efield_{key}")
            value.setWordWrap(True)
            if key == "note":
                value.setStyleSheet("color: #666")
                results.addWidget(value, row, 0, 1, 2)
            else:
                results.addWidget(QtWidgets.QLabel(label), row, 0, QtCore.Qt.AlignmentFlag.AlignTop)
                results.addWidget(value, row, 1)
            self.values[key] = value
        results.setColumnStretch(1, 1)
        # two lines reserved for the target's name: a name that wraps differently from the
        # previous one would otherwise change the box's height, and each click on another
        # target re-laid out and repainted the whole Planning panel
        self.values["target"].setMinimumHeight(2 * self.values["target"].fontMetrics().lineSpacing())
        self.values["at_target"].setStyleSheet("font-weight: bold")
        layout.addLayout(results)

        layout.addWidget(QtWidgets.QLabel("Handle angle: field at the target"))
        self.objective = compact(QtWidgets.QComboBox())
        self.objective.setObjectName("efield_objective")
        for key, text in OBJECTIVES:
            self.objective.addItem(text, key)
        self.objective.setToolTip("|E|: strongest field at the target point. Cortical normal: the "
                                  "component of E along the brain surface normal at the target "
                                  "(cortical column cosine model, Fox et al. 2004), unsigned.")
        layout.addWidget(self.objective)
        self.plot = AnglePlot()
        layout.addWidget(self.plot)
        self.best = QtWidgets.QLabel(DASH)
        self.best.setObjectName("efield_best_angle")
        self.best.setWordWrap(True)
        layout.addWidget(self.best)
        self.apply = QtWidgets.QPushButton("Apply best angle to the target")
        self.apply.setObjectName("efield_apply_angle")
        self.apply.setEnabled(False)
        self.apply.clicked.connect(self.applyAngleRequested)
        layout.addWidget(self.apply)
        self.applied_note = ""
        self.clear()

    @property
    def didt_at_100_percent_A_per_s(self) -> float:
        return self.didt.value() * 1e6

    def set_coil(self, text: str) -> None:
        self.coil.setText(text)

    def show_active(self, name: str | None, computed: bool) -> None:
        """Name the active target on the Compute button and, before its field is computed, in
        the Target row: the box always says which target its numbers are (or will be) for.
        (Compute stays clickable without a target: the click says to add one.)"""
        self.compute.setText("Compute field at the active target" if name is None
                             else f"Compute field at {name}")
        if not computed:
            self.values["target"].setText(DASH if name is None else f"{name} (not computed yet)")

    def clear(self, reason: str = "") -> None:
        for key, label in self.values.items():
            label.setText(reason if key == "note" else DASH)
        self.plot.set_curve(None, None, None)
        self.best.setText(DASH)
        self.apply.setEnabled(False)

    def note_angle_applied(self, turned_deg: float) -> None:
        """Say what Apply did and how to take it back (the best angle is an undoable edit);
        the note stays above the next result's details."""
        self.applied_note = (f"Handle turned {turned_deg:+.0f}°: Edit > Undo (Ctrl+Z) restores "
                             "the previous handle angle.")
        self.values["note"].setText(self.applied_note)

    def show_result(self, name: str, field: EfieldResult, depth_mm: float | None,
                    orient: OrientationResult | None) -> None:
        v = self.values
        v["target"].setText(f"{name} at {self.output.value():g} % MSO "
                            f"(dI/dt {field.didt_A_per_s / 1e6:.0f} A/µs)")
        at = field.target_V_per_m
        v["at_target"].setText(DASH if at is None or not np.isfinite(at) else f"{at:.0f} V/m")
        depth = field.target_depth_mm if field.target_depth_mm is not None else depth_mm
        v["depth"].setText(DASH if depth is None else f"{depth:.1f} mm below the coil face")
        v["peak"].setText(f"{field.peak_V_per_m:.0f} V/m" if np.isfinite(field.peak_V_per_m) else DASH)
        area = field.half_value_area_mm2
        v["area"].setText(DASH if area is None else f"{area / 100.0:.1f} cm² (|E| ≥ ½ peak)")
        v["note"].setText((self.applied_note + " " if self.applied_note else "")
                          + ("; ".join(field.warnings) if field.warnings else
                             f"{int(field.evaluated.sum())} cortex points evaluated in "
                             f"{field.elapsed_ms:.0f} ms; grey = not evaluated"))
        self.applied_note = ""
        if orient is None:
            self.plot.set_curve(None, None, None)
            self.best.setText(DASH)
            self.apply.setEnabled(False)
            return
        self.plot.set_curve(orient.angles_rad, orient.values_V_per_m, orient.best_angle_rad)
        best_deg = float(np.rad2deg(orient.best_angle_rad))
        values = np.asarray(orient.values_V_per_m, float)
        what = "|E|" if orient.objective == "magnitude" else "|E · cortical normal|"
        if np.ptp(values) < FLAT_FRACTION * max(float(values.max()), 1e-12):
            self.best.setText(f"The handle angle hardly changes {what} here (< 1 %): on the coil "
                              "axis a spherical head is symmetric. Keep the planned handle, or "
                              "optimise E along the cortical normal.")
            self.apply.setEnabled(False)
            return
        gain = 100.0 * (orient.best_value_V_per_m / max(orient.current_value_V_per_m, 1e-12) - 1.0)
        self.best.setText(f"Best handle angle {best_deg:+.0f}° (clockwise seen from outside the "
                          f"head): {what} {orient.best_value_V_per_m:.0f} V/m, {gain:+.0f} % vs the "
                          f"planned handle ({orient.current_value_V_per_m:.0f} V/m).")
        self.apply.setEnabled(abs(best_deg) >= 0.5)
