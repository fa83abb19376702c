"""The course view's targeting accuracy: per session the median and 95th-percentile pulse position
error against the tolerance each session was judged against, and the day's registration error.

Drawn by :func:`tmsnav.navigation.reports.figures.draw_course_trend`, the function that draws the
course report's trend, so the screen and the paper show the same points, the same tolerance line
(one line, or a step line when sessions used different tolerances) and the same "!" over a
session whose median error is above its tolerance. The report's third panel (distance of the
median pulse position from the target) is left out here: it needs every pulse position of the
course, too much to read again at each refresh of an open session; the report and the Navigate
view's previous-pulses overlay give it.

The rows come from :func:`tmsnav.navigation.reports.data.course_session_rows` on the database
worker (it reads each session folder's tolerance); this widget only draws. The session selected
in the sessions table is shaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6 import QtWidgets

from tmsnav.navigation.reports.content import ABOVE_MARK
from tmsnav.navigation.reports.figures import draw_course_trend
from tmsnav.navigation.reports.model import SessionRow
from tmsnav.navigation.reports.tolerance import CourseTolerance, course_tolerance

__all__ = ["AccuracyPlot"]


class AccuracyPlot(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accuracy_plot")
        self.figure = Figure(figsize=(8.0, 2.3), dpi=100, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(150)
        self.note = QtWidgets.QLabel("")
        self.note.setObjectName("accuracy_note")
        self.note.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.note)
        self.rows: tuple[SessionRow, ...] = ()
        self.tolerance: CourseTolerance | None = None
        self.highlighted: int | None = None
        self._numbers: dict[str, int] = {}
        self.axes: list[Any] = []
        self.set_course((), ())

    def set_course(self, sessions: Sequence[Any], rows: Sequence[SessionRow]) -> None:
        """Redraw for a course: its SessionInfo (for the uid of each number) and the rows with
        their recorded tolerance (``course_session_rows``)."""
        self._numbers = {s.uid: s.number for s in sessions}
        self.rows = tuple(rows)
        self.tolerance = course_tolerance(self.rows) if self.rows else None
        if self.highlighted not in {r.number for r in self.rows}:
            self.highlighted = None
        self._say()
        self._draw()

    def select(self, session_uid: str | None) -> None:
        """Shade the session selected in the sessions table (None: no shading)."""
        number = self._numbers.get(session_uid) if session_uid is not None else None
        if number != self.highlighted:
            self.highlighted = number
            self._draw()

    def _say(self) -> None:
        """One line under the plot (the summary names a default or mixed tolerance); the report's
        full notes in the tooltip, amber when there are any."""
        tol = self.tolerance
        if tol is None:
            self.note.setText("")
            self.note.setToolTip("")
            return
        refused = "".join(f" Session {n}'s recorded {v:g} mm is not used (another unit?)."
                          for n, v in tol.implausible)
        self.note.setText(f"Tolerance {tol.summary()}.{refused} {ABOVE_MARK}: the session's median error is above "
                          "its tolerance.")
        caveats = tol.caveats()
        self.note.setStyleSheet("color: #8a5a00" if caveats else "")
        self.note.setToolTip("\n\n".join(caveats) if caveats else
                             "Each session's tolerance comes from its end-of-treatment summary (Treatment tab, "
                             "End treatment) in its session folder.")

    def _draw(self) -> None:
        if self.tolerance is None:
            self.figure.clear()
            self.axes = []
            self.figure.text(0.5, 0.5, "No session recorded yet.", ha="center", va="center", color="#666666")
        else:
            self.axes = draw_course_trend(self.figure, self.rows, self.tolerance, highlight=self.highlighted,
                                          side_by_side=True)
        self.canvas.draw_idle()
