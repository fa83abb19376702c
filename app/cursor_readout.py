"""The status bar's cursor readout, shortened to fit instead of cut.

"mri RAS (x, y, z) mm   voxel (i, j, k)   value v   MNI (x, y, z) mm" is about 575 pixels wide;
on a 1024-pixel screen, next to the tracker state, it has about 500. A cut readout shows half a
coordinate, which reads as a different number; word wrap would make the status bar three lines
high. So the readout drops whole parts, least useful first (voxel indices, then the intensity),
and keeps the mm coordinates; the tooltip always has the full text.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["CursorReadout"]

SEPARATOR = "   "


class CursorReadout(QtWidgets.QLabel):
    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._parts: list[str] = [text] if text else []
        self._drop_order: list[int] = []

    def set_parts(self, parts: list[str], drop_order: list[int]) -> None:
        """``parts`` in display order; ``drop_order``: indices of the parts that may be left out
        when the width is short, the first one first (the others are always shown)."""
        self._parts = [p for p in parts]
        self._drop_order = list(drop_order)
        self.setToolTip(SEPARATOR.join(p for p in parts if p))
        self.updateGeometry()
        self._fit()

    def full_text(self) -> str:
        return SEPARATOR.join(p for p in self._parts if p)

    def _text_without(self, dropped: set[int]) -> str:
        return SEPARATOR.join(p for i, p in enumerate(self._parts) if p and i not in dropped)

    def _fit(self) -> None:
        metrics = QtGui.QFontMetrics(self.font())
        room = self.contentsRect().width()
        dropped: set[int] = set()
        text = self._text_without(dropped)
        for index in self._drop_order:
            if metrics.horizontalAdvance(text) <= room:
                break
            dropped.add(index)
            text = self._text_without(dropped)
        if text != self.text():
            self.setText(text)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        hint = super().sizeHint()
        width = QtGui.QFontMetrics(self.font()).horizontalAdvance(self.full_text())
        return QtCore.QSize(width + 2 * self.margin() + 4, hint.height())

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        shortest = self._text_without(set(self._drop_order))
        width = QtGui.QFontMetrics(self.font()).horizontalAdvance(shortest)
        return QtCore.QSize(width + 2 * self.margin() + 4, hint.height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()
