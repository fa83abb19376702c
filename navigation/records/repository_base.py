"""Shared plumbing of :class:`navigation.records.repository.Records`: row lookups and the
conversions from ORM rows to the frozen records of :mod:`.infos` (split out to keep each
repository module small)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .database import Database
from .errors import NotFoundError, RecordsError
from .infos import CourseInfo, CourseProtocol, OutcomeInfo, PatientInfo, SessionInfo
from .models import Course, Outcome, Patient, SessionRow

__all__ = ["RecordsBase", "utc_now_iso", "locked_row", "iso_day"]


def utc_now_iso() -> str:
    """Now in UTC, ISO-8601 with milliseconds (sorts as text on both back ends)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


RowT = TypeVar("RowT", Course, Outcome)


def locked_row(s: Session, model: type[RowT], uid: str, missing: str, for_update: bool = True) -> RowT:
    """The row of ``model`` with this uid; on PostgreSQL ``for_update`` locks it until the
    transaction ends, so two rooms changing one course or one assessment at once are serialised
    (SQLite serialises writers by itself). NotFoundError(``missing``) when there is none."""
    query = select(model).where(model.uid == uid)
    if for_update and s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = s.scalars(query).first()
    if row is None:
        raise NotFoundError(missing)
    return row


def iso_day(value: str | date, what: str) -> str:
    """``value`` as YYYY-MM-DD text; RecordsError naming ``what`` when it is not a date."""
    text = value.isoformat() if isinstance(value, date) else str(value)
    try:
        date.fromisoformat(text)
    except ValueError:
        raise RecordsError(f"{what} {text!r} is not a date (YYYY-MM-DD).") from None
    return text

class RecordsBase:
    """Holds the database and the lookups every part of the repository needs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def database(self) -> Database:
        return self._db

    # -- lookups (inside an open ORM session) -------------------------------------------------
    @staticmethod
    def _patient_row(s: Session, pseudonym: str) -> Patient:
        row = s.scalars(select(Patient).where(Patient.pseudonym == pseudonym)).first()
        if row is None:
            raise NotFoundError(f"No patient with pseudonym {pseudonym!r}.")
        return row

    @staticmethod
    def _course_row(s: Session, uid: str, *, for_update: bool = False) -> Course:
        return locked_row(s, Course, uid, f"No course {uid!r} in the clinic database.", for_update)

    @staticmethod
    def _session_row(s: Session, uid: str) -> SessionRow:
        row = s.scalars(select(SessionRow).where(SessionRow.uid == uid)).first()
        if row is None:
            raise NotFoundError(f"No session {uid!r} in the clinic database.")
        return row

    # -- conversions ----------------------------------------------------------------------------
    @staticmethod
    def _patient_info(row: Patient) -> PatientInfo:
        return PatientInfo(pseudonym=row.pseudonym, full_name=row.full_name,
                           birth_date=row.birth_date, sex=row.sex, mrn=row.mrn,
                           created_utc=row.created_utc, notes=row.notes or "")

    @staticmethod
    def _course_info(row: Course, pseudonym: str) -> CourseInfo:
        protocol = CourseProtocol(target_name=row.target_name,
                                  intensity_pct_rmt=row.intensity_pct_rmt, pattern=row.pattern,
                                  frequency_hz=row.frequency_hz,
                                  pulses_per_session=row.pulses_per_session,
                                  sessions_planned=row.sessions_planned,
                                  sessions_per_day=row.sessions_per_day)
        return CourseInfo(uid=row.uid, pseudonym=pseudonym, protocol=protocol,
                          indication=row.indication, targets=row.targets, mri_path=row.mri_path,
                          mri_sha256=row.mri_sha256, mri_from_mni=row.mri_from_mni,
                          coil_model_id=row.coil_model_id, coil_calibration=row.coil_calibration,
                          pointer_calibration=row.pointer_calibration,
                          plan_folder=row.plan_folder, status=row.status,
                          created_utc=row.created_utc, notes=row.notes or "")

    @staticmethod
    def _session_info(row: SessionRow, course_uid: str, *, summary: bool = False) -> SessionInfo:
        """``summary``: leave the registration and calibration blobs out (None; not loaded)."""
        return SessionInfo(uid=row.uid, course_uid=course_uid, number=row.number,
                           started_utc=row.started_utc, ended_utc=row.ended_utc,
                           operator=row.operator, navigator=row.navigator, folder=row.folder,
                           registration=None if summary else row.registration,
                           registration_error_mm=row.registration_error_mm,
                           motor_threshold_pct_mso=row.motor_threshold_pct_mso,
                           intensity_pct_mso=row.intensity_pct_mso, notes=row.notes or "",
                           status=row.status, pulses_total=row.pulses_total,
                           pulses_with_pose=row.pulses_with_pose,
                           pulses_on_target=row.pulses_on_target,
                           median_error_mm=row.median_error_mm, p95_error_mm=row.p95_error_mm,
                           events_synced_seq=row.events_synced_seq,
                           calibrations=None if summary else row.calibrations,
                           updated_utc=row.updated_utc)

    @staticmethod
    def _outcome_info(row: Outcome, course_uid: str, session_uid: str | None) -> OutcomeInfo:
        items = None if row.items is None else tuple(None if v is None else int(v) for v in row.items)
        return OutcomeInfo(uid=row.uid, course_uid=course_uid, session_uid=session_uid,
                           scale=row.scale, assessed_on=row.assessed_on, timepoint=row.timepoint,
                           items=items, total=row.total, rater=row.rater,
                           entered_utc=row.entered_utc, retracted_utc=row.retracted_utc,
                           retracted_by=row.retracted_by or "",
                           retraction_reason=row.retraction_reason or "",
                           superseded_by_uid=row.superseded_by_uid or None)
