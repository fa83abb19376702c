"""Questions the import may need to ask: which affine, which DICOM series, is left really left.

All dialogs are window-modal but non-blocking (``open()``), so tracking keeps running; each calls
back with the user's answer. None of them ever picks silently (docs/safety.md, orientation).
"""

from __future__ import annotations

from typing import Callable

import nibabel as nib
from PySide6 import QtCore, QtWidgets

__all__ = ["ask_affine_choice", "ask_series", "ask_orientation_confirmation"]


def _box(parent, name: str, title: str, text: str) -> QtWidgets.QMessageBox:
    box = QtWidgets.QMessageBox(parent)
    box.setObjectName(name)
    box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    return box


def ask_affine_choice(parent, exc, on_choice: Callable[[str], None]) -> QtWidgets.QMessageBox:
    """qform and sform disagree: show both orientations and let the user choose."""
    lines = [f"  {name}: {''.join(nib.aff2axcodes(aff))}" for name, aff in exc.options.items()]
    box = _box(parent, "orientation_box", "Image orientation is ambiguous",
               f"{exc}\n\nOrientations in the header:\n" + "\n".join(lines) +
               "\n\nChoose one, then check the L/R labels on the slices against a known marker "
               "before navigating.")
    buttons = {box.addButton(f"Use {name}", QtWidgets.QMessageBox.ButtonRole.AcceptRole): name
               for name in exc.options}
    box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)

    def clicked(button: QtWidgets.QAbstractButton) -> None:
        if button in buttons:
            on_choice(buttons[button])

    box.buttonClicked.connect(clicked)
    box.open()
    return box


def ask_series(parent, exc, on_choice: Callable[[str], None]) -> QtWidgets.QInputDialog:
    """A DICOM folder with several series: pick the T1."""
    dialog = QtWidgets.QInputDialog(parent)
    dialog.setObjectName("series_dialog")
    dialog.setWindowTitle("Several DICOM series in this folder")
    dialog.setLabelText("Choose the T1-weighted series to open:")
    labels = [s.label() for s in exc.series]
    dialog.setComboBoxItems(labels)
    dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dialog.textValueSelected.connect(lambda text: on_choice(exc.series[labels.index(text)].uid))
    dialog.open()
    return dialog


def ask_orientation_confirmation(parent, volume,
                                 on_answer: Callable[[bool | None], None]) -> QtWidgets.QMessageBox:
    """No orientation in the header: navigation stays disabled until a person confirms L/R.

    ``on_answer(False)`` = left/right is correct, ``True`` = mirror it, ``None`` = decide later.
    """
    box = _box(parent, "confirm_orientation_box", "Confirm left and right",
               f"{volume.name} carries no orientation information, so tmsnav cannot know which side "
               "is the patient's left.\n\nLook at the axial slice: find a marker you know (a vitamin "
               "capsule taped on the left, a known lesion) and check it appears on the side labelled "
               "L. Navigation stays disabled until you confirm.")
    ok = box.addButton("Left/right is correct", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
    mirror = box.addButton("Mirror left/right", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
    later = box.addButton("Decide later", QtWidgets.QMessageBox.ButtonRole.RejectRole)
    answers = {ok: False, mirror: True, later: None}
    box.buttonClicked.connect(lambda b: on_answer(answers.get(b)))
    box.open()
    return box
