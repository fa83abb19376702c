"""Simulated tracker and scenarios, checked against the hidden truth they are built from."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.hardware.errors import ConnectionLost
from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.rigid import invert_rigid, is_rigid
from tmsnav.hardware.simulation.scenario_library import scenario_options
from tmsnav.hardware.simulation.head import (DEMO_HEAD_CENTRE_MM, DEMO_HEAD_SEMI_AXES_MM, HeadGeometry,
                                             ScalpSurface, demo_head_geometry)
from tmsnav.hardware.simulation.tracker import (SCENARIO_NAMES, NoiseModel, NoisyPoseSource, SimulatedTracker,
                                                make_scenario)


def ellipsoid_distance_mm(p: np.ndarray) -> float:
    """Approximate signed distance of ``p`` to the demo head's ellipsoid (negative inside)."""
    rel = p - DEMO_HEAD_CENTRE_MM
    r = np.sqrt(np.sum((rel / DEMO_HEAD_SEMI_AXES_MM) ** 2))
    return float((r - 1.0) * np.linalg.norm(rel) / r)


def noisy_frames(scenario, t0: float, t1: float, rate_hz: float = 60.0, seed: int = 1,
                 noise_mm: float = 0.2, dropout: float = 0.0):
    source = NoisyPoseSource(scenario, rate_hz, NoiseModel(noise_mm, dropout_probability=dropout),
                             seed)
    first, last = int(np.ceil(t0 * rate_hz + 1e-6)), source.frame_index(t1 - 1e-6)
    return [(source.frame_time_s(k), source.sample_frame(k)) for k in range(first, last + 1)]


def head_tip(scenario, t: float, tracker_from_pointer: np.ndarray) -> np.ndarray:
    """Pointer tip in the head frame, through the hidden truth."""
    head_from_tracker = invert_rigid(scenario.tracker_from_head_at(t))
    return (head_from_tracker @ tracker_from_pointer @ scenario.truth.pointer_from_tip)[:3, 3]


def test_demo_head_is_ras_and_landmarks_sit_on_the_scalp():
    head = demo_head_geometry()
    assert head.landmark("lpa")[0] < -60 and head.landmark("rpa")[0] > 60  # RAS: left is -x
    assert head.landmark("nasion")[1] > 70                                  # anterior is +y
    assert head.target("left_m1")[0, 3] < -20                               # left M1 on the left
    for name in ("nasion", "lpa", "rpa"):
        assert abs(ellipsoid_distance_mm(head.landmark(name))) < 1e-6
    surface = ScalpSurface(head)
    dirs = np.random.default_rng(0).normal(size=(200, 3)) + [0, 0, 1.5]
    for d in dirs[dirs[:, 2] > 0]:  # within the scalp cap
        point, normal = surface.point_and_normal(d)
        assert abs(ellipsoid_distance_mm(point)) < 0.15
        assert normal @ (point - surface.centre_mm) > 0


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_every_scenario_gives_rigid_poses_for_every_tool(name):
    scenario = make_scenario(name, seed=3)
    for t, samples in noisy_frames(scenario, 0.0, min(scenario.duration_s, 30.0), rate_hz=4.0):
        assert set(samples) == {"reference", "pointer", "coil"}
        for sample in samples.values():
            if sample.tracker_from_tool is not None:
                assert is_rigid(sample.tracker_from_tool, tol=1e-9)
                assert sample.status is ToolStatus.OK
                assert 0.01 <= sample.quality_rms_mm <= 0.3
    assert scenario.phase_at(0.0) == scenario.phases()[0][0]


@pytest.mark.parametrize("error_mm", [0.0, 2.0, 5.0])
def test_fiducial_touches_lie_within_the_configured_error_of_the_true_landmark(error_mm):
    scenario = make_scenario("fiducials", seed=11, error_mm=error_mm)
    head = scenario.truth.head
    for name in ("nasion", "lpa", "rpa"):
        t0, t1 = scenario.window(f"touching {name}")
        assert 1.4 <= t1 - t0 <= 1.6
        true_touch = scenario.info["touched_points_head"][name]
        assert np.linalg.norm(true_touch - head.landmark(name)) <= error_mm + 1e-9
        tips = []
        for t, samples in noisy_frames(scenario, t0, t1):
            assert scenario.phase_at(t) == f"touching {name}"
            ideal = head_tip(scenario, t, scenario.poses_at(t)["pointer"])
            np.testing.assert_allclose(ideal, true_touch, atol=1e-9)  # tip held still
            tips.append(head_tip(scenario, t, samples["pointer"].tracker_from_tool))
        tips = np.array(tips)
        # each noisy sample: localisation error + tip jitter (about 0.35 mm RMS, < 4 sigma)
        assert np.max(np.linalg.norm(tips - head.landmark(name), axis=1)) <= error_mm + 1.4
        assert np.linalg.norm(tips.mean(axis=0) - true_touch) < 0.25
    if error_mm > 0:  # the error is really applied, and differs between landmarks
        offsets = [np.linalg.norm(scenario.info["touched_points_head"][n] - head.landmark(n))
                   for n in ("nasion", "lpa", "rpa")]
        assert max(offsets) > 0.2 * error_mm and len(set(np.round(offsets, 6))) == 3


def test_pivot_keeps_the_tip_fixed_and_rotates_enough_to_calibrate():
    scenario = make_scenario("pivot", seed=2)
    t0, t1 = scenario.window("pivoting")
    divot = scenario.info["pivot_point_tracker"]
    frames = noisy_frames(scenario, t0, t1)
    rows, rhs, shafts = [], [], []
    for t, samples in frames:
        ideal = scenario.poses_at(t)["pointer"] @ scenario.truth.pointer_from_tip
        np.testing.assert_allclose(ideal[:3, 3], divot, atol=1e-9)
        m = samples["pointer"].tracker_from_tool
        rows.append(np.hstack([m[:3, :3], -np.eye(3)]))
        rhs.append(-m[:3, 3])
        shafts.append(m[:3, 2])
    tips = np.array([(s["pointer"].tracker_from_tool @ scenario.truth.pointer_from_tip)[:3, 3]
                     for _, s in frames])
    assert np.sqrt(np.mean(np.sum((tips - divot) ** 2, axis=1))) < 0.6  # within noise
    shafts = np.array(shafts)
    spread = np.degrees(np.arccos(np.clip(shafts @ shafts.T, -1, 1))).max()
    assert spread > 40.0
    # A least-squares pivot calibration on the noisy frames recovers the hidden tip offset.
    solution, *_ = np.linalg.lstsq(np.vstack(rows), np.hstack(rhs), rcond=None)
    np.testing.assert_allclose(solution[:3], scenario.truth.pointer_from_tip[:3, 3], atol=0.5)
    np.testing.assert_allclose(solution[3:], divot, atol=0.5)


def test_occlusion_reports_missing_without_a_pose():
    scenario = make_scenario("occlusion")
    tracker = SimulatedTracker(scenario, realtime=False, rate_hz=30.0)
    tracker.connect()
    tracker.start()
    seen = {}
    for _ in range(int(scenario.duration_s * 30)):
        frames = {f.tool: f for f in tracker.read_frames()}
        missing = {tool for tool, f in frames.items() if f.status is ToolStatus.MISSING}
        for f in frames.values():
            assert (f.tracker_from_tool is None) == (f.status is ToolStatus.MISSING)
        seen.setdefault(tracker.phase, set()).update(missing)
    assert seen["pointer occluded"] == {"pointer"}
    assert seen["coil occluded"] == {"coil"}
    assert seen["reference occluded"] == {"reference"}
    assert seen["all occluded"] == {"pointer", "coil", "reference"}
    assert seen["all visible"] == set()


class FakeClock:
    def __init__(self) -> None:
        self.now_ns = 1_000_000_000

    def __call__(self) -> int:
        return self.now_ns

    def sleep(self, seconds: float) -> None:
        self.now_ns += int(round(seconds * 1e9))


def test_realtime_frames_are_monotonic_at_the_device_rate_and_skip_when_late():
    clock = FakeClock()
    tracker = SimulatedTracker("idle", rate_hz=60.0, clock_ns=clock, sleep=clock.sleep,
                               first_frame_number=1000)
    tracker.connect()
    tracker.start()
    numbers, times = [], []
    for _ in range(30):
        frames = tracker.read_frames()
        assert len({f.frame_number for f in frames}) == 1
        numbers.append(frames[0].frame_number)
        times.append(frames[0].host_time_ns)
    assert numbers == list(range(1000, 1030))
    np.testing.assert_allclose(np.diff(times), 1e9 / 60, atol=2)
    clock.now_ns += int(0.11 * 1e9)  # the reader is 110 ms late: 6.6 device periods went by
    late = tracker.read_frames()[0].frame_number
    assert late - numbers[-1] == 6
    assert tracker.read_frames()[0].frame_number == late + 1
    assert tracker.read_frames(timeout_s=0.0) == []  # next frame not due yet


def test_a_starved_reader_that_oversleeps_gets_the_current_frame_not_an_old_one():
    """The GIL can wake the acquisition thread 300 ms late: the frame it then reads must be the
    camera's current one, stamped now, so its frame number agrees with the host clock."""
    clock = FakeClock()

    def oversleep(seconds: float) -> None:
        clock.sleep(seconds + 0.3)

    tracker = SimulatedTracker("idle", rate_hz=60.0, clock_ns=clock, sleep=oversleep)
    tracker.connect()
    tracker.start()
    first = tracker.read_frames()[0]
    second = tracker.read_frames()[0]
    elapsed_periods = (second.host_time_ns - first.host_time_ns) / 1e9 * 60.0
    assert second.frame_number - first.frame_number == pytest.approx(elapsed_periods, abs=1.0)


def test_noise_matches_the_stated_model_and_is_deterministic():
    scenario = make_scenario("idle")
    truth = scenario.poses_at(0.0)["coil"]
    frames = noisy_frames(scenario, 0.0, 10.0, noise_mm=0.25, seed=5)
    errors = np.array([s["coil"].tracker_from_tool[:3, 3] - truth[:3, 3] for _, s in frames])
    angles = np.array([np.arccos(np.clip((np.trace(s["coil"].tracker_from_tool[:3, :3].T
                                                    @ truth[:3, :3]) - 1) / 2, -1, 1))
                       for _, s in frames])
    assert 0.22 < np.sqrt(np.mean(np.sum(errors**2, axis=1))) < 0.28
    assert 0.0022 < np.sqrt(np.mean(angles**2)) < 0.0028  # 0.25 mm / 100 mm lever
    again = noisy_frames(scenario, 0.0, 10.0, noise_mm=0.25, seed=5)
    other = noisy_frames(scenario, 0.0, 10.0, noise_mm=0.25, seed=6)
    assert all(np.array_equal(a[1]["coil"].tracker_from_tool, b[1]["coil"].tracker_from_tool)
               for a, b in zip(frames, again))
    assert not np.array_equal(frames[5][1]["coil"].tracker_from_tool,
                              other[5][1]["coil"].tracker_from_tool)


def test_dropouts_follow_their_probability():
    frames = noisy_frames(make_scenario("idle"), 0.0, 50.0, dropout=0.1)
    statuses = [s.status for _, f in frames for s in f.values()]
    assert 0.08 < statuses.count(ToolStatus.MISSING) / len(statuses) < 0.12


def test_head_motion_moves_reference_and_head_together():
    scenario = make_scenario("head_motion", yaw_deg=20.0, period_s=20.0)
    truth = scenario.truth
    start = scenario.poses_at(0.0)
    turned = scenario.poses_at(5.0)  # a quarter period: full yaw
    rel = start["reference"][:3, :3].T @ turned["reference"][:3, :3]
    assert np.degrees(np.arccos((np.trace(rel) - 1) / 2)) > 15.0
    for t in (0.0, 3.3, 5.0, 12.7):
        np.testing.assert_allclose(scenario.poses_at(t)["reference"] @ truth.reference_from_head,
                                   scenario.tracker_from_head_at(t), atol=1e-9)
    np.testing.assert_allclose(turned["pointer"], start["pointer"], atol=1e-12)  # parked


def test_coil_approach_comes_from_afar_and_holds_on_target_with_sway():
    scenario = make_scenario("coil_approach", sway_mm=1.0, seed=4)
    head_from_target = scenario.info["head_from_target"]
    np.testing.assert_allclose(head_from_target, demo_head_geometry().target("left_m1"))

    def hotspot_in_target(t):
        head_from_tracker = invert_rigid(scenario.tracker_from_head_at(t))
        return invert_rigid(head_from_target) @ head_from_tracker @ scenario.hotspot_pose_at(t)

    assert np.linalg.norm(hotspot_in_target(0.0)[:3, 3]) > 150.0
    t0, t1 = scenario.window("holding on target")
    offsets = np.array([hotspot_in_target(t)[:3, 3] for t in np.arange(t0, t1, 0.05)])
    assert np.max(np.linalg.norm(offsets[:, :2], axis=1)) < 1.8   # in-plane sway
    assert np.ptp(offsets[:, 0]) > 0.5                            # ...but it does sway
    assert np.all(offsets[:, 2] <= 1e-9)                          # never pushed into the head
    assert scenario.phase_at(t1 + 100.0) == "holding on target"   # the hold goes on


def test_scalp_sweep_slides_on_the_scalp():
    scenario = make_scenario("scalp_sweep", n_points=12, seed=8)
    points = scenario.info["sweep_points_head"]
    assert points.shape == (12, 3) and np.all(points[:, 2] > DEMO_HEAD_CENTRE_MM[2])
    assert np.min(np.linalg.norm(points[:, None] - points[None], axis=2) + 1e3 * np.eye(12)) > 15
    for i in range(12):
        t0, t1 = scenario.window(f"sweep point {i + 1}/12")
        tip = head_tip(scenario, (t0 + t1) / 2, scenario.poses_at((t0 + t1) / 2)["pointer"])
        np.testing.assert_allclose(tip, points[i], atol=1e-9)
    t_start, t_end = scenario.window("sweep point 1/12")[0], scenario.window("sweep point 12/12")[1]
    for t in np.arange(t_start, t_end, 0.1):
        tip = head_tip(scenario, t, scenario.poses_at(t)["pointer"])
        assert abs(ellipsoid_distance_mm(tip)) < 0.5


def test_full_session_chains_the_clinical_steps_in_order():
    scenario = make_scenario("full_session", n_points=6)
    starts = [scenario.window(p)[0] for p in ("pivoting", "touching nasion", "touching lpa",
                                              "touching rpa", "sweep point 1/6",
                                              "coil approaching", "holding on target")]
    assert starts == sorted(starts)
    tracker = SimulatedTracker(scenario, realtime=False, rate_hz=20.0)
    tracker.connect()
    tracker.start()
    for _ in range(int(scenario.window("touching nasion")[0] * 20) + 2):
        tracker.read_frames()
    assert tracker.phase == "touching nasion"


def test_unplug_raises_connection_lost_until_replugged():
    tracker = SimulatedTracker("idle", realtime=False)
    tracker.connect()
    tracker.start()
    assert len(tracker.read_frames()) == 3
    tracker.unplug()
    with pytest.raises(ConnectionLost, match="unplug"):
        tracker.read_frames()
    with pytest.raises(ConnectionLost):
        tracker.connect()
    tracker.replug()
    tracker.connect()
    tracker.start()
    assert tracker.read_frames()[0].frame_number == 0


def test_bad_inputs_get_clear_errors():
    head = demo_head_geometry()
    with pytest.raises(ValueError, match="metres"):
        HeadGeometry(head.scalp_vertices_mm / 1000.0, head.scalp_normals, {})
    with pytest.raises(ValueError, match="outward"):
        HeadGeometry(head.scalp_vertices_mm, -head.scalp_normals, {})
    with pytest.raises(ValueError, match="nasion.*from the nearest scalp vertex"):
        HeadGeometry(head.scalp_vertices_mm, head.scalp_normals, {"nasion": [0, 400.0, 0]})
    with pytest.raises(ValueError, match="unknown scenario 'dance'.*full_session"):
        make_scenario("dance")
    with pytest.raises(ValueError, match="does not take option.*cone"):
        make_scenario("fiducials", cone_deg=3)
    with pytest.raises(ValueError, match="no landmark 'inion'"):
        make_scenario("fiducials", landmarks=("nasion", "inion"))
    with pytest.raises(ValueError, match="dropout"):
        NoiseModel(dropout_probability=1.5)
    assert "error_mm" in scenario_options("fiducials")
