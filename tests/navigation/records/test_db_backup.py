"""Backing up the embedded SQLite database while it is open (SQLite's online backup API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.errors import RecordsError
from tmsnav.navigation.records.repository import CourseProtocol, Records


def test_online_backup_is_a_complete_usable_database(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    records = Records(db)
    records.add_patient("P001", full_name="A B")
    course = records.add_course("P001", CourseProtocol("F3", 120.0, "10 Hz", 10.0, 3000, 30))
    records.upsert_session("s1", course.uid)
    copy = db.backup(tmp_path / "backup.sqlite3")
    records.add_patient("P002")                         # after the snapshot: not in the copy
    restored = Database.open(f"sqlite:///{copy}", upgrade=False)
    again = Records(restored)
    assert [p.pseudonym for p in again.find_patients("")] == ["P001"]
    assert [s.uid for s in again.sessions(course.uid)] == ["s1"]
    assert restored.schema_revision() == db.schema_revision()
    with pytest.raises(RecordsError, match="exists"):
        db.backup(copy)                                 # never overwrites a backup
    restored.close()
    db.close()


def test_postgresql_backup_points_to_pg_dump(pg_database_url: str) -> None:
    db = Database.open(pg_database_url)
    with pytest.raises(RecordsError, match="pg_dump"):
        db.backup("/tmp/never-written.sqlite3")
    db.close()
