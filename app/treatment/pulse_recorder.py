"""Every pulse, from any source, logged with the coil pose live at its instant.

Two threads race: the tracker acquisition (a frame batch at 60-250 Hz) and a pulse source's
reader (the stimulator's or a trigger's). Both stamp ``time.monotonic_ns()`` when their bytes
were seen. This module feeds every frame batch's hotspot pose into a
:class:`~tmsnav.navigation.treatment.pulse_log.PulsePairer` ON THE ACQUISITION THREAD (the GUI's
paced snapshot (at most 60 Hz) would miss most frames and add its own delay), and pulses go in on their source's
thread, so a pulse is paired with the pose of the latest frame at or before it; when that frame
is older than the tracker's staleness limit, or the coil or head reference was not tracked, or
navigation was not allowed (no verified registration, uncalibrated coil), the pulse is logged as
"pose unknown" with the reason, never with an older pose (docs/treatment.md, "Safety behaviour").

Logged pulses reach the GUI through :attr:`PulseRecorder.pulseLogged` (queued). The pairer's own
writer thread decides and writes (the event log's fsync never runs on the acquisition thread)
and decides a pulse by itself while the tracker is silent; the GUI timer's poll is a fallback.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np
from PySide6 import QtCore

from tmsnav.hardware.frames import ToolFrame
from tmsnav.hardware.stimulators.base import PulseEvent
from tmsnav.navigation.guidance import Tolerance, coil_not_ready_reason
from tmsnav.navigation.live_poses import ToolPose, compute_live_poses
from tmsnav.navigation.treatment.pose_history import DEFAULT_MAX_AGE_NS, PoseHistory
from tmsnav.navigation.treatment.pulse_log import LoggedPulse, PulseLog, PulsePairer

__all__ = ["PulseRecorder"]

log = logging.getLogger(__name__)


class PulseRecorder(QtCore.QObject):
    """Owns the pulse log of this run of the Treatment tab and what feeds it."""

    pulseLogged = QtCore.Signal(object)          # LoggedPulse, on the GUI thread

    def __init__(self, window, parent: QtCore.QObject | None = None, *,
                 max_age_ns: int = DEFAULT_MAX_AGE_NS, poll_ms: int = 20) -> None:
        super().__init__(parent)
        self.window = window
        self.state = window.state
        self.log = PulseLog()
        self.history = PoseHistory()
        self.pairer = PulsePairer(self.log, self.history, max_age_ns=max_age_ns)
        self.pairer.start()
        self.log.add_listener(self.pulseLogged.emit)      # from whichever thread logged it
        self._unsubscribe: Callable[[], None] | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.pairer.poll)
        self._timer.start()
        window.tracking.connectionChanged.connect(self._follow_tracker)
        self._last_session = None                         # the last session pulses were logged into
        self.state.sessionChanged.connect(self._follow_session)
        self._follow_session(self.state.session)
        self._follow_tracker(window.tracking.connected)

    # ----- inputs -------------------------------------------------------------------------------
    def submit(self, event: PulseEvent) -> None:
        """Any thread: one pulse, with the target active now (logged once its pose is settled)."""
        self.pairer.submit(event, self.state.targets.active)

    def set_tolerance(self, tolerance: Tolerance) -> None:
        self.log.set_tolerance(tolerance)

    def add_frames(self, frames: list[ToolFrame]) -> None:
        """Acquisition thread: one device frame batch (all tools seen at one instant)."""
        if not frames:
            return
        roles = self.window.tracking.roles
        acquisition = self.window.tracking.acquisition
        if acquisition is not None:     # the Navigate view's own limit: 3 periods (link rate), <= 100 ms
            self.pairer.max_age_ns = int(acquisition.staleness_limit_s * 1e9)
        coil = next((f for f in frames if f.tool == roles["coil"]), None)
        time_ns = coil.host_time_ns if coil is not None else max(f.host_time_ns for f in frames)
        reason = self._not_allowed()
        if reason:
            self.pairer.add_frame(time_ns, None, False, reason)
            return
        poses = {f.tool: ToolPose(f.tracker_from_tool, f.is_trackable, f.frame_number) for f in frames}
        s = self.state
        live = compute_live_poses(poses, mri_from_reference=s.mri_from_reference,
                                  pointer_from_tip=s.pointer_from_tip, coil_from_hotspot=s.coil_from_hotspot,
                                  reference=roles["reference"], pointer=roles["pointer"], coil=roles["coil"])
        pose = live.mri_from_hotspot
        self.pairer.add_frame(time_ns, pose, pose is not None, live.coil_reason or "coil not tracked")

    def _not_allowed(self) -> str:
        """Why no pose may be logged now (the Navigate tab's own gates), "" when it may."""
        s = self.state
        if s.navigation_block:
            return "navigation disabled"
        not_ready = s.navigation_not_ready()
        if not_ready:
            return not_ready
        return coil_not_ready_reason(s.coil_from_hotspot, s.coil_verification) or ""

    # ----- wiring -------------------------------------------------------------------------------
    def _follow_tracker(self, connected: bool) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        acquisition = self.window.tracking.acquisition
        if connected and acquisition is not None:
            self._unsubscribe = acquisition.subscribe(self.add_frames)

    def _follow_session(self, session) -> None:
        """Pulses are written to the open session's append-only event log as they happen; another
        session (the next sitting of a course) starts a fresh count, so its summary and the
        chairside counter are that session's alone."""
        last, events = self._last_session, None if session is None else session.events
        if session is not None and last is not None and session is not last:
            self.log.start_over(events)
        else:
            self.log.event_log = events
        if session is not None:
            self._last_session = session

    def statistics_text(self) -> str:
        st = self.log.statistics()
        if not st.n:
            return "no pulses"
        pct = "—" if st.fraction_on_target is None else f"{100 * st.fraction_on_target:.0f} %"
        med = "—" if st.median_error_mm is None else f"{st.median_error_mm:.1f} mm"
        return f"{st.n} pulses, {pct} on target, median {med}, {st.n_pose_unknown} pose unknown"

    def stop(self) -> None:
        self._timer.stop()
        self.pairer.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


def error_series(pulses: list[LoggedPulse]) -> tuple[np.ndarray, np.ndarray]:
    """(pulse index, position error mm) of the pulses with a measured error."""
    pts = [(p.index, p.position_error_mm) for p in pulses if p.position_error_mm is not None]
    if not pts:
        return np.zeros(0), np.zeros(0)
    arr = np.asarray(pts, float)
    return arr[:, 0], arr[:, 1]
