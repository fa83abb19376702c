"""Step 4: touch the fiducials (nasion, LPA, RPA, + extra landmarks) and fit them at once.

MRI side: the head's marked fiducials when it has them, else "Set MRI point from cursor" after
clicking the landmark on the 3-D head or a slice. Tracker side: the Capture button, the
footswitch key, or automatically when the tip is held still
(:class:`tmsnav.navigation.registration.sampling.HoldStillDetector`). A capture is refused, with the
reason, unless the head reference and the pointer are fresh and from the same camera frame.

A still tip is captured only if it is plausibly the asked landmark
(:func:`tmsnav.navigation.registration.capture_checks.check_capture`): not the pivot divot, not a
landmark already captured, not far from where the captured landmarks put the asked one. The
hold-still capture also needs the tip to have moved since the step opened and since the last
capture (a tip resting in the divot when the step opens is never captured). When the full set
does not fit, :func:`~tmsnav.navigation.registration.capture_checks.diagnose_fit` names the likely
cause (swapped, shifted by one, captured twice) under the fit message.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.registration.capture_checks import FitDiagnosis, check_capture, diagnose_fit
from tmsnav.navigation.registration.fiducials import canonical_name
from tmsnav.navigation.registration.sampling import HoldStillDetector, TrackingGap
from tmsnav.navigation.registration.touch_checks import distance_mismatches

from .base import MessageLabel, StepWidget, compact_table, fmt_mm
from .context import display_name
from .overlays import draw_landmarks

__all__ = ["FiducialStep"]

AVERAGE_MAX_OFFSET_MM = 2.0   # use the held mean only if it agrees with the capture sample


class FiducialStep(StepWidget):
    key = "fiducials"
    title = "4. Fiducials"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        self.instruction = QtWidgets.QLabel("")
        self.instruction.setObjectName("fiducial_instruction")
        self.instruction.setWordWrap(True)
        self.instruction.setStyleSheet("font-size: 14pt; font-weight: bold; color: #ad1457;")
        self.layout_.addWidget(self.instruction)
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setObjectName("fiducial_table")
        self.table.setHorizontalHeaderLabels(["Landmark", "MRI", "Touched", "FRE"])
        compact_table(self.table)
        self.table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setMaximumHeight(150)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellDoubleClicked.connect(self._go_to_landmark)
        self.layout_.addWidget(self.table)
        self.set_mri_button = QtWidgets.QPushButton("Set MRI point from cursor")
        self.set_mri_button.setObjectName("fiducial_set_mri")
        self.set_mri_button.setToolTip("Click the landmark on the 3-D head or a slice first")
        self.set_mri_button.clicked.connect(self.set_mri_from_cursor)
        self.capture_button = QtWidgets.QPushButton("Capture touch")
        self.capture_button.setObjectName("fiducial_capture")
        self.capture_button.clicked.connect(self.capture)
        self.add_buttons(self.set_mri_button, self.capture_button)
        self.redo_button = QtWidgets.QPushButton("Redo touch")
        self.redo_button.setObjectName("fiducial_redo")
        self.redo_button.clicked.connect(self.redo_current)
        self.new_name = QtWidgets.QLineEdit()
        self.new_name.setObjectName("fiducial_new_name")
        self.new_name.setPlaceholderText("extra landmark name")
        self.add_button = QtWidgets.QPushButton("Add")
        self.add_button.setObjectName("fiducial_add")
        self.add_button.clicked.connect(self.add_landmark)
        self.add_buttons(self.redo_button, self.new_name, self.add_button)
        self.auto = QtWidgets.QCheckBox("Capture when the tip is held still for 1 s")
        self.auto.setObjectName("fiducial_auto")
        self.auto.setChecked(True)
        self.layout_.addWidget(self.auto)
        self.hold_bar = QtWidgets.QProgressBar()
        self.hold_bar.setObjectName("fiducial_hold")
        self.hold_bar.setRange(0, 1000)
        self.hold_bar.setFormat("holding still %p%")
        self.hold_bar.setMaximumHeight(14)
        self.layout_.addWidget(self.hold_bar)
        self.live = QtWidgets.QLabel("")
        self.live.setObjectName("fiducial_live")
        self.live.setWordWrap(True)
        self.live.setStyleSheet("color: grey")
        self.layout_.addWidget(self.live)
        self.capture_message = MessageLabel("fiducial_capture_message")
        self.layout_.addWidget(self.capture_message)
        self.fit_message = MessageLabel("fiducial_fit_message")
        self.layout_.addWidget(self.fit_message)
        self.layout_.addStretch(1)
        self.detector = HoldStillDetector()
        self._last_ns = 0
        self._gap = TrackingGap()              # short tracking gaps keep the hold-still count
        self._arm_after_move = True     # the first tip seen after entering must move first
        self.diagnosis: FitDiagnosis | None = None   # of the last failing fit, for the message
        self.suspected = ""             # a refused touch showed the captured set is wrong (why)
        self._current: str | None = None
        ctx.fiducialsChanged.connect(self.refresh)
        self.refresh()

    # ----- table --------------------------------------------------------------------------
    @property
    def current(self) -> str | None:
        return self._current

    def select(self, name: str) -> None:
        if name in self.ctx.landmark_names:
            self.table.selectRow(self.ctx.landmark_names.index(name))

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        names = self.ctx.landmark_names
        self._current = names[rows[0].row()] if rows and rows[0].row() < len(names) else None
        self.detector.reset()
        self._show_instruction()
        self._draw()

    def _next_untouched(self, after: str | None = None) -> str | None:
        names = self.ctx.landmark_names
        start = names.index(after) + 1 if after in names else 0
        for name in names[start:] + names[:start]:
            if name not in self.ctx.touched:
                return name
        return None

    def refresh(self) -> None:
        ctx = self.ctx
        if len(ctx.touched) < 3:
            self.suspected = ""                   # touches voided (new pivot, new head)
        names = ctx.landmark_names
        fre = ctx.fiducial_fit.fre_by_name if ctx.fiducial_fit is not None else {}
        self.table.blockSignals(True)
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            mri = ctx.mri_fiducials.get(name)
            mri_item = QtWidgets.QTableWidgetItem("✓ set" if mri is not None else "— not set")
            if mri is not None:
                mri_item.setToolTip("mri RAS ({:+.1f}, {:+.1f}, {:+.1f}) mm".format(*mri))
            items = (QtWidgets.QTableWidgetItem(display_name(name)), mri_item,
                     QtWidgets.QTableWidgetItem("✓" if name in ctx.touched else ""),
                     QtWidgets.QTableWidgetItem(fmt_mm(fre[name]) if name in fre else ""))
            for col, item in enumerate(items):
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        if self._current not in names:
            self._current = self._next_untouched()
        if self._current is not None:
            self.table.blockSignals(True)
            self.table.selectRow(names.index(self._current))
            self.table.blockSignals(False)
        self._show_fit()
        self._show_instruction()
        self._draw()
        self.readyChanged.emit()                  # the Next button's reason follows the fit

    def _show_instruction(self) -> None:
        name = self._current
        if name is None:
            self.instruction.setText("All landmarks are touched. Select one to redo it.")
        elif self.ctx.mri_fiducials.get(name) is None:
            self.instruction.setText(f"Mark the {display_name(name).upper()} in the MRI: click it "
                                     "on the head or a slice, then Set MRI point from cursor.")
        elif name in self.ctx.touched:
            self.instruction.setText(f"{display_name(name).upper()} is captured. Redo touch to "
                                     "touch it again.")
        else:
            self.instruction.setText(f"Touch the {display_name(name).upper()} with the pointer "
                                     "tip and hold still (or press the capture key).")

    def _show_fit(self) -> None:
        ctx = self.ctx
        fit = ctx.fiducial_fit
        self.diagnosis = None
        if ctx.fiducial_error:
            self.fit_message.show_message(f"Cannot register: {ctx.fiducial_error}"
                                          + self._likely_cause(), "error")
        elif fit is None:
            mri, _ = ctx.pairs()
            self.fit_message.show_message(f"{len(mri)} of at least 3 landmarks paired.", "info")
        elif not fit.accepted:
            self.fit_message.show_message("FRE {:.2f} mm RMS — not usable: {}".format(
                fit.fre_rms_mm, " ".join(fit.problems)) + self._likely_cause(), "error")
        elif self.suspected:
            self.fit_message.show_message(f"FRE {fit.fre_rms_mm:.2f} mm RMS, but the next landmark "
                                          f"does not fit: {self.suspected}", "error")
        else:
            self.fit_message.show_message(f"Fiducial registration: FRE {fit.fre_rms_mm:.2f} mm "
                                          "RMS. Press Next for the scalp points.", "ok")

    def _likely_cause(self) -> str:
        """" Likely cause: ..." from re-labelling the touched points, or "" if none fits."""
        ctx = self.ctx
        diagnosis = diagnose_fit(ctx.mri_fiducials, ctx.touched, ctx.landmark_names,
                                 display={n: display_name(n) for n in ctx.landmark_names})
        self.diagnosis = diagnosis
        return "" if diagnosis is None else f" Likely cause: {diagnosis.message}"

    def _draw(self) -> None:
        if not self.isVisible():
            return
        fit = self.ctx.fiducial_fit
        touched_mri = {}
        if fit is not None:
            touched_mri = {n: fit.mri_from_reference.apply(p) for n, p in self.ctx.touched.items()}
        draw_landmarks(self.ctx.window, self.ctx.mri_fiducials, touched_mri, self._current)

    def _go_to_landmark(self, row: int, _col: int) -> None:
        names = self.ctx.landmark_names
        if row < len(names) and names[row] in self.ctx.mri_fiducials:
            self.ctx.window.set_cursor(self.ctx.mri_fiducials[names[row]])

    # ----- actions ------------------------------------------------------------------------
    def set_mri_from_cursor(self) -> None:
        name = self._current
        if name is None:
            return
        self.ctx.mri_fiducials[name] = np.asarray(self.ctx.window.cursor_mri, float).copy()
        self._after_change(name)

    def add_landmark(self) -> None:
        name = canonical_name(self.new_name.text())
        if not name:
            return
        if name not in self.ctx.landmark_names:
            self.ctx.landmark_names.append(name)
        self.new_name.clear()
        self._current = name
        self.ctx.refit()

    def redo_current(self) -> None:
        name = self._current
        if name is None or name not in self.ctx.touched:
            return
        del self.ctx.touched[name]
        self.capture_message.show_message(f"{display_name(name)}: touch it again.", "info")
        self._after_change(name)

    def capture(self, auto: bool = False) -> bool:
        """Capture the current landmark now (button, footswitch, or ``auto`` hold-still).

        Refused, with the reason and nothing stored, when the tip is not plausibly the asked
        landmark; after a refusal the hold-still capture waits until the tip has moved."""
        name = self._current
        if name is None:
            self.capture_message.show_message("Every landmark is captured; select one to "
                                              "redo it.", "info")
            return True
        point, why = self.ctx.paired_tip("reference")
        if point is None:
            self.capture_message.show_message(f"Capture refused: {why}", "error")
            return True
        if self.detector.state().still:
            held = self.detector.held_point()
            if held is not None and np.linalg.norm(held - point) < AVERAGE_MAX_OFFSET_MM:
                point = held                        # mean over the hold: less tracker noise
        divot_tracker, divot_reference = self.ctx.divot_positions()
        check = check_capture(name, point, self.ctx.mri_fiducials, self.ctx.touched,
                              tip_tracker_mm=self.ctx.tip_in_tracker(),
                              divot_tracker_mm=divot_tracker, divot_reference_mm=divot_reference,
                              display={n: display_name(n) for n in self.ctx.landmark_names})
        if not check.ok:
            self.detector.mark_captured(point)      # move before the next hold-still try
            self.capture_message.show_message(check.message, "warn" if auto else "error")
            cause = check.message.partition(" Likely cause: ")[2]
            if cause:                               # the captured ones are suspect: block Next
                self.suspected = cause
                self._show_fit()
                self.readyChanged.emit()
            return True
        self.ctx.touched[name] = point
        self.detector.mark_captured(point)
        shown = display_name(name)
        mri = {display_name(n): p for n, p in self.ctx.mri_fiducials.items()}
        touched = {display_name(n): p for n, p in self.ctx.touched.items()}
        mismatches = [m for m in distance_mismatches(mri, touched) if shown in m[:2]]
        if mismatches:
            self.capture_message.show_message(mismatches[0].message + " Redo it if so.", "warn")
        else:
            self.capture_message.show_message(f"{shown} captured.", "ok")
        self._current = self._next_untouched(after=name)
        self._after_change(name)
        return True

    def _after_change(self, _name: str) -> None:
        self.suspected = ""                       # the set changed: judge it again
        self.ctx.refit()                          # emits fiducialsChanged -> refresh()
        self.outputChanged.emit(self.ctx.fit_ok)
        self.readyChanged.emit()

    # ----- live ---------------------------------------------------------------------------
    def enter(self) -> None:
        self.detector.reset()
        self._arm_after_move = True
        self._last_ns = time.monotonic_ns()
        self._current = self._next_untouched()
        self.refresh()

    def leave(self) -> None:
        self.detector.reset()
        self.hold_bar.setValue(0)

    def on_snapshot(self, snap) -> None:
        point, why = self.ctx.paired_tip("reference")
        if self._gap.too_long(point is not None, time.monotonic()):
            self.detector.reset()                 # lost too long: whatever came before is void
        if point is not None:
            if self._arm_after_move:             # whatever the tip rests on now is not asked
                self.detector.mark_captured(point)
                self._arm_after_move = False
            for t_ns, tip in self.ctx.paired_history("reference", self._last_ns):
                self.detector.add(t_ns / 1e9, tip)
                self._last_ns = t_ns
        hold = self.detector.state()
        if (self.auto.isChecked() and hold.still and point is not None and self._current is not None
                and self._current not in self.ctx.touched):
            self.capture(auto=True)
            hold = self.detector.state()          # captured or refused: the hold starts over
        if point is None:
            self.live.setText(why)
        elif not hold.armed:
            self.live.setText("Pointer tracked: move the pointer onto the landmark first.")
        else:
            motion = "" if hold.motion_mm is None else f" (motion {hold.motion_mm:.2f} mm)"
            self.live.setText(f"Pointer tracked{motion}.")
        self.hold_bar.setValue(int(1000 * hold.held_s / self.detector.window_s)
                               if hold.armed else 0)

    def ready(self) -> tuple[bool, str]:
        ctx = self.ctx
        if ctx.fit_ok and self.suspected:
            return False, self.suspected
        if ctx.fit_ok:
            return True, ""
        cause = "" if self.diagnosis is None else f" Likely cause: {self.diagnosis.message}"
        if ctx.fiducial_error:
            return False, ctx.fiducial_error + cause
        if ctx.fiducial_fit is not None:
            return False, " ".join(ctx.fiducial_fit.problems) + cause
        todo = [display_name(n) for n in ctx.landmark_names[:3] if n not in ctx.touched]
        unset = [display_name(n) for n in ctx.landmark_names[:3] if n not in ctx.mri_fiducials]
        if unset:
            return False, "Set the MRI point of " + ", ".join(unset) + "."
        return False, "Touch " + ", ".join(todo) + "." if todo else "Touch at least 3 landmarks."

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(360, 560)
