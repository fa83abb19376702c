"""A strip across the whole main window, above the views and the side panel: text and one button.

The tracking banner (:mod:`tmsnav.app.tracking_banner`) and the stimulator STOP strip
(:mod:`tmsnav.app.treatment.stop_bar`) are such strips: messages that must stay in sight whatever
tab or layout is shown. Each lives in a fixed tool bar at the top that cannot be moved, floated or
switched off from the tool-bar menu (a safety message the user could hide is no message). A tool
bar does not lay out height-for-width widgets, so the strip sets its own height from its wrapped
text at its current width (unfitted, a wrapped label grew the window, see the stop bar's history).
"""

from __future__ import annotations

from typing import Callable, TypeVar

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["WindowStrip", "install_strip"]


class WindowStrip(QtWidgets.QFrame):
    """Text (a widget or layout, stretching) then ``button`` on one row. ``text_height(width)``
    says how tall the text is at a width (0 when there is none); call :meth:`_fit_height` when the
    text changes."""

    def __init__(self, parent: QtWidgets.QWidget | None, object_name: str, button: QtWidgets.QPushButton,
                 text: QtWidgets.QWidget | QtWidgets.QLayout, margins: tuple[int, int, int, int],
                 text_height: Callable[[int], int]) -> None:
        super().__init__(parent)
        self._text_height = text_height
        self.setObjectName(object_name)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.button = button
        self._row = row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(*margins)
        if isinstance(text, QtWidgets.QLayout):
            row.addLayout(text, 1)
        else:
            row.addWidget(text, 1)
        row.addWidget(button, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)

    def _fit_height(self) -> None:
        row = self._row
        margins = row.contentsMargins()
        inner = max(1, self.width() - margins.left() - margins.right()
                    - self.button.sizeHint().width() - row.spacing())
        height = (max(self._text_height(inner), self.button.sizeHint().height())
                  + margins.top() + margins.bottom())
        if height != self.minimumHeight() or height != self.maximumHeight():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()

    def set_shown(self, shown: bool) -> None:
        """Show or hide the strip with its tool bar (only when that changes anything)."""
        host = self.parentWidget()
        target = host if isinstance(host, QtWidgets.QToolBar) else self
        if target.isHidden() == shown:
            target.setVisible(shown)


_Strip = TypeVar("_Strip", bound=WindowStrip)


def install_strip(window: QtWidgets.QMainWindow, make: Callable[[QtWidgets.QToolBar], _Strip], title: str,
                  object_name: str, *, own_row: bool = False) -> _Strip:
    """A fixed, hidden tool bar at the top of ``window`` holding ``make(bar)``; ``own_row`` puts
    it on a row of its own under the tool bars already there."""
    bar = QtWidgets.QToolBar(title, window)
    bar.setObjectName(object_name)
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.toggleViewAction().setVisible(False)
    bar.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.PreventContextMenu)
    bar.setStyleSheet("QToolBar { border: 0px; padding: 0px; spacing: 0px; }")
    strip = make(bar)
    bar.addWidget(strip)        # shown with the bar: the strip shows and hides the bar
    bar.setVisible(False)
    if own_row:
        window.addToolBarBreak(QtCore.Qt.ToolBarArea.TopToolBarArea)
    window.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, bar)
    return strip
