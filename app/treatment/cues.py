"""Chairside cues: a sound when the coil comes on target and when tracking is lost, and a flash.

Why: during a treatment the operator watches the patient and the coil, not the screen.
The cue plays on the TRANSITION only (off target -> on target, tracked -> lost), never
continuously, so a coil sitting at the edge of the tolerance does not chatter faster than
:data:`MIN_REPEAT_NS`.

Sound: ``QApplication.beep()`` (the system bell). PySide6-Essentials, which tmsnav installs, has
no QtMultimedia, so there is no tone choice; the bell may be silent (muted system, no sound
device, a remote desktop), hence the visual fallback that always shows: a coloured strip with
the word ("ON TARGET" green, "TRACKING LOST" red) for :data:`FLASH_MS`. Sound can be turned off
with the "Sound cues" box; the flash stays.
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.guidance import GuidanceError, Tolerance

__all__ = ["Cues", "MIN_REPEAT_NS", "FLASH_MS"]

MIN_REPEAT_NS = 1_000_000_000
FLASH_MS = 1500
STYLES = {"on_target": "background: #2e7d32; color: white; font-size: 20px; font-weight: bold; padding: 4px",
          "lost": "background: #b00020; color: white; font-size: 20px; font-weight: bold; padding: 4px"}
WORDS = {"on_target": "ON TARGET", "lost": "TRACKING LOST"}


class Cues(QtWidgets.QWidget):
    """Feed it :meth:`guidance` with every guidance update (GuidancePanel.guidanceChanged)."""

    cue = QtCore.Signal(str)          # "on_target" | "lost", each time a cue is given

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.sound = QtWidgets.QCheckBox("Sound cues (on target, tracking lost)")
        self.sound.setObjectName("cue_sound")
        self.sound.setChecked(True)
        layout.addWidget(self.sound)
        self.flash = QtWidgets.QLabel("")
        self.flash.setObjectName("cue_flash")
        self.flash.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.flash.hide()
        layout.addWidget(self.flash)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLASH_MS)
        self._timer.timeout.connect(self.flash.hide)
        self.tolerance: Tolerance | None = None
        self.on_target = False
        self.tracked = False
        self.given: list[str] = []          # cues given (the tests read it; a session is a few hundred)
        self.beeps = 0
        self._last_ns: dict[str, int] = {}

    def set_tolerance(self, tolerance: Tolerance) -> None:
        self.tolerance = tolerance

    def guidance(self, err: GuidanceError | None, reason: str = "", now_ns: int | None = None) -> None:
        """One guidance update: the error now, or None with the reason (not tracked, no target)."""
        tracked = err is not None
        on = err is not None and self.tolerance is not None and err.on_target(self.tolerance)
        if self.tracked and not tracked and "target" not in reason:
            self._give("lost", now_ns)
        elif on and not self.on_target:
            self._give("on_target", now_ns)
        self.tracked, self.on_target = tracked, on

    def _give(self, kind: str, now_ns: int | None) -> None:
        now = time.monotonic_ns() if now_ns is None else now_ns
        if now - self._last_ns.get(kind, -MIN_REPEAT_NS) < MIN_REPEAT_NS:
            return
        self._last_ns[kind] = now
        self.given.append(kind)
        if self.sound.isChecked():
            QtWidgets.QApplication.beep()
            self.beeps += 1
        self.flash.setText(WORDS[kind])
        self.flash.setStyleSheet(STYLES[kind])
        self.flash.show()
        self._timer.start()
        self.cue.emit(kind)
