"""The clinic record's API: patients, courses, sessions, pulses, outcomes, adverse events.

Every method is one short transaction and returns frozen records (:mod:`.infos`), never ORM
objects, so results can cross threads and reach the GUI. Errors are RecordsError subclasses with
a user-facing message (DuplicatePatientError, NotFoundError, DatabaseUnavailable).

Session numbers under several navigators: a new session's number is decided inside the insert
transaction while the course is locked (PostgreSQL ``SELECT ... FOR UPDATE`` on the course row;
SQLite transactions start ``BEGIN IMMEDIATE``), and the unique (course, number) constraint plus a
retry catch anything that slips through, so two treatment rooms never record the same number.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import fields as dataclass_fields
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from .database import Database
from .errors import DuplicatePatientError, RecordsError
from .infos import (AdverseEventInfo, CourseInfo, CourseProtocol, OutcomeInfo, PatientInfo,
                    PatientOverview, SessionInfo)
from .models import Course, Patient, SessionRow
from .repository_base import iso_day, utc_now_iso
from .repository_outcomes import OutcomesMixin
from .repository_pulses import PulsesMixin

__all__ = ["Records", "PatientInfo", "CourseProtocol", "CourseInfo", "SessionInfo", "OutcomeInfo",
           "AdverseEventInfo", "PatientOverview"]

log = logging.getLogger(__name__)

#: Pseudonyms name folders and BIDS subjects (``sub-<pseudonym>``): letters, digits, - and _.
_PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_PATIENT_FIELDS = ("full_name", "birth_date", "sex", "mrn", "notes", "pseudonym")
_PROTOCOL_FIELDS = tuple(f.name for f in dataclass_fields(CourseProtocol))
_COURSE_FIELDS = _PROTOCOL_FIELDS + ("indication", "targets", "mri_path", "mri_sha256",
                                     "mri_from_mni", "coil_model_id", "coil_calibration",
                                     "pointer_calibration", "plan_folder", "status", "notes")
_COURSE_STATUSES = ("planned", "active", "paused", "completed", "stopped")
_SESSION_FIELDS = ("number", "started_utc", "ended_utc", "operator", "navigator", "folder",
                   "registration", "registration_error_mm", "calibrations",
                   "motor_threshold_pct_mso", "intensity_pct_mso", "notes", "status",
                   "pulses_total", "pulses_with_pose", "pulses_on_target", "median_error_mm",
                   "p95_error_mm", "events_synced_seq")
_RETRIES = 8


def _check_pseudonym(pseudonym: str) -> str:
    if not isinstance(pseudonym, str) or not _PSEUDONYM.match(pseudonym):
        raise RecordsError(f"Pseudonym {pseudonym!r} is not usable: use 1-64 letters, digits, '-' "
                           "or '_' (it names folders and exports, so never a real name).")
    return pseudonym


def _check_birth_date(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return iso_day(value, "Birth date")


def _unknown(kind: str, names: set[str], allowed: tuple[str, ...]) -> None:
    if names:
        raise RecordsError(f"Unknown {kind} field(s) {', '.join(sorted(names))}; known: "
                           f"{', '.join(allowed)}.")


class Records(PulsesMixin, OutcomesMixin):
    """The clinic record on an open :class:`~.database.Database`."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)

    # -- patients -------------------------------------------------------------------------------
    def add_patient(self, pseudonym: str, *, full_name: str | None = None,
                    birth_date: str | date | None = None, sex: str | None = None,
                    mrn: str | None = None, notes: str = "") -> PatientInfo:
        """A new patient; DuplicatePatientError if the pseudonym exists (in any letter case)."""
        _check_pseudonym(pseudonym)
        row = Patient(pseudonym=pseudonym, full_name=full_name or None,
                      birth_date=_check_birth_date(birth_date), sex=sex or None, mrn=mrn or None,
                      created_utc=utc_now_iso(), notes=notes)
        try:
            with self._db.session() as s:
                self._refuse_duplicate(s, pseudonym)
                s.add(row)
                s.flush()
                info = self._patient_info(row)
        except IntegrityError:
            raise self._duplicate(pseudonym) from None
        log.info("added patient %s", pseudonym)
        return info

    @staticmethod
    def _duplicate(pseudonym: str) -> DuplicatePatientError:
        return DuplicatePatientError(f"A patient with pseudonym {pseudonym!r} already exists; open "
                                     "that patient or choose another pseudonym.")

    def _refuse_duplicate(self, s: Session, pseudonym: str) -> None:
        clash = s.scalars(select(Patient.pseudonym).where(
            func.lower(Patient.pseudonym) == pseudonym.lower())).first()
        if clash is not None:
            raise self._duplicate(clash)

    def update_patient(self, pseudonym: str, /, **fields: Any) -> PatientInfo:
        """Change identifying fields, notes or the pseudonym itself (``pseudonym=new``)."""
        _unknown("patient", set(fields) - set(_PATIENT_FIELDS), _PATIENT_FIELDS)
        try:
            with self._db.session() as s:
                row = self._patient_row(s, pseudonym)
                new = fields.get("pseudonym")
                if new is not None and new != pseudonym:
                    _check_pseudonym(new)
                    if new.lower() != pseudonym.lower():
                        self._refuse_duplicate(s, new)
                    row.pseudonym = new
                for name in ("full_name", "sex", "mrn"):
                    if name in fields:
                        setattr(row, name, fields[name] or None)
                if "birth_date" in fields:
                    row.birth_date = _check_birth_date(fields["birth_date"])
                if "notes" in fields:
                    row.notes = fields["notes"] or ""
                s.flush()
                return self._patient_info(row)
        except IntegrityError:
            raise self._duplicate(str(fields.get("pseudonym"))) from None

    def find_patients(self, text: str = "", limit: int = 200) -> list[PatientInfo]:
        """Patients whose pseudonym, name or MRN contains ``text`` (case-insensitive)."""
        query = select(Patient).order_by(Patient.pseudonym).limit(limit)
        sqlite = self._db.dialect == "sqlite"
        needle = text.strip().casefold() if sqlite else text.strip().lower()
        if needle:
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            fold = func.tmsnav_fold if sqlite else func.lower     # Unicode-aware on both
            query = query.where(or_(*(fold(col).like(pattern, escape="\\")
                                      for col in (Patient.pseudonym, Patient.full_name, Patient.mrn))))
        with self._db.session() as s:
            return [self._patient_info(row) for row in s.scalars(query)]

    def patient(self, pseudonym: str) -> PatientInfo:
        with self._db.session() as s:
            return self._patient_info(self._patient_row(s, pseudonym))

    def open_patient(self, pseudonym: str) -> PatientOverview:
        """The patient with courses, sessions and outcomes in one call (the course view).

        Sessions are summaries: no pulse rows, and ``registration`` / ``calibrations`` are None
        (those blobs, e.g. 300 scalp points per session, made the call ten times slower); get
        them from :meth:`session` or :meth:`sessions`."""
        with self._db.session() as s:
            patient = self._patient_row(s, pseudonym)
            courses = s.scalars(select(Course).where(Course.patient_id == patient.id)
                                .order_by(Course.created_utc, Course.id)).all()
            uid_of = {c.id: c.uid for c in courses}
            sessions: dict[str, list[SessionInfo]] = {c.uid: [] for c in courses}
            if courses:
                query = (select(SessionRow).where(SessionRow.course_id.in_(list(uid_of)))
                         .options(defer(SessionRow.registration), defer(SessionRow.calibrations))
                         .order_by(SessionRow.course_id, SessionRow.number))
                for row in s.scalars(query):
                    sessions[uid_of[row.course_id]].append(
                        self._session_info(row, uid_of[row.course_id], summary=True))
            outcomes = self._outcomes_of(s, list(uid_of), uid_of)
            return PatientOverview(patient=self._patient_info(patient),
                                   courses=[self._course_info(c, pseudonym) for c in courses],
                                   sessions=sessions, outcomes=outcomes)

    # -- courses --------------------------------------------------------------------------------
    def add_course(self, pseudonym: str, protocol: CourseProtocol, *,
                   targets: dict[str, Any] | None = None, mri_path: str = "", mri_sha256: str = "",
                   mri_from_mni: dict[str, Any] | None = None, coil_model_id: str = "",
                   coil_calibration: dict[str, Any] | None = None,
                   pointer_calibration: dict[str, Any] | None = None, plan_folder: str = "",
                   indication: str = "", notes: str = "") -> CourseInfo:
        """A new course of treatment for the patient with its protocol and plan."""
        with self._db.session() as s:
            patient = self._patient_row(s, pseudonym)
            row = Course(uid=uuid.uuid4().hex, patient_id=patient.id, indication=indication,
                         targets=targets, mri_path=str(mri_path), mri_sha256=mri_sha256,
                         mri_from_mni=mri_from_mni, coil_model_id=coil_model_id,
                         coil_calibration=coil_calibration,
                         pointer_calibration=pointer_calibration, plan_folder=str(plan_folder),
                         status="active", created_utc=utc_now_iso(), notes=notes,
                         **{name: getattr(protocol, name) for name in _PROTOCOL_FIELDS})
            s.add(row)
            s.flush()
            return self._course_info(row, pseudonym)

    def update_course(self, uid: str, **fields: Any) -> CourseInfo:
        """Change protocol fields (or ``protocol=CourseProtocol``), plan fields or the status."""
        protocol = fields.pop("protocol", None)
        if protocol is not None:
            fields = {**{n: getattr(protocol, n) for n in _PROTOCOL_FIELDS}, **fields}
        _unknown("course", set(fields) - set(_COURSE_FIELDS), _COURSE_FIELDS)
        if "status" in fields and fields["status"] not in _COURSE_STATUSES:
            raise RecordsError(f"Course status {fields['status']!r}: use one of "
                               f"{', '.join(_COURSE_STATUSES)}.")
        with self._db.session() as s:
            row = self._course_row(s, uid)
            current = self._course_info(row, "").protocol
            merged = {n: fields.get(n, getattr(current, n)) for n in _PROTOCOL_FIELDS}
            try:
                CourseProtocol(**merged)          # validate the protocol as a whole
            except (TypeError, ValueError) as err:
                raise RecordsError(f"Course protocol: {err}") from None
            for name, value in fields.items():
                setattr(row, name, str(value) if name in ("mri_path", "plan_folder") else value)
            s.flush()
            pseudonym = s.scalars(select(Patient.pseudonym).where(Patient.id == row.patient_id)).one()
            return self._course_info(row, pseudonym)

    def course(self, uid: str) -> CourseInfo:
        with self._db.session() as s:
            row = self._course_row(s, uid)
            pseudonym = s.scalars(select(Patient.pseudonym).where(Patient.id == row.patient_id)).one()
            return self._course_info(row, pseudonym)

    def courses(self, pseudonym: str) -> list[CourseInfo]:
        with self._db.session() as s:
            patient = self._patient_row(s, pseudonym)
            rows = s.scalars(select(Course).where(Course.patient_id == patient.id)
                             .order_by(Course.created_utc, Course.id)).all()
            return [self._course_info(row, pseudonym) for row in rows]

    # -- sessions -------------------------------------------------------------------------------
    def sessions(self, course_uid: str) -> list[SessionInfo]:
        """The course's sessions by number."""
        with self._db.session() as s:
            course = self._course_row(s, course_uid)
            rows = s.scalars(select(SessionRow).where(SessionRow.course_id == course.id)
                             .order_by(SessionRow.number)).all()
            return [self._session_info(row, course_uid) for row in rows]

    def session(self, uid: str) -> SessionInfo:
        with self._db.session() as s:
            row = self._session_row(s, uid)
            return self._session_info(row, self._course_uid_of(s, row.course_id))

    def next_session_number(self, course_uid: str) -> int:
        """The number the course's next session would get now (1 for the first). Only a
        suggestion: :meth:`upsert_session` decides the number atomically when it inserts."""
        with self._db.session() as s:
            course = self._course_row(s, course_uid)
            return self._next_number(s, course.id)

    @staticmethod
    def _next_number(s: Session, course_id: int) -> int:
        highest = s.scalar(select(func.max(SessionRow.number)).where(SessionRow.course_id == course_id))
        return int(highest or 0) + 1

    def upsert_session(self, uid: str, course_uid: str, **fields: Any) -> SessionInfo:
        """Create or update the session ``uid`` of the course.

        A new session gets ``number`` if given and free, otherwise the next free number, decided
        while the course is locked; read the number from the returned SessionInfo."""
        _unknown("session", set(fields) - set(_SESSION_FIELDS), _SESSION_FIELDS)
        for _attempt in range(_RETRIES):
            try:
                return self._upsert_session_once(uid, course_uid, fields)
            except IntegrityError as err:
                if "unique" not in str(err.orig).lower():     # e.g. a required field set to None
                    first = str(err.orig).strip().splitlines()[0] if str(err.orig).strip() else ""
                    raise RecordsError(f"Could not store session {uid}: {first}") from None
                continue                       # another navigator took the number: decide again
        raise RecordsError(f"Could not store session {uid}: the course's session numbers kept "
                           "changing under concurrent writers; try again.")

    def _upsert_session_once(self, uid: str, course_uid: str, fields: dict[str, Any]) -> SessionInfo:
        with self._db.session() as s:
            course = self._course_row(s, course_uid, for_update=True)
            row = s.scalars(select(SessionRow).where(SessionRow.uid == uid)).first()
            if row is not None and row.course_id != course.id:
                raise RecordsError(f"Session {uid} belongs to another course.")
            now = utc_now_iso()
            if row is None:
                wanted = fields.get("number")
                taken = wanted is not None and s.scalar(select(SessionRow.id).where(
                    SessionRow.course_id == course.id, SessionRow.number == int(wanted))) is not None
                number = int(wanted) if wanted is not None and not taken else self._next_number(s, course.id)
                row = SessionRow(uid=uid, course_id=course.id, number=number,
                                 started_utc=fields.get("started_utc") or now, operator="",
                                 navigator="", folder="", notes="", status="open", pulses_total=0,
                                 pulses_with_pose=0, pulses_on_target=0, events_synced_seq=-1,
                                 updated_utc=now)
                s.add(row)
            for name, value in fields.items():
                if name == "number" and value is not None and row.number != int(value):
                    if s.scalar(select(SessionRow.id).where(SessionRow.course_id == course.id,
                                                            SessionRow.number == int(value))) is None:
                        row.number = int(value)
                    continue
                if name != "number":
                    setattr(row, name, str(value) if name == "folder" else value)
            row.updated_utc = now
            s.flush()
            return self._session_info(row, course_uid)
