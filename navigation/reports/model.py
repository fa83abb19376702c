"""What a report shows, as plain frozen dataclasses: gathered once (``data.py``), then laid out
twice (``html.py``, ``pdf.py``) so both files always say the same thing.

Units as everywhere inside tmsnav: mm and radians; the layouts turn radians into degrees.
Nothing here touches the database or the disk, so the layouts can be tested on hand-made data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..treatment.statistics import PulseStatistics
from .amendments import AmendmentRow

__all__ = ["Identity", "ReportHeader", "ProtocolSummary", "TargetRow", "RegistrationSummary",
           "CalibrationRow", "AdverseEventRow", "PulseSeries", "SessionReportData", "SessionRow",
           "SpreadRow", "TrajectoryRow", "CourseReportData", "SOURCE_LABELS", "source_label"]

#: How a target's ``source`` (navigation/targeting/targets.py KNOWN_SOURCES) reads on paper: the
#: kind of evidence first (fMRI, qEEG, literature, heuristic), then the method.
SOURCE_LABELS = {
    "connectivity": "fMRI (sgACC functional connectivity)",
    "qeeg": "qEEG",
    "literature-mni": "literature (MNI coordinate)",
    "10-20": "heuristic (10-20 EEG position)",
    "beam-f3": "heuristic (Beam F3)",
    "5-cm-rule": "heuristic (5-cm rule)",
    "efield": "e-field estimate",
    "motor-grid": "motor mapping grid",
    "motor-hotspot": "motor hotspot (MEP)",
    "manual": "manual placement",
}


def source_label(source: str) -> str:
    """The readable kind of evidence of a target source; unknown sources are shown as stored."""
    return SOURCE_LABELS.get(source, source or "not recorded")


@dataclass(frozen=True)
class Identity:
    """Identifying fields: only in a report made with ``include_identity=True``."""

    full_name: str | None
    birth_date: str | None
    sex: str | None
    mrn: str | None


@dataclass(frozen=True)
class ReportHeader:
    """Printed at the top of the first page and (short form) on every page of the PDF."""

    kind: str                       # "Session report" | "Course report"
    pseudonym: str
    course_id: str                  # first 8 hex digits of the course uid
    identity: Identity | None
    generated_utc: str              # ISO 8601
    version: str                    # tmsnav version


@dataclass(frozen=True)
class ProtocolSummary:
    target_name: str
    intensity_pct_rmt: float
    pattern: str
    frequency_hz: float | None
    pulses_per_session: int
    sessions_planned: int
    sessions_per_day: int
    indication: str
    coil_model_id: str
    status: str

    @property
    def pattern_text(self) -> str:
        if self.frequency_hz is not None and f"{self.frequency_hz:g}" not in self.pattern:
            return f"{self.pattern} ({self.frequency_hz:g} Hz)"
        return self.pattern


@dataclass(frozen=True)
class TargetRow:
    name: str
    active: bool
    source: str                     # as stored (e.g. "connectivity")
    mri_mm: tuple[float, float, float]
    mni_mm: tuple[float, float, float] | None
    citation: str
    why: str
    doi: str | None
    notes: str

    @property
    def source_text(self) -> str:
        return source_label(self.source)


@dataclass(frozen=True)
class RegistrationSummary:
    method: str
    timestamp: str
    accepted: bool | None
    fre_rms_mm: float | None
    icp_rms_mm: float | None
    n_scalp_points: int
    #: the predicted target error shown at registration (95 % bound per target), when recorded
    tre_estimate_mm: dict[str, float]
    problems: tuple[str, ...]
    #: distances of the verification touches from the MRI scalp (mm); empty = not verified
    verification_mm: tuple[float, ...]


@dataclass(frozen=True)
class CalibrationRow:
    tool: str
    method: str
    detail: str


@dataclass(frozen=True)
class AdverseEventRow:
    session_number: int | None
    time_utc: str
    description: str
    severity: str
    action: str


@dataclass(frozen=True)
class PulseSeries:
    """Per-pulse position errors in delivery order (NaN = no error: pose unknown or no target)."""

    index: np.ndarray               # (n,) pulse numbers
    error_mm: np.ndarray            # (n,)
    within: np.ndarray              # (n,) bool


@dataclass(frozen=True)
class SessionReportData:
    header: ReportHeader
    protocol: ProtocolSummary | None
    session_number: int
    session_uid: str
    started_utc: str
    ended_utc: str | None
    operator: str
    navigator: str
    status: str
    registration: RegistrationSummary | None
    calibrations: tuple[CalibrationRow, ...]
    targets: tuple[TargetRow, ...]
    motor_threshold_pct_mso: float | None
    threshold_method: str
    intensity_pct_mso: float | None
    statistics: PulseStatistics
    series: PulseSeries
    tolerance_mm: float
    adverse_events: tuple[AdverseEventRow, ...]
    notes: tuple[str, ...]
    screenshots: tuple[Path, ...]
    #: things the reader must know about the data itself (folder missing, unreadable lines ...)
    caveats: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SessionRow:
    number: int
    date: str
    operator: str
    pulses: int
    with_pose: int
    on_target: int
    median_error_mm: float | None
    p95_error_mm: float | None
    registration_error_mm: float | None
    motor_threshold_pct_mso: float | None
    intensity_pct_mso: float | None
    status: str
    #: the tolerance the session recorded at its end-of-treatment summary (None: not recorded here)
    tolerance_mm: float | None = None

    @property
    def pct_on_target(self) -> float | None:
        return 100.0 * self.on_target / self.pulses if self.pulses else None


@dataclass(frozen=True)
class SpreadRow:
    """Where one session's pulses landed: the median pulse position and its distance from the target."""

    number: int
    n_positions: int
    median_mm: tuple[float, float, float] | None
    distance_mm: float | None


@dataclass(frozen=True)
class TrajectoryRow:
    scale: str
    n: int
    baseline: int | None
    latest: int | None
    change_pct: float | None
    response: bool | None
    remission: bool | None
    remission_max: int | None = None     # the scale's remission cut-off (total at or below)


@dataclass(frozen=True)
class CourseReportData:
    header: ReportHeader
    protocol: ProtocolSummary
    created_utc: str
    course_notes: str
    targets: tuple[TargetRow, ...]
    sessions: tuple[SessionRow, ...]
    spread: tuple[SpreadRow, ...]
    safety_alerts: tuple[str, ...]
    trajectories: tuple[TrajectoryRow, ...]
    outcome_png: bytes | None
    outcome_note: str
    adverse_events: tuple[AdverseEventRow, ...]
    caveats: tuple[str, ...] = field(default_factory=tuple)
    screenshots: tuple[Path, ...] = field(default_factory=tuple)
    #: corrections of outcome assessments and entries marked entered in error (audit trail)
    amendments: tuple[AmendmentRow, ...] = field(default_factory=tuple)
