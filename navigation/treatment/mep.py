"""Motor evoked potential (MEP) amplitude from an EMG trace, with a check that the muscle was at rest.

Measure: the peak-to-peak amplitude in a post-pulse window, by default 15-50 ms after the pulse,
which holds the MEP of intrinsic hand muscles (FDI, APB: onset latency about 20-25 ms) and leaves
out the stimulus artefact of the first milliseconds. Peak-to-peak is the amplitude used by the
IFCN guideline for the motor threshold (Rossini PM, Burke D, Chen R, et al. Non-invasive
electrical and magnetic stimulation of the brain, spinal cord, roots and peripheral nerves.
Clin Neurophysiol 2015;126(6):1071-1107, doi 10.1016/j.clinph.2015.02.001).

Rest check: the *resting* motor threshold is defined in a relaxed muscle; voluntary contraction
lowers the threshold and enlarges MEPs, so a pulse given into a contracted muscle would bias the
threshold and the hotspot map. Rossini et al. 2015 ask for EMG monitoring of complete relaxation.
We flag a trace whose pre-pulse EMG (from 100 ms to 5 ms before the pulse, so the
artefact is excluded) exceeds a peak-to-peak limit, 50 µV by default - the same size as the
smallest MEP that counts - a criterion used in many MEP studies. A flagged trace is still
measured, so the user sees it, but callers leave it out of threshold and map estimates.

Units: traces are in volts (what MNE and LSL EMG streams carry); amplitudes are returned in µV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tmsnav.navigation.errors import NavigationError

__all__ = ["MepMeasurement", "measure_mep", "mep_peak_to_peak_uv", "check_amplitude_uv", "DEFAULT_WINDOW_S",
           "DEFAULT_BASELINE_S", "PREACTIVATION_LIMIT_UV", "MIN_SFREQ_HZ"]

DEFAULT_WINDOW_S = (0.015, 0.050)
#: pre-pulse window (s relative to the pulse) for the relaxation check
DEFAULT_BASELINE_S = (-0.100, -0.005)
PREACTIVATION_LIMIT_UV = 50.0
#: an MEP lasts 10-30 ms with components of several hundred Hz: below 1 kHz its peaks are missed
MIN_SFREQ_HZ = 1000.0
#: the largest plausible peak-to-peak of a surface EMG trace; 50 mV and more means the trace is
#: not in volts (µV or mV passed as volts) - the usual unit mix-up
MAX_PLAUSIBLE_V = 0.05
#: a measured peak-to-peak below this is smaller than any surface-EMG noise floor (amplifier noise
#: alone is a few µV peak-to-peak over 35 ms): such a number was given in mV or V, not µV
MIN_PLAUSIBLE_UV = 1.0


@dataclass(frozen=True)
class MepMeasurement:
    """One pulse's MEP: amplitude, latency of its first peak, and the rest check."""

    amplitude_uv: float
    peak_latency_ms: float       # time of the earlier of the two extremes, after the pulse
    baseline_uv: float           # pre-pulse EMG peak-to-peak
    preactivated: bool
    message: str                 # empty when at rest; otherwise why it is flagged

    @property
    def usable_at_rest(self) -> bool:
        """True when the muscle was relaxed, i.e. the MEP may enter a resting threshold or map."""
        return not self.preactivated


def _window_indices(n: int, sfreq: float, pulse_s: float, window: tuple[float, float],
                    what: str) -> tuple[int, int]:
    lo, hi = float(window[0]), float(window[1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        raise NavigationError(f"the {what} window must be (start, end) seconds with end > start, "
                              f"got {window!r}")
    i0 = int(np.ceil((pulse_s + lo) * sfreq - 1e-9))
    i1 = int(np.floor((pulse_s + hi) * sfreq + 1e-9)) + 1
    if i0 < 0 or i1 > n:
        have = n / sfreq
        raise NavigationError(f"the EMG trace ({have * 1000:.0f} ms, pulse at {pulse_s * 1000:.0f} ms) "
                              f"does not cover the {what} window {lo * 1000:+.0f} to {hi * 1000:+.0f} ms "
                              "around the pulse")
    if i1 - i0 < 3:
        raise NavigationError(f"the {what} window holds fewer than 3 samples at {sfreq:g} Hz")
    return i0, i1


def _check(trace_v, sfreq_hz: float, pulse_offset_s: float) -> np.ndarray:
    x = np.asarray(trace_v, dtype=float)
    if x.ndim != 1 or x.size < 3:
        raise NavigationError(f"an EMG trace must be one channel of samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise NavigationError("the EMG trace contains NaN or infinite samples (a dropped stream?)")
    if not np.isfinite(sfreq_hz) or sfreq_hz < MIN_SFREQ_HZ:
        raise NavigationError(f"EMG sampled at {sfreq_hz:g} Hz is too slow to measure an MEP: "
                              f"use at least {MIN_SFREQ_HZ:g} Hz (MEPs last 10-30 ms)")
    if not np.isfinite(pulse_offset_s) or pulse_offset_s < 0:
        raise NavigationError(f"the pulse time in the trace must be >= 0 s, got {pulse_offset_s!r}")
    span = float(np.ptp(x))
    if span > MAX_PLAUSIBLE_V:
        raise NavigationError(f"the EMG trace spans {span:g} 'volts': surface EMG never exceeds "
                              "a few mV; the samples are probably in µV or mV, not volts")
    return x


def measure_mep(trace_v, sfreq_hz: float, pulse_offset_s: float,
                window_s: tuple[float, float] = DEFAULT_WINDOW_S, *,
                baseline_s: tuple[float, float] | None = DEFAULT_BASELINE_S,
                preactivation_limit_uv: float = PREACTIVATION_LIMIT_UV) -> MepMeasurement:
    """Peak-to-peak MEP in ``window_s`` after the pulse and the pre-pulse relaxation check.

    ``pulse_offset_s`` is the pulse time from the first sample. With ``baseline_s=None`` (a
    trace that starts at the pulse) the rest check is skipped and said so in ``message``."""
    x = _check(trace_v, float(sfreq_hz), float(pulse_offset_s))
    i0, i1 = _window_indices(x.size, float(sfreq_hz), float(pulse_offset_s), window_s, "MEP")
    seg = x[i0:i1]
    k_max, k_min = int(np.argmax(seg)), int(np.argmin(seg))
    amplitude = float(seg[k_max] - seg[k_min]) * 1e6
    latency = (i0 + min(k_max, k_min)) / float(sfreq_hz) - float(pulse_offset_s)
    if baseline_s is None:
        return MepMeasurement(amplitude, latency * 1000.0, float("nan"), False,
                              "no pre-pulse EMG in the trace: relaxation not checked")
    b0, b1 = _window_indices(x.size, float(sfreq_hz), float(pulse_offset_s), baseline_s,
                             "pre-pulse")
    base = float(np.ptp(x[b0:b1])) * 1e6
    pre = base > preactivation_limit_uv
    msg = (f"muscle not at rest: {base:.0f} µV peak-to-peak EMG before the pulse (limit "
           f"{preactivation_limit_uv:g} µV); a resting threshold needs a relaxed muscle, "
           "repeat this pulse" if pre else "")
    return MepMeasurement(amplitude, latency * 1000.0, base, pre, msg)


def mep_peak_to_peak_uv(trace_v, sfreq_hz: float, pulse_offset_s: float,
                        window_s: tuple[float, float] = DEFAULT_WINDOW_S) -> float:
    """Peak-to-peak amplitude (µV) of a volts trace in the post-pulse window (the shared API)."""
    return measure_mep(trace_v, sfreq_hz, pulse_offset_s, window_s, baseline_s=None).amplitude_uv


def check_amplitude_uv(amplitude_uv: float) -> float:
    """A typed or received MEP amplitude (µV peak-to-peak), checked; 0 means "no MEP".

    Refuses NaN, negative values, and values between 0 and 1 µV: those are a unit mix-up
    (0.8 typed for 0.8 mV would otherwise count as "no response" and raise the threshold)."""
    try:
        a = float(amplitude_uv)
    except (TypeError, ValueError):
        raise NavigationError(f"an MEP amplitude must be a number of µV, got {amplitude_uv!r}") from None
    if not np.isfinite(a) or a < 0:
        raise NavigationError(f"an MEP amplitude is a peak-to-peak value >= 0 µV, got {amplitude_uv!r}")
    if 0 < a < MIN_PLAUSIBLE_UV:
        raise NavigationError(f"an MEP of {a:g} µV is below any EMG noise floor: the amplitude was "
                              "probably given in millivolts or volts, not µV (type 0 for no MEP)")
    if a > MAX_PLAUSIBLE_V * 1e6:
        raise NavigationError(f"an MEP of {a:g} µV ({a / 1000:g} mV) is larger than any surface EMG: "
                              "check the unit")
    return a
