"""Outcome assessments and adverse events in the clinic database.

Totals come from the items via :func:`navigation.outcomes.score` (the scales' own scoring rules,
e.g. QIDS-SR16 sums domain maxima, not items), so a total is never typed in twice differently; a
total alone (optionally with the items that are known, None for the others) is accepted when
only that is known.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..outcomes import score
from .errors import NotFoundError, RecordsError
from .infos import AdverseEventInfo, OutcomeInfo
from .models import AdverseEvent, Course, Outcome, SessionRow
from .repository_base import RecordsBase, utc_now_iso

__all__ = ["OutcomesMixin", "SCALE_NAMES"]

SCALE_NAMES = ("PHQ-9", "HDRS-17", "MADRS", "BDI-II", "QIDS-SR16")


def _scored(scale: str, items: Sequence[int | None] | None,
            total: int | None) -> tuple[list[int | None] | None, int]:
    """The items and total to store, checked by the scale's own scoring rules; RecordsError
    (the scorer's clear message) on out-of-range items or a total that contradicts them."""
    try:
        result = score(scale, items=None if items is None else list(items), total=total)
    except ValueError as err:
        raise RecordsError(str(err)) from None
    checked = None if result.items is None else [None if v is None else int(v) for v in result.items]
    return checked, int(result.total)


class OutcomesMixin(RecordsBase):
    """Outcome and adverse-event methods of :class:`navigation.records.repository.Records`."""

    def add_outcome(self, course_uid: str, scale: str, assessed_on: str | date, *,
                    items: Sequence[int | None] | None = None, total: int | None = None,
                    session_uid: str | None = None, timepoint: str = "",
                    rater: str = "") -> OutcomeInfo:
        """Record one assessment; the total is computed from the items when they are given."""
        if scale not in SCALE_NAMES:
            raise RecordsError(f"Unknown scale {scale!r}; tmsnav scores {', '.join(SCALE_NAMES)}.")
        day = assessed_on.isoformat() if isinstance(assessed_on, date) else str(assessed_on)
        try:
            date.fromisoformat(day)
        except ValueError:
            raise RecordsError(f"Assessment date {day!r} is not a date (YYYY-MM-DD).") from None
        # with a total, None marks an item not known (a totals-only entry that still recorded
        # the suicide item, e.g. PHQ-9 item 9); without one, score() asks for every item
        stored_items, stored_total = _scored(scale, items, total)
        with self._db.session() as s:
            course = self._course_row(s, course_uid)
            session_id = None
            if session_uid:
                session_row = self._session_row(s, session_uid)
                if session_row.course_id != course.id:
                    raise RecordsError(f"Session {session_uid} belongs to another course.")
                session_id = session_row.id
            row = Outcome(uid=uuid.uuid4().hex, course_id=course.id, session_id=session_id,
                          scale=scale, assessed_on=day, timepoint=timepoint, items=stored_items,
                          total=stored_total, rater=rater, entered_utc=utc_now_iso())
            s.add(row)
            s.flush()
            return self._outcome_info(row, course_uid, session_uid or None)

    def outcomes(self, course_uid: str) -> list[OutcomeInfo]:
        """The course's assessments by date (then entry time)."""
        with self._db.session() as s:
            course = self._course_row(s, course_uid)
            return self._outcomes_of(s, [course.id], {course.id: course_uid}).get(course_uid, [])

    @classmethod
    def _outcomes_of(cls, s: Session, course_ids: list[int],
                     uid_of: dict[int, str]) -> dict[str, list[OutcomeInfo]]:
        out: dict[str, list[OutcomeInfo]] = {uid: [] for uid in uid_of.values()}
        if not course_ids:
            return out
        rows = s.execute(select(Outcome, SessionRow.uid)
                         .outerjoin(SessionRow, SessionRow.id == Outcome.session_id)
                         .where(Outcome.course_id.in_(course_ids))
                         .order_by(Outcome.assessed_on, Outcome.entered_utc, Outcome.id)).all()
        for row, session_uid in rows:
            out[uid_of[row.course_id]].append(cls._outcome_info(row, uid_of[row.course_id], session_uid))
        return out

    def delete_outcome(self, uid: str) -> None:
        with self._db.session() as s:
            row = s.scalars(select(Outcome).where(Outcome.uid == uid)).first()
            if row is None:
                raise NotFoundError(f"No outcome assessment {uid!r}.")
            s.delete(row)

    def add_adverse_event(self, session_uid: str, seq: int, time_utc: str, description: str,
                          severity: str, action: str = "") -> None:
        """Record an adverse event (idempotent on the event-log seq, so re-indexing is safe)."""
        if not description.strip():
            raise RecordsError("Describe the adverse event.")
        with self._db.session() as s:
            session_row = self._session_row(s, session_uid)
            exists = s.scalars(select(AdverseEvent.id).where(
                AdverseEvent.session_id == session_row.id, AdverseEvent.seq == int(seq))).first()
            if exists is None:
                s.add(AdverseEvent(session_id=session_row.id, seq=int(seq), time_utc=time_utc,
                                   description=description, severity=severity, action=action))

    def adverse_events(self, course_uid: str) -> list[AdverseEventInfo]:
        """The course's adverse events by session number, then order of entry."""
        with self._db.session() as s:
            course = self._course_row(s, course_uid)
            rows = s.execute(select(AdverseEvent, SessionRow.uid, SessionRow.number)
                             .join(SessionRow, SessionRow.id == AdverseEvent.session_id)
                             .join(Course, Course.id == SessionRow.course_id)
                             .where(Course.id == course.id)
                             .order_by(SessionRow.number, AdverseEvent.seq)).all()
            return [AdverseEventInfo(session_uid=uid, seq=row.seq, time_utc=row.time_utc,
                                     description=row.description, severity=row.severity,
                                     action=row.action, session_number=number)
                    for row, uid, number in rows]
