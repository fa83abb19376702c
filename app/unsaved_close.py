"""Closing the main window with unsaved work: ask Save / Discard / Cancel, without blocking.

The box is window-modal but opened with ``open()``, not ``exec()``: tracking keeps running while
it is shown (a nested event loop would stall the tracker's GUI-side updates). Save writes the open
session or creates one (:meth:`tmsnav.app.session_controller.SessionController.save_or_create`);
the window closes only after that succeeded.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

__all__ = ["ask_unsaved_before_close"]


def ask_unsaved_before_close(parent: QtWidgets.QWidget, save: Callable[[], bool],
                             close_confirmed: Callable[[], None]) -> QtWidgets.QMessageBox:
    """Save / Discard / Cancel for work not in a saved session (targets, plan, calibrations,
    registration). ``save`` writes it and says whether that worked; ``close_confirmed`` is called
    after a successful Save or a Discard (the caller then closes); Cancel or Esc keeps working.
    Callbacks rather than the main window itself keep this module free of an import cycle."""
    buttons = QtWidgets.QMessageBox.StandardButton
    box = QtWidgets.QMessageBox(
        QtWidgets.QMessageBox.Icon.Warning, "Unsaved changes",
        "The targets, plan, calibrations or registration are not saved in a session file. "
        "Save them before closing?", buttons.Save | buttons.Discard | buttons.Cancel, parent)
    box.setObjectName("unsaved_box")
    box.setDefaultButton(buttons.Save)
    box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    box.finished.connect(
        lambda _r, b=box: _answer(b.standardButton(b.clickedButton()), save, close_confirmed))
    box.open()
    return box


def _answer(button: QtWidgets.QMessageBox.StandardButton, save: Callable[[], bool],
            close_confirmed: Callable[[], None]) -> None:
    buttons = QtWidgets.QMessageBox.StandardButton
    if button == buttons.Save:
        if not save():
            return                      # no folder chosen, or the disk refused: stay open
    elif button != buttons.Discard:
        return                          # Cancel (or Esc): keep working
    close_confirmed()
