"""Each pulse source paired with the coil pose live at the pulse, checked against the simulated
tracker's hidden truth while the coil sweeps toward the head (up to ~130 mm/s, so a pulse stamped
on the wrong instant or the wrong clock gets a visibly wrong pose).

The chain is the app's: tracker frames (host_time_ns) -> PoseHistory; a source's PulseEvent
(host_time_ns) -> PoseHistory.pose_at. No wall-clock pacing: the test waits for frames."""

import os
import queue
import threading
import time
import tty
import uuid

import numpy as np
import pylsl
import pytest

from tmsnav.hardware.simulation.tracker import NoiseModel, SimulatedTracker
from tmsnav.hardware.triggers.key_source import KeySource
from tmsnav.hardware.triggers.lsl_markers import LslMarkerSource
from tmsnav.hardware.triggers.modem_lines import ModemLineSource
from tmsnav.hardware.triggers.ttl_serial import TtlSerialSource
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pose_history import DEFAULT_MAX_AGE_NS, PoseHistory

WAIT_S = 30.0


class TrackedCoil:
    """A noiseless simulated tracker read on its own thread; each frame's hotspot pose in mri goes
    into a PoseHistory, as the app's acquisition thread does."""

    def __init__(self):
        self.tracker = SimulatedTracker("coil_approach", approach_s=6.0, place_s=1.0, hold_s=60.0, rate_hz=60.0,
                                        noise=NoiseModel(position_rms_mm=0.0))
        truth = self.tracker.truth
        self.mri_from_reference = np.linalg.inv(truth.reference_from_head)
        self.coil_from_hotspot = truth.coil_from_hotspot
        self.history = PoseHistory()
        self.frames: list[int] = []
        self.new_frame = threading.Condition()
        self.stop = threading.Event()
        self.tracker.connect()
        self.tracker.start()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _hotspot(self, poses) -> np.ndarray:
        return self.mri_from_reference @ np.linalg.inv(poses["reference"]) @ poses["coil"] @ self.coil_from_hotspot

    def _run(self):
        while not self.stop.is_set():
            frames = self.tracker.read_frames(0.5)
            if not frames:
                continue
            poses = {f.tool: f.tracker_from_tool for f in frames}
            host_ns = frames[0].host_time_ns
            pose = Transform(Frame.MRI, Frame.HOTSPOT, self._hotspot(poses))
            self.history.add(host_ns, pose, True)
            with self.new_frame:
                self.frames.append(host_ns)
                self.new_frame.notify_all()

    def truth_at(self, host_ns: int) -> np.ndarray:
        """Where the hotspot really was at ``host_ns`` (the scenario at that instant)."""
        t_s = (host_ns - self.tracker._t0_ns) / 1e9
        return self._hotspot(self.tracker.scenario.poses_at(t_s))[:3, 3]

    def wait_frames(self, n: int = 1) -> None:
        with self.new_frame:
            target = len(self.frames) + n
            assert self.new_frame.wait_for(lambda: len(self.frames) >= target, WAIT_S)

    def wait_elapsed(self, t_s: float) -> None:
        with self.new_frame:
            assert self.new_frame.wait_for(lambda: self.tracker.elapsed_s >= t_s, WAIT_S)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5.0)
        self.tracker.close()


def max_speed_mm_per_s(coil: TrackedCoil, from_ns: int, to_ns: int) -> float:
    times = np.linspace(from_ns, to_ns, 60).astype(np.int64)
    points = np.array([coil.truth_at(int(t)) for t in times])
    return float(np.max(np.linalg.norm(np.diff(points, axis=0), axis=1) / (np.diff(times) / 1e9)))


def check_pulse(coil: TrackedCoil, made_ns: int, host_ns: int) -> float:
    """The pose at the pulse is the truth at the pulse, up to the coil's motion since the frame."""
    with coil.new_frame:
        assert coil.new_frame.wait_for(lambda: coil.history.covers(host_ns), WAIT_S)
    pose, reason = coil.history.pose_at(host_ns)
    assert pose is not None, reason
    frame_ns = max(t for t in coil.frames if t <= host_ns)
    assert host_ns - frame_ns <= DEFAULT_MAX_AGE_NS
    error_mm = float(np.linalg.norm(pose.matrix[:3, 3] - coil.truth_at(made_ns)))
    # the frame's pose is the truth at the frame's device time, at most its host time
    period_ns = int(1e9 / coil.tracker.nominal_rate_hz)
    window = (frame_ns - period_ns - DEFAULT_MAX_AGE_NS, max(host_ns, made_ns))
    assert error_mm <= max_speed_mm_per_s(coil, *window) * (window[1] - window[0]) / 1e9 + 1e-3
    return error_mm


@pytest.fixture
def coil():
    tracked = TrackedCoil()
    tracked.wait_elapsed(1.5)                           # the coil is sweeping fast from here to ~4.5 s
    yield tracked
    tracked.close()


def run_source(coil, source, make_pulse, n=5):
    events = queue.Queue()
    source.start(events.put)
    try:
        made = []
        for _ in range(n):
            coil.wait_frames(7)                           # pulses ~0.1 s apart, during the sweep
            made.append((make_pulse(), events.get(timeout=WAIT_S)))
        assert coil.tracker.elapsed_s < 5.0, "the pulses must fall in the sweep; the machine was too slow"
    finally:
        source.stop()
    slack = getattr(getattr(source, "clock", None), "uncertainty_ns", 0)
    assert all(made_ns <= event.host_time_ns + slack for made_ns, event in made)
    return [check_pulse(coil, made_ns, event.host_time_ns) for made_ns, event in made]


def test_ttl_adapter_pulses_get_the_pose_live_at_the_pulse(coil):
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        def pulse():
            made = time.monotonic_ns()
            os.write(master, b"\x01")
            return made
        run_source(coil, TtlSerialSource(os.ttyname(slave)), pulse)
    finally:
        os.close(master)
        os.close(slave)


def test_modem_line_pulses_get_the_pose_live_at_the_pulse(coil):
    class Line:
        cts = False
        dsr = ri = cd = False

        def close(self):
            pass
    line = Line()

    def pulse():
        line.cts = False
        coil.wait_frames(1)                               # the falling edge is read first
        made = time.monotonic_ns()
        line.cts = True
        return made
    run_source(coil, ModemLineSource("/dev/ttyS0", "CTS", debounce_s=0.0, line_factory=lambda: line), pulse)


def test_key_pulses_get_the_pose_live_at_the_pulse(coil):
    source = KeySource("F8", min_interval_s=0.0)

    def pulse():
        made = time.monotonic_ns()
        source.key_event("F8", pressed=True)
        source.key_event("F8", pressed=False)
        return made
    run_source(coil, source, pulse)


def test_lsl_marker_pulses_get_the_pose_at_the_senders_stamp_not_at_arrival(coil):
    name = f"tmsnav-test-pose-{uuid.uuid4().hex[:10]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, name))
    source = LslMarkerSource(name, resolve_timeout_s=5.0)

    def pulse():
        made = time.monotonic_ns()
        outlet.push_sample(["pulse"])
        return made
    run_source(coil, source, pulse, n=3)

    # A sender that stamps the trigger itself and pushes the marker 250 ms later:
    events = queue.Queue()
    source.start(events.put)
    try:
        coil.wait_frames(3)
        stamp = pylsl.local_clock()
        trigger_ns = source.clock.to_monotonic_ns(stamp)
        coil.wait_frames(15)                              # 250 ms of frames: the coil moved on
        pushed_ns = time.monotonic_ns()
        outlet.push_sample(["pulse"], stamp)
        event = events.get(timeout=WAIT_S)
        assert event.host_time_ns == trigger_ns
        error_mm = check_pulse(coil, trigger_ns, event.host_time_ns)
        moved_mm = float(np.linalg.norm(coil.truth_at(pushed_ns) - coil.truth_at(trigger_ns)))
        assert moved_mm > 10.0 and error_mm < moved_mm / 3     # the arrival time would have given a pose ~moved_mm off
    finally:
        source.stop()
