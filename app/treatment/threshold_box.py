"""Resting motor threshold in the app, then the treatment intensity as a percentage of it.

Two methods (:mod:`tmsnav.navigation.treatment.threshold`): adaptive threshold hunting by
maximum-likelihood PEST (Awiszus F. TMS and threshold hunting. Suppl Clin Neurophysiol
2003;56:13-23), the default because it needs about a third of the pulses, and the IFCN
relative-frequency method (at least 5 of 10 MEPs >= 50 µV; Rossini PM, et al. Clin Neurophysiol
2015;126:1071-1107). The box shows the output the method asks for next, each pulse's result,
the estimate and the pulses used. A pulse given at another output than asked is refused with
what to set, never counted at the wrong intensity. The treatment dose (prescribed % of RMT,
rounded, capped at 100 % MSO with its warning) comes from
:func:`tmsnav.navigation.treatment.dose.treatment_output`.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.treatment.dose import Dose, treatment_output
from tmsnav.navigation.treatment.threshold import (AdaptiveThreshold, RelativeFrequencyThreshold,
                                                   ThresholdResult)

__all__ = ["ThresholdBox", "METHODS"]

METHODS = (("adaptive", "Adaptive (ML-PEST)", "Awiszus 2003 maximum-likelihood threshold hunting: "
            "about 10-20 pulses"),
           ("relative", "Relative frequency", "IFCN (Rossini et al. 2015): lowest output with at least "
            "5 of 10 MEPs >= 50 µV; about 3 times the pulses"))


class ThresholdBox(QtWidgets.QGroupBox):
    """Runs one threshold measurement; :meth:`record` takes each pulse's output and MEP."""

    finished = QtCore.Signal(object)           # ThresholdResult
    doseChanged = QtCore.Signal(object)        # Dose | None
    nextIntensityChanged = QtCore.Signal(object)   # int | None

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Resting motor threshold", parent)
        self.setObjectName("threshold_box")
        self.method: AdaptiveThreshold | RelativeFrequencyThreshold | None = None
        self._kind, self._start = "adaptive", 45
        #: (motor hotspot depth, treatment target depth) in mm, for the Stokes 2005 suggestion
        self.depths_mm: tuple[float | None, float | None] = (None, None)
        self.result: ThresholdResult | None = None
        self.dose: Dose | None = None
        form = QtWidgets.QFormLayout(self)
        self.method_combo = QtWidgets.QComboBox()
        for i, (key, label, tip) in enumerate(METHODS):
            self.method_combo.addItem(label, key)
            self.method_combo.setItemData(i, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
        form.addRow("Method", self.method_combo)
        self.start_spin = QtWidgets.QSpinBox()
        self.start_spin.setRange(20, 100)
        self.start_spin.setValue(45)
        self.start_spin.setSuffix(" % MSO")
        self.start_spin.setToolTip("First output: the hotspot search output, or a little below it")
        form.addRow("Start at", self.start_spin)
        self.start_button = QtWidgets.QPushButton("Start threshold")
        self.start_button.clicked.connect(self.start)
        form.addRow(self.start_button)
        self.next_label = QtWidgets.QLabel("—")
        self.next_label.setObjectName("threshold_next")
        self.next_label.setStyleSheet("font-size: 20px; font-weight: bold")
        form.addRow("Next pulse at", self.next_label)
        self.history = QtWidgets.QListWidget()
        self.history.setObjectName("threshold_history")
        self.history.setMaximumHeight(110)
        form.addRow("Pulses", self.history)
        self.result_label = QtWidgets.QLabel("No threshold yet.")
        self.result_label.setObjectName("threshold_result")
        self.result_label.setWordWrap(True)
        form.addRow(self.result_label)
        self.percent_spin = QtWidgets.QDoubleSpinBox()
        self.percent_spin.setRange(50.0, 150.0)
        self.percent_spin.setDecimals(0)
        self.percent_spin.setValue(120.0)
        self.percent_spin.setSuffix(" % RMT")
        self.percent_spin.valueChanged.connect(self._update_dose)
        form.addRow("Treatment intensity", self.percent_spin)
        self.dose_label = QtWidgets.QLabel("Measure the threshold first.")
        self.dose_label.setObjectName("threshold_dose")
        self.dose_label.setWordWrap(True)
        form.addRow(self.dose_label)

    # ----- the procedure -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.method is not None and not self.method.done

    def next_intensity(self) -> int | None:
        return None if self.method is None else self.method.next_intensity()

    def start(self) -> None:
        self._kind, self._start = str(self.method_combo.currentData()), self.start_spin.value()
        self.method = self._new_method()
        self.result = None
        self.history.clear()
        self.result_label.setText("Measuring: give each pulse at the output shown.")
        self._show_next()

    def _new_method(self) -> AdaptiveThreshold | RelativeFrequencyThreshold:
        if self._kind == "adaptive":
            return AdaptiveThreshold(start_pct=self._start)
        return RelativeFrequencyThreshold(start_pct=self._start)

    def remove_last(self) -> None:
        """Take back the last pulse (a mistyped MEP): the method is replayed without it, so the
        next output and the estimate are what they would have been. Raises when there is none."""
        if self.method is None or not self.method.history:
            raise NavigationError("no threshold pulse to remove")
        kept = self.method.history[:-1]
        self.method = self._new_method()
        for level, mep_uv, _hit in kept:
            self.method.record(level, mep_uv)
        self.result = None
        self.history.takeItem(self.history.count() - 1)
        self.result_label.setText(f"Last pulse removed; {self.method.pulses_used} pulses so far.")
        self._update_dose()
        self._show_next()

    def record(self, intensity_pct: float | None, mep_uv: float) -> None:
        """One pulse: its output (None = the one asked for, e.g. a typed MEP) and its MEP (µV).
        Raises NavigationError with the reason (not running, wrong output, bad amplitude)."""
        if self.method is None or self.method.done:
            raise NavigationError("press 'Start threshold' first")
        asked = self.method.next_intensity()      # not None: the method is not done
        level = float(asked if intensity_pct is None and asked is not None else intensity_pct or 0.0)
        self.method.record(level, mep_uv)
        hit = mep_uv >= 50.0
        self.history.addItem(f"{self.method.pulses_used:2d}: {level:.0f} % MSO → {mep_uv:.0f} µV "
                             f"({'response' if hit else 'no response'})")
        self.history.scrollToBottom()
        if self.method.done:
            self.result = self.method.result()
            if self.result.threshold_pct is None:
                self.result_label.setText(f"No threshold: {self.result.message}")
            else:
                self.result_label.setText(f"RMT {self.result.threshold_pct} % MSO ({self.result.method}; "
                                          f"{self.result.pulses_used} pulses). {self.result.message}")
            self._update_dose()
            self.finished.emit(self.result)
        else:
            est = getattr(self.method, "estimate_pct", None)
            extra = f"; current estimate {est():.0f} % MSO" if callable(est) else ""
            self.result_label.setText(f"{self.method.pulses_used} pulses so far{extra}.")
        self._show_next()

    def _show_next(self) -> None:
        nxt = self.next_intensity()
        self.next_label.setText("done" if nxt is None else f"{nxt} % MSO")
        self.nextIntensityChanged.emit(nxt)

    def set_depths(self, motor_depth_mm: float | None, target_depth_mm: float | None) -> None:
        """Scalp-to-cortex depths of the hotspot and the treatment target (either None: no
        suggestion); the dose then carries the Stokes et al. 2005 suggestion, never applied."""
        if (motor_depth_mm, target_depth_mm) != self.depths_mm:
            self.depths_mm = (motor_depth_mm, target_depth_mm)
            self._update_dose()

    def _update_dose(self) -> None:
        rmt = None if self.result is None else self.result.threshold_pct
        if rmt is None:
            self.dose = None
            self.dose_label.setText("Measure the threshold first.")
        else:
            motor, target = self.depths_mm
            try:
                self.dose = treatment_output(rmt, self.percent_spin.value(), motor_depth_mm=motor,
                                             target_depth_mm=target)
            except NavigationError as exc:
                self.dose = None
                self.dose_label.setText(str(exc))
            else:
                text = (f"Set the stimulator to {self.dose.output_pct_mso} % MSO "
                        f"({self.dose.percent_of_rmt:g} % of RMT {self.dose.rmt_pct} %)")
                extra = [] if self.dose.depth_suggestion is None else [self.dose.depth_suggestion.text]
                self.dose_label.setText("; ".join([text, *self.dose.warnings]) + "".join(" " + e for e in extra))
        self.doseChanged.emit(self.dose)
