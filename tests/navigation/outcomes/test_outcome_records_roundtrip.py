"""Outcome assessments through the clinic database (Records.add_outcome / outcomes, SQLite):
scored by navigation.outcomes, and a totals-only PHQ-9 keeps the item 9 answer for the alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from tmsnav.navigation.outcomes import course_trajectory, safety_alerts, unknown_safety_items
from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.errors import RecordsError
from tmsnav.navigation.records.infos import CourseProtocol
from tmsnav.navigation.records.repository import Records


@pytest.fixture
def course(tmp_path: Path):
    db = Database.open(f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    records = Records(db)
    records.add_patient("P-0042")
    info = records.add_course("P-0042", CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30))
    yield records, info.uid
    db.close()


def test_qids_total_stored_by_domain_rule(course) -> None:
    records, uid = course
    saved = records.add_outcome(uid, "QIDS-SR16", "2026-11-02",
                                items=[1, 3, 0, 2, 2, 0, 1, 3, 0, 1, 2, 0, 1, 2, 0, 3])
    assert saved.total == 17


def test_totals_only_phq9_with_item9_round_trips_and_alerts(course) -> None:
    records, uid = course
    records.add_outcome(uid, "PHQ-9", "2026-11-02", total=18)
    records.add_outcome(uid, "PHQ-9", "2026-11-20", total=3, items=[None] * 8 + [1])
    stored = records.outcomes(uid)
    assert stored[-1].items == (None,) * 8 + (1,) and stored[-1].total == 3
    alerts = safety_alerts(stored)
    assert [(a.scale, a.value) for a in alerts] == [("PHQ-9", 1)]
    assert unknown_safety_items(stored) == []
    traj = course_trajectory(stored)["PHQ-9"]
    assert traj.response and traj.remission


def test_bad_items_refused_through_records(course) -> None:
    records, uid = course
    with pytest.raises(RecordsError, match=r"item 9 \(thoughts of death or self-harm\) is 4: allowed 0-3"):
        records.add_outcome(uid, "PHQ-9", "2026-11-02", items=[0] * 8 + [4])
    with pytest.raises(RecordsError, match="items? .* missing"):
        records.add_outcome(uid, "PHQ-9", "2026-11-02", items=[0] * 8 + [None])
    with pytest.raises(RecordsError, match="lower than the known items"):
        records.add_outcome(uid, "PHQ-9", "2026-11-02", total=1, items=[None] * 8 + [2])
