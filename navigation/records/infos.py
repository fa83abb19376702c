"""Plain frozen records the repository returns (never ORM objects: safe across threads and the
GUI, and nothing lazily touches the database after the call).

Privacy: ``PatientInfo.__repr__`` shows the pseudonym only, so a PatientInfo (or an overview
holding one) written into a log line or a traceback never carries name, birth date or MRN; free
text that may name a person (notes, adverse-event descriptions, the MRI path the user chose) is
left out of every repr too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PatientInfo", "CourseProtocol", "CourseInfo", "SessionInfo", "OutcomeInfo",
           "AdverseEventInfo", "PatientOverview", "IDENTIFYING_FIELDS"]

#: The patient fields that identify a person: database and GUI only, never logs or file names.
IDENTIFYING_FIELDS = ("full_name", "birth_date", "mrn")


@dataclass(frozen=True)
class PatientInfo:
    pseudonym: str
    full_name: str | None = field(default=None, repr=False)
    birth_date: str | None = field(default=None, repr=False)
    sex: str | None = field(default=None, repr=False)
    mrn: str | None = field(default=None, repr=False)
    created_utc: str = ""
    notes: str = field(default="", repr=False)


@dataclass(frozen=True)
class CourseProtocol:
    """What is prescribed: target, dose (% of resting motor threshold), pattern and schedule."""

    target_name: str
    intensity_pct_rmt: float
    pattern: str
    frequency_hz: float | None
    pulses_per_session: int
    sessions_planned: int
    sessions_per_day: int = 1

    def __post_init__(self) -> None:
        if not self.intensity_pct_rmt > 0:
            raise ValueError(f"intensity must be a positive % of motor threshold, got {self.intensity_pct_rmt}")
        if self.frequency_hz is not None and not self.frequency_hz > 0:
            raise ValueError(f"frequency must be positive (Hz), got {self.frequency_hz}")
        for name in ("pulses_per_session", "sessions_planned", "sessions_per_day"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class CourseInfo:
    uid: str
    pseudonym: str
    protocol: CourseProtocol
    indication: str
    targets: dict[str, Any] | None = field(repr=False)
    mri_path: str = field(repr=False)
    mri_sha256: str = field(repr=False)
    mri_from_mni: dict[str, Any] | None = field(repr=False)
    coil_model_id: str = ""
    coil_calibration: dict[str, Any] | None = field(default=None, repr=False)
    pointer_calibration: dict[str, Any] | None = field(default=None, repr=False)
    plan_folder: str = field(default="", repr=False)
    status: str = "active"
    created_utc: str = ""
    notes: str = field(default="", repr=False)


@dataclass(frozen=True)
class SessionInfo:
    uid: str
    course_uid: str
    number: int
    started_utc: str
    ended_utc: str | None
    operator: str
    navigator: str
    folder: str
    registration: dict[str, Any] | None = field(repr=False)
    registration_error_mm: float | None
    motor_threshold_pct_mso: float | None
    intensity_pct_mso: float | None
    notes: str = field(repr=False)
    status: str
    pulses_total: int
    pulses_with_pose: int
    pulses_on_target: int
    median_error_mm: float | None
    p95_error_mm: float | None
    events_synced_seq: int
    calibrations: dict[str, Any] | None = field(default=None, repr=False)
    updated_utc: str = ""


@dataclass(frozen=True)
class OutcomeInfo:
    uid: str
    course_uid: str
    session_uid: str | None
    scale: str
    assessed_on: str
    timepoint: str
    items: tuple[int | None, ...] | None   # None marks an unknown item of a totals entry
    total: int
    rater: str
    entered_utc: str
    #: Set when the entry was retracted (corrected or entered in error): when (UTC ISO), by whom
    #: and why; ``superseded_by_uid`` is the corrected entry (None: entered in error). A retracted
    #: entry is kept for the audit trail and left out of plots, alerts, reports and exports.
    retracted_utc: str | None = None
    retracted_by: str = ""
    retraction_reason: str = field(default="", repr=False)
    superseded_by_uid: str | None = None

    @property
    def retracted(self) -> bool:
        """True for an entry that no longer counts (corrected, or entered in error)."""
        return self.retracted_utc is not None

    @property
    def retraction_kind(self) -> str:
        """``"corrected"``, ``"entered in error"`` or ``""`` (a current entry)."""
        if not self.retracted:
            return ""
        return "corrected" if self.superseded_by_uid else "entered in error"


@dataclass(frozen=True)
class AdverseEventInfo:
    session_uid: str
    seq: int
    time_utc: str
    description: str = field(repr=False)
    severity: str
    action: str
    session_number: int | None = None


@dataclass(frozen=True)
class PatientOverview:
    """Everything the course view shows, in one call (keyed by course uid); no pulse rows, and
    the sessions' ``registration`` / ``calibrations`` are None (Records.session has them)."""

    patient: PatientInfo
    courses: list[CourseInfo]
    sessions: dict[str, list[SessionInfo]]
    outcomes: dict[str, list[OutcomeInfo]]
