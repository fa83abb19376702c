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

Drawing costs the GUI thread 0.1-0.2 s (measured: 30 sessions, 900x220 px, loaded 2-core
machine: 200 ms with the constrained layout, 125 ms without), and the course view reloads every
3 s while today's session is open, during treatment, when the Navigate view redraws at up to 30
Hz. So an unchanged course is not drawn again, and while only the open session's numbers move
(pulses coming in) the plot is redrawn at most every :data:`LIVE_REDRAW_MS`; a new session, a
status change (the sitting closed) or another course is drawn at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.reports.content import ABOVE_MARK
from tmsnav.navigation.reports.figures import draw_course_trend
from tmsnav.navigation.reports.model import SessionRow
from tmsnav.navigation.reports.tolerance import CourseTolerance, course_tolerance

__all__ = ["AccuracyPlot", "LIVE_REDRAW_MS"]

LIVE_REDRAW_MS = 30_000


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
        self._shape: tuple | None = None         # (number, status) of each row when last drawn
        self._drawn_uids: tuple[str, ...] = ()
        self.axes: list[Any] = []
        self.draws = 0
        self.live_timer = QtCore.QTimer(self)    # the deferred redraw of a live session's numbers
        self.live_timer.setSingleShot(True)
        self.live_timer.setInterval(LIVE_REDRAW_MS)
        self.live_timer.timeout.connect(self._draw)
        self.set_course((), ())

    def set_course(self, sessions: Sequence[Any], rows: Sequence[SessionRow]) -> None:
        """Redraw for a course: its SessionInfo (for the uid of each number) and the rows with
        their recorded tolerance (``course_session_rows``)."""
        numbers = {s.uid: s.number for s in sessions}
        rows = tuple(rows)
        if self._shape is not None and rows == self.rows and numbers == self._numbers:
            return                                              # nothing new: no redraw
        self._numbers, self.rows = numbers, rows
        self.tolerance = course_tolerance(self.rows) if self.rows else None
        if self.highlighted not in {r.number for r in self.rows}:
            self.highlighted = None
        self._say()
        if self._shape_of(self.rows) == self._shape and set(numbers) <= set(self._drawn_uids):
            if not self.live_timer.isActive():                  # only an open session's numbers moved
                self.live_timer.start()
            return
        self._draw()

    @staticmethod
    def _shape_of(rows: Sequence[SessionRow]) -> tuple:
        return tuple((r.number, r.status) for r in rows)

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
        self.live_timer.stop()
        self._shape, self._drawn_uids = self._shape_of(self.rows), tuple(self._numbers)
        self.draws += 1
        if self.tolerance is None:
            self.figure.clear()
            self.axes = []
            self.figure.text(0.5, 0.5, "No session recorded yet.", ha="center", va="center", color="#666666")
        else:
            self.axes = draw_course_trend(self.figure, self.rows, self.tolerance, highlight=self.highlighted,
                                          side_by_side=True)
        self.canvas.draw_idle()
