"""Step 7: touch the scalp and prove the accepted registration right before it is used.

The live numbers come from the pose of this tracking update only: when the pointer or the head
reference is not live they read "—", never the last value. Each time the tip is held still
(1 s, :class:`tmsnav.navigation.registration.sampling.HoldStillDetector`) the touch is judged by
:class:`tmsnav.navigation.registration.verification.ScalpVerification`: within ±3 mm of the MRI scalp,
away from the registration landmarks, at two places 30 mm apart. Only then is **Verified**
enabled, and only a verified registration drives the Navigate tab and the coil glyph
(:meth:`tmsnav.app.app_state.AppState.navigation_not_ready`). A touch reading more than 3 mm inside
the head shuts the gate until a new registration is accepted.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtWidgets

from tmsnav.navigation.registration import check_pointer
from tmsnav.navigation.registration.sampling import HoldStillDetector
from tmsnav.navigation.registration.verification import AGREE_MM, ScalpVerification

from .base import MessageLabel, StepWidget, fmt_mm
from .context import display_name

__all__ = ["VerifyStep", "GOOD_SCALP_MM"]

GOOD_SCALP_MM = AGREE_MM     # a tip on the skin should read within this of the MRI scalp
_MARKS = {"agrees": "✓", "inside": "✗", "off_skin": "–", "near_landmark": "–", "same_place": "–"}


class VerifyStep(StepWidget):
    key = "verify"
    title = "7. Verify"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        intro = QtWidgets.QLabel(
            "Touch the scalp with the pointer tip and hold still for 1 s at two places away from "
            "the landmarks (forehead, top of the head, the sides): on the skin each should read "
            f"within ±{GOOD_SCALP_MM:.0f} mm. Navigation stays off until they agree. A tip "
            "reading several millimetres inside the head means the registration is off, not "
            "that the skin is soft.")
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
        self.hold_bar = QtWidgets.QProgressBar()
        self.hold_bar.setObjectName("verify_hold")
        self.hold_bar.setRange(0, 1000)
        self.hold_bar.setFormat("holding still %p%")
        self.hold_bar.setMaximumHeight(14)
        self.layout_.addWidget(self.hold_bar)
        self.touch_list = QtWidgets.QLabel("")
        self.touch_list.setObjectName("verify_touches")
        self.touch_list.setWordWrap(True)
        self.layout_.addWidget(self.touch_list)
        self.reason = MessageLabel("verify_reason")
        self.layout_.addWidget(self.reason)
        self.status = MessageLabel("verify_status")
        self.layout_.addWidget(self.status)
        self.done_button = QtWidgets.QPushButton("Verified: registration is good")
        self.done_button.setObjectName("verify_done")
        self.done_button.clicked.connect(self.confirm)
        self.clear_button = QtWidgets.QPushButton("Clear touches")
        self.clear_button.setObjectName("verify_clear")
        self.clear_button.clicked.connect(self.reset)
        self.add_buttons(self.done_button, self.clear_button)
        self.layout_.addStretch(1)
        self.detector = HoldStillDetector()
        self._last_ns = 0
        self.verification = ScalpVerification()
        ctx.state.registrationChanged.connect(lambda _r: self.reset())
        self.reset()

    # ----- state --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the touches (a new registration, or the user asked)."""
        self.verification = ScalpVerification(dict(self.ctx.mri_fiducials))
        self.detector.reset()
        self.detector.mark_captured(None)
        self._show_status()

    def _show_status(self) -> None:
        state = self.ctx.state
        v = self.verification
        self.touch_list.setText("\n".join(f"{_MARKS[t.verdict]} {t.message}" for t in v.touches[-6:]))
        if state.registration is None:
            self.status.show_message("No registration is accepted yet: Verified stays off until "
                                     "a registration is accepted and touches agree with it.",
                                     "warn")
        elif state.registration_verified:
            self.status.show_message("Verified: navigation uses this registration.", "ok")
        elif self.ctx.surface() is None:
            self.status.show_message("This image has no scalp surface, so the registration "
                                     "cannot be checked on the skin: navigation stays off.",
                                     "error")
        else:
            level = "error" if v.blocked else ("ok" if v.verified else "info")
            self.status.show_message(v.status(), level)
        self.done_button.setEnabled(state.registration is not None
                                    and not state.registration_verified and v.verified)
        self.readyChanged.emit()

    def confirm(self) -> None:
        """The Verified button: record it; navigation may now use the registration."""
        try:
            self.ctx.state.set_registration_verified(self.verification)
        except ValueError as exc:                  # the button is disabled then; belt and braces
            self.status.show_message(f"Not verified: {exc}.", "error")
            return
        self.outputChanged.emit(True)
        self._show_status()

    # ----- live ---------------------------------------------------------------------------
    def _blank(self, why: str) -> None:
        for label in (self.scalp, self.landmark, self.tip):
            label.setText("—")
            label.setStyleSheet("")
        self.hold_bar.setValue(0)
        self.reason.show_message(why, "warn")

    def enter(self) -> None:
        self._last_ns = time.monotonic_ns()
        self.detector.reset()
        self._show_status()
        self.on_snapshot(self.ctx.tracking.last)

    def leave(self) -> None:
        self.detector.reset()
        self.hold_bar.setValue(0)

    def on_snapshot(self, snap) -> None:
        mri_from_reference = self.ctx.state.mri_from_reference
        if mri_from_reference is None:
            self._blank("No registration is accepted yet.")
            return
        if snap is None or not snap.connected or snap.live is None:
            self._blank("The tracker is not connected.")
            return
        tip = snap.live.mri_from_pointer_tip
        if tip is None:
            self.detector.reset()
            self._blank(f"No live tip: {snap.live.pointer_reason or 'pointer not tracked'}.")
            return
        surface = self.ctx.surface()
        check = check_pointer(tip.translation, surface, self.ctx.mri_fiducials)
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
        if surface is None or self.ctx.state.registration_verified:
            return
        for t_ns, point in self.ctx.paired_history("reference", self._last_ns):
            self.detector.add(t_ns / 1e9, point)   # held still relative to the head
            self._last_ns = t_ns
        hold = self.detector.state()
        self.hold_bar.setValue(int(1000 * hold.held_s / self.detector.window_s)
                               if hold.armed else 0)
        if hold.still:
            held = self.detector.held_point()
            self.detector.mark_captured(held)      # one judgement per hold
            held_mri = mri_from_reference.apply(np.asarray(held, float))
            self.verification.add(check_pointer(held_mri, surface, self.ctx.mri_fiducials))
            self._show_status()

    def ready(self) -> tuple[bool, str]:
        return False, "This is the last step."
