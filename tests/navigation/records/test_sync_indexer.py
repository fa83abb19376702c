"""Indexing a session folder into the database (SQLite and PostgreSQL): everything the session
row shows comes from the folder, pulses are added once however often it runs, the watermark moves
with them, torn lines and unknown event kinds are skipped, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sync_helpers import planned_course

from tmsnav.navigation.records.errors import RecordsError
from tmsnav.navigation.records.indexer import FolderReader, index_session_folder, registration_error_mm
from tmsnav.navigation.records.repository import Records
from tmsnav.navigation.records.today import start_todays_session
from tmsnav.navigation.session import Session, read_events
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import PulseLog
from tmsnav.navigation.treatment.statistics import pulse_statistics


class _Target:
    name = "L-DLPFC"
    mri_from_target = Transform(Frame.MRI, Frame.TARGET, np.eye(4))


def _pose(offset_mm: float) -> Transform:
    m = np.eye(4)
    m[:3, 3] = (offset_mm, 0.0, 0.0)
    return Transform(Frame.MRI, Frame.HOTSPOT, m)


def _log_pulses(session: Session, offsets, *, output: float | None = 60.0, start_ns: int = 0) -> PulseLog:
    log = PulseLog(session.events)
    for i, off in enumerate(offsets):
        if off is None:
            log.record(start_ns + i * 100_000_000, "magpro", mri_from_hotspot=None,
                       pose_reason="coil not tracked", target=_Target(), output_pct_mso=output)
        else:
            log.record(start_ns + i * 100_000_000, "magpro", mri_from_hotspot=_pose(off),
                       target=_Target(), output_pct_mso=output)
    return log


@pytest.fixture
def today(records: Records, tmp_path: Path):
    course_uid = planned_course(records, tmp_path)
    session = start_todays_session(records, course_uid, tmp_path / "sessions", "RN Weber")
    yield course_uid, session
    session.release_lock()


def test_index_builds_the_session_row_from_the_folder(records: Records, today):
    course_uid, s = today
    s.record.registration = {"method": "fiducials+icp", "fre_rms_mm": 2.1, "icp_rms_mm": 1.3,
                             "predicted_error_mm": {"L-DLPFC": 3.4, "vertex": 5.0}}
    s.save()
    s.events.append("motor_threshold", method="relative frequency", threshold_pct=48,
                    pulses_used=20, message="")
    log = _log_pulses(s, [0.5, 1.0, None, 4.0, 2.0])
    s.add_adverse_event("headache", "mild", "rest")
    s.add_note("Slept badly.")
    s.close_session()
    result = index_session_folder(records, s.folder)
    assert (result.pulses_added, result.adverse_events_added, result.pulses_total) == (5, 1, 5)
    assert result.synced_seq == s.events.next_seq - 1 and result.unknown_kinds == ()
    row = records.session(s.record.session_id)
    expected = pulse_statistics(log.pulses)
    assert (row.pulses_total, row.pulses_with_pose, row.pulses_on_target) == (5, 4, expected.n_on_target)
    assert row.median_error_mm == pytest.approx(expected.median_error_mm)
    assert row.p95_error_mm == pytest.approx(expected.p95_error_mm)
    assert row.motor_threshold_pct_mso == 48 and row.intensity_pct_mso == 60
    assert row.registration_error_mm == 3.4          # the predicted bound at the course's target
    assert row.status == "closed" and row.ended_utc is not None and "Slept badly." in row.notes
    assert row.operator == "RN Weber" and row.navigator and row.events_synced_seq == result.synced_seq
    (ae,) = records.adverse_events(course_uid)
    assert (ae.description, ae.severity, ae.action) == ("headache", "mild", "rest")
    stored = records.pulses(s.record.session_id)
    assert [p.index for p in stored] == [1, 2, 3, 4, 5]
    assert [p.position_error_mm for p in stored] == [p.position_error_mm for p in log.pulses]
    # again: nothing new, nothing doubled
    again = index_session_folder(records, s.folder)
    assert (again.pulses_added, again.adverse_events_added, again.events_indexed) == (0, 0, 0)
    assert len(records.pulses(s.record.session_id)) == 5 and len(records.adverse_events(course_uid)) == 1


def test_incremental_runs_add_only_what_is_new_and_survive_a_restart_of_the_pulse_log(
        records: Records, today):
    """A restarted program logs pulses 1, 2, ... again into the same session: the database
    numbers pulses by their place in the log, so none is lost or merged."""
    _course_uid, s = today
    reader = FolderReader(s.folder)
    _log_pulses(s, [0.5, 1.0, 1.5])
    assert index_session_folder(records, s.folder, reader=reader).pulses_added == 3
    _log_pulses(s, [2.0, 2.5], start_ns=10**9)            # a new PulseLog: its indexes restart at 1
    result = index_session_folder(records, s.folder, reader=reader)
    assert result.pulses_added == 2 and result.pulses_total == 5
    stored = records.pulses(s.record.session_id)
    assert [p.index for p in stored] == [1, 2, 3, 4, 5]
    assert [p.position_error_mm for p in stored] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5])
    # a fresh reader (another program indexing the same folder) agrees and adds nothing
    assert index_session_folder(records, s.folder).pulses_added == 0


def test_torn_line_and_unknown_kinds_are_skipped_not_fatal(records: Records, today):
    _course_uid, s = today
    _log_pulses(s, [0.5, 1.0])
    s.events.append("future_kind_from_tmsnav_9", payload=1)
    with open(s.folder / "events.jsonl", "a") as f:
        f.write('{"seq": 999, "kind": "pulse", "time_utc": "2026-12-05T10:00:00", "monotonic_ns": 1, '
                '"index": 3}\n')                           # a malformed pulse record (fields missing)
        bad_pose = _bad_pose_pulse()
        f.write(json.dumps({"seq": 1000, "kind": "pulse", "time_utc": "2026-12-05T10:00:00",
                            "monotonic_ns": 2, **bad_pose}) + "\n")   # a 3x3 "pose"
        f.write('{"seq": 1001, "kind": "pul')              # torn by a crash
    result = index_session_folder(records, s.folder)
    assert result.pulses_added == 2 and result.unknown_kinds == ("future_kind_from_tmsnav_9",)
    assert result.skipped_lines == 2                       # the malformed pulses; the torn tail waits
    reopened = Session.open(s.folder)                      # the next program closes the torn line
    _log_pulses(reopened, [3.0])
    result = index_session_folder(records, s.folder)
    assert result.pulses_total == 3 and result.skipped_lines == 3
    assert [p.index for p in records.pulses(s.record.session_id)] == [1, 2, 3]


def _bad_pose_pulse() -> dict:
    log = PulseLog()
    data = log.record(5, "magpro", mri_from_hotspot=_pose(1.0), target=_Target()).to_event_data()
    data["mri_from_hotspot"] = np.eye(3).tolist()
    return data


def test_damaged_session_json_still_indexes_from_the_last_good_autosave(records: Records, today):
    _course_uid, s = today
    s.autosave()
    _log_pulses(s, [0.5])
    s.path.write_text("{ hand edited")
    assert index_session_folder(records, s.folder).pulses_added == 1


def test_session_of_no_course_is_refused_with_a_clear_message(records: Records, tmp_path: Path):
    plain = Session.create(tmp_path / "plain", "SUBJ-0042")
    with pytest.raises(RecordsError, match="belongs to no course"):
        index_session_folder(records, plain.folder)


def test_registration_error_figure():
    assert registration_error_mm(None, "L") is None
    assert registration_error_mm({"method": "fiducials", "fre_rms_mm": 2.0}, "L") == 2.0
    assert registration_error_mm({"method": "fiducials+icp", "fre_rms_mm": 2.0, "icp_rms_mm": 1.1},
                                 "L") == 1.1
    assert registration_error_mm({"method": "fiducials", "fre_rms_mm": 2.0,
                                  "predicted_error_mm": {"L": 4.2}}, "L") == 4.2


def test_reader_waits_for_an_incomplete_last_line(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    line = json.dumps({"seq": 0, "kind": "session_note", "time_utc": "t", "monotonic_ns": 0,
                       "text": "a"})
    path.write_text(line[:20])
    reader = FolderReader(tmp_path)
    assert reader.read_new() == 0 and reader.skipped == 0
    path.write_text(line + "\n")
    assert reader.read_new() == 1 and reader.notes[0].data["text"] == "a"


def test_a_copy_of_an_indexed_folder_is_refused_but_a_moved_one_is_followed(records: Records, today):
    import shutil

    _course_uid, s = today
    _log_pulses(s, [0.5])
    index_session_folder(records, s.folder)
    copy = s.folder.with_name(s.folder.name + "-copy")
    shutil.copytree(s.folder, copy)
    (copy / "session.lock").unlink()
    _log_pulses(Session.open(copy), [9.0])                # recorded into the copy by mistake
    with pytest.raises(RecordsError, match="is a copy of it"):
        index_session_folder(records, copy)
    assert records.session(s.record.session_id).pulses_total == 1
    s.release_lock()
    moved = s.folder.with_name("moved")
    shutil.rmtree(copy)
    s.folder.rename(moved)                                # the sessions folder moved to a new disk
    _log_pulses(Session.open(moved), [1.5])
    assert index_session_folder(records, moved).pulses_total == 2
    assert Path(records.session(s.record.session_id).folder) == moved.resolve()


def test_events_appended_from_several_threads_are_numbered_once_and_all_indexed(records: Records, today):
    """The pulse writer thread, the GUI thread (notes, adverse events) and others append at once:
    each event must get its own sequence number, or the database (idempotent on it) drops some."""
    import sys
    import threading

    course_uid, s = today
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)                # switch threads as often as possible
    try:
        def report(k: int) -> None:
            for i in range(40):
                s.add_adverse_event(f"event {k}-{i}", "mild")

        threads = [threading.Thread(target=report, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    seqs = [e.seq for e in read_events(s.folder / "events.jsonl").events]
    assert seqs == list(range(len(seqs)))       # unique, in file order
    index_session_folder(records, s.folder)
    assert len(records.adverse_events(course_uid)) == 160
