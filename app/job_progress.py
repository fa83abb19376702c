"""The status bar's job text: "title: current step", on one line, elided when the bar is narrow.

The step used to be drawn inside the progress bar (``QProgressBar.setFormat``), whose ~100 px in
a crowded status bar wrapped "Computing the e-field on ..." into two clipped lines (issue 12).
Here the bar shows only its percentage and this label carries the words: it asks for up to
``PREFERRED_MAX_PX``, never shrinks below ``MIN_PX``, cuts what does not fit with an ellipsis
(never mid-line wrapping), and keeps the whole text in its tooltip.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["ProgressText", "MIN_PX", "PREFERRED_MAX_PX"]

MIN_PX = 220
PREFERRED_MAX_PX = 460


class ProgressText(QtWidgets.QLabel):
    """One-line, elided "title: step" for a running job."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progress_text")
        self.setWordWrap(False)
        self.setMinimumWidth(MIN_PX)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Fixed)
        self._title = ""
        self._step = ""

    @property
    def full_text(self) -> str:
        return f"{self._title}: {self._step}" if self._step else self._title

    def set_title(self, title: str) -> None:
        """A new job: its title, no step yet."""
        self._title, self._step = title, ""
        self._refresh()

    def set_step(self, step: str) -> None:
        """What the job is doing now (the worker's progress message)."""
        if step != self._step:
            self._step = step
            self._refresh()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt API)
        width = self.fontMetrics().horizontalAdvance(self.full_text) + 8
        return QtCore.QSize(max(MIN_PX, min(width, PREFERRED_MAX_PX)), super().sizeHint().height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._refresh(update_geometry=False)

    def _refresh(self, update_geometry: bool = True) -> None:
        text = self.full_text
        self.setToolTip(text)
        self.setText(self.fontMetrics().elidedText(text, QtCore.Qt.TextElideMode.ElideRight,
                                                   max(self.width() - 4, 20)))
        if update_geometry:
            self.updateGeometry()
