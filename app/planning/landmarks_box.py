"""The four head landmarks used by 10-20, Beam F3 and the 5-cm rule: where each one comes from
(the image's fiducials, the cursor, or estimated) and buttons to set them from the cursor."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.targeting.planning import find_fiducial

from .context import LANDMARK_NAMES

__all__ = ["LandmarksBox", "LANDMARK_LABELS"]

LANDMARK_LABELS = {"nasion": "Nasion", "inion": "Inion", "lpa": "LPA", "rpa": "RPA"}


def _xyz(p) -> str:
    return "({:+.0f}, {:+.0f}, {:+.0f})".format(*np.asarray(p, float))


class LandmarksBox(QtWidgets.QGroupBox):
    setRequested = QtCore.Signal(str)      # landmark name: take it from the cursor
    clearRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Head landmarks", parent)
        self.setObjectName("landmarks_box")
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        self.labels: dict[str, QtWidgets.QLabel] = {}
        for row, name in enumerate(LANDMARK_NAMES):
            grid.addWidget(QtWidgets.QLabel(LANDMARK_LABELS[name]), row, 0)
            label = QtWidgets.QLabel("not set")
            label.setObjectName(f"landmark_{name}")
            label.setWordWrap(True)
            self.labels[name] = label
            grid.addWidget(label, row, 1)
            button = QtWidgets.QPushButton("Set from cursor")
            button.setObjectName(f"set_{name}")
            button.setToolTip(f"Use the cursor position as the {LANDMARK_LABELS[name]}")
            button.clicked.connect(lambda _=False, n=name: self.setRequested.emit(n))
            grid.addWidget(button, row, 2)
        clear = QtWidgets.QPushButton("Use the image's fiducials again")
        clear.clicked.connect(self.clearRequested)
        grid.addWidget(clear, len(LANDMARK_NAMES), 0, 1, 3)
        grid.setColumnStretch(1, 1)

    def show_landmarks(self, fiducials: dict | None, overrides: dict,
                       estimated: dict | None = None) -> None:
        """``estimated``: landmarks computed by the last job (the inion when none was marked)."""
        for name in LANDMARK_NAMES:
            label = self.labels[name]
            if overrides.get(name) is not None:
                text, color = f"cursor {_xyz(overrides[name])}", "#1565c0"
            elif (p := find_fiducial(fiducials, name)) is not None:
                text, color = f"image {_xyz(p)}", "#2e7d32"
            elif estimated and estimated.get(name) is not None:
                text, color = f"estimated {_xyz(estimated[name])}: set it for accuracy", "#ef6c00"
            elif name == "inion":
                text, color = "not marked: will be estimated", "#ef6c00"
            else:
                text, color = "not set: put the cursor on it, press Set", "#c62828"
            label.setText(text)
            label.setStyleSheet(f"color: {color}")
