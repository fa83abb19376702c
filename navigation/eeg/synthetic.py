"""EEG-like signals whose power spectrum is known exactly, for the measure tests and the benchmark.

Each channel is white Gaussian noise shaped in the frequency domain to a chosen PSD:
an aperiodic part ``a * f**-slope`` (the 1/f background) plus Gaussian peaks (alpha, theta...).
The expected PSD is therefore known, the alpha peak of the *periodic* part sits exactly at the
planted frequency, and the peak of the *total* spectrum sits below it by an amount that grows
with the slope (the bias a plain peak pick has). ``write_sample_eeg`` (``sample_eeg.py``) is the
whole-recording counterpart with artefacts; this module is for spectra alone, like
``navigation/phantom.py`` is for images.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tmsnav.navigation.eeg.cleaning import CleanEeg


__all__ = ["Peak", "ChannelSpec", "shaped_noise", "clean_from_signals", "make_clean"]


@dataclass
class Peak:
    """A Gaussian spectral peak (linear power) added to the background."""

    centre_hz: float
    power_v2: float          # integrated power of the peak (V²)
    sd_hz: float = 0.6


@dataclass
class ChannelSpec:
    """One channel's planted PSD: ``a * (f/10)**-slope`` plus ``peaks``."""

    slope: float = 1.5
    aperiodic_at_10hz_v2_per_hz: float = 1e-12     # 1 µV²/Hz at 10 Hz
    peaks: list[Peak] = field(default_factory=list)

    def psd(self, f: np.ndarray) -> np.ndarray:
        """The planted (expected) one-sided PSD in V²/Hz."""
        with np.errstate(divide="ignore"):
            out = self.aperiodic_at_10hz_v2_per_hz * (np.maximum(f, 0.5) / 10.0) ** (-self.slope)
        for p in self.peaks:
            out = out + p.power_v2 * np.exp(-0.5 * ((f - p.centre_hz) / p.sd_hz) ** 2) / (p.sd_hz * np.sqrt(2 * np.pi))
        return out


def shaped_noise(spec: ChannelSpec, n_samples: int, sfreq: float, rng: np.random.Generator) -> np.ndarray:
    """One channel (volts) with expected one-sided PSD ``spec.psd`` between 1 and 45 Hz (0 outside)."""
    f = np.fft.rfftfreq(n_samples, 1.0 / sfreq)
    target = spec.psd(f)
    target[(f < 1.0) | (f > 45.0)] = 0.0
    # A one-sided PSD S(f) has per-bin variance S(f) * df split over the +/- frequencies.
    df = sfreq / n_samples
    amp = np.sqrt(target * df / 2.0) * n_samples
    coeffs = amp * (rng.normal(size=f.size) + 1j * rng.normal(size=f.size))
    return np.fft.irfft(coeffs, n=n_samples)


def clean_from_signals(signals_v: np.ndarray, channels: list[str], sfreq: float, epoch_s: float = 2.0,
                       condition: str = "eyes_closed") -> CleanEeg:
    """Cut continuous signals ``(n_ch, n_samples)`` into a ``CleanEeg`` of back-to-back epochs."""
    n = int(round(epoch_s * sfreq))
    n_ep = signals_v.shape[1] // n
    epochs = signals_v[:, : n_ep * n].reshape(len(channels), n_ep, n).transpose(1, 0, 2)
    return CleanEeg(epochs_v=np.ascontiguousarray(epochs), epoch_starts_s=np.arange(n_ep) * epoch_s,
                    sfreq_hz=sfreq, channels=list(channels), bad_channels={}, rejected_segments=[],
                    clean_duration_s=n_ep * epoch_s, reference="average", band_hz=(1.0, 45.0),
                    notch_hz=None, condition=condition, steps=["synthetic"], warnings=[])


def make_clean(specs: dict[str, ChannelSpec], duration_s: float = 240.0, sfreq: float = 256.0,
               seed: int = 0, condition: str = "eyes_closed") -> CleanEeg:
    """A ``CleanEeg`` of independent channels with the planted spectra (seeded)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sfreq)
    data = np.stack([shaped_noise(s, n, sfreq, rng) for s in specs.values()])
    return clean_from_signals(data, list(specs), sfreq, condition=condition)
