"""LslMarkerSource against real LSL outlets created in the test (pylsl ships liblsl): the test is
the stimulus program and knows when it pushed each marker."""

import queue
import time
import uuid

import pylsl
import pytest

from tmsnav.hardware.triggers.common import PulseSourceError
from tmsnav.hardware.triggers.lsl_markers import LslMarkerSource

WAIT_S = 10.0


def outlet(name, *, fmt=pylsl.cf_string, rate=pylsl.IRREGULAR_RATE, source_id=None, stream_type="Markers"):
    info = pylsl.StreamInfo(name, stream_type, 1, rate, fmt, source_id or uuid.uuid4().hex)
    return pylsl.StreamOutlet(info)


def unique_name():
    return f"tmsnav-test-markers-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def rig():
    name = unique_name()
    out = outlet(name)
    pulses, problems = queue.Queue(), queue.Queue()
    source = LslMarkerSource(name, resolve_timeout_s=5.0, on_problem=problems.put)
    yield out, source, pulses, problems
    source.stop()


def test_each_marker_is_a_pulse_at_its_lsl_time_on_the_monotonic_clock(rig):
    out, source, pulses, problems = rig
    source.start(lambda e: pulses.put((e, time.monotonic_ns())))
    for i in range(25):
        pushed_ns = time.monotonic_ns()
        out.push_sample([f"pulse {i}"])
        event, received_ns = pulses.get(timeout=WAIT_S)
        assert pushed_ns - source.clock.uncertainty_ns <= event.host_time_ns <= received_ns
        assert event.sequence == i + 1 and event.source == "lsl" and event.detail["marker"] == f"pulse {i}"
    assert source.stats.pulses == 25 and problems.empty()
    assert not source.clock_sync                         # pushed on this computer: same clock, no correction
    assert source.clock.uncertainty_ns < 1_000_000


def test_the_senders_time_stamp_is_used_not_the_arrival_time(rig):
    out, source, pulses, _ = rig
    source.start(pulses.put)
    stamp = pylsl.local_clock() - 0.25                  # the sender stamped the trigger 250 ms before pushing
    out.push_sample(["pulse"], stamp)
    event = pulses.get(timeout=WAIT_S)
    assert event.host_time_ns == source.clock.to_monotonic_ns(stamp)
    assert event.detail["arrived_ns"] - event.host_time_ns >= 250_000_000


def test_only_markers_with_the_matching_text_are_pulses():
    name = unique_name()
    out = outlet(name)
    pulses, problems = queue.Queue(), queue.Queue()
    source = LslMarkerSource(name, match="TMS", on_problem=problems.put)
    try:
        source.start(pulses.put)
        for text in ("TMS", "trial start", "TMS", "TMS ", "tms", "trial end", "TMS"):
            out.push_sample([text])
        events = [pulses.get(timeout=WAIT_S) for _ in range(4)]   # "TMS " is stripped; "tms" is another text
        assert [e.sequence for e in events] == [1, 2, 3, 4]
        problem = problems.get(timeout=WAIT_S)
        assert not problem.fatal and "'trial start'" in problem.message
        # one thread, in order: the last pulse came after the three other markers were counted
        assert source.stats.ignored == {"other marker": 3} and source.stats.pulses == 4
    finally:
        source.stop()


def test_numeric_marker_streams_match_by_their_number():
    name = unique_name()
    out = outlet(name, fmt=pylsl.cf_int32)
    pulses = queue.Queue()
    source = LslMarkerSource(name, match="1")
    try:
        source.start(pulses.put)
        for code in (1, 2, 1):
            out.push_sample([code])
        assert [pulses.get(timeout=WAIT_S).detail["marker"] for _ in range(2)] == ["1", "1"]
    finally:
        source.stop()


def test_a_closed_sender_is_a_fatal_problem_and_stop_never_raises():
    name = unique_name()
    out = outlet(name)
    pulses, problems = queue.Queue(), queue.Queue()
    source = LslMarkerSource(name, resolve_timeout_s=5.0, on_problem=problems.put)
    source.start(pulses.put)
    out.push_sample(["pulse"])
    pulses.get(timeout=WAIT_S)
    del out                                             # the stimulus program closes
    problem = None
    deadline = time.monotonic() + 30.0
    while problem is None and time.monotonic() < deadline:
        try:
            problem = problems.get(timeout=0.5)
        except queue.Empty:
            pass
    assert problem is not None and problem.fatal and "went away" in problem.message and name in problem.message
    assert source.stats.error == problem.message
    source.stop()
    source.stop()


def test_no_such_stream_is_refused_with_its_name():
    name = unique_name()
    source = LslMarkerSource(name, resolve_timeout_s=0.3)
    with pytest.raises(PulseSourceError, match=name):
        source.start(lambda e: None)
    source.stop()


def test_two_streams_of_the_same_name_are_refused_until_the_source_id_is_given():
    name = unique_name()
    a, b = outlet(name, source_id="rig-a"), outlet(name, source_id="rig-b")
    with pytest.raises(PulseSourceError, match="2 streams match") as err:
        LslMarkerSource(name, resolve_timeout_s=5.0).start(lambda e: None)
    assert "rig-a" in str(err.value) and "rig-b" in str(err.value)
    pulses = queue.Queue()
    source = LslMarkerSource(name, source_id="rig-b", resolve_timeout_s=5.0)
    try:
        source.start(pulses.put)
        a.push_sample(["from a"])
        b.push_sample(["from b"])
        assert pulses.get(timeout=WAIT_S).detail["marker"] == "from b"
    finally:
        source.stop()


def test_a_regular_rate_stream_chosen_by_mistake_is_refused():
    name = unique_name()
    _emg = outlet(name, fmt=pylsl.cf_float32, rate=2000.0, stream_type="EMG")
    with pytest.raises(PulseSourceError, match="not a marker stream"):
        LslMarkerSource(name, resolve_timeout_s=5.0).start(lambda e: None)


def test_a_choice_is_needed():
    with pytest.raises(ValueError, match="name, type or source id"):
        LslMarkerSource()
