"""The scenario clock: tests hold, skip and play the simulated technician while the simulated
tracker keeps serving fresh, numbered, noisy frames at its device rate."""

import numpy as np
import pytest

from tmsnav.hardware.simulation.clock import ScenarioClock
from tmsnav.hardware.simulation.scenario_library import make_scenario
from tmsnav.hardware.simulation.tracker import SimulatedTracker


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_paused_playing_and_held_at_a_limit():
    source = FakeTime()
    clock = ScenarioClock(source=source)
    source.t += 5.0
    assert clock.now_s() == 0.0 and not clock.running          # starts paused
    clock.play(2.0, until_s=7.0)
    source.t += 1.5
    assert clock() == pytest.approx(3.0) and clock.running
    source.t += 10.0
    assert clock() == 7.0 and not clock.running                 # held at the limit
    assert clock.pause() == 7.0
    source.t += 3.0
    clock.advance(0.5)
    assert clock() == 7.5
    clock.set(2.0)
    assert clock() == 2.0
    for bad in (lambda: clock.play(-1.0), lambda: clock.set(-1.0),
                lambda: clock.set(float("nan")), lambda: clock.advance(-0.1)):
        with pytest.raises(ValueError):
            bad()


def test_jump_to_a_phase_and_refusals():
    scenario = make_scenario("full_session")
    clock = ScenarioClock()
    start, end = clock.jump_to(scenario, "touching nasion", 0.5)
    assert clock() == pytest.approx(start + 0.5)
    assert scenario.phase_at(clock()) == "touching nasion"
    with pytest.raises(ValueError, match="no phase 'touching nose'.*touching nasion"):
        clock.jump_to(scenario, "touching nose")
    with pytest.raises(ValueError, match="outside phase"):
        clock.jump_to(scenario, "touching nasion", end - start + 1.0)


def test_a_held_technician_still_gets_fresh_numbered_noisy_frames():
    scenario = make_scenario("full_session")
    clock = ScenarioClock()
    start, _ = clock.jump_to(scenario, "touching lpa", 0.7)
    tracker = SimulatedTracker(scenario, realtime=False, scenario_clock=clock)
    tracker.connect()
    tracker.start()
    batches = [tracker.read_frames() for _ in range(30)]
    numbers = [b[0].frame_number for b in batches]
    assert numbers == list(range(30))                          # the stream never freezes
    assert tracker.phase == "touching lpa" and tracker.elapsed_s == pytest.approx(start + 0.7)
    pointer = np.array([next(f for f in b if f.tool == "pointer").tracker_from_tool[:3, 3]
                        for b in batches])
    truth = scenario.poses_at(start + 0.7)["pointer"][:3, 3]
    assert np.linalg.norm(pointer.mean(axis=0) - truth) < 0.2  # the hold, with noise around it
    assert np.ptp(pointer, axis=0).max() > 0.01                 # fresh noise in every frame
    clock.jump_to(scenario, "touching rpa")                     # the technician moves on
    tracker.read_frames()
    assert tracker.phase == "touching rpa"


def test_without_a_clock_the_scenario_follows_the_frames():
    tracker = SimulatedTracker("full_session", realtime=False, rate_hz=20.0)
    tracker.connect()
    tracker.start()
    for _ in range(41):
        tracker.read_frames()
    assert tracker.elapsed_s == pytest.approx(2.0)
    assert tracker.phase == "pivoting"
