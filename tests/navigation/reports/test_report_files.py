"""Session and course reports written from a clinic database the test builds (conftest.py: a
3-session course with real session folders, pulses logged against the target, PHQ-9 item 9 > 0).

The PDF is rendered to pixels with pypdfium2 (an independent PDF engine) and its text extracted,
so "the report renders" means a page shows ink in several grey levels and says what it should.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from report_course_builder import (BIRTH_DATE, EVIL_NOTE, FULL_NAME, MRN, PSEUDONYM, SESSION_SHIFT_MM, BuiltCourse,
                                   build_course)

from tmsnav.navigation.reports import ReportFiles, write_course_report, write_session_report

SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "images" / "planning-targets.png"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.img_src: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "img":
            self.img_src.append(a.get("src") or "")
        if a.get("class"):
            self.classes.append(a["class"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(path: Path) -> _Collect:
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


def pdf_pages(path: Path) -> tuple[list[str], list[np.ndarray], list[int]]:
    """Text, grey pixels (150 dpi) and image-object count of every page."""
    doc = pdfium.PdfDocument(str(path))
    try:
        texts, pixels, images = [], [], []
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            texts.append(tp.get_text_range())
            tp.close()
            pixels.append(np.asarray(page.render(scale=150 / 72, grayscale=True).to_pil().convert("L")))
            images.append(sum(1 for o in page.get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE))
            page.close()
        return texts, pixels, images
    finally:
        doc.close()


def assert_not_blank(grey: np.ndarray) -> None:
    ink = float((grey < 200).mean())
    levels = len(np.unique(grey // 16))
    assert 0.01 < ink < 0.6, f"ink fraction {ink:.3f}: blank or black page"
    assert levels >= 6, f"only {levels} grey levels"


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_session_report_html_and_pdf(course: BuiltCourse, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    uid = course.session_uids[1]
    files = write_session_report(course.records, uid, out, screenshots=[SCREENSHOT])
    assert files == ReportFiles(out / f"session-{uid[:8]}-report.html", out / f"session-{uid[:8]}-report.pdf")
    assert sorted(p.name for p in out.iterdir()) == sorted([files.html.name, files.pdf.name])   # no temp left

    html = parse_html(files.html)
    text = squash(" ".join(html.text))
    assert "script" not in html.tags and "b" not in html.tags
    assert EVIL_NOTE in text                                   # shown as typed, not as markup
    assert "&lt;script&gt;" in files.html.read_text(encoding="utf-8")
    for expected in (PSEUDONYM, "Session report", "fiducials+icp (accepted)", "1.80 mm",
                     "0.90 mm over 150 scalp points",
                     "L-DLPFC: 2.4 mm", "2 agreeing", "0.8 mm, 1.1 mm", "52 % MSO (relative frequency (IFCN))",
                     "62 % MSO", "Fox MD et al. 2012", "fMRI (sgACC functional connectivity)", "-38.2, 44.1, 52.5",
                     "-38.0, 44.0, 26.0", "mild headache", "paracetamol", "verified by touch", "pivot RMS 0.31 mm",
                     "tolerance 2.5 mm", "294 of 300"):
        assert expected in text, expected
    # three images: the error figure and the screenshot, both inline (one self-contained file)
    assert len(html.img_src) == 2 and all(s.startswith("data:image/png;base64,") for s in html.img_src)
    assert FULL_NAME not in text and MRN not in text

    texts, pixels, images = pdf_pages(files.pdf)
    assert len(texts) >= 2
    assert_not_blank(pixels[0])
    figure_pages = [i for i, n in enumerate(images) if n]
    assert figure_pages, "no figure in the PDF"
    assert_not_blank(pixels[figure_pages[0]])
    everything = squash(" ".join(texts))
    assert f"page 1 of {len(texts)}" in squash(texts[0]) and "tmsnav" in texts[0] and "generated" in texts[0]
    for expected in ("Session report", PSEUDONYM, "1.80 mm", "52 % MSO", '<script>alert("x")</script>',
                     "mild headache"):
        assert expected in everything, expected
    assert FULL_NAME not in everything and MRN not in everything


def test_session_figure_shows_the_pulses_in_colour(course: BuiltCourse, tmp_path: Path) -> None:
    """The error figure really has the per-pulse points: session 3 sits 4 mm off a 2.5 mm tolerance,
    so the page with the figure carries many vermillion (off target) pixels, session 1 blue ones."""
    def colour_counts(uid: str) -> tuple[int, int]:
        files = write_session_report(course.records, uid, tmp_path, formats=("pdf",))
        assert files.html is None
        doc = pdfium.PdfDocument(str(files.pdf))
        try:
            rgb = np.concatenate([np.asarray(doc[i].render(scale=2).to_pil().convert("RGB"), int).reshape(-1, 3)
                                  for i in range(len(doc))])
        finally:
            doc.close()
        blue = np.all(np.abs(rgb - (0x00, 0x72, 0xB2)) < 40, axis=1).sum()
        vermillion = np.all(np.abs(rgb - (0xD5, 0x5E, 0x00)) < 40, axis=1).sum()
        return int(blue), int(vermillion)

    blue1, red1 = colour_counts(course.session_uids[0])
    blue3, red3 = colour_counts(course.session_uids[2])
    # the heading rules are blue on both; the difference is the scatter points
    assert blue1 - blue3 > 1000 and red3 - red1 > 1000


def test_course_report(course: BuiltCourse, tmp_path: Path) -> None:
    files = write_course_report(course.records, course.course_uid, tmp_path)
    assert files.html == tmp_path / f"course-{course.course_uid[:8]}-report.html"
    html = parse_html(files.html)
    text = squash(" ".join(html.text))
    assert "alert" in html.classes, "the safety alert is not in its own box"
    body = files.html.read_text(encoding="utf-8")
    assert body.index('class="alert"') < body.index("Patient and protocol"), "the alert must come first"
    assert "PHQ-9 item 9" in text and "2026-12-03" in text
    assert "Suicide item not known for MADRS" in text            # totals-only entry: item 9 unknown
    # sessions table: 3 rows, each with its date and its numbers from the database
    for k, uid in enumerate(course.session_uids, start=1):
        info = course.records.session(uid)
        assert f"2026-12-0{k}" in text
        assert f"{info.median_error_mm:.1f} mm" in text
    # the coil spread: distance of each session's median pulse position from the target (known truth)
    rows = re.findall(r"<tr>\s*<td class=\"n\">(\d+)</td>\s*<td class=\"n\">(\d+)</td>\s*<td>([^<]*)</td>\s*"
                      r"<td class=\"n\">([\d.]+) mm</td>", body)
    assert [int(r[0]) for r in rows] == [1, 2, 3]
    for number, n, _median, dist in rows:
        assert int(n) == 294
        assert float(dist) == pytest.approx(SESSION_SHIFT_MM[int(number)], abs=0.15)
    assert "PHQ-9" in text and "-53 %" in text                  # 19 -> 9 and 30 -> 14
    assert "PHQ-9 2 19 9 -53 % yes no (≤ 4)" in text              # response, no remission (PHQ-9 < 5)
    assert "MADRS 2 30 14 -53 % yes no (≤ 10)" in text            # MADRS remission at 10 or less
    assert len(html.img_src) == 2                                # trends + outcome curves
    assert FULL_NAME not in text and MRN not in text

    texts, pixels, images = pdf_pages(files.pdf)
    assert_not_blank(pixels[0])
    assert sum(images) >= 2
    first = squash(texts[0])
    assert "SAFETY ALERT" in first and "PHQ-9 item 9" in first   # on page 1, before anything else
    assert first.index("SAFETY ALERT") < first.index("Patient and protocol")
    everything = squash(" ".join(texts))
    assert "Coil position across sessions" in everything and "mild headache" in everything
    assert FULL_NAME not in everything and MRN not in everything


@pytest.mark.safety(hazard="privacy", control="session and course reports (HTML and PDF) name the patient by "
                    "pseudonym only unless identity is asked for; report file names carry the id, never the "
                    "pseudonym or the name")
def test_identity_only_when_asked(course: BuiltCourse, tmp_path: Path) -> None:
    (tmp_path / "off").mkdir()
    for files in (write_course_report(course.records, course.course_uid, tmp_path / "off"),
                  write_session_report(course.records, course.session_uids[0], tmp_path / "off")):
        for path in (files.html, files.pdf):
            assert PSEUDONYM not in path.name and FULL_NAME not in path.name
        text = squash(" ".join(parse_html(files.html).text) + " ".join(pdf_pages(files.pdf)[0]))
        assert FULL_NAME not in text and MRN not in text and BIRTH_DATE not in text and PSEUDONYM in text
    files = write_course_report(course.records, course.course_uid, tmp_path, include_identity=True)
    text = squash(" ".join(parse_html(files.html).text))
    assert FULL_NAME in text and MRN in text and "1971-03-14" in text
    texts, _, _ = pdf_pages(files.pdf)
    assert FULL_NAME in squash(" ".join(texts))
    assert FULL_NAME not in files.html.name and PSEUDONYM not in files.html.name


def test_session_without_its_folder_says_so(records, tmp_path: Path) -> None:
    """A session run on another navigator: the database alone makes the report, and it says what is missing."""
    built = build_course(records, tmp_path / "s", n_sessions=1, n_pulses=60, with_folders=False)
    files = write_session_report(records, built.session_uids[0], tmp_path)
    text = squash(" ".join(parse_html(files.html).text))
    assert "no session folder recorded" in text
    assert "none recorded (registration not verified)" in text   # no touches known: not claimed
    assert "59 of 60" in text                                     # pulses with a pose, from the database
    assert "tolerance was not recorded" in text                  # no summary known: said, not assumed silently


def test_progress_reaches_one_and_cancel_leaves_nothing(course: BuiltCourse, tmp_path: Path) -> None:
    from tmsnav.navigation.errors import Cancelled

    seen: list[float] = []
    write_course_report(course.records, course.course_uid, tmp_path, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)

    out = tmp_path / "cancelled"
    out.mkdir()
    for stop_after in range(1, 7):
        calls = []

        def cancel() -> bool:
            calls.append(1)
            return len(calls) > stop_after

        try:
            write_session_report(course.records, course.session_uids[0], out, cancel=cancel)
        except Cancelled:
            assert list(out.iterdir()) == [], f"cancel after {stop_after} steps left files"
        else:
            assert stop_after >= 5     # every step passed: the report is written
            break
    else:
        pytest.fail("the report never completed")


def test_a_new_course_and_a_session_without_pulses(records, tmp_path: Path) -> None:
    """Day one: no session has pulses yet, no outcome is entered. Both reports are still written and
    say so instead of drawing empty axes or printing zeros."""
    from tmsnav.navigation.records.infos import CourseProtocol

    records.add_patient("P-0100")
    course = records.add_course("P-0100", CourseProtocol("R-DLPFC", 110.0, "1 Hz", 1.0, 1200, 20),
                                indication="major depressive disorder")
    session = records.upsert_session("ab" * 16, course.uid, operator="J. Tech", status="open")
    s_files = write_session_report(records, session.uid, tmp_path)
    s_text = squash(" ".join(parse_html(s_files.html).text))
    assert "No pulse has a position error" in s_text and "Pulses delivered 0" in s_text
    assert "none recorded for this session" in s_text              # no registration yet
    c_files = write_course_report(records, course.uid, tmp_path)
    c_html = parse_html(c_files.html)
    c_text = squash(" ".join(c_html.text))
    assert "No outcome assessments recorded" in c_text
    assert "no planned targets yet" in c_text                       # no plan: no distance claimed
    assert "alert" not in c_html.classes
    texts, pixels, _ = pdf_pages(c_files.pdf)
    assert_not_blank(pixels[0])
    assert "SAFETY ALERT" not in " ".join(texts)


def test_the_alert_comes_before_any_other_notice(course: BuiltCourse, tmp_path: Path) -> None:
    """The course has an amber notice too (MADRS item unknown): the red alert still comes first."""
    files = write_course_report(course.records, course.course_uid, tmp_path)
    body = files.html.read_text(encoding="utf-8")
    assert body.index('class="alert"') < body.index('class="caveat"')
    first = squash(pdf_pages(files.pdf)[0][0])
    assert first.index("SAFETY ALERT") < first.index("Suicide item not known for MADRS")


def test_session_report_shows_the_targets_that_sitting_used(records, tmp_path: Path) -> None:
    """A target moved during the sitting is in the session's own file: the session report shows
    where it was that day, the course report the plan."""
    from tmsnav.navigation.session.store import Session
    from tmsnav.navigation.targeting.targets import TargetSet
    from report_course_builder import dlpfc

    built = build_course(records, tmp_path / "s", n_sessions=1, n_pulses=30)
    moved = dlpfc().with_changes(name="L-DLPFC moved", scalp_point_mm=np.array([-41.0, 47.5, 50.0]))
    session = Session.open(built.folders[0])
    session.set_targets(TargetSet([moved], active="L-DLPFC moved").to_dict(), reason="moved 4 mm")
    session.save()
    out = tmp_path / "out"
    out.mkdir()
    s_text = squash(" ".join(parse_html(write_session_report(records, built.session_uids[0], out).html).text))
    c_text = squash(" ".join(parse_html(write_course_report(records, built.course_uid, out).html).text))
    assert "L-DLPFC moved (active)" in s_text and "-41.0, 47.5, 50.0" in s_text
    assert "L-DLPFC moved" not in c_text and "-38.2, 44.1, 52.5" in c_text

    (built.folders[0] / "session.json").write_text("{ damaged", encoding="utf-8")
    s_text = squash(" ".join(parse_html(write_session_report(records, built.session_uids[0], out).html).text))
    assert "session file could not be read" in s_text and "-38.2, 44.1, 52.5" in s_text
