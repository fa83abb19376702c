"""New patient: a pseudonym (required) and, optionally, identifying fields.

The pseudonym is the only patient key that ever leaves the database: folder names, file names,
logs and exports use it alone. Name, birth date, sex and MRN are optional, stay in the database and
appear only in the GUI (and, when the clinic turns it on, in a report header). The dialog stays open
when the database refuses (a pseudonym already in use): the message is shown in the dialog, in red,
and what was typed is kept.
"""

from __future__ import annotations

import re

from PySide6 import QtCore, QtWidgets

from .form_footer import add_message_and_buttons

__all__ = ["PatientDialog", "PSEUDONYM_RULE", "pseudonym_problem"]

#: The clinic record's rule (folder and BIDS-safe: letters, digits, '_', '-'), checked here so the
#: message comes before any database round trip.
PSEUDONYM_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SEXES = ("", "female", "male", "other")


def pseudonym_problem(text: str) -> str:
    """Why ``text`` cannot be a pseudonym ("" when it can)."""
    if not text:
        return "A pseudonym is required (e.g. TMS-0042); the name and other identifiers are optional."
    if not PSEUDONYM_RULE.match(text):
        return ("The pseudonym may hold only letters, digits, '_' and '-' (no spaces), up to 64 "
                "characters, starting with a letter or digit: it names folders and export files.")
    return ""


class PatientDialog(QtWidgets.QDialog):
    """Emits ``submitted(dict)`` with add_patient's arguments; the owner calls :meth:`done_ok`
    on success or :meth:`refuse` with the database's message."""

    submitted = QtCore.Signal(dict)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New patient")
        self.setObjectName("patient_dialog")
        form = QtWidgets.QFormLayout(self)
        self.pseudonym = QtWidgets.QLineEdit()
        self.pseudonym.setObjectName("patient_pseudonym")
        self.pseudonym.setPlaceholderText("required, e.g. TMS-0042")
        self.full_name = QtWidgets.QLineEdit()
        self.birth_known = QtWidgets.QCheckBox("known")
        self.birth_date = QtWidgets.QDateEdit(QtCore.QDate(1980, 1, 1))
        self.birth_date.setDisplayFormat("yyyy-MM-dd")
        self.birth_date.setCalendarPopup(True)
        self.birth_date.setEnabled(False)
        self.birth_known.toggled.connect(self.birth_date.setEnabled)
        birth = QtWidgets.QHBoxLayout()
        birth.addWidget(self.birth_known)
        birth.addWidget(self.birth_date, 1)
        self.sex = QtWidgets.QComboBox()
        for s in SEXES:
            self.sex.addItem(s or "not given", s)
        self.mrn = QtWidgets.QLineEdit()
        self.notes = QtWidgets.QPlainTextEdit()
        self.notes.setMaximumHeight(60)
        form.addRow("Pseudonym", self.pseudonym)
        note = QtWidgets.QLabel("Optional, kept in the database only (never in file names or logs):")
        note.setWordWrap(True)
        form.addRow(note)
        form.addRow("Full name", self.full_name)
        form.addRow("Birth date", birth)
        form.addRow("Sex", self.sex)
        form.addRow("MRN", self.mrn)
        form.addRow("Notes", self.notes)
        self.message, self.ok_button = add_message_and_buttons(self, form, object_name="patient_message",
                                                               ok_text="Add patient", submit=self.submit)

    def values(self) -> dict:
        birth = self.birth_date.date().toString("yyyy-MM-dd") if self.birth_known.isChecked() else None
        return {"pseudonym": self.pseudonym.text().strip(),
                "full_name": self.full_name.text().strip() or None,
                "birth_date": birth, "sex": self.sex.currentData() or None,
                "mrn": self.mrn.text().strip() or None, "notes": self.notes.toPlainText().strip()}

    def submit(self) -> None:
        values = self.values()
        problem = pseudonym_problem(values["pseudonym"])
        if problem:
            self.refuse(problem)
            return
        self.message.setText("")
        self.ok_button.setEnabled(False)          # one request at a time
        self.submitted.emit(values)

    def refuse(self, message: str) -> None:
        self.message.setText(message)
        self.ok_button.setEnabled(True)
        self.pseudonym.setFocus()

    def done_ok(self) -> None:
        self.accept()
