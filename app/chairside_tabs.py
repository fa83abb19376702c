"""The side panel's tabs, each in a vertical scroll area, so a 768-pixel-high screen cuts nothing.

On a 1366x768 or 1024x768 laptop the Registration and Planning pages are taller than the space
left by the menu and status bars; without a scroll area Qt squeezes their rows until labels
overlap or are cut. Here a page keeps its natural height and scrolls; its width follows the
panel (no horizontal scrolling: the page must fit, which tests/app/test_chairside_fit.py checks).

The scroll area is an implementation detail: :meth:`ScrollingTabs.setCurrentWidget`,
:meth:`currentWidget`, :meth:`widget` and :meth:`indexOf` take and return the panel itself, as with
a plain QTabWidget (``window.panels.setCurrentWidget(window.guidance_panel)`` keeps working).

Groups: one tab can hold a second row of tabs (:meth:`ScrollingTabs.add_group`), e.g. "Plan" with
Targets, fMRI and qEEG. Every title stays whole in a 400-pixel panel (a 1024-pixel screen) only if
the top row holds few tabs; a row of eight would need scroll arrows, which hide tabs. The same
three methods find a page inside a group and open both rows on it; :meth:`leaves` lists every
page with its path ("Plan > fMRI") for the fit tests.
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

    def add_group(self, label: str) -> "ScrollingTabs":
        """A tab holding its own row of tabs; add pages to the returned group with ``addTab``."""
        group = ScrollingTabs()
        group.setObjectName(f"group_{label.lower()}")
        group.setDocumentMode(True)
        super().addTab(group, label)
        return group

    def leaves(self) -> list[tuple[str, "ScrollingTabs", int]]:
        """Every page as (path, the tab row holding it, its index there), groups opened."""
        out: list[tuple[str, ScrollingTabs, int]] = []
        for i in range(self.count()):
            inner = super().widget(i)
            if isinstance(inner, ScrollingTabs):
                out += [(f"{self.tabText(i)} > {path}", row, j) for path, row, j in inner.leaves()]
            else:
                out.append((self.tabText(i), self, i))
        return out

    def show_leaf(self, row: "ScrollingTabs", index: int) -> None:
        """Open ``row``'s tab ``index`` and, when ``row`` is a group, the group's own tab."""
        row.setCurrentIndex(index)
        if row is not self:
            self.setCurrentIndex(super().indexOf(row))

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
            inner = super().widget(i)
            if self.page(i) is page or inner is page:
                return i
            if isinstance(inner, ScrollingTabs) and inner.indexOf(page) >= 0:
                return i
        return -1

    def currentWidget(self) -> QtWidgets.QWidget:  # noqa: N802
        page = self.page(self.currentIndex())
        if isinstance(page, ScrollingTabs):
            return page.currentWidget()
        return page if page is not None else super().currentWidget()

    def setCurrentWidget(self, page: QtWidgets.QWidget) -> None:  # noqa: N802
        index = self.indexOf(page)
        if index < 0:
            raise ValueError(f"{page.objectName() or page!r} is not a page of the side panel")
        inner = super().widget(index)
        if isinstance(inner, ScrollingTabs) and inner is not page:
            inner.setCurrentWidget(page)
        self.setCurrentIndex(index)
