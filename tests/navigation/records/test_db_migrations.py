"""Schema migrations (SQLite and PostgreSQL): a 0.1 (revision 0001) database and a revision 0002
database with data upgrade to head with nothing lost, a database written by a newer tmsnav is
refused with a clear message, the models equal the head revision, and a file that is not a
database is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from tmsnav.navigation.records.database import Database, alembic_config, head_revision
from tmsnav.navigation.records.errors import NewerSchemaError, RecordsError
from tmsnav.navigation.records.models import Base
from tmsnav.navigation.records.repository import CourseProtocol, Records

NOW = "2026-11-01T08:00:00.000+00:00"
HEAD = "0003"


def _engine_url(db_url: str) -> str:
    return db_url.replace("postgresql://", "postgresql+psycopg://", 1)


def _build_0001_with_data(db_url: str) -> None:
    """What tmsnav 0.1 left behind: schema 0001 and one patient's course, session, pulse, outcome."""
    engine = create_engine(_engine_url(db_url))
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(text("INSERT INTO patients (id, pseudonym, full_name, created_utc, notes) "
                          "VALUES (1, 'OLD-1', 'Old Name', :t, '')"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO courses (id, uid, patient_id, indication, target_name, targets, mri_path, "
            "mri_sha256, coil_model_id, plan_folder, intensity_pct_rmt, pattern, frequency_hz, "
            "pulses_per_session, sessions_planned, sessions_per_day, status, created_utc, notes) "
            "VALUES (1, 'c0ffee', 1, 'depression', 'F3', :targets, '/t1.nii', '', 'coil', '/plan', "
            "120, '10 Hz', 10, 3000, 30, 1, 'active', :t, '')"),
            {"t": NOW, "targets": '{"targets": [{"name": "F3"}]}'})
        conn.execute(text(
            "INSERT INTO sessions (id, uid, course_id, number, started_utc, operator, folder, notes, "
            "status, pulses_total, pulses_with_pose, pulses_on_target, median_error_mm, "
            "events_synced_seq, updated_utc) VALUES (1, 'sess-old', 1, 1, :t, 'op', '/s1', '', "
            "'closed', 1, 1, 1, 1.5, 9, :t)"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO pulses (session_id, \"index\", wall_time_utc, host_time_ns, source, x_mm, "
            "y_mm, z_mm, pose_reason, position_error_mm, within_tolerance) VALUES "
            "(1, 1, :t, 123456789012345, 'ttl', 1.0, 2.0, 3.0, '', 1.5, :yes)"),
            {"t": NOW, "yes": True})
        conn.execute(text(
            "INSERT INTO outcomes (uid, course_id, session_id, scale, assessed_on, timepoint, total, "
            "rater, entered_utc) VALUES ('o1', 1, 1, 'PHQ-9', '2026-11-01', 'baseline', 19, 'rk', :t)"),
            {"t": NOW})
    engine.dispose()


def test_upgrade_from_the_previous_schema_keeps_the_data(db_url: str) -> None:
    _build_0001_with_data(db_url)
    db = Database.open(db_url)
    try:
        assert db.schema_revision() == head_revision() == HEAD
        records = Records(db)
        assert records.patient("OLD-1").full_name == "Old Name"
        course = records.course("c0ffee")
        assert course.protocol == CourseProtocol("F3", 120.0, "10 Hz", 10.0, 3000, 30, 1)
        assert course.targets == {"targets": [{"name": "F3"}]}
        (session,) = records.sessions("c0ffee")
        assert (session.uid, session.number, session.navigator, session.events_synced_seq,
                session.median_error_mm) == ("sess-old", 1, "", 9, 1.5)
        (pulse,) = records.pulses("sess-old")
        assert pulse.host_time_ns == 123456789012345 and pulse.within_tolerance is True
        assert records.course_pulse_positions("c0ffee")[1].tolist() == [[1.0, 2.0, 3.0]]
        (outcome,) = records.outcomes("c0ffee")
        assert (outcome.total, outcome.items, outcome.session_uid) == (19, None, "sess-old")
        # what 0002 added works on the upgraded data
        records.add_adverse_event("sess-old", 3, NOW, "headache", "mild")
        assert [e.description for e in records.adverse_events("c0ffee")] == ["headache"]
        records.add_outcome("c0ffee", "PHQ-9", "2026-11-20", items=[1] * 9)
        assert [o.total for o in records.outcomes("c0ffee")] == [19, 9]
    finally:
        db.close()


def _build_0002_with_data(db_url: str) -> None:
    """What tmsnav wrote at schema 0002: the 0.1 data upgraded, an item-by-item PHQ-9 with its
    suicide item above zero, a session's navigator and an adverse event."""
    _build_0001_with_data(db_url)
    engine = create_engine(_engine_url(db_url))
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.execute(text("UPDATE sessions SET navigator = 'room-2' WHERE id = 1"))
        conn.execute(text(
            "INSERT INTO outcomes (uid, course_id, session_id, scale, assessed_on, timepoint, items, "
            "total, rater, entered_utc) VALUES ('o2', 1, 1, 'PHQ-9', '2026-11-20', 'week 3', "
            ":items, 18, 'rk', :t)"), {"t": NOW, "items": "[2, 2, 2, 2, 2, 2, 2, 2, 2]"})
        conn.execute(text(
            "INSERT INTO adverse_events (session_id, seq, time_utc, description, severity, action) "
            "VALUES (1, 4, :t, 'scalp discomfort', 'mild', '')"), {"t": NOW})
    engine.dispose()


def test_upgrade_from_0002_keeps_the_data_and_every_entry_is_current(db_url: str) -> None:
    """0003 adds the correction columns as NULL: the old entries stay current (none is hidden as
    if retracted), and a correction works on upgraded data."""
    _build_0002_with_data(db_url)
    db = Database.open(db_url)
    try:
        assert db.schema_revision() == HEAD
        records = Records(db)
        assert records.session("sess-old").navigator == "room-2"
        assert [e.description for e in records.adverse_events("c0ffee")] == ["scalp discomfort"]
        every = records.outcomes("c0ffee", include_retracted=True)
        assert records.outcomes("c0ffee") == every
        assert [(o.uid, o.total, o.items, o.retracted, o.superseded_by_uid) for o in every] == [
            ("o1", 19, None, False, None), ("o2", 18, (2,) * 9, False, None)]
        fixed = records.correct_outcome("o2", by="rk", reason="item 9 mistyped", items=[2] * 8 + [0])
        assert (fixed.total, fixed.session_uid, fixed.timepoint) == (16, "sess-old", "week 3")
        assert [o.uid for o in records.outcomes("c0ffee")] == ["o1", fixed.uid]
    finally:
        db.close()


def test_older_schema_without_upgrade_is_refused(db_url: str) -> None:
    _build_0001_with_data(db_url)
    with pytest.raises(RecordsError, match=f"schema 0001.*needs {HEAD}"):
        Database.open(db_url, upgrade=False)
    db = Database.open(db_url)          # still 0001 and intact: the refusal changed nothing
    assert Records(db).patient("OLD-1").pseudonym == "OLD-1"
    db.close()


def test_newer_schema_is_refused_and_left_untouched(db_url: str) -> None:
    db = Database.open(db_url)
    Records(db).add_patient("P001")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0042_future'"))
    db.close()
    with pytest.raises(NewerSchemaError) as caught:
        Database.open(db_url)
    message = str(caught.value)
    assert "newer tmsnav (schema 0042_future)" in message
    assert f"knows up to {HEAD}" in message
    engine = create_engine(_engine_url(db_url))
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0042_future"
        assert conn.execute(text("SELECT pseudonym FROM patients")).scalars().all() == ["P001"]
    engine.dispose()


def test_models_equal_the_head_revision(database: Database) -> None:
    """A model changed without a migration (or the reverse) shows up here, on both back ends."""
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tmsnav.sqlite3"
    path.write_bytes(b"these are not the bytes of an SQLite file" * 50)
    with pytest.raises(RecordsError, match="not a usable tmsnav database"):
        Database.open(f"sqlite:///{path}")
    assert path.read_bytes().startswith(b"these are not")


def test_the_sqlite_folder_is_created(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'a' / 'b' / 'tmsnav.sqlite3'}")
    assert (tmp_path / "a" / "b" / "tmsnav.sqlite3").is_file()
    assert db.dialect == "sqlite" and db.schema_revision() == HEAD
    db.close()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "oracle://x"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(RecordsError, match="SQLite|database URL"):
        Database.open(url)


def test_two_navigators_opening_an_empty_database_at_once(db_url: str) -> None:
    """Both create-or-upgrade on their first connection: one creates the tables, the other waits
    (PostgreSQL advisory lock / SQLite write lock) and finds them; neither fails."""
    import threading

    opened: list[Database] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def open_it() -> None:
        try:
            barrier.wait(timeout=30)
            opened.append(Database.open(db_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert [db.schema_revision() for db in opened] == [HEAD, HEAD]
    Records(opened[0]).add_patient("P001")
    assert Records(opened[1]).patient("P001").pseudonym == "P001"
    for db in opened:
        db.close()
