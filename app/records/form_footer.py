"""The foot of the records' entry dialogs: a red message line and OK / Cancel.

The patient and course dialogs check what was typed when OK is pressed and say what is wrong in
the red line, without closing; one helper keeps their look and behaviour the same."""

from __future__ import annotations

from typing import Callable

from PySide6 import QtWidgets

__all__ = ["add_message_and_buttons"]


def add_message_and_buttons(dialog: QtWidgets.QDialog, form: QtWidgets.QFormLayout, *, object_name: str,
                            ok_text: str, submit: Callable[[], None]) -> tuple[QtWidgets.QLabel, QtWidgets.QPushButton]:
    """Add the message label (``object_name``) and the buttons to ``form``; OK calls ``submit``
    (which accepts the dialog when the entry is valid), Cancel rejects it."""
    message = QtWidgets.QLabel("")
    message.setObjectName(object_name)
    message.setWordWrap(True)
    message.setStyleSheet("color: #b00020; font-weight: bold")
    form.addRow(message)
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                         | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
    ok_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
    ok_button.setText(ok_text)
    buttons.accepted.connect(submit)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    return message, ok_button
