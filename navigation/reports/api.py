"""Writing a session report or a course report (HTML and/or PDF) into a folder.

Order of work, so that cancel and failure never leave a file: gather the data (database and
session folder), draw the figures once, lay out the HTML and the PDF in memory, then write all
files at once (:func:`.writer.write_files`: temporary files, fsync, rename). ``cancel`` is polled
between the steps; :class:`~tmsnav.navigation.errors.Cancelled` before the write leaves nothing.
``progress(fraction, message)`` is called with 0..1 (the GUI runs this on a worker thread).

File names carry the uid only (``session-<uid8>-report.pdf``, ``course-<uid8>-report.html``):
never a patient identifier, so a folder listing or a mail attachment reveals nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import Cancelled
from . import figures
from .data import course_report_data, session_report_data
from .html import Screenshot, course_html, session_html
from .pdf import course_pdf, session_pdf
from .tolerance import course_tolerance
from .writer import ReportError, write_files

if TYPE_CHECKING:
    from ..records.repository import Records

__all__ = ["ReportFiles", "ReportError", "write_session_report", "write_course_report", "FORMATS",
           "report_file_names"]

FORMATS = ("html", "pdf")
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ReportFiles:
    html: Path | None
    pdf: Path | None


class _Steps:
    def __init__(self, progress: Progress | None, cancel: Callable[[], bool] | None) -> None:
        self.progress, self.cancel = progress, cancel

    def __call__(self, fraction: float, message: str) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled("Report cancelled; no file was written.")
        if self.progress is not None:
            self.progress(min(1.0, max(0.0, fraction)), message)


def _check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(str(f).lower() for f in formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise ValueError(f"report formats must be some of {FORMATS}, got {tuple(formats)!r}")
    return wanted


def report_file_names(kind: str, uid: str) -> dict[str, str]:
    """``{"html": "session-1a2b3c4d-report.html", "pdf": ...}`` for ``kind`` "session" or "course"."""
    if kind not in ("session", "course"):
        raise ValueError(f"report kind must be 'session' or 'course', got {kind!r}")
    return {fmt: f"{kind}-{uid[:8]}-report.{fmt}" for fmt in FORMATS}


def _write(out_dir: Path, names: dict[str, str], html: str | None, pdf: bytes | None,
           step: _Steps) -> ReportFiles:
    step(0.92, "Saving the report")
    files = {}
    if html is not None:
        files[names["html"]] = html.encode("utf-8")
    if pdf is not None:
        files[names["pdf"]] = pdf
    step(0.95, "Saving the report")          # last chance to cancel: nothing is on disk yet
    paths = write_files(out_dir, files)
    if step.progress is not None:
        step.progress(1.0, "Report saved")
    return ReportFiles(html=paths.get(names["html"]), pdf=paths.get(names["pdf"]))


def write_session_report(records: "Records", session_uid: str, out_dir: Path, *,
                         screenshots: Sequence[Path] = (), formats: Sequence[str] = FORMATS,
                         include_identity: bool = False, progress: Progress | None = None,
                         cancel: Callable[[], bool] | None = None) -> ReportFiles:
    """The session report: registration, calibrations, targets with evidence, motor threshold
    and dose, per-pulse error statistics and plots, adverse events, notes, plan screenshots."""
    wanted = _check_formats(formats)
    step = _Steps(progress, cancel)
    step(0.0, "Reading the session")
    data = session_report_data(records, session_uid, screenshots=screenshots, include_identity=include_identity)
    step(0.3, "Drawing the figures")
    png = figures.session_error_png(data.series, data.tolerance_mm)
    shots = [Screenshot(p) for p in data.screenshots]
    step(0.55, "Laying out the report")
    html = session_html(data, png, shots) if "html" in wanted else None
    step(0.65, "Laying out the PDF")
    pdf = session_pdf(data, png, shots) if "pdf" in wanted else None
    return _write(Path(out_dir), report_file_names("session", data.session_uid), html, pdf, step)


def write_course_report(records: "Records", course_uid: str, out_dir: Path, *,
                        screenshots: Sequence[Path] = (), formats: Sequence[str] = FORMATS,
                        include_identity: bool = False, progress: Progress | None = None,
                        cancel: Callable[[], bool] | None = None) -> ReportFiles:
    """The course report: protocol, sessions table (sessions above their tolerance marked), error
    trends against the tolerance each session recorded, coil position spread, outcome curves with
    response and remission, safety alerts (first, in red), adverse events, plan screenshots."""
    wanted = _check_formats(formats)
    step = _Steps(progress, cancel)
    step(0.0, "Reading the course")
    data = course_report_data(records, course_uid, screenshots=screenshots, include_identity=include_identity)
    step(0.4, "Drawing the figures")
    png = figures.course_trend_png(data.sessions, data.spread, course_tolerance(data.sessions))
    shots = [Screenshot(p) for p in data.screenshots]
    step(0.6, "Laying out the report")
    html = course_html(data, png, shots) if "html" in wanted else None
    step(0.7, "Laying out the PDF")
    pdf = course_pdf(data, png, shots) if "pdf" in wanted else None
    return _write(Path(out_dir), report_file_names("course", course_uid), html, pdf, step)
