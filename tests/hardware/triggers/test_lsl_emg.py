"""LslEmgBuffer against a real LSL outlet created in the test: the test is the EMG amplifier and
stamps every sample itself, so it knows which samples surround a pulse."""

import queue
import uuid

import numpy as np
import pylsl
import pytest

from tmsnav.hardware.triggers.common import PulseSourceError
from tmsnav.hardware.triggers.lsl_emg import LslEmgBuffer, volts_per_unit

RATE = 1000.0
WAIT_S = 10.0


def emg_outlet(*, labels=("FDI", "APB"), unit="microvolts", rate=RATE, fmt=pylsl.cf_float32):
    name = f"tmsnav-test-emg-{uuid.uuid4().hex[:10]}"
    info = pylsl.StreamInfo(name, "EMG", len(labels), rate, fmt, uuid.uuid4().hex)
    channels = info.desc().append_child("channels")
    for label in labels:
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        if unit is not None:
            ch.append_child_value("unit", unit)
    return name, pylsl.StreamOutlet(info)


def push(outlet, t0, first, count, value=lambda k: (float(k), -float(k))):
    """Samples ``first .. first+count-1``, sample k stamped ``t0 + k / RATE`` (LSL seconds)."""
    for k in range(first, first + count):
        outlet.push_sample(list(value(k)), t0 + k / RATE)


@pytest.fixture
def started():
    made = []

    def make(name, **kwargs):
        buffer = LslEmgBuffer(name, resolve_timeout_s=5.0, **kwargs)
        buffer.start()
        made.append(buffer)
        return buffer

    yield make
    for buffer in made:
        buffer.stop()


def test_trace_around_returns_exactly_the_samples_of_the_window(started):
    name, out = emg_outlet()
    emg = started(name, channel="FDI")
    t0 = pylsl.local_clock() - 5.0
    push(out, t0, 0, 1500)
    pulse_ns = emg.clock.to_monotonic_ns(t0 + 1.0005)          # half-way between samples 1000 and 1001
    trace = emg.wait_trace_around(pulse_ns, 0.1, 0.2, WAIT_S)
    assert trace is not None and trace.complete and trace.channel == "FDI"
    np.testing.assert_allclose(trace.values_v, np.arange(901, 1201) * 1e-6, rtol=1e-6)   # µV stream -> volts
    assert trace.sfreq_hz == RATE
    assert trace.pulse_offset_s == pytest.approx(0.0995, abs=2e-6)
    assert np.all(np.diff(trace.times_ns) > 0)
    assert trace.times_ns[0] >= pulse_ns - 100_000_000 and trace.times_ns[-1] <= pulse_ns + 200_000_000


def test_an_mep_in_the_stream_is_found_15_to_50_ms_after_the_pulse(started):
    name, out = emg_outlet(labels=("FDI",), unit="mV")
    emg = started(name)
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 0.005, 3000)                        # 5 µV RMS baseline, in mV
    pulse_k = 1200
    wave = noise.copy()
    wave[pulse_k + 22] += 0.6                                    # a 1.1 mV peak-to-peak MEP at 22-27 ms
    wave[pulse_k + 27] -= 0.5
    t0 = pylsl.local_clock() - 10.0
    push(out, t0, 0, 3000, value=lambda k: (wave[k],))
    pulse_ns = emg.clock.to_monotonic_ns(t0 + pulse_k / RATE)
    trace = emg.wait_trace_around(pulse_ns, 0.05, 0.1, WAIT_S)
    t_s = (trace.times_ns - pulse_ns) / 1e9
    window = (t_s >= 0.015) & (t_s <= 0.050)
    baseline = t_s < 0
    assert np.ptp(trace.values_v[window]) == pytest.approx(1.1e-3, abs=4e-5)
    assert np.ptp(trace.values_v[baseline]) < 5e-5
    assert trace.values_v[np.argmax(trace.values_v)] > 5e-4 and t_s[np.argmax(trace.values_v)] == pytest.approx(0.022)


def test_a_window_not_yet_received_waits_and_a_too_old_one_is_refused(started):
    name, out = emg_outlet()
    emg = started(name, channel=1, capacity_s=2.0)
    t0 = pylsl.local_clock() - 20.0
    push(out, t0, 0, 1000)
    assert emg.wait_trace_around(emg.clock.to_monotonic_ns(t0 + 0.5), 0.1, 0.1, WAIT_S) is not None
    late_pulse = emg.clock.to_monotonic_ns(t0 + 0.95)
    assert emg.trace_around(late_pulse, 0.05, 0.2) is None       # the samples after it are not there yet
    push(out, t0, 1000, 4000)
    trace = emg.wait_trace_around(emg.clock.to_monotonic_ns(t0 + 4.5), 0.1, 0.1, WAIT_S)
    assert trace is not None and trace.channel == "APB"
    assert emg.wait_trace_around(emg.clock.to_monotonic_ns(t0 + 4.9985), 0.001, 0.0004, WAIT_S)  # all arrived
    np.testing.assert_allclose(trace.values_v[0], -4400e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="older than the 2 s"):
        emg.trace_around(late_pulse, 0.05, 0.2)                   # 4 s ago, the buffer keeps 2 s


def test_missing_samples_are_counted(started):
    name, out = emg_outlet()
    emg = started(name)
    t0 = pylsl.local_clock() - 5.0
    push(out, t0, 0, 500)
    push(out, t0, 510, 490)                                      # 10 samples lost on the way
    trace = emg.wait_trace_around(emg.clock.to_monotonic_ns(t0 + 0.5005), 0.1, 0.1, WAIT_S)
    assert trace.missing_samples == 10 and not trace.complete


def test_the_stream_unit_is_used_and_a_contradicting_setting_refused():
    name, _out = emg_outlet(unit="microvolts")
    with pytest.raises(PulseSourceError, match="says channel FDI is in microvolts, but the settings say V"):
        LslEmgBuffer(name, unit="V", resolve_timeout_s=5.0).start()


def test_a_stream_without_a_unit_needs_one(started):
    name, out = emg_outlet(unit=None)
    with pytest.raises(PulseSourceError, match="does not say the unit"):
        LslEmgBuffer(name, resolve_timeout_s=5.0).start()
    emg = started(name, unit="uV")
    t0 = pylsl.local_clock() - 5.0
    push(out, t0, 0, 300)
    trace = emg.wait_trace_around(emg.clock.to_monotonic_ns(t0 + 0.1005), 0.0, 0.1, WAIT_S)
    np.testing.assert_allclose(trace.values_v[:2], [101e-6, 102e-6], rtol=1e-6)


@pytest.mark.parametrize("channel, words", [("EOG", "no channel 'EOG'; it has FDI, APB"), (5, "has 2 channels")])
def test_a_wrong_channel_is_refused_naming_the_channels(channel, words):
    name, _out = emg_outlet()
    with pytest.raises(PulseSourceError, match=words):
        LslEmgBuffer(name, channel=channel, resolve_timeout_s=5.0).start()


def test_a_marker_stream_chosen_by_mistake_is_refused():
    name = f"tmsnav-test-emg-{uuid.uuid4().hex[:10]}"
    _out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, "m"))
    with pytest.raises(PulseSourceError, match="marker stream, not EMG"):
        LslEmgBuffer(name, unit="uV", resolve_timeout_s=5.0).start()


def test_a_closed_amplifier_program_is_said_and_the_buffer_stays_readable():
    name, out = emg_outlet()
    problems = queue.Queue()
    emg = LslEmgBuffer(name, resolve_timeout_s=5.0, on_problem=problems.put)
    emg.start()
    t0 = pylsl.local_clock() - 5.0
    push(out, t0, 0, 500)
    pulse_ns = emg.clock.to_monotonic_ns(t0 + 0.2)
    assert emg.wait_trace_around(pulse_ns, 0.05, 0.05, WAIT_S) is not None
    del out
    problem = problems.get(timeout=30.0)
    assert problem.fatal and "went away" in problem.message and emg.error == problem.message
    assert emg.trace_around(pulse_ns, 0.05, 0.05) is not None
    emg.stop()
    emg.stop()


def test_units():
    assert volts_per_unit("µV") == volts_per_unit("uV") == 1e-6 and volts_per_unit("mV") == 1e-3
    with pytest.raises(ValueError):
        volts_per_unit("mA")
    with pytest.raises(ValueError):
        LslEmgBuffer("x", unit="counts")
