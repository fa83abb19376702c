"""KeySource: presses of the footswitch key become pulses; repeats, other keys and double taps do not."""

import time

import pytest

from tmsnav.hardware.triggers.key_source import KeySource, normalise_key

MS = 1_000_000


def make(**kwargs):
    pulses, problems = [], []
    source = KeySource(on_problem=problems.append, **kwargs)
    source.start(pulses.append)
    return source, pulses, problems


def press_release(source, key, t_ms, hold_ms=80, repeats=0):
    source.key_event(key, pressed=True, time_ns=t_ms * MS)
    for i in range(repeats):              # the keyboard's auto-repeat while the switch is held
        source.key_event(key, pressed=True, auto_repeat=True, time_ns=(t_ms + 30 * (i + 1)) * MS)
        source.key_event(key, pressed=False, auto_repeat=True, time_ns=(t_ms + 30 * (i + 1)) * MS)
    source.key_event(key, pressed=False, time_ns=(t_ms + hold_ms) * MS)


def test_each_press_is_one_pulse_at_its_time_and_held_keys_do_not_repeat():
    source, pulses, problems = make(key="F8", min_interval_s=0.2)
    for i in range(5):
        press_release(source, "F8", 1000 * i, hold_ms=600, repeats=15)
    assert [p.host_time_ns for p in pulses] == [1000 * i * MS for i in range(5)]
    assert [p.sequence for p in pulses] == [1, 2, 3, 4, 5] and {p.source for p in pulses} == {"key"}
    assert source.stats.pulses == 5 and source.stats.ignored == {"key held": 75}
    assert problems == []


def test_a_press_seen_twice_without_a_release_is_one_pulse():
    # an application-wide event filter sees the same key event once per widget it propagates to
    source, pulses, _ = make(key="b")
    for _ in range(3):
        source.key_event("B", pressed=True, time_ns=5 * MS)
    source.key_event("B", pressed=False, time_ns=90 * MS)
    source.key_event("B", pressed=False, time_ns=90 * MS)
    assert len(pulses) == 1


def test_a_press_sooner_than_the_minimum_interval_is_ignored_and_said_once():
    source, pulses, problems = make(key="PageDown", min_interval_s=0.25)
    for t in (0, 120, 400, 500, 900):      # a bounce at +120 ms and a double tap at +100 ms
        press_release(source, "PgDown", t, hold_ms=20)
    assert [p.host_time_ns // MS for p in pulses] == [0, 400, 900]
    assert source.stats.ignored == {"too soon": 2}
    [problem] = problems
    assert not problem.fatal and "120 ms" in problem.message and "250 ms" in problem.message


def test_other_keys_and_a_stopped_source_give_nothing():
    source, pulses, problems = make(key="F8")
    press_release(source, "F9", 0)
    press_release(source, "8", 1000)
    source.stop()
    press_release(source, "F8", 2000)
    source.stop()
    assert pulses == [] and problems == [] and source.stats.ignored == {}
    source.start(pulses.append)                 # started again: counts from 1
    press_release(source, "f8", 3000)
    assert [p.sequence for p in pulses] == [1]


def test_without_a_given_time_the_pulse_is_stamped_when_forwarded():
    source, pulses, _ = make(key="Space", min_interval_s=0.0)
    before = time.monotonic_ns()
    event = source.key_event(" ", pressed=True)
    after = time.monotonic_ns()
    assert event is pulses[0] and before <= event.host_time_ns <= after


@pytest.mark.parametrize("qt_name, configured", [("PgDown", "Page Down"), ("Return", "Enter"), ("F13", "f13"),
                                                 ("Space", " ")])
def test_key_names_match_across_spellings(qt_name, configured):
    assert normalise_key(qt_name) == normalise_key(configured)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        KeySource("  ")
    with pytest.raises(ValueError):
        KeySource("F8", min_interval_s=-1)


def test_a_receiver_that_fails_is_reported_not_raised_into_the_event_loop():
    problems = []
    source = KeySource("F8", on_problem=problems.append)

    def failing(event):
        raise RuntimeError("log file not writable")
    source.start(failing)
    event = source.key_event("F8", pressed=True, time_ns=0)
    assert event is not None and source.stats.ignored == {"not delivered": 1}
    assert "could not be logged: log file not writable" in problems[0].message
