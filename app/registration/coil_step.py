"""Step 3: the coil model, where its hotspot is relative to its marker, and a check of both.

Either the coil file's ``coil_from_hotspot`` is used, or the technician touches the casing
landmarks with the calibrated pointer; each touch is the tip in the coil-marker frame (paired
coil + pointer frames) and :func:`tmsnav.navigation.coils.calibrate_coil_from_points` fits the hotspot.

Either way the calibration is then **verified** before navigation may use it (issue 10, defect
7): the pointer touches the coil's centre mark, its handle end and a wing edge
(:func:`tmsnav.navigation.coils.verification_landmarks`), captured when the tip is held still on the
asked landmark (or with the capture key), and :func:`tmsnav.navigation.coils.verify_coil_calibration`
compares them with the calibration. A mismatch (wrong coil file, a marker mounted unlike the
file, a marker that moved) is refused with the measured distance, and the Navigate tab shows
"coil calibration not verified" instead of numbers until a verification passes.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.coils import (CoilDefinitionError, calibrate_coil_from_points,
                                     list_coil_definitions, verification_landmarks,
                                     verify_coil_calibration)
from tmsnav.navigation.registration import CalibrationError
from tmsnav.navigation.registration.sampling import HoldStillDetector

from .base import MessageLabel, StepWidget, compact_table, fmt_mm

__all__ = ["CoilStep", "AUTO_CAPTURE_MAX_MM"]

#: A still tip is taken as the asked verification landmark only when it is nearer to where the
#: calibration puts that landmark than to the coil's other landmarks, and within this
#: distance of it (the coil's size): a pointer resting on the table or in the divot is ignored,
#: while a calibration tens of mm off is still captured, and refused with its mismatch.
AUTO_CAPTURE_MAX_MM = 150.0


def _label(name: str) -> str:
    return name.replace("_", " ")


class CoilStep(StepWidget):
    key = "coil"
    title = "3. Coil calibration"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        self.definitions = []
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
        self._build_verify_box()
        self.layout_.addStretch(1)
        self.touched: dict[str, np.ndarray] = {}
        self.calibration = None
        self.uses_pointer = False          # the accepted calibration came from touches
        self.verify_touched: dict[str, np.ndarray] = {}
        self.verify_result = None          # the last CoilVerification (passed or refused)
        self._pending_calibration = False  # landmarks touched since the last Accept coil
        self.detector = HoldStillDetector()
        self._last_ns = 0
        self._load_definitions()

    def _build_verify_box(self) -> None:
        box = QtWidgets.QGroupBox("Verify before use")
        box.setObjectName("coil_verify_box")
        lay = QtWidgets.QVBoxLayout(box)
        self.verify_instruction = QtWidgets.QLabel("Accept a coil first.")
        self.verify_instruction.setObjectName("coil_verify_instruction")
        self.verify_instruction.setWordWrap(True)
        self.verify_instruction.setStyleSheet("font-weight: bold; color: #ad1457;")
        lay.addWidget(self.verify_instruction)
        self.verify_table = QtWidgets.QTableWidget(0, 2)
        self.verify_table.setObjectName("coil_verify_table")
        self.verify_table.setHorizontalHeaderLabels(["Touch", "Mismatch"])
        compact_table(self.verify_table)
        self.verify_table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.verify_table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rows = self.verify_table.verticalHeader().defaultSectionSize()
        self.verify_table.setFixedHeight(self.verify_table.horizontalHeader().sizeHint().height()
                                         + 3 * rows + 2 * self.verify_table.frameWidth() + 2)
        lay.addWidget(self.verify_table)
        self.hold_bar = QtWidgets.QProgressBar()
        self.hold_bar.setObjectName("coil_verify_hold")
        self.hold_bar.setRange(0, 1000)
        self.hold_bar.setFormat("holding still %p%")
        self.hold_bar.setMaximumHeight(14)
        lay.addWidget(self.hold_bar)
        self.verify_live = QtWidgets.QLabel("")
        self.verify_live.setObjectName("coil_verify_live")
        self.verify_live.setWordWrap(True)
        self.verify_live.setStyleSheet("color: grey")
        lay.addWidget(self.verify_live)
        self.verify_message = MessageLabel("coil_verify_message")
        lay.addWidget(self.verify_message)
        row = QtWidgets.QHBoxLayout()
        self.verify_capture = QtWidgets.QPushButton("Capture verification touch")
        self.verify_capture.setObjectName("coil_verify_capture")
        self.verify_capture.clicked.connect(lambda: self.capture_verification())
        self.verify_again = QtWidgets.QPushButton("Verify again")
        self.verify_again.setObjectName("coil_verify_again")
        self.verify_again.clicked.connect(self.restart_verification)
        row.addWidget(self.verify_capture)
        row.addWidget(self.verify_again)
        lay.addLayout(row)
        self.verify_box = box
        self.layout_.addWidget(box)

    def enter(self) -> None:
        s = self.ctx.state
        self.detector.reset()
        self._last_ns = time.monotonic_ns()
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
        self._refresh_verify()

    def leave(self) -> None:
        self.detector.reset()
        self.hold_bar.setValue(0)

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
        if self._verifying() and not self._calibrating():
            return self.capture_verification()
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
                self.calibration = calibrate_coil_from_points(self.touched, self.definition)
            except CalibrationError as exc:
                self.message.show_message(f"Not calibrated yet: {exc}", "warn")
        self._refresh()

    def _refresh(self) -> None:
        d = self.definition
        errors = {} if self.calibration is None else self.calibration.per_point_errors_mm
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
        self.restart_verification()
        self.outputChanged.emit(self.verified)
        self.readyChanged.emit()

    # ----- verification -------------------------------------------------------------------
    @property
    def verified(self) -> bool:
        s = self.ctx.state
        v = s.coil_verification
        return v is not None and v.passed and v.applies_to(s.coil_from_hotspot)

    def _verifying(self) -> bool:
        s = self.ctx.state
        return s.coil_from_hotspot is not None and s.coil_definition is not None \
            and not self.verified

    def _verify_names(self) -> list[str]:
        d = self.ctx.state.coil_definition
        return verification_landmarks(d) if d is not None else []

    def _asked(self) -> str | None:
        return next((n for n in self._verify_names() if n not in self.verify_touched), None)

    def _predicted(self, name: str) -> np.ndarray:
        s = self.ctx.state
        return s.coil_from_hotspot.apply(s.coil_definition.landmarks_hotspot_mm[name])

    def restart_verification(self) -> None:
        """Forget the verification touches (a new coil, a refused check, or the user's wish)."""
        self.verify_touched = {}
        self.verify_result = None
        self.detector.reset()
        self.verify_message.show_message("")
        if self.ctx.state.coil_verification is not None:
            self.ctx.state.set_coil_verification(None)
            self.outputChanged.emit(False)
            self.readyChanged.emit()
        self._refresh_verify()

    def capture_verification(self, point: np.ndarray | None = None) -> bool:
        """Store the tip (latest paired sample, or ``point`` from a hold) as the asked landmark;
        with all of them touched, verify and accept or refuse the calibration."""
        name = self._asked()
        if name is None:
            return False
        if point is None:
            point, why = self.ctx.paired_tip("coil")
            if point is None:
                self.verify_message.show_message(f"Capture refused: {why}", "error")
                return True
        self.verify_touched[name] = np.asarray(point, float)
        self.detector.mark_captured(point)
        if self._asked() is None:
            self._finish_verification()
        else:
            self.verify_message.show_message(
                f"{_label(name).capitalize()}: {fmt_mm(self._mismatch(name))} from the "
                "calibration.", "info")
        self._refresh_verify()
        return True

    def _mismatch(self, name: str) -> float:
        return float(np.linalg.norm(self.verify_touched[name] - self._predicted(name)))

    def _finish_verification(self) -> None:
        s = self.ctx.state
        try:
            result = verify_coil_calibration(s.coil_from_hotspot, self.verify_touched,
                                             s.coil_definition)
        except CalibrationError as exc:
            self.verify_message.show_message(f"Cannot verify: {exc}", "error")
            self.verify_touched = {}
            return
        self.verify_result = result
        if result.passed:
            s.set_coil_verification(result)
            self.verify_message.show_message(result.message, "ok")
            self.outputChanged.emit(True)
        else:
            s.set_coil_verification(None)
            self.verify_message.show_message(f"Coil refused: {result.message}", "error")
            self.outputChanged.emit(False)
        self._refresh_verify(result.mismatch_mm)
        self.verify_touched = {}           # the next round starts again at the centre mark
        self.readyChanged.emit()

    def _refresh_verify(self, shown: dict[str, float] | None = None) -> None:
        names = self._verify_names()
        last = self.verify_result
        if shown is None and not self.verify_touched and last is not None \
                and last.applies_to(self.ctx.state.coil_from_hotspot):
            shown = last.mismatch_mm                   # the last check's numbers stay readable
        self.verify_table.setRowCount(len(names))
        for row, name in enumerate(names):
            value = None
            if shown is not None:
                value = shown.get(name)
            elif name in self.verify_touched:
                value = self._mismatch(name)
            self.verify_table.setItem(row, 0, QtWidgets.QTableWidgetItem(_label(name)))
            self.verify_table.setItem(row, 1, QtWidgets.QTableWidgetItem(
                "" if value is None else fmt_mm(value)))
        asked = self._asked()
        self.verify_instruction.setStyleSheet(
            f"font-weight: bold; color: {'#1b5e20' if self.verified else '#ad1457'};")
        if self.ctx.state.coil_from_hotspot is None:
            self.verify_instruction.setText("Accept a coil first.")
        elif self.verified:
            self.verify_instruction.setText("Coil verified. Press Next.")
        elif asked is not None:
            where = " (the hotspot, on the coil face)" if asked == "centre" else ""
            self.verify_instruction.setText(
                f"Touch the coil's {_label(asked).upper()}{where} with the pointer tip and hold "
                "still (or press the capture key).")
        self.verify_again.setEnabled(self.ctx.state.coil_from_hotspot is not None)
        self.verify_capture.setEnabled(self._verifying())

    def on_snapshot(self, snap) -> None:
        if not self._verifying() or self._calibrating():
            self.hold_bar.setValue(0)
            self.verify_live.setText("")
            return
        asked = self._asked()
        point, why = self.ctx.paired_tip("coil")
        if point is None:
            self.detector.reset()
            self.verify_live.setText(why)
            self.hold_bar.setValue(0)
            return
        for t_ns, tip in self.ctx.paired_history("coil", self._last_ns):
            self.detector.add(t_ns / 1e9, tip)
            self._last_ns = t_ns
        hold = self.detector.state()
        self.hold_bar.setValue(int(1000 * hold.held_s / self.detector.window_s)
                               if hold.armed else 0)
        if asked is None:
            return
        # every casing landmark competes (the top centre is 20 mm from the centre mark)
        distances = {n: float(np.linalg.norm(point - self._predicted(n)))
                     for n in self.ctx.state.coil_definition.landmarks_hotspot_mm
                     if n == asked or n not in self.verify_touched}
        nearest = min(distances, key=distances.__getitem__)
        self.verify_live.setText(f"Tip {distances[asked]:.0f} mm from where the calibration puts "
                                 f"the {_label(asked)}.")
        if not hold.still:
            return
        if nearest != asked:
            self.verify_live.setText(f"Waiting for the {_label(asked)}: the tip is nearer the "
                                     f"{_label(nearest)}.")
            return
        if distances[asked] > AUTO_CAPTURE_MAX_MM:
            return
        held = self.detector.held_point()
        self.capture_verification(held if held is not None else point)

    def ready(self) -> tuple[bool, str]:
        if self.ctx.state.coil_from_hotspot is None:
            return False, "Choose the coil and press Accept coil."
        if not self.verified:
            names = ", ".join(_label(n) for n in self._verify_names())
            return False, f"Verify the coil: touch its {names} with the pointer tip."
        return True, ""

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(360, 620)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802
        """Tall enough for every row: the dock scrolls instead of squeezing the tables and the
        word-wrapped messages on top of each other."""
        return QtCore.QSize(super().minimumSizeHint().width(), self.layout_.sizeHint().height())
