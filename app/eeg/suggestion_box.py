"""The qEEG suggestions: site, frequency and protocol from the documented rule table, each with
its reasons (every reason carries its number), its citations and the reminder that it is
decision support — the clinician confirms. "Add as target" hands the suggestion to the panel,
which places a normal tmsnav target (source "qeeg") at the electrode on this head.

The evidence that qEEG measures predict rTMS response is weak and mixed (Widge et al. 2019,
Am J Psychiatry 176:44), so the box never phrases a suggestion as a prescription.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6 import QtCore, QtWidgets

__all__ = ["SuggestionBox", "suggestion_html", "DECISION_SUPPORT"]

DECISION_SUPPORT = "Decision support: the clinician confirms the site, the frequency and the protocol."


def suggestion_html(s: Any) -> str:
    """One suggestion as rich text (site, side, frequency, protocol, reasons, citations)."""
    freq = "—" if s.frequency_hz is None else f"{s.frequency_hz:g} Hz"
    parts = [f"<b>{html.escape(s.site)}</b> ({html.escape(s.side)}) — {freq}, {html.escape(s.protocol)}"]
    if s.reasons:
        parts.append("<ul style='margin:2px'>" + "".join(f"<li>{html.escape(r)}</li>" for r in s.reasons)
                     + "</ul>")
    if s.citations:
        parts.append("<i>" + "<br>".join(html.escape(c) for c in s.citations) + "</i>")
    if s.confidence_note:
        parts.append(f"<span style='color:#8a4b00'>{html.escape(s.confidence_note)}</span>")
    return "<br>".join(parts)


class SuggestionBox(QtWidgets.QGroupBox):
    """The list of suggestions, one frame each with its "Add as target" button."""

    addRequested = QtCore.Signal(int)      # index into the suggestions shown

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Suggestion (decision support)", parent)
        self.setObjectName("qeeg_suggestion_box")
        self.suggestions: list[Any] = []
        self.add_buttons: list[QtWidgets.QPushButton] = []
        self._layout = QtWidgets.QVBoxLayout(self)
        note = QtWidgets.QLabel(DECISION_SUPPORT)
        note.setObjectName("qeeg_decision_support")
        note.setWordWrap(True)
        note.setStyleSheet("font-weight: bold")
        self._layout.addWidget(note)
        self.empty = QtWidgets.QLabel("Load an EEG to see the suggestion.")
        self.empty.setWordWrap(True)
        self._layout.addWidget(self.empty)
        self._items: list[QtWidgets.QWidget] = []

    def show_suggestions(self, suggestions: list[Any]) -> None:
        """Show ``suggestions`` (an empty list: no rule applies, and the box says so)."""
        for w in self._items:
            self._layout.removeWidget(w)
            w.deleteLater()
        self._items.clear()
        self.add_buttons.clear()
        self.suggestions = list(suggestions)
        self.empty.setVisible(not self.suggestions)
        self.empty.setText("No rule of the table applies to this recording: no site is suggested.")
        for i, s in enumerate(self.suggestions):
            frame = QtWidgets.QFrame()
            frame.setObjectName(f"qeeg_suggestion_{i}")
            frame.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
            v = QtWidgets.QVBoxLayout(frame)
            label = QtWidgets.QLabel(suggestion_html(s))
            label.setObjectName(f"qeeg_suggestion_text_{i}")
            label.setWordWrap(True)
            label.setTextFormat(QtCore.Qt.TextFormat.RichText)
            v.addWidget(label)
            button = QtWidgets.QPushButton(f"Add {s.site} as target")
            button.setObjectName(f"qeeg_add_target_{i}")
            button.clicked.connect(lambda _=False, k=i: self.addRequested.emit(k))
            v.addWidget(button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
            self.add_buttons.append(button)
            self._layout.addWidget(frame)
            self._items.append(frame)
