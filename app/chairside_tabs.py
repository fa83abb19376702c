"""The side panel's tabs, each in a vertical scroll area, so a 768-pixel-high screen cuts nothing.

On a 1366x768 or 1024x768 laptop the Registration and Planning pages are taller than the space
left by the menu and status bars; without a scroll area Qt squeezes their rows until labels
overlap or are cut. Here a page keeps its natural height and scrolls; its width follows the
panel (no horizontal scrolling: the page must fit, which tests/app/test_chairside_fit.py checks).

The scroll area is an implementation detail: :meth:`ScrollingTabs.setCurrentWidget`,
:meth:`currentWidget`, :meth:`widget` and :meth:`indexOf` take and return the panel itself, as with
a plain QTabWidget (``window.panels.setCurrentWidget(window.guidance_panel)`` keeps working).
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["ScrollingTabs"]


class ScrollingTabs(QtWidgets.QTabWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panels")
        bar = self.tabBar()
        bar.setUsesScrollButtons(False)      # every tab title readable, none behind an arrow
        bar.setExpanding(False)
        bar.setElideMode(QtCore.Qt.TextElideMode.ElideNone)
        bar.setStyleSheet("QTabBar::tab { padding: 4px 7px; }")

    # the icon overloads are never used here: the override takes the (page, label) form only
    def addTab(self, page: QtWidgets.QWidget, label: str) -> int:  # type: ignore[override]  # noqa: N802
        """Add ``page`` inside its own vertical scroll area (the overloads with an icon are not used)."""
        area = QtWidgets.QScrollArea()
        area.setObjectName(f"scroll_{page.objectName() or label.lower()}")
        area.setWidgetResizable(True)
        area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The page takes the panel's width even below its layout's minimum (5 buttons of Qt's
        # 80-px minimum, say): Qt then squeezes the rows, as it did in the dock before; what
        # matters, that no text is cut, is what the fit test checks. (Without this the page
        # would stay at its minimum width and its right edge would be cut off by the viewport.)
        page.setMinimumWidth(1)
        area.setWidget(page)
        return super().addTab(area, label)

    def page(self, index: int) -> QtWidgets.QWidget | None:
        area = super().widget(index)
        return area.widget() if isinstance(area, QtWidgets.QScrollArea) else area

    def scroll_area(self, index: int) -> QtWidgets.QScrollArea | None:
        area = super().widget(index)
        return area if isinstance(area, QtWidgets.QScrollArea) else None

    def widget(self, index: int) -> QtWidgets.QWidget | None:
        return self.page(index)

    def indexOf(self, page: QtWidgets.QWidget) -> int:  # noqa: N802
        for i in range(self.count()):
            if self.page(i) is page or super().widget(i) is page:
                return i
        return -1

    def currentWidget(self) -> QtWidgets.QWidget:  # noqa: N802
        page = self.page(self.currentIndex())
        return page if page is not None else super().currentWidget()

    def setCurrentWidget(self, page: QtWidgets.QWidget) -> None:  # noqa: N802
        index = self.indexOf(page)
        if index < 0:
            raise ValueError(f"{page.objectName() or page!r} is not a page of the side panel")
        self.setCurrentIndex(index)
