"""MEP peak-to-peak in the post-pulse window, and the pre-activation (muscle not at rest) flag."""

import numpy as np
import pytest

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.treatment.mep import measure_mep, mep_peak_to_peak_uv
from tmsnav.navigation.treatment.mep_model import synthetic_emg_trace


@pytest.mark.parametrize("sfreq", [1000.0, 2000.0, 5000.0, 10000.0])
@pytest.mark.parametrize("amplitude", [0.0, 60.0, 800.0, 4000.0])
def test_amplitude_and_latency_on_synthetic_traces(sfreq, amplitude):
    """Known biphasic MEP (12 ms, first peak 3 ms after a 22 ms onset) plus 3 µV noise and a 2 mV
    stimulus artefact at the pulse: the 15-50 ms window reads the MEP, not the artefact."""
    x = synthetic_emg_trace(amplitude, sfreq, rng=np.random.default_rng(int(sfreq + amplitude)))
    m = measure_mep(x, sfreq, 0.1)
    # noise adds at most its own peak-to-peak; 1 kHz sampling may miss the exact sine peaks
    tol = 8.0 + (0.03 * amplitude if sfreq < 2000 else 0.0)
    assert m.amplitude_uv == pytest.approx(amplitude, abs=tol)
    if amplitude >= 60:
        assert m.peak_latency_ms == pytest.approx(25.0, abs=1.5)
    assert not m.preactivated and m.message == ""
    assert mep_peak_to_peak_uv(x, sfreq, 0.1) == pytest.approx(m.amplitude_uv)


def test_the_artefact_is_outside_the_default_window():
    """Window from the pulse (0 ms) would read the 2 mV artefact as a 4 mV MEP."""
    x = synthetic_emg_trace(0.0, 5000.0)
    assert mep_peak_to_peak_uv(x, 5000.0, 0.1) < 10.0
    assert mep_peak_to_peak_uv(x, 5000.0, 0.1, window_s=(0.0, 0.05)) > 2000.0


def test_late_response_needs_a_wider_window():
    x = synthetic_emg_trace(500.0, 5000.0, latency_s=0.055)   # e.g. a leg muscle
    assert mep_peak_to_peak_uv(x, 5000.0, 0.1) < 10.0
    assert mep_peak_to_peak_uv(x, 5000.0, 0.1, window_s=(0.015, 0.080)) == pytest.approx(500, abs=8)


def test_preactivated_muscle_is_flagged_with_its_cause():
    rest = measure_mep(synthetic_emg_trace(300.0, 5000.0, background_uv=20.0), 5000.0, 0.1)
    tense = measure_mep(synthetic_emg_trace(300.0, 5000.0, background_uv=150.0), 5000.0, 0.1)
    assert not rest.preactivated and rest.usable_at_rest and rest.baseline_uv < 30
    assert tense.preactivated and not tense.usable_at_rest
    assert tense.baseline_uv == pytest.approx(150.0, abs=10)
    assert "not at rest" in tense.message and "relaxed" in tense.message
    # the amplitude is still measured (shown to the user), only flagged
    assert tense.amplitude_uv > 300.0
    stricter = measure_mep(synthetic_emg_trace(300.0, 5000.0, background_uv=20.0), 5000.0, 0.1,
                           preactivation_limit_uv=10.0)
    assert stricter.preactivated


def test_trace_starting_at_the_pulse_says_rest_was_not_checked():
    x = synthetic_emg_trace(300.0, 5000.0, pulse_offset_s=0.0, duration_s=0.08)
    m = measure_mep(x, 5000.0, 0.0, baseline_s=None)
    assert m.amplitude_uv == pytest.approx(300.0, abs=8)
    assert not m.preactivated and "not checked" in m.message
    with pytest.raises(NavigationError, match="does not cover the pre-pulse window"):
        measure_mep(x, 5000.0, 0.0)   # the default asks for the rest check


def test_mistakes_are_refused_with_their_cause():
    x = synthetic_emg_trace(800.0, 5000.0)
    with pytest.raises(NavigationError, match="µV or mV, not volts"):
        mep_peak_to_peak_uv(x * 1e6, 5000.0, 0.1)           # samples in µV
    with pytest.raises(NavigationError, match="too slow"):
        mep_peak_to_peak_uv(x[::20], 250.0, 0.1)
    with pytest.raises(NavigationError, match="does not cover the MEP window"):
        mep_peak_to_peak_uv(x, 5000.0, 0.19)                # pulse near the end of the trace
    with pytest.raises(NavigationError, match="end > start"):
        mep_peak_to_peak_uv(x, 5000.0, 0.1, window_s=(0.05, 0.015))
    bad = x.copy()
    bad[10] = np.nan
    with pytest.raises(NavigationError, match="NaN"):
        mep_peak_to_peak_uv(bad, 5000.0, 0.1)
    with pytest.raises(NavigationError, match="one channel"):
        mep_peak_to_peak_uv(np.vstack([x, x]), 5000.0, 0.1)
    with pytest.raises(NavigationError, match=">= 0 s"):
        mep_peak_to_peak_uv(x, 5000.0, -0.01)
