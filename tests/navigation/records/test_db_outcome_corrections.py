"""Correcting an outcome assessment with an audit trail (SQLite and PostgreSQL): the original is
kept with when, by whom and why, the corrected entry replaces it everywhere the course is read
(plots, alerts, reports, the patient overview), and the mistakes people make are refused with a
message and change nothing."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest

from tmsnav.navigation.outcomes import safety_alerts
from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.errors import NotFoundError, RecordsError
from tmsnav.navigation.records.repository import CourseProtocol, Records


@pytest.fixture
def course_uid(records: Records) -> str:
    records.add_patient("P001")
    return records.add_course("P001", CourseProtocol("F3", 120.0, "10 Hz", 10.0, 3000, 30)).uid


def _utc(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def test_correction_keeps_the_original_and_replaces_it(records: Records, course_uid: str) -> None:
    records.upsert_session("s1", course_uid)
    wrong = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", items=[2] * 9, session_uid="s1",
                                timepoint="week 2", rater="rk")
    fixed = records.correct_outcome(wrong.uid, by="Dr Amsel", reason="item 9 typed as 2, form says 0",
                                    items=[2] * 8 + [0])
    # the corrected entry: scored again, everything not given copied from the original
    assert (fixed.total, fixed.items, fixed.scale) == (16, (2,) * 8 + (0,), "PHQ-9")
    assert (fixed.assessed_on, fixed.timepoint, fixed.rater, fixed.session_uid) == (
        "2026-12-01", "week 2", "rk", "s1")
    assert fixed.uid != wrong.uid and not fixed.retracted
    # the original: unchanged values, retracted with who, when and why, pointing to its correction
    (original,) = [o for o in records.outcomes(course_uid, include_retracted=True) if o.uid == wrong.uid]
    assert (original.total, original.items, original.rater) == (18, (2,) * 9, "rk")
    assert original.retracted and original.retraction_kind == "corrected"
    assert (original.retracted_by, original.retraction_reason, original.superseded_by_uid) == (
        "Dr Amsel", "item 9 typed as 2, form says 0", fixed.uid)
    assert _utc(original.retracted_utc) == _utc(fixed.entered_utc)      # one transaction, one time
    assert [o.uid for o in records.outcomes(course_uid)] == [fixed.uid]
    assert [o.uid for o in records.outcomes(course_uid, include_retracted=True)] == [wrong.uid, fixed.uid]


def test_the_patient_overview_shows_current_entries_only(records: Records, course_uid: str) -> None:
    a = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", total=20, items=[None] * 8 + [0])
    b = records.add_outcome(course_uid, "MADRS", "2026-12-01", total=30)
    fixed = records.correct_outcome(a.uid, by="rk", reason="total misread", total=21)
    records.retract_outcome(b.uid, by="rk", reason="wrong patient")
    overview = records.open_patient("P001")
    assert [(o.uid, o.total) for o in overview.outcomes[course_uid]] == [(fixed.uid, 21)]


def test_totals_entry_keeps_its_total_when_only_the_suicide_item_is_corrected(
        records: Records, course_uid: str) -> None:
    entry = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", total=15, items=[None] * 8 + [2])
    fixed = records.correct_outcome(entry.uid, by="rk", reason="item 9 was 0 on the form",
                                    items=[None] * 8 + [0])
    assert (fixed.total, fixed.items) == (15, (None,) * 8 + (0,))
    # "not asked" on purpose: a totals entry with no item known (all None)
    unknown = records.correct_outcome(fixed.uid, by="rk", reason="item 9 was not asked",
                                      items=[None] * 9)
    assert (unknown.total, unknown.items) == (15, None)


def test_qids_correction_is_scored_by_the_domain_rule(records: Records, course_uid: str) -> None:
    items = [0] * 16
    entry = records.add_outcome(course_uid, "QIDS-SR16", "2026-12-01", items=items)
    corrected = [3, 3, 3, 3] + [0] * 10 + [3, 3]
    fixed = records.correct_outcome(entry.uid, by="rk", reason="page 1 skipped", items=corrected)
    assert fixed.total == 6             # max of sleep items 1-4 + max of psychomotor 15-16, not 18


def test_a_madrs_typed_as_hdrs_is_corrected_with_the_madrs_values(records: Records,
                                                                   course_uid: str) -> None:
    entry = records.add_outcome(course_uid, "HDRS-17", "2026-12-01", total=24)
    with pytest.raises(RecordsError, match="from HDRS-17 to MADRS needs the MADRS items or total"):
        records.correct_outcome(entry.uid, by="rk", reason="was a MADRS", scale="MADRS")
    fixed = records.correct_outcome(entry.uid, by="rk", reason="was a MADRS", scale="MADRS", total=33)
    assert (fixed.scale, fixed.total, fixed.items) == ("MADRS", 33, None)
    with pytest.raises(RecordsError, match="Unknown scale"):
        records.correct_outcome(fixed.uid, by="rk", reason="x", scale="MADRS-S", total=3)


def test_a_chain_of_corrections_leaves_one_current_entry(records: Records, course_uid: str) -> None:
    first = records.add_outcome(course_uid, "BDI-II", "2026-12-01", total=30)
    second = records.correct_outcome(first.uid, by="rk", reason="total 31", total=31)
    third = records.correct_outcome(second.uid, by="jd", reason="date was the 2nd",
                                     assessed_on=date(2026, 12, 2))
    assert [(o.uid, o.total, o.assessed_on) for o in records.outcomes(course_uid)] == [
        (third.uid, 31, "2026-12-02")]
    every = {o.uid: o for o in records.outcomes(course_uid, include_retracted=True)}
    assert every[first.uid].superseded_by_uid == second.uid
    assert every[second.uid].superseded_by_uid == third.uid and every[second.uid].retracted_by == "jd"


def test_entered_in_error(records: Records, course_uid: str) -> None:
    keep = records.add_outcome(course_uid, "PHQ-9", "2026-11-20", items=[1] * 9)
    wrong = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", items=[0] * 9)
    gone = records.retract_outcome(wrong.uid, by="rk", reason="typed on the wrong patient's course")
    assert gone.retracted and gone.retraction_kind == "entered in error"
    assert gone.superseded_by_uid is None and gone.total == 0
    assert [o.uid for o in records.outcomes(course_uid)] == [keep.uid]
    assert [o.retraction_kind for o in records.outcomes(course_uid, include_retracted=True)] == [
        "", "entered in error"]


@pytest.mark.parametrize("by, reason, match", [
    ("", "typo", "Say who makes the"),
    ("   ", "typo", "Say who makes the"),
    ("rk", "", "Give the reason"),
    ("rk", "  \n ", "Give the reason"),
    ("x" * 101, "typo", "at most 100"),
])
def test_who_and_why_are_required(records: Records, course_uid: str, by: str, reason: str,
                                  match: str) -> None:
    entry = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", total=10)
    with pytest.raises(RecordsError, match=match):
        records.correct_outcome(entry.uid, by=by, reason=reason, total=11)
    with pytest.raises(RecordsError, match=match):
        records.retract_outcome(entry.uid, by=by, reason=reason)
    assert records.outcomes(course_uid, include_retracted=True) == [entry]


def test_a_retracted_entry_is_not_corrected_again(records: Records, course_uid: str) -> None:
    entry = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", total=10)
    records.correct_outcome(entry.uid, by="rk", reason="typo", total=12)
    with pytest.raises(RecordsError, match=r"already corrected on 20\d\d-\d\d-\d\d \d\d:\d\d UTC by rk; "
                                           "correct the current entry"):
        records.correct_outcome(entry.uid, by="jd", reason="typo", total=13)
    with pytest.raises(RecordsError, match="already corrected"):
        records.retract_outcome(entry.uid, by="jd", reason="typo")
    other = records.add_outcome(course_uid, "MADRS", "2026-12-01", total=10)
    records.retract_outcome(other.uid, by="rk", reason="duplicate")
    with pytest.raises(RecordsError, match="already marked entered in error .* by rk"):
        records.correct_outcome(other.uid, by="jd", reason="typo", total=11)
    assert [o.total for o in records.outcomes(course_uid)] == [12]
    assert len(records.outcomes(course_uid, include_retracted=True)) == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"total": 10}, "changes nothing"),
    ({"timepoint": "baseline", "rater": "rk"}, "changes nothing"),
    ({"total": 28}, "0-27"),
    ({"items": [4] + [0] * 8}, "item"),
    ({"items": [1] * 9, "total": 10}, "does not match"),
    ({"assessed_on": "01/12/2026"}, "not a date"),
])
def test_mistaken_corrections_are_refused_and_change_nothing(records: Records, course_uid: str,
                                                             kwargs: dict, match: str) -> None:
    entry = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", total=10, timepoint="baseline",
                                rater="rk")
    with pytest.raises(RecordsError, match=match):
        records.correct_outcome(entry.uid, by="rk", reason="typo", **kwargs)
    assert records.outcomes(course_uid, include_retracted=True) == [entry]


def test_unknown_entry(records: Records, course_uid: str) -> None:
    with pytest.raises(NotFoundError, match="No outcome assessment 'nope'"):
        records.correct_outcome("nope", by="rk", reason="typo", total=3)
    with pytest.raises(NotFoundError):
        records.retract_outcome("nope", by="rk", reason="typo")


@pytest.mark.safety(hazard="suicide-risk",
                    control="only current entries count: a corrected alert cannot stand and a real one cannot"
                    " be cleared by the retracted history")
def test_correcting_the_suicide_item_clears_the_alert_and_only_the_current_entry_counts(
        records: Records, course_uid: str) -> None:
    """The alert follows the current entries. Even a list holding the audit trail (retracted
    entries too) can neither keep a corrected alert standing nor clear a real one."""
    entry = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", items=[1] * 8 + [2])
    assert [a.value for a in safety_alerts(records.outcomes(course_uid))] == [2]
    records.correct_outcome(entry.uid, by="rk", reason="item 9 is 0 on the form", items=[1] * 8 + [0])
    assert safety_alerts(records.outcomes(course_uid)) == []
    assert safety_alerts(records.outcomes(course_uid, include_retracted=True)) == []
    # a real alert, then a later entry of 0 entered in error: the alert stands again
    real = records.add_outcome(course_uid, "PHQ-9", "2026-12-08", items=[1] * 8 + [3])
    later_zero = records.add_outcome(course_uid, "PHQ-9", "2026-12-09", items=[1] * 8 + [0])
    assert safety_alerts(records.outcomes(course_uid)) == []
    records.retract_outcome(later_zero.uid, by="rk", reason="another patient's form")
    every = records.outcomes(course_uid, include_retracted=True)
    for outcomes in (records.outcomes(course_uid), every):
        assert [(a.outcome_uid, a.value) for a in safety_alerts(outcomes)] == [(real.uid, 3)]


def test_two_navigators_correcting_the_same_entry_at_once(db_url: str, records: Records,
                                                          course_uid: str) -> None:
    """Each room has its own connection; whichever commits first wins, the other is told the
    entry was already corrected (PostgreSQL row lock, SQLite write lock): never two current
    corrections of one entry."""
    entry = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", total=10)
    barrier = threading.Barrier(2)
    done: list[str] = []
    refused: list[str] = []

    def correct(by: str, total: int) -> None:
        db = Database.open(db_url)
        try:
            barrier.wait(timeout=30)
            done.append(Records(db).correct_outcome(entry.uid, by=by, reason="typo", total=total).uid)
        except RecordsError as exc:
            refused.append(str(exc))
        finally:
            db.close()

    threads = [threading.Thread(target=correct, args=(by, total)) for by, total in (("rk", 11), ("jd", 12))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(done) == 1 and len(refused) == 1 and "already corrected" in refused[0]
    assert [o.uid for o in records.outcomes(course_uid)] == done
    assert len(records.outcomes(course_uid, include_retracted=True)) == 2
