"""TtlSerialSource over a real pseudo-terminal: the test is the adapter, writing bytes on the master
side and knowing when it wrote them; the source reads the slave like a USB serial port."""

import os
import queue
import threading
import time
import tty

import pytest

from tmsnav.hardware.triggers.common import PulseSourceError
from tmsnav.hardware.triggers.ttl_serial import TtlSerialSource

WAIT_S = 10.0     # an upper bound on waiting for a condition on a loaded machine, never a pace


class Adapter:
    """The far end of a pty: ``write`` sends bytes as the adapter would; ``unplug`` closes it."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.open = True

    def write(self, data: bytes) -> int:
        before = time.monotonic_ns()
        os.write(self.master, data)
        return before

    def unplug(self):
        if self.open:
            os.close(self.master)
            os.close(self.slave)
            self.open = False


class Received:
    """Collects pulses and problems with the time the callback ran."""

    def __init__(self):
        self.pulses = queue.Queue()
        self.problems = queue.Queue()

    def pulse(self, event):
        self.pulses.put((event, time.monotonic_ns()))

    def problem(self, problem):
        self.problems.put(problem)

    def take(self, n):
        return [self.pulses.get(timeout=WAIT_S) for _ in range(n)]


@pytest.fixture
def rig():
    adapter = Adapter()
    got = Received()
    source = TtlSerialSource(adapter.path, pulse_bytes=[0x01], baud=115200, on_problem=got.problem)
    yield adapter, source, got
    source.stop()
    adapter.unplug()


def test_each_pulse_byte_is_one_pulse_timed_between_the_write_and_the_read(rig):
    adapter, source, got = rig
    source.start(got.pulse)
    for i in range(20):
        written_ns = adapter.write(b"\x01")
        [(event, received_ns)] = got.take(1)
        assert written_ns <= event.host_time_ns <= received_ns
        assert event.sequence == i + 1 and event.source == "ttl-serial"
        assert event.output_pct_mso is None and event.didt_a_per_us is None   # a TTL edge cannot know them
    assert source.stats.pulses == 20 and source.stats.ignored_total() == 0
    assert got.pulses.empty() and got.problems.empty()


def test_a_burst_of_pulse_bytes_gives_the_right_count(rig):
    adapter, source, got = rig
    source.start(got.pulse)
    written_ns = adapter.write(b"\x01" * 300)
    events = [e for e, _ in got.take(300)]
    assert [e.sequence for e in events] == list(range(1, 301))
    assert all(e.host_time_ns >= written_ns for e in events)
    assert source.stats.pulses == 300


def test_bytes_that_are_not_the_pulse_byte_are_counted_and_reported_not_pulses(rig):
    adapter, source, got = rig
    source.start(got.pulse)
    adapter.write(b"\x55\x01\xaa\x01\x55")          # e.g. a wrong baud rate garbling some bytes
    assert len(got.take(2)) == 2
    problem = got.problems.get(timeout=WAIT_S)
    assert not problem.fatal
    assert "0x55" in problem.message and "not the pulse byte 0x01" in problem.message
    assert "baud" in problem.message
    adapter.write(b"\x01")                             # the source goes on
    got.take(1)
    assert source.stats.pulses == 3
    assert source.stats.ignored == {"unexpected byte": 3}
    assert got.problems.empty()                        # said once, counted always


def test_several_pulse_byte_values(rig):
    adapter, _, got = rig
    source = TtlSerialSource(adapter.path, pulse_bytes=[0x31, 0x32], on_problem=got.problem)
    try:
        source.start(got.pulse)
        adapter.write(b"1x2")
        assert [e.detail["byte"] for e, _ in got.take(2)] == [0x31, 0x32]
        assert source.stats.ignored == {"unexpected byte": 1}
    finally:
        source.stop()


def test_bytes_from_before_start_are_not_pulses(rig):
    adapter, source, got = rig
    adapter.write(b"\x01\x01\x01")                     # an adapter left running before the session
    source.start(got.pulse)
    adapter.write(b"\x01")
    got.take(1)
    assert source.stats.pulses == 1
    assert got.pulses.empty()


def test_pulled_adapter_is_a_clear_fatal_problem_and_stop_never_raises(rig):
    adapter, source, got = rig
    source.start(got.pulse)
    adapter.write(b"\x01")
    got.take(1)
    adapter.unplug()
    problem = got.problems.get(timeout=WAIT_S)
    assert problem.fatal
    assert adapter.path in problem.message and "unplugged" in problem.message
    assert source.stats.error == problem.message
    deadline = time.monotonic() + WAIT_S
    while source.running and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert not source.running
    source.stop()
    source.stop()


def test_missing_port_is_refused_with_its_name():
    source = TtlSerialSource("/dev/no-such-trigger-adapter")
    with pytest.raises(PulseSourceError, match="/dev/no-such-trigger-adapter"):
        source.start(lambda event: None)
    source.stop()


@pytest.mark.parametrize("kwargs", [{"pulse_bytes": []}, {"pulse_bytes": [256]}, {"baud": 0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        TtlSerialSource("/dev/null", **kwargs)


def test_a_receiver_that_fails_is_reported_not_taken_for_a_pulled_adapter(rig):
    adapter, source, got = rig

    def failing(event):
        if event.sequence == 1:
            raise RuntimeError("log file not writable")
        got.pulse(event)
    source.start(failing)
    adapter.write(b"\x01")
    problem = got.problems.get(timeout=WAIT_S)
    assert not problem.fatal and "pulse 1 from ttl-serial could not be logged: log file not writable" in problem.message
    adapter.write(b"\x01")                              # the source goes on
    [(event, _)] = got.take(1)
    assert event.sequence == 2 and source.running and source.stats.ignored == {"not delivered": 1}
