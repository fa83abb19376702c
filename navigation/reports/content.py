"""The words and numbers of each report section, formatted once for both layouts.

``html.py`` and ``pdf.py`` only arrange what these functions return (label/value rows and table
rows of strings), so the HTML and the PDF of a report cannot disagree. Degrees appear only here,
at the edge; inside everything is mm and radians. A missing value is an em dash, never 0.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Sequence

from .amendments import AmendmentRow
from .model import (AdverseEventRow, CalibrationRow, CourseReportData, ProtocolSummary, RegistrationSummary,
                    ReportHeader, SessionReportData, SessionRow, SpreadRow, TargetRow, TrajectoryRow)
from .tolerance import CourseTolerance, above_tolerance, course_tolerance

__all__ = ["DASH", "mm", "pct", "num", "date_time", "identity_rows", "protocol_rows", "session_rows",
           "registration_rows", "statistics_rows", "target_table", "calibration_table", "sessions_table",
           "spread_table",
           "trajectory_table", "adverse_table", "footer_text", "course_summary_rows", "Row", "Table", "ABOVE_MARK",
           "amendment_table"]

DASH = "—"
Row = tuple[str, str]
Table = tuple[list[str], list[list[str]]]      # header, rows


def _missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def mm(v: float | None, digits: int = 1) -> str:
    return DASH if _missing(v) else f"{v:.{digits}f} mm"


def pct(v: float | None, digits: int = 0) -> str:
    return DASH if _missing(v) else f"{v:.{digits}f} %"


def num(v: float | None, unit: str = "", digits: int = 0) -> str:
    if _missing(v):
        return DASH
    text = f"{v:.{digits}f}" if digits else f"{v:g}"
    return f"{text} {unit}".strip()


def date_time(iso: str | None, *, with_time: bool = True) -> str:
    """``2026-12-05 09:14 UTC`` from an ISO 8601 string (shown as given when it does not parse)."""
    if not iso:
        return DASH
    try:
        t = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return t.strftime("%Y-%m-%d %H:%M UTC") if with_time else t.strftime("%Y-%m-%d")


def _coords(v: Sequence[float] | None) -> str:
    return DASH if v is None else ", ".join(f"{x:.1f}" for x in v)


def identity_rows(h: ReportHeader) -> list[Row]:
    rows = [("Patient (pseudonym)", h.pseudonym), ("Course", h.course_id)]
    if h.identity is not None:
        i = h.identity
        rows += [("Name", i.full_name or DASH), ("Date of birth", i.birth_date or DASH),
                 ("Sex", i.sex or DASH), ("Record number (MRN)", i.mrn or DASH)]
    return rows


def protocol_rows(p: ProtocolSummary | None) -> list[Row]:
    if p is None:
        return [("Protocol", "not recorded")]
    per_day = f", {p.sessions_per_day} per day" if p.sessions_per_day > 1 else ""
    return [("Indication", p.indication or DASH), ("Target", p.target_name or DASH),
            ("Pattern", p.pattern_text or DASH),
            ("Intensity", f"{p.intensity_pct_rmt:g} % of resting motor threshold"),
            ("Pulses per session", str(p.pulses_per_session)),
            ("Sessions planned", f"{p.sessions_planned}{per_day}"),
            ("Coil", p.coil_model_id or DASH), ("Course status", p.status or DASH)]


def session_rows(d: SessionReportData) -> list[Row]:
    return [("Session", f"{d.session_number} ({d.status})"), ("Started", date_time(d.started_utc)),
            ("Ended", date_time(d.ended_utc)), ("Operator", d.operator or DASH),
            ("Navigator (computer)", d.navigator or DASH),
            ("Resting motor threshold", num(d.motor_threshold_pct_mso, "% MSO")
             + (f" ({d.threshold_method})" if d.threshold_method else "")),
            ("Treatment output", num(d.intensity_pct_mso, "% MSO"))]


def registration_rows(r: RegistrationSummary | None) -> list[Row]:
    if r is None:
        return [("Registration", "none recorded for this session")]
    verdict = {True: "accepted", False: "NOT accepted", None: DASH}[r.accepted]
    rows = [("Method", f"{r.method} ({verdict})"), ("Time", date_time(r.timestamp)),
            ("Fiducial registration error (RMS)", mm(r.fre_rms_mm, 2)),
            ("Surface match (ICP) RMS", mm(r.icp_rms_mm, 2)
             + (f" over {r.n_scalp_points} scalp points" if r.n_scalp_points else ""))]
    if r.tre_estimate_mm:
        rows.append(("Predicted target error (95 % bound)",
                     "; ".join(f"{name}: {mm(v)}" for name, v in r.tre_estimate_mm.items())))
    else:
        rows.append(("Predicted target error", "not recorded"))
    if r.verification_mm:
        rows.append(("Verification touches",
                     f"{len(r.verification_mm)} agreeing, distance from the MRI scalp "
                     + ", ".join(mm(v) for v in r.verification_mm)))
    else:
        rows.append(("Verification touches", "none recorded (registration not verified)"))
    for p in r.problems:
        rows.append(("Problem", p))
    return rows


def statistics_rows(d: SessionReportData) -> list[Row]:
    s = d.statistics
    on = DASH if s.fraction_on_target is None else f"{100 * s.fraction_on_target:.0f} % ({s.n_on_target} of {s.n})"
    tilt = DASH if s.median_angle_error_rad is None else f"{math.degrees(s.median_angle_error_rad):.1f}°"
    rows = [("Pulses delivered", str(s.n)), ("With a tracked coil pose", f"{s.n - s.n_pose_unknown} of {s.n}"),
            ("On target (tolerance " + mm(d.tolerance_mm, 1) + ")", on),
            ("Median position error", mm(s.median_error_mm)), ("95th percentile", mm(s.p95_error_mm)),
            ("Largest error", mm(s.max_error_mm)), ("Median tilt", tilt)]
    if s.n_no_target:
        rows.append(("Pulses without an active target", str(s.n_no_target)))
    if len(s.per_target) > 1:
        for name, per in s.per_target.items():
            share = DASH if per.fraction_on_target is None else f"{100 * per.fraction_on_target:.0f} %"
            rows.append((f"Target {name}", f"{per.n} pulses, {share} on target, median {mm(per.median_error_mm)}"))
    return rows


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def target_table(targets: Sequence[TargetRow]) -> Table:
    """Five columns; the layouts print the last one (why / citation, often a paragraph) as a
    full-width line under the other four, so a long reason does not make a page-high row."""
    header = ["Target", "Evidence", "MRI x, y, z (mm)", "MNI x, y, z (mm)", "Why / citation"]
    rows = []
    for t in targets:
        source = ", ".join(x for x in (t.citation, f"doi:{t.doi}" if t.doi else "") if x)
        why = " ".join(_sentence(x) for x in (t.why, f"Source: {source}" if source else "",
                                              f"Note: {t.notes}" if t.notes else "") if x)
        rows.append([t.name + (" (active)" if t.active else ""), t.source_text, _coords(t.mri_mm),
                     _coords(t.mni_mm), why or DASH])
    return header, rows


def calibration_table(rows: Sequence[CalibrationRow]) -> Table:
    return ["Tool", "Method", "Details"], [[c.tool, c.method or DASH, c.detail or DASH] for c in rows]


#: Put before the median error of a session whose median is above its tolerance: a character,
#: not a colour, so a black-and-white print and a screen reader keep it.
ABOVE_MARK = "!"


def _median_cell(s: SessionRow, tolerance: CourseTolerance) -> str:
    text = mm(s.median_error_mm)
    return f"{ABOVE_MARK} {text}" if above_tolerance(s.median_error_mm, tolerance.for_session(s.number)) else text


def sessions_table(sessions: Sequence[SessionRow]) -> Table:
    """One row per session; "! 4.1 mm": the session's median error is above the tolerance it was
    judged against (:func:`.tolerance.course_tolerance`; the Navigate default when not recorded)."""
    tolerance = course_tolerance(sessions)
    header = ["#", "Date", "Pulses (tracked)", "On target", "Median error", "P95 error", "Registr. error", "RMT",
              "Output"]
    rows = [[str(s.number), date_time(s.date, with_time=False), f"{s.pulses} ({s.with_pose})",
             pct(s.pct_on_target), _median_cell(s, tolerance), mm(s.p95_error_mm), mm(s.registration_error_mm, 2),
             num(s.motor_threshold_pct_mso, "% MSO"), num(s.intensity_pct_mso, "% MSO")] for s in sessions]
    return header, rows


def spread_table(spread: Sequence[SpreadRow]) -> Table:
    header = ["Session", "Pulses with a position", "Median position x, y, z (mm, MRI)", "Distance from target"]
    rows = [[str(r.number), str(r.n_positions), _coords(r.median_mm), mm(r.distance_mm)] for r in spread]
    return header, rows


def trajectory_table(rows: Sequence[TrajectoryRow]) -> Table:
    def yes(v: bool | None) -> str:
        return DASH if v is None else ("yes" if v else "no")
    header = ["Scale", "Count", "Baseline", "Latest", "Change", "Response", "Remission"]
    return header, [[t.scale, str(t.n), num(t.baseline), num(t.latest),
                     DASH if t.change_pct is None else f"{t.change_pct:+.0f} %", yes(t.response),
                     yes(t.remission) + ("" if t.remission_max is None else f" (≤ {t.remission_max})")]
                    for t in rows]


def adverse_table(events: Sequence[AdverseEventRow], *, with_session: bool) -> Table:
    header = (["Session"] if with_session else []) + ["Time", "Severity", "Description", "Action"]
    rows = [([DASH if e.session_number is None else str(e.session_number)] if with_session else [])
            + [date_time(e.time_utc), e.severity or DASH, e.description, e.action or DASH] for e in events]
    return header, rows


def footer_text(h: ReportHeader) -> str:
    return f"tmsnav {h.version}, generated {date_time(h.generated_utc)}"


def course_summary_rows(d: CourseReportData) -> list[Row]:
    done = sum(1 for s in d.sessions if s.pulses > 0)
    pulses = sum(s.pulses for s in d.sessions)
    on = sum(s.on_target for s in d.sessions)
    tolerance = course_tolerance(d.sessions)
    above = [s.number for s in d.sessions if above_tolerance(s.median_error_mm, tolerance.for_session(s.number))]
    return [("Course started", date_time(d.created_utc)),
            ("Sessions recorded", f"{len(d.sessions)} ({done} with pulses) of {d.protocol.sessions_planned} planned"),
            ("Pulses delivered", str(pulses)),
            ("On target over the course", pct(100.0 * on / pulses if pulses else None)),
            ("Position tolerance", tolerance.summary()),
            ("Median error above the tolerance",
             ("sessions " if len(above) > 1 else "session ") + ", ".join(map(str, above))
             + f" (marked {ABOVE_MARK} in the sessions table)" if above else "no session")]


def amendment_table(rows: Sequence[AmendmentRow]) -> tuple[list[str], list[list[str]]]:
    """Header and rows for both layouts (HTML and PDF)."""
    header = ["When", "By", "Original entry", "Now", "Reason"]
    body = [[date_time(r.when_utc), r.by or DASH, r.original,
             r.corrected if r.kind == "corrected" else "entered in error (no replacement)", r.reason or DASH]
            for r in rows]
    return header, body
