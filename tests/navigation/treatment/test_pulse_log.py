"""The pulse log (issue 15): each pulse with its output, pose, target, error and verdict, in the
session's event log as it happens; statistics exact on a constructed log and rebuilt from the file."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from tmsnav.navigation.guidance import Tolerance
from tmsnav.navigation.session.event_log import EventLog, read_events
from tmsnav.navigation.targeting.targets import Evidence, Target
from tmsnav.navigation.transforms import Frame, Transform, TransformError
from tmsnav.navigation.treatment.pose_history import PULSE_BEFORE_FIRST_FRAME, PoseHistory
from tmsnav.navigation.treatment.pulse_log import (PulseLog, PulsePairer, navigate_tolerance,
                                                   pulses_from_events, statistics_from_event_log)
from tmsnav.navigation.treatment.statistics import NO_TARGET

MS = 1_000_000
EV = Evidence("Fox et al. 2012", "test target")


def target(name: str, point=(0.0, 60.0, 70.0), normal=(0.0, 0.0, -1.0), handle=(0.0, 1.0, 0.0)) -> Target:
    return Target(name, np.array(point), np.array(normal), np.array(handle), "test", EV)


def hotspot_at(tgt: Target, offset_mm=(0.0, 0.0, 0.0), tilt_deg: float = 0.0) -> Transform:
    """A hotspot pose in mri offset in the target's own frame and tilted about its x axis."""
    a = np.deg2rad(tilt_deg)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    target_from_hotspot = Transform.from_rotation(rot, offset_mm, to_frame="target", from_frame="hotspot")
    return tgt.mri_from_target @ target_from_hotspot


@dataclass(frozen=True)
class Pulse:                       # the fields of hardware's PulseEvent the log reads
    host_time_ns: int
    source: str = "magventure"
    sequence: int = 1
    output_pct_mso: float | None = 55.0
    didt_a_per_us: float | None = 82.0


def test_a_pulse_is_logged_with_its_pose_target_error_and_output_in_the_event_log(tmp_path):
    events = EventLog(tmp_path / "events.jsonl")
    log = PulseLog(events, tolerance_mm=3.0, tolerance_rad=np.deg2rad(5.0))
    fox = target("Fox 2012")
    pose = hotspot_at(fox, (1.2, -1.6, 0.5), tilt_deg=3.0)
    pulse = log.record(123 * MS, "magventure", mri_from_hotspot=pose, target=fox,
                       output_pct_mso=55, didt_a_per_us=82.5, sequence=7)
    assert pulse.index == 1 and pulse.pose_known and pulse.pose_reason == ""
    assert pulse.position_error_mm == pytest.approx(2.0)          # in-plane: hypot(1.2, 1.6)
    assert pulse.depth_error_mm == pytest.approx(0.5)
    assert pulse.angle_error_rad == pytest.approx(np.deg2rad(3.0))
    assert pulse.within_tolerance is True
    # written as it happens: on disk before record() returned
    (event,) = read_events(tmp_path / "events.jsonl").events
    assert event.kind == "pulse"
    assert event.data["output_pct_mso"] == 55.0 and event.data["didt_a_per_us"] == 82.5
    assert event.data["target_name"] == "Fox 2012" and event.data["within_tolerance"] is True
    assert event.data["host_time_ns"] == 123 * MS and event.data["sequence"] == 7
    assert np.allclose(event.data["mri_from_hotspot"], pose.matrix)
    assert event.data["wall_time_iso"].endswith("+00:00")


def test_pose_unknown_is_logged_with_its_reason_and_no_error(tmp_path):
    log = PulseLog(EventLog(tmp_path / "events.jsonl"))
    pulse = log.record(5 * MS, "ttl-serial", mri_from_hotspot=None, pose_reason="last frame 240 ms old",
                       target=target("F3"))
    assert not pulse.pose_known and pulse.pose_reason == "last frame 240 ms old"
    assert pulse.position_error_mm is None and pulse.within_tolerance is None
    assert pulse.output_pct_mso is None and pulse.didt_a_per_us is None      # a TTL cannot know
    data = read_events(tmp_path / "events.jsonl").events[0].data
    assert data["mri_from_hotspot"] is None and data["pose_reason"] == "last frame 240 ms old"


def test_tilt_or_twist_beyond_the_navigate_tolerance_is_not_on_target():
    fox = target("Fox 2012")
    log = PulseLog(None, tolerance_mm=3.0, tolerance_rad=np.deg2rad(5.0))
    assert log.tolerance == navigate_tolerance(3.0, np.deg2rad(5.0))
    assert log.tolerance.depth_mm == 5.0 and log.tolerance.twist_rad == pytest.approx(np.deg2rad(10.0))
    tilted = log.record(1, "key", mri_from_hotspot=hotspot_at(fox, tilt_deg=8.0), target=fox)
    assert tilted.position_error_mm == pytest.approx(0.0, abs=1e-9) and tilted.within_tolerance is False
    off = log.record(2, "key", mri_from_hotspot=hotspot_at(fox, (3.2, 0.0, 0.0)), target=fox)
    assert off.within_tolerance is False
    deep = log.record(3, "key", mri_from_hotspot=hotspot_at(fox, (0.0, 0.0, 6.0)), target=fox)
    assert deep.within_tolerance is False and deep.position_error_mm == pytest.approx(0.0, abs=1e-9)


def test_a_pose_in_the_wrong_frame_is_refused_not_logged():
    log = PulseLog(None)
    fox = target("Fox 2012")
    with pytest.raises(TransformError):
        log.record(1, "key", mri_from_hotspot=fox.mri_from_target, target=fox)   # a target, not a hotspot
    assert len(log) == 0


def constructed_log(event_log: EventLog | None = None) -> PulseLog:
    """11 pulses: 8 measured on two targets, 2 pose unknown, 1 without a target."""
    log = PulseLog(event_log, tolerance_mm=3.0, tolerance_rad=np.deg2rad(5.0))
    fox, f3 = target("Fox 2012"), target("F3 (Beam)", point=(-40.0, 50.0, 60.0))
    t = 0
    for tgt, errors in ((fox, (0.5, 1.0, 1.5, 2.0, 2.5)), (f3, (3.5, 4.0, 6.0))):
        for e in errors:
            t += 100 * MS
            log.record(t, "magventure", mri_from_hotspot=hotspot_at(tgt, (0.6 * e, 0.8 * e, 0.0)),
                       target=tgt, output_pct_mso=60)
    for reason in ("coil not tracked", "last frame 240 ms old"):
        t += 100 * MS
        log.record(t, "magventure", mri_from_hotspot=None, pose_reason=reason, target=fox)
    log.record(t + 100 * MS, "key", mri_from_hotspot=hotspot_at(fox), target=None)
    return log


def test_statistics_are_exact_on_a_constructed_log():
    s = constructed_log().statistics()
    assert (s.n, s.n_pose_unknown, s.n_no_target, s.n_on_target, s.n_measured) == (11, 2, 1, 5, 8)
    assert s.fraction_on_target == pytest.approx(5 / 11)     # unknown poses are not on target
    assert s.fraction_on_target_of_measured == pytest.approx(5 / 8)
    assert s.median_error_mm == pytest.approx(2.25)           # (2.0 + 2.5) / 2
    assert s.p95_error_mm == pytest.approx(5.3)               # 4.0 + 0.65 * (6.0 - 4.0)
    assert s.max_error_mm == pytest.approx(6.0)
    fox, f3 = s.per_target["Fox 2012"], s.per_target["F3 (Beam)"]
    assert list(s.per_target) == ["Fox 2012", "F3 (Beam)", NO_TARGET]
    assert (fox.n, fox.n_pose_unknown, fox.n_on_target) == (7, 2, 5)
    assert fox.median_error_mm == pytest.approx(1.5) and fox.fraction_on_target == pytest.approx(5 / 7)
    assert (f3.n, f3.n_on_target, f3.fraction_on_target) == (3, 0, 0.0)
    assert f3.p95_error_mm == pytest.approx(4.0 + 0.9 * 2.0)
    assert s.per_target[NO_TARGET].n_no_target == 1


def test_statistics_of_an_empty_or_all_unknown_log_have_no_numbers_to_invent():
    s = PulseLog(None).statistics()
    assert s.n == 0 and s.fraction_on_target is None and s.median_error_mm is None
    log = PulseLog(None)
    log.record(1, "key", mri_from_hotspot=None, pose_reason="coil not tracked", target=target("x"))
    s = log.statistics()
    assert s.fraction_on_target == 0.0 and s.fraction_on_target_of_measured is None
    assert s.p95_error_mm is None


def test_rereading_the_event_log_rebuilds_the_same_statistics(tmp_path):
    path = tmp_path / "events.jsonl"
    events = EventLog(path)
    events.append("registration", method="fiducials")       # other events are ignored
    log = constructed_log(events)
    events.append("target_changed", name="F3 (Beam)")
    assert statistics_from_event_log(path).to_dict() == log.statistics().to_dict()
    reread = pulses_from_events(read_events(path).events)
    assert [p.index for p in reread] == list(range(1, 12))
    for a, b in zip(reread, log.pulses):
        assert a.pose_reason == b.pose_reason and a.within_tolerance == b.within_tolerance
        assert (a.mri_from_hotspot is None) == (b.mri_from_hotspot is None)
        if a.mri_from_hotspot is not None:
            assert a.mri_from_hotspot.is_close(b.mri_from_hotspot)
    # a line cut by a crash is skipped, the rest still counts
    with open(path, "a") as f:
        f.write(json.dumps({"seq": 99, "kind": "pulse", "time_utc": "x", "monotonic_ns": 1})[:40])
    assert statistics_from_event_log(path).n == 11


def test_the_pairer_holds_a_pulse_until_the_frame_covering_it_arrives():
    """Reader threads race: the pulse (host time 26 ms) is handed over before the frame received
    at 25 ms was added. Deciding at once would take the 10 ms frame; the pulse is held instead.
    (Without the settle margin, which would decide it 1.5 ms after the pulse: test_pulse_settle.py.)"""
    p10, p25, p30 = (Transform.from_translation([x, 0, 0], to_frame="mri", from_frame="hotspot")
                     for x in (10.0, 25.0, 30.0))
    log = PulseLog(None)
    now = [27 * MS]
    pairer = PulsePairer(log, PoseHistory(), max_age_ns=50 * MS, settle_margin_ns=None,
                         clock_ns=lambda: now[0])
    pairer.add_frame(10 * MS, p10, True)
    assert pairer.submit(Pulse(26 * MS), target("Fox 2012")) == []
    assert pairer.pending == 1 and len(log) == 0
    now[0] = 28 * MS
    assert pairer.add_frame(25 * MS, p25, True) == []      # received before the pulse: not yet sure
    now[0] = 31 * MS
    (logged,) = pairer.add_frame(30 * MS, p30, True)      # a later frame: the answer is settled
    assert logged.mri_from_hotspot is p25 and logged.target_name == "Fox 2012"
    assert logged.output_pct_mso == 55.0 and logged.didt_a_per_us == 82.0 and pairer.pending == 0


def test_the_pairer_decides_a_pulse_after_the_staleness_limit_when_the_tracker_is_silent():
    log = PulseLog(None)
    pose = Transform(Frame.MRI, Frame.HOTSPOT, np.eye(4))
    pairer = PulsePairer(log, PoseHistory(), max_age_ns=50 * MS, clock_ns=lambda: 0)
    assert pairer.submit(Pulse(5 * MS), None) == []
    (first,) = pairer.poll(now_ns=56 * MS)
    assert not first.pose_known and first.pose_reason == PULSE_BEFORE_FIRST_FRAME
    pairer.add_frame(100 * MS, pose, True)
    pairer.submit(Pulse(340 * MS, sequence=2), None)
    assert pairer.poll(now_ns=380 * MS) == []
    (stale,) = pairer.poll(now_ns=391 * MS)
    assert stale.pose_reason == "last frame 240 ms old" and stale.mri_from_hotspot is None


def test_pulses_arriving_out_of_order_are_logged_in_pulse_order():
    log = PulseLog(None)
    pose = Transform(Frame.MRI, Frame.HOTSPOT, np.eye(4))
    pairer = PulsePairer(log, PoseHistory(), clock_ns=lambda: 0)
    pairer.add_frame(0, pose, True)
    pairer.submit(Pulse(12 * MS, "lsl", 2), None)          # the LSL marker thread was faster
    pairer.submit(Pulse(11 * MS, "magventure", 1), None)
    pairer.add_frame(13 * MS, pose, True)
    assert [(p.index, p.source, p.host_time_ns) for p in log.pulses] == [
        (1, "magventure", 11 * MS), (2, "lsl", 12 * MS)]


def test_many_threads_submitting_while_frames_arrive_log_each_pulse_once(tmp_path):
    """Four sources racing the tracker thread: every pulse logged exactly once, with the pose of
    its own time. (A pulse handed over after a later one was already written is written next:
    the log is append-only, so only pulses that arrive while still held are sorted.)"""
    events = EventLog(tmp_path / "events.jsonl", fsync_each=False)
    log = PulseLog(events)
    pairer = PulsePairer(log, PoseHistory(), clock_ns=lambda: 0)
    pose = Transform(Frame.MRI, Frame.HOTSPOT, np.eye(4))
    pairer.add_frame(0, pose, True)

    def source(offset: int) -> None:
        for i in range(200):
            pairer.submit(Pulse((i * 4 + offset) * MS + 1, f"s{offset}", i + 1), None)

    threads = [threading.Thread(target=source, args=(o,)) for o in range(4)]
    for th in threads:
        th.start()
    for k in range(1, 810):
        pairer.add_frame(k * MS, pose, True)
    for th in threads:
        th.join()
    pairer.poll(now_ns=10**12)
    pulses = log.pulses
    assert len(pulses) == 800 and pairer.pending == 0
    assert sorted(p.host_time_ns for p in pulses) == sorted((i * 4 + o) * MS + 1
                                                            for i in range(200) for o in range(4))
    assert [p.index for p in pulses] == list(range(1, 801))
    assert all(p.pose_known for p in pulses)
    assert len(pulses_from_events(read_events(tmp_path / "events.jsonl").events)) == 800


def test_tolerance_changes_apply_to_later_pulses_only():
    fox = target("Fox 2012")
    log = PulseLog(None, tolerance=Tolerance(distance_mm=3.0))
    first = log.record(1, "key", mri_from_hotspot=hotspot_at(fox, (2.0, 0.0, 0.0)), target=fox)
    log.set_tolerance(navigate_tolerance(1.0, np.deg2rad(5.0)))
    second = log.record(2, "key", mri_from_hotspot=hotspot_at(fox, (2.0, 0.0, 0.0)), target=fox)
    assert first.within_tolerance is True and second.within_tolerance is False
    with pytest.raises(ValueError):
        navigate_tolerance(0.0, 0.1)


def test_the_writer_thread_keeps_the_disk_out_of_the_tracker_and_pulse_threads():
    """With start(), add_frame and submit return while the log write is still blocked (a slow
    disk): the acquisition thread keeps its frame rate, the pulse is written on the writer thread."""
    log = PulseLog(None)
    release, written = threading.Event(), threading.Event()
    writer_threads: list[str] = []

    def slow_disk(_pulse) -> None:
        writer_threads.append(threading.current_thread().name)
        release.wait(10)
        written.set()

    log.add_listener(slow_disk)
    pairer = PulsePairer(log, PoseHistory(), max_age_ns=100 * MS)
    pose = Transform(Frame.MRI, Frame.HOTSPOT, np.eye(4))
    pairer.start()
    try:
        now = time.monotonic_ns()
        pairer.add_frame(now - 5 * MS, pose, True)
        assert pairer.submit(Pulse(now - 4 * MS), target("Fox 2012")) == []
        assert pairer.add_frame(now - 3 * MS, pose, True) == []      # settles it, returns at once
        for k in range(50):                                           # the tracker keeps going
            assert pairer.add_frame(now + k * MS, pose, True) == []
        assert not written.is_set()
        release.set()
        assert written.wait(10)
        assert writer_threads == ["pulse-log"]
    finally:
        release.set()
        pairer.stop()
    (pulse,) = log.pulses
    assert pulse.pose_known and pulse.within_tolerance is not None


def test_the_writer_thread_decides_a_pulse_by_itself_when_the_tracker_goes_silent():
    log = PulseLog(None)
    done = threading.Event()
    log.add_listener(lambda _p: done.set())
    pairer = PulsePairer(log, PoseHistory(), max_age_ns=20 * MS)
    pairer.start()
    try:
        now = time.monotonic_ns()
        pairer.add_frame(now, Transform(Frame.MRI, Frame.HOTSPOT, np.eye(4)), True)
        pairer.submit(Pulse(now + 1 * MS), None)          # no frame will ever follow
        assert done.wait(10)
    finally:
        pairer.stop()
    (pulse,) = log.pulses
    assert pulse.pose_known           # the frame 1 ms before it was live; nothing newer came
    assert pairer.pending == 0 and pairer.errors == []


def test_ttl_pulses_over_a_pty_get_the_pose_live_at_the_pulse_from_a_moving_simulated_coil(tmp_path):
    """End to end with real threads: the TTL adapter source (a real pty) and a tracker thread
    adding the simulated coil's pose as fast as it can, stamped like the acquisition does, while
    the coil glides onto its target. Every pulse gets exactly the frame received last before its
    read time, so its error to the hidden truth at that instant is the tracker noise plus the
    motion since that frame; a pulse may be "pose unknown" only if the frames really had a gap
    longer than the limit (a starved thread), never with a wrong pose."""
    from tmsnav.hardware.simulation.head import demo_head_geometry
    from tmsnav.hardware.simulation.scenario_library import make_scenario
    from tmsnav.hardware.simulation.scenarios import SimulationTruth
    from tmsnav.hardware.simulation.tracker import NoiseModel, NoisyPoseSource
    from tmsnav.hardware.triggers.ttl_serial import TtlSerialSource
    from tmsnav.navigation.live_poses import ToolPose, compute_live_poses
    from tmsnav.navigation.transforms import invert_rigid

    truth = SimulationTruth.default(demo_head_geometry())
    scenario = make_scenario("coil_approach", truth=truth, seed=5)
    source = NoisyPoseSource(scenario, 1000.0, NoiseModel(position_rms_mm=0.2), seed=5)
    mri_from_reference = Transform(Frame.MRI, Frame.REFERENCE, invert_rigid(truth.reference_from_head))
    coil_from_hotspot = Transform(Frame.COIL, Frame.HOTSPOT, truth.coil_from_hotspot)
    glide_start = scenario.window("coil approaching")[0] + 0.5
    t0 = time.monotonic_ns()

    def scenario_s(host_ns: int) -> float:
        return glide_start + (host_ns - t0) / 1e9

    def true_hotspot(t_s: float) -> np.ndarray:
        p = scenario.poses_at(t_s)
        return (invert_rigid(truth.reference_from_head) @ invert_rigid(p["reference"]) @ p["coil"]
                @ truth.coil_from_hotspot)[:3, 3]

    log = PulseLog(EventLog(tmp_path / "events.jsonl"))
    limit_ns = 100 * MS
    pairer = PulsePairer(log, PoseHistory(capacity=1_000_000), max_age_ns=limit_ns)
    frames: list[tuple[int, Transform | None]] = []
    stop = threading.Event()

    def tracker() -> None:
        k = 0
        while not stop.is_set():
            now = time.monotonic_ns()
            samples = source.sample_frame(k, scenario_s(now))
            poses = {tool: ToolPose(s.tracker_from_tool, s.tracker_from_tool is not None, k)
                     for tool, s in samples.items()}
            live = compute_live_poses(poses, mri_from_reference=mri_from_reference, pointer_from_tip=None,
                                      coil_from_hotspot=coil_from_hotspot)
            frames.append((now, live.mri_from_hotspot))
            pairer.add_frame(now, live.mri_from_hotspot, live.mri_from_hotspot is not None, live.coil_reason)
            k += 1

    logged = threading.Semaphore(0)
    log.add_listener(lambda _p: logged.release())
    master, slave = os.openpty()
    ttl = TtlSerialSource(os.ttyname(slave))
    thread = threading.Thread(target=tracker, daemon=True)
    written: list[int] = []
    pairer.start()
    thread.start()
    try:
        ttl.start(lambda event: pairer.submit(event, None))
        for _ in range(20):
            written.append(time.monotonic_ns())
            os.write(master, b"\x01")
            assert logged.acquire(timeout=30)
    finally:
        ttl.stop()
        stop.set()
        thread.join(10)
        pairer.stop()
        os.close(master)
        os.close(slave)
    pulses = log.pulses
    assert len(pulses) == 20
    times = np.array([t for t, _ in frames])
    for pulse, wrote in zip(pulses, written):
        assert wrote <= pulse.host_time_ns                      # stamped when read, after the write
        i = int(np.searchsorted(times, pulse.host_time_ns, side="right")) - 1
        frame_time, frame_pose = frames[i]
        if not pulse.pose_known:                                # only a real gap may give no pose
            assert pulse.host_time_ns - frame_time > limit_ns and "old" in pulse.pose_reason
            continue
        assert pulse.mri_from_hotspot is frame_pose
        t_pulse = scenario_s(pulse.host_time_ns)
        moved = np.linalg.norm(true_hotspot(scenario_s(frame_time)) - true_hotspot(t_pulse))
        err = np.linalg.norm(pulse.mri_from_hotspot.translation - true_hotspot(t_pulse))
        assert err <= 1.5 + moved                               # 0.2 mm RMS noise at the markers
    assert sum(p.pose_known for p in pulses) >= 15
    assert len(pulses_from_events(read_events(tmp_path / "events.jsonl").events)) == 20
