"""The window-wide tracking banner: a large red strip above the views and the side panel.

Why a Qt widget and not only the text in the 3-D view: the 3-D text is cut by a narrow view and
is out of sight while the user looks at another tab or the slices. This strip spans the whole
window (a fixed tool bar at the top), so tracking loss is seen in every tab, and its height
follows its text (word-wrapped, never elided). docs/safety.md, "A lost tracker is never shown
as tracking", lists what this strip answers for.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["TrackingBanner", "install_banner"]


class TrackingBanner(QtWidgets.QFrame):
    """Headline (large, bold, one line) and detail (word-wrapped) in white on the alert colour.

    ``show_alert(headline, detail, color)`` shows it; an empty headline hides it. The strip sets
    its own height from the detail's wrapped height at its current width, because a tool bar does
    not lay out height-for-width widgets.
    """

    trackerTabRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tracking_banner")
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(240)
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
        self.button = QtWidgets.QPushButton("Tracker tab")
        self.button.setObjectName("tracking_banner_button")
        self.button.setToolTip("Show the tracker's state, error and settings")
        self.button.clicked.connect(self.trackerTabRequested)
        text = QtWidgets.QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.headline)
        text.addWidget(self.detail)
        self._row = row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.addLayout(text, 1)
        row.addWidget(self.button, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)
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
        host = self.parentWidget()
        target = host if isinstance(host, QtWidgets.QToolBar) else self
        if target.isHidden() == bool(headline):
            target.setVisible(bool(headline))

    @property
    def text(self) -> str:
        """Headline and detail as shown ("" when hidden)."""
        return f"{self.headline.text()}\n{self.detail.text()}".strip()

    def _fit_height(self) -> None:
        margins = self._row.contentsMargins()
        inner = max(1, self.width() - margins.left() - margins.right()
                    - self.button.sizeHint().width() - self._row.spacing())
        lines = self.headline.sizeHint().height()
        if self.detail.text():
            lines += 2 + self.detail.heightForWidth(inner)
        height = max(lines, self.button.sizeHint().height()) + margins.top() + margins.bottom()
        if height != self.minimumHeight() or height != self.maximumHeight():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()


def install_banner(window: QtWidgets.QMainWindow) -> TrackingBanner:
    """Put a banner in a fixed tool bar at the top of ``window``: above the views and the side
    panel, so it is in sight whatever tab is open. The tool bar cannot be moved, floated or
    switched off from the tool-bar menu (a safety message the user could hide is no message)."""
    bar = QtWidgets.QToolBar("Tracking alert", window)
    bar.setObjectName("tracking_alert_bar")
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.toggleViewAction().setVisible(False)
    bar.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.PreventContextMenu)
    bar.setStyleSheet("QToolBar { border: 0px; padding: 0px; spacing: 0px; }")
    banner = TrackingBanner(bar)
    bar.addWidget(banner)        # shown with the bar: show_alert shows and hides the bar
    bar.setVisible(False)
    window.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, bar)
    return banner
