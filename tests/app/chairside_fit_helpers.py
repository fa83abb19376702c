"""Is any visible text cut? Font metrics against widget sizes, for the layout tests.

A label's text is cut when its widest line is wider than the label's contents (no word wrap) or
its wrapped height is taller than the label; a button's or check box's when its text and frame
need more than its width; a combo box's when the current text and the arrow do. Rich text is
measured in bold, an upper bound for the <b> parts.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["cut_texts", "describe", "settled_cut_texts"]


def _plain(label: QtWidgets.QLabel) -> tuple[str, bool]:
    text = label.text()
    rich = label.textFormat() == QtCore.Qt.TextFormat.RichText or (
        label.textFormat() == QtCore.Qt.TextFormat.AutoText and QtCore.Qt.mightBeRichText(text))
    if rich:
        text = QtGui.QTextDocumentFragment.fromHtml(text).toPlainText()
    return text, rich


def _label_cut(label: QtWidgets.QLabel) -> str:
    text, rich = _plain(label)
    if not text.strip():
        return ""
    font = QtGui.QFont(label.font())
    if rich:
        font.setBold(True)
    fm = QtGui.QFontMetricsF(font)
    rect = label.contentsRect()
    room_w = rect.width() - 2 * max(label.margin(), 0) - max(label.indent(), 0)
    room_h = rect.height() - 2 * max(label.margin(), 0)
    if label.wordWrap():
        words = text.split()
        widest = max(fm.horizontalAdvance(w) for w in words) if words else 0.0
        if widest > room_w + 1:
            return f"word {widest:.0f} px wide in {room_w} px"
        need = label.heightForWidth(label.width())
        if need > label.height() + 1:
            return f"wrapped text {need} px high in {label.height()} px"
        return ""
    lines = text.split("\n")
    widest = max(fm.horizontalAdvance(line) for line in lines)
    if widest > room_w + 1:
        return f"{widest:.0f} px wide in {room_w} px"
    if len(lines) * fm.height() > room_h + 2:
        return f"{len(lines)} lines {len(lines) * fm.height():.0f} px high in {room_h} px"
    return ""


def _button_cut(button: QtWidgets.QAbstractButton) -> str:
    text = button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    if not text.strip():
        return ""
    fm = QtGui.QFontMetricsF(button.font())
    need = fm.horizontalAdvance(text)
    if isinstance(button, (QtWidgets.QCheckBox, QtWidgets.QRadioButton)):
        need = button.sizeHint().width()          # indicator + spacing + text, nothing more
    elif isinstance(button, QtWidgets.QPushButton):
        need += 12 + button.iconSize().width() * (not button.icon().isNull())
    elif isinstance(button, QtWidgets.QToolButton):
        need += 6
    else:
        return ""
    return f"needs {need:.0f} px, has {button.width()}" if need > button.width() + 1 else ""


def _combo_cut(combo: QtWidgets.QComboBox) -> str:
    text = combo.currentText()
    if not text:
        return ""
    need = QtGui.QFontMetricsF(combo.font()).horizontalAdvance(text) + 28   # frame + arrow
    return f"needs {need:.0f} px, has {combo.width()}" if need > combo.width() + 1 else ""


def _tabs_cut(bar: QtWidgets.QTabBar) -> str:
    for i in range(bar.count()):
        r = bar.tabRect(i)
        if r.left() < 0 or r.right() > bar.width():
            return f"tab {bar.tabText(i)!r} reaches {r.right()} of {bar.width()} px"
        need = QtGui.QFontMetricsF(bar.font()).horizontalAdvance(bar.tabText(i).replace("&", ""))
        if need > r.width():
            return f"tab {bar.tabText(i)!r} {need:.0f} px in {r.width()}"
    return ""


def describe(widget: QtWidgets.QWidget) -> str:
    text = getattr(widget, "text", None)
    shown = text() if callable(text) and isinstance(widget, (QtWidgets.QLabel, QtWidgets.QAbstractButton)) else ""
    return f"{type(widget).__name__} {widget.objectName()!r} {shown[:50]!r}"


def cut_texts(root: QtWidgets.QWidget) -> list[str]:
    """Every visible text under ``root`` (itself included) that does not fit, with why."""
    problems = []
    for w in [root, *root.findChildren(QtWidgets.QWidget)]:
        # QWidget.width(w), not w.width(): a panel may name a child "width" (DisplayPanel once did)
        if not w.isVisible() or QtWidgets.QWidget.width(w) <= 0 or QtWidgets.QWidget.height(w) <= 0:
            continue
        if isinstance(w, QtWidgets.QLabel):
            why = _label_cut(w)
        elif isinstance(w, QtWidgets.QAbstractButton):
            why = _button_cut(w)
        elif isinstance(w, QtWidgets.QComboBox):
            why = _combo_cut(w)
        elif isinstance(w, QtWidgets.QTabBar):
            why = _tabs_cut(w)
        else:
            why = ""
        if why:
            problems.append(f"{describe(w)}: {why}")
    return problems


def settled_cut_texts(root: QtWidgets.QWidget, qtbot, timeout_ms: int = 3000) -> list[str]:
    """:func:`cut_texts` once the layout has caught up: a label given new text (a tracker
    update) is laid out on a later pass of the event loop, so wait for the condition, then
    return what is still cut (empty when nothing is)."""
    try:
        qtbot.waitUntil(lambda: not cut_texts(root), timeout=timeout_ms)
    except Exception:   # pytest-qt's TimeoutError: the caller reports what stays cut
        pass
    return cut_texts(root)
