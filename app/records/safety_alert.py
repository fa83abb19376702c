"""The suicide-item safety alert in the GUI: a modal dialog that must be acknowledged, and a red
banner in the course view that stays until a newer assessment clears it.

Why both: the dialog makes sure the person entering the assessment has read it (name and time of
the acknowledgement are returned to the caller, who records them); the banner makes sure everyone
who opens the course later sees it too, however low the total was. Which ratings raise the alert
and what clears it: :mod:`tmsnav.navigation.outcomes.alerts` and docs/outcomes.md.

The dialog has no "ignore": closing it (Esc, the window's close button) goes back to the entry
without saving; the assessment is saved only once the alert is acknowledged.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.outcomes import safety_alerts, unknown_safety_items
from tmsnav.navigation.outcomes.scales import scale_definition

__all__ = ["Acknowledgement", "SafetyAlertDialog", "SafetyBanner", "ALERT_RED", "current_user"]

ALERT_RED = "#b00020"
WHAT_TO_DO = ("Assess suicide risk now, before the patient leaves, following your clinic's "
              "procedure, and record what was done.")


def current_user() -> str:
    """The login name, the default for 'acknowledged by' (the clinician may change it)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged which alert messages, and when (UTC ISO)."""

    by: str
    at_utc: str
    messages: tuple[str, ...]


class SafetyAlertDialog(QtWidgets.QDialog):
    """Modal: the alert messages, what to do, and 'Acknowledge' that needs a name and a tick."""

    def __init__(self, messages: Sequence[str], parent: QtWidgets.QWidget | None = None, *,
                 acknowledger: str | None = None,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        super().__init__(parent)
        self.setObjectName("safety_alert_dialog")
        self.setWindowTitle("Safety alert: suicidal thoughts reported")
        self.setModal(True)
        self._messages = tuple(messages)
        self._now = now
        self.acknowledgement: Acknowledgement | None = None
        layout = QtWidgets.QVBoxLayout(self)
        head = QtWidgets.QLabel("SAFETY ALERT")
        head.setObjectName("safety_alert_head")
        head.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        head.setStyleSheet(f"background: {ALERT_RED}; color: white; font-size: 20px; font-weight: bold; "
                           "padding: 10px")
        layout.addWidget(head)
        body = QtWidgets.QLabel("<br>".join(f"<b>{m}</b>" for m in self._messages)
                                + f"<br><br>{WHAT_TO_DO}")
        body.setObjectName("safety_alert_text")
        body.setWordWrap(True)
        body.setStyleSheet("font-size: 14px")
        body.setMinimumWidth(460)
        layout.addWidget(body)
        form = QtWidgets.QFormLayout()
        self.name = QtWidgets.QLineEdit(current_user() if acknowledger is None else acknowledger)
        self.name.setObjectName("safety_ack_name")
        form.addRow("Acknowledged by", self.name)
        self.seen = QtWidgets.QCheckBox("I have read this alert and will act on it now")
        self.seen.setObjectName("safety_ack_seen")
        form.addRow(self.seen)
        layout.addLayout(form)
        self.ack_button = QtWidgets.QPushButton("Acknowledge")
        self.ack_button.setObjectName("safety_ack_button")
        self.ack_button.setEnabled(False)
        self.ack_button.clicked.connect(self._acknowledge)
        back = QtWidgets.QPushButton("Back to the assessment (not saved)")
        back.setObjectName("safety_back_button")
        back.setAutoDefault(False)
        back.clicked.connect(self.reject)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(self.ack_button)
        layout.addLayout(row)
        self.name.textChanged.connect(self._update)
        self.seen.toggled.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.ack_button.setEnabled(self.seen.isChecked() and bool(self.name.text().strip()))

    def _acknowledge(self) -> None:
        if not self.ack_button.isEnabled():
            return
        stamp = self._now().astimezone(dt.timezone.utc).isoformat(timespec="seconds")
        self.acknowledgement = Acknowledgement(self.name.text().strip(), stamp, self._messages)
        self.accept()


class SafetyBanner(QtWidgets.QFrame):
    """The course view's banner: red while a suicide-item alert stands (cannot be closed; a newer
    assessment of that scale with the item below the alert rating clears it); an amber line when
    the latest assessment of a scale was entered as a total without its suicide item; hidden
    otherwise."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("safety_banner")
        policy = QtWidgets.QSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Maximum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self._margins = layout.contentsMargins()
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("safety_banner_text")
        self.label.setWordWrap(True)
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        layout.addWidget(self.label)
        self.alerts: list[Any] = []
        self.unknown: list[str] = []
        self.set_outcomes(())

    @property
    def is_alert(self) -> bool:
        return bool(self.alerts)

    def set_outcomes(self, outcomes: Sequence[Any]) -> None:
        """Show the alerts standing in these assessments (OutcomeInfo-like)."""
        try:
            self.alerts = safety_alerts(outcomes)
            self.unknown = [s for s in unknown_safety_items(outcomes)
                            if s not in {a.scale for a in self.alerts}]
        except ValueError as exc:                   # a stored row the scorer refuses: say so
            self.alerts, self.unknown = [], []
            self._show(f"Outcome assessments could not be checked for safety alerts: {exc}", "#8a5a00")
            return
        if self.alerts:
            lines = [f"<b>SAFETY ALERT</b> &mdash; {a.scale} item {a.item} ({a.label}) = {a.value} on "
                     f"{a.assessed_on.isoformat()}" for a in self.alerts]
            clear = "; ".join(f"a newer {a.scale} with item {a.item} below {a.alert_min}" for a in self.alerts)
            self._show("<br>".join(lines) + f"<br>{WHAT_TO_DO} Cleared by {clear}.", ALERT_RED)
        elif self.unknown:
            items = ", ".join(f"{s} item {scale_definition(s).safety_item}" for s in self.unknown)
            self._show(f"Latest assessment entered as a total only: {items} (suicidal thoughts) not recorded.",
                       "#8a5a00")
        else:
            self.label.setText("")
            self.setVisible(False)

    def _show(self, html: str, colour: str) -> None:
        self.label.setText(html)
        self.setStyleSheet(f"QFrame#safety_banner {{ background: {colour}; border-radius: 4px; }}"
                           "QLabel { color: white; font-size: 13px; }")
        self.setVisible(True)

    # A word-wrapped label's own size hint assumes a narrow width (tall); ask it for the height at
    # the banner's real width so the banner stays a banner.
    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt name)
        m = self._margins
        return self.label.heightForWidth(max(width - m.left() - m.right(), 50)) + m.top() + m.bottom()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt name)
        width = max(self.width(), 480)
        return QtCore.QSize(width, self.heightForWidth(width))

    def text(self) -> str:
        return self.label.text()
