"""Chairside guidance: the coil's live error to the active target as a bullseye and numbers.

Numbers come from :func:`tmsnav.navigation.guidance.guidance_error`; degrees only here at the UI edge.
Every number shows "—" when the coil, the head reference or the registration is not live:
the last value is never left on screen. A registration that no scalp touch has verified yet
(Registration tab, step 7) gives no numbers at all: "registration not verified: touch the scalp
in the Verify step" (:meth:`tmsnav.app.app_state.AppState.navigation_not_ready`).

The bullseye is drawn with the patient's anterior up by default (it then agrees with the
"Anterior (+)" and "Right (+)" numbers); "Handle up" turns it with the planned handle
(:mod:`tmsnav.app.bullseye`). Every update is also sent as :attr:`GuidancePanel.guidanceChanged`
so the large chairside layout (:mod:`tmsnav.app.chairside_view`) shows the very same numbers.
"""

from __future__ import annotations


import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.clinic_settings import format_distance
from tmsnav.navigation.guidance import (GuidanceError, Tolerance, anatomical_axes,
                                        coil_not_ready_reason, guidance_error)
from tmsnav.navigation.transforms import TransformError

from ..bullseye import ANTERIOR_UP, HANDLE_UP, Bullseye
from ..tracking_bridge import TrackingSnapshot

from ..window_protocols import GuidanceWindow

__all__ = ["GuidancePanel"]

DASH = "—"
VALUE_STYLE = "font-size: 18px; font-weight: bold"   # read from the chair: the large layout (Ctrl+L)
ORIENTATIONS = ((ANTERIOR_UP, "Anterior up (anatomical)"), (HANDLE_UP, "Handle up (coil view)"))


class GuidancePanel(QtWidgets.QWidget):
    #: (GuidanceError or None, reason it is None): every snapshot, for the chairside view.
    guidanceChanged = QtCore.Signal(object, str)
    orientationChanged = QtCore.Signal(str)
    toleranceChanged = QtCore.Signal(object)     # Tolerance

    def __init__(self, window: GuidanceWindow, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guidance_panel")
        self.main_window = window
        self.state = window.state
        self.last_error: GuidanceError | None = None
        self.distance_unit = "mm"     # shown unit only (Preferences > Display); mm inside
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
            value.setStyleSheet(VALUE_STYLE)
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

        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Bullseye"))
        self.orientation = QtWidgets.QComboBox()
        self.orientation.setObjectName("bullseye_orientation")
        for key, text in ORIENTATIONS:
            self.orientation.addItem(text, key)
        self.orientation.setToolTip("Anterior up: the drawing agrees with the anterior/right numbers. "
                                    "Handle up: the drawing turns with the planned coil handle. "
                                    "Both are seen from outside the head.")
        self.orientation.currentIndexChanged.connect(self._orientation_changed)
        row.addWidget(self.orientation, 1)
        layout.addLayout(row)
        self.large_button = QtWidgets.QPushButton("Large chairside layout (Ctrl+L)")
        self.large_button.setObjectName("large_layout_button")
        self.large_button.setToolTip("Numbers readable from 2 m and a large bullseye; Ctrl+L again "
                                     "returns to this layout")
        layout.addWidget(self.large_button)

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
        self.toleranceChanged.emit(self.bullseye.tolerance)

    def set_distance_unit(self, unit: str) -> None:
        """Show the distances in "mm" or "cm", each number with its unit (clinic settings)."""
        self.distance_unit = unit

    def bullseye_orientation(self) -> str:
        return str(self.orientation.currentData())

    def set_bullseye_orientation(self, orientation: str) -> None:
        """``"anatomical"`` (anterior up, the default) or ``"handle"``; ValueError otherwise."""
        index = self.orientation.findData(orientation)
        if index < 0:
            raise ValueError(f"unknown bullseye orientation {orientation!r}")
        self.orientation.setCurrentIndex(index)

    def _orientation_changed(self) -> None:
        self.bullseye.set_orientation(self.bullseye_orientation())
        self.orientationChanged.emit(self.bullseye_orientation())

    def _targets_changed(self) -> None:
        target = self.state.targets.active
        anterior = right = None
        if target is None:
            self.target_label.setText("No active target (add one in Planning)")
        else:
            self.target_label.setText(f"Target: <b>{target.name}</b> ({target.source})")
            try:
                anterior, right = anatomical_axes(target.mri_from_target)
            except TransformError:       # a normal along both axes: no anatomical letters
                pass
        self.bullseye.set_anatomical_axes(anterior, right)

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
        target = self.state.targets.active
        live = snap.live
        if reason or target is None or live is None or live.mri_from_hotspot is None:
            self.last_error = None
            self.bullseye.show_error(None, reason)
            for label in self.values.values():
                label.setText(DASH)
            if self.values["in_plane"].styleSheet() != VALUE_STYLE:   # no green dash after a loss
                self.values["in_plane"].setStyleSheet(VALUE_STYLE)
            self.mark_button.setEnabled(False)
            self.guidanceChanged.emit(None, reason)
            return
        err = guidance_error(target.mri_from_target, live.mri_from_hotspot)
        self.last_error = err
        self.bullseye.show_error(err)
        unit = self.distance_unit
        self.values["in_plane"].setText(format_distance(err.in_plane_mm, unit))
        self.values["anterior"].setText(format_distance(err.anterior_mm, unit, signed=True))
        self.values["right"].setText(format_distance(err.right_mm, unit, signed=True))
        self.values["depth"].setText(format_distance(err.depth_mm, unit, signed=True))
        self.values["tilt"].setText(f"{np.rad2deg(err.tilt_rad):.1f}°")
        self.values["twist"].setText(f"{np.rad2deg(err.twist_rad):+.1f}°")
        style = f"{VALUE_STYLE}; color: {self.bullseye.colour().name()}"
        if self.values["in_plane"].styleSheet() != style:   # re-polish only when the state changes
            self.values["in_plane"].setStyleSheet(style)
        self.mark_button.setEnabled(True)
        self.guidanceChanged.emit(err, "")

    def log_position(self) -> None:
        snap = self.main_window.tracking.last
        live = snap.live if snap is not None else None
        target = self.state.targets.active
        if self.last_error is None or live is None or live.mri_from_hotspot is None or target is None:
            self.status.setText("Nothing logged: the coil is not tracked live.")
            return
        session = self.state.session
        if session is None:
            self.status.setText("Open or create a session to keep a treatment log.")
            return
        session.events.append("coil_position", target=target.name,
                               mri_from_hotspot=live.mri_from_hotspot.matrix,
                               error=self.last_error.to_dict())
        self.status.setText(session.events.last_error or "Logged.")
