"""Courses, sessions and pulses in the clinic database (SQLite and PostgreSQL): the protocol, session
numbering with two navigators writing at once, idempotent pulses and their summary, the course's
pulse positions, adverse events, and opening a patient without loading pulse rows."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event

from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.errors import NotFoundError, RecordsError
from tmsnav.navigation.records.repository import CourseProtocol, Records
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import LoggedPulse
from tmsnav.navigation.treatment.statistics import pulse_statistics

PROTOCOL = CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30)


def make_pulse(index: int, *, pose: tuple[float, float, float] | None = (10.0, 20.0, 30.0),
               error: float | None = 1.0, within: bool | None = True) -> LoggedPulse:
    matrix = None
    if pose is not None:
        m = np.eye(4)
        m[:3, 3] = pose
        matrix = Transform(Frame.MRI, Frame.HOTSPOT, m)
    return LoggedPulse(index=index, host_time_ns=10**12 + index * 10**8,
                       wall_time_iso=f"2026-12-05T09:00:{index % 60:02d}.000+00:00",
                       source="simulated", sequence=index, output_pct_mso=55.0, didt_a_per_us=80.5,
                       mri_from_hotspot=matrix, pose_reason="" if pose else "coil not tracked",
                       target_name="L-DLPFC" if pose else None,
                       position_error_mm=error if pose else None,
                       angle_error_rad=0.02 if pose else None, depth_error_mm=0.5 if pose else None,
                       twist_error_rad=0.01 if pose else None,
                       within_tolerance=within if pose else None)


def _course(records: Records) -> str:
    records.add_patient("P001")
    return records.add_course("P001", PROTOCOL, targets={"targets": [{"name": "L-DLPFC"}]},
                              mri_path="/data/t1.nii.gz", mri_sha256="ab" * 32,
                              coil_model_id="magstim-d70", plan_folder="/s/plan").uid


def test_course_protocol_and_plan_round_trip(records: Records) -> None:
    uid = _course(records)
    course = records.course(uid)
    assert course.protocol == PROTOCOL and course.pseudonym == "P001"
    assert course.targets == {"targets": [{"name": "L-DLPFC"}]}
    assert (course.coil_model_id, course.status, course.plan_folder) == ("magstim-d70", "active", "/s/plan")
    itbs = CourseProtocol("L-DLPFC", 90.0, "iTBS", None, 600, 50, sessions_per_day=10)
    changed = records.update_course(uid, protocol=itbs, status="paused")
    assert changed.protocol == itbs and changed.status == "paused"
    assert records.courses("P001") == [changed]


def test_bad_protocol_and_status_are_refused(records: Records) -> None:
    with pytest.raises(ValueError, match="intensity"):
        CourseProtocol("x", 0.0, "10 Hz", 10.0, 3000, 30)
    with pytest.raises(ValueError, match="frequency"):
        CourseProtocol("x", 100.0, "10 Hz", -1.0, 3000, 30)
    uid = _course(records)
    with pytest.raises(RecordsError, match="sessions planned"):
        records.update_course(uid, sessions_planned=0)
    with pytest.raises(RecordsError, match="status"):
        records.update_course(uid, status="done-ish")
    with pytest.raises(RecordsError, match="Unknown course field"):
        records.update_course(uid, intensity=110)
    assert records.course(uid).protocol == PROTOCOL          # nothing half-applied
    with pytest.raises(NotFoundError):
        records.add_course("P404", PROTOCOL)


def test_sessions_are_numbered_and_updated(records: Records) -> None:
    uid = _course(records)
    assert records.next_session_number(uid) == 1
    first = records.upsert_session("s-a", uid, operator="op1", navigator="room-1", folder="/s/a")
    second = records.upsert_session("s-b", uid)
    assert (first.number, second.number) == (1, 2)
    updated = records.upsert_session("s-a", uid, status="closed", ended_utc="2026-12-05T10:00:00+00:00",
                                     registration_error_mm=1.4, motor_threshold_pct_mso=52.0,
                                     events_synced_seq=41)
    assert (updated.number, updated.status, updated.events_synced_seq) == (1, "closed", 41)
    assert (updated.operator, updated.navigator) == ("op1", "room-1")
    assert [s.uid for s in records.sessions(uid)] == ["s-a", "s-b"]
    assert records.session("s-b").course_uid == uid
    assert records.next_session_number(uid) == 3
    with pytest.raises(RecordsError, match="Unknown session field"):
        records.upsert_session("s-a", uid, colour="red")


def test_a_taken_number_gives_the_next_free_one(records: Records) -> None:
    """Two rooms that both read next_session_number() == 1 and insert with it: the second gets 2."""
    uid = _course(records)
    wish = records.next_session_number(uid)
    a = records.upsert_session("room1", uid, number=wish)
    b = records.upsert_session("room2", uid, number=wish)
    assert (a.number, b.number) == (1, 2)


def test_a_session_cannot_move_to_another_course(records: Records) -> None:
    uid = _course(records)
    other = records.add_course("P001", PROTOCOL).uid
    records.upsert_session("s-a", uid)
    with pytest.raises(RecordsError, match="another course"):
        records.upsert_session("s-a", other, notes="x")


def test_two_navigators_numbering_sessions_concurrently(db_url: str) -> None:
    """Two Database objects (two navigators) create sessions for one course at the same time:
    every session is stored once and the numbers are 1..n without a duplicate or a gap."""
    setup = Database.open(db_url)
    uid = _course(Records(setup))
    per_navigator = 12
    navigators = [Records(Database.open(db_url)) for _ in range(2)]
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def work(records: Records, room: str) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(per_navigator):
                wish = records.next_session_number(uid)      # both rooms read the same wish
                records.upsert_session(f"{room}-{i}-{uuid.uuid4().hex[:6]}", uid, number=wish,
                                       navigator=room)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(r, f"room{k}")) for k, r in enumerate(navigators)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    sessions = Records(setup).sessions(uid)
    assert sorted(s.number for s in sessions) == list(range(1, 2 * per_navigator + 1))
    assert {s.navigator for s in sessions} == {"room0", "room1"}
    for r in navigators:
        r.database.close()
    setup.close()


def test_pulses_are_idempotent_and_summarised(records: Records) -> None:
    uid = _course(records)
    records.upsert_session("s-a", uid)
    errors = [0.5, 1.0, 4.0, 2.0, 3.0, 8.0]
    pulses = [make_pulse(i + 1, error=e, within=e <= 3.0) for i, e in enumerate(errors)]
    pulses.append(make_pulse(7, pose=None))
    assert records.add_pulses("s-a", pulses[:4]) == 4
    assert records.add_pulses("s-a", pulses[2:]) == 3               # 3 and 4 already stored
    assert records.add_pulses("s-a", pulses) == 0                   # a full re-send adds nothing
    assert records.add_pulses("s-a", []) == 0
    stored = records.pulses("s-a")
    assert [p.index for p in stored] == list(range(1, 8))
    for want, got in zip(pulses, stored):
        assert got.to_event_data() == want.to_event_data()
    info = records.session("s-a")
    stats = pulse_statistics(pulses)
    assert (info.pulses_total, info.pulses_with_pose, info.pulses_on_target) == (7, 6, 4)
    assert info.median_error_mm == pytest.approx(stats.median_error_mm)
    assert info.p95_error_mm == pytest.approx(stats.p95_error_mm)
    with pytest.raises(NotFoundError):
        records.add_pulses("nope", pulses)


def test_course_pulse_positions_by_session(records: Records) -> None:
    uid = _course(records)
    records.upsert_session("s-a", uid)
    records.upsert_session("s-b", uid)
    records.add_pulses("s-a", [make_pulse(1, pose=(1, 2, 3)), make_pulse(2, pose=None),
                               make_pulse(3, pose=(4, 5, 6))])
    records.add_pulses("s-b", [make_pulse(1, pose=(-7.5, 8, 9))])
    positions = records.course_pulse_positions(uid)
    assert sorted(positions) == [1, 2]
    np.testing.assert_allclose(positions[1], [[1, 2, 3], [4, 5, 6]])     # pose-unknown left out
    np.testing.assert_allclose(positions[2], [[-7.5, 8, 9]])
    assert sorted(records.course_pulse_positions(uid, exclude_session_uid="s-b")) == [1]


def test_adverse_events_are_idempotent_on_seq(records: Records) -> None:
    uid = _course(records)
    records.upsert_session("s-a", uid)
    records.upsert_session("s-b", uid)
    records.add_adverse_event("s-b", 12, "2026-12-06T09:10:00+00:00", "headache", "mild", "paracetamol")
    records.add_adverse_event("s-a", 40, "2026-12-05T09:10:00+00:00", "scalp discomfort", "mild")
    records.add_adverse_event("s-b", 12, "2026-12-06T09:10:00+00:00", "headache", "mild", "paracetamol")
    events = records.adverse_events(uid)
    assert [(e.session_uid, e.seq, e.description) for e in events] == [
        ("s-a", 40, "scalp discomfort"), ("s-b", 12, "headache")]
    assert events[1].action == "paracetamol" and events[1].session_number == 2
    with pytest.raises(RecordsError, match="Describe"):
        records.add_adverse_event("s-a", 41, "2026-12-05T09:11:00+00:00", "  ", "mild")


def test_open_patient_loads_no_pulse_rows(records: Records) -> None:
    uid = _course(records)
    registration = {"scalp_points_reference_mm": np.random.default_rng(1).normal(0, 70, (300, 3)).tolist()}
    for k in range(3):
        records.upsert_session(f"s{k}", uid, registration=registration, registration_error_mm=1.2,
                               calibrations={"coil": {"matrix": np.eye(4).tolist()}})
        records.add_pulses(f"s{k}", [make_pulse(i) for i in range(1, 51)])
    records.add_outcome(uid, "PHQ-9", "2026-12-01", total=18, timepoint="baseline")
    statements: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(records.database.engine, "before_cursor_execute", remember)
    try:
        overview = records.open_patient("P001")
    finally:
        event.remove(records.database.engine, "before_cursor_execute", remember)
    assert [c.uid for c in overview.courses] == [uid]
    assert [s.pulses_total for s in overview.sessions[uid]] == [50, 50, 50]
    assert [o.total for o in overview.outcomes[uid]] == [18]
    assert statements and not any(re.search(r"\b(FROM|JOIN)\s+pulses\b", s, re.I) for s in statements)
    # nor the registration blobs (300 scalp points a session made the call ten times slower)
    assert not any(re.search(r"sessions\.(registration|calibrations)\b", s) for s in statements)
    assert len(statements) <= 6
    summary = overview.sessions[uid][0]
    assert summary.registration is None and summary.registration_error_mm == 1.2
    assert records.session("s0").registration == registration          # the full row has it
    assert records.sessions(uid)[0].calibrations == {"coil": {"matrix": np.eye(4).tolist()}}


def test_open_patient_without_courses(records: Records) -> None:
    records.add_patient("P009")
    overview = records.open_patient("P009")
    assert (overview.courses, overview.sessions, overview.outcomes) == ([], {}, {})


def test_two_writers_sending_the_same_pulses_at_once(db_url: str) -> None:
    """The sync and a re-index send one session's pulses concurrently: each pulse stored once,
    no IntegrityError reaches the caller, the counts of new rows add up."""
    setup = Records(Database.open(db_url))
    uid = _course(setup)
    setup.upsert_session("s-a", uid)
    pulses = [make_pulse(i, error=i % 5) for i in range(1, 801)]
    writers = [Records(Database.open(db_url)) for _ in range(2)]
    barrier = threading.Barrier(2)
    added: list[int] = []
    failures: list[BaseException] = []

    def send(records: Records) -> None:
        try:
            barrier.wait(timeout=30)
            for start in range(0, len(pulses), 100):
                added.append(records.add_pulses("s-a", pulses[start:start + 100]))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert sum(added) == 800
    assert [p.index for p in setup.pulses("s-a")] == list(range(1, 801))
    assert setup.session("s-a").pulses_total == 800
    for records in (*writers, setup):
        records.database.close()


def test_a_required_session_field_set_to_none_is_a_clear_error(records: Records) -> None:
    """Not mistaken for a number clash (which would be retried and reported as one)."""
    uid = _course(records)
    records.upsert_session("s-a", uid)
    with pytest.raises(RecordsError, match="Could not store session s-a") as caught:
        records.upsert_session("s-a", uid, operator=None)
    assert "numbers kept changing" not in str(caught.value)
    assert records.session("s-a").operator == ""
