"""Draw live tracking: pointer and coil glyphs in 3-D, the pointer tip on the slices, and say
why whenever a pose cannot be shown as live: the window-wide banner (app/tracking_banner.py, seen
in every tab), short lines in the 3-D view, and the tracker's real state in the status bar.

A glyph is hidden (never frozen at its last pose) as soon as its pose is stale or missing. The
words come from app/tracking_status.py so every place says the same thing.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.guidance import coil_not_ready_reason

from .slice_view import Marker
from .tool_glyphs import coil_glyph, pointer_glyph
from .tracking_banner import install_banner
from .tracking_bridge import TrackingSnapshot
from .tracking_status import TrackingAlert, tracking_alert

__all__ = ["TrackingDisplay"]


class TrackingDisplay(QtCore.QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.view3d = window.view3d
        self.state = window.state
        self._glyph_keys: dict[str, object] = {}
        self.banner = install_banner(window)
        self.banner.trackerTabRequested.connect(self._open_tracker_tab)
        self.status_label = QtWidgets.QLabel("Tracker: not connected")
        self.status_label.setObjectName("tracker_status")
        window.statusBar().addPermanentWidget(self.status_label)
        self.alert = tracking_alert(None)
        self._show_alert(self.alert)
        window.tracking.updated.connect(self.show)
        self.state.calibrationChanged.connect(lambda _: self._glyph_keys.clear())

    def _ensure_glyphs(self) -> None:
        tip = None if self.state.pointer_from_tip is None else self.state.pointer_from_tip.translation
        key = None if tip is None else tuple(np.round(tip, 3))
        if self._glyph_keys.get("pointer", "none") != key or not self.view3d.has_overlay("pointer"):
            self.view3d.set_overlay("pointer", pointer_glyph(tip), color="#4fc3f7",
                                    smooth_shading=True)
            self._glyph_keys["pointer"] = key
        definition = self.state.coil_definition
        ckey = getattr(definition, "model_id", "generic")
        if self._glyph_keys.get("coil") != ckey or not self.view3d.has_overlay("coil"):
            casing = definition.drawing_mesh() if hasattr(definition, "drawing_mesh") else None
            self.view3d.set_overlay("coil", coil_glyph(casing), color="#7e57c2", opacity=0.85,
                                    smooth_shading=True, line_width=4)
            self._glyph_keys["coil"] = ckey

    def _open_tracker_tab(self) -> None:
        """The banner's button: the Tracker tab, bringing back a side panel that was put away."""
        window = self.window
        chairside = getattr(window, "chairside", None)
        if chairside is not None and getattr(chairside, "large", False):
            chairside.set_large(False)
        dock = getattr(window, "_dock", None)
        if dock is not None and not dock.isVisible():
            if chairside is not None:
                chairside.set_side_panel_visible(True)
            else:
                dock.show()
        window.panels.setCurrentWidget(window.tracker_panel)

    def _show_alert(self, alert: TrackingAlert) -> None:
        """The window banner and the status bar (the 3-D lines are set with the glyphs)."""
        self.banner.show_alert(alert.headline if alert.banner else "",
                               alert.detail if alert.banner else "", alert.color)
        if self.status_label.text() != alert.status:
            self.status_label.setText(alert.status)
            self.status_label.setStyleSheet(f"color: {alert.color}; font-weight: bold;")

    def show(self, snap: TrackingSnapshot) -> None:
        self.alert = alert = tracking_alert(snap, self.window.tracking.description)
        self._show_alert(alert)
        if not snap.connected or snap.live is None:
            changed = [self.view3d.set_overlay_matrix(name, None, render=False)
                       for name in ("pointer", "coil")]
            if any(changed):
                self.view3d.request_render()
            self.view3d.set_banner(self.state.navigation_block
                                   or (alert.view_text if alert.banner else ""))
            self.window.set_markers("pointer", [])
            return
        self._ensure_glyphs()
        live = snap.live
        blocked = self.state.navigation_block
        # An unverified registration: the pointer is drawn (the Verify step needs to see where
        # the tip lands) but never the coil, and the banner says why.
        unverified = "" if blocked else self.state.navigation_not_ready()
        tip = None if blocked else live.mri_from_pointer_tip
        coil_unverified = coil_not_ready_reason(self.state.coil_from_hotspot,
                                                self.state.coil_verification)
        hot = None if blocked or unverified or coil_unverified else live.mri_from_hotspot
        moved = [self.view3d.set_overlay_matrix("pointer", None if tip is None else tip.matrix, render=False),
                 self.view3d.set_overlay_matrix("coil", None if hot is None else hot.matrix, render=False)]
        if any(moved):
            self.view3d.request_render()  # one render per tick, none when nothing moved
        markers = [] if tip is None else [Marker(tuple(tip.translation), "#4fc3f7", "tip")]
        self.window.set_markers("pointer", markers)
        not_verified = unverified if tip is not None or live.mri_from_hotspot is not None else ""
        if not_verified:                  # short lines fit a narrow 3-D view
            not_verified = "REGISTRATION\nNOT VERIFIED\nVerify: touch scalp"
        # whole-system problems only; per-tool states live in the tracker and guidance panels
        self.view3d.set_banner(blocked or (alert.view_text if alert.banner else "") or not_verified)
