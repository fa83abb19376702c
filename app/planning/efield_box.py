"""The e-field group: stimulator output and the (approximate) dI/dt at 100 %, the numbers at the
active target, and the handle-angle curve with "apply best angle". Degrees only here."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from navigation.targeting.efield import DEFAULT_DIDT_AT_100_PERCENT_A_PER_S, EfieldResult
from navigation.targeting.orientation import OrientationResult

from .angle_plot import AnglePlot

__all__ = ["EfieldBox", "DASH"]

DASH = "—"


class EfieldBox(QtWidgets.QGroupBox):
    computeRequested = QtCore.Signal()
    applyAngleRequested = QtCore.Signal()
    mapVisibleChanged = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("E-field at the active target (spherical head estimate)", parent)
        self.setObjectName("efield_box")
        layout = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
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
        form.addRow("Stimulator output", self.output)
        self.didt = QtWidgets.QDoubleSpinBox()
        self.didt.setObjectName("efield_didt")
        self.didt.setRange(1.0, 1000.0)
        self.didt.setValue(DEFAULT_DIDT_AT_100_PERCENT_A_PER_S / 1e6)
        self.didt.setSuffix(" A/µs")
        self.didt.setToolTip("Peak dI/dt of your stimulator + coil at 100 % output: APPROXIMATE. "
                             "Roughly 70-170 A/µs for common 70 mm figure-8 set-ups; enter your "
                             "device's value when known. Field values scale with it.")
        form.addRow("dI/dt at 100 % (approx.)", self.didt)
        self.compute = QtWidgets.QPushButton("Compute field at the active target")
        self.compute.setObjectName("efield_compute")
        self.compute.clicked.connect(self.computeRequested)
        layout.addWidget(self.compute)
        self.show_map = QtWidgets.QCheckBox("Show the field map on the brain")
        self.show_map.setObjectName("efield_show_map")
        self.show_map.setChecked(True)
        self.show_map.toggled.connect(self.mapVisibleChanged)
        layout.addWidget(self.show_map)

        results = QtWidgets.QFormLayout()
        results.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        self.values: dict[str, QtWidgets.QLabel] = {}
        for key, label in (("target", "Target"), ("at_target", "|E| at the target"),
                           ("depth", "Depth below the scalp"), ("peak", "Peak |E| on the cortex"),
                           ("area", "Half-value area"), ("note", "")):
            value = QtWidgets.QLabel(DASH)
            value.setObjectName(f"efield_{key}")
            value.setWordWrap(True)
            results.addRow(label, value)
            self.values[key] = value
        self.values["at_target"].setStyleSheet("font-weight: bold")
        layout.addLayout(results)

        layout.addWidget(QtWidgets.QLabel("Field at the target vs handle angle"))
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
        self.clear()

    @property
    def didt_at_100_percent_A_per_s(self) -> float:
        return self.didt.value() * 1e6

    def set_coil(self, text: str) -> None:
        self.coil.setText(text)

    def clear(self, reason: str = "") -> None:
        for key, label in self.values.items():
            label.setText(reason if key == "note" else DASH)
        self.plot.set_curve(None, None, None)
        self.best.setText(DASH)
        self.apply.setEnabled(False)

    def show_result(self, name: str, field: EfieldResult, depth_mm: float | None,
                    orient: OrientationResult | None) -> None:
        v = self.values
        v["target"].setText(f"{name} at {self.output.value():g} % MSO "
                            f"(dI/dt {field.didt_A_per_s / 1e6:.0f} A/µs)")
        at = field.target_V_per_m
        v["at_target"].setText(DASH if at is None or not np.isfinite(at) else f"{at:.0f} V/m")
        depth = field.target_depth_mm if field.target_depth_mm is not None else depth_mm
        v["depth"].setText(DASH if depth is None else f"{depth:.1f} mm (coil face to cortex point)")
        v["peak"].setText(f"{field.peak_V_per_m:.0f} V/m" if np.isfinite(field.peak_V_per_m) else DASH)
        area = field.half_value_area_mm2
        v["area"].setText(DASH if area is None else f"{area / 100.0:.1f} cm² (|E| ≥ half the peak)")
        v["note"].setText("; ".join(field.warnings) if field.warnings else
                          f"{int(field.evaluated.sum())} cortex points evaluated in "
                          f"{field.elapsed_ms:.0f} ms; grey = not evaluated")
        if orient is None:
            self.plot.set_curve(None, None, None)
            self.best.setText(DASH)
            self.apply.setEnabled(False)
            return
        self.plot.set_curve(orient.angles_rad, orient.values_V_per_m, orient.best_angle_rad)
        best_deg = float(np.rad2deg(orient.best_angle_rad))
        gain = 100.0 * (orient.best_value_V_per_m / max(orient.current_value_V_per_m, 1e-12) - 1.0)
        self.best.setText(f"Best handle angle: {best_deg:+.0f}° (clockwise seen from outside the "
                          f"head) gives {orient.best_value_V_per_m:.0f} V/m, "
                          f"{gain:+.1f} % vs the planned handle ({orient.current_value_V_per_m:.0f} V/m).")
        self.apply.setEnabled(abs(best_deg) >= 0.5)
