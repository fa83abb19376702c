"""Gathering what a report shows from the clinic database and, when it is on this computer, the
session folder.

The database holds the course, the session rows, every pulse and the outcomes; the session
folder (``session.json`` + ``events.jsonl``) adds what only the sitting recorded in detail: the
scalp touches that verified the registration, the coil verification, the motor threshold method,
the tolerance the treatment summary was judged against, and the timestamped notes. A folder that
is missing (the session was run on another navigator) or partly unreadable does not stop the
report: the report says what is missing (``caveats``) and uses the database alone.

Privacy: identifying fields are read only with ``include_identity=True``; the pseudonym is the
only patient key otherwise.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from ..session.event_log import Event, read_events
from ..treatment.pulse_log import LoggedPulse
from ..treatment.statistics import pulse_statistics
from .content import date_time
from .model import (AdverseEventRow, CalibrationRow, CourseReportData, Identity, ProtocolSummary, PulseSeries,
                    RegistrationSummary, ReportHeader, SessionReportData, SessionRow, SpreadRow, TargetRow,
                    TrajectoryRow)
from .amendments import amendment_rows
from .outcome_data import outcome_section
from .tolerance import (DEFAULT_TOLERANCE_MM, PLAUSIBLE_TOLERANCE_MM, course_tolerance, plausible_tolerance,
                        session_tolerance_mm)

if TYPE_CHECKING:
    from ..records.infos import CourseInfo, PatientInfo, SessionInfo
    from ..records.repository import Records

__all__ = ["session_report_data", "course_report_data", "tmsnav_version", "DEFAULT_TOLERANCE_MM",
           "course_session_rows"]


def tmsnav_version() -> str:
    from importlib import metadata
    try:
        return metadata.version("tmsnav")
    except metadata.PackageNotFoundError:
        from ..session.store import SOFTWARE_VERSION
        return SOFTWARE_VERSION


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _header(kind: str, course: "CourseInfo", patient: "PatientInfo | None", include_identity: bool) -> ReportHeader:
    identity = None
    if include_identity and patient is not None:
        identity = Identity(patient.full_name, patient.birth_date, patient.sex, patient.mrn)
    return ReportHeader(kind=kind, pseudonym=course.pseudonym, course_id=course.uid[:8], identity=identity,
                        generated_utc=_now(), version=tmsnav_version())


def _protocol(course: "CourseInfo") -> ProtocolSummary:
    p = course.protocol
    return ProtocolSummary(p.target_name, p.intensity_pct_rmt, p.pattern, p.frequency_hz, p.pulses_per_session,
                           p.sessions_planned, p.sessions_per_day, course.indication, course.coil_model_id,
                           course.status)


def _vec3(v: Any) -> tuple[float, float, float] | None:
    try:
        a = np.asarray(v, float).reshape(3)
    except (TypeError, ValueError):
        return None
    return (float(a[0]), float(a[1]), float(a[2])) if np.all(np.isfinite(a)) else None


def target_rows(targets: dict | None) -> tuple[TargetRow, ...]:
    """Rows of a ``TargetSet.to_dict()``; read as plain JSON (malformed entries are skipped)."""
    if not isinstance(targets, dict):
        return ()
    active = targets.get("active")
    rows = []
    for t in targets.get("targets") or []:
        if not isinstance(t, dict):
            continue
        point = _vec3(t.get("scalp_point_mm"))
        if point is None:
            continue
        ev = t.get("evidence") or {}
        rows.append(TargetRow(name=str(t.get("name", "")), active=t.get("name") == active,
                              source=str(t.get("source", "")), mri_mm=point, mni_mm=_vec3(t.get("mni_point_mm")),
                              citation=str(ev.get("citation") or ""), why=str(ev.get("why") or ""),
                              doi=ev.get("doi") or None, notes=str(t.get("notes") or "")))
    return tuple(rows)


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def registration_summary(reg: dict | None, verified: Sequence[Event] = ()) -> RegistrationSummary | None:
    """From the registration record (``RegistrationResult.to_dict``) and the verification events."""
    if not isinstance(reg, dict):
        return None
    tre = reg.get("predicted_error_mm") or reg.get("predicted_tre_icp_mm") or reg.get("predicted_tre_fiducials_mm")
    estimate = {str(k): f for k, v in (tre or {}).items() if (f := _float(v)) is not None}
    touches: tuple[float, ...] = ()
    if verified:
        touches = tuple(f for t in verified[-1].data.get("touches") or []
                        if isinstance(t, dict) and (f := _float(t.get("scalp_distance_mm"))) is not None)
    accepted = reg.get("accepted")
    return RegistrationSummary(method=str(reg.get("method") or "not recorded"),
                               timestamp=str(reg.get("timestamp") or ""),
                               accepted=None if accepted is None else bool(accepted),
                               fre_rms_mm=_float(reg.get("fre_rms_mm")), icp_rms_mm=_float(reg.get("icp_rms_mm")),
                               n_scalp_points=len(reg.get("scalp_points_reference_mm") or []),
                               tre_estimate_mm=estimate, problems=tuple(str(p) for p in reg.get("problems") or []),
                               verification_mm=touches)


def calibration_rows(calibrations: dict | None, coil_checks: Sequence[Event] = ()) -> tuple[CalibrationRow, ...]:
    rows = []
    for tool, cal in (calibrations or {}).items():
        if not isinstance(cal, dict):
            continue
        if tool == "pointer":
            detail = (f"pivot RMS {_fmt(cal.get('rms_mm'))}, {cal.get('n_samples', '?')} samples"
                      if "rms_mm" in cal else "")
            rows.append(CalibrationRow("pointer", "pivot calibration", detail))
        elif tool == "coil":
            parts = [f"model {cal.get('model_id') or '?'}"]
            inner = cal.get("calibration") or {}
            if isinstance(inner, dict) and inner.get("residual_rms_mm") is not None:
                parts.append(f"landmark fit RMS {_fmt(inner.get('residual_rms_mm'))}")
            if coil_checks:
                last = coil_checks[-1].data
                worst = max((v for v in (last.get("mismatch_mm") or {}).values() if _float(v) is not None),
                            default=None)
                parts.append(("verified by touch" if last.get("passed") else "verification FAILED")
                             + ("" if worst is None else f", largest mismatch {_fmt(worst)}"))
            rows.append(CalibrationRow("coil", str(cal.get("method") or ""), "; ".join(parts)))
        else:
            rows.append(CalibrationRow(str(tool), str(cal.get("method") or ""), ""))
    return tuple(rows)


def _fmt(v: Any) -> str:
    f = _float(v)
    return "?" if f is None else f"{f:.2f} mm"


def pulse_series(pulses: Sequence[LoggedPulse]) -> PulseSeries:
    return PulseSeries(index=np.array([p.index for p in pulses], int),
                       error_mm=np.array([np.nan if p.position_error_mm is None else p.position_error_mm
                                          for p in pulses], float),
                       within=np.array([p.within_tolerance is True for p in pulses], bool))


def _adverse(rows: Iterable[Any]) -> tuple[AdverseEventRow, ...]:
    return tuple(AdverseEventRow(getattr(a, "session_number", None), a.time_utc, a.description, a.severity,
                                 a.action) for a in rows)


def _folder_events(folder: str, caveats: list[str]) -> list[Event]:
    if not folder:
        caveats.append("This session has no session folder recorded: details from the database only.")
        return []
    path = Path(folder) / "events.jsonl"
    if not path.is_file():
        caveats.append(f"The session folder is not on this computer ({Path(folder).name}): the registration "
                       "verification, notes and tolerance come from the database only.")
        return []
    try:
        result = read_events(path)
    except OSError as exc:
        caveats.append(f"The session's event log could not be read ({exc.strerror or exc}): database only.")
        return []
    if result.skipped_lines:
        caveats.append(f"{result.skipped_lines} damaged line(s) of the session's event log were skipped.")
    return result.events


def _session_file_targets(folder: str, caveats: list[str]) -> dict | None:
    """The targets the sitting itself used (its ``session.json``), which may differ from the course
    plan when a target was edited that day; None (use the plan) when the file cannot be read."""
    path = Path(folder) / "session.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        caveats.append(f"The session file could not be read ({type(exc).__name__}): the targets shown are the "
                       "course plan's.")
        return None
    targets = record.get("targets") if isinstance(record, dict) else None
    return targets if isinstance(targets, dict) else None


def session_report_data(records: "Records", session_uid: str, *, screenshots: Sequence[Path] = (),
                        include_identity: bool = False) -> SessionReportData:
    info: SessionInfo = records.session(session_uid)
    course = records.course(info.course_uid)
    patient = records.patient(course.pseudonym) if include_identity else None
    caveats: list[str] = []
    events = _folder_events(info.folder, caveats)
    kinds: dict[str, list[Event]] = {}
    for e in events:
        kinds.setdefault(e.kind, []).append(e)
    pulses = records.pulses(session_uid)
    if len(pulses) != info.pulses_total and info.pulses_total:
        caveats.append(f"The database lists {info.pulses_total} pulses for this session but holds {len(pulses)} "
                       "pulse records (not yet synchronised?): the statistics below use the records.")
    summaries = kinds.get("treatment_summary", [])
    tolerance = _float(summaries[-1].data.get("tolerance_mm")) if summaries else None
    if tolerance is not None and not plausible_tolerance(tolerance):
        caveats.append(f"The session recorded a tolerance of {tolerance:g} mm, outside the Navigate range "
                       f"{PLAUSIBLE_TOLERANCE_MM[0]:g}-{PLAUSIBLE_TOLERANCE_MM[1]:g} mm (another unit?): the plot's "
                       f"line is the Navigate default, {DEFAULT_TOLERANCE_MM:g} mm.")
        tolerance = DEFAULT_TOLERANCE_MM
    if tolerance is None and pulses:
        caveats.append(f"The session's tolerance was not recorded (no end-of-treatment summary): the plot's line is "
                       f"the Navigate default, {DEFAULT_TOLERANCE_MM:g} mm; each pulse keeps the on-target verdict it "
                       "was logged with.")
    thresholds = [e for e in kinds.get("motor_threshold", []) if e.data.get("threshold_pct") is not None]
    texts = [str(e.data.get("text", "")) for e in kinds.get("session_note", [])]
    notes = [f"{date_time(e.time_utc)}: {t}" for e, t in zip(kinds.get("session_note", []), texts)]
    if info.notes.strip() and info.notes.strip() not in texts:
        notes.insert(0, info.notes.strip())
    adverse = [a for a in records.adverse_events(info.course_uid) if a.session_uid == session_uid]
    session_targets = _session_file_targets(info.folder, caveats) if events else None
    targets = target_rows(session_targets if session_targets is not None else course.targets)
    return SessionReportData(
        header=_header("Session report", course, patient, include_identity), protocol=_protocol(course),
        session_number=info.number, session_uid=info.uid, started_utc=info.started_utc, ended_utc=info.ended_utc,
        operator=info.operator, navigator=info.navigator, status=info.status,
        registration=registration_summary(info.registration, kinds.get("registration_verified", [])),
        calibrations=calibration_rows(info.calibrations, kinds.get("coil_verification", [])),
        targets=targets, motor_threshold_pct_mso=info.motor_threshold_pct_mso,
        threshold_method=str(thresholds[-1].data.get("method") or "") if thresholds else "",
        intensity_pct_mso=info.intensity_pct_mso, statistics=pulse_statistics(pulses),
        series=pulse_series(pulses), tolerance_mm=tolerance if tolerance is not None else DEFAULT_TOLERANCE_MM,
        adverse_events=_adverse(adverse), notes=tuple(notes), screenshots=tuple(Path(p) for p in screenshots),
        caveats=tuple(caveats))


def _course_target_point(course: "CourseInfo", rows: Sequence[TargetRow]) -> TargetRow | None:
    by_name = {t.name: t for t in rows}
    return by_name.get(course.protocol.target_name) or next((t for t in rows if t.active), None)


def spread_rows(positions: dict[int, np.ndarray], target: TargetRow | None) -> tuple[SpreadRow, ...]:
    """Per session: the component-wise median of its pulse positions and its distance from the target."""
    out = []
    for number in sorted(positions):
        p = np.asarray(positions[number], float).reshape(-1, 3)
        p = p[np.all(np.isfinite(p), axis=1)]
        med = np.median(p, axis=0) if len(p) else None
        dist = None if med is None or target is None else float(np.linalg.norm(med - np.array(target.mri_mm)))
        out.append(SpreadRow(number, len(p), None if med is None else _vec3(med), dist))
    return tuple(out)


def session_row(s: "SessionInfo", tolerance_mm: float | None = None) -> SessionRow:
    return SessionRow(number=s.number, date=s.started_utc, operator=s.operator, pulses=s.pulses_total,
                      with_pose=s.pulses_with_pose, on_target=s.pulses_on_target, median_error_mm=s.median_error_mm,
                      p95_error_mm=s.p95_error_mm, registration_error_mm=s.registration_error_mm,
                      motor_threshold_pct_mso=s.motor_threshold_pct_mso, intensity_pct_mso=s.intensity_pct_mso,
                      status=s.status, tolerance_mm=tolerance_mm)


def course_session_rows(sessions: Sequence["SessionInfo"]) -> tuple[SessionRow, ...]:
    """The sessions table's rows, each with the tolerance its folder recorded (read from the
    folder's event log when it is on this computer; sessions without pulses are not read)."""
    return tuple(session_row(s, session_tolerance_mm(s.folder) if s.pulses_total else None) for s in sessions)


def course_report_data(records: "Records", course_uid: str, *, screenshots: Sequence[Path] = (),
                       include_identity: bool = False) -> CourseReportData:
    course = records.course(course_uid)
    patient = records.patient(course.pseudonym) if include_identity else None
    sessions = records.sessions(course_uid)
    targets = target_rows(course.targets)
    target = _course_target_point(course, targets)
    caveats: list[str] = []
    if target is None and not targets:
        caveats.append("The course has no planned targets yet: the distance of the coil positions from the "
                       "target cannot be given.")
    elif target is None:
        caveats.append(f"The course's target {course.protocol.target_name!r} is not among its planned targets: "
                       "the distance of the coil positions from it cannot be given.")
    spread = spread_rows(records.course_pulse_positions(course_uid), target)
    every_outcome = records.outcomes(course_uid, include_retracted=True)    # the audit trail too
    section = outcome_section([o for o in every_outcome if not o.retracted])
    trajectories: tuple[TrajectoryRow, ...] = section.trajectories
    rows = course_session_rows(sessions)
    caveats.extend(course_tolerance(rows).caveats())
    if section.unknown:
        caveats.insert(0, section.unknown)
    return CourseReportData(
        header=_header("Course report", course, patient, include_identity), protocol=_protocol(course),
        created_utc=course.created_utc, course_notes=course.notes, targets=targets,
        sessions=rows, spread=spread, safety_alerts=section.alerts,
        trajectories=trajectories, outcome_png=section.png, outcome_note=section.note,
        adverse_events=_adverse(records.adverse_events(course_uid)), caveats=tuple(caveats),
        screenshots=tuple(Path(p) for p in screenshots), amendments=amendment_rows(every_outcome))
