"""ModemLineSource: edge detection behind pyserial's interface. Pseudo-terminals carry no modem
lines, so the line is a scripted object with the same ``cts/dsr/ri/cd`` properties; a real pty is
refused with that reason."""

import os
import queue
import threading
import time
import tty

import pytest
import serial

from tmsnav.hardware.triggers.common import PulseSourceError
from tmsnav.hardware.triggers.edges import EdgeDetector
from tmsnav.hardware.triggers.modem_lines import ModemLineSource

WAIT_S = 10.0
MS = 1_000_000


class ToggledLine:
    """Lines the test sets from its own thread (like a trigger-out), read like a pyserial port."""

    def __init__(self):
        self.levels = {"cts": False, "dsr": False, "ri": False, "cd": False}
        self.failure = None
        self.closed = 0
        self.reads = 0

    def _get(self, name):
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        return self.levels[name]

    cts = property(lambda self: self._get("cts"))
    dsr = property(lambda self: self._get("dsr"))
    ri = property(lambda self: self._get("ri"))
    cd = property(lambda self: self._get("cd"))

    def set(self, name, level):
        before = time.monotonic_ns()
        self.levels[name] = level
        return before

    def close(self):
        self.closed += 1


class ScriptedLine(ToggledLine):
    """Each read takes the next level of ``script`` (then holds the last) and advances a fake
    clock by ``step_ns``: the timing of bounces is exact whatever the machine's load."""

    def __init__(self, script, step_ns=250_000):
        super().__init__()
        self.script = list(script)
        self.step_ns = step_ns
        self.done = threading.Event()

    def _get(self, name):
        i = self.reads
        self.reads += 1
        if i >= len(self.script):
            self.done.set()
        return self.script[min(i, len(self.script) - 1)]

    def now(self):
        return (self.reads - 1) * self.step_ns


def collect():
    pulses, problems = queue.Queue(), queue.Queue()
    return pulses, problems


def wait_until(condition):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        threading.Event().wait(0.005)


# ----------------------------------------------------------------- the detector alone (pure logic)
def test_detector_first_reading_is_no_edge_and_bounces_are_suppressed():
    d = EdgeDetector("rising", debounce_ns=2 * MS)
    assert not d.feed(True, 0)                       # already high at start: no pulse
    assert not d.feed(False, 10 * MS)                # falling: accepted, not reported
    assert d.feed(True, 20 * MS)                     # rising: the pulse
    assert [d.feed(level, t) for level, t in [(False, 20.5 * MS), (True, 21 * MS), (True, 21.5 * MS)]] == [False] * 3
    assert not d.feed(False, 30 * MS)
    assert d.bounces == 2                            # tallied when the lock ended
    assert d.feed(True, 40 * MS)


def test_detector_a_pulse_narrower_than_the_debounce_is_no_bounce():
    d = EdgeDetector("rising", debounce_ns=2 * MS)
    for start in (0, 10, 20):
        d.feed(False, start * MS)
        assert d.feed(True, (start + 1) * MS)        # a 0.5 ms TTL pulse: its falling edge falls in the lock
        assert not d.feed(False, (start + 1.5) * MS)
        assert not d.feed(False, (start + 3.5) * MS)  # ... and is taken when the lock ends
    assert d.bounces == 0 and d.level is False


def test_detector_with_counted_transitions_sees_a_pulse_between_two_reads():
    d = EdgeDetector("rising", debounce_ns=2 * MS)
    d.feed(False, 0, 0)
    assert not EdgeDetector("rising").feed(False, 1 * MS)       # (levels alone: nothing to see)
    assert d.feed(False, 1 * MS, 2)                  # 10 µs pulse: both edges between the reads
    assert not d.feed(False, 4 * MS, 0)
    assert d.feed(False, 10 * MS, 6)                 # a pulse with two bounces within one poll
    assert not d.feed(False, 13 * MS, 0)
    assert d.bounces == 4
    assert d.feed(True, 20 * MS, 0)                  # a count that missed the change: the level still counts
    assert d.level is True
    falling = EdgeDetector("falling", debounce_ns=0)
    falling.feed(False, 0, 0)
    assert falling.feed(False, 1 * MS, 2) and falling.bounces == 0      # rise then fall: the fall is wanted


def test_detector_level_that_settled_during_the_lockout_still_gives_its_edge():
    d = EdgeDetector("falling", debounce_ns=2 * MS)
    d.feed(False, 0)
    assert not d.feed(True, 1 * MS)                  # rising accepted (not wanted)
    assert not d.feed(False, 1.5 * MS)               # a 0.5 ms pulse: inside the lock-out
    assert d.feed(False, 3.1 * MS)                   # after it: the falling edge, late but not lost


@pytest.mark.parametrize("edge, expected", [("rising", 3), ("falling", 3), ("both", 6)])
def test_detector_edge_kinds(edge, expected):
    d = EdgeDetector(edge, debounce_ns=0)
    levels = [False, True, False] * 3 + [False]
    assert sum(d.feed(level, i * MS) for i, level in enumerate(levels)) == expected


@pytest.mark.parametrize("kwargs", [{"line": "RTS"}, {"edge": "up"}, {"debounce_s": -1.0}, {"poll_hz": 0.0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        ModemLineSource("/dev/ttyS0", **kwargs)


# ----------------------------------------------------------------- the source behind pyserial's interface
@pytest.mark.parametrize("line", ["CTS", "DSR", "RI", "CD"])
def test_each_toggle_is_one_pulse_timed_between_the_toggle_and_the_callback(line):
    fake = ToggledLine()
    pulses, problems = collect()
    source = ModemLineSource("/dev/ttyS0", line, debounce_s=0.0, line_factory=lambda: fake,
                             on_problem=problems.put)
    source.start(lambda e: pulses.put((e, time.monotonic_ns())))
    try:
        wait_until(lambda: fake.reads >= 2)
        for i in range(10):
            toggled_ns = fake.set(line.lower(), True)
            event, received_ns = pulses.get(timeout=WAIT_S)
            assert toggled_ns <= event.host_time_ns <= received_ns
            assert event.sequence == i + 1 and event.source == f"modem:{line}"
            reads = fake.reads
            fake.set(line.lower(), False)            # the end of the TTL pulse: a falling edge, no pulse
            wait_until(lambda: fake.reads > reads + 1)
        other = [n for n in fake.levels if n != line.lower()][0]
        reads = fake.reads
        fake.set(other, True)                          # another line moving is not this source's pulse
        wait_until(lambda: fake.reads > reads + 2)
    finally:
        source.stop()
    assert source.stats.pulses == 10 and pulses.empty() and problems.empty()
    assert fake.closed == 1


def test_bounces_are_suppressed_and_counted_with_exact_times():
    low, high = False, True
    # reads every 0.25 ms: settled low, a pulse with two bounces at its start, low again, a 2nd clean pulse
    script = [low] * 4 + [high, low, high, low, high] + [high] * 20 + [low] * 20 + [high] * 20 + [low] * 4
    fake = ScriptedLine(script)
    pulses, problems = collect()
    source = ModemLineSource("/dev/ttyS0", "CTS", debounce_s=0.002, line_factory=lambda: fake,
                             on_problem=problems.put, clock=fake.now)
    source.start(pulses.put)
    fake.done.wait(WAIT_S)
    source.stop()
    events = [pulses.get_nowait() for _ in range(pulses.qsize())]
    assert [e.host_time_ns for e in events] == [4 * 250_000, 49 * 250_000]   # reads 4 and 49
    assert source.bounces == 4 and source.stats.ignored == {"bounce": 4}
    problem = problems.get_nowait()
    assert not problem.fatal and "bounce" in problem.message
    assert problems.empty()


def test_a_pulled_port_is_a_clear_fatal_problem_and_stop_never_raises():
    fake = ToggledLine()
    pulses, problems = collect()
    source = ModemLineSource("/dev/ttyUSB3", "DSR", line_factory=lambda: fake, on_problem=problems.put)
    source.start(pulses.put)
    wait_until(lambda: fake.reads >= 2)
    fake.failure = serial.SerialException("[Errno 5] Input/output error")
    problem = problems.get(timeout=WAIT_S)
    assert problem.fatal and "/dev/ttyUSB3" in problem.message and "unplugged" in problem.message
    wait_until(lambda: not source.running)
    source.stop()
    source.stop()
    assert source.stats.error == problem.message


def test_a_pseudo_terminal_has_no_modem_lines_and_is_refused_with_that_reason():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        source = ModemLineSource(path, "CTS")
        with pytest.raises(PulseSourceError, match="no modem-status lines") as err:
            source.start(lambda e: None)
        assert path in str(err.value)
        source.stop()
    finally:
        os.close(master)
        os.close(slave)


def test_missing_port_is_refused_with_its_name():
    source = ModemLineSource("/dev/no-such-serial-port", "RI")
    with pytest.raises(PulseSourceError, match="/dev/no-such-serial-port"):
        source.start(lambda e: None)


class CountingLine(ToggledLine):
    """A line whose driver counts changes (TIOCGICOUNT): ``pulse`` makes a narrow pulse whose two
    edges happen between two reads, so the level alone never shows it."""

    def __init__(self):
        super().__init__()
        self.counts = {"cts": 0, "dsr": 0, "cd": 0}

    def transitions(self, name):
        return self.counts[name]

    def pulse(self, name):
        before = time.monotonic_ns()
        self.counts[name] += 2
        return before

    def set(self, name, level):
        if self.levels[name] != level:
            self.counts[name] += 1
        return super().set(name, level)


def test_a_counting_port_delivers_pulses_narrower_than_the_poll_period():
    fake = CountingLine()
    pulses, problems = collect()
    # no debounce: the test makes the next pulse as soon as the last one arrived (a loaded machine
    # may poll twice within 2 ms, and two pulses within the debounce are one by design)
    source = ModemLineSource("/dev/ttyS0", "CTS", line_factory=lambda: fake, on_problem=problems.put, poll_hz=200,
                             debounce_s=0.0)
    source.start(lambda e: pulses.put((e, time.monotonic_ns())))
    try:
        assert source.counting and "counts changes" in source.describe()
        wait_until(lambda: fake.reads >= 2)
        for i in range(10):
            made_ns = fake.pulse("cts")
            event, received_ns = pulses.get(timeout=WAIT_S)
            assert made_ns <= event.host_time_ns <= received_ns and event.sequence == i + 1
        reads = fake.reads
        fake.set("cts", True)                          # a wide pulse: the level and the count agree
        fake.set("cts", False)
        pulses.get(timeout=WAIT_S)
        wait_until(lambda: fake.reads > reads + 3)
    finally:
        source.stop()
    assert source.stats.pulses == 11 and pulses.empty() and problems.empty() and source.bounces == 0


def test_a_change_between_the_count_and_the_level_read_is_no_phantom_pulse():
    class RacyLine(CountingLine):
        """Each change lands after the count was read and before the level is: the race the
        source must not double-count."""

        def __init__(self, script):
            super().__init__()
            self.script = list(script)
            self.done = threading.Event()

        def transitions(self, name):
            count = self.counts[name]
            if self.script:
                self.set(name, self.script.pop(0))
            else:
                self.done.set()
            return count

    fake = RacyLine([False, True, True, True, False, False, False, True, True, False, False])
    pulses, _ = collect()
    source = ModemLineSource("/dev/ttyS0", "CTS", debounce_s=0.0, line_factory=lambda: fake)
    source.start(pulses.put)
    fake.done.wait(WAIT_S)
    source.stop()
    assert source.stats.pulses == 2 and source.bounces == 0


def test_ri_is_never_counted_and_a_port_without_a_counter_polls_levels():
    from tmsnav.hardware.triggers.modem_counts import counting_port

    class Port:
        def fileno(self):
            return master
    master, slave = os.openpty()
    try:
        assert counting_port(Port(), "ri") is None     # the kernel counts only RI's trailing edge
        assert counting_port(Port(), "cts") is None    # a pty keeps no counter: levels only
    finally:
        os.close(master)
        os.close(slave)
    source = ModemLineSource("/dev/ttyS0", "CTS", line_factory=ToggledLine)
    source.start(lambda e: None)
    assert not source.counting and "1000 Hz" in source.describe()
    source.stop()
