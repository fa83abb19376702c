"""The clinic record in the GUI: patient search, the mistakes people make (a duplicate pseudonym,
a pseudonym with spaces), a database that cannot be reached or is newer than this tmsnav, a
session folder another instance holds, and a damaged session.json. Each must end in a clear
message, never a traceback or a frozen window. No wall-clock sleeps: every wait is a condition."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from tmsnav.app.main_window import MainWindow
from tmsnav.navigation.session.store import Session

pytestmark = pytest.mark.gui

WAIT_MS = 30_000


def make_window(qtbot, tmp_path: Path, monkeypatch, url: str | None = None) -> MainWindow:
    monkeypatch.setenv("TMSNAV_DATABASE_URL", url or f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    monkeypatch.setenv("TMSNAV_SESSIONS_ROOT", str(tmp_path / "sessions"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def records_window(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch)
    assert w.records.controller.wait_open(WAIT_MS), w.records.controller.error
    yield w
    w.close()


def add_patient(qtbot, patients, pseudonym: str, **fields) -> QtWidgets.QDialog:
    dialog = patients.new_patient()
    dialog.pseudonym.setText(pseudonym)
    dialog.full_name.setText(fields.get("full_name", ""))
    dialog.mrn.setText(fields.get("mrn", ""))
    dialog.submit()
    patients.controller.worker.wait_idle(WAIT_MS)
    return dialog


def test_patients_window_search_filters_as_you_type_and_new_patient_is_listed(records_window, qtbot):
    w = records_window
    assert w.records.action.shortcut().toString() == "Ctrl+Shift+R"
    patients = w.records.show_patients()
    assert not patients.isModal() and patients.isVisible()
    for pseudonym, name, mrn in (("TMS-0001", "Ada Lovelace", "A100"), ("TMS-0002", "Alan Turing", "B200"),
                                 ("TMS-0003", "", "")):
        dialog = add_patient(qtbot, patients, pseudonym, full_name=name, mrn=mrn)
        assert not dialog.isVisible(), dialog.message.text()
    qtbot.waitUntil(lambda: patients.listed_pseudonyms() == ["TMS-0001", "TMS-0002", "TMS-0003"],
                    timeout=WAIT_MS)
    assert patients.selected_pseudonym() == "TMS-0003"           # the one just added is selected
    for text, expected in (("turing", ["TMS-0002"]), ("A100", ["TMS-0001"]), ("tms-000", None),
                           ("nobody", [])):
        with qtbot.waitSignal(patients.listed, timeout=WAIT_MS):
            patients.search.setText(text)
        qtbot.waitUntil(lambda e=expected: patients.listed_pseudonyms()
                        == (e if e is not None else ["TMS-0001", "TMS-0002", "TMS-0003"]), timeout=WAIT_MS)
    assert patients.patients.item(0).text() == "No patient matches"
    # the identifying fields are shown here, in the GUI, and nowhere in the log
    patients.search.setText("")
    qtbot.waitUntil(lambda: len(patients.listed_pseudonyms()) == 3, timeout=WAIT_MS)
    assert any("Alan Turing" in patients.patients.item(i).text() for i in range(3))


def test_a_stale_search_answer_never_replaces_a_newer_one(records_window, qtbot):
    """Typing 'a' then 'ab' quickly: if the answer to 'a' arrives last it is dropped."""
    patients = records_window.records.show_patients()
    for p in ("AB-1", "AC-2"):
        add_patient(qtbot, patients, p)
    patients.search.setText("ab")
    patients.refresh_patients()
    newest = patients._query
    patients._listed(newest - 1, [type("P", (), {"pseudonym": "AC-2", "full_name": None, "mrn": None})()], None)
    qtbot.waitUntil(lambda: patients.listed_pseudonyms() == ["AB-1"], timeout=WAIT_MS)


def test_duplicate_and_unusable_pseudonyms_are_refused_in_the_dialog(records_window, qtbot, caplog):
    patients = records_window.records.show_patients()
    first = add_patient(qtbot, patients, "TMS-0042", full_name="Grace Hopper")
    assert not first.isVisible()
    dup = add_patient(qtbot, patients, "TMS-0042", full_name="Someone Else")
    assert dup.isVisible() and "already exists" in dup.message.text() and "TMS-0042" in dup.message.text()
    assert dup.ok_button.isEnabled()                       # the user can correct and try again
    dup.pseudonym.setText("TMS-0043")
    dup.submit()
    patients.controller.worker.wait_idle(WAIT_MS)
    assert not dup.isVisible()
    for bad, words in (("", "required"), ("Grace Hopper", "no spaces"), ("-x", "starting with")):
        d = add_patient(qtbot, patients, bad)
        assert d.isVisible() and words in d.message.text(), (bad, d.message.text())
        d.reject()
    assert "Grace Hopper" not in caplog.text and "Someone Else" not in caplog.text


def test_unreachable_database_is_said_in_the_status_bar_and_when_asked(qtbot, tmp_path, monkeypatch):
    """A clinic server that is not there (nothing listens on the port): the app opens, the status
    bar says the records are not available and why (naming the host, never a password), the
    patients window says so, and New patient gives the same message instead of a traceback."""
    url = "postgresql+psycopg://tmsnav@127.0.0.1:9/clinic"          # discard port: refused at once
    w = make_window(qtbot, tmp_path, monkeypatch, url)
    try:
        c = w.records.controller
        assert not c.wait_open(WAIT_MS)
        assert c.label.text() == "Records: not available"
        assert "127.0.0.1" in c.error and c.label.toolTip() == c.error
        patients = w.records.show_patients()
        assert "not open" in patients.message.text() and "127.0.0.1" in patients.message.text()
        dialog = add_patient(qtbot, patients, "TMS-0001")
        assert dialog.isVisible() and "127.0.0.1" in dialog.message.text()
        assert w.isVisible() and w.last_error is None            # no crash box: the message is in place
    finally:
        w.close()


def test_database_of_a_newer_schema_is_refused_with_the_versions(qtbot, tmp_path, monkeypatch):
    from tmsnav.navigation.records.database import Database

    path = tmp_path / "newer.sqlite3"
    Database.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    w = make_window(qtbot, tmp_path, monkeypatch, f"sqlite:///{path}")
    try:
        c = w.records.controller
        assert not c.wait_open(WAIT_MS)
        assert c.label.text() == "Records: not available"
        assert "newer" in c.error and "9999_from_the_future" in c.error, c.error
    finally:
        w.close()


def _hold_lock(folder: str, ready, release) -> None:
    from tmsnav.navigation.session.lock import SessionLock

    lock = SessionLock.acquire(folder)
    ready.set()
    release.wait(60)
    lock.release()


def test_a_session_another_instance_holds_is_not_opened_and_the_holder_is_named(records_window, qtbot,
                                                                             tmp_path):
    import os
    import socket

    folder = tmp_path / "held"
    Session.create(folder, "TMS-0007")
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_lock, args=(str(folder), ready, release))
    other.start()
    try:
        assert ready.wait(WAIT_MS / 1000)
        assert records_window.sessions.open(folder, restore_autosave=False) is None
        message = records_window.last_error or ""
        assert str(other.pid) in message and socket.gethostname() in message, message
        assert records_window.state.session is None
    finally:
        release.set()
        other.join(30)
    # once the other instance let go, it opens (and this instance now holds the lock)
    session = records_window.sessions.open(folder, restore_autosave=False)
    assert session is not None and records_window.sessions._lock is not None
    holder = json.loads((folder / records_window.sessions._lock.path.name).read_text())
    assert holder["pid"] == os.getpid()
    records_window.sessions.close_session()
    assert records_window.sessions._lock is None and records_window.state.session is None


def test_a_damaged_session_json_offers_the_last_good_autosave_and_keeps_the_damaged_file(records_window,
                                                                                      qtbot, tmp_path,
                                                                                      monkeypatch):
    from tmsnav.app.records import session_open

    folder = tmp_path / "damaged"
    s = Session.create(folder, "TMS-0008")
    s.record.notes = "autosaved note"
    s.autosave()
    text = (folder / "session.json").read_text()
    (folder / "session.json").write_text(text.replace('"patient_id"', 'patient_id', 1))   # a hand edit
    asked: list[str] = []
    monkeypatch.setattr(session_open, "ask_use_last_good", lambda _w, msg, _a: asked.append(msg) or False)
    assert records_window.sessions.open(folder) is None            # "No": nothing opened, nothing changed
    assert asked and "autosave" in asked[0].lower()
    assert (folder / "session.json").read_text() != text and records_window.sessions._lock is None
    monkeypatch.setattr(session_open, "ask_use_last_good", lambda _w, msg, _a: True)
    session = records_window.sessions.open(folder, restore_autosave=False)
    assert session is not None and session.record.notes == "autosaved note"
    assert list(folder.glob("session.json.damaged-*"))                  # kept, never deleted
    assert "damaged" in records_window.problem_label.text()
    records_window.sessions.close_session()


def test_records_status_follows_the_sync_of_a_course_session(records_window, qtbot, tmp_path):
    """Without a course session the indicator says the database is ready; a session of a course
    starts the sync and the indicator turns to 'synced' once its events are in the database."""
    from tmsnav.navigation.records.repository import CourseProtocol

    c = records_window.records.controller
    qtbot.waitUntil(lambda: c.label.text() == "Records: ready", timeout=WAIT_MS)
    records = c.records
    records.add_patient("TMS-0100")
    course = records.add_course("TMS-0100", CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30))
    session = Session.create(tmp_path / "course-session", "TMS-0100")
    session.record.course_uid = course.uid
    session.record.session_number = records.next_session_number(course.uid)
    session.save()
    records.upsert_session(session.record.session_id, course.uid, number=session.record.session_number,
                           started_utc=session.record.created_utc, folder=str(session.folder))
    records_window.state.set_session(session)
    qtbot.waitUntil(lambda: c.sync is not None, timeout=WAIT_MS)
    session.events.append("session_note", text="first note")
    qtbot.waitUntil(lambda: c.label.text() == "Records: synced", timeout=WAIT_MS)
    records_window.state.set_session(None)
    qtbot.waitUntil(lambda: c.sync is None and c.label.text() == "Records: ready", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: c.worker.pending == 0, timeout=WAIT_MS)
    assert records.session(session.record.session_id).events_synced_seq >= 1
    QtCore.QCoreApplication.processEvents()


def test_opening_another_session_drops_the_previous_sittings_registration(records_window, tmp_path):
    """The head reference is re-attached at every sitting: a registration from the session open
    before must never guide the coil in the next one (it used to stay in memory)."""
    w = records_window
    first = w.sessions.create(tmp_path / "day1", "TMS-0300")
    assert first is not None
    w.state.set_registration(type("R", (), {"mri_from_reference": object(), "to_dict": lambda self: {}})())
    w.state.registration_verified = True
    assert w.state.navigation_not_ready() == ""
    Session.create(tmp_path / "day2", "TMS-0300")
    assert w.sessions.open(tmp_path / "day2", restore_autosave=False) is not None
    assert w.state.registration is None and w.state.navigation_not_ready() == "not registered"
    assert not (tmp_path / "day1" / "session.lock").exists()         # the first folder was let go
    w.sessions.close_session()


def test_session_report_from_the_course_view_and_an_unwritable_folder_is_a_message(records_window, qtbot,
                                                                                   tmp_path):
    from tmsnav.navigation.records.repository import CourseProtocol

    w = records_window
    records = w.records.controller.records
    records.add_patient("TMS-0400")
    course = records.add_course("TMS-0400", CourseProtocol("L-DLPFC", 120.0, "iTBS", 50.0, 600, 30))
    records.upsert_session("a" * 32, course.uid, number=1, started_utc="2026-12-01T09:00:00+00:00",
                           operator="AB", folder=str(tmp_path / "gone"), status="closed")
    patients = w.records.show_patients()
    qtbot.waitUntil(lambda: patients.select_patient("TMS-0400"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: patients.view.data is not None and len(patients.view.session_rows()) == 1,
                    timeout=WAIT_MS)
    assert patients.view.session_rows()[0][:3] == ["1", "2026-12-01", "AB"]
    assert patients.view.session_rows()[0][4] == "—"                 # no pulses: no %, never 0
    actions = patients.actions_
    actions.open_when_done = False
    actions.report_dir = tmp_path / "reports"
    assert patients.view.session_report_button.isEnabled()
    qtbot.mouseClick(patients.view.session_report_button, QtCore.Qt.MouseButton.LeftButton)
    assert w.wait_for_job(120_000)
    assert actions.last_report is not None and actions.last_report.pdf.exists(), w.last_error
    assert actions.last_report.pdf.name.startswith("session-aaaaaaaa")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    actions.report_dir, actions.last_report = blocker / "reports", None
    qtbot.mouseClick(patients.view.course_report_button, QtCore.Qt.MouseButton.LeftButton)
    assert w.wait_for_job(120_000)
    assert actions.last_report is None and w.last_error and "a-file" in w.last_error, w.last_error
    assert "Traceback" not in w.last_error and "Unexpected" not in w.last_error
    # a completed course starts no new session: the course view says why
    view = patients.view
    view.status.setCurrentText("completed")
    view.status.activated.emit(view.status.currentIndex())
    patients.controller.worker.wait_idle(WAIT_MS)
    qtbot.waitUntil(lambda: view.data.course.status == "completed", timeout=WAIT_MS)
    assert "completed" in view.protocol.text()
    qtbot.mouseClick(view.today_button, QtCore.Qt.MouseButton.LeftButton)
    patients.controller.worker.wait_idle(WAIT_MS)
    assert "This course is completed" in w.last_error and w.state.session is None
    assert view.today_button.isEnabled()


def test_no_two_actions_of_the_window_share_a_shortcut(records_window):
    """A shortcut given to two actions fires neither (Qt reports it ambiguous): File > Patients
    first had Ctrl+Shift+P, which View > Workflow panel already uses."""
    from PySide6 import QtGui

    seen: dict[str, str] = {}
    for action in records_window.findChildren(QtGui.QAction):
        for key in action.shortcuts():
            text = key.toString()
            if text:
                assert text not in seen, f"{text}: {seen[text]!r} and {action.text()!r}"
                seen[text] = action.text()
    assert seen["Ctrl+Shift+R"] == "&Patients…"


def test_course_mistakes_are_refused_with_the_reason(records_window, qtbot, tmp_path):
    """No session to take the plan from, a plan without targets, more sessions a day than planned,
    a missing operator: each is refused with what to do, and nothing is written."""
    from tmsnav.app.records.course_dialog import CourseDialog
    from tmsnav.navigation.records.repository import CourseProtocol

    w = records_window
    records = w.records.controller.records
    records.add_patient("TMS-0600")
    patients = w.records.show_patients()
    qtbot.waitUntil(lambda: patients.select_patient("TMS-0600"), timeout=WAIT_MS)
    assert patients.new_course() is None                              # no session open
    assert "File > New session" in w.last_error
    w.sessions.create(tmp_path / "plan", "TMS-0600")
    dialog = patients.new_course()                                    # a session without targets
    assert dialog is not None and not dialog.ok_button.isEnabled() and "no target" in dialog.message.text()
    dialog.reject()
    d = CourseDialog(["L-DLPFC"], "L-DLPFC")
    d.sessions.setValue(5)
    d.per_day.setValue(10)
    d.submit()
    assert "More sessions per day than sessions planned" in d.message.text()
    d.pattern.setCurrentText("")
    d.per_day.setValue(1)
    d.submit()
    assert "pattern" in d.message.text()
    # today's session without an operator
    course = records.add_course("TMS-0600", CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30))
    patients.refresh_patients(select="TMS-0600")
    qtbot.waitUntil(lambda: patients.view.data is not None and patients.view.data.course.uid == course.uid,
                    timeout=WAIT_MS)
    patients.view.operator.setText("  ")
    qtbot.mouseClick(patients.view.today_button, QtCore.Qt.MouseButton.LeftButton)
    assert "operator" in w.last_error and records.sessions(course.uid) == []
    w.sessions.close_session()


class _Screen:
    """A screen's free area, as QScreen.availableGeometry gives it."""

    def __init__(self, width: int, height: int) -> None:
        self._free = QtCore.QRect(0, 0, width, height)

    def availableGeometry(self) -> QtCore.QRect:  # noqa: N802 (Qt's name)
        return self._free


def test_patients_window_fits_a_laptop_screen_and_its_content_can_shrink_to_it(records_window, qtbot):
    from tmsnav.app.records.patients_window import initial_size

    assert initial_size(_Screen(1920, 1050)) == (1280, 980)
    width, height = initial_size(_Screen(1366, 728))            # a 1366x768 laptop under a panel
    assert width <= 1346 and height <= 688
    patients = records_window.records.show_patients()
    qtbot.waitExposed(patients)
    assert patients.minimumSizeHint().height() <= height, "the content cannot shrink to the screen"
