"""Catch an EEG file whose unit label is wrong, from the amplitudes themselves.

A scalp EEG at rest has a robust standard deviation of roughly 5-50 µV after removing the DC
offset and drift (Nunez & Srinivasan 2006, *Electric Fields of the Brain*, ch. 1: scalp potentials
of tens of microvolts). A file whose samples are volts but whose header says µV (an export written
with the wrong scaling) is read as 1e6 times too small (~1e-11 V); the reverse is 1e6 times too
large (~10 V). Every absolute band power would then be off by 1e12 and every µV threshold of the
cleaning would reject all or nothing, so such a file is refused with the cause rather than shown.

The bounds are far outside anything a working amplifier records (0.05 µV is below the noise of any
EEG amplifier; 20 mV is beyond the input range of most), so a real quiet or noisy recording is
never refused; a single dead channel does not matter because the median over channels is used.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from tmsnav.navigation.eeg.recording import EegInputError

__all__ = ["robust_sd_v", "check_amplitude_scale", "TOO_SMALL_V", "TOO_LARGE_V"]

TOO_SMALL_V = 5e-8     # 0.05 µV
TOO_LARGE_V = 2e-2     # 20 mV


def robust_sd_v(data_v: np.ndarray, sfreq_hz: float, max_s: float = 60.0) -> np.ndarray:
    """Per-channel robust SD (1.4826 x MAD) after a 1 Hz high-pass, over up to ``max_s`` seconds
    from the middle of the recording (the DC offsets of DC-coupled amplifiers such as BioSemi's
    are millivolts and must not count as EEG amplitude)."""
    n = data_v.shape[1]
    take = min(n, int(max_s * sfreq_hz))
    start = (n - take) // 2
    x = np.asarray(data_v[:, start:start + take], dtype=np.float64)
    x = x - np.median(x, axis=1, keepdims=True)
    if take > 3 * int(sfreq_hz):
        sos = signal.butter(2, 1.0, btype="highpass", fs=sfreq_hz, output="sos")
        x = signal.sosfiltfilt(sos, x, axis=1)
    mad = np.median(np.abs(x - np.median(x, axis=1, keepdims=True)), axis=1)
    return 1.4826 * mad


def check_amplitude_scale(data_v: np.ndarray, sfreq_hz: float, name: str,
                          unit_in_file: str | None) -> float:
    """Return the median robust SD (volts); raise ``EegInputError`` if it is 1e6 off."""
    sds = robust_sd_v(data_v, sfreq_hz)
    live = sds[sds > 0]
    if live.size == 0:
        raise EegInputError(f"{name}: every EEG channel is flat (constant values): no EEG was "
                            "recorded, or the file holds only zeros")
    typical = float(np.median(live))
    says = f"; it says {unit_in_file}" if unit_in_file else ""
    if typical < TOO_SMALL_V:
        raise EegInputError(
            f"{name}: amplitudes are ~{typical:.0e} V, a million times smaller than a resting EEG "
            f"(5-50 µV): the file's unit is probably wrong{says} (the values look like volts "
            "stored as microvolts). Re-export the file with the correct unit.")
    if typical > TOO_LARGE_V:
        raise EegInputError(
            f"{name}: amplitudes are ~{typical:.0e} V, far larger than a resting EEG (5-50 µV): "
            f"the file's unit is probably wrong{says} (the values look like microvolts stored as "
            "volts). Re-export the file with the correct unit.")
    return typical
