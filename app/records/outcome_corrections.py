"""Correcting an outcome assessment from the course view, with an audit trail.

A rater mistypes an item, enters a score on the wrong patient's course, or types a MADRS as an
HDRS-17. A clinical entry is never overwritten or deleted (GCP; FDA 21 CFR Part 11 section
11.10(e)): *Correct…* opens the assessment form filled with the selected entry plus a required
reason, and saves a new entry while the original is kept, retracted, with who, when and why
(``Records.correct_outcome``); *Entered in error…* asks the reason and, on confirmation, retracts
the entry with no replacement (``Records.retract_outcome``). Both run on the records worker
(never the GUI thread); a refusal (already corrected, nothing changed, no reason) is a message.
*Show corrections* lists the retracted entries greyed and struck through, "corrected" or
"entered in error" in the severity column, the reason in the tooltip. The plot and the
suicidality banner always use the current entries only; the course report lists every
correction under "Amendments".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.outcomes import OutcomeError, scale_definition, score

from .course_tables import fill_outcomes
from .outcome_entry import UNKNOWN, OutcomeEntryDialog, OutcomeValues
from .safety_alert import ALERT_RED

__all__ = ["OutcomeCorrectionDialog", "RetractDialog", "CorrectionsBar", "OutcomeCorrectionActions",
           "Correction", "RETRACTED_GREY"]

RETRACTED_GREY = "#8a8a8a"
NOTHING_CHANGED = ("Nothing is changed yet: correct a value, or use 'Entered in error…' for an entry that should "
                   "not be there at all.")


def _when(iso: str | None) -> str:
    return "" if not iso else iso[:16].replace("T", " ") + " UTC"


def _entry_text(o: Any) -> str:
    return f"{o.scale} of {o.assessed_on} (total {o.total}" + (f", {o.timepoint}" if o.timepoint else "") + ")"


def _audit_fields(form: QtWidgets.QFormLayout, what: str, by: str, name: str) -> tuple[QtWidgets.QLineEdit,
                                                                                        QtWidgets.QLineEdit]:
    reason = QtWidgets.QLineEdit()
    reason.setObjectName(f"{name}_reason")
    reason.setPlaceholderText("required: what was wrong (kept in the record with the original)")
    who = QtWidgets.QLineEdit(by)
    who.setObjectName(f"{name}_by")
    who.setMaxLength(100)                        # outcomes.retracted_by is VARCHAR(100)
    who.setPlaceholderText("your name or initials")
    form.addRow(f"Reason for {what}", reason)
    form.addRow(f"{what.capitalize()} by", who)
    return reason, who


def _missing_audit(reason: QtWidgets.QLineEdit, who: QtWidgets.QLineEdit, what: str) -> str:
    if not reason.text().strip():
        reason.setFocus()
        return f"Give the reason for the {what}: it is kept with the original entry."
    if not who.text().strip():
        who.setFocus()
        return f"Say who makes the {what} (name or initials)."
    return ""


@dataclass(frozen=True)
class Correction:
    """What the correction dialog returns: the corrected values, who and why."""

    values: OutcomeValues
    by: str
    reason: str


class OutcomeCorrectionDialog(OutcomeEntryDialog):
    """The assessment form filled with ``outcome``, plus the reason and who corrects (required).
    Saving an unchanged form is refused here, before anything reaches the database."""

    def __init__(self, outcome: Any, parent: QtWidgets.QWidget | None = None, *, by: str = "",
                 today: dt.date | None = None, **kwargs: Any) -> None:
        today = today or dt.date.today()
        super().__init__(parent, scale=outcome.scale, rater=outcome.rater, today=today, **kwargs)
        self.outcome = outcome
        self._correction: Correction | None = None
        self.setObjectName("outcome_correction_dialog")
        self.setWindowTitle("Correct outcome assessment")
        self.save_button.setText("Save correction")
        day = dt.date.fromisoformat(outcome.assessed_on)
        if day > today:                          # keep the original date selectable
            self._today = day
            self.date.setMaximumDate(QtCore.QDate(day.year, day.month, day.day))
        self.date.setDate(QtCore.QDate(day.year, day.month, day.day))
        self.timepoint.setCurrentText(outcome.timepoint)
        self._prefill(outcome)
        layout = self.layout()
        assert isinstance(layout, QtWidgets.QVBoxLayout)
        intro = QtWidgets.QLabel(f"Correcting the {_entry_text(outcome)}, entered {_when(outcome.entered_utc)}. "
                                 "The original stays in the clinic record with your reason; the corrected "
                                 "entry replaces it in the plot, the safety alert and the reports.")
        intro.setObjectName("correction_intro")
        intro.setWordWrap(True)
        layout.insertWidget(0, intro)
        form = QtWidgets.QFormLayout()
        self.reason, self.by = _audit_fields(form, "correction", by, "correction")
        layout.insertLayout(layout.indexOf(self.message), form)

    def _prefill(self, o: Any) -> None:
        defn = scale_definition(o.scale)
        items = tuple(o.items) if o.items is not None else None
        if items is not None and len(items) == defn.n_items and all(v is not None for v in items):
            self.by_items.setChecked(True)
            for spin, value in zip(self.spins, items):
                spin.setValue(int(value))
            return
        self.by_total.setChecked(True)
        self.total.setValue(int(o.total))
        known = None if items is None or len(items) < defn.safety_item else items[defn.safety_item - 1]
        index = self.safety.findData(UNKNOWN if known is None else int(known))
        self.safety.setCurrentIndex(max(index, 0))

    def _unchanged(self) -> bool:
        """True when the form still holds the original entry's values."""
        try:
            items, total = self._inputs()
            result = score(self.definition.name, items=items, total=total)
        except OutcomeError:
            return False                          # the parent says what is wrong
        o = self.outcome
        q = self.date.date()
        new_items = None if result.items is None else tuple(result.items)
        old_items = None if o.items is None or all(v is None for v in o.items) else tuple(o.items)
        return (self.definition.name, dt.date(q.year(), q.month(), q.day()).isoformat(), result.total, new_items,
                self.timepoint.currentText().strip(), self.rater.text().strip()) == (
                    o.scale, o.assessed_on, o.total, old_items, o.timepoint, o.rater)

    def _update_live(self) -> None:
        super()._update_live()
        if self.message.text() == NOTHING_CHANGED:      # a value changed since: the refusal is old news
            self.message.setText("")

    def try_accept(self) -> None:
        missing = _missing_audit(self.reason, self.by, "correction")
        if missing:
            self.message.setText(missing)
            return
        if self._unchanged():
            self.message.setText(NOTHING_CHANGED)
            return
        super().try_accept()

    def correction(self) -> Correction:
        """The accepted correction (after ``accepted``)."""
        return Correction(self.result_values(), self.by.text().strip(), self.reason.text().strip())


class RetractDialog(QtWidgets.QDialog):
    """Confirm "entered in error" for one entry, with the reason and who (both required)."""

    def __init__(self, outcome: Any, parent: QtWidgets.QWidget | None = None, *, by: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("outcome_retract_dialog")
        self.setWindowTitle("Entered in error")
        self.outcome = outcome
        layout = QtWidgets.QVBoxLayout(self)
        text = QtWidgets.QLabel(f"Mark the {_entry_text(outcome)} as entered in error? It stays in the clinic "
                                "record, greyed, with your reason, and no longer counts in the plot, the safety "
                                "alert or the reports. To change a value instead, use 'Correct…'.")
        text.setWordWrap(True)
        layout.addWidget(text)
        self.warning = QtWidgets.QLabel(self._safety_warning(outcome))
        self.warning.setObjectName("retract_safety_warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(f"color: {ALERT_RED}; font-weight: bold")
        self.warning.setVisible(bool(self.warning.text()))
        layout.addWidget(self.warning)
        form = QtWidgets.QFormLayout()
        self.reason, self.by = _audit_fields(form, "retraction", by, "retract")
        layout.addLayout(form)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("retract_message")
        self.message.setStyleSheet(f"color: {ALERT_RED}; font-weight: bold")
        layout.addWidget(self.message)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.confirm = QtWidgets.QPushButton("Mark entered in error")
        self.confirm.setObjectName("retract_confirm")
        buttons.addButton(self.confirm, QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, 220)

    @staticmethod
    def _safety_warning(o: Any) -> str:
        try:
            defn = scale_definition(o.scale)
        except ValueError:
            return ""
        n = defn.safety_item
        value = None if o.items is None or len(o.items) < n else o.items[n - 1]
        if value is None or value < defn.safety_min:
            return ""
        return (f"This entry has item {n} ({defn.items[n - 1].label}) = {value}. If that is the patient's "
                "answer, the safety alert it raised goes away: check the form first.")

    def try_accept(self) -> None:
        missing = _missing_audit(self.reason, self.by, "retraction")
        if missing:
            self.message.setText(missing)
            return
        self.accept()

    def values(self) -> tuple[str, str]:
        """(by, reason)."""
        return self.by.text().strip(), self.reason.text().strip()


class CorrectionsBar(QtWidgets.QWidget):
    """*Correct…*, *Entered in error…* and *Show corrections* under the view's outcomes table."""

    correctRequested = QtCore.Signal(object)        # OutcomeInfo
    retractRequested = QtCore.Signal(object)        # OutcomeInfo
    everyRequested = QtCore.Signal(str)             # course uid: load every entry (Show corrections)

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self.view = view
        self.table: QtWidgets.QTableWidget = view.outcomes
        self._every: tuple[str, Sequence[Any]] | None = None     # (course uid, every entry)
        self._shown: tuple[str, tuple[Any, ...]] | None | bool = False   # last (course, entries) shown
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.correct_button = QtWidgets.QPushButton("Correct…")
        self.correct_button.setObjectName("correct_assessment")
        self.retract_button = QtWidgets.QPushButton("Entered in error…")
        self.retract_button.setObjectName("retract_assessment")
        self.show_box = QtWidgets.QCheckBox("Show corrections")
        self.show_box.setObjectName("show_corrections")
        self.show_box.setToolTip("List corrected entries and entries marked entered in error too (greyed); "
                                 "they never count in the plot or the safety alert")
        for w in (self.correct_button, self.retract_button, self.show_box):
            layout.addWidget(w)
        self.correct_button.clicked.connect(lambda: self._request(self.correctRequested))
        self.retract_button.clicked.connect(lambda: self._request(self.retractRequested))
        self.show_box.toggled.connect(self._toggled)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self._selection_changed()

    def show_course(self, data: Any | None) -> None:
        """The view shows ``data``: fill the outcomes table (the one place that does) and, with
        Show corrections on, ask for every entry again (a correction may have just been saved).
        The same course with the same entries, as the view's reload every 3 s of an open session
        gives, changes nothing: no database round trip, and the row the user selected stays."""
        shown = None if data is None else (data.course.uid, tuple(data.outcomes))
        if shown == self._shown:
            return
        self._shown = shown
        self._every = None
        self.refill()
        if data is not None and self.show_box.isChecked():
            self.everyRequested.emit(data.course.uid)

    def set_every(self, course_uid: str, every: Sequence[Any]) -> None:
        """Every entry of the course, retracted ones too (the records worker's answer)."""
        data = self.view.data
        if data is not None and data.course.uid == course_uid:
            self._every = (course_uid, tuple(every))
            self.refill()

    def _toggled(self, on: bool) -> None:
        data = self.view.data
        if on and data is not None and self._every is None:
            self.everyRequested.emit(data.course.uid)
        self.refill()

    def _entries(self) -> Sequence[Any]:
        data = self.view.data
        if data is None:
            return ()
        if self.show_box.isChecked() and self._every is not None and self._every[0] == data.course.uid:
            return self._every[1]
        return data.outcomes

    def refill(self) -> None:
        """The table again (after a new course or the checkbox): current entries, or every entry
        with the retracted ones greyed."""
        entries = self._entries()
        fill_outcomes(self.table, entries)
        by_uid = {o.uid: o for o in entries}
        replaced = {o.superseded_by_uid: o for o in entries if getattr(o, "superseded_by_uid", None)}
        for row in range(self.table.rowCount()):
            first = self.table.item(row, 0)
            o = by_uid.get(first.data(QtCore.Qt.ItemDataRole.UserRole)) if first is not None else None
            if o is None:
                continue
            if getattr(o, "retracted", False):
                self._grey(row, o)
            elif o.uid in replaced:
                old = replaced[o.uid]
                for col in range(self.table.columnCount()):
                    item = self.table.item(row, col)
                    if item is not None:
                        item.setToolTip(item.toolTip() + f"\nCorrects the entry of total {old.total} "
                                        f"({_when(old.retracted_utc)}, {old.retracted_by}): {old.retraction_reason}")
        self._selection_changed()

    def _grey(self, row: int, o: Any) -> None:
        kind = o.retraction_kind
        tip = f"{kind.capitalize()} on {_when(o.retracted_utc)} by {o.retracted_by}: {o.retraction_reason}"
        for col in range(self.table.columnCount()):
            item = self.table.item(row, col)
            if item is None:
                continue
            if col == 4:
                item.setText(kind)
            item.setForeground(QtGui.QBrush(QtGui.QColor(RETRACTED_GREY)))
            font = item.font()
            font.setItalic(True)
            font.setStrikeOut(col != 4)
            item.setFont(font)
            item.setToolTip(tip)

    def selected(self) -> Any | None:
        """The entry of the selected row (None without a selection)."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        uid = None if item is None else item.data(QtCore.Qt.ItemDataRole.UserRole)
        return next((o for o in self._entries() if o.uid == uid), None)

    def _selection_changed(self) -> None:
        o = self.selected()
        usable = o is not None and not getattr(o, "retracted", False)
        self.correct_button.setEnabled(usable)
        self.retract_button.setEnabled(usable)
        tip = ("Select an assessment in the table first" if o is None else
               f"This entry was already {o.retraction_kind}; correct the current entry" if not usable else "")
        self.correct_button.setToolTip(tip or "Correct the selected assessment (the original is kept)")
        self.retract_button.setToolTip(tip or "Mark the selected assessment entered in error (it is kept, greyed)")

    def _request(self, signal: QtCore.SignalInstance) -> None:
        o = self.selected()
        if o is not None and not getattr(o, "retracted", False):
            signal.emit(o)


class OutcomeCorrectionActions(QtCore.QObject):
    """The work behind the bar: the dialogs, then ``Records.correct_outcome`` /
    ``retract_outcome`` on the records worker; ``changed(course uid)`` reloads the course."""

    def __init__(self, window: Any, controller: Any, view: Any, changed: Callable[[str], object],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.controller = controller
        self.view = view
        self.changed = changed
        self.dialog: QtWidgets.QDialog | None = None
        view.corrections.correctRequested.connect(self.correct)
        view.corrections.retractRequested.connect(self.retract)
        view.corrections.everyRequested.connect(self.load_every)

    def load_every(self, course_uid: str) -> None:
        """Every entry of the course (Show corrections), read on the records worker."""
        bar = self.view.corrections
        self.controller.call(lambda r: r.outcomes(course_uid, include_retracted=True),
                             lambda every: bar.set_every(course_uid, every),
                             lambda _e, m: self.window.statusBar().showMessage(
                                 f"Corrections not shown: {m}", 15000),
                             owner=bar, name="list the corrections")

    def _by(self) -> str:
        return self.view.operator.text().strip()

    def correct(self, outcome: Any) -> OutcomeCorrectionDialog:
        dialog = OutcomeCorrectionDialog(outcome, self.view, by=self._by())
        dialog.accepted.connect(lambda: self._save_correction(outcome, dialog.correction()))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _save_correction(self, outcome: Any, c: Correction) -> None:
        v = c.values
        # the form's "not asked" (no item known) is every item None: None would keep the original's
        items = v.items if v.items is not None else [None] * scale_definition(v.scale).n_items
        note = self._acknowledgement_note(v)
        session = self._open_session(outcome.course_uid)
        if note and session is not None:
            session.add_note(note)

        def work(records: Any) -> Any:
            new = records.correct_outcome(outcome.uid, by=c.by, reason=c.reason, items=items, total=v.total,
                                          assessed_on=v.assessed_on, timepoint=v.timepoint, rater=v.rater,
                                          scale=v.scale)
            if note and session is None:
                course = records.course(outcome.course_uid)
                records.update_course(outcome.course_uid, notes="\n".join(x for x in (course.notes, note) if x))
            return new

        self.controller.call(work, lambda _n: self._done(outcome.course_uid, "Assessment corrected"),
                             lambda _e, m: self.window.show_error("Correction not saved", m),
                             name="correct an assessment")

    def retract(self, outcome: Any) -> RetractDialog:
        dialog = RetractDialog(outcome, self.view, by=self._by())
        dialog.accepted.connect(lambda: self._save_retraction(outcome, *dialog.values()))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _save_retraction(self, outcome: Any, by: str, reason: str) -> None:
        self.controller.call(lambda r: r.retract_outcome(outcome.uid, by=by, reason=reason),
                             lambda _o: self._done(outcome.course_uid, "Assessment marked entered in error"),
                             lambda _e, m: self.window.show_error("Not marked entered in error", m),
                             name="mark an assessment entered in error")

    def _done(self, course_uid: str, what: str) -> None:
        self.window.statusBar().showMessage(f"{what}; the original is kept (Show corrections, course report "
                                            "Amendments).", 15000)
        self.changed(course_uid)

    def _open_session(self, course_uid: str) -> Any | None:
        session = self.window.state.session
        if session is not None and getattr(session.record, "course_uid", "") == course_uid:
            return session
        return None

    @staticmethod
    def _acknowledgement_note(v: OutcomeValues) -> str:
        ack = v.acknowledgement
        if ack is None:
            return ""
        return (f"Safety alert ({v.scale} of {v.assessed_on}, corrected entry) acknowledged by {ack.by} at "
                f"{ack.at_utc[:16]} UTC: " + " ".join(ack.messages))
