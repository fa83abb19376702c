"""When a held pulse is decided (issue 15, pulse_to_log < 5 ms): a later frame, or the settle
margin with a live pose at or before the pulse; the pose's age at the pulse is logged with it.

Test clock only (``clock_ns`` / ``now_ns``): nothing here depends on wall-clock speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tmsnav.navigation.session.event_log import EventLog, read_events
from tmsnav.navigation.transforms import Transform
from tmsnav.navigation.treatment.pose_history import DEFAULT_SETTLE_MARGIN_NS, PoseHistory
from tmsnav.navigation.treatment.pulse_log import LoggedPulse, PulseLog, PulsePairer, pulses_from_events

MS = 1_000_000
US = 1_000


@dataclass(frozen=True)
class Pulse:
    host_time_ns: int
    source: str = "ttl-serial"
    sequence: int = 1
    output_pct_mso: float | None = None
    didt_a_per_us: float | None = None


def at_x(x_mm: float) -> Transform:
    return Transform.from_translation([x_mm, 0.0, 0.0], to_frame="mri", from_frame="hotspot")


class Clock:
    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


def pairer_at(clock: Clock, max_age_ns: int = 12 * MS, events: EventLog | None = None) -> tuple[PulseLog, PulsePairer]:
    log = PulseLog(events)
    return log, PulsePairer(log, PoseHistory(), max_age_ns=max_age_ns, settle_margin_ns=2 * MS, clock_ns=clock)


def test_the_margin_decides_a_pulse_with_the_live_frame_before_it_and_logs_its_age():
    """250 Hz: frames at 10 and 14 ms, pulse at 16.5 ms. The next frame (18 ms) would come 1.5 ms
    later; the pulse is written once the 2 ms margin has passed, with the 14 ms pose, 2.5 ms old.
    (Before the margin it was held until a frame received after it: up to a whole period.)"""
    clock = Clock(10 * MS)
    log, pairer = pairer_at(clock)
    pairer.add_frame(10 * MS, at_x(10.0), True)
    clock.now_ns = 14 * MS
    pairer.add_frame(14 * MS, at_x(14.0), True)
    clock.now_ns = 16_600 * US
    assert pairer.submit(Pulse(16_500 * US), None) == []
    clock.now_ns = 18_400 * US                  # 1.9 ms after the pulse: a frame may be on its way
    assert pairer.poll() == [] and pairer.pending == 1
    clock.now_ns = 18_600 * US
    (pulse,) = pairer.poll()
    assert pulse.mri_from_hotspot is not None and pulse.mri_from_hotspot.is_close(at_x(14.0))
    assert pulse.pose_age_ms == pytest.approx(2.5) and pulse.pose_reason == ""


def test_a_frame_stamped_before_the_pulse_but_added_after_the_margin_is_too_late():
    """The race: the frame stamped at 15 ms (before the 16 ms pulse) reaches the history only
    after the margin (a starved acquisition thread). The pulse keeps the previous frame (14 ms),
    still live at the pulse, with its age; the late frame changes nothing already written."""
    clock = Clock(14 * MS)
    log, pairer = pairer_at(clock)
    pairer.add_frame(14 * MS, at_x(14.0), True)
    clock.now_ns = 16_100 * US
    pairer.submit(Pulse(16 * MS), None)
    clock.now_ns = 18_100 * US
    (pulse,) = pairer.poll()
    clock.now_ns = 19 * MS
    assert pairer.add_frame(15 * MS, at_x(15.0), True) == []
    assert log.pulses == [pulse]
    assert pulse.mri_from_hotspot is not None and pulse.mri_from_hotspot.is_close(at_x(14.0))
    assert pulse.pose_age_ms == pytest.approx(2.0)


def test_the_margin_never_decides_on_a_stale_or_untracked_frame():
    """The frame before the pulse is older than the staleness limit (or had no coil): the margin
    does not decide; a frame stamped before the pulse that arrives later gives the pose, and
    without one the pulse is 'pose unknown' once the limit has passed, as before."""
    clock = Clock(0)
    log, pairer = pairer_at(clock, max_age_ns=12 * MS)
    pairer.add_frame(0, at_x(0.0), True)
    pairer.submit(Pulse(20 * MS), None)                 # the 0 ms frame is 20 ms old: stale
    clock.now_ns = 25 * MS
    assert pairer.poll() == []
    (late,) = pairer.add_frame(19 * MS, at_x(19.0), True)   # stamped before the pulse, added late
    assert late.mri_from_hotspot is not None and late.mri_from_hotspot.is_close(at_x(19.0))
    assert late.pose_age_ms == pytest.approx(1.0)

    pairer.add_frame(21 * MS, None, False, "coil not tracked")
    pairer.submit(Pulse(22 * MS, sequence=2), None)
    clock.now_ns = 30 * MS                              # margin long past, limit not yet
    assert pairer.poll() == []
    clock.now_ns = 34_100 * US
    (unknown,) = pairer.poll()
    assert unknown.mri_from_hotspot is None and unknown.pose_reason == "coil not tracked"
    assert unknown.pose_age_ms is None

    pairer.submit(Pulse(50 * MS, sequence=3), None)     # last frame 29 ms old at the pulse
    clock.now_ns = 62_100 * US
    (stale,) = pairer.poll()
    assert stale.mri_from_hotspot is None and stale.pose_reason == "last frame 29 ms old"


def test_a_frame_received_after_the_pulse_decides_it_at_once_as_before():
    clock = Clock(10 * MS)
    log, pairer = pairer_at(clock)
    pairer.add_frame(10 * MS, at_x(10.0), True)
    pairer.submit(Pulse(12 * MS), None)
    clock.now_ns = 12_500 * US
    assert pairer.add_frame(11_800 * US, at_x(11.8), True) == []   # stamped before it, within the margin
    clock.now_ns = 13 * MS
    (pulse,) = pairer.add_frame(12_900 * US, at_x(12.9), True)     # received after it: decided now
    assert pulse.mri_from_hotspot is not None and pulse.mri_from_hotspot.is_close(at_x(11.8))
    assert pulse.pose_age_ms == pytest.approx(0.2)


def test_pose_age_is_written_to_the_event_log_and_old_logs_without_it_still_read(tmp_path):
    clock = Clock(0)
    log, pairer = pairer_at(clock, events=EventLog(tmp_path / "events.jsonl", fsync_each=False))
    pairer.add_frame(1 * MS, at_x(1.0), True)
    pairer.submit(Pulse(4 * MS), None)
    (pulse,) = pairer.poll(now_ns=6_100 * US)
    (event,) = read_events(tmp_path / "events.jsonl").events
    assert event.data["pose_age_ms"] == pytest.approx(3.0)
    (reread,) = pulses_from_events([event])
    assert reread.pose_age_ms == pytest.approx(3.0) and reread.mri_from_hotspot is not None
    old = dict(event.data)
    del old["pose_age_ms"]                               # a log written before the field existed
    before = LoggedPulse.from_event_data(old)
    assert before.pose_age_ms is None and before.pose_known
    assert before.to_event_data() == {**event.data, "pose_age_ms": None}


def test_the_default_margin_is_shorter_than_a_250_hz_period():
    assert 0 < DEFAULT_SETTLE_MARGIN_NS < 4 * MS


def test_the_default_pairer_uses_the_default_margin():
    clock = Clock(0)
    log = PulseLog(None)
    pairer = PulsePairer(log, PoseHistory(), clock_ns=clock)
    pairer.add_frame(1 * MS, at_x(1.0), True)
    pairer.submit(Pulse(2 * MS), None)
    assert pairer.poll(now_ns=2 * MS + DEFAULT_SETTLE_MARGIN_NS) == []
    (pulse,) = pairer.poll(now_ns=2 * MS + DEFAULT_SETTLE_MARGIN_NS + 1)
    assert pulse.pose_age_ms == pytest.approx(1.0)
