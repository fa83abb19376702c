"""What the course view's buttons do: today's session, assessments, adverse events, reports.

Each action runs its database or file work off the GUI thread (the records worker for database
calls, the window's job runner with progress and Cancel for reports) and says what went wrong as a
message, never a traceback:

- *Start today's session* makes the day's session folder from the course plan
  (:func:`tmsnav.navigation.records.today.start_todays_session`: MRI, surfaces, targets, coil and
  pointer calibrations, MNI transform; no registration) and opens it the way File > Open session
  does; the Registration tab then asks for a new head registration, as at every sitting.
- *Add assessment…* is the outcome entry dialog (:mod:`.outcome_entry`); a suicidality answer
  above zero raises the alert that must be acknowledged (:mod:`.safety_alert`) before it is saved;
  who acknowledged it and when goes into today's session log as a note (or the course notes when
  no session of the course is open).
- *Correct…* / *Entered in error…* on a selected assessment keep the original with who, when and
  why (:mod:`.outcome_corrections`).
- *Report adverse event…* writes to the open session's append-only log first (kept even when the
  database is away), then to the database with the same log sequence number (idempotent: the
  background sync adding it again changes nothing).
- *Session report* / *Course report* write HTML + PDF (:mod:`tmsnav.navigation.reports`) into a
  folder; the PDF (or the folder) opens when done.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from .adverse_event_dialog import AdverseEventDialog
from .outcome_corrections import OutcomeCorrectionActions

log = logging.getLogger(__name__)

__all__ = ["CourseActions", "default_report_dir"]


def default_report_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_documents_dir()) / "tmsnav reports"


class CourseActions(QtCore.QObject):
    """Connects a :class:`~.course_view.CourseView`'s requests to the work; ``courseChanged``
    asks the owner to reload a course after something changed it."""

    courseChanged = QtCore.Signal(str)               # course uid
    reportWritten = QtCore.Signal(object)            # ReportFiles
    sessionStarted = QtCore.Signal(object)           # Session (today's)

    def __init__(self, window, controller, view, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.controller = controller
        self.view = view
        #: Where reports go; None asks with a folder dialog (tests set a folder).
        self.report_dir: Path | None = None
        #: Open the PDF when a report is written (off in tests).
        self.open_when_done = True
        self.dialog: QtWidgets.QDialog | None = None
        self.last_report: Any = None
        view.startTodayRequested.connect(self.start_today)
        view.sessionReportRequested.connect(lambda uid: self.write_report("session", uid))
        view.courseReportRequested.connect(lambda uid: self.write_report("course", uid))
        view.addAssessmentRequested.connect(self.add_assessment)
        view.adverseEventRequested.connect(self.report_adverse_event)
        view.statusRequested.connect(self.set_status)
        # Correct… / Entered in error… / Show corrections (the audit trail of outcome entries)
        self.corrections = OutcomeCorrectionActions(window, controller, view, self.courseChanged.emit, self)

    # ----- today's session ------------------------------------------------------------------------
    def start_today(self, course_uid: str, operator: str) -> None:
        from tmsnav.navigation.records.today import start_todays_session

        operator = operator.strip()
        if not operator:
            self.window.show_error("Today's session", "Give the operator's name or initials first.")
            return
        root = self.controller.sessions_root()
        self.view.today_button.setEnabled(False)
        self.controller.call(lambda r: start_todays_session(r, course_uid, root, operator),
                             self._today_ready, self._today_failed, owner=self.view,
                             name="start today's session")

    def _today_ready(self, session) -> None:
        self.view.today_button.setEnabled(True)
        lock = getattr(session, "lock", None)
        self.window.sessions.load(session, restore_autosave=False, lock=lock)
        number = getattr(session.record, "session_number", None)
        self.window.panels.setCurrentWidget(self.window.registration_panel)
        self.window.statusBar().showMessage(
            f"Session {number} of the course opened: register the patient's head (Registration tab).", 15000)
        self.sessionStarted.emit(session)
        self.courseChanged.emit(session.record.course_uid)

    def _today_failed(self, _exc: BaseException, message: str) -> None:
        self.view.today_button.setEnabled(True)
        self.window.show_error("Cannot start today's session", message)

    def set_status(self, course_uid: str, status: str) -> None:
        """The course's state (active, paused, completed, stopped, ...)."""
        def refused(_exc: BaseException, message: str) -> None:
            self.window.show_error("Course status not changed", message)
            self.courseChanged.emit(course_uid)          # the view shows the status it has

        self.controller.call(lambda r: r.update_course(course_uid, status=status),
                             lambda _c: self.courseChanged.emit(course_uid), refused,
                             name="set the course status")

    # ----- outcomes -------------------------------------------------------------------------------
    def add_assessment(self, course_uid: str) -> None:
        from .outcome_entry import OutcomeEntryDialog

        session = self._open_session_of(course_uid)
        dialog = OutcomeEntryDialog(self.view, rater=self.view.operator.text().strip())
        dialog.accepted.connect(lambda: self._save_assessment(course_uid, dialog.result_values(),
                                                              session))
        self.dialog = dialog
        dialog.open()

    def _save_assessment(self, course_uid: str, values: Any, session_uid: str | None) -> None:
        ack = values.acknowledgement
        note = "" if ack is None else (f"Safety alert ({values.scale} of {values.assessed_on}) acknowledged "
                                       f"by {ack.by} at {ack.at_utc[:16]} UTC: " + " ".join(ack.messages))
        session = self.window.state.session
        if note and session_uid is not None:
            session.add_note(note)                       # the session log: durable at once

        def work(records):
            outcome = records.add_outcome(course_uid, values.scale, values.assessed_on, items=values.items,
                                          total=values.total, session_uid=session_uid,
                                          timepoint=values.timepoint, rater=values.rater)
            if note and session_uid is None:             # no sitting open: the course keeps it
                course = records.course(course_uid)
                records.update_course(course_uid, notes="\n".join(x for x in (course.notes, note) if x))
            return outcome

        self.controller.call(work, lambda _o: self.courseChanged.emit(course_uid),
                             lambda _e, m: self.window.show_error("Assessment not saved", m),
                             name="save an assessment")

    # ----- adverse events -------------------------------------------------------------------------
    def _open_session_of(self, course_uid: str) -> str | None:
        session = self.window.state.session
        if session is not None and getattr(session.record, "course_uid", "") == course_uid:
            return str(session.record.session_id)
        return None

    def report_adverse_event(self, course_uid: str) -> None:
        session = self.window.state.session
        if self._open_session_of(course_uid) is None:
            self.window.show_error("Report adverse event", "Adverse events are recorded in the "
                                   "session they happened in: start (or open) today's session of this "
                                   "course first, then report it.")
            return
        number = getattr(session.record, "session_number", None)
        dialog = AdverseEventDialog(f"session {number} of this course", self.view)
        dialog.accepted.connect(lambda: self._save_adverse_event(course_uid, session, *dialog.values()))
        self.dialog = dialog
        dialog.open()

    def _save_adverse_event(self, course_uid: str, session, description: str, severity: str,
                            action: str) -> None:
        from tmsnav.navigation.errors import NavigationError

        try:
            event = session.add_adverse_event(description, severity, action)
        except NavigationError as exc:
            self.window.show_error("Adverse event not saved", str(exc))
            return
        if getattr(session.events, "last_error", None):
            self.window.show_problem(f"Adverse event kept in memory only: {session.events.last_error}")
        uid = str(session.record.session_id)
        self.controller.call(
            lambda r: r.add_adverse_event(uid, event.seq, event.time_utc, description, severity, action),
            lambda _r: self.courseChanged.emit(course_uid),
            lambda _e, m: self.window.statusBar().showMessage(
                f"Adverse event saved in the session folder; the database gets it when it returns ({m})",
                15000), name="save an adverse event")

    # ----- reports --------------------------------------------------------------------------------
    def choose_report_dir(self) -> Path | None:
        if self.report_dir is not None:
            return self.report_dir
        start = default_report_dir()
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Folder for the report", str(start))
        return Path(folder) if folder else None

    def write_report(self, kind: str, uid: str) -> None:
        """``kind`` "session" or "course"; a job with progress and Cancel in the status bar."""
        from tmsnav.navigation.reports import write_course_report, write_session_report

        records = self.controller.records
        if records is None:
            self.window.show_error("Report", self.controller.not_open_message())
            return
        out_dir = self.choose_report_dir()
        if out_dir is None:
            return
        shots = self._plan_screenshot()
        writer = write_course_report if kind == "course" else write_session_report
        prefs = getattr(self.window, "preferences", None)     # Preferences > Display (R6)
        identity = bool(getattr(getattr(prefs, "settings", None), "report_identity", False))

        def work(progress, cancel):
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            return writer(records, uid, Path(out_dir), screenshots=shots, progress=progress,
                          cancel=lambda: cancel.cancelled, include_identity=identity)

        job = self.window.jobs.run(work, f"Writing the {kind} report", self._report_done,
                                   context=("report", kind))
        for shot in shots:                          # the picture is in the report now (or refused)
            remove = lambda p=shot: shutil.rmtree(p.parent, ignore_errors=True)   # noqa: E731
            if job is None:
                remove()
            else:
                job.signals.finished.connect(remove)

    def _plan_screenshot(self) -> tuple[Path, ...]:
        """The 3-D view of the plan (head, targets) as the report's picture, when a head is shown;
        in a temporary folder removed once the report is written."""
        if self.window.state.head is None:
            return ()
        folder = Path(tempfile.mkdtemp(prefix="tmsnav-report-"))
        path = folder / "plan-3d.png"
        try:
            self.window.view3d.render_now()
            self.window.view3d.plotter.screenshot(str(path))
        except Exception as exc:  # noqa: BLE001 - a report without a picture is still a report
            log.warning("no 3-D screenshot for the report: %s", exc)
            shutil.rmtree(folder, ignore_errors=True)
            return ()
        return (path,)

    def _report_done(self, files) -> None:
        self.last_report = files
        shown = files.pdf or files.html
        self.window.statusBar().showMessage(f"Report written: {shown}", 15000)
        self.reportWritten.emit(files)
        if self.open_when_done and shown is not None:
            if not QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(shown))):
                QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(Path(shown).parent)))
