"""Acquisition thread: staleness, unplug/reconnect, error survival, drops, pairing, subscribers."""

from __future__ import annotations

import queue
import random
import threading
import time

import numpy as np
import pytest

from tmsnav.hardware.acquisition.core import Acquisition
from tmsnav.hardware.errors import ProtocolError, TrackerConnectionError
from tmsnav.hardware.frames import ToolFrame, ToolStatus
from tmsnav.hardware.simulation.tracker import SimulatedTracker
from tmsnav.hardware.tracker import ToolInfo, Tracker


def wait_for(condition, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return False


class ScriptedTracker(Tracker):
    """A tracker whose frames (or exceptions) the test pushes one batch at a time."""

    kind = "scripted"

    def __init__(self, rate_hz: float = 60.0, tools=("coil", "reference"), clock=time.monotonic_ns):
        self.rate_hz, self.names, self.clock = rate_hz, tools, clock
        self.batches: queue.Queue = queue.Queue()
        self.closed = 0

    @property
    def nominal_rate_hz(self) -> float:
        return self.rate_hz

    def connect(self) -> None:
        pass

    def tools(self) -> list[ToolInfo]:
        return [ToolInfo(n, str(i)) for i, n in enumerate(self.names)]

    def start(self) -> None:
        pass

    def push(self, frame_number, tools=None, status=ToolStatus.OK) -> None:
        pose = np.eye(4) if status is ToolStatus.OK else None
        self.batches.put([ToolFrame(t, pose, status, 0.1, frame_number, host_time_ns=self.clock())
                          for t in (tools or self.names)])

    def read_frames(self, timeout_s: float = 0.5) -> list[ToolFrame]:
        try:
            item = self.batches.get(timeout=timeout_s)
        except queue.Empty:
            return []
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.closed += 1


class FakeClock:
    def __init__(self) -> None:
        self.now_ns = 5_000_000_000

    def __call__(self) -> int:
        return self.now_ns


def started(tracker: Tracker, **kw) -> Acquisition:
    acq = Acquisition(lambda: tracker, name="test", **kw)
    acq.start()
    assert wait_for(lambda: acq.state == "tracking")
    return acq


@pytest.mark.safety(hazard="stale-pose", control="a pose older than 3 device periods (at most 100 ms) is not live")
def test_staleness_limit_is_three_periods_capped_at_100_ms():
    clock = FakeClock()
    tracker = ScriptedTracker(rate_hz=60.0, clock=clock)
    acq = started(tracker, clock_ns=clock)
    try:
        assert acq.staleness_limit_s == pytest.approx(0.05)
        tracker.push(1)
        assert wait_for(lambda: acq.latest("coil") is not None)
        assert acq.is_live("coil")
        clock.now_ns += 49_000_000
        assert acq.is_live("coil") and acq.is_live("reference")
        clock.now_ns += 2_000_000  # 51 ms old: stale, never reported live
        assert not acq.is_live("coil")
        assert acq.latest("coil").status is ToolStatus.OK  # the frame itself is kept, as stale
        assert acq.snapshot(["coil", "reference"]) is None
        tracker.push(2)
        assert wait_for(lambda: acq.is_live("coil"))
        tracker.push(3, status=ToolStatus.MISSING)
        assert wait_for(lambda: acq.latest("coil").frame_number == 3)
        assert not acq.is_live("coil")  # fresh but no pose
    finally:
        acq.stop()
    slow = Acquisition(lambda: ScriptedTracker(rate_hz=20.0), clock_ns=clock)
    fast = Acquisition(lambda: ScriptedTracker(rate_hz=250.0), clock_ns=clock)
    for acq, limit in ((slow, 0.1), (fast, 0.012)):
        acq.start()
        assert wait_for(lambda: acq.state == "tracking")
        assert acq.staleness_limit_s == pytest.approx(limit)
        acq.stop()


@pytest.mark.safety(hazard="lost-tracker", control="an unplugged device turns every tool DISCONNECTED "
                                               "within 250 ms, then reconnects with back-off")
def test_unplug_marks_everything_disconnected_fast_and_reconnects_automatically():
    made: list[SimulatedTracker] = []
    device_present = threading.Event()
    device_present.set()

    def make() -> SimulatedTracker:
        if not device_present.is_set():
            raise TrackerConnectionError("no device on the port", port="/dev/ttyUSB0")
        made.append(SimulatedTracker("idle", rate_hz=60.0))
        return made[-1]

    acq = Acquisition(make, name="sim", backoff_initial_s=0.05, backoff_max_s=0.2)
    acq.start()
    try:
        assert wait_for(lambda: acq.is_live("reference"))
        device_present.clear()
        t_unplug = time.monotonic()
        made[-1].unplug()
        assert wait_for(lambda: all(f.status is ToolStatus.DISCONNECTED
                                    for f in acq.latest_all().values()), timeout_s=1.0)
        elapsed = time.monotonic() - t_unplug
        assert elapsed <= 0.25
        assert all(f.tracker_from_tool is None for f in acq.latest_all().values())
        assert not acq.is_live("reference")
        assert wait_for(lambda: acq.state.startswith("reconnecting in"))
        time.sleep(0.3)  # a few failed attempts while the device is away
        assert acq.stats.reconnects >= 2 and "no device" in acq.stats.last_error
        device_present.set()
        assert wait_for(lambda: acq.is_live("reference") and acq.state == "tracking")
        assert len(made) == 2
    finally:
        acq.stop()
    assert acq.state == "stopped" and not acq.running


@pytest.mark.safety(hazard="lost-tracker", control="driver exceptions never stop acquisition silently")
def test_random_driver_errors_never_kill_the_thread():
    rng = random.Random(7)

    class Flaky(SimulatedTracker):
        def read_frames(self, timeout_s: float = 0.5):
            roll = rng.random()
            if roll < 0.1:
                raise ProtocolError("bad CRC in BX reply")
            if roll < 0.2:
                raise ValueError("driver bug: could not convert string to float")
            if roll < 0.25:
                raise ZeroDivisionError("division by zero")
            return super().read_frames(timeout_s)

    acq = Acquisition(lambda: Flaky("idle", realtime=False), backoff_initial_s=0.01)
    acq.start()
    try:
        assert wait_for(lambda: acq.stats.frames_received > 2000, timeout_s=10)
        stats = acq.stats
        assert acq.running and stats.errors > 200 and stats.invalid >= stats.errors * 0.9
        assert acq.latest("coil").is_trackable
    finally:
        acq.stop()


def test_a_driver_that_cannot_connect_is_retried_with_backoff():
    attempts: list[float] = []

    def broken() -> Tracker:
        attempts.append(time.monotonic())
        raise RuntimeError("driver crashed in connect")

    acq = Acquisition(broken, backoff_initial_s=0.05, backoff_max_s=0.2)
    t0 = time.monotonic()
    acq.start()
    assert time.monotonic() - t0 < 0.05  # never blocks the caller
    time.sleep(0.7)
    acq.stop()
    gaps = np.diff(attempts)
    assert len(attempts) >= 4 and gaps[0] == pytest.approx(0.05, abs=0.03)
    assert max(gaps) == pytest.approx(0.2, abs=0.05)  # doubled up to the cap
    assert "RuntimeError: driver crashed in connect" in acq.stats.last_error


def test_ten_errors_in_a_row_force_a_reconnect():
    trackers = [ScriptedTracker(), ScriptedTracker()]
    for _ in range(10):
        trackers[0].batches.put(ProtocolError("garbage"))
    made = iter(trackers)
    acq = Acquisition(lambda: next(made), backoff_initial_s=0.01)
    acq.start()
    try:
        assert wait_for(lambda: acq.stats.reconnects == 1 and acq.state == "tracking")
        assert trackers[0].closed >= 1
        trackers[1].push(1)
        assert wait_for(lambda: acq.is_live("coil"))
    finally:
        acq.stop()


@pytest.mark.safety(hazard="bad-bytes", control="duplicate, backwards or implausible frame numbers are rejected")
def test_dropped_duplicate_and_implausible_frame_numbers():
    tracker = ScriptedTracker()
    acq = started(tracker)
    try:
        for n in (0, 1, 2, 5, 6, 10):
            tracker.push(n)
        assert wait_for(lambda: acq.stats.frames_received == 6)
        assert acq.stats.dropped == 2 + 3
        for n in (10, 10, 10):  # frozen stream: same frame again must not refresh liveness
            tracker.push(n)
        assert wait_for(lambda: acq.stats.duplicates == 3)
        assert acq.stats.frames_received == 6
        tracker.push(4294967170)  # PlusLib #244 parsing glitch
        tracker.push(11)
        assert wait_for(lambda: acq.stats.frames_received == 8)
        assert acq.stats.invalid == 1 and "implausible frame number" in acq.stats.last_error
        bad = [f for f in acq.history("coil") if f.frame_number == 4294967170]
        assert bad[0].status is ToolStatus.INVALID and bad[0].tracker_from_tool is None
        assert acq.latest("coil").frame_number == 11 and acq.latest("coil").is_trackable
        assert acq.stats.dropped == 5
    finally:
        acq.stop()
    wrap = ScriptedTracker()
    acq = started(wrap)
    try:
        for n in (4294967294, 4294967295, 0, 1):
            wrap.push(n)
        assert wait_for(lambda: acq.stats.frames_received == 4)
        assert acq.stats.dropped == 0 and acq.stats.invalid == 0
    finally:
        acq.stop()


@pytest.mark.safety(hazard="stale-pose", control="a stream repeating one frame number goes stale")
def test_frozen_stream_goes_stale():
    """On a test clock: under load the real clock let the first frame go stale (12 ms at 250 Hz)
    before the test looked, so 'live' was never seen (issue 12, flaky tests)."""
    clock = FakeClock()
    tracker = ScriptedTracker(rate_hz=250.0, clock=clock)
    acq = started(tracker, clock_ns=clock)
    try:
        tracker.push(1)
        assert wait_for(lambda: acq.latest("coil") is not None)
        assert acq.is_live("coil")
        for k in range(50):  # 100 ms: the device keeps answering, frame number stuck
            clock.now_ns += 2_000_000
            tracker.push(1)
        assert wait_for(lambda: acq.stats.duplicates == 50)
        assert not acq.is_live("coil")
        assert acq.latest("coil").host_time_ns == 5_000_000_000   # repeats did not refresh it
    finally:
        acq.stop()


@pytest.mark.safety(hazard="stale-pose", control="tools from different device frames are never combined")
def test_snapshot_pairs_only_frames_from_the_same_device_frame():
    tracker = ScriptedTracker()
    acq = started(tracker)
    try:
        tracker.push(1)
        assert wait_for(lambda: acq.latest("reference") is not None)
        pair = acq.snapshot(["coil", "reference"])
        assert pair is not None and {f.frame_number for f in pair.values()} == {1}
        tracker.push(2, tools=["coil"])  # one frame apart: still a pair
        assert wait_for(lambda: acq.latest("coil").frame_number == 2)
        assert acq.snapshot(["coil", "reference"]) is not None
        tracker.push(3, tools=["coil"])  # two frames apart: rejected
        assert wait_for(lambda: acq.latest("coil").frame_number == 3)
        assert acq.snapshot(["coil", "reference"]) is None
        assert acq.snapshot(["coil", "pointer"]) is None  # unknown tool
        tracker.push(4, status=ToolStatus.MISSING)
        assert wait_for(lambda: acq.latest("reference").frame_number == 4)
        missing = acq.snapshot(["coil", "reference"])
        assert missing["coil"].status is ToolStatus.MISSING  # paired, caller sees the status
    finally:
        acq.stop()


def test_subscribers_run_on_the_acquisition_thread_and_cannot_break_it():
    tracker = ScriptedTracker()
    acq = started(tracker)
    got: list[tuple[str, list[ToolFrame]]] = []
    unsubscribe = acq.subscribe(lambda frames: got.append((threading.current_thread().name, frames)))

    def bad(_frames):
        raise RuntimeError("consumer bug")

    acq.subscribe(bad)
    try:
        tracker.push(1)
        tracker.push(2)
        assert wait_for(lambda: len(got) == 2)
        assert got[0][0].startswith("acquisition-") and got[0][0] != threading.current_thread().name
        assert [f.tool for f in got[1][1]] == ["coil", "reference"]
        assert acq.stats.callback_errors == 2 and acq.running
        unsubscribe()
        tracker.push(3)
        assert wait_for(lambda: acq.stats.frames_received == 3)
        time.sleep(0.02)
        assert len(got) == 2
    finally:
        acq.stop()


class SleepingClock(FakeClock):
    """A test clock that a driver's sleep advances: time passes only when the driver waits."""

    def sleep(self, seconds: float) -> None:
        self.now_ns += max(0, int(seconds * 1e9))


def test_history_is_a_bounded_ring_buffer_and_rate_is_measured():
    """On the simulator's test clock, so the measured rate is the device's, whatever the load."""
    clock = SleepingClock()
    acq = Acquisition(lambda: SimulatedTracker("idle", rate_hz=100.0, clock_ns=clock, sleep=clock.sleep),
                      buffer_seconds=0.5, clock_ns=clock)
    acq.start()
    try:
        assert wait_for(lambda: acq.stats.frames_received >= 150, timeout_s=20)
        stats = acq.stats
        assert stats.rate_hz["coil"] == pytest.approx(100.0, rel=0.02)
        everything = acq.history("coil")
        assert len(everything) == int(0.5 * 100 * 1.5) + 16
        recent = acq.history("coil", seconds=0.2)
        assert 19 <= len(recent) <= 21
        numbers = [f.frame_number for f in everything]
        assert numbers == sorted(numbers)
    finally:
        acq.stop()
        acq.stop()  # idempotent


def test_without_reconnect_the_thread_ends_disconnected():
    tracker = SimulatedTracker("idle", rate_hz=60.0)
    acq = Acquisition(lambda: tracker, reconnect=False)
    acq.start()
    assert wait_for(lambda: acq.is_live("pointer"))
    tracker.unplug("USB cable pulled")
    assert wait_for(lambda: not acq.running)
    assert acq.state == "disconnected: USB cable pulled"
    assert acq.latest("pointer").status is ToolStatus.DISCONNECTED
    acq.stop()


def test_start_never_blocks_even_when_the_driver_hangs():
    release = threading.Event()

    def slow_factory() -> Tracker:
        release.wait(2.0)
        return ScriptedTracker()

    acq = Acquisition(slow_factory)
    t0 = time.monotonic()
    acq.start()
    assert time.monotonic() - t0 < 0.05
    assert acq.state == "connecting" and acq.latest("coil") is None and not acq.is_live("coil")
    release.set()
    assert wait_for(lambda: acq.state == "tracking")
    acq.stop()


# --- process isolation -----------------------------------------------------------------------

@pytest.mark.safety(hazard="lost-tracker", control="a crashed driver process marks tools DISCONNECTED and is restarted")
def test_process_isolation_serves_frames_and_survives_a_killed_child():
    import functools
    import os
    import signal as signals

    make = functools.partial(SimulatedTracker, "idle", rate_hz=100.0)
    acq = Acquisition(make, name="proc", isolation="process", backoff_initial_s=0.05)
    seen_on: list[str] = []
    acq.subscribe(lambda frames: seen_on.append(threading.current_thread().name))
    acq.start()
    try:
        assert wait_for(lambda: acq.is_live("coil"), timeout_s=20)
        assert acq.state == "tracking" and acq.nominal_rate_hz == 100.0
        assert acq.staleness_limit_s == pytest.approx(0.03)
        first_pid = acq.process_pid
        assert first_pid not in (None, os.getpid()) and acq.thread_native_id is not None
        assert wait_for(lambda: acq.stats.frames_received >= 100, timeout_s=20)
        stats, history = acq.stats, acq.history("coil")
        # every device frame is counted once, received or dropped (a starved child on a loaded
        # machine drops some, as a polled camera would; the books must still add up)
        span = history[-1].frame_number - history[0].frame_number + 1
        assert len(history) <= span <= len(history) + stats.dropped
        assert 0 < stats.rate_hz["coil"] <= 100.0 * 1.15 and stats.dropped < stats.frames_received
        assert seen_on and seen_on[0] == "acquisition-proc"  # parent's thread, not the child's
        assert not acq.latest("coil").tracker_from_tool.flags.writeable
        os.kill(first_pid, signals.SIGKILL)  # the driver crashes the interpreter
        t_kill = time.monotonic()
        assert wait_for(lambda: acq.latest("coil").status is ToolStatus.DISCONNECTED)
        assert time.monotonic() - t_kill <= 0.25
        assert "acquisition process died" in acq.stats.last_error
        assert wait_for(lambda: acq.is_live("coil"), timeout_s=20)  # a new child took over
        assert acq.process_pid not in (None, first_pid) and acq.stats.reconnects >= 1
    finally:
        acq.stop(timeout_s=5.0)
    assert acq.process_pid is None and acq.state == "stopped"


def test_process_isolation_reports_a_device_that_is_gone():
    import functools

    make = functools.partial(_unplugged_tracker)
    acq = Acquisition(make, isolation="process", reconnect=False)
    acq.start()
    try:
        assert wait_for(lambda: not acq.running, timeout_s=20)
        assert acq.state == "disconnected: no NDI device on /dev/ttyUSB9"
    finally:
        acq.stop()


def _unplugged_tracker() -> Tracker:
    raise TrackerConnectionError("no NDI device on /dev/ttyUSB9")


def test_process_isolation_refuses_what_cannot_cross_processes():
    with pytest.raises(ValueError, match="picklable make_tracker.*functools.partial"):
        Acquisition(lambda: ScriptedTracker(), isolation="process")
    with pytest.raises(ValueError, match="monotonic clock"):
        Acquisition(_unplugged_tracker, isolation="process", clock_ns=FakeClock())
    with pytest.raises(ValueError, match="isolation must be"):
        Acquisition(_unplugged_tracker, isolation="fiber")


def test_restart_while_the_previous_run_is_still_stuck_connecting():
    release = threading.Event()
    calls: list[int] = []
    made: list[ScriptedTracker] = []

    def factory() -> Tracker:
        calls.append(1)
        if len(calls) == 1:
            release.wait(3.0)  # the first connection attempt hangs (e.g. a 7 s reset probe)
        made.append(ScriptedTracker())
        return made[-1]

    acq = Acquisition(factory)
    acq.start()
    time.sleep(0.05)
    acq.stop(timeout_s=0.1)  # gives up waiting; the stuck run keeps its own stop flag
    acq.start()
    try:
        assert wait_for(lambda: acq.state == "tracking")
        release.set()  # the old run wakes up, sees it was stopped, closes its tracker, leaves
        assert wait_for(lambda: len(made) == 2 and made[1].closed == 1)
        assert made[0].closed == 0  # the new run's tracker is untouched
        made[0].push(1)
        time.sleep(0.05)
        assert acq.latest("coil").frame_number == 1 and acq.state == "tracking"
    finally:
        acq.stop()
