"""Step 1: are the head reference, the pointer and the coil all seen by the tracker?

The advice for a tool that is not tracked fits the device (app/tracking_advice.py): line of
sight and the camera's volume for an optical camera, distance from the field source, metal
nearby and the sensor cable for an electromagnetic tracker such as a Polhemus.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from .. import tracking_advice
from ..tracking_bridge import ToolView, TrackingSnapshot
from .base import MessageLabel, StepWidget, compact_table
from .context import ROLE_LABELS

__all__ = ["ToolCheckStep", "tool_problem"]

ROLES = ("reference", "pointer", "coil")
LIGHT_COLORS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#9e9e9e"}


def tool_problem(role: str, view: ToolView | None, technology: str = tracking_advice.UNKNOWN) -> str:
    """What is wrong with one tool, in words fitting the device's ``technology``, or "" when it
    is tracked (green)."""
    return tracking_advice.tool_problem(ROLE_LABELS[role], view, technology)


class ToolCheckStep(StepWidget):
    key = "tools"
    title = "1. Tool check"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        intro = QtWidgets.QLabel("The head reference, the pointer and the coil must all be seen by "
                                 "the tracker (green) before calibrating and registering.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        self.table = QtWidgets.QTableWidget(len(ROLES), 3)
        self.table.setObjectName("tool_check_table")
        self.table.setHorizontalHeaderLabels(["Tool", "Status", "RMS"])
        compact_table(self.table)
        self.table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(120)
        self.layout_.addWidget(self.table)
        self.message = MessageLabel("tool_check_message")
        self.layout_.addWidget(self.message)
        self.tracker_button = QtWidgets.QPushButton("Open the Tracker tab")
        self.tracker_button.clicked.connect(self._open_tracker_tab)
        self.layout_.addWidget(self.tracker_button)
        self.layout_.addStretch(1)
        self.lights: dict[str, str] = {r: "grey" for r in ROLES}
        self._problems: list[str] = ["The tracker is not connected: connect it in the Tracker tab."]
        self._show_rows(None)

    def enter(self) -> None:
        snap = self.ctx.tracking.last
        if self.ctx.tracking.acquisition is None or snap is None:
            self._show_rows(None)
        else:
            self.on_snapshot(snap)

    def _open_tracker_tab(self) -> None:
        panel = getattr(self.ctx.window, "tracker_panel", None)
        if panel is not None:
            self.ctx.window.panels.setCurrentWidget(panel)

    def _show_rows(self, snap: TrackingSnapshot | None) -> None:
        problems = []
        for row, role in enumerate(ROLES):
            name = self.ctx.tool(role)
            view = None if snap is None or not snap.connected else snap.tools.get(name)
            light = "grey" if view is None else view.light
            text = "not connected" if snap is None or not snap.connected else (
                "no data yet" if view is None else view.text)
            rms = "—" if view is None or view.light != "green" or view.quality_rms_mm is None \
                else f"{view.quality_rms_mm:.2f} mm"
            self.lights[role] = light
            status = QtWidgets.QTableWidgetItem(f"● {text}")
            status.setForeground(QtGui.QBrush(QtGui.QColor(LIGHT_COLORS[light])))
            status.setData(QtCore.Qt.ItemDataRole.UserRole, light)
            label = ROLE_LABELS[role].capitalize() + ("" if name == role else f" ({name})")
            for col, item in enumerate((QtWidgets.QTableWidgetItem(label), status,
                                        QtWidgets.QTableWidgetItem(rms))):
                self.table.setItem(row, col, item)
            if snap is not None and snap.connected:
                problem = tool_problem(role, view, snap.technology)
                if problem:
                    problems.append(problem)
        if snap is None or not snap.connected:
            problems = ["The tracker is not connected: connect it in the Tracker tab."]
        changed = problems != self._problems
        self._problems = problems
        self.tracker_button.setVisible(snap is None or not snap.connected)
        if problems:
            self.message.show_message("\n".join(problems), "warn")
        else:
            self.message.show_message("All three tools are tracked. Press Next.", "ok")
        if changed:
            self.readyChanged.emit()

    def on_snapshot(self, snap) -> None:
        self._show_rows(snap)

    def ready(self) -> tuple[bool, str]:
        if self._problems:
            return False, self._problems[0]
        return True, ""
