"""The window-wide stimulator strip: a big STOP whenever the unit is armed, and the link-loss cause.

Why outside the Treatment tab: while the unit is armed the operator is usually on the Navigate
tab, or in the large chairside layout where the side panel is hidden, and a STOP that is only
in the Treatment tab would be out of sight exactly then. Like the tracking banner
(:mod:`tmsnav.app.tracking_banner`), this is a fixed tool bar at the top of the window, above the
views and the side panel, that cannot be moved, floated or switched off from the tool-bar menu.
It is shown only while there is something to say (armed, or the link was lost while connected).
"""

from __future__ import annotations

from PySide6 import QtWidgets

from ..window_strip import WindowStrip, install_strip

__all__ = ["StopBar", "install_stop_bar"]

ARMED_STYLE = "QFrame#stimulator_stop_bar { background: #fff3e0; }"
LOST_STYLE = "QFrame#stimulator_stop_bar { background: #b00020; } QLabel { color: white; }"
BUTTON_STYLE = ("QPushButton { background: #b00020; color: white; font-size: 22px; font-weight: bold;"
                " padding: 6px 28px; border: 2px solid white; }")


class StopBar(WindowStrip):
    """``show_state(armed, lost_reason)``; the button is connected by the stimulator box."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("stimulator_stop_bar_text")
        self.label.setWordWrap(True)
        font = self.label.font()
        font.setPointSize(max(font.pointSize(), 9) + 3)
        font.setBold(True)
        self.label.setFont(font)
        self.label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        button = QtWidgets.QPushButton("STOP (Esc)")
        button.setObjectName("stimulator_stop_bar_button")
        button.setStyleSheet(BUTTON_STYLE)
        button.setToolTip("Disarm the stimulator now")
        super().__init__(parent, "stimulator_stop_bar", button, self.label, (12, 4, 12, 4),
                         self._label_height)

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
        self.set_shown(bool(text))

    def _label_height(self, width: int) -> int:
        return self.label.heightForWidth(width) if self.label.text() else 0


def install_stop_bar(window: QtWidgets.QMainWindow) -> StopBar:
    """A fixed, hidden tool bar at the top of ``window`` holding a :class:`StopBar`, on its own
    row under the tracking banner."""
    return install_strip(window, StopBar, "Stimulator", "stimulator_stop_toolbar", own_row=True)
