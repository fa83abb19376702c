"""Outcome assessments and adverse events in the clinic database.

Totals come from the items via :func:`navigation.outcomes.score` (the scales' own scoring rules,
e.g. QIDS-SR16 sums domain maxima, not items), so a total is never typed in twice differently; a
total alone (optionally with the items that are known, None for the others) is accepted when
only that is known.

Corrections keep an audit trail (GCP; FDA 21 CFR Part 11 section 11.10(e): changes must not
obscure previously recorded information): an entry is never overwritten. :meth:`OutcomesMixin.
correct_outcome` adds the corrected entry and retracts the original in one transaction (when, by
whom, why, and the uid of the entry replacing it); :meth:`OutcomesMixin.retract_outcome` marks an
entry "entered in error". :meth:`OutcomesMixin.outcomes` returns the current entries unless asked
for every one, so plots, alerts, reports and exports count each assessment once.
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
from .repository_base import RecordsBase, iso_day, locked_row, utc_now_iso

__all__ = ["OutcomesMixin", "SCALE_NAMES"]

SCALE_NAMES = ("PHQ-9", "HDRS-17", "MADRS", "BDI-II", "QIDS-SR16")
_BY_MAX = 100                 # outcomes.retracted_by is VARCHAR(100)


def _check_scale(scale: str) -> str:
    if scale not in SCALE_NAMES:
        raise RecordsError(f"Unknown scale {scale!r}; tmsnav scores {', '.join(SCALE_NAMES)}.")
    return scale


def _check_day(assessed_on: str | date) -> str:
    return iso_day(assessed_on, "Assessment date")


def _check_audit(by: str, reason: str, what: str) -> tuple[str, str]:
    """Who and why of a correction or retraction: both required (an audit trail without them is
    not one)."""
    by, reason = (by or "").strip(), (reason or "").strip()
    if not by:
        raise RecordsError(f"Say who makes the {what} (name or initials): the record keeps it.")
    if len(by) > _BY_MAX:
        raise RecordsError(f"The name of who makes the {what} is {len(by)} characters; use at most "
                           f"{_BY_MAX} (initials will do).")
    if not reason:
        raise RecordsError(f"Give the reason for the {what}: the record keeps it beside the original "
                           "values.")
    return by, reason


def _entry_name(row: Outcome) -> str:
    return f"{row.scale} of {row.assessed_on} (total {row.total})"


def _refuse_retracted(row: Outcome) -> None:
    if row.retracted_utc is None:
        return
    when = row.retracted_utc[:16].replace("T", " ") + " UTC"
    if row.superseded_by_uid:
        raise RecordsError(f"The {_entry_name(row)} was already corrected on {when} by "
                           f"{row.retracted_by}; correct the current entry.")
    raise RecordsError(f"The {_entry_name(row)} was already marked entered in error on {when} by "
                       f"{row.retracted_by}; it no longer counts.")


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
        _check_scale(scale)
        day = _check_day(assessed_on)
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

    def outcomes(self, course_uid: str, include_retracted: bool = False) -> list[OutcomeInfo]:
        """The course's current assessments by date (then entry time). ``include_retracted``:
        every entry ever made, the retracted ones marked (``OutcomeInfo.retracted``), for the
        audit trail (the course view's "Show corrections", the report's Amendments)."""
        with self._db.session() as s:
            course = self._course_row(s, course_uid)
            return self._outcomes_of(s, [course.id], {course.id: course_uid},
                                     include_retracted=include_retracted).get(course_uid, [])

    @classmethod
    def _outcomes_of(cls, s: Session, course_ids: list[int], uid_of: dict[int, str], *,
                     include_retracted: bool = False) -> dict[str, list[OutcomeInfo]]:
        out: dict[str, list[OutcomeInfo]] = {uid: [] for uid in uid_of.values()}
        if not course_ids:
            return out
        query = (select(Outcome, SessionRow.uid)
                 .outerjoin(SessionRow, SessionRow.id == Outcome.session_id)
                 .where(Outcome.course_id.in_(course_ids))
                 .order_by(Outcome.assessed_on, Outcome.entered_utc, Outcome.id))
        if not include_retracted:
            query = query.where(Outcome.retracted_utc.is_(None))
        rows = s.execute(query).all()
        for row, session_uid in rows:
            out[uid_of[row.course_id]].append(cls._outcome_info(row, uid_of[row.course_id], session_uid))
        return out

    def correct_outcome(self, uid: str, *, by: str, reason: str,
                        items: Sequence[int | None] | None = None, total: int | None = None,
                        assessed_on: str | date | None = None, timepoint: str | None = None,
                        rater: str | None = None, scale: str | None = None) -> OutcomeInfo:
        """Replace the current entry ``uid`` by a corrected one; returns the new entry.

        One transaction: a new row with the corrected values (a field not given is copied from
        the original; the total is scored again by the scale's rules, as in :meth:`add_outcome`)
        and the original marked retracted (now, ``by``, ``reason``, ``superseded_by_uid`` = the
        new uid). Items of another ``scale`` are never copied: a MADRS typed as HDRS-17 is
        corrected with the MADRS items or total. ``items`` all None with a ``total`` makes a
        totals entry with no item known. Refused (RecordsError) without ``by`` or ``reason``, for
        a retracted entry, or when nothing changes; NotFoundError for an unknown uid."""
        by, reason = _check_audit(by, reason, "correction")
        with self._db.session() as s:
            row = self._outcome_row(s, uid)
            _refuse_retracted(row)
            new_scale = _check_scale(scale) if scale else row.scale
            same_scale = new_scale == row.scale
            if not same_scale and items is None and total is None:
                raise RecordsError(f"Changing the scale from {row.scale} to {new_scale} needs the "
                                   f"{new_scale} items or total: the {row.scale} values do not apply.")
            new_items = items if items is not None else (row.items if same_scale else None)
            new_total = total
            if total is None and same_scale and (items is None or any(v is None for v in items)):
                new_total = row.total              # the known total stays with partial items
            stored_items, stored_total = _scored(new_scale, new_items, new_total)
            day = row.assessed_on if assessed_on is None else _check_day(assessed_on)
            values = dict(scale=new_scale, assessed_on=day, items=stored_items, total=stored_total,
                          timepoint=row.timepoint if timepoint is None else timepoint.strip(),
                          rater=row.rater if rater is None else rater.strip())
            if all(getattr(row, k) == v for k, v in values.items()):
                raise RecordsError(f"The correction changes nothing in the {_entry_name(row)}; "
                                   "change a value, or mark the entry entered in error.")
            now = utc_now_iso()
            new = Outcome(uid=uuid.uuid4().hex, course_id=row.course_id, session_id=row.session_id,
                          entered_utc=now, **values)
            s.add(new)
            row.retracted_utc, row.retracted_by, row.retraction_reason = now, by, reason
            row.superseded_by_uid = new.uid
            s.flush()
            course_uid, session_uid = self._outcome_keys(s, row)
            return self._outcome_info(new, course_uid, session_uid)

    def retract_outcome(self, uid: str, *, by: str, reason: str) -> OutcomeInfo:
        """Mark the current entry ``uid`` "entered in error" (e.g. typed on the wrong patient's
        course): kept with when, by whom and why, and no longer counted. Same refusals as
        :meth:`correct_outcome`; returns the retracted entry."""
        by, reason = _check_audit(by, reason, "retraction")
        with self._db.session() as s:
            row = self._outcome_row(s, uid)
            _refuse_retracted(row)
            row.retracted_utc, row.retracted_by, row.retraction_reason = utc_now_iso(), by, reason
            row.superseded_by_uid = None
            s.flush()
            return self._outcome_info(row, *self._outcome_keys(s, row))

    @staticmethod
    def _outcome_row(s: Session, uid: str) -> Outcome:
        """The entry, locked until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite's
        ``BEGIN IMMEDIATE`` already serialises writers): two navigators correcting the same entry
        at once get one correction and one "already corrected"."""
        return locked_row(s, Outcome, uid, f"No outcome assessment {uid!r}.")

    @staticmethod
    def _outcome_keys(s: Session, row: Outcome) -> tuple[str, str | None]:
        course_uid = s.scalars(select(Course.uid).where(Course.id == row.course_id)).one()
        session_uid = None if row.session_id is None else s.scalars(
            select(SessionRow.uid).where(SessionRow.id == row.session_id)).first()
        return course_uid, session_uid

    def delete_outcome(self, uid: str) -> None:
        """Physically delete an entry: for tests and maintenance tools only. The GUI never calls
        it: a clinical entry is corrected (:meth:`correct_outcome`) or marked entered in error
        (:meth:`retract_outcome`), which keeps the original for the audit trail."""
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
