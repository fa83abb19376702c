"""Report an adverse event of today's session: what happened, how severe, what was done.

The event goes into the session's append-only log (``adverse_event``, fsynced like a pulse), so it
is kept even when the clinic database is unreachable, and reaches the database with the rest of
the session. Severity follows the common mild / moderate / severe grading of adverse events
(CTCAE-like), plus "serious" for an event that needs reporting as a serious adverse event (e.g. a
seizure, Rossi et al. 2021 safety guidelines, Clin Neurophysiol 132:269).
"""

from __future__ import annotations

from PySide6 import QtWidgets

__all__ = ["AdverseEventDialog", "SEVERITIES"]

SEVERITIES = ("mild", "moderate", "severe", "serious")


class AdverseEventDialog(QtWidgets.QDialog):
    def __init__(self, session_label: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Report adverse event")
        self.setObjectName("adverse_event_dialog")
        form = QtWidgets.QFormLayout(self)
        form.addRow(QtWidgets.QLabel(f"Recorded in {session_label}"))
        self.description = QtWidgets.QLineEdit()
        self.description.setPlaceholderText("e.g. headache after the session, scalp discomfort")
        self.severity = QtWidgets.QComboBox()
        self.severity.addItems(SEVERITIES)
        self.action = QtWidgets.QLineEdit()
        self.action.setPlaceholderText("e.g. paracetamol, intensity lowered, session stopped")
        form.addRow("What happened", self.description)
        form.addRow("Severity", self.severity)
        form.addRow("Action taken", self.action)
        self.message = QtWidgets.QLabel("")
        self.message.setStyleSheet("color: #b00020; font-weight: bold")
        form.addRow(self.message)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, str, str]:
        return self.description.text().strip(), self.severity.currentText(), self.action.text().strip()

    def _accept(self) -> None:
        if not self.values()[0]:
            self.message.setText("Describe what happened.")
            return
        self.accept()
