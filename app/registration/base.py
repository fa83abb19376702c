"""The step-widget base class and the small UI helpers every step uses."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["StepWidget", "MessageLabel", "fmt_mm", "LEVEL_STYLES", "heading", "compact_table"]

LEVEL_STYLES = {
    "info": "color: palette(text);",
    "ok": "color: #1b5e20; background: #e8f5e9; padding: 4px; border-radius: 3px;",
    "warn": "color: #5d4037; background: #fff3e0; padding: 4px; border-radius: 3px;",
    "error": "color: #ffffff; background: #b00020; padding: 4px; border-radius: 3px;",
}


def fmt_mm(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """A length for display; "—" when there is no value (never a stale number)."""
    if value is None:
        return "—"
    return f"{value:+.{digits}f} mm" if signed else f"{value:.{digits}f} mm"


def heading(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    font = label.font()
    font.setPointSize(font.pointSize() + 2)
    font.setBold(True)
    label.setFont(font)
    return label


def compact_table(table: QtWidgets.QTableWidget) -> QtWidgets.QTableWidget:
    """Read-only, no row numbers, rows one text line high (the dock is narrow and short)."""
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    return table


class MessageLabel(QtWidgets.QLabel):
    """A word-wrapped status line coloured by level (info / ok / warn / error)."""

    def __init__(self, object_name: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setWordWrap(True)
        self.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.level = "info"

    def show_message(self, text: str, level: str = "info") -> None:
        self.level = level if text else "info"
        self.setText(text)
        self.setStyleSheet(LEVEL_STYLES[self.level] if text else "")
        self.setVisible(bool(text))


class StepWidget(QtWidgets.QWidget):
    """One step of the workflow.

    ``outputChanged(valid)``: the step produced a new result (valid) or lost it (not valid); the
    panel marks the step done / to redo and the steps that depend on it as "needs redo".
    ``readyChanged``: re-ask :meth:`ready` (the Next button). ``goTo(key)``: jump to a step.
    """

    key = ""
    title = ""
    outputChanged = QtCore.Signal(bool)
    readyChanged = QtCore.Signal()
    goTo = QtCore.Signal(str)

    def __init__(self, ctx, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"step_{self.key}")
        self.layout_ = QtWidgets.QVBoxLayout(self)
        self.layout_.setContentsMargins(4, 4, 4, 4)
        self.layout_.addWidget(heading(self.title))

    def enter(self) -> None:
        """The step is shown."""

    def leave(self) -> None:
        """Another step is shown: stop anything running."""

    def on_snapshot(self, snap) -> None:
        """A tracking update (about 30 per second) while this step is shown."""

    def ready(self) -> tuple[bool, str]:
        """Whether Next may be pressed, and if not, why."""
        return True, ""

    def finish(self) -> bool:
        """Next was pressed; True marks the step done (when it is not already)."""
        return self.ready()[0]

    def capture(self) -> bool:
        """The footswitch / capture key was pressed; True when the step used it."""
        return False

    def add_buttons(self, *buttons: QtWidgets.QWidget) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        self.layout_.addLayout(row)
        return row
