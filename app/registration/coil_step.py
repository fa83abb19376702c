"""Step 3: the coil model, where its hotspot is relative to its marker, and a check of both.

Either the coil file's ``coil_from_hotspot`` is used, or the technician touches the casing
landmarks with the calibrated pointer; each touch is the tip in the coil-marker frame (paired
coil + pointer frames) and :func:`tmsnav.navigation.coils.calibrate_coil_from_points` fits the hotspot.

Either way the calibration is then **verified** before navigation may use it (issue 10, defect
7): :class:`.coil_verify.CoilVerifyBox` asks for three touches on the coil and refuses a
mismatch with the measured distance.
"""

from __future__ import annotations

from typing import Mapping, Sequence, cast

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.coils import (CoilCalibration, CoilDefinition, CoilDefinitionError,
                                     calibrate_coil_from_points, list_coil_definitions)
from tmsnav.navigation.registration import CalibrationError

from .base import MessageLabel, StepWidget, compact_table, fmt_mm
from .coil_verify import AUTO_CAPTURE_MAX_MM, CoilVerifyBox, label as _label

__all__ = ["CoilStep", "AUTO_CAPTURE_MAX_MM"]


class CoilStep(StepWidget):
    key = "coil"
    title = "3. Coil calibration"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        self.definitions: list[CoilDefinition] = []
        form = QtWidgets.QFormLayout()
        self.model = QtWidgets.QComboBox()
        self.model.setObjectName("coil_model")
        self.model.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(16)
        self.model.currentIndexChanged.connect(self._model_changed)
        form.addRow("Coil model", self.model)
        self.layout_.addLayout(form)
        self.details = QtWidgets.QLabel("")
        self.details.setWordWrap(True)
        self.details.setStyleSheet("color: grey")
        self.layout_.addWidget(self.details)
        self.use_file = QtWidgets.QRadioButton("Use the coil file's hotspot (then verify it)")
        self.use_file.setObjectName("coil_use_file")
        self.use_touch = QtWidgets.QRadioButton("Calibrate: touch the coil's landmarks")
        self.use_touch.setObjectName("coil_use_touch")
        self.use_file.setChecked(True)
        self.use_file.toggled.connect(self._method_changed)
        self.layout_.addWidget(self.use_file)
        self.layout_.addWidget(self.use_touch)
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setObjectName("coil_landmarks")
        self.table.setHorizontalHeaderLabels(["Landmark", "Touched", "Error"])
        compact_table(self.table)
        self.table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setMaximumHeight(170)
        self.layout_.addWidget(self.table)
        self.capture_button = QtWidgets.QPushButton("Capture touch")
        self.capture_button.setObjectName("coil_capture")
        self.capture_button.clicked.connect(self.capture_calibration)
        self.redo_point = QtWidgets.QPushButton("Redo point")
        self.redo_point.setObjectName("coil_redo_point")
        self.redo_point.clicked.connect(self._redo_point)
        self.touch_buttons = self.add_buttons(self.capture_button, self.redo_point)
        self.message = MessageLabel("coil_message")
        self.layout_.addWidget(self.message)
        self.accept_button = QtWidgets.QPushButton("Accept coil")
        self.accept_button.setObjectName("coil_accept")
        self.accept_button.clicked.connect(self.accept)
        self.add_buttons(self.accept_button)
        self.verifier = CoilVerifyBox(ctx, self._calibrating)
        self.verifier.outputChanged.connect(self.outputChanged)
        self.verifier.readyChanged.connect(self.readyChanged)
        self.layout_.addWidget(self.verifier)
        self.layout_.addStretch(1)
        self.touched: dict[str, np.ndarray] = {}
        self.calibration: CoilCalibration | None = None
        self.uses_pointer = False          # the accepted calibration came from touches
        self._pending_calibration = False  # landmarks touched since the last Accept coil
        self._load_definitions()

    # the verification box's parts, under the names the tests and docs use
    @property
    def verify_instruction(self) -> QtWidgets.QLabel:
        return self.verifier.instruction

    @property
    def verify_message(self) -> MessageLabel:
        return self.verifier.message

    @property
    def verified(self) -> bool:
        return self.verifier.verified

    def capture_verification(self, point: np.ndarray | None = None) -> bool:
        return self.verifier.capture(point)

    def restart_verification(self) -> None:
        self.verifier.restart()

    def enter(self) -> None:
        s = self.ctx.state
        if s.coil_from_hotspot is not None and s.coil_definition is not None:
            how = "touched landmarks" if s.coil_calibration is not None else "its file"
            if self.verified:
                self.message.show_message(f"A coil is set and verified: {s.coil_definition.name}"
                                          f" (hotspot from {how}). Press Next, or set it again.",
                                          "ok")
            else:
                self.message.show_message(f"A coil is set: {s.coil_definition.name} (hotspot "
                                          f"from {how}). Verify it below before navigating.",
                                          "warn")
        self.verifier.enter()

    def leave(self) -> None:
        self.verifier.leave()

    # ----- model --------------------------------------------------------------------------
    def _load_definitions(self) -> None:
        try:
            self.definitions = list_coil_definitions()
        except CoilDefinitionError as exc:
            self.definitions = []
            self.message.show_message(f"Cannot read the coil files: {exc}", "error")
        self.model.blockSignals(True)
        self.model.clear()
        for d in self.definitions:
            self.model.addItem(d.name, d.model_id)
        self.model.blockSignals(False)
        self._model_changed()

    @property
    def definition(self):
        i = self.model.currentIndex()
        return self.definitions[i] if 0 <= i < len(self.definitions) else None

    def select_model(self, model_id: str) -> None:
        index = self.model.findData(model_id)
        if index < 0:
            raise ValueError(f"no coil model {model_id!r}")
        self.model.setCurrentIndex(index)

    def _model_changed(self) -> None:
        d = self.definition
        self.touched = {}
        self.calibration = None
        self.table.setRowCount(0)
        if d is None:
            self.details.setText("No coil definitions found in assets/coils.")
            self._method_changed()
            return
        offset = np.linalg.norm(d.coil_from_hotspot.translation)
        self.details.setText(f"{d.windings.type}, hotspot {offset:.0f} mm from the marker in "
                             f"the file. {d.notes[:160]}")
        self.table.setRowCount(len(d.landmarks_hotspot_mm))
        for row, name in enumerate(d.landmarks_hotspot_mm):
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(_label(name)))
        self.table.selectRow(0)
        self._refresh()
        self._method_changed()

    def _method_changed(self) -> None:
        touch = self.use_touch.isChecked()
        for w in (self.table, self.capture_button, self.redo_point):
            w.setVisible(touch)
        self._refresh()

    # ----- calibration by touching --------------------------------------------------------
    def select(self, landmark: str) -> None:
        """Make ``landmark`` the one the next capture stores (a click on its row)."""
        names = list(self.definition.landmarks_hotspot_mm) if self.definition else []
        if landmark not in names:
            raise ValueError(f"no landmark {landmark!r} on this coil")
        self.table.selectRow(names.index(landmark))
        self._refresh()

    def _current_name(self) -> str | None:
        d = self.definition
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if d is None or not rows:
            return None
        return list(d.landmarks_hotspot_mm)[rows[0].row()]

    def capture(self) -> bool:
        """The footswitch: a verification touch once a coil is accepted and not yet verified
        (unless a calibration by touching is under way), else a calibration landmark."""
        if self.verifier.verifying() and not self._calibrating():
            return self.verifier.capture()
        return self.capture_calibration()

    def _calibrating(self) -> bool:
        """Touch method chosen and a new calibration under way: verification waits for it."""
        return self.use_touch.isChecked() and (self._pending_calibration
                                               or self.ctx.state.coil_calibration is None)

    def capture_calibration(self) -> bool:
        """Store the tip as the selected casing landmark (touch method)."""
        if not self.use_touch.isChecked() or self.definition is None:
            return False
        name = self._current_name()
        if name is None:
            return False
        point, why = self.ctx.paired_tip("coil")
        if point is None:
            self.message.show_message(f"Capture refused: {why}", "error")
            return True
        self.touched[name] = point
        self._pending_calibration = True
        names = list(self.definition.landmarks_hotspot_mm)
        rest = [n for n in names[names.index(name) + 1:] + names if n not in self.touched]
        if rest:
            self.table.selectRow(names.index(rest[0]))
        self._fit()
        return True

    def _redo_point(self) -> None:
        name = self._current_name()
        if name is not None:
            self.touched.pop(name, None)
            self._fit()

    def _fit(self) -> None:
        self.calibration = None
        if len(self.touched) >= 3:
            try:
                self.calibration = calibrate_coil_from_points(
                    cast(Mapping[str, Sequence[float]], self.touched), self.definition)
            except CalibrationError as exc:
                self.message.show_message(f"Not calibrated yet: {exc}", "warn")
        self._refresh()

    def _refresh(self) -> None:
        d = self.definition
        errors: Mapping[str, float] = ({} if self.calibration is None
                                       else self.calibration.per_point_errors_mm)
        for row, name in enumerate(d.landmarks_hotspot_mm if d is not None else ()):
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(
                "✓" if name in self.touched else ""))
            self.table.setItem(row, 2, QtWidgets.QTableWidgetItem(
                fmt_mm(errors.get(name)) if name in errors else ""))
        if self.use_touch.isChecked():
            name = self._current_name()
            if self.calibration is not None:
                self.message.show_message(
                    f"Fit residual {fmt_mm(self.calibration.residual_rms_mm, 2)} RMS over "
                    f"{len(self.touched)} landmarks. Press Accept coil, then verify it.", "ok")
            elif len(self.touched) < 3 and name is not None:
                self.message.show_message(
                    f"Touch '{_label(name)}' on the coil with the pointer tip and press "
                    "Capture (or the footswitch). At least 3 landmarks, one of them off the coil "
                    "face (e.g. top centre).", "info")
            self.accept_button.setEnabled(self.calibration is not None)
        else:
            self.accept_button.setEnabled(d is not None)
            if d is not None and self.message.level != "error":
                self.message.show_message("The file's hotspot is nominal: accept it, then touch "
                                          "the coil to verify it (or calibrate by touching the "
                                          "landmarks).", "info")

    def accept(self) -> None:
        d = self.definition
        if d is None:
            return
        self._pending_calibration = False
        if self.use_touch.isChecked():
            if self.calibration is None:
                return
            cal = self.calibration
            self.ctx.state.set_coil(d.with_calibration(cal), cal.coil_from_hotspot, cal)
            self.uses_pointer = True
            text = (f"Coil calibrated ({fmt_mm(cal.residual_rms_mm, 2)} RMS). Now verify it: "
                    "touch the points below.")
        else:
            self.ctx.state.set_coil(d, d.coil_from_hotspot, None)
            self.uses_pointer = False
            text = f"Using {d.name} with the hotspot from its file. Now verify it on the coil."
        self.message.show_message(text, "ok")
        self.verifier.restart()
        self.outputChanged.emit(self.verified)
        self.readyChanged.emit()

    def on_snapshot(self, snap) -> None:
        self.verifier.on_snapshot(snap)

    def ready(self) -> tuple[bool, str]:
        if self.ctx.state.coil_from_hotspot is None:
            return False, "Choose the coil and press Accept coil."
        if not self.verified:
            names = ", ".join(_label(n) for n in self.verifier.names())
            return False, f"Verify the coil: touch its {names} with the pointer tip."
        return True, ""

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(360, 620)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802
        """Tall enough for every row: the dock scrolls instead of squeezing the tables and the
        word-wrapped messages on top of each other."""
        return QtCore.QSize(super().minimumSizeHint().width(), self.layout_.sizeHint().height())
