"""The HTML reports: one self-contained, autoescaped file (figures as base64 PNG ``data:`` URIs).

Jinja2 with ``autoescape=True`` for every template: names, notes and target labels come from
people and other tools and must be shown as text (a note reading ``<script>`` stays visible text
and never runs). ``StrictUndefined`` turns a misspelt template field into an error in the tests
instead of an empty cell on paper.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Sequence

import jinja2

from . import content as c
from .amendments import AMENDMENTS_NOTE
from .content import amendment_table
from .model import CourseReportData, SessionReportData
from .templates import TEMPLATES

__all__ = ["session_html", "course_html", "data_uri", "Screenshot"]

_ENV = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)

_IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def data_uri(png: bytes | None, mime: str = "image/png") -> str:
    return "" if not png else f"data:{mime};base64,{base64.b64encode(png).decode('ascii')}"


class Screenshot:
    """A plan screenshot: its bytes and caption, or why it could not be read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.data: bytes | None = None
        self.mime = ""
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self.caption = f"Screenshot {self.path.name} could not be read ({exc.strerror or exc})."
            return
        self.mime = next((m for magic, m in _IMAGE_TYPES.items() if raw.startswith(magic)), "")
        if not self.mime:
            self.caption = f"Screenshot {self.path.name} is not a PNG or JPEG image; not included."
            return
        self.data = raw
        self.caption = f"Plan screenshot: {self.path.name}"

    @property
    def uri(self) -> str:
        return data_uri(self.data, self.mime) if self.data is not None else ""


def _common(d: Any) -> dict[str, Any]:
    return {"header": d.header, "footer": c.footer_text(d.header), "caveats": list(d.caveats),
            "identity": c.identity_rows(d.header), "targets": c.target_table(d.targets),
            "d": d}


def session_html(d: SessionReportData, error_png: bytes | None,
                 screenshots: Sequence[Screenshot] = ()) -> str:
    return _ENV.get_template("session.html").render(
        **_common(d), protocol=c.protocol_rows(d.protocol), session=c.session_rows(d),
        session_date=c.date_time(d.started_utc, with_time=False),
        registration=c.registration_rows(d.registration),
        calibrations=c.calibration_table(d.calibrations), statistics=c.statistics_rows(d),
        error_uri=data_uri(error_png), error_caption=ERROR_CAPTION.format(tol=d.tolerance_mm),
        adverse=c.adverse_table(d.adverse_events, with_session=False), screenshots=list(screenshots))


def course_html(d: CourseReportData, trend_png: bytes | None, screenshots: Sequence[Screenshot] = ()) -> str:
    return _ENV.get_template("course.html").render(
        **_common(d), protocol=c.protocol_rows(d.protocol), summary=c.course_summary_rows(d),
        alerts=list(d.safety_alerts), sessions=c.sessions_table(d.sessions),
        trend_uri=data_uri(trend_png), trend_caption=TREND_CAPTION,
        spread=c.spread_table(d.spread), outcome_uri=data_uri(d.outcome_png),
        trajectories=c.trajectory_table(d.trajectories),
        amendments=amendment_table(d.amendments), amendments_note=AMENDMENTS_NOTE,
        adverse=c.adverse_table(d.adverse_events, with_session=True), screenshots=list(screenshots))


ERROR_CAPTION = ("Position error on the scalp of each pulse (left; crosses: outside the {tol:g} mm tolerance) "
                 "and their distribution (right; dashed: the tolerance).")
TREND_CAPTION = ("Per session: median and 95th-percentile pulse error against the tolerance each session was "
                 "judged against (dotted; \"!\": median above it); distance of the session's median pulse "
                 "position from the target; registration error. A session without pulses is a gap.")
