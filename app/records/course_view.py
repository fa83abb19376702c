"""The course view: protocol, sessions with their statistics, outcomes, adverse events, actions.

Everything a clinician checks before and after a sitting on one page: the protocol line; one row
per session (date, operator, pulses, % on target, median and 95th-percentile coil position error,
registration error, motor threshold) and the same numbers as a plot against the tolerance
(:mod:`.accuracy_plot`); the outcome assessments as a table and a plot of each scale
over the course (:mod:`.outcome_plot`) under the suicidality banner (:mod:`.safety_alert`, red
until a newer assessment clears it); the adverse events; and the buttons for today's session,
a new assessment, an adverse event and the reports. The view only shows data and asks for
actions (signals); :mod:`.course_actions` does them off the GUI thread.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6 import QtCore, QtWidgets

from .course_tables import (OUTCOME_COLUMNS, SESSION_COLUMNS, fill_sessions,
                            make_table, protocol_text)

__all__ = ["CourseView", "CourseData", "load_course_data", "COURSE_STATUSES"]

#: The course states of the clinic record (navigation.records.repository).
COURSE_STATUSES = ("planned", "active", "paused", "completed", "stopped")


@dataclass(frozen=True)
class CourseData:
    """One course as the view shows it (plain repository dataclasses, safe across threads)."""

    course: Any                                  # CourseInfo
    sessions: Sequence[Any] = ()                 # SessionInfo by number
    outcomes: Sequence[Any] = ()                 # OutcomeInfo
    adverse_events: Sequence[Any] = field(default_factory=tuple)
    accuracy: Sequence[Any] = ()                 # SessionRow with its tolerance (accuracy_plot)


def load_course_data(records, course_uid: str) -> CourseData:
    """Worker thread: everything the view shows for one course."""
    from tmsnav.navigation.reports.data import course_session_rows

    sessions = tuple(records.sessions(course_uid))
    return CourseData(records.course(course_uid), sessions, tuple(records.outcomes(course_uid)),
                      tuple(records.adverse_events(course_uid)), course_session_rows(sessions))


def _operator_default() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class CourseView(QtWidgets.QWidget):
    startTodayRequested = QtCore.Signal(str, str)       # course uid, operator
    sessionReportRequested = QtCore.Signal(str)         # session uid
    courseReportRequested = QtCore.Signal(str)          # course uid
    addAssessmentRequested = QtCore.Signal(str)         # course uid
    adverseEventRequested = QtCore.Signal(str)          # course uid
    statusRequested = QtCore.Signal(str, str)           # course uid, new status

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("course_view")
        self.data: CourseData | None = None
        layout = QtWidgets.QVBoxLayout(self)
        self.title = QtWidgets.QLabel("No course selected")
        self.title.setObjectName("course_title")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold")
        self.protocol = QtWidgets.QLabel("")
        self.protocol.setObjectName("course_protocol")
        self.protocol.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.protocol)

        today = QtWidgets.QHBoxLayout()
        self.operator = QtWidgets.QLineEdit(_operator_default())
        self.operator.setObjectName("course_operator")
        self.operator.setMaximumWidth(160)
        self.today_button = QtWidgets.QPushButton("Start today's session")
        self.today_button.setObjectName("start_today")
        self.today_button.setToolTip("A new session folder with this course's MRI, targets and coil "
                                     "calibration; only the head registration is done again")
        self.today_button.clicked.connect(lambda: self._emit(self.startTodayRequested, self.operator.text()))
        today.addWidget(QtWidgets.QLabel("Operator"))
        today.addWidget(self.operator)
        today.addWidget(self.today_button)
        today.addStretch(1)
        self.status = QtWidgets.QComboBox()
        self.status.setObjectName("course_status")
        self.status.addItems(COURSE_STATUSES)
        self.status.setToolTip("A completed or stopped course starts no new session; set it active "
                               "again if treatment resumes")
        self.status.activated.connect(lambda _i: self._emit(self.statusRequested, self.status.currentText()))
        today.addWidget(QtWidgets.QLabel("Course"))
        today.addWidget(self.status)
        self.session_report_button = QtWidgets.QPushButton("Session report")
        self.session_report_button.setObjectName("session_report")
        self.session_report_button.setToolTip("HTML + PDF report of the session selected below")
        self.session_report_button.clicked.connect(self._session_report)
        self.course_report_button = QtWidgets.QPushButton("Course report")
        self.course_report_button.setObjectName("course_report")
        self.course_report_button.clicked.connect(lambda: self._emit(self.courseReportRequested))
        today.addWidget(self.session_report_button)
        today.addWidget(self.course_report_button)
        layout.addLayout(today)

        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        self.sessions = make_table(SESSION_COLUMNS, "course_sessions")
        self.sessions.itemSelectionChanged.connect(self._selection_changed)
        split.addWidget(self._boxed("Sessions", self.sessions))
        from .accuracy_plot import AccuracyPlot
        self.accuracy = AccuracyPlot()
        split.addWidget(self._boxed("Targeting accuracy", self.accuracy))

        outcomes = QtWidgets.QWidget()
        ol = QtWidgets.QVBoxLayout(outcomes)
        ol.setContentsMargins(0, 0, 0, 0)
        self.banner_holder = QtWidgets.QVBoxLayout()   # the suicidality banner goes here
        ol.addLayout(self.banner_holder)
        row = QtWidgets.QHBoxLayout()
        self.outcomes = make_table(OUTCOME_COLUMNS, "course_outcomes")
        self.outcomes.setMinimumWidth(390)
        self.outcomes.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.outcomes.setWordWrap(False)
        row.addWidget(self.outcomes, 4)
        self.plot_holder = QtWidgets.QVBoxLayout()      # the outcome plot goes here
        row.addLayout(self.plot_holder, 7)
        ol.addLayout(row, 1)
        self.assessment_button = QtWidgets.QPushButton("Add assessment…")
        self.assessment_button.setObjectName("add_assessment")
        self.assessment_button.clicked.connect(lambda: self._emit(self.addAssessmentRequested))
        self.outcome_buttons = QtWidgets.QHBoxLayout()       # + Correct…, Entered in error… (below)
        self.outcome_buttons.addWidget(self.assessment_button)
        ol.addLayout(self.outcome_buttons)
        split.addWidget(self._boxed("Outcomes", outcomes))

        ae = QtWidgets.QWidget()
        al = QtWidgets.QHBoxLayout(ae)
        al.setContentsMargins(0, 0, 0, 0)
        self.adverse = QtWidgets.QListWidget()
        self.adverse.setObjectName("course_adverse_events")
        al.addWidget(self.adverse, 1)
        self.adverse_button = QtWidgets.QPushButton("Report adverse event…")
        self.adverse_button.setObjectName("report_adverse_event")
        self.adverse_button.clicked.connect(lambda: self._emit(self.adverseEventRequested))
        al.addWidget(self.adverse_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        split.addWidget(self._boxed("Adverse events", ae))
        for i, stretch in enumerate((2, 2, 5, 1)):
            split.setStretchFactor(i, stretch)
        split.setSizes([150, 210, 420, 80])
        layout.addWidget(split, 1)
        self.plot: Any = None
        self.banner: Any = None
        self._install_outcome_widgets()
        self.show_course(None)

    @staticmethod
    def _boxed(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox(title)
        lay = QtWidgets.QVBoxLayout(box)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(widget)
        return box

    def _install_outcome_widgets(self) -> None:
        """The outcome plot and the suicidality banner (R3's widgets)."""
        from .outcome_plot import OutcomePlot
        from .safety_alert import SafetyBanner

        self.banner = SafetyBanner()
        self.banner_holder.addWidget(self.banner)
        self.plot = OutcomePlot()
        self.plot_holder.addWidget(self.plot)
        from .outcome_corrections import CorrectionsBar
        self.corrections = CorrectionsBar(self)
        self.outcome_buttons.addWidget(self.corrections)
        self.outcome_buttons.addStretch(1)

    # ----- showing ------------------------------------------------------------------------------
    def show_course(self, data: CourseData | None) -> None:
        self.data = data
        has = data is not None
        for w in (self.today_button, self.course_report_button, self.assessment_button,
                  self.adverse_button, self.status):
            w.setEnabled(has)
        if data is None:
            self.title.setText("No course selected")
            self.protocol.setText("Choose a patient and a course, or create a course from the current plan.")
            self.sessions.setRowCount(0)
            self.adverse.clear()
            self._show_outcomes(())
            self.accuracy.set_course((), ())
            self.corrections.show_course(None)      # empties the outcomes table
            self._selection_changed()
            return
        c = data.course
        self.status.setCurrentText(c.status)
        self.title.setText(f"Course {c.uid[:8]} · {c.pseudonym} · started {c.created_utc[:10]}")
        self.protocol.setText(protocol_text(c, len(data.sessions)))
        selected = self.selected_session()
        if self.sessions.rowCount() != len(data.sessions):
            selected = None                     # a new session: show the latest
        fill_sessions(self.sessions, data.sessions)
        self.corrections.show_course(data)          # fills the outcomes table
        self._show_outcomes(data.outcomes)
        self.accuracy.set_course(data.sessions, data.accuracy)
        self.adverse.clear()
        numbers = {s.uid: s.number for s in data.sessions}
        for ev in data.adverse_events:
            self.adverse.addItem(f"Session {numbers.get(ev.session_uid, '?')}, "
                                 f"{ev.time_utc[:16].replace('T', ' ')} UTC: "
                                 f"{ev.description} ({ev.severity})"
                                 + (f"; action: {ev.action}" if ev.action else ""))
        if not data.adverse_events:
            self.adverse.addItem("None reported")
        rows = [r for r in range(self.sessions.rowCount()) if self._uid_at(r) == selected]
        if rows or self.sessions.rowCount():
            self.sessions.selectRow(rows[0] if rows else self.sessions.rowCount() - 1)
        self._selection_changed()

    def _show_outcomes(self, outcomes: Sequence[Any]) -> None:
        self.plot.set_outcomes(list(outcomes))
        self.banner.set_outcomes(list(outcomes))

    def _uid_at(self, row: int) -> str | None:
        item = self.sessions.item(row, 0)
        return None if item is None else item.data(QtCore.Qt.ItemDataRole.UserRole)

    def selected_session(self) -> str | None:
        rows = self.sessions.selectionModel().selectedRows()
        return self._uid_at(rows[0].row()) if rows else None

    def session_rows(self) -> list[list[str]]:
        """The sessions table as text (tests, the screenshot)."""
        def text(r: int, c: int) -> str:
            item = self.sessions.item(r, c)
            return "" if item is None else item.text()

        return [[text(r, c) for c in range(self.sessions.columnCount())] for r in range(self.sessions.rowCount())]

    def _selection_changed(self) -> None:
        self.session_report_button.setEnabled(self.selected_session() is not None)
        self.accuracy.select(self.selected_session())

    def _session_report(self) -> None:
        uid = self.selected_session()
        if uid is not None:
            self.sessionReportRequested.emit(uid)

    def _emit(self, signal, *extra) -> None:
        if self.data is not None:
            signal.emit(self.data.course.uid, *extra)
