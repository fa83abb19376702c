"""Chairside guidance: the coil's live error to the active target as a bullseye and numbers.

Numbers come from :func:`tmsnav.navigation.guidance.guidance_error`; degrees only here at the UI edge.
Every number shows "—" when the coil, the head reference or the registration is not live:
the last value is never left on screen. A registration that no scalp touch has verified yet
(Registration tab, step 7) gives no numbers at all: "registration not verified: touch the scalp
in the Verify step" (:meth:`tmsnav.app.app_state.AppState.navigation_not_ready`).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from tmsnav.navigation.guidance import Tolerance, coil_not_ready_reason, guidance_error

from ..bullseye import Bullseye
from ..tracking_bridge import TrackingSnapshot

__all__ = ["GuidancePanel"]

DASH = "—"


class GuidancePanel(QtWidgets.QWidget):
    def __init__(self, window, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guidance_panel")
        self.window = window
        self.state = window.state
        self.last_error = None
        layout = QtWidgets.QVBoxLayout(self)
        self.target_label = QtWidgets.QLabel("No active target (add one in Planning)")
        self.target_label.setObjectName("guidance_target")
        self.target_label.setWordWrap(True)
        layout.addWidget(self.target_label)
        self.bullseye = Bullseye()
        layout.addWidget(self.bullseye, 1)

        grid = QtWidgets.QFormLayout()
        self.values: dict[str, QtWidgets.QLabel] = {}
        for key, label in (("in_plane", "Distance on scalp"), ("anterior", "Anterior (+) / posterior"),
                           ("right", "Right (+) / left"), ("depth", "Depth (+ pressing in)"),
                           ("tilt", "Tilt"), ("twist", "Handle twist")):
            value = QtWidgets.QLabel(DASH)
            value.setObjectName(f"guidance_{key}")
            value.setStyleSheet("font-size: 15px; font-weight: bold")
            grid.addRow(label, value)
            self.values[key] = value
        layout.addLayout(grid)

        tol = QtWidgets.QHBoxLayout()
        self.tol_mm = QtWidgets.QDoubleSpinBox()
        self.tol_mm.setRange(0.5, 20.0)
        self.tol_mm.setValue(3.0)
        self.tol_mm.setSuffix(" mm")
        self.tol_deg = QtWidgets.QDoubleSpinBox()
        self.tol_deg.setRange(1.0, 45.0)
        self.tol_deg.setValue(5.0)
        self.tol_deg.setSuffix(" °")
        for box in (self.tol_mm, self.tol_deg):
            box.valueChanged.connect(self._tolerance_changed)
        tol.addWidget(QtWidgets.QLabel("On target within"))
        tol.addWidget(self.tol_mm)
        tol.addWidget(self.tol_deg)
        layout.addLayout(tol)

        self.mark_button = QtWidgets.QPushButton("Log coil position")
        self.mark_button.setObjectName("log_position")
        self.mark_button.setToolTip("Write the current coil pose and its error to the session log")
        self.mark_button.clicked.connect(self.log_position)
        layout.addWidget(self.mark_button)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        window.tracking.updated.connect(self.show_snapshot)
        self.state.targetsChanged.connect(self._targets_changed)
        self._targets_changed()

    def _tolerance_changed(self) -> None:
        deg = np.deg2rad(self.tol_deg.value())
        self.bullseye.tolerance = Tolerance(self.tol_mm.value(), max(5.0, self.tol_mm.value()), deg, 2 * deg)
        self.bullseye.update()

    def _targets_changed(self) -> None:
        target = self.state.targets.active
        if target is None:
            self.target_label.setText("No active target (add one in Planning)")
        else:
            self.target_label.setText(f"Target: <b>{target.name}</b> ({target.source})")

    def _why_not(self, snap: TrackingSnapshot | None) -> str:
        if self.state.targets.active is None:
            return "no target"
        if snap is None or not snap.connected:
            return "tracker not connected"
        if self.state.navigation_block:
            return "navigation disabled"
        not_ready = self.state.navigation_not_ready()   # not registered, or not verified
        if not_ready:
            return not_ready
        coil = coil_not_ready_reason(self.state.coil_from_hotspot, self.state.coil_verification)
        if coil:
            return coil
        if snap.live is None or snap.live.mri_from_hotspot is None:
            return snap.live.coil_reason if snap.live is not None else "no data"
        return ""

    def show_snapshot(self, snap: TrackingSnapshot) -> None:
        reason = self._why_not(snap)
        if reason:
            self.last_error = None
            self.bullseye.show_error(None, reason)
            for label in self.values.values():
                label.setText(DASH)
            self.mark_button.setEnabled(False)
            return
        target = self.state.targets.active
        err = guidance_error(target.mri_from_target, snap.live.mri_from_hotspot)
        self.last_error = err
        self.bullseye.show_error(err)
        self.values["in_plane"].setText(f"{err.in_plane_mm:.1f} mm")
        self.values["anterior"].setText(f"{err.anterior_mm:+.1f} mm")
        self.values["right"].setText(f"{err.right_mm:+.1f} mm")
        self.values["depth"].setText(f"{err.depth_mm:+.1f} mm")
        self.values["tilt"].setText(f"{np.rad2deg(err.tilt_rad):.1f}°")
        self.values["twist"].setText(f"{np.rad2deg(err.twist_rad):+.1f}°")
        colour = self.bullseye.colour().name()
        self.values["in_plane"].setStyleSheet(f"font-size: 15px; font-weight: bold; color: {colour}")
        self.mark_button.setEnabled(True)

    def log_position(self) -> None:
        snap = self.window.tracking.last
        if self.last_error is None or snap is None or snap.live.mri_from_hotspot is None:
            self.status.setText("Nothing logged: the coil is not tracked live.")
            return
        session = self.state.session
        if session is None:
            self.status.setText("Open or create a session to keep a treatment log.")
            return
        session.events.append("coil_position", target=self.state.targets.active.name,
                               mri_from_hotspot=snap.live.mri_from_hotspot.matrix,
                               error=self.last_error.to_dict())
        self.status.setText(session.events.last_error or "Logged.")
