"""The window-wide tracking banner: a large red strip above the views and the side panel.

Why a Qt widget and not only the text in the 3-D view: the 3-D text is cut by a narrow view and
is out of sight while the user looks at another tab or the slices. This strip spans the whole
window (a fixed tool bar at the top), so tracking loss is seen in every tab, and its height
follows its text (word-wrapped, never elided). docs/safety.md, "A lost tracker is never shown
as tracking", lists what this strip answers for.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .window_strip import WindowStrip, install_strip

__all__ = ["TrackingBanner", "install_banner"]


class TrackingBanner(WindowStrip):
    """Headline (large, bold, one line) and detail (word-wrapped) in white on the alert colour.

    ``show_alert(headline, detail, color)`` shows it; an empty headline hides it. The strip sets
    its own height from the detail's wrapped height at its current width, because a tool bar does
    not lay out height-for-width widgets.
    """

    trackerTabRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        self.headline = QtWidgets.QLabel("")
        self.headline.setObjectName("tracking_banner_headline")
        font = self.headline.font()
        font.setPointSize(max(font.pointSize(), 9) + 9)
        font.setBold(True)
        self.headline.setFont(font)
        self.detail = QtWidgets.QLabel("")
        self.detail.setObjectName("tracking_banner_detail")
        self.detail.setWordWrap(True)
        detail_font = self.detail.font()
        detail_font.setPointSize(max(detail_font.pointSize(), 9) + 2)
        self.detail.setFont(detail_font)
        self.detail.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                  QtWidgets.QSizePolicy.Policy.Preferred)
        button = QtWidgets.QPushButton("Tracker tab")
        button.setObjectName("tracking_banner_button")
        button.setToolTip("Show the tracker's state, error and settings")
        text = QtWidgets.QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.headline)
        text.addWidget(self.detail)
        super().__init__(parent, "tracking_banner", button, text, (12, 6, 12, 6), self._lines_height)
        self.setMinimumWidth(240)
        self.button.clicked.connect(self.trackerTabRequested)
        self._color = ""

    def show_alert(self, headline: str, detail: str, color: str = "#b00020") -> None:
        """Show (or with an empty headline, hide) the banner; unchanged text costs nothing."""
        if color != self._color:
            self._color = color
            self.setStyleSheet(f"QFrame#tracking_banner {{ background: {color}; }}"
                               " QLabel { color: white; background: transparent; }")
        if headline != self.headline.text() or detail != self.detail.text():
            self.headline.setText(headline)
            self.detail.setText(detail)
            self.detail.setVisible(bool(detail))
            self._fit_height()
        self.set_shown(bool(headline))

    @property
    def text(self) -> str:
        """Headline and detail as shown ("" when hidden)."""
        return f"{self.headline.text()}\n{self.detail.text()}".strip()

    def _lines_height(self, width: int) -> int:
        lines = self.headline.sizeHint().height()
        if self.detail.text():
            lines += 2 + self.detail.heightForWidth(width)
        return lines


def install_banner(window: QtWidgets.QMainWindow) -> TrackingBanner:
    """Put a banner in a fixed tool bar at the top of ``window``: above the views and the side
    panel, so it is in sight whatever tab is open (:func:`tmsnav.app.window_strip.install_strip`)."""
    return install_strip(window, TrackingBanner, "Tracking alert", "tracking_alert_bar")
