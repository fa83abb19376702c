"""The clinic's PostgreSQL server goes away while today's session is open in the app: the status
bar says the records are offline and how many events wait, the session goes on (every event is in
its folder), and when the server is back the status returns to synced with everything sent.
A real PostgreSQL server started by the test (Debian's postgresql package), stopped with
``pg_ctl stop -m fast`` and started again. No wall-clock sleeps: every wait is a condition."""

from __future__ import annotations

import os

import psycopg
import pytest
from PySide6 import QtCore

from tests.app.registration_helpers import dlpfc_target
from tests.app.test_records_gui import WAIT_MS, make_window
from tests.navigation.records.pg_server import PORT, PgUnavailable, start_postgres

pytestmark = pytest.mark.gui


@pytest.fixture
def server(tmp_path):
    try:
        pg = start_postgres(tmp_path)
    except PgUnavailable as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must test PostgreSQL: {err}")
        pytest.skip(str(err))
    with psycopg.connect(host=str(pg.folder), port=PORT, user="tmsnav", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute('CREATE DATABASE "clinic"')
    yield pg
    pg.stop()


def test_server_lost_and_back_during_todays_session_shows_offline_then_synced(qtbot, tmp_path, monkeypatch,
                                                                             server):
    from tmsnav.navigation.records.repository import CourseProtocol
    from tmsnav.navigation.records.today import plan_course_from_session

    w = make_window(qtbot, tmp_path, monkeypatch, server.url_for("clinic"))
    try:
        c = w.records.controller
        c.sync_options = {"retry_s": 0.05, "max_retry_s": 0.2, "batch_s": 0.0}
        assert c.wait_open(WAIT_MS), c.error
        assert c.database.dialect == "postgresql"
        with qtbot.waitSignal(w.headLoaded, timeout=120_000):
            w.open_sample_head()
        w.wait_for_job()
        target = dlpfc_target(w.state.head)
        w.state.targets.add(target)
        w.state.targets_edited("test target")
        plan = w.sessions.create(tmp_path / "plan", "TMS-0500")
        c.records.add_patient("TMS-0500")
        course = plan_course_from_session(c.records, "TMS-0500", plan,
                                          CourseProtocol(target.name, 120.0, "iTBS", 50.0, 600, 30))
        patients = w.records.show_patients()
        qtbot.waitUntil(lambda: patients.select_patient("TMS-0500"), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: patients.view.data is not None, timeout=WAIT_MS)
        qtbot.mouseClick(patients.view.today_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.state.session is not None and w.state.session is not plan, timeout=WAIT_MS)
        session = w.state.session
        assert session.record.course_uid == course.uid
        qtbot.waitUntil(lambda: c.label.text() == "Records: synced", timeout=WAIT_MS)

        server.stop(remove=False)                               # pg_ctl stop -m fast
        for i in range(5):
            session.add_note(f"note {i} while the server is away")
        qtbot.waitUntil(lambda: c.label.text().startswith("Records offline:"), timeout=WAIT_MS)
        assert "events wait" in c.label.text() and int(c.label.text().split()[2]) >= 5
        assert "Database unreachable since" in c.label.toolTip()
        assert w.isVisible() and w.job is None                   # the GUI goes on

        server.start()
        qtbot.waitUntil(lambda: c.label.text() == "Records: synced", timeout=WAIT_MS)
        row = c.records.session(session.record.session_id)
        assert all(f"note {i} while" in row.notes for i in range(5))
    finally:
        w.close()
