"""The Coil step's "Verify before use" box: touch three points on the coil, compare them with
the accepted calibration, and let navigation use the coil only when they agree (issue 10,
defect 7).

The pointer touches the coil's centre mark, its handle end and a wing edge
(:func:`tmsnav.navigation.coils.verification_landmarks`), each captured when the tip is held
still on the asked landmark (or with the capture key), and
:func:`tmsnav.navigation.coils.verify_coil_calibration` compares them with the calibration. A
mismatch (wrong coil file, a marker mounted unlike the file, a marker that moved) is refused with
the measured distance, and the Navigate tab shows "coil calibration not verified" instead of
numbers until a verification passes. Split from coil_step.py (one job per module).
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence, cast

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.coils import CoilVerification, verification_landmarks, verify_coil_calibration
from tmsnav.navigation.registration import CalibrationError
from tmsnav.navigation.registration.sampling import HoldStillDetector, TrackingGap

from .base import MessageLabel, compact_table, fmt_mm

__all__ = ["CoilVerifyBox", "AUTO_CAPTURE_MAX_MM"]

#: A still tip is taken as the asked verification landmark only when it is nearer to where the
#: calibration puts that landmark than to the coil's other landmarks, and within this
#: distance of it (the coil's size): a pointer resting on the table or in the divot is ignored,
#: while a calibration tens of mm off is still captured, and refused with its mismatch.
AUTO_CAPTURE_MAX_MM = 150.0


def label(name: str) -> str:
    return name.replace("_", " ")


class CoilVerifyBox(QtWidgets.QGroupBox):
    """Verification of the accepted coil calibration by three touches.

    ``outputChanged(valid)`` / ``readyChanged``: as the step's signals (the step forwards them).
    ``calibrating()``: True while a calibration by touching is under way (verification waits).
    """

    outputChanged = QtCore.Signal(bool)
    readyChanged = QtCore.Signal()

    def __init__(self, ctx, calibrating: Callable[[], bool],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Verify before use", parent)
        self.ctx = ctx
        self._calibrating = calibrating
        self.setObjectName("coil_verify_box")
        lay = QtWidgets.QVBoxLayout(self)
        self.instruction = QtWidgets.QLabel("Accept a coil first.")
        self.instruction.setObjectName("coil_verify_instruction")
        self.instruction.setWordWrap(True)
        self.instruction.setStyleSheet("font-weight: bold; color: #ad1457;")
        lay.addWidget(self.instruction)
        self.table = QtWidgets.QTableWidget(0, 2)
        self.table.setObjectName("coil_verify_table")
        self.table.setHorizontalHeaderLabels(["Touch", "Mismatch"])
        compact_table(self.table)
        self.table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + 3 * rows + 2 * self.table.frameWidth() + 2)
        lay.addWidget(self.table)
        self.hold_bar = QtWidgets.QProgressBar()
        self.hold_bar.setObjectName("coil_verify_hold")
        self.hold_bar.setRange(0, 1000)
        self.hold_bar.setFormat("holding still %p%")
        self.hold_bar.setMaximumHeight(14)
        lay.addWidget(self.hold_bar)
        self.live = QtWidgets.QLabel("")
        self.live.setObjectName("coil_verify_live")
        self.live.setWordWrap(True)
        self.live.setStyleSheet("color: grey")
        lay.addWidget(self.live)
        self.message = MessageLabel("coil_verify_message")
        lay.addWidget(self.message)
        row = QtWidgets.QHBoxLayout()
        self.capture_button = QtWidgets.QPushButton("Capture verification touch")
        self.capture_button.setObjectName("coil_verify_capture")
        self.capture_button.clicked.connect(lambda: self.capture())
        self.again_button = QtWidgets.QPushButton("Verify again")
        self.again_button.setObjectName("coil_verify_again")
        self.again_button.clicked.connect(self.restart)
        row.addWidget(self.capture_button)
        row.addWidget(self.again_button)
        lay.addLayout(row)
        self.touched: dict[str, np.ndarray] = {}
        self.result: CoilVerification | None = None   # the last check (passed or refused)
        self.detector = HoldStillDetector()
        self._gap = TrackingGap()              # short tracking gaps keep the hold-still count
        self._last_ns = 0

    # ----- state --------------------------------------------------------------------------
    @property
    def verified(self) -> bool:
        s = self.ctx.state
        v = s.coil_verification
        return v is not None and v.passed and v.applies_to(s.coil_from_hotspot)

    def verifying(self) -> bool:
        """A coil is accepted and not yet verified."""
        s = self.ctx.state
        return s.coil_from_hotspot is not None and s.coil_definition is not None \
            and not self.verified

    def names(self) -> list[str]:
        d = self.ctx.state.coil_definition
        return verification_landmarks(d) if d is not None else []

    def asked(self) -> str | None:
        return next((n for n in self.names() if n not in self.touched), None)

    def _predicted(self, name: str) -> np.ndarray:
        s = self.ctx.state
        return s.coil_from_hotspot.apply(s.coil_definition.landmarks_hotspot_mm[name])

    def _mismatch(self, name: str) -> float:
        return float(np.linalg.norm(self.touched[name] - self._predicted(name)))

    # ----- flow ---------------------------------------------------------------------------
    def enter(self) -> None:
        self.detector.reset()
        self._last_ns = time.monotonic_ns()
        self.refresh()

    def leave(self) -> None:
        self.detector.reset()
        self.hold_bar.setValue(0)

    def restart(self) -> None:
        """Forget the verification touches (a new coil, a refused check, or the user's wish)."""
        self.touched = {}
        self.result = None
        self.detector.reset()
        self.message.show_message("")
        if self.ctx.state.coil_verification is not None:
            self.ctx.state.set_coil_verification(None)
            self.outputChanged.emit(False)
            self.readyChanged.emit()
        self.refresh()

    def capture(self, point: np.ndarray | None = None) -> bool:
        """Store the tip (latest paired sample, or ``point`` from a hold) as the asked landmark;
        with all of them touched, verify and accept or refuse the calibration."""
        name = self.asked()
        if name is None:
            return False
        if point is None:
            point, why = self.ctx.paired_tip("coil")
            if point is None:
                self.message.show_message(f"Capture refused: {why}", "error")
                return True
        self.touched[name] = np.asarray(point, float)
        self.detector.mark_captured(point)
        if self.asked() is None:
            self._finish()
        else:
            self.message.show_message(
                f"{label(name).capitalize()}: {fmt_mm(self._mismatch(name))} from the "
                "calibration.", "info")
        self.refresh()
        return True

    def _finish(self) -> None:
        s = self.ctx.state
        try:
            touched = cast(Mapping[str, Sequence[float]], self.touched)   # arrays are accepted
            result = verify_coil_calibration(s.coil_from_hotspot, touched, s.coil_definition)
        except CalibrationError as exc:
            self.message.show_message(f"Cannot verify: {exc}", "error")
            self.touched = {}
            return
        self.result = result
        if result.passed:
            s.set_coil_verification(result)
            self.message.show_message(result.message, "ok")
            self.outputChanged.emit(True)
        else:
            s.set_coil_verification(None)
            self.message.show_message(f"Coil refused: {result.message}", "error")
            self.outputChanged.emit(False)
        self.refresh(result.mismatch_mm)
        self.touched = {}           # the next round starts again at the centre mark
        self.readyChanged.emit()

    def refresh(self, shown: dict[str, float] | None = None) -> None:
        names = self.names()
        last = self.result
        if shown is None and not self.touched and last is not None \
                and last.applies_to(self.ctx.state.coil_from_hotspot):
            shown = last.mismatch_mm                   # the last check's numbers stay readable
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            value = None
            if shown is not None:
                value = shown.get(name)
            elif name in self.touched:
                value = self._mismatch(name)
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(label(name)))
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(
                "" if value is None else fmt_mm(value)))
        asked = self.asked()
        self.instruction.setStyleSheet(
            f"font-weight: bold; color: {'#1b5e20' if self.verified else '#ad1457'};")
        if self.ctx.state.coil_from_hotspot is None:
            self.instruction.setText("Accept a coil first.")
        elif self.verified:
            self.instruction.setText("Coil verified. Press Next.")
        elif asked is not None:
            where = " (the hotspot, on the coil face)" if asked == "centre" else ""
            self.instruction.setText(
                f"Touch the coil's {label(asked).upper()}{where} with the pointer tip and hold "
                "still (or press the capture key).")
        self.again_button.setEnabled(self.ctx.state.coil_from_hotspot is not None)
        self.capture_button.setEnabled(self.verifying())

    def on_snapshot(self, snap) -> None:
        if not self.verifying() or self._calibrating():
            self.hold_bar.setValue(0)
            self.live.setText("")
            return
        asked = self.asked()
        point, why = self.ctx.paired_tip("coil")
        if self._gap.too_long(point is not None, time.monotonic()):
            self.detector.reset()                 # lost too long: whatever came before is void
        if point is None:
            self.live.setText(why)
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
                     if n == asked or n not in self.touched}
        nearest = min(distances, key=distances.__getitem__)
        self.live.setText(f"Tip {distances[asked]:.0f} mm from where the calibration puts "
                          f"the {label(asked)}.")
        if not hold.still:
            return
        if nearest != asked:
            self.live.setText(f"Waiting for the {label(asked)}: the tip is nearer the "
                              f"{label(nearest)}.")
            return
        if distances[asked] > AUTO_CAPTURE_MAX_MM:
            return
        held = self.detector.held_point()
        self.capture(held if held is not None else point)
