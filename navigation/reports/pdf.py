"""The PDF reports: A4, laid out with reportlab platypus for reading on paper.

10 pt text (tables 8.5-9 pt), section headings, label/value tables, wrapped data tables whose
header row repeats on each page, the figures at the full text width, a header on every page
(report kind, pseudonym, course id) and a footer "tmsnav <version>, generated <date>" with
"page N of M".

The font is DejaVu Sans, embedded (the copy matplotlib ships, so nothing depends on system
fonts): the 14 standard PDF fonts only know Latin-1, and names, notes and units (µ, °, ≥) need
more. Every piece of text goes through :func:`_p`, which escapes it: reportlab paragraphs parse a
markup of their own, and a note like ``<b>`` or ``<script>`` must print as typed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm as MM
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (CondPageBreak, Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer,
                                Table, TableStyle)

from . import content as c
from .amendments import AMENDMENTS_NOTE
from .content import amendment_table
from .html import Screenshot
from .model import CourseReportData, ReportHeader, SessionReportData

__all__ = ["session_pdf", "course_pdf", "FONT", "FONT_BOLD"]

FONT, FONT_BOLD = "TmsnavSans", "TmsnavSans-Bold"
MARGIN = 18 * MM
TEXT_WIDTH = A4[0] - 2 * MARGIN
HEADING_ROOM = 40 * MM          # a heading starts a new page when less than this is left below it
BLUE, GREY, LIGHT = colors.HexColor("#0072B2"), colors.HexColor("#555555"), colors.HexColor("#e8eef4")
ALERT_RED, ALERT_BG = colors.HexColor("#b00020"), colors.HexColor("#fde8ea")


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import matplotlib
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13, alignment=TA_LEFT)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=17, leading=21),
        "sub": ParagraphStyle("sub", parent=body, textColor=GREY, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=body, fontName=FONT_BOLD, fontSize=12.5, leading=16, spaceBefore=10,
                             spaceAfter=4, textColor=colors.black),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=11),
        "cellb": ParagraphStyle("cellb", parent=body, fontName=FONT_BOLD, fontSize=9, leading=11),
        "why": ParagraphStyle("why", parent=body, fontSize=8.5, leading=10.5, textColor=colors.HexColor("#333333"),
                              leftIndent=10),
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=10.5, textColor=GREY),
        "alert": ParagraphStyle("alert", parent=body, fontName=FONT_BOLD, fontSize=11, leading=14,
                                textColor=colors.HexColor("#5c0010")),
        "caveat": ParagraphStyle("caveat", parent=body, fontSize=9.5, leading=12, backColor=colors.HexColor("#fff6e0"),
                                 borderPadding=3, spaceBefore=3, spaceAfter=5),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of *plain text* (escaped; line breaks kept)."""
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


class _Doc:
    """Collects flowables with the house styles."""

    def __init__(self) -> None:
        _register_fonts()
        self.s = _styles()
        self.story: list[Flowable] = []
        self._heading: Flowable | None = None

    def add(self, *flowables: Flowable, whole: bool = False) -> None:
        """Append. A pending heading goes first: on one page with a ``whole`` item (a figure, which
        never splits); before a table or text, which may split, :meth:`h2` already made sure some
        room is left below it (a long table must not push its heading a page on)."""
        items = list(flowables)
        if self._heading is not None and items:
            items[0] = KeepTogether([self._heading, items[0]]) if whole else items[0]
            if not whole:
                items.insert(0, self._heading)
            self._heading = None
        self.story += items

    def h2(self, text: str) -> None:
        if self._heading is not None:
            self.story.append(self._heading)
        self.story.append(CondPageBreak(HEADING_ROOM))
        self._heading = _Rule(text, self.s["h2"])

    def para(self, text: str, style: str = "body") -> None:
        self.add(_p(text, self.s[style]))

    def kv(self, rows: Sequence[tuple[str, str]]) -> None:
        data = [[_p(k, self.s["cell"]), _p(v, self.s["cell"])] for k, v in rows]
        t = Table(data, colWidths=[62 * MM, TEXT_WIDTH - 62 * MM], hAlign="LEFT")
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TEXTCOLOR", (0, 0), (0, -1), GREY),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#cccccc")),
                               ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
        self.add(t, Spacer(1, 4))

    def table(self, t: c.Table, widths: Sequence[float] | None = None) -> None:
        header, rows = t
        if not rows:
            self.para("None recorded.", "small")
            return
        data = [[_p(h, self.s["cellb"]) for h in header]] + [[_p(x, self.s["cell"]) for x in r] for r in rows]
        col = [w * TEXT_WIDTH for w in widths] if widths else None
        table = Table(data, colWidths=col, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), LIGHT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")),
                                   ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
        self.add(table, Spacer(1, 5))

    def targets(self, t: c.Table) -> None:
        """Target rows of four columns, each followed by its reason and citation across the width."""
        header, rows = t
        if not rows:
            self.para("None recorded.", "small")
            return
        data: list[list[Any]] = [[_p(h, self.s["cellb"]) for h in header[:4]]]
        style = [("BACKGROUND", (0, 0), (-1, 0), LIGHT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("LINEBELOW", (0, 0), (-1, 0), 0.3, colors.HexColor("#bbbbbb")),
                 ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
        for r in rows:
            data.append([_p(x, self.s["cell"]) for x in r[:4]])
            data.append([_p(r[4], self.s["why"]), "", "", ""])
            n = len(data) - 1
            style += [("SPAN", (0, n), (-1, n)), ("LINEBELOW", (0, n), (-1, n), 0.3, colors.HexColor("#bbbbbb")),
                      ("NOSPLIT", (0, n - 1), (-1, n))]
        table = Table(data, colWidths=[w * TEXT_WIDTH for w in (0.25, 0.27, 0.24, 0.24)], repeatRows=1,
                      hAlign="LEFT")
        table.setStyle(TableStyle(style))
        self.add(table, Spacer(1, 5))

    def figure(self, png: bytes | None, caption: str, max_height: float = 200 * MM) -> None:
        if not png:
            return
        w_px, h_px = ImageReader(io.BytesIO(png)).getSize()
        width = TEXT_WIDTH
        height = width * h_px / w_px
        if height > max_height:
            width, height = width * max_height / height, max_height
        self.add(KeepTogether([Image(io.BytesIO(png), width=width, height=height),
                               _p(caption, self.s["small"]), Spacer(1, 6)]), whole=True)

    def alerts(self, alerts: Sequence[str]) -> None:
        if not alerts:
            return
        cells = [[_p("SAFETY ALERT: review before the next session", self.s["alert"])]]
        cells += [[_p("• " + a, self.s["alert"])] for a in alerts]
        t = Table(cells, colWidths=[TEXT_WIDTH])
        t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 2.5, ALERT_RED), ("BACKGROUND", (0, 0), (-1, -1), ALERT_BG),
                               ("LEFTPADDING", (0, 0), (-1, -1), 8), ("TOPPADDING", (0, 0), (-1, -1), 3)]))
        self.add(t, Spacer(1, 6))

    def title(self, h: ReportHeader, subtitle: str, caveats: Sequence[str], alerts: Sequence[str] = ()) -> None:
        """Title, then the safety alerts (first thing on the page), then what to know about the data."""
        self.add(_p(h.kind, self.s["title"]), _p(subtitle, self.s["sub"]))
        self.alerts(alerts)
        for text in caveats:
            self.para(text, "caveat")


class _Rule(Flowable):
    """A section heading with a blue rule under it (kept with what follows by :class:`_Doc`)."""

    def __init__(self, text: str, style: ParagraphStyle) -> None:
        super().__init__()
        self.para = _p(text, style)
        self.style = style

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        _, h = self.para.wrap(avail_w, avail_h)
        self.width, self.height = avail_w, h + self.style.spaceBefore + 4
        return self.width, self.height

    def draw(self) -> None:
        self.para.drawOn(self.canv, 0, 4)
        self.canv.setStrokeColor(BLUE)
        self.canv.setLineWidth(1.2)
        self.canv.line(0, 1.5, self.width, 1.5)


def _numbered_canvas(h: ReportHeader) -> type[rl_canvas.Canvas]:
    """A canvas that draws the running header and footer with "page N of M" once all pages are known."""
    head = f"{h.kind} · patient {h.pseudonym} · course {h.course_id}"
    foot = c.footer_text(h)

    class NumberedCanvas(rl_canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._furniture(total)
                super().showPage()
            super().save()

        def _furniture(self, total: int) -> None:
            w, top = A4[0], A4[1]
            self.setFont(FONT, 8.5)
            self.setFillColor(GREY)
            self.drawString(MARGIN, top - 11 * MM, head)
            self.drawRightString(w - MARGIN, 10 * MM, f"page {self._pageNumber} of {total}")
            self.drawString(MARGIN, 10 * MM, foot)
            self.setStrokeColor(colors.HexColor("#bbbbbb"))
            self.setLineWidth(0.4)
            self.line(MARGIN, top - 12.5 * MM, w - MARGIN, top - 12.5 * MM)
            self.line(MARGIN, 13.5 * MM, w - MARGIN, 13.5 * MM)

    return NumberedCanvas


def _build(doc: _Doc, h: ReportHeader) -> bytes:
    doc.add()
    if doc._heading is not None:
        doc.story.append(doc._heading)
    buf = io.BytesIO()
    template = SimpleDocTemplate(buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=17 * MM,
                                 bottomMargin=18 * MM, title=f"{h.kind} {h.course_id}",
                                 author=f"tmsnav {h.version}", creator=f"tmsnav {h.version}")
    template.build(doc.story, canvasmaker=_numbered_canvas(h))
    return buf.getvalue()


def session_pdf(d: SessionReportData, error_png: bytes | None, screenshots: Sequence[Screenshot] = ()) -> bytes:
    from .html import ERROR_CAPTION
    doc = _Doc()
    doc.title(d.header, f"Patient {d.header.pseudonym} · course {d.header.course_id} · session "
                        f"{d.session_number}, {c.date_time(d.started_utc, with_time=False)}", d.caveats)
    doc.h2("Patient and protocol")
    doc.kv(c.identity_rows(d.header) + c.protocol_rows(d.protocol))
    doc.h2("Session")
    doc.kv(c.session_rows(d))
    doc.h2("Registration quality")
    doc.kv(c.registration_rows(d.registration))
    doc.h2("Calibrations")
    doc.table(c.calibration_table(d.calibrations), [0.15, 0.25, 0.60])
    doc.h2("Targets and their evidence")
    doc.targets(c.target_table(d.targets))
    doc.h2("Pulses: position error")
    doc.kv(c.statistics_rows(d))
    if error_png:
        doc.figure(error_png, ERROR_CAPTION.format(tol=d.tolerance_mm))
    else:
        doc.para("No pulse has a position error (no tracked pose with an active target): nothing to plot.", "small")
    doc.h2("Adverse events")
    doc.table(c.adverse_table(d.adverse_events, with_session=False), [0.2, 0.13, 0.45, 0.22])
    doc.h2("Notes")
    for note in d.notes or ("None.",):
        doc.para(note)
    _screenshots(doc, screenshots)
    return _build(doc, d.header)


def _screenshots(doc: _Doc, screenshots: Sequence[Screenshot]) -> None:
    if screenshots:
        doc.h2("Plan screenshots")
        for s in screenshots:
            if s.data is not None:
                doc.figure(s.data, s.caption, max_height=110 * MM)
            else:
                doc.para(s.caption, "caveat")


def course_pdf(d: CourseReportData, trend_png: bytes | None, screenshots: Sequence[Screenshot] = ()) -> bytes:
    from .html import TREND_CAPTION
    doc = _Doc()
    doc.title(d.header, f"Patient {d.header.pseudonym} · course {d.header.course_id}", d.caveats, d.safety_alerts)
    doc.h2("Patient and protocol")
    doc.kv(c.identity_rows(d.header) + c.protocol_rows(d.protocol) + c.course_summary_rows(d))
    if d.course_notes:
        doc.para(d.course_notes)
    doc.h2("Targets and their evidence")
    doc.targets(c.target_table(d.targets))
    doc.h2("Sessions")
    doc.table(c.sessions_table(d.sessions), [0.05, 0.14, 0.14, 0.09, 0.12, 0.10, 0.11, 0.12, 0.13])
    doc.figure(trend_png, TREND_CAPTION)
    doc.h2("Coil position across sessions")
    doc.table(c.spread_table(d.spread), [0.14, 0.22, 0.40, 0.24])
    doc.h2("Outcomes")
    doc.figure(d.outcome_png, "Outcome scales over the course.", max_height=100 * MM)
    if d.outcome_note:
        doc.para(d.outcome_note, "small")
    doc.table(c.trajectory_table(d.trajectories), [0.16, 0.14, 0.12, 0.12, 0.12, 0.17, 0.17])
    if d.amendments:
        doc.h2("Amendments")
        doc.para(AMENDMENTS_NOTE, "small")
        doc.table(amendment_table(d.amendments), [0.15, 0.11, 0.29, 0.29, 0.16])
    doc.h2("Adverse events")
    doc.table(c.adverse_table(d.adverse_events, with_session=True), [0.11, 0.19, 0.12, 0.38, 0.20])
    _screenshots(doc, screenshots)
    return _build(doc, d.header)
