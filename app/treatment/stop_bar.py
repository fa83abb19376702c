"""The window-wide stimulator strip: a big STOP whenever the unit is armed, and the link-loss cause.

Why outside the Treatment tab: while the unit is armed the operator is usually on the Navigate
tab, or in the large chairside layout where the side panel is hidden, and a STOP that is only
in the Treatment tab would be out of sight exactly then. Like the tracking banner
(:mod:`tmsnav.app.tracking_banner`), this is a fixed tool bar at the top of the window, above the
views and the side panel, that cannot be moved, floated or switched off from the tool-bar menu.
It is shown only while there is something to say (armed, or the link was lost while connected).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["StopBar", "install_stop_bar"]

ARMED_STYLE = "QFrame#stimulator_stop_bar { background: #fff3e0; }"
LOST_STYLE = "QFrame#stimulator_stop_bar { background: #b00020; } QLabel { color: white; }"
BUTTON_STYLE = ("QPushButton { background: #b00020; color: white; font-size: 22px; font-weight: bold;"
                " padding: 6px 28px; border: 2px solid white; }")


class StopBar(QtWidgets.QFrame):
    """``show_state(armed, lost_reason)``; the button is connected by the stimulator box."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stimulator_stop_bar")
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        row = self._row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(12, 4, 12, 4)
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("stimulator_stop_bar_text")
        self.label.setWordWrap(True)
        font = self.label.font()
        font.setPointSize(max(font.pointSize(), 9) + 3)
        font.setBold(True)
        self.label.setFont(font)
        self.label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.button = QtWidgets.QPushButton("STOP (Esc)")
        self.button.setObjectName("stimulator_stop_bar_button")
        self.button.setStyleSheet(BUTTON_STYLE)
        self.button.setToolTip("Disarm the stimulator now")
        row.addWidget(self.label, 1)
        row.addWidget(self.button, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)

    def show_state(self, armed: bool, lost_reason: str) -> None:
        if lost_reason:
            text, style = f"STIMULATOR LINK LOST OR FAULT: {lost_reason}", LOST_STYLE
        elif armed:
            text, style = "Stimulator ARMED", ARMED_STYLE
        else:
            text, style = "", ""
        if style and style != self.styleSheet():
            self.setStyleSheet(style)
        if text != self.label.text():
            self.label.setText(text)
            self._fit_height()
        host = self.parentWidget()
        target = host if isinstance(host, QtWidgets.QToolBar) else self
        if target.isHidden() == bool(text):
            target.setVisible(bool(text))


    def _fit_height(self) -> None:
        """A tool bar does not lay out height-for-width: set the height from the wrapped text at
        the current width (as :class:`tmsnav.app.tracking_banner.TrackingBanner` does)."""
        row = self._row
        margins = row.contentsMargins()
        inner = max(1, self.width() - margins.left() - margins.right()
                    - self.button.sizeHint().width() - row.spacing())
        text = self.label.heightForWidth(inner) if self.label.text() else 0
        height = max(text, self.button.sizeHint().height()) + margins.top() + margins.bottom()
        if height != self.minimumHeight() or height != self.maximumHeight():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()


def install_stop_bar(window: QtWidgets.QMainWindow) -> StopBar:
    """A fixed, hidden tool bar at the top of ``window`` holding a :class:`StopBar`."""
    bar = QtWidgets.QToolBar("Stimulator", window)
    bar.setObjectName("stimulator_stop_toolbar")
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.toggleViewAction().setVisible(False)
    bar.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.PreventContextMenu)
    bar.setStyleSheet("QToolBar { border: 0px; padding: 0px; spacing: 0px; }")
    strip = StopBar(bar)
    bar.addWidget(strip)
    bar.setVisible(False)
    window.addToolBarBreak(QtCore.Qt.ToolBarArea.TopToolBarArea)   # its own row, under the tracking banner
    window.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, bar)
    return strip
