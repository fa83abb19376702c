"""The one frame-number plausibility rule (tmsnav.hardware.frame_numbers) and its three users."""

from __future__ import annotations

import pytest

from tmsnav.hardware import frame_numbers
from tmsnav.hardware.acquisition.state import BatchFrameCheck
from tmsnav.hardware.frame_numbers import FrameNumberCheck, allowed_step
from tmsnav.hardware.frames import ToolFrame, ToolStatus
from tmsnav.hardware.ndi.frame_check import NDI_MAX_COUNTER_RATE_HZ
from tmsnav.hardware.ndi.frame_check import FrameNumberCheck as NDIFrameNumberCheck

MS = 1_000_000


def test_every_user_judges_frame_numbers_with_the_shared_rule():
    import inspect

    import tmsnav.hardware.polhemus.driver as polhemus

    assert issubclass(NDIFrameNumberCheck, frame_numbers.FrameNumberCheck)
    assert isinstance(BatchFrameCheck().numbers, frame_numbers.FrameNumberCheck)
    assert polhemus.FrameNumberCheck is frame_numbers.FrameNumberCheck
    assert "_frame_counts.check(" in inspect.getsource(polhemus.PolhemusTracker._frames_from)


@pytest.mark.parametrize("rate_hz", [20.0, 60.0, 240.0, NDI_MAX_COUNTER_RATE_HZ])
def test_normal_steps_drops_and_host_stalls_pass_glitches_and_backwards_steps_do_not(rate_hz):
    period_ns = int(1e9 / rate_hz)
    check, t = FrameNumberCheck(), 0
    assert check.check(100, t, rate_hz).invalid_reason is None
    t += period_ns
    assert check.check(101, t, rate_hz) == frame_numbers.FrameVerdict()
    t += 3 * period_ns
    assert check.check(104, t, rate_hz).dropped == 2
    assert check.check(104, t, rate_hz).duplicate
    t += 1_000 * MS  # the host stalled for a second: the device counted on
    assert check.check(104 + int(rate_hz), t, rate_hz).dropped == int(rate_hz) - 1
    last = check.last
    t += period_ns
    assert "implausible" in check.check(4294967170, t, rate_hz).invalid_reason  # PlusLib #244
    t += period_ns
    assert check.check(last - 5, t, rate_hz).invalid_reason  # backwards
    t += period_ns
    assert check.check(last + 3, t, rate_hz).dropped == 2  # the real stream goes on


def test_wraparound_is_a_step_and_a_restarted_counter_is_adopted_after_three_frames():
    check = FrameNumberCheck()
    for i, n in enumerate((4294967294, 4294967295, 0, 1)):
        verdict = check.check(n, i * 16 * MS, 60.0)
        assert verdict.invalid_reason is None and verdict.dropped == 0
    t = 4 * 16 * MS
    verdicts = [check.check(n, t + k * 16 * MS, 60.0) for k, n in enumerate((5000, 5001, 5002))]
    assert [v.invalid_reason is None for v in verdicts] == [False, False, True]
    assert check.last == 5002


def test_allowed_step_grows_with_elapsed_time_and_never_admits_a_glitch():
    assert allowed_step(0, 60.0) == pytest.approx(17.0)
    assert allowed_step(-5 * MS, 60.0) == allowed_step(0, 60.0)  # clocks never run backwards here
    assert allowed_step(1_000 * MS, 60.0) == pytest.approx(137.0)
    assert allowed_step(3_600_000 * MS, NDI_MAX_COUNTER_RATE_HZ) < 4294967170 - 16767


def test_ndi_accept_and_batch_check_agree_with_the_shared_rule():
    ndi = NDIFrameNumberCheck()
    assert ndi.accept(16767, 0) and ndi.accept(16768, 2 * MS)
    assert not ndi.accept(4294967170, 4 * MS)
    assert ndi.is_repeat(4294967170) and ndi.is_repeat(16768)
    batch = BatchFrameCheck()

    def frames(*numbers):
        return [ToolFrame(f"t{i}", None, ToolStatus.MISSING, frame_number=n) for i, n in enumerate(numbers)]

    assert batch.check(frames(16767, 16767), 0, 60.0).invalid_reason is None
    assert "carry frame numbers" in batch.check(frames(16768, 16790), 16 * MS, 60.0).invalid_reason
    assert "implausible" in batch.check(frames(4294967170, 4294967170), 32 * MS, 60.0).invalid_reason
    assert batch.check(frames(16769, 16769), 48 * MS, 60.0).dropped == 1
