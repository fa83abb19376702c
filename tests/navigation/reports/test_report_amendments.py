"""The course report's Amendments: a corrected PHQ-9 item 9 (2 -> 0) clears the red alert, and the
report still shows the original 2, the new 0, who corrected it, when and why, in the HTML and on
paper; an entry marked entered in error is listed too; a course without corrections has no such
section; the corrected entry is counted once."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_report_files import assert_not_blank, parse_html, pdf_pages, squash

from tmsnav.navigation.records.infos import CourseProtocol, OutcomeInfo
from tmsnav.navigation.reports import write_course_report
from tmsnav.navigation.reports.amendments import amendment_rows, outcome_values_text

ITEM9 = "item 9 (thoughts of death or self-harm)"


def _course(records) -> str:
    records.add_patient("P-0200")
    return records.add_course("P-0200", CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30)).uid


@pytest.mark.safety(hazard="suicide-risk",
                    control="a correction of item 9 from 2 to 0 is listed in the course report with the "
                    "original value, who, when and why")
def test_a_corrected_suicide_item_is_in_the_amendments_and_the_alert_is_gone(records, tmp_path: Path) -> None:
    uid = _course(records)
    records.add_outcome(uid, "PHQ-9", "2026-11-20", items=[3, 3, 2, 2, 2, 2, 2, 2, 0], timepoint="baseline")
    wrong = records.add_outcome(uid, "PHQ-9", "2026-12-01", items=[1, 1, 1, 1, 1, 1, 1, 1, 2],
                                timepoint="week 2", rater="rk")
    before = squash(" ".join(parse_html(write_course_report(records, uid, tmp_path, formats=("html",)).html).text))
    assert "SAFETY ALERT" in before and "Amendments" not in before
    records.correct_outcome(wrong.uid, by="Dr Amsel", reason="item 9 read from the wrong line <b>form</b>",
                            items=[1] * 8 + [0])
    stray = records.add_outcome(uid, "MADRS", "2026-12-01", total=30)
    records.retract_outcome(stray.uid, by="J. Tech", reason="typed on the wrong patient's course")

    (tmp_path / "after").mkdir()
    files = write_course_report(records, uid, tmp_path / "after")
    html = parse_html(files.html)
    text = squash(" ".join(html.text))
    assert "alert" not in html.classes and "SAFETY ALERT" not in text      # the current entry says 0
    assert "Amendments" in text
    body = files.html.read_text(encoding="utf-8")
    section = squash(body[body.index("<h2>Amendments</h2>"):body.index("<h2>Adverse events</h2>")])
    assert f"PHQ-9 of 2026-12-01 (week 2), total 10; items 1 1 1 1 1 1 1 1 2; {ITEM9} = 2; rater rk" in section
    assert f"PHQ-9 of 2026-12-01 (week 2), total 8; items 1 1 1 1 1 1 1 1 0; {ITEM9} = 0; rater rk" in section
    assert "Dr Amsel" in section and "&lt;b&gt;form&lt;/b&gt;" in section      # a reason is text, never markup
    assert "MADRS of 2026-12-01, total 30" in section and "entered in error (no replacement)" in section
    assert "typed on the wrong patient&#39;s course" in section and "J. Tech" in section
    # counted once: PHQ-9 baseline 18 -> latest 8 over two assessments; the MADRS is gone
    assert "PHQ-9 2 18 8 -56 % yes no (≤ 4)" in text and "MADRS 1" not in text

    texts, pixels, _ = pdf_pages(files.pdf)
    for grey in pixels:
        assert_not_blank(grey)
    everything = squash(" ".join(texts))
    assert "SAFETY ALERT" not in everything and "Amendments" in everything
    assert f"{ITEM9} = 2" in everything and "Dr Amsel" in everything
    assert "item 9 read from the wrong line <b>form</b>" in everything


def test_no_amendments_section_without_corrections(records, tmp_path: Path) -> None:
    uid = _course(records)
    records.add_outcome(uid, "PHQ-9", "2026-11-20", total=18, items=[None] * 8 + [1])
    files = write_course_report(records, uid, tmp_path)
    assert "Amendments" not in files.html.read_text(encoding="utf-8")
    assert "Amendments" not in " ".join(pdf_pages(files.pdf)[0])


def _info(**kw) -> OutcomeInfo:
    base = dict(uid="a", course_uid="c", session_uid=None, scale="MADRS", assessed_on="2026-12-01", timepoint="",
                items=None, total=30, rater="", entered_utc="2026-12-01T10:00:00.000+00:00")
    return OutcomeInfo(**{**base, **kw})


def test_values_text_says_when_the_suicide_item_is_not_known() -> None:
    assert outcome_values_text(_info()) == "MADRS of 2026-12-01, total 30; item 10 (suicidal thoughts) = not known"
    partial = _info(scale="PHQ-9", total=12, items=(None,) * 8 + (1,))
    assert outcome_values_text(partial) == f"PHQ-9 of 2026-12-01, total 12; {ITEM9} = 1"


def test_a_correction_whose_new_entry_is_missing_says_so() -> None:
    """A report made from a partial list (e.g. the new entry deleted by a maintenance tool) must not
    look like an entry entered in error."""
    gone = _info(retracted_utc="2026-12-02T08:00:00.000+00:00", retracted_by="rk", retraction_reason="typo",
                 superseded_by_uid="0123456789abcdef")
    (row,) = amendment_rows([gone])
    assert row.kind == "corrected" and row.corrected == "corrected entry 01234567 not found in this course"
