"""Enter one outcome assessment: scale, date, timepoint, rater, and the items one by one (a spin
box per item with that item's allowed range) or the total alone.

The live line under the form shows the total (QIDS-SR16 by its domain rule) and the severity band
as the items are entered, or which items are still missing. Saving is refused with the scorer's
message (missing items are not prorated; an out-of-range total is refused). A total alone cannot
show the suicide item (PHQ-9 item 9 and its equivalents), so in "Total only" mode the dialog asks
for that item explicitly: a rating, or "not asked" chosen on purpose. A suicide item at or above
its alert rating opens the safety alert (:mod:`.safety_alert`), which must be acknowledged before
the assessment is accepted; who acknowledged and when travels with the values.

The dialog only returns the values (:meth:`OutcomeEntryDialog.result_values`); the course view's
actions save them with ``Records.add_outcome``. Scales, ranges and cut-offs: docs/outcomes.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.outcomes import SCALE_NAMES, OutcomeError, ScaleScore, scale_definition, score

from .safety_alert import ALERT_RED, Acknowledgement, SafetyAlertDialog, current_user

__all__ = ["OutcomeEntryDialog", "OutcomeValues", "TIMEPOINTS"]

TIMEPOINTS = ("baseline", "week 1", "week 2", "week 3", "week 4", "week 5", "week 6", "end of course",
              "follow-up 1 month", "follow-up 3 months")
EMPTY = -1                     # a spin box at this value shows "–": not entered
UNSET, UNKNOWN = "unset", "unknown"


@dataclass(frozen=True)
class OutcomeValues:
    """What the dialog returns. ``items`` is the full list (item by item), None (total only, suicide
    item not asked) or a list of None except the suicide item (total only, suicide item known);
    ``total`` is always set. ``acknowledgement`` is set when a safety alert was acknowledged."""

    scale: str
    assessed_on: str
    timepoint: str
    rater: str
    items: list[int | None] | None
    total: int
    score: ScaleScore
    acknowledgement: Acknowledgement | None = None


class OutcomeEntryDialog(QtWidgets.QDialog):
    def __init__(self, parent: QtWidgets.QWidget | None = None, *, scale: str = "PHQ-9", rater: str = "",
                 today: dt.date | None = None, acknowledger: str | None = None,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        super().__init__(parent)
        self.setObjectName("outcome_entry_dialog")
        self.setWindowTitle("Add outcome assessment")
        self._now = now
        self._acknowledger = acknowledger
        self._values: OutcomeValues | None = None
        self.alert_dialog: SafetyAlertDialog | None = None
        self.spins: list[QtWidgets.QSpinBox] = []
        today = today or dt.date.today()
        layout = QtWidgets.QVBoxLayout(self)

        form = QtWidgets.QFormLayout()
        self.scale = QtWidgets.QComboBox()
        self.scale.setObjectName("outcome_scale")
        for name in SCALE_NAMES:
            self.scale.addItem(f"{name} — {scale_definition(name).title}", name)
        self.date = QtWidgets.QDateEdit(QtCore.QDate(today.year, today.month, today.day))
        self.date.setObjectName("outcome_date")
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setMaximumDate(QtCore.QDate(today.year, today.month, today.day))
        self._today = today
        self.timepoint = QtWidgets.QComboBox()
        self.timepoint.setObjectName("outcome_timepoint")
        self.timepoint.setEditable(True)
        self.timepoint.addItems(TIMEPOINTS)
        self.timepoint.setCurrentText("")
        self.rater = QtWidgets.QLineEdit(rater)
        self.rater.setObjectName("outcome_rater")
        self.rater.setPlaceholderText("who rated (clinician, or 'self' for a questionnaire)")
        form.addRow("Scale", self.scale)
        form.addRow("Date", self.date)
        form.addRow("Timepoint", self.timepoint)
        form.addRow("Rater", self.rater)
        layout.addLayout(form)

        modes = QtWidgets.QHBoxLayout()
        self.by_items = QtWidgets.QRadioButton("Item by item")
        self.by_items.setObjectName("outcome_mode_items")
        self.by_total = QtWidgets.QRadioButton("Total only")
        self.by_total.setObjectName("outcome_mode_total")
        self.by_items.setChecked(True)
        modes.addWidget(self.by_items)
        modes.addWidget(self.by_total)
        modes.addStretch(1)
        layout.addLayout(modes)

        self.pages = QtWidgets.QStackedWidget()
        self.items_area = QtWidgets.QScrollArea()
        self.items_area.setWidgetResizable(True)
        self.items_area.setMinimumHeight(250)
        self.pages.addWidget(self.items_area)
        self.pages.addWidget(self._totals_page())
        layout.addWidget(self.pages, 1)

        self.live = QtWidgets.QLabel("")
        self.live.setObjectName("outcome_live")
        self.live.setWordWrap(True)
        self.live.setStyleSheet("font-size: 14px")
        layout.addWidget(self.live)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("outcome_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {ALERT_RED}; font-weight: bold")
        layout.addWidget(self.message)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Save
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.setObjectName("outcome_buttons")
        self.save_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.scale.currentIndexChanged.connect(self._scale_changed)
        self.by_items.toggled.connect(self._mode_changed)
        index = self.scale.findData(scale_definition(scale).name)
        self.scale.setCurrentIndex(max(index, 0))
        self._scale_changed()
        self.resize(620, 640)

    # ----- building -----------------------------------------------------------------------------
    def _totals_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        self.total = QtWidgets.QSpinBox()
        self.total.setObjectName("outcome_total")
        self.total.setSpecialValueText("–")
        self.total.valueChanged.connect(self._update_live)
        form.addRow("Total", self.total)
        self.safety_note = QtWidgets.QLabel("")
        self.safety_note.setObjectName("outcome_safety_note")
        self.safety_note.setWordWrap(True)
        self.safety_note.setStyleSheet("color: #7a0016; font-weight: bold")
        form.addRow(self.safety_note)
        self.safety_label = QtWidgets.QLabel("")
        self.safety = QtWidgets.QComboBox()
        self.safety.setObjectName("outcome_safety_item")
        self.safety.currentIndexChanged.connect(self._update_live)
        form.addRow(self.safety_label, self.safety)
        return page

    def _build_items(self) -> None:
        defn = self.definition
        holder = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(holder)
        grid.setHorizontalSpacing(14)
        self.spins = []
        rows = defn.n_items if defn.n_items <= 10 else (defn.n_items + 1) // 2
        for i, item in enumerate(defn.items):
            label = QtWidgets.QLabel(f"{i + 1}. {item.label} ({item.min}-{item.max})")
            spin = QtWidgets.QSpinBox()
            spin.setObjectName(f"item_{i + 1}")
            spin.setRange(EMPTY, item.max)
            spin.setSpecialValueText("–")
            spin.setValue(EMPTY)
            spin.setToolTip(f"{defn.name} item {i + 1}: {item.label}, {item.min} to {item.max}")
            if i + 1 == defn.safety_item:
                label.setStyleSheet("color: #7a0016; font-weight: bold")
                spin.setToolTip(spin.toolTip() + f"; {defn.safety_min} or more raises the safety alert")
            spin.valueChanged.connect(self._update_live)
            row, col = i % rows, 2 * (i // rows)
            grid.addWidget(label, row, col)
            grid.addWidget(spin, row, col + 1)
            self.spins.append(spin)
        grid.setRowStretch(rows, 1)
        self.items_area.setWidget(holder)

    @property
    def definition(self):
        return scale_definition(str(self.scale.currentData()))

    def _scale_changed(self) -> None:
        defn = self.definition
        self._build_items()
        self.total.setRange(EMPTY, defn.max_total)
        self.total.setValue(EMPTY)
        n, label = defn.safety_item, defn.items[defn.safety_item - 1]
        self.safety_label.setText(f"Item {n} ({label.label})")
        self.safety.blockSignals(True)
        self.safety.clear()
        self.safety.addItem(f"— ask and choose item {n} —", UNSET)
        for v in range(label.min, label.max + 1):
            self.safety.addItem(str(v), v)
        self.safety.addItem("not asked (unknown)", UNKNOWN)
        self.safety.blockSignals(False)
        self.safety_note.setText(
            f"A total cannot show {defn.name} item {n} ({label.label}). Ask the patient (or read the "
            f"form) and enter item {n}: {defn.safety_min} or more raises the safety alert whatever the total.")
        self.message.setText("")
        self._update_live()

    def _mode_changed(self) -> None:
        self.pages.setCurrentIndex(0 if self.by_items.isChecked() else 1)
        self.message.setText("")
        self._update_live()

    # ----- values -------------------------------------------------------------------------------
    def _inputs(self) -> tuple[list[int | None] | None, int | None]:
        """(items, total) as entered; raises OutcomeError for what the scorer cannot judge."""
        defn = self.definition
        if self.by_items.isChecked():
            return [None if s.value() == EMPTY else s.value() for s in self.spins], None
        total = None if self.total.value() == EMPTY else self.total.value()
        if total is None:
            raise OutcomeError(f"Enter the {defn.name} total (0-{defn.max_total}).")
        choice = self.safety.currentData()
        if choice == UNSET:
            raise OutcomeError(f"Choose {defn.name} item {defn.safety_item} "
                               f"({defn.items[defn.safety_item - 1].label}), or 'not asked'.")
        if choice == UNKNOWN:
            return None, total
        items: list[int | None] = [None] * defn.n_items
        items[defn.safety_item - 1] = int(choice)
        return items, total

    def _update_live(self) -> None:
        defn = self.definition
        if self.by_items.isChecked():
            missing = [i + 1 for i, s in enumerate(self.spins) if s.value() == EMPTY]
            if missing:
                shown = ", ".join(map(str, missing[:8])) + (" …" if len(missing) > 8 else "")
                self.live.setText(f"{defn.n_items - len(missing)} of {defn.n_items} items entered; "
                                  f"missing: {shown}")
                return
        else:
            if self.total.value() == EMPTY:
                self.live.setText(f"Enter the total (0-{defn.max_total}).")
                return
            if self.safety.currentData() == UNSET:
                band = defn.band(self.total.value()).label
                self.live.setText(f"<b>Total {self.total.value()}</b> of {defn.max_total} · <b>{band}</b> · "
                                  f"item {defn.safety_item} not chosen yet")
                return
        try:
            items, total = self._inputs()
            result = score(defn.name, items=items, total=total)
        except OutcomeError as exc:
            self.live.setText(str(exc))
            return
        text = f"<b>Total {result.total}</b> of {defn.max_total} · <b>{result.band}</b>"
        if result.remission:
            text += f" · within remission (≤ {defn.remission_max})"
        if result.alerts:
            text += (f"<br><span style='color:{ALERT_RED}'><b>Item {defn.safety_item} = {result.safety_value}: "
                     "the safety alert will be raised.</b></span>")
        self.live.setText(text)

    def try_accept(self) -> None:
        """Save: validate, raise the safety alert when needed, accept once it is acknowledged."""
        defn = self.definition
        qdate = self.date.date()
        day = dt.date(qdate.year(), qdate.month(), qdate.day())
        if day > self._today:
            self.message.setText(f"The assessment date {day.isoformat()} is in the future.")
            return
        try:
            items, total = self._inputs()
            result = score(defn.name, items=items, total=total)
        except OutcomeError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText("")
        values = OutcomeValues(scale=defn.name, assessed_on=day.isoformat(),
                               timepoint=self.timepoint.currentText().strip(), rater=self.rater.text().strip(),
                               items=None if result.items is None else list(result.items), total=result.total,
                               score=result)
        if not result.alerts:
            self._values = values
            self.accept()
            return
        who = self._acknowledger if self._acknowledger is not None else (values.rater or current_user())
        dialog = SafetyAlertDialog(result.alerts, self, acknowledger=who, now=self._now)
        self.alert_dialog = dialog
        dialog.finished.connect(lambda code: self._alert_finished(values, dialog, code))
        dialog.open()

    def _alert_finished(self, values: OutcomeValues, dialog: SafetyAlertDialog, code: int) -> None:
        if code == QtWidgets.QDialog.DialogCode.Accepted and dialog.acknowledgement is not None:
            self._values = dataclasses.replace(values, acknowledgement=dialog.acknowledgement)
            self.accept()
        else:
            self.message.setText("Not saved: the safety alert must be acknowledged before the assessment is "
                                 "saved.")

    def result_values(self) -> OutcomeValues:
        """The accepted assessment (after ``accepted``)."""
        if self._values is None:
            raise RuntimeError("the outcome entry dialog was not accepted")
        return self._values
