"""The driver paces its polls by the device's real frame period: no frames lost when the camera
runs faster than configured, and few wasted polls for repeated frames."""

import time

from tmsnav.hardware.ndi import NDIEmulator, NDITracker


def track_for(seconds, emulator_rate, nominal_rate):
    emulator = NDIEmulator(rate_hz=emulator_rate, noise_mm=0.0, noise_rad=0.0)
    port = f"socket://127.0.0.1:{emulator.serve_tcp()}"
    tracker = NDITracker(port, nominal_rate_hz=nominal_rate)
    try:
        tracker.connect()
        tracker.start()
        numbers = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            frames = tracker.read_frames(timeout_s=0.2)
            if frames:
                numbers.append(frames[0].frame_number)
        return numbers, tracker.stats.polls
    finally:
        tracker.close()
        emulator.stop()


def test_a_200_hz_camera_configured_as_60_hz_is_still_read_at_200_hz():
    numbers, _ = track_for(1.5, emulator_rate=200, nominal_rate=60)
    span = numbers[-1] - numbers[0]
    assert span > 200  # 1.5 s at 200 Hz = 300 device frames
    assert len(numbers) > 0.6 * span  # most device frames were read, not one in three


def test_polls_per_frame_stay_low_at_the_configured_rate():
    numbers, polls = track_for(1.5, emulator_rate=60, nominal_rate=60)
    assert len(numbers) > 60
    assert polls / len(numbers) < 3.5  # was ~4 polls per frame with blind 1/4-period polling


def test_a_poll_due_when_the_clock_passes_it_mid_check_does_not_crash_the_read(monkeypatch):
    """The poll's due time is checked, then the sleep computed: a thread switch in between can
    put the clock past it. The sleep must then be none, not a negative one (time.sleep raises
    ValueError, which stopped the acquisition's read loop in the treatment benchmark)."""
    from tmsnav.hardware.ndi import driver as ndi_driver

    emulator = NDIEmulator(rate_hz=60, noise_mm=0.0, noise_rad=0.0)
    tracker = NDITracker(f"socket://127.0.0.1:{emulator.serve_tcp()}", nominal_rate_hz=60)
    try:
        tracker.connect()
        tracker.start()
        assert tracker.read_frames(timeout_s=1.0)
        t = time.monotonic()
        ticks = iter([t, t, t + 0.002])        # deadline, "due later?" yes, then the clock moved on

        class Clock:
            @staticmethod
            def monotonic() -> float:
                return next(ticks, None) or time.monotonic()

            sleep = staticmethod(time.sleep)

        monkeypatch.setattr(tracker._phase, "next_poll_s", lambda: t + 0.001)
        monkeypatch.setattr(ndi_driver, "time", Clock)
        tracker.read_frames(timeout_s=0.5)      # raised ValueError: sleep length must be non-negative
    finally:
        monkeypatch.undo()
        tracker.close()
        emulator.stop()
