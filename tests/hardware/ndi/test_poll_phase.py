"""The NDI poll schedule (hardware/ndi/poll_phase.py) against a simulated camera and a host that is
late now and then, on simulated time (no wall clock): how many camera frames does it read?

Issue 12: at 60 Hz with the app running, 3-6 % of frames were lost. A BX poll returns only the
current frame, so a host that polls late loses frames; the old rule timed each poll from the
arrival of the last reply, so one late reply made the following polls late too.
"""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.hardware.ndi.poll_phase import MARGIN, FramePhase

P = 1 / 60


def host_delays(seed: int, late_share: float = 0.2, late_max_s: float = 0.012):
    """Wake-up/reply delays of a loaded 2-core host: mostly < 0.5 ms, ``late_share`` of them up
    to ``late_max_s`` (measured with the app running: sleep overshoot p99 9 ms, round trip p99 11 ms)."""
    rng = np.random.default_rng(seed)
    while True:
        yield rng.uniform(0, late_max_s) if rng.random() < late_share else rng.uniform(0, 5e-4)


def simulate(policy: str, *, seed: int, offset_s: float, period_s: float = P, nominal_s: float = P,
             seconds: float = 60.0, late_share: float = 0.2, late_max_s: float = 0.012):
    """Fraction of camera frames read and polls per frame read. Camera frame n starts at
    offset + n * period; the poll is evaluated 0.3 ms after it is sent."""
    delay = host_delays(seed, late_share, late_max_s)
    phase, last_arrival = FramePhase(nominal_s), 0.0
    t, seen, polls = 0.5, [], 0
    while t < seconds:
        sent = t + next(delay)
        evaluated = sent + 3e-4
        received = evaluated + 3e-4 + 0.5 * next(delay)
        polls += 1
        n = int(np.floor((evaluated - offset_s) / period_s))
        if seen and n == seen[-1]:
            if policy == "frame starts":
                phase.repeat(sent)
                t = phase.repoll_s(received)
            else:   # the old rule: 1.05 periods after the last new frame arrived, at least 0.1 period
                t = max(received + 0.1 * nominal_s, last_arrival + 1.05 * nominal_s)
            continue
        seen.append(n)
        if policy == "frame starts":
            phase.new_frame(n, sent, received)
            t = max(received, phase.next_poll_s())
        else:       # the old rule: first poll 0.7 periods after the reply arrived
            last_arrival, t = received, received + 0.7 * nominal_s
    numbers = np.array(seen)
    return len(numbers) / (numbers[-1] - numbers[0] + 1), polls / len(numbers)


@pytest.mark.parametrize("offset_s", [0.001, 0.009, 0.015])
def test_a_host_late_now_and_then_still_reads_99_8_percent_of_frames(offset_s):
    for seed in range(3):
        delivered, polls_per_frame = simulate("frame starts", seed=seed, offset_s=offset_s)
        old, old_polls = simulate("arrival", seed=seed, offset_s=offset_s)
        assert delivered >= 0.998, (seed, delivered)
        assert old < 0.992          # the old rule lost ~1 % here (3-6 % live, with larger delays)
        assert polls_per_frame < old_polls   # and polls less: less CPU


def test_an_always_punctual_host_reads_every_frame_with_few_repeats():
    delivered, polls_per_frame = simulate("frame starts", seed=1, offset_s=0.004, late_share=0.0)
    assert delivered == 1.0 and polls_per_frame < 1.2


def test_a_camera_faster_than_configured_is_followed():
    """A 200 Hz camera configured as 60 Hz: the measured period takes over within a second."""
    delivered, _ = simulate("frame starts", seed=2, offset_s=0.001, period_s=1 / 200, nominal_s=P,
                            late_share=0.0, seconds=10.0)
    assert delivered > 0.95


def test_the_estimate_stays_within_the_bounds_every_poll_gives():
    phase = FramePhase(P)
    assert phase.next_poll_s() is None
    phase.new_frame(100, sent_s=10.0, received_s=10.001)
    assert phase.start_s is not None and phase.start_s <= 10.001
    phase.repeat(sent_s=10.0 + P - 0.002)          # frame 101 had not started 2 ms before this
    assert phase.start_s >= 10.0 - 0.002
    phase.new_frame(101, sent_s=10.0 + P + 0.001, received_s=10.0 + P + 0.002)
    assert 10.0 + P - 0.002 <= phase.start_s <= 10.0 + P + 0.002
    assert phase.next_poll_s() == pytest.approx(phase.start_s + (1 + MARGIN) * phase.period_s)
    phase.new_frame(5, sent_s=20.0, received_s=20.001)  # the counter jumped back: start over
    assert phase.number == 5 and phase.start_s <= 20.001
    phase.new_frame(None, sent_s=21.0, received_s=21.001)   # no frame number: pace by arrival
    assert phase.start_s == 21.001
    with pytest.raises(ValueError):
        FramePhase(0.0)
