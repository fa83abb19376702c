"""File > Patients… (Ctrl+Shift+R): the patient list, a patient's courses, and the course view.

A non-modal window beside the navigator: the list filters as you type (the query runs on the
records worker, and an answer to an older query is dropped, so a slow server never shows stale
results or blocks typing); *New patient…* asks for a pseudonym and optional identifying fields;
*New course from the current plan…* turns the plan of the session open now (MRI, targets,
calibrations) and a protocol into a course; the course view below shows and acts on it.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from .course_actions import CourseActions
from .course_dialog import CourseDialog
from .course_view import CourseView, load_course_data
from .patient_dialog import PatientDialog

__all__ = ["PatientsWindow", "SEARCH_DELAY_MS", "LIVE_REFRESH_MS"]

SEARCH_DELAY_MS = 150
LIVE_REFRESH_MS = 3000


def patient_label(p: Any) -> str:
    extra = ", ".join(x for x in (p.full_name, p.mrn and f"MRN {p.mrn}") if x)
    return f"{p.pseudonym}" + (f" — {extra}" if extra else "")


def course_label(c: Any, n_sessions: int) -> str:
    return (f"{c.created_utc[:10]} · {c.protocol.pattern} · {n_sessions} of {c.protocol.sessions_planned} "
            f"sessions\n{c.protocol.target_name}")


def initial_size(screen: QtGui.QScreen | None, wanted: tuple[int, int] = (1280, 980)) -> tuple[int, int]:
    """The window's first size: room for the sessions, the accuracy plot and the outcomes on a
    1080-line screen, never taller or wider than the screen's free area (a 1366x768 laptop)."""
    if screen is None:
        return wanted
    free = screen.availableGeometry()
    return min(wanted[0], free.width() - 20), min(wanted[1], free.height() - 40)


class PatientsWindow(QtWidgets.QWidget):
    listed = QtCore.Signal()                 # the patient list was refreshed (tests wait for it)
    courseShown = QtCore.Signal(object)      # CourseData

    def __init__(self, window, controller, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, QtCore.Qt.WindowType.Window)
        self.setObjectName("patients_window")
        self.setWindowTitle("Patients and courses — tmsnav")
        self.resize(*initial_size(QtGui.QGuiApplication.primaryScreen()))
        self.main_window = window
        self.controller = controller
        self._query = 0
        self.overview: Any = None                # PatientOverview of the selected patient
        self.dialog: QtWidgets.QDialog | None = None

        left = QtWidgets.QVBoxLayout()
        self.search = QtWidgets.QLineEdit()
        self.search.setObjectName("patient_search")
        self.search.setPlaceholderText("Search pseudonym, name or MRN")
        self.search.setClearButtonEnabled(True)
        self.patients = QtWidgets.QListWidget()
        self.patients.setObjectName("patient_list")
        self.new_patient_button = QtWidgets.QPushButton("New patient…")
        self.new_patient_button.setObjectName("new_patient")
        self.patient_info = QtWidgets.QLabel("")
        self.patient_info.setWordWrap(True)
        self.courses = QtWidgets.QListWidget()
        self.courses.setObjectName("course_list")
        self.courses.setMaximumHeight(150)
        self.courses.setWordWrap(True)
        self.new_course_button = QtWidgets.QPushButton("New course from the current plan…")
        self.new_course_button.setObjectName("new_course")
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("patients_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020; font-weight: bold")
        for w in (self.search, self.patients, self.new_patient_button, self.patient_info,
                  QtWidgets.QLabel("<b>Courses</b>"), self.courses, self.new_course_button, self.message):
            left.addWidget(w, 1 if w is self.patients else 0)
        side = QtWidgets.QWidget()
        side.setLayout(left)
        side.setMaximumWidth(330)
        self.view = CourseView()
        self.actions_ = CourseActions(window, controller, self.view, self)
        # The course view scrolls when the screen is shorter than its ~840 px (a 768-line laptop):
        # the window then still fits, and nothing is squeezed below readability.
        self.course_scroll = QtWidgets.QScrollArea()
        self.course_scroll.setObjectName("course_scroll")
        self.course_scroll.setWidgetResizable(True)
        self.course_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.course_scroll.setWidget(self.view)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(side)
        layout.addWidget(self.course_scroll, 1)

        #: While today's session of the shown course is open, its row follows the sync.
        self.live_timer = QtCore.QTimer(self)
        self.live_timer.setInterval(LIVE_REFRESH_MS)
        self.live_timer.timeout.connect(self._live_refresh)
        self.live_timer.start()
        self._search_timer = QtCore.QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh_patients)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.patients.currentItemChanged.connect(lambda *_: self._patient_selected())
        self.courses.currentItemChanged.connect(lambda *_: self._course_selected())
        self.new_patient_button.clicked.connect(self.new_patient)
        self.new_course_button.clicked.connect(self.new_course)
        self.actions_.courseChanged.connect(self._course_changed)
        controller.opened.connect(lambda _r: self.refresh_patients())
        controller.openFailed.connect(self._say)
        controller.sessionIndexed.connect(lambda _uid: self.reload_course())
        self._patient_selected()
        self.refresh_patients()

    # ----- patients -------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.message.setText(text)

    def refresh_patients(self, select: str | None = None) -> None:
        self._query += 1
        query, text = self._query, self.search.text().strip()
        if self.controller.records is None:
            self._say(self.controller.not_open_message() if self.controller.error else "Opening the clinic database…")
            return
        self.controller.call(lambda r: r.find_patients(text), lambda found: self._listed(query, found, select),
                             lambda _e, m: self._say(m), owner=self, name="find patients")

    def _listed(self, query: int, found: list, select: str | None) -> None:
        if query != self._query:
            return                                  # an answer to an older search: dropped
        self._say("")
        current = select or self.selected_pseudonym()
        self.patients.blockSignals(True)
        self.patients.clear()
        for p in found:
            item = QtWidgets.QListWidgetItem(patient_label(p))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, p.pseudonym)
            self.patients.addItem(item)
            if p.pseudonym == current:
                self.patients.setCurrentItem(item)
        if not found:
            self.patients.addItem(QtWidgets.QListWidgetItem("No patient matches" if self.search.text()
                                                            else "No patients yet: New patient…"))
        self.patients.blockSignals(False)
        self._patient_selected()
        self.listed.emit()

    def listed_pseudonyms(self) -> list[str]:
        return [self.patients.item(i).data(QtCore.Qt.ItemDataRole.UserRole)
                for i in range(self.patients.count())
                if self.patients.item(i).data(QtCore.Qt.ItemDataRole.UserRole)]

    def selected_pseudonym(self) -> str | None:
        item = self.patients.currentItem()
        return None if item is None else item.data(QtCore.Qt.ItemDataRole.UserRole)

    def select_patient(self, pseudonym: str) -> bool:
        for i in range(self.patients.count()):
            if self.patients.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == pseudonym:
                self.patients.setCurrentRow(i)
                return True
        return False

    def new_patient(self) -> PatientDialog:
        dialog = PatientDialog(self)
        dialog.submitted.connect(lambda values: self._add_patient(dialog, values))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _add_patient(self, dialog: PatientDialog, values: dict) -> None:
        def added(p) -> None:
            dialog.done_ok()
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.refresh_patients(select=p.pseudonym)

        pseudonym = values.pop("pseudonym")
        if not self.controller.call(lambda r: r.add_patient(pseudonym, **values), added,
                                    lambda _e, m: dialog.refuse(m), owner=dialog, name="add a patient"):
            return

    # ----- courses --------------------------------------------------------------------------------
    def _patient_selected(self) -> None:
        pseudonym = self.selected_pseudonym()
        self.new_course_button.setEnabled(pseudonym is not None)
        if pseudonym is None:
            self.overview = None
            self.patient_info.setText("")
            self.courses.clear()
            self.view.show_course(None)
            return
        self.controller.call(lambda r: r.open_patient(pseudonym), self._show_overview,
                             lambda _e, m: self._say(m), owner=self, name="open a patient")

    def _show_overview(self, overview, select_course: str | None = None) -> None:
        if overview.patient.pseudonym != self.selected_pseudonym():
            return                                  # the user moved on meanwhile
        self.overview = overview
        p = overview.patient
        born = f", born {p.birth_date}" if p.birth_date else ""
        self.patient_info.setText(f"<b>{p.pseudonym}</b>{born}" + (f"<br>{p.notes}" if p.notes else ""))
        current = select_course or self.selected_course()
        self.courses.blockSignals(True)
        self.courses.clear()
        for c in overview.courses:
            n = len(overview.sessions.get(c.uid, []))
            item = QtWidgets.QListWidgetItem(course_label(c, n))
            item.setToolTip(f"{c.protocol.target_name}, {c.status}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, c.uid)
            self.courses.addItem(item)
            if c.uid == current:
                self.courses.setCurrentItem(item)
        if self.courses.currentItem() is None and self.courses.count():
            self.courses.setCurrentRow(self.courses.count() - 1)
        self.courses.blockSignals(False)
        self._course_selected()

    def selected_course(self) -> str | None:
        item = self.courses.currentItem()
        return None if item is None else item.data(QtCore.Qt.ItemDataRole.UserRole)

    def _course_selected(self) -> None:
        uid = self.selected_course()
        if uid is None:
            self.view.show_course(None)
            return
        self.reload_course()

    def reload_course(self) -> None:
        uid = self.selected_course()
        if uid is None:
            return
        self.controller.call(lambda r: load_course_data(r, uid), self._show_course,
                             lambda _e, m: self._say(m), owner=self, name="load a course")

    def _show_course(self, data) -> None:
        if data.course.uid != self.selected_course():
            return
        self.view.show_course(data)
        item = self.courses.currentItem()
        if item is not None:
            item.setText(course_label(data.course, len(data.sessions)))
        self.courseShown.emit(data)

    def _live_refresh(self) -> None:
        """Timer: reload the shown course while its session is open here (pulses, % on target)."""
        session = self.main_window.state.session
        uid = self.selected_course()
        if (self.isVisible() and uid is not None and session is not None
                and getattr(session.record, "course_uid", "") == uid and not self.controller.worker.pending):
            self.reload_course()

    def _course_changed(self, course_uid: str) -> None:
        if course_uid == self.selected_course():
            self.reload_course()

    def new_course(self) -> CourseDialog | None:
        state = self.main_window.state
        pseudonym = self.selected_pseudonym()
        if pseudonym is None:
            return None
        if state.session is None:
            self.main_window.show_error(
                "New course", "Save the plan as a session first (File > New session): the course takes "
                "its MRI, targets and calibrations from that session.")
            return None
        names = [t.name for t in state.targets]
        active = state.targets.active.name if state.targets.active is not None else None
        dialog = CourseDialog(names, active, self)
        dialog.submitted.connect(lambda fields, ind, notes: self._plan_course(dialog, pseudonym, fields,
                                                                              ind, notes))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _plan_course(self, dialog: CourseDialog, pseudonym: str, fields: dict, indication: str,
                     notes: str) -> None:
        from tmsnav.navigation.records.repository import CourseProtocol
        from tmsnav.navigation.records.today import plan_course_from_session

        state = self.main_window.state
        if not state.save_session():                 # the course copies the plan from the folder
            dialog.refuse("The plan could not be saved to its session folder (see the red banner).")
            return
        session, protocol = state.session, CourseProtocol(**fields)

        def work(records):
            course = plan_course_from_session(records, pseudonym, session, protocol)
            if indication or notes:
                course = records.update_course(course.uid, indication=indication, notes=notes)
            return course

        def planned(course) -> None:
            dialog.done_ok()
            self.controller.call(lambda r: r.open_patient(pseudonym),
                                 lambda ov: self._show_overview(ov, select_course=course.uid), owner=self)

        self.controller.call(work, planned, lambda _e, m: dialog.refuse(m), owner=dialog, name="plan a course")
