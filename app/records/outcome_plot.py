"""The course view's outcome plot: each scale over the course on a matplotlib canvas, drawn by
:func:`tmsnav.navigation.outcomes.figure.draw_outcomes` (the same drawing as the reports'
PNG: bands shaded, baseline, the 50 % response line, the remission cut-off, suicide-item alerts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6 import QtWidgets

from tmsnav.navigation.outcomes.figure import draw_outcomes

__all__ = ["OutcomePlot"]


class OutcomePlot(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outcome_plot")
        self.figure = Figure(figsize=(6.0, 3.2), dpi=100)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(240)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.message = ""
        self._drawn: list[Any] | None = None
        self.draws = 0
        self.set_outcomes(())

    def set_outcomes(self, outcomes: Sequence[Any]) -> None:
        """Redraw for these assessments (OutcomeInfo-like); a stored row the scorer refuses is shown
        as a message on the canvas instead of a traceback.

        The same assessments as last time draw nothing: the course view reloads every few seconds
        while a session is open, and a redraw costs the GUI thread ~200 ms under software
        rendering, long enough to stall the Navigate view sharing that thread."""
        wanted = list(outcomes)
        if wanted == self._drawn:
            return
        self._drawn = wanted
        self.draws += 1
        try:
            draw_outcomes(self.figure, wanted)
            self.message = ""
        except ValueError as exc:
            self.figure.clear()
            self.message = f"Outcome plot unavailable: {exc}"
            self.figure.text(0.5, 0.5, self.message, ha="center", va="center", wrap=True, color="#b00020")
        self.canvas.draw_idle()
