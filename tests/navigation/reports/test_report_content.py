"""The report rows on hand-made records: a refused registration, a failed coil check, radians shown
as degrees, missing values as a dash (never 0), damaged target entries skipped, and a PDF that
prints markup-looking text as typed."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pypdfium2 as pdfium

from tmsnav.navigation.reports import content
from tmsnav.navigation.reports.data import calibration_rows, registration_summary, spread_rows, target_rows
from tmsnav.navigation.reports.model import ReportHeader, TargetRow
from tmsnav.navigation.session.event_log import Event
from tmsnav.navigation.treatment.statistics import pulse_statistics


def _event(kind: str, **data) -> Event:
    return Event(seq=1, kind=kind, time_utc="2026-12-05T09:10:00+00:00", monotonic_ns=0, data=data)


def test_a_refused_registration_is_shown_as_refused_with_its_problems() -> None:
    reg = {"method": "fiducials", "timestamp": "2026-12-05T09:02:00+00:00", "accepted": False,
           "fre_rms_mm": 4.2, "icp_rms_mm": None, "problems": ["LPA and RPA may be swapped"],
           "predicted_tre_fiducials_mm": {"L-DLPFC": 5.1}}
    rows = dict(content.registration_rows(registration_summary(reg)))
    assert rows["Method"] == "fiducials (NOT accepted)"
    assert rows["Fiducial registration error (RMS)"] == "4.20 mm"
    assert rows["Surface match (ICP) RMS"] == content.DASH                 # not "0.00 mm"
    assert rows["Predicted target error (95 % bound)"] == "L-DLPFC: 5.1 mm"  # fallback to the FWM prediction
    assert rows["Verification touches"].startswith("none recorded")
    assert ("Problem", "LPA and RPA may be swapped") in content.registration_rows(registration_summary(reg))
    assert content.registration_rows(None) == [("Registration", "none recorded for this session")]


def test_only_the_latest_verification_counts() -> None:
    touches = [_event("registration_verified", touches=[{"scalp_distance_mm": 3.0}]),
               _event("registration_verified", touches=[{"scalp_distance_mm": 0.6}, {"scalp_distance_mm": 0.9}])]
    summary = registration_summary({"method": "fiducials+icp", "accepted": True}, touches)
    assert summary is not None and summary.verification_mm == (0.6, 0.9)


def test_failed_coil_verification_is_stated() -> None:
    cal = {"coil": {"model_id": "magventure-cool-b65", "method": "touched landmarks",
                    "calibration": {"residual_rms_mm": 0.9}},
           "pointer": {"rms_mm": 0.4, "n_samples": 300}}
    rows = calibration_rows(cal, [_event("coil_verification", passed=False, mismatch_mm={"centre": 6.5, "wing": 2.0})])
    coil = next(r for r in rows if r.tool == "coil")
    assert "verification FAILED" in coil.detail and "6.50 mm" in coil.detail
    assert next(r for r in rows if r.tool == "pointer").detail == "pivot RMS 0.40 mm, 300 samples"


def test_tilt_in_degrees_and_missing_as_dash() -> None:
    pulses = [SimpleNamespace(target_name="T", position_error_mm=e, angle_error_rad=math.radians(5.0),
                              within_tolerance=e < 3, pose_known=True) for e in (1.0, 2.0, 4.0)]
    pulses.append(SimpleNamespace(target_name=None, position_error_mm=None, angle_error_rad=None,
                                  within_tolerance=None, pose_known=False))
    data = SimpleNamespace(statistics=pulse_statistics(pulses), tolerance_mm=3.0)
    rows = dict(content.statistics_rows(data))  # type: ignore[arg-type]
    assert rows["Median tilt"] == "5.0°"
    assert rows["On target (tolerance 3.0 mm)"] == "50 % (2 of 4)"            # unknown pose is not on target
    assert rows["With a tracked coil pose"] == "3 of 4"
    empty = SimpleNamespace(statistics=pulse_statistics([]), tolerance_mm=3.0)
    rows = dict(content.statistics_rows(empty))  # type: ignore[arg-type]
    assert rows["Median position error"] == content.DASH and rows["Pulses delivered"] == "0"


def test_target_rows_read_plain_json_and_skip_damaged_entries() -> None:
    targets = {"schema": 1, "active": "F3",
               "targets": [{"name": "F3", "scalp_point_mm": [-35.5, 40.0, 48.0], "source": "beam-f3",
                            "evidence": {"citation": "Beam W et al. 2009", "why": "F3 from head size"}},
                           {"name": "broken", "scalp_point_mm": None, "source": "manual"},
                           "not a target",
                           {"name": "X", "scalp_point_mm": [1, 2, 3], "source": "someone-elses-tool"}]}
    rows = target_rows(targets)
    assert [r.name for r in rows] == ["F3", "X"]
    assert rows[0].active and rows[0].source_text == "heuristic (Beam F3)" and rows[0].mni_mm is None
    assert rows[1].source_text == "someone-elses-tool"
    header, table = content.target_table(rows)
    assert table[0][2] == "-35.5, 40.0, 48.0"                                    # the sign of x kept: left
    assert target_rows(None) == ()


def test_spread_uses_the_median_so_one_stray_pulse_does_not_move_it() -> None:
    target = TargetRow("T", True, "manual", (10.0, 0.0, 0.0), None, "", "", None, "")
    near = np.tile([11.0, 0.0, 0.0], (99, 1))
    stray = np.array([[80.0, 0.0, 0.0]])
    rows = spread_rows({2: np.vstack([near, stray]), 1: np.zeros((0, 3))}, target)
    assert [r.number for r in rows] == [1, 2]
    assert rows[0].median_mm is None and rows[0].distance_mm is None            # no position: no claim
    assert rows[1].distance_mm == 1.0 and rows[1].n_positions == 100
    assert spread_rows({1: near}, None)[0].distance_mm is None


def test_pdf_prints_markup_characters_as_typed() -> None:
    from tmsnav.navigation.reports.pdf import _build, _Doc

    header = ReportHeader("Session report", "P-1", "abcd1234", None, "2026-12-05T09:00:00+00:00", "0.1.0")
    doc = _Doc()
    doc.title(header, "sub", ["<b>caveat</b> & <i>"])
    doc.para('Note: <font color="red">x</font> µ ≥ 3 mm, 5°, Zoë Łukasz')
    pdf = pdfium.PdfDocument(_build(doc, header))
    try:
        text = pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
    for expected in ("<b>caveat</b> & <i>", '<font color="red">x</font>', "µ ≥ 3 mm, 5°, Zoë Łukasz", "page 1 of 1"):
        assert expected in text, expected


def test_long_target_reasons_do_not_push_the_course_onto_more_pages() -> None:
    """The sample head's targets carry a paragraph of reason and citation each. In a narrow fifth
    column they made page-high rows: page 1 of the GUI's course report was left mostly blank. The
    reason now runs across the width under its target, so targets and sessions share page 1."""
    from tmsnav.navigation.reports.model import CourseReportData, ProtocolSummary, SessionRow
    from tmsnav.navigation.reports.pdf import course_pdf

    header = ReportHeader("Course report", "P-1", "abcd1234", None, "2026-12-05T09:00:00+00:00", "0.1.0")
    protocol = ProtocolSummary("T0", 120, "10 Hz", 10.0, 3000, 30, 1, "major depressive disorder", "coil", "active")
    why = ("Fox 2012's optimized group target in BA46 (the peak of its efficacy-based seed map), anticorrelated "
           "with the subgenual cingulate; sites closer to it had better antidepressant response. ") * 3
    targets = tuple(TargetRow(f"T{i}", i == 0, "literature-mni", (-38.0 - i, 44.0, 30.0), (-38.0, 44.0, 26.0),
                              "Fox MD et al. Biol Psychiatry 2012;72(7):595-603", why, None, "") for i in range(2))
    sessions = tuple(SessionRow(k, f"2026-12-0{k}T09:00:00+00:00", "", 6, 6, 6, 0.5, 0.8, 1.1, None, None, "closed")
                     for k in (1, 2, 3))
    data = CourseReportData(header, protocol, "2026-12-01T09:00:00+00:00", "", targets, sessions, (), (), (),
                            None, "", ())
    pdf = pdfium.PdfDocument(course_pdf(data, None))
    try:
        first = re.sub(r"\s+", " ", pdf[0].get_textpage().get_text_range())
    finally:
        pdf.close()
    assert "Targets and their evidence" in first and "T0 (active)" in first and "T1" in first
    assert "Sessions" in first and "2026-12-03" in first
