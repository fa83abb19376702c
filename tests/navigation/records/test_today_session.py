"""Today's session of a course (SQLite and PostgreSQL): the plan is reused, the registration is
not, the folder name carries no patient identifier, the folder is locked, numbers follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_helpers import PSEUDONYM, planned_course, planning_session, protocol

from tmsnav.navigation.records.errors import RecordsError
from tmsnav.navigation.records.repository import Records
from tmsnav.navigation.records.today import (default_sessions_root, plan_course_from_session,
                                      start_todays_session)
from tmsnav.navigation.session import Session, read_events
from tmsnav.navigation.session.lock import SessionLock, SessionLockedError
from tmsnav.navigation.session.restore import restore_session


def test_todays_session_reuses_the_plan_but_not_the_registration(records: Records, tmp_path: Path):
    course_uid = planned_course(records, tmp_path)
    records.add_patient("OTHER-1", full_name="Ada Quixote", mrn="MRN-77")
    plan = Session.open(tmp_path / "plan")
    plan.set_registration({"method": "fiducials", "fre_rms_mm": 1.2, "accepted": True})
    plan.save()
    s1 = start_todays_session(records, course_uid, tmp_path / "sessions", "RN Weber")
    try:
        rec = s1.record
        assert rec.course_uid == course_uid and rec.session_number == 1 and rec.operator == "RN Weber"
        assert rec.registration is None                        # always registered again
        assert s1.image("T1").sha256 == "ab" * 32 and rec.targets == plan.record.targets
        assert rec.calibrations["coil"]["model_id"] == "magventure-cool-b65"
        assert rec.calibrations["pointer"]["rms_mm"] == 0.4
        restored = restore_session(Session.open(s1.folder).record)
        assert restored.warnings == [] and restored.targets.names == ["L-DLPFC"]
        assert restored.mri_from_mni is not None and restored.registration is None
        # folder: date, course uid prefix, number; never the pseudonym
        assert s1.folder.name.endswith(f"_{course_uid[:8]}_s01")
        assert PSEUDONYM not in str(s1.folder) and "SUBJ" not in s1.folder.name
        row = records.session(rec.session_id)
        assert (row.number, row.status, row.operator) == (1, "open", "RN Weber")
        assert Path(row.folder) == s1.folder.resolve()
        with pytest.raises(SessionLockedError):               # locked while open
            SessionLock.acquire(s1.folder)
        kinds = [e.kind for e in read_events(s1.folder / "events.jsonl").events]
        assert kinds[0] == "session_created" and "registration" not in kinds
    finally:
        s1.release_lock()
    s2 = start_todays_session(records, course_uid, tmp_path / "sessions", "Dr Lin")
    s2.release_lock()
    assert s2.record.session_number == 2 and s2.folder.name.endswith("_s02")
    assert [s.number for s in records.sessions(course_uid)] == [1, 2]


def test_course_must_be_startable_and_operator_named(records: Records, tmp_path: Path):
    course_uid = planned_course(records, tmp_path)
    with pytest.raises(RecordsError, match="operator"):
        start_todays_session(records, course_uid, tmp_path / "sessions", "  ")
    records.update_course(course_uid, status="completed")
    with pytest.raises(RecordsError, match="course is completed"):
        start_todays_session(records, course_uid, tmp_path / "sessions", "RN Weber")
    empty = records.add_course(PSEUDONYM, protocol())
    with pytest.raises(RecordsError, match="no plan yet"):
        start_todays_session(records, empty.uid, tmp_path / "sessions", "RN Weber")
    assert records.sessions(course_uid) == [] and not (tmp_path / "sessions").exists()


def test_unusable_sessions_root_is_a_clear_error_and_nothing_stays_open(records: Records,
                                                                       tmp_path: Path):
    """A file where the sessions folder should be (a full or read-only disk fails the same way)."""
    course_uid = planned_course(records, tmp_path)
    (tmp_path / "not-a-folder").write_text("")
    with pytest.raises(Exception, match="Cannot create today's session folder"):
        start_todays_session(records, course_uid, tmp_path / "not-a-folder", "RN Weber")
    (row,) = records.sessions(course_uid)
    assert row.status == "closed" and "could not be made" in row.notes


def test_plan_refuses_another_patients_session_or_a_missing_target(records: Records,
                                                                   tmp_path: Path):
    records.add_patient(PSEUDONYM)
    records.add_patient("SUBJ-0099")
    plan = planning_session(tmp_path / "plan")
    with pytest.raises(RecordsError, match="of patient 'SUBJ-0042', not 'SUBJ-0099'"):
        plan_course_from_session(records, "SUBJ-0099", plan, protocol())
    wrong_target = protocol()
    wrong_target = type(wrong_target)("R-DLPFC", 110.0, "iTBS", None, 600, 30)
    with pytest.raises(RecordsError, match="'R-DLPFC' is not among the session's targets \\(L-DLPFC\\)"):
        plan_course_from_session(records, PSEUDONYM, plan, wrong_target)
    no_t1 = Session.create(tmp_path / "bare", PSEUDONYM)
    with pytest.raises(RecordsError, match="no T1"):
        plan_course_from_session(records, PSEUDONYM, no_t1, protocol())
    assert records.courses(PSEUDONYM) == []
    course = plan_course_from_session(records, PSEUDONYM, plan, protocol())
    assert course.mri_sha256 == "ab" * 32 and course.coil_model_id == "magventure-cool-b65"
    assert Path(course.plan_folder) == plan.folder.resolve()


def test_default_sessions_root_is_in_the_user_data_folder():
    root = default_sessions_root()
    assert root.name == "sessions" and root.parent.name.lower() == "tmsnav"
