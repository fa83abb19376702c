"""Step 2: pointer pivot calibration (tip offset), or keep the calibration that exists.

The recording runs until the pointer has been tilted enough (about two axes) and the fit holds,
not for a fixed time (:class:`tmsnav.navigation.registration.pivot_recording.PivotRecorder`,
issue 12): the bar shows the rotation coverage, a slipped tip is refused at once and a pointer
that is not pivoted is given up after "Give up after" with the cause.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtWidgets

from tmsnav.navigation.registration.pivot import PivotCalibration
from tmsnav.navigation.registration.pivot_recording import (DEFAULT_MAX_TIME_S, PivotOutcome,
                                                            PivotProgress, PivotRecorder)

from .base import MessageLabel, StepWidget, fmt_mm

__all__ = ["PivotStep"]

HISTORY_S = 4.0       # how far back each tick looks for pointer frames it has not seen yet


class PivotStep(StepWidget):
    key = "pivot"
    title = "2. Pointer pivot calibration"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        intro = QtWidgets.QLabel(
            "Put the pointer tip in the calibration divot, press Start, and keep the tip in the "
            "divot while tilting the pointer in a slow circle (a cone of about ±20°). The "
            "recording stops by itself once the pointer has been tilted enough.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        self.existing = MessageLabel("pivot_existing")
        self.layout_.addWidget(self.existing)
        form = QtWidgets.QFormLayout()
        self.max_time = QtWidgets.QDoubleSpinBox()
        self.max_time.setObjectName("pivot_max_time")
        self.max_time.setRange(2.0, 120.0)
        self.max_time.setValue(DEFAULT_MAX_TIME_S)
        self.max_time.setDecimals(0)
        self.max_time.setSuffix(" s")
        self.max_time.setToolTip("Stop and say why if the pointer has not been tilted enough by "
                                 "then.")
        form.addRow("Give up after", self.max_time)
        self.layout_.addLayout(form)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setObjectName("pivot_start")
        self.start_button.clicked.connect(self.toggle)
        self.add_buttons(self.start_button)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("pivot_progress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("rotation coverage %p%")
        self.layout_.addWidget(self.progress)
        self.live = QtWidgets.QLabel("")
        self.live.setObjectName("pivot_live")
        self.live.setWordWrap(True)
        self.layout_.addWidget(self.live)
        self.result = MessageLabel("pivot_result")
        self.layout_.addWidget(self.result)
        self.accept_button = QtWidgets.QPushButton("Accept calibration")
        self.accept_button.setObjectName("pivot_accept")
        self.accept_button.clicked.connect(self.accept)
        self.redo_button = QtWidgets.QPushButton("Redo")
        self.redo_button.setObjectName("pivot_redo")
        self.redo_button.clicked.connect(self.redo)
        self.add_buttons(self.accept_button, self.redo_button)
        self.layout_.addStretch(1)
        self.collecting = False
        self.pending: PivotCalibration | None = None     # waiting for Accept
        self.recorder: PivotRecorder | None = None
        self._last_ns = 0
        self._update_buttons()

    # ----- flow ---------------------------------------------------------------------------
    def enter(self) -> None:
        self._show_existing()

    def leave(self) -> None:
        if self.collecting:
            self.cancel("Recording stopped: you left the step.")

    def _show_existing(self) -> None:
        s = self.ctx.state
        if s.pointer_from_tip is None:
            self.existing.show_message("")
            return
        tip = np.asarray(s.pointer_from_tip.translation)
        rms = getattr(s.pointer_calibration, "rms_mm", None)
        extra = "" if rms is None else f", residual {rms:.2f} mm RMS"
        self.existing.show_message(
            f"A pointer calibration already exists (tip {np.linalg.norm(tip):.1f} mm from the "
            f"marker{extra}). You may keep it and press Next, or record a new one.", "ok")

    def toggle(self) -> None:
        if self.collecting:
            self.cancel("Recording cancelled.")
        else:
            self.start()

    def start(self) -> None:
        if self.ctx.tracking.acquisition is None:
            self.result.show_message("The tracker is not connected: connect it in the Tracker "
                                     "tab.", "error")
            return
        self.pending = None
        self._last_ns = time.monotonic_ns()
        self.recorder = PivotRecorder(self._last_ns / 1e9, max_time_s=self.max_time.value())
        self.collecting = True
        self.progress.setValue(0)
        self.result.show_message("")
        self.live.setText("Waiting for pointer frames…")
        self._update_buttons()

    def cancel(self, why: str) -> None:
        self.collecting = False
        self.progress.setValue(0)
        self.result.show_message(why, "warn")
        self._update_buttons()

    def on_snapshot(self, snap) -> None:
        rec = self.recorder
        if not self.collecting or rec is None:
            return
        acq = self.ctx.tracking.acquisition
        if acq is None:
            self.cancel("The tracker was disconnected during the recording.")
            return
        new = [f for f in acq.history(self.ctx.tool("pointer"), HISTORY_S)
               if f.host_time_ns > self._last_ns]    # each frame once, even when the GUI is late
        if new:
            self._last_ns = new[-1].host_time_ns
        # looked at in the frames' own time: a late GUI still stops at the right frame
        progress = rec.feed(((f.host_time_ns / 1e9,
                              np.asarray(f.tracker_from_tool) if f.is_trackable else None)
                             for f in new), time.monotonic())
        self.progress.setValue(int(1000 * progress.fraction))
        self._show_live(snap, progress)
        if progress.outcome.finished:
            self._finish(progress)

    def _show_live(self, snap, progress: PivotProgress) -> None:
        rec = self.recorder
        cov = progress.coverage
        target = np.degrees(rec.target_tilt_rad) if rec is not None else 30.0
        need = rec.target_samples if rec is not None else 0
        parts = [f"tilted {np.degrees(cov.first_rad):.0f}° × {np.degrees(cov.second_rad):.0f}° "
                 f"(need {target:.0f}° × {target:.0f}°)",
                 f"{cov.n_samples} samples (need {need})",
                 f"{progress.elapsed_s:.0f} of {self.max_time.value():.0f} s"]
        if snap is not None and not snap.role_live("pointer"):
            parts.append("pointer NOT TRACKED")
        self.live.setText(" · ".join(parts))

    def _finish(self, progress: PivotProgress) -> None:
        self.collecting = False
        cal = progress.calibration
        if progress.outcome is not PivotOutcome.DONE or cal is None:
            self.pending = None
            self.result.show_message(f"Calibration refused: {progress.message}", "error")
        else:
            self.pending = cal
            tip = cal.tip_offset_mm
            note = f"\n{progress.message}" if progress.message else ""
            self.result.show_message(
                f"Tip offset ({tip[0]:+.1f}, {tip[1]:+.1f}, {tip[2]:+.1f}) mm, "
                f"{np.linalg.norm(tip):.1f} mm from the marker.\n"
                f"Residual {fmt_mm(cal.rms_mm, 2)} RMS (max {fmt_mm(cal.max_residual_mm, 2)}), "
                f"{cal.n_samples} samples in {progress.elapsed_s:.1f} s, span "
                f"{np.degrees(cal.rotation_span_rad):.0f}°, cone "
                f"{np.degrees(cal.cone_angle_rad):.0f}°.{note}\nPress Accept to use it.",
                "ok" if not progress.message else "warn")
        self._update_buttons()

    def accept(self) -> None:
        cal = self.pending
        if cal is None:
            return
        self.ctx.state.set_pointer_calibration(cal, cal.tip_offset_mm)
        self.pending = None
        self.result.show_message(f"Accepted: tip {np.linalg.norm(cal.tip_offset_mm):.1f} mm "
                                 f"from the marker, {fmt_mm(cal.rms_mm, 2)} RMS.", "ok")
        self._show_existing()
        self._update_buttons()
        self.outputChanged.emit(True)
        self.readyChanged.emit()

    def redo(self) -> None:
        self.pending = None
        self.progress.setValue(0)
        self.live.setText("")
        self.result.show_message("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.start_button.setText("Cancel" if self.collecting else "Start")
        self.accept_button.setEnabled(self.pending is not None and not self.collecting)
        self.redo_button.setEnabled(not self.collecting)
        self.max_time.setEnabled(not self.collecting)

    def capture(self) -> bool:
        """Footswitch: start (or cancel) a recording."""
        self.toggle()
        return True

    def ready(self) -> tuple[bool, str]:
        if self.collecting:
            return False, "Recording the pivot calibration…"
        if self.ctx.state.pointer_from_tip is None:
            return False, "Calibrate the pointer first (Start, then Accept)."
        return True, ""
