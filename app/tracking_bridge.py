"""Bridge from the acquisition thread to the GUI: a timer on the GUI thread polls the latest frames.

Polling (instead of a signal per device frame) keeps a 250 Hz tracker from flooding the Qt event
queue, and it makes a stalled GUI safe: when the event loop resumes, freshness is judged against
the monotonic clock *now*, so an old backlog is never drawn as live (docs/safety.md, GUI stall).

Pacing: the tick runs at up to ``ui_rate_hz`` (60 Hz: a 60 Hz tracker's every frame), but after
each tick the bridge measures how long the GUI thread stayed busy with it (the tick and the
repaints it caused, up to the event loop's next idle: ``aboutToBlock``) and holds the next tick
until that work is at most ``max_busy_share`` of the time. A slow render (software OpenGL, a
loaded machine) then lowers the frame rate instead of leaving no time for clicks and typing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from PySide6 import QtCore

from tmsnav.hardware.acquisition.core import Acquisition
from tmsnav.hardware.frames import ToolFrame, ToolStatus
from tmsnav.hardware.tracker import Tracker
from tmsnav.navigation.live_poses import LivePoses, ToolPose, compute_live_poses

from .app_state import AppState
from .switch_interval import FastSwitchInterval
from .tracking_advice import device_technology

log = logging.getLogger(__name__)

__all__ = ["TrackingBridge", "TrackingSnapshot", "ToolView", "ROLES"]

ROLES = ("reference", "pointer", "coil")

#: The GUI tick's top rate and the share of the GUI thread the ticks and their repaints may take
#: (the rest is idle for clicks and typing: measured, an input event waits at most ~40 ms while
#: the Navigate view draws 35 frames/s under software OpenGL; benchmarks/treatment.py).
UI_RATE_HZ = 60.0
MAX_BUSY_SHARE = 0.8

#: How long without any fresh frame before a connected device counts as silent (TRACKING LOST),
#: and the head reference not live before the window says so. Each pose is hidden at once by its
#: own staleness limit; this only keeps one late frame (a loaded machine, a serial link near its
#: limit) from flashing a window-wide alarm several times a second.
SILENCE_NS = 250_000_000


@dataclass(frozen=True)
class ToolView:
    """What the GUI shows for one tool: a light colour, a word, and the numbers behind it."""

    name: str
    light: str            # "green" tracked, "amber" warning/stale, "red" not tracked, "grey" no data
    text: str
    rate_hz: float
    quality_rms_mm: float | None
    frame: ToolFrame | None


@dataclass(frozen=True)
class TrackingSnapshot:
    connected: bool
    state: str
    tools: dict[str, ToolView]
    live: LivePoses | None
    roles: dict[str, str]                  # role -> device tool name
    now_ns: int
    stats_text: str = ""
    frames: dict[str, ToolFrame] = field(default_factory=dict)
    phase: str = ""                        # what the simulated technician is doing (demo only)
    device: str = ""                       # the device in use as its driver names it ("Polhemus Liberty")
    model: str = ""                        # the model in use when the driver has one ("liberty")
    technology: str = ""                   # "optical", "electromagnetic" or "" (app/tracking_advice.py)
    error: str = ""                        # why there is no tracking now; "" while tracking
    link_warning: str = ""                 # the link cannot carry the device's rate, with the remedy
    ever_tracked: bool = False             # this connection tracked once: a stop now is a loss
    receiving: bool = False                # fresh frames arrive (none for SILENCE_NS: silent)
    reference_lost: bool = False           # the head reference not live for SILENCE_NS or more

    def role_live(self, role: str) -> bool:
        view = self.tools.get(self.roles.get(role, role))
        return view is not None and view.light in ("green", "amber") and view.text != "stale"


def describe_tool(frame: ToolFrame | None, fresh: bool, rate_hz: float) -> tuple[str, str]:
    if frame is None:
        return "grey", "no data yet"
    if frame.status == ToolStatus.DISCONNECTED:
        return "grey", "disconnected"
    if not fresh:
        return "amber", "stale"
    if frame.status == ToolStatus.OK and frame.tracker_from_tool is not None:
        return "green", "tracked"
    if frame.status == ToolStatus.PARTIALLY_IN_VOLUME and frame.tracker_from_tool is not None:
        return "amber", "partly out of volume"
    return "red", frame.status.label


class TrackingBridge(QtCore.QObject):
    updated = QtCore.Signal(object)        # TrackingSnapshot, on the GUI thread
    connectionChanged = QtCore.Signal(bool)

    def __init__(self, state: AppState, parent: QtCore.QObject | None = None,
                 ui_rate_hz: float = UI_RATE_HZ,
                 clock_ns: Callable[[], int] = time.monotonic_ns, *,
                 max_busy_share: float = MAX_BUSY_SHARE) -> None:
        super().__init__(parent)
        #: The GUI's "now" for freshness; the acquisition stamps frames with time.monotonic_ns, so
        #: only tests replace it (to stand for a GUI thread that was blocked, without sleeping).
        self.clock_ns = clock_ns
        self.state = state
        self.acquisition: Acquisition | None = None
        self.description = ""
        self.tracker_kind = ""
        self.roles = {role: role for role in ROLES}
        self.last: TrackingSnapshot | None = None
        self.ui_rate_hz = float(ui_rate_hz)
        self._period_ns = int(1e9 / ui_rate_hz)
        self.max_busy_share = float(max_busy_share)
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setSingleShot(True)
        self._period_ms = max(1, round(self._period_ns / 1e6))
        self._timer.setInterval(self._period_ms)
        self._timer.timeout.connect(self._paced_tick)
        self._tick_started_ns: int | None = None  # a tick whose work has not yet gone idle
        self.busy_ms = 0.0                         # the last tick's GUI work (tick + repaints)
        dispatcher = QtCore.QAbstractEventDispatcher.instance(self.thread())
        if dispatcher is not None:
            dispatcher.aboutToBlock.connect(self._loop_idle)
        self.tracker_ref: Tracker | None = None   # the current driver object (demo truth, diagnostics)
        self._recording: tuple[Any, Callable[[], None]] | None = None  # (TrackingRecorder, unsubscribe)
        self.switch_interval = FastSwitchInterval()  # short GIL slices while a fast tracker runs
        self._ever_tracked = False
        self._lost_since_ns: int | None = None   # when tracking stopped (for the log on recovery)
        self._last_error = ""
        self._errors_when_tracking = 0           # the acquisition's error count when it last tracked
        self._last_fresh_ns: int | None = None   # when a fresh frame was last seen
        self._reference_down_ns: int | None = None  # since when the head reference is not live

    @property
    def connected(self) -> bool:
        return self.acquisition is not None

    def start(self, make_tracker: Callable[[], Tracker], description: str) -> None:
        """Start acquiring on a background thread (returns at once; see the snapshot state)."""
        self.stop()
        run = self.switch_interval.arm()

        def make() -> Tracker:
            tracker = make_tracker()
            if tracker.nominal_rate_hz > 100:
                # The GUI's Python work holds the GIL for up to 5 ms slices by default, enough to
                # skip half the frames of a 250 Hz device (docs/hardware-core.md, measured);
                # process-wide, so stop() restores it (app/switch_interval.py).
                self.switch_interval.shorten(run)
            self.tracker_ref = tracker
            self.tracker_kind = getattr(tracker, "kind", "")
            return tracker

        self.description = description
        self._ever_tracked, self._lost_since_ns, self._last_error = False, None, ""
        self._errors_when_tracking, self._last_fresh_ns, self._reference_down_ns = 0, None, None
        self.acquisition = Acquisition(make, name=description, reconnect=True)
        self.acquisition.start()
        self._timer.start(self._period_ms)
        self.connectionChanged.emit(True)

    # ----- recording (for bug reports and replay) -----------------------------------------
    def start_recording(self, path) -> None:
        """Write every device frame to ``path`` (JSON lines, replayable with 'replay:PATH').
        Raises RecordingError / TrackerError with a user message."""
        from tmsnav.hardware.errors import TrackerError
        from tmsnav.hardware.acquisition.recording import TrackingRecorder

        tracker = self.tracker_ref
        if self.acquisition is None or tracker is None:
            raise TrackerError("connect a tracker before recording")
        self.stop_recording()
        recorder = TrackingRecorder(path, device_kind=tracker.kind,
                                    tools=[t.name for t in tracker.tools()],
                                    nominal_rate_hz=tracker.nominal_rate_hz,
                                    notes=f"recorded by tmsnav from {self.description}")
        self._recording = (recorder, self.acquisition.subscribe(recorder.write))

    def stop_recording(self) -> int:
        """Stop and close the recording; returns the number of frames written."""
        recording, self._recording = self._recording, None
        if recording is None:
            return 0
        recorder, unsubscribe = recording
        unsubscribe()
        recorder.close()
        return recorder.frames_written

    @property
    def recording(self) -> bool:
        return self._recording is not None

    def stop(self) -> None:
        self.stop_recording()
        if self.acquisition is None:
            self.switch_interval.restore()
            return
        acq, self.acquisition = self.acquisition, None
        self._timer.stop()
        acq.stop()
        self.switch_interval.restore()
        self.tracker_ref = None
        self.connectionChanged.emit(False)
        self.last = None
        self.updated.emit(TrackingSnapshot(False, "disconnected", {}, None, dict(self.roles),
                                           self.clock_ns()))

    def _paced_tick(self) -> None:
        """The timer: one tick, then by default the next one a period later; :meth:`_loop_idle`
        moves it later when the tick's work took more than ``max_busy_share`` of the time."""
        self._tick_started_ns = self.clock_ns()
        self._timer.start(self._period_ms)
        self.tick()

    def _loop_idle(self) -> None:
        """The GUI event loop is about to wait: the last tick's work, repaints included, is done."""
        started, self._tick_started_ns = self._tick_started_ns, None
        if started is None or not self._timer.isActive():
            return
        now = self.clock_ns()
        busy = now - started
        self.busy_ms = busy / 1e6
        due = started + max(self._period_ns, int(busy / self.max_busy_share))
        self._timer.start(max(0, round((due - now) / 1e6)))

    def tick(self) -> TrackingSnapshot | None:
        acq = self.acquisition
        if acq is None:
            return None
        now = self.clock_ns()
        frames = acq.latest_all()
        stats = acq.stats
        state = acq.state
        tools: dict[str, ToolView] = {}
        poses: dict[str, ToolPose] = {}
        for name, frame in frames.items():
            fresh = acq.is_fresh(frame, now)
            if fresh and frame.status is not ToolStatus.DISCONNECTED:
                self._last_fresh_ns = now
            rate = float(stats.rate_hz.get(name, 0.0))
            light, text = describe_tool(frame, fresh, rate)
            tools[name] = ToolView(name, light, text, rate, frame.quality_rms_mm, frame)
            poses[name] = ToolPose(frame.tracker_from_tool, fresh and frame.is_trackable,
                                   frame.frame_number)
        receiving = self._last_fresh_ns is not None and now - self._last_fresh_ns <= SILENCE_NS
        error = self._follow_state(state == "tracking" and receiving, state, stats, now)
        s = self.state
        live = compute_live_poses(poses, mri_from_reference=s.mri_from_reference,
                                  pointer_from_tip=s.pointer_from_tip,
                                  coil_from_hotspot=s.coil_from_hotspot,
                                  reference=self.roles["reference"], pointer=self.roles["pointer"],
                                  coil=self.roles["coil"])
        tracker = self.tracker_ref
        phase = str(getattr(tracker, "phase", "") or "")
        snap = TrackingSnapshot(True, state, tools, live, dict(self.roles), now,
                                _stats_text(stats), frames, phase,
                                device=str(getattr(tracker, "kind", "") or ""),
                                model=_device_model(stats, tracker),
                                technology=device_technology(tracker), error=error,
                                link_warning=str(getattr(stats, "link_warning", "") or ""),
                                ever_tracked=self._ever_tracked, receiving=receiving)
        if snap.role_live("reference"):
            self._reference_down_ns = None
        elif self._reference_down_ns is None:
            self._reference_down_ns = now
        if now - (now if self._reference_down_ns is None else self._reference_down_ns) >= SILENCE_NS:
            snap = replace(snap, reference_lost=True)
        self.last = snap
        self.updated.emit(snap)
        return snap


    def _follow_state(self, tracking: bool, state: str, stats, now_ns: int) -> str:
        """Note losses and recoveries; return the error to show now ("" while tracking).

        ``tracking``: the device is connected and fresh frames arrive (the acquisition's
        "tracking" state alone comes before the first frame and stays through a silent stream).

        The acquisition keeps its last error after a recovery; showing it next to a running
        stream made users chase a fixed fault, so the screens get an error only while tracking
        is down, and only one recorded since tracking last ran (the error counter tells a new
        error from the old text). Each loss and recovery is logged: the history stays in the log.
        """
        if tracking:
            if self._lost_since_ns is not None:
                log.info("%s: tracking restored after %.1f s without tracking (last error: %s)",
                         self.description, (now_ns - self._lost_since_ns) / 1e9,
                         self._last_error or "none")
            self._ever_tracked, self._lost_since_ns, self._last_error = True, None, ""
            self._errors_when_tracking = stats.errors
            return ""
        if self._ever_tracked and self._lost_since_ns is None:
            self._lost_since_ns = now_ns
        if state.startswith("disconnected: "):
            self._last_error = state.removeprefix("disconnected: ")
        elif stats.errors > self._errors_when_tracking and stats.last_error:
            self._last_error = stats.last_error
        return self._last_error


def _device_model(stats, tracker) -> str:
    """The model the connected device reports (``AcquisitionStats.device_model``: "liberty",
    "vega"), else the one the driver was set up for; "" when neither is known."""
    return str(getattr(stats, "device_model", "") or getattr(tracker, "device_model", "")
               or getattr(tracker, "model", "") or "")


def _stats_text(stats) -> str:
    """Counters since connecting (the current error is shown on its own, see _follow_state)."""
    return ", ".join(f"{label} {value}" for label, value in (
        ("frames", stats.frames_received), ("dropped", stats.dropped),
        ("invalid", stats.invalid), ("reconnects", stats.reconnects)))
