"""Closing the main window with unsaved work: ask Save / Discard / Cancel, without blocking.

The box is window-modal but opened with ``open()``, not ``exec()``: tracking keeps running while
it is shown (a nested event loop would stall the tracker's GUI-side updates). Save writes the open
session or creates one (:meth:`tmsnav.app.session_controller.SessionController.save_or_create`);
the window closes only after that succeeded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["ask_unsaved_before_close"]


def ask_unsaved_before_close(window: MainWindow) -> QtWidgets.QMessageBox:
    """Save / Discard / Cancel for work not in a saved session (targets, plan, calibrations,
    registration); the answer closes the window or keeps it open."""
    buttons = QtWidgets.QMessageBox.StandardButton
    box = QtWidgets.QMessageBox(
        QtWidgets.QMessageBox.Icon.Warning, "Unsaved changes",
        "The targets, plan, calibrations or registration are not saved in a session file. "
        "Save them before closing?", buttons.Save | buttons.Discard | buttons.Cancel, window)
    box.setObjectName("unsaved_box")
    box.setDefaultButton(buttons.Save)
    box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    box.finished.connect(lambda _r, b=box: _answer(window, b.standardButton(b.clickedButton())))
    box.open()
    window._unsaved_box = box
    return box


def _answer(window: MainWindow, button: QtWidgets.QMessageBox.StandardButton) -> None:
    buttons = QtWidgets.QMessageBox.StandardButton
    if button == buttons.Save:
        if not window.sessions.save_or_create():
            return                      # no folder chosen, or the disk refused: stay open
    elif button != buttons.Discard:
        return                          # Cancel (or Esc): keep working
    window._close_confirmed = True
    QtCore.QTimer.singleShot(0, window.close)
