"""Outcome assessments in the clinic database (SQLite and PostgreSQL): totals from items by the
scale's own rules, totals alone, partial items with a total, and the mistakes refused."""

from __future__ import annotations

from datetime import date

import pytest

from tmsnav.navigation.records.errors import NotFoundError, RecordsError
from tmsnav.navigation.records.repository import CourseProtocol, Records


@pytest.fixture
def course_uid(records: Records) -> str:
    records.add_patient("P001")
    return records.add_course("P001", CourseProtocol("F3", 120.0, "10 Hz", 10.0, 3000, 30)).uid


def test_total_from_items_and_order_by_date(records: Records, course_uid: str) -> None:
    records.upsert_session("s1", course_uid)
    later = records.add_outcome(course_uid, "PHQ-9", date(2026, 12, 20), items=[1, 1, 0, 1, 0, 1, 0, 0, 0],
                                timepoint="week 3", rater="rk")
    base = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", items=[3, 3, 2, 2, 2, 2, 2, 2, 1],
                               session_uid="s1", timepoint="baseline")
    assert (base.total, later.total) == (19, 4)
    assert base.items == (3, 3, 2, 2, 2, 2, 2, 2, 1)
    assert [o.uid for o in records.outcomes(course_uid)] == [base.uid, later.uid]
    assert records.outcomes(course_uid)[0].session_uid == "s1"
    assert later.assessed_on == "2026-12-20" and later.rater == "rk"


def test_qids_total_is_not_the_sum_of_items(records: Records, course_uid: str) -> None:
    """QIDS-SR16 scores the maximum of the sleep, appetite/weight and psychomotor items (Rush et
    al. 2003), so storing sum(items) would be wrong."""
    items = [3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3]
    info = records.add_outcome(course_uid, "QIDS-SR16", "2026-12-01", items=items)
    assert sum(items) == 18
    assert info.total == 6          # max(sleep 1-4) = 3, items 5-14 = 0, max(psychomotor 15-16) = 3
    assert info.items == tuple(items)


def test_total_only_and_partial_items_with_total(records: Records, course_uid: str) -> None:
    only = records.add_outcome(course_uid, "MADRS", "2026-12-01", total=31)
    assert (only.total, only.items) == (31, None)
    partial = records.add_outcome(course_uid, "PHQ-9", "2026-12-01", total=15,
                                  items=[None] * 8 + [1])    # the suicide item known, the rest not
    assert partial.total == 15 and partial.items == (None,) * 8 + (1,)
    assert records.outcomes(course_uid)[1].items == (None,) * 8 + (1,)


@pytest.mark.parametrize("kwargs, match", [
    ({"scale": "PHQ9", "total": 3}, "Unknown scale"),
    ({"scale": "PHQ-9", "total": 28}, "0-27"),
    ({"scale": "PHQ-9", "items": [4, 0, 0, 0, 0, 0, 0, 0, 0]}, "item"),
    ({"scale": "PHQ-9", "items": [1] * 8}, "PHQ-9"),
    ({"scale": "PHQ-9", "items": [1] * 9, "total": 10}, "does not match"),
    ({"scale": "PHQ-9"}, "items or the total"),
    ({"scale": "PHQ-9", "total": 3, "assessed_on": "01/12/2026"}, "not a date"),
])
def test_mistakes_are_refused_and_nothing_stored(records: Records, course_uid: str,
                                                 kwargs: dict, match: str) -> None:
    args = {"assessed_on": "2026-12-01", **kwargs}
    scale, day = args.pop("scale"), args.pop("assessed_on")
    with pytest.raises(RecordsError, match=match):
        records.add_outcome(course_uid, scale, day, **args)
    assert records.outcomes(course_uid) == []


def test_session_of_another_course_is_refused(records: Records, course_uid: str) -> None:
    other = records.add_course("P001", CourseProtocol("F4", 110.0, "1 Hz", 1.0, 1200, 20)).uid
    records.upsert_session("s-other", other)
    with pytest.raises(RecordsError, match="another course"):
        records.add_outcome(course_uid, "PHQ-9", "2026-12-01", total=5, session_uid="s-other")


def test_delete_outcome(records: Records, course_uid: str) -> None:
    info = records.add_outcome(course_uid, "BDI-II", "2026-12-01", total=30)
    records.delete_outcome(info.uid)
    assert records.outcomes(course_uid) == []
    with pytest.raises(NotFoundError):
        records.delete_outcome(info.uid)
    with pytest.raises(NotFoundError):
        records.outcomes("no-such-course")
