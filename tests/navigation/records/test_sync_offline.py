"""The clinic's PostgreSQL server goes away mid-session (pg_ctl stop -m fast) and comes back:
the sync says the database is unreachable and how many events wait, pulses keep landing in the
session folder, and once the server is back everything is sent and the status is synced.
Also the sync's behaviour without a server (SQLite) and on a session of no course."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import psycopg
import pytest
from pg_server import PgServer, PgUnavailable, start_postgres
from sync_helpers import planned_course, wait_until

from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.repository import Records
from tmsnav.navigation.records.sync import RecordsSync
from tmsnav.navigation.records.today import start_todays_session
from tmsnav.navigation.session import Session, read_events
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import PulseLog, pulses_from_events


def _pose(i: int) -> Transform:
    m = np.eye(4)
    m[:3, 3] = (0.1 * i, 0.0, 0.0)
    return Transform(Frame.MRI, Frame.HOTSPOT, m)


def _stream(log: PulseLog, n: int, start: int) -> None:
    for i in range(start, start + n):
        log.record(i * 100_000_000, "magpro", mri_from_hotspot=_pose(i), output_pct_mso=55.0)


@pytest.fixture
def own_server(tmp_path: Path):
    """A PostgreSQL server of this test alone: stopping it must not disturb other tests."""
    try:
        server = start_postgres(tmp_path)
    except PgUnavailable as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must test PostgreSQL: {err}")
        pytest.skip(str(err))
    yield server
    server.stop()


def _database_on(server: PgServer) -> str:
    with psycopg.connect(host=str(server.folder), port=5433, user="tmsnav", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute('CREATE DATABASE "clinic"')
    return server.url_for("clinic")


def test_server_stopped_mid_session_then_back_syncs_every_pulse(own_server: PgServer, tmp_path: Path):
    records = Records(Database.open(_database_on(own_server), connect_timeout_s=2))
    course_uid = planned_course(records, tmp_path)
    session = start_todays_session(records, course_uid, tmp_path / "sessions", "RN Weber")
    uid = session.record.session_id
    statuses = []
    sync = RecordsSync(lambda: records, session, retry_s=0.05, max_retry_s=0.2, batch_s=0.0)
    sync.add_status_listener(statuses.append)
    sync.start()
    try:
        log = PulseLog(session.events)
        _stream(log, 20, 0)
        wait_until(lambda: sync.status().state == "synced", what="first sync")
        assert records.session(uid).pulses_total == 20

        own_server.stop(remove=False)                      # pg_ctl stop -m fast
        _stream(log, 30, 20)                                # the session goes on
        wait_until(lambda: sync.status().state == "offline", what="offline status")
        status = sync.status()
        assert status.message.startswith("Database unreachable since ")
        assert f"{status.pending_events} events wait in the session folder" in status.message
        assert "they will be sent when it returns" in status.message
        assert status.pending_events >= 30 and status.since_utc is not None
        on_disk = pulses_from_events(read_events(session.folder / "events.jsonl").events)
        assert len(on_disk) == 50                           # nothing waits in memory only
        session.add_note("Database down during the session.")

        own_server.start()
        _stream(log, 5, 50)
        wait_until(lambda: sync.status().state == "synced", what="sync after the server returned")
    finally:
        final = sync.stop()
        session.release_lock()
    assert final.state == "synced" and final.pending_events == 0
    row = records.session(uid)
    assert row.pulses_total == 55 and "Database down" in row.notes
    assert [p.index for p in records.pulses(uid)] == list(range(1, 56))
    # offline while the server was down, then synced after it returned (once or more: the 5 pulses
    # streamed after the restart may arrive before or after the first catch-up)
    states = [s.state for s in statuses]
    assert "offline" in states
    assert "synced" in states[len(states) - 1 - states[::-1].index("offline"):]
    records.database.close()


def test_unreachable_from_the_start_says_so_and_sends_all_later(tmp_path: Path):
    """connect() itself fails (the server was never there): offline, then synced once it works."""
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    records = Records(Database.open(url))
    course_uid = planned_course(records, tmp_path)
    session = start_todays_session(records, course_uid, tmp_path / "sessions", "RN Weber")
    reachable = False

    def connect() -> Records:
        from tmsnav.navigation.records.errors import DatabaseUnavailable
        if not reachable:
            raise DatabaseUnavailable("Cannot reach the clinic database at db.clinic.local.")
        return records

    sync = RecordsSync(connect, session, retry_s=0.02, max_retry_s=0.05, batch_s=0.0)
    sync.start()
    try:
        _stream(PulseLog(session.events), 12, 0)
        wait_until(lambda: sync.status().state == "offline" and sync.status().pending_events >= 12)
        reachable = True
        wait_until(lambda: sync.status().state == "synced")
    finally:
        sync.stop()
        session.release_lock()
    assert records.session(session.record.session_id).pulses_total == 12


def test_session_without_course_is_an_error_state_not_a_crash(tmp_path: Path):
    records = Records(Database.open(f"sqlite:///{tmp_path / 'clinic.sqlite3'}"))
    plain = Session.create(tmp_path / "plain", "SUBJ-0042")
    sync = RecordsSync(lambda: records, plain, retry_s=0.02, max_retry_s=0.05, batch_s=0.0)
    sync.start()
    try:
        wait_until(lambda: sync.status().state == "error")
        assert "belongs to no course" in sync.status().message
        plain.add_note("still recorded")
        assert read_events(plain.folder / "events.jsonl").events[-1].kind == "session_note"
    finally:
        sync.stop(final_sync=False)


def test_a_failing_listener_never_loses_or_blocks_the_event(tmp_path: Path):
    """The sync hears of events through EventLog.add_listener: whatever a listener does, the
    event is on disk first and append() returns normally."""
    s = Session.create(tmp_path / "s", "SUBJ-0042")
    heard = []

    def broken(event) -> None:
        raise RuntimeError("listener bug")

    s.events.add_listener(broken)
    s.events.add_listener(heard.append)
    event = s.add_note("kept")
    assert read_events(s.folder / "events.jsonl").events[-1].data["text"] == "kept"
    assert heard == [event] and s.events.next_seq == event.seq + 1
    s.events.remove_listener(heard.append)
    s.add_note("after removal")
    assert len(heard) == 1


def test_close_on_stop_closes_the_database_the_sync_opened(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    records = Records(Database.open(url))
    course_uid = planned_course(records, tmp_path)
    session = start_todays_session(records, course_uid, tmp_path / "sessions", "RN Weber")
    opened: list[Database] = []
    closed: list[Database] = []

    def connect() -> Records:
        db = Database.open(url)
        real_close = db.close
        db.close = lambda: (closed.append(db), real_close())    # type: ignore[method-assign]
        opened.append(db)
        return Records(db)

    sync = RecordsSync(connect, session, retry_s=0.02, batch_s=0.0, close_on_stop=True)
    sync.start()
    try:
        session.add_note("one")
        wait_until(lambda: sync.status().state == "synced")
    finally:
        final = sync.stop()
        session.release_lock()
    assert final.state == "synced" and len(opened) == 1 and closed == opened
    assert "one" in records.session(session.record.session_id).notes
