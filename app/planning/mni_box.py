"""MNI registration group: one button runs the cached 12-parameter affine registration on the
worker thread; the label says how it was done, how long it took and how well it fits."""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.targeting.planning import mri_to_mni

__all__ = ["MniBox", "mni_cursor_text", "describe_registration"]


def mni_cursor_text(mni_registration, cursor_mri_mm) -> str:
    """Status-bar suffix with the cursor in MNI152 mm, or "" before MNI registration."""
    if mni_registration is None:
        return ""
    x, y, z = mri_to_mni(mni_registration.mri_from_mni, np.asarray(cursor_mri_mm, float))
    return f"   MNI ({x:+.1f}, {y:+.1f}, {z:+.1f}) mm"


def describe_registration(reg) -> str:
    similarity = getattr(reg, "similarity", float("nan"))
    seconds = getattr(reg, "seconds", 0.0)
    method = str(reg.method).split(",")[0].split(":")[0].split("(")[0].strip()
    parts = [f"<b>Registered to MNI152</b>: {method}"]
    if getattr(reg, "from_cache", False):
        parts.append("loaded from this image's cache" + (
            f" (first computed in {seconds:.1f} s)" if seconds and math.isfinite(seconds) else ""))
    elif seconds and math.isfinite(seconds):
        parts.append(f"computed in {seconds:.1f} s")
    if math.isfinite(similarity):
        parts.append(f"similarity (mutual information) {similarity:.3f}")
    return "; ".join(parts) + ". Check a known landmark: the status bar shows the cursor in MNI."


class MniBox(QtWidgets.QGroupBox):
    registerRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("MNI registration", parent)
        self.setObjectName("mni_box")
        layout = QtWidgets.QVBoxLayout(self)
        self.button = QtWidgets.QPushButton("Register this MRI to MNI space")
        self.button.setObjectName("mni_register")
        self.button.setToolTip("12-parameter affine fit to the MNI152 template (about 15-20 s the "
                               "first time on two cores; cached per image afterwards). Needed for "
                               "published MNI targets and MNI coordinates.")
        self.button.clicked.connect(self.registerRequested)
        layout.addWidget(self.button)
        self.status = QtWidgets.QLabel("Not registered: published (MNI) targets are unavailable.")
        self.status.setObjectName("mni_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

    def show_registration(self, reg) -> None:
        self.status.setToolTip("" if reg is None else str(reg.method))
        if reg is None:
            self.status.setText("Not registered: published (MNI) targets are unavailable.")
            self.button.setText("Register this MRI to MNI space")
        else:
            self.status.setText(describe_registration(reg))
            self.button.setText("Register again")
