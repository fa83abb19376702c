"""Each pulse gets the coil pose live at its instant (issue 15, pulse log), never a stale one.

The poses come from the simulated tracker (noise included) playing a coil approach onto a target;
its hidden truth gives where the hotspot really was at each pulse. Host times are the scenario
time plus a receive latency, as the acquisition thread would stamp them.
"""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.hardware.acquisition.state import staleness_limit_ns as hardware_staleness_limit_ns
from tmsnav.hardware.simulation.scenario_library import make_scenario
from tmsnav.hardware.simulation.scenarios import SimulationTruth
from tmsnav.hardware.simulation.head import demo_head_geometry
from tmsnav.hardware.simulation.tracker import NoiseModel, NoisyPoseSource
from tmsnav.navigation.live_poses import ToolPose, compute_live_poses
from tmsnav.navigation.transforms import Frame, Transform, TransformError, invert_rigid
from tmsnav.navigation.treatment.pose_history import (COIL_NOT_TRACKED, PULSE_BEFORE_FIRST_FRAME,
                                                      PoseHistory, staleness_limit_ns)

MS = 1_000_000
FRAME_LATENCY_NS = 2 * MS        # device measurement -> bytes read on the host


class SimulatedSession:
    """A coil approach seen by a noisy tracker: per frame the app's mri_from_hotspot, and the truth."""

    def __init__(self, rate_hz: float = 60.0, seed: int = 3, noise_mm: float = 0.2,
                 target: str | None = None) -> None:
        self.truth = SimulationTruth.default(demo_head_geometry())
        self.scenario = make_scenario("coil_approach", truth=self.truth, seed=seed, target=target)
        self.source = NoisyPoseSource(self.scenario, rate_hz, NoiseModel(position_rms_mm=noise_mm),
                                      seed=seed)
        self.rate_hz = rate_hz
        # head = the MRI frame of the simulated head: the true registration
        self.mri_from_reference = Transform(Frame.MRI, Frame.REFERENCE,
                                            invert_rigid(self.truth.reference_from_head))
        self.coil_from_hotspot = Transform(Frame.COIL, Frame.HOTSPOT, self.truth.coil_from_hotspot)

    def frame_host_ns(self, k: int) -> int:
        return int(round(k / self.rate_hz * 1e9)) + FRAME_LATENCY_NS

    def frame_pose(self, k: int) -> tuple[Transform | None, str]:
        samples = self.source.sample_frame(k)
        poses = {tool: ToolPose(s.tracker_from_tool, s.tracker_from_tool is not None, k)
                 for tool, s in samples.items()}
        live = compute_live_poses(poses, mri_from_reference=self.mri_from_reference,
                                  pointer_from_tip=None, coil_from_hotspot=self.coil_from_hotspot)
        return live.mri_from_hotspot, live.coil_reason

    def true_hotspot_mm(self, t_s: float) -> np.ndarray:
        poses = self.scenario.poses_at(t_s)
        mri_from_coil = (invert_rigid(self.truth.reference_from_head)
                         @ invert_rigid(poses["reference"]) @ poses["coil"])
        return (mri_from_coil @ self.truth.coil_from_hotspot)[:3, 3]

    def fill(self, history: PoseHistory, n_frames: int) -> list[Transform | None]:
        added = []
        for k in range(n_frames):
            pose, reason = self.frame_pose(k)
            history.add(self.frame_host_ns(k), pose, pose is not None, reason)
            added.append(pose)
        return added


def test_staleness_limit_is_the_trackers_own():
    for rate in (20.0, 40.0, 60.0, 120.0, 250.0):
        assert staleness_limit_ns(rate) == hardware_staleness_limit_ns(rate)
    assert staleness_limit_ns(60.0) == 50 * MS and staleness_limit_ns(20.0) == 100 * MS


@pytest.mark.parametrize("rate_hz, target, noise_mm", [
    (60.0, "left_m1", 0.2), (250.0, "left_m1", 0.2),
    (250.0, "right_dlpfc", 0.2),          # the other hemisphere: the pose lands on the right
    (60.0, "right_dlpfc", 1.0),           # an electromagnetic tracker's noise
])
def test_pulses_during_motion_get_the_pose_live_at_the_pulse(rate_hz, target, noise_mm):
    """Random pulse times over the whole approach (fast glide, placing, holding): each pulse gets
    exactly the frame received last at or before it, and its error to where the hotspot truly was
    at the pulse is the tracker noise plus at most one frame of motion."""
    sim = SimulatedSession(rate_hz, noise_mm=noise_mm, target=target)
    n_frames = int(sim.scenario.duration_s * rate_hz) - 1
    history = PoseHistory(capacity=n_frames + 10)
    added = sim.fill(history, n_frames)
    rng = np.random.default_rng(7)
    pulse_s = np.sort(rng.uniform(0.05, (n_frames - 2) / rate_hz, 400))
    frame_noise = np.array([np.linalg.norm(p.translation - sim.true_hotspot_mm(k / rate_hz))
                            for k, p in enumerate(added) if p is not None])
    noise_p99 = float(np.percentile(frame_noise, 99))
    hold_errors, step_mm = [], 1e3 / rate_hz
    for t in pulse_s:
        host = int(round(t * 1e9)) + 300_000           # pulse bytes read 0.3 ms after the pulse
        pose, reason = history.pose_at(host, staleness_limit_ns(rate_hz))
        k = max(j for j in range(n_frames) if sim.frame_host_ns(j) <= host)
        assert reason == "" and pose is added[k]
        truth_now = sim.true_hotspot_mm(float(t))
        err = float(np.linalg.norm(pose.translation - truth_now))
        # motion between the frame's measurement and the pulse, from the truth
        moved = float(np.linalg.norm(sim.true_hotspot_mm(k / rate_hz) - truth_now))
        assert moved < 6 * step_mm                      # at most ~1.2 frames at < 1 m/s
        assert err <= noise_p99 * 1.5 + moved
        if sim.scenario.phase_at(float(t)) == "holding on target":
            hold_errors.append(err)
            # same side of the head as the truth (mri x > 0 = the patient's right: RAS)
            assert np.sign(pose.translation[0]) == np.sign(truth_now[0])
    # holding the coil (the pulses that count): below the tracker noise at the hotspot
    assert len(hold_errors) > 50
    assert np.median(hold_errors) < 1.5 * float(np.median(frame_noise))
    assert np.percentile(hold_errors, 95) < 1.5 * float(np.percentile(frame_noise, 95))


def test_a_late_handover_still_gets_the_pose_at_the_pulse_time_not_at_arrival():
    """A reader thread hands the pulse over 100 ms late (a blocked thread, a slow disk): the pose
    is the one live at the pulse's host time; the pose at hand-over time (where the coil had
    moved to during the fast approach glide) would be centimetres off."""
    sim = SimulatedSession(60.0)
    history = PoseHistory()
    n = int(sim.scenario.duration_s * 60) - 1
    added = sim.fill(history, n)
    glide = next(p for p in sim.scenario.phases() if p[0] == "coil approaching")
    t = (glide[1] + glide[2]) / 2
    host = int(t * 1e9)
    pose, _ = history.pose_at(host)
    late_pose, _ = history.pose_at(host + 100 * MS)
    k = max(j for j in range(n) if sim.frame_host_ns(j) <= host)
    assert pose is added[k]
    truth = sim.true_hotspot_mm(t)
    # one 60 Hz frame plus the 2 ms receive latency of motion at the glide's speed
    assert np.linalg.norm(pose.translation - truth) < 6.0
    assert np.linalg.norm(late_pose.translation - truth) > 15.0


def test_stale_untracked_and_early_pulses_get_no_pose_with_the_reason():
    sim = SimulatedSession(60.0)
    history = PoseHistory()
    assert history.pose_at(5 * MS) == (None, PULSE_BEFORE_FIRST_FRAME)
    sim.fill(history, 30)
    last = sim.frame_host_ns(29)
    pose, reason = history.pose_at(last + 40 * MS, staleness_limit_ns(60.0))   # 40 <= 50 ms: live
    assert pose is not None and reason == ""
    pose, reason = history.pose_at(last + 240 * MS, staleness_limit_ns(60.0))
    assert pose is None and reason == "last frame 240 ms old"
    pose, reason = history.pose_at(last + 51 * MS, staleness_limit_ns(60.0))
    assert pose is None and reason == "last frame 51 ms old"
    history.add(last + 60 * MS, None, False, "")
    assert history.pose_at(last + 61 * MS) == (None, COIL_NOT_TRACKED)
    history.add(last + 80 * MS, None, False, "head reference not tracked")
    assert history.pose_at(last + 81 * MS) == (None, "head reference not tracked")
    # a pose handed over with live=False is never given out, even though it is there
    some_pose = Transform(Frame.MRI, Frame.HOTSPOT, np.eye(4))
    history.add(last + 100 * MS, some_pose, False, "coil partly out of volume")
    assert history.pose_at(last + 101 * MS) == (None, "coil partly out of volume")
    assert history.pose_at(sim.frame_host_ns(0) - 1) == (None, PULSE_BEFORE_FIRST_FRAME)


def test_occluded_coil_frames_from_the_simulator_give_unknown_pose():
    """The occlusion scenario hides the coil: pulses then get 'coil not tracked', not the last pose."""
    truth = SimulationTruth.default(demo_head_geometry())
    scenario = make_scenario("occlusion", truth=truth)
    source = NoisyPoseSource(scenario, 60.0, NoiseModel())
    history = PoseHistory(capacity=100_000)
    mri_from_reference = Transform(Frame.MRI, Frame.REFERENCE, invert_rigid(truth.reference_from_head))
    coil_from_hotspot = Transform(Frame.COIL, Frame.HOTSPOT, truth.coil_from_hotspot)
    n = int(scenario.duration_s * 60) - 1
    for k in range(n):
        poses = {tool: ToolPose(s.tracker_from_tool, s.tracker_from_tool is not None, k)
                 for tool, s in source.sample_frame(k).items()}
        live = compute_live_poses(poses, mri_from_reference=mri_from_reference, pointer_from_tip=None,
                                  coil_from_hotspot=coil_from_hotspot)
        history.add(int(k / 60 * 1e9), live.mri_from_hotspot, live.mri_from_hotspot is not None,
                    live.coil_reason)
    phases = {name: (a, b) for name, a, b in scenario.phases()}
    a, b = phases["coil occluded"]
    assert history.pose_at(int((a + b) / 2 * 1e9)) == (None, "coil not tracked")
    a, b = phases["reference occluded"]
    assert history.pose_at(int((a + b) / 2 * 1e9)) == (None, "head reference not tracked")
    a, b = phases["pointer occluded"]
    pose, reason = history.pose_at(int((a + b) / 2 * 1e9))
    assert pose is not None and reason == ""


def test_frames_added_out_of_order_are_sorted_and_settle_a_pulse():
    history = PoseHistory()
    p1, p2, p3 = (Transform.from_translation([i, 0, 0], to_frame="mri", from_frame="hotspot")
                  for i in (1.0, 2.0, 3.0))
    history.add(10 * MS, p1, True)
    pulse = 26 * MS
    assert not history.settled(pulse, now_ns=27 * MS)         # the frame covering it may be in flight
    history.add(30 * MS, p3, True)                            # a later frame overtook...
    history.add(25 * MS, p2, True)                            # ...the one that covers the pulse
    assert history.settled(pulse, now_ns=31 * MS)
    assert history.pose_at(pulse)[0] is p2
    assert history.pose_at(29 * MS)[0] is p2 and history.pose_at(30 * MS)[0] is p3
    # no newer frame: settled once the staleness limit has passed since the pulse
    assert not history.settled(40 * MS, now_ns=100 * MS, max_age_ns=100 * MS)
    assert history.settled(40 * MS, now_ns=141 * MS, max_age_ns=100 * MS)


def test_a_pose_in_the_wrong_frame_is_refused():
    history = PoseHistory()
    tracker_from_coil = Transform(Frame.TRACKER, Frame.COIL, np.eye(4))
    with pytest.raises(TransformError, match="mri_from_hotspot"):
        history.add(1, tracker_from_coil, True)
    hotspot_from_mri = Transform(Frame.HOTSPOT, Frame.MRI, np.eye(4))    # inverted by mistake
    with pytest.raises(TransformError):
        history.add(1, hotspot_from_mri, True)


def test_the_buffer_keeps_its_capacity_and_says_when_a_pulse_is_older():
    history = PoseHistory(capacity=100)
    pose = Transform(Frame.MRI, Frame.HOTSPOT, np.eye(4))
    for k in range(1000):
        history.add(k * 4 * MS, pose, True)
    assert 100 <= len(history) <= 200
    assert history.pose_at(4 * MS) == (None, "pulse older than the pose history")
    assert history.pose_at(999 * 4 * MS + 1)[0] is pose
