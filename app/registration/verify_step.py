"""Step 7: touch the head anywhere and read how far the tip is from the MRI scalp and landmarks.

The numbers come from the live pose of this tracking update only: when the pointer or the head
reference is not live they read "—", never the last value.
"""

from __future__ import annotations

from PySide6 import QtWidgets

from navigation.registration import check_pointer

from .base import MessageLabel, StepWidget, fmt_mm
from .context import display_name

__all__ = ["VerifyStep", "GOOD_SCALP_MM"]

GOOD_SCALP_MM = 3.0     # a tip on the skin should read within this of the MRI scalp


class VerifyStep(StepWidget):
    key = "verify"
    title = "7. Verify"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        intro = QtWidgets.QLabel(
            "Touch the head anywhere with the pointer tip: on the skin the scalp distance should "
            f"read within ±{GOOD_SCALP_MM:.0f} mm. Touch the landmarks (nasion, the ears) and "
            "check their distance. A tip reading several millimetres inside the head means the "
            "registration is off, not that the skin is soft.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        form = QtWidgets.QFormLayout()
        big = self.font()
        big.setPointSize(big.pointSize() + 8)
        big.setBold(True)
        self.scalp = QtWidgets.QLabel("—")
        self.scalp.setObjectName("verify_scalp")
        self.scalp.setFont(big)
        self.landmark = QtWidgets.QLabel("—")
        self.landmark.setObjectName("verify_landmark")
        self.landmark.setFont(big)
        self.tip = QtWidgets.QLabel("—")
        self.tip.setObjectName("verify_tip")
        form.addRow("Tip to scalp", self.scalp)
        form.addRow("Nearest landmark", self.landmark)
        form.addRow("Tip (mri)", self.tip)
        self.layout_.addLayout(form)
        self.reason = MessageLabel("verify_reason")
        self.layout_.addWidget(self.reason)
        self.done_button = QtWidgets.QPushButton("Verified: registration is good")
        self.done_button.setObjectName("verify_done")
        self.done_button.clicked.connect(lambda: self.outputChanged.emit(True))
        self.add_buttons(self.done_button)
        self.layout_.addStretch(1)

    def _blank(self, why: str) -> None:
        for label in (self.scalp, self.landmark, self.tip):
            label.setText("—")
            label.setStyleSheet("")
        self.reason.show_message(why, "warn")

    def enter(self) -> None:
        self.on_snapshot(self.ctx.tracking.last)

    def on_snapshot(self, snap) -> None:
        if self.ctx.state.mri_from_reference is None:
            self._blank("No registration is accepted yet.")
            return
        if snap is None or not snap.connected or snap.live is None:
            self._blank("The tracker is not connected.")
            return
        tip = snap.live.mri_from_pointer_tip
        if tip is None:
            self._blank(f"No live tip: {snap.live.pointer_reason or 'pointer not tracked'}.")
            return
        check = check_pointer(tip.translation, self.ctx.surface(), self.ctx.mri_fiducials)
        d = check.scalp_distance_mm
        self.scalp.setText(fmt_mm(d, 1, signed=True))
        good = d is not None and abs(d) <= GOOD_SCALP_MM
        self.scalp.setStyleSheet(f"color: {'#2e7d32' if good else '#ef6c00'}")
        nearest = check.nearest_landmark
        self.landmark.setText("—" if nearest is None else
                              f"{display_name(nearest[0])} {fmt_mm(nearest[1])}")
        x, y, z = check.tip_mri_mm
        self.tip.setText(f"({x:+.1f}, {y:+.1f}, {z:+.1f}) mm")
        self.reason.show_message("")

    def ready(self) -> tuple[bool, str]:
        return False, "This is the last step."
