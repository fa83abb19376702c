"""The clinic database's tables as SQLAlchemy 2 typed declarative models.

One model for SQLite (a single navigator) and PostgreSQL (a clinic): only portable types (JSON,
BigInteger, Float, String). Times are UTC ISO-8601 strings (``2026-12-05T09:30:00.000+00:00``),
which sort correctly as text on both back ends and survive export unchanged. These models must
equal the head Alembic revision (tests/navigation/records/test_db_migrations.py compares them);
change the schema only together with a new revision in ``migrations/versions``.

Privacy: ``patients.full_name``, ``birth_date`` and ``mrn`` are the only identifying fields and
live only here; everything else (folders, logs, exports) is keyed by the pseudonym.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Float, ForeignKey, Integer, MetaData, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Patient", "Course", "SessionRow", "Pulse", "AdverseEvent", "Outcome",
           "NAMING_CONVENTION"]

#: Deterministic constraint names so migrations can refer to them on both back ends.
NAMING_CONVENTION = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
                     "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
                     "pk": "pk_%(table_name)s"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(20))
    mrn: Mapped[str | None] = mapped_column(String(64))
    created_utc: Mapped[str] = mapped_column(String(40))
    notes: Mapped[str] = mapped_column(Text, default="")


class Course(Base):
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    indication: Mapped[str] = mapped_column(String(200), default="")
    target_name: Mapped[str] = mapped_column(String(200), default="")
    targets: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mri_path: Mapped[str] = mapped_column(Text, default="")
    mri_sha256: Mapped[str] = mapped_column(String(64), default="")
    mri_from_mni: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    coil_model_id: Mapped[str] = mapped_column(String(100), default="")
    coil_calibration: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pointer_calibration: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    plan_folder: Mapped[str] = mapped_column(Text, default="")
    intensity_pct_rmt: Mapped[float] = mapped_column(Float)
    pattern: Mapped[str] = mapped_column(String(50))
    frequency_hz: Mapped[float | None] = mapped_column(Float)
    pulses_per_session: Mapped[int] = mapped_column(Integer)
    sessions_planned: Mapped[int] = mapped_column(Integer)
    sessions_per_day: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_utc: Mapped[str] = mapped_column(String(40))
    notes: Mapped[str] = mapped_column(Text, default="")


class SessionRow(Base):
    """One sitting. The pulse summary columns let the course view open without loading pulses."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("course_id", "number", name="uq_sessions_course_id_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    started_utc: Mapped[str] = mapped_column(String(40))
    ended_utc: Mapped[str | None] = mapped_column(String(40))
    operator: Mapped[str] = mapped_column(String(100), default="")
    navigator: Mapped[str] = mapped_column(String(100), default="", server_default="")
    folder: Mapped[str] = mapped_column(Text, default="")
    registration: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    registration_error_mm: Mapped[float | None] = mapped_column(Float)
    calibrations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    motor_threshold_pct_mso: Mapped[float | None] = mapped_column(Float)
    intensity_pct_mso: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    pulses_total: Mapped[int] = mapped_column(Integer, default=0)
    pulses_with_pose: Mapped[int] = mapped_column(Integer, default=0)
    pulses_on_target: Mapped[int] = mapped_column(Integer, default=0)
    median_error_mm: Mapped[float | None] = mapped_column(Float)
    p95_error_mm: Mapped[float | None] = mapped_column(Float)
    events_synced_seq: Mapped[int] = mapped_column(Integer, default=-1)
    updated_utc: Mapped[str] = mapped_column(String(40))


class Pulse(Base):
    """One logged pulse (navigation.treatment.pulse_log.LoggedPulse); x/y/z = hotspot in MRI mm."""

    __tablename__ = "pulses"
    __table_args__ = (UniqueConstraint("session_id", "index", name="uq_pulses_session_id_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column("index", Integer)
    wall_time_utc: Mapped[str] = mapped_column(String(40))
    host_time_ns: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int | None] = mapped_column(Integer)
    output_pct_mso: Mapped[float | None] = mapped_column(Float)
    didt_a_per_us: Mapped[float | None] = mapped_column(Float)
    x_mm: Mapped[float | None] = mapped_column(Float)
    y_mm: Mapped[float | None] = mapped_column(Float)
    z_mm: Mapped[float | None] = mapped_column(Float)
    mri_from_hotspot: Mapped[list[Any] | None] = mapped_column(JSON)
    pose_reason: Mapped[str] = mapped_column(Text, default="")
    target_name: Mapped[str | None] = mapped_column(String(200))
    position_error_mm: Mapped[float | None] = mapped_column(Float)
    angle_error_rad: Mapped[float | None] = mapped_column(Float)
    depth_error_mm: Mapped[float | None] = mapped_column(Float)
    twist_error_rad: Mapped[float | None] = mapped_column(Float)
    within_tolerance: Mapped[bool | None] = mapped_column(Boolean)


class AdverseEvent(Base):
    """An adverse event noted in a session (event-log ``adverse_event``; seq = its event seq)."""

    __tablename__ = "adverse_events"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_adverse_events_session_id_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    time_utc: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(Text, default="")


class Outcome(Base):
    """One rating-scale assessment: item scores (when entered item by item) and the total.

    A row is never changed after entry except to retract it (revision 0003): ``retracted_utc``,
    ``retracted_by`` and ``retraction_reason`` say when, by whom and why, and
    ``superseded_by_uid`` names the corrected entry that replaces it (None: entered in error).
    Current entries are the rows with ``retracted_utc`` NULL."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    scale: Mapped[str] = mapped_column(String(20))
    assessed_on: Mapped[str] = mapped_column(String(10))
    timepoint: Mapped[str] = mapped_column(String(100), default="")
    items: Mapped[list[Any] | None] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    rater: Mapped[str] = mapped_column(String(100), default="")
    entered_utc: Mapped[str] = mapped_column(String(40))
    retracted_utc: Mapped[str | None] = mapped_column(String(40))
    retracted_by: Mapped[str | None] = mapped_column(String(100))
    retraction_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by_uid: Mapped[str | None] = mapped_column(String(32))
