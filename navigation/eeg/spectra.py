"""Power spectra of clean EEG epochs and the band powers read from them.

**Spectrum.** Welch's method (Welch 1967, IEEE Trans Audio Electroacoust 15:70) per clean epoch:
one Hann-windowed segment the length of the epoch (2 s with the default cleaning, so the spectral
resolution is 0.5 Hz), zero-padded to ``NFFT_S`` = 4 s so the spectrum is sampled every 0.25 Hz,
one-sided, in V²/Hz, the mean removed per segment, then averaged over all clean epochs. Epochs
are not concatenated: after artefact rejection two neighbouring clean epochs are often not
contiguous in time, and a segment spanning the gap would put the jump into the spectrum.

Why not 4-s windows for a true 0.25 Hz resolution: the cleaning rejects artefacts per 2-s epoch
(a blink costs 2 s, not 4), and the individual alpha frequency does not need a finer grid: it is
the centre of a Gaussian fitted to the alpha peak (``iaf.py``), a continuous number, and that was
measured to be within 0.1 Hz of planted peaks on this 0.5-Hz-resolution spectrum (tests/
navigation/eeg/test_iaf.py). The 0.25 Hz grid helps the plain peak pick (the baseline) and the
band edges (4, 8, 13, 21, 30 Hz all fall on it).

**Band power.** The integral from ``lo`` to ``hi`` of the linearly interpolated PSD (trapezoid
rule), with the PSD interpolated at the band edges when they fall between bins. So both edge bins
count by half and consecutive bands add up exactly to the band spanning them (delta + theta +
alpha + beta + gamma = total 1-45 Hz power); a band that is ``[lo, hi)`` or ``[lo, hi]`` on the bin
grid would count the shared edge bin twice or drop an interval. Relative power is the band's power
over the 1-45 Hz total (the cleaning's pass band).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from tmsnav.navigation.errors import NavigationError

__all__ = ["Bands", "DEFAULT_BANDS", "NFFT_S", "TOTAL_HZ", "epoch_psd", "band_power", "BandError"]

NFFT_S = 4.0                 # zero-padded FFT length: a 0.25 Hz frequency grid
TOTAL_HZ = (1.0, 45.0)       # relative power is relative to this (the cleaning's pass band)
DEFAULT_BANDS: tuple[tuple[str, float, float], ...] = (
    ("delta", 1.0, 4.0), ("theta", 4.0, 8.0), ("alpha", 8.0, 13.0), ("beta", 13.0, 30.0),
    ("gamma", 30.0, 45.0))


class BandError(NavigationError):
    """A band definition that cannot be measured (e.g. "alpha=13-8" or beyond 45 Hz)."""


@dataclass(frozen=True)
class Bands:
    """Named frequency bands in Hz, ``(name, lo, hi)`` in order; defaults are the conventional
    delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-45 Hz."""

    ranges_hz: tuple[tuple[str, float, float], ...] = DEFAULT_BANDS

    def __post_init__(self) -> None:
        names = [name for name, _, _ in self.ranges_hz]
        if not names:
            raise BandError("no frequency bands given")
        if len(set(names)) != len(names):
            raise BandError(f"a band name appears twice: {', '.join(names)}")
        for name, lo, hi in self.ranges_hz:
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise BandError(f"band {name!r}: {lo}-{hi} Hz is not a range (low edge must be below high)")
            if lo < TOTAL_HZ[0] or hi > TOTAL_HZ[1]:
                raise BandError(f"band {name!r}: {lo:g}-{hi:g} Hz lies outside the analysed "
                                f"{TOTAL_HZ[0]:g}-{TOTAL_HZ[1]:g} Hz (the EEG is band-passed to it)")

    def as_dict(self) -> dict[str, tuple[float, float]]:
        return {name: (float(lo), float(hi)) for name, lo, hi in self.ranges_hz}

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.ranges_hz]

    @classmethod
    def parse(cls, text: str) -> Bands:
        """``"delta=1-4,theta=4-8,alpha=8-12"`` (the CLI's ``--bands``)."""
        ranges = []
        for item in text.split(","):
            try:
                name, span = item.split("=")
                lo, hi = span.split("-")
                ranges.append((name.strip(), float(lo), float(hi)))
            except ValueError:
                raise BandError(f"cannot read band {item.strip()!r}: write name=low-high in Hz, "
                                "e.g. alpha=8-13") from None
        return cls(tuple(ranges))


def epoch_psd(epochs_v: np.ndarray, sfreq_hz: float, nfft_s: float = NFFT_S) -> tuple[np.ndarray, np.ndarray]:
    """Mean one-sided PSD (V²/Hz) over epochs: ``(freqs_hz, psd)`` with psd ``(n_channels, n_freqs)``.

    ``epochs_v`` is ``(n_epochs, n_channels, n_samples)``; each epoch is one Hann segment (see the
    module docstring for why).
    """
    epochs_v = np.asarray(epochs_v, dtype=float)
    if epochs_v.ndim != 3 or epochs_v.shape[0] == 0 or epochs_v.shape[2] < 8:
        raise NavigationError(f"no clean epochs to take a spectrum of (shape {epochs_v.shape})")
    n = epochs_v.shape[2]
    nfft = max(n, int(round(nfft_s * sfreq_hz)))
    freqs, psd = signal.welch(epochs_v, fs=sfreq_hz, window="hann", nperseg=n, noverlap=0, nfft=nfft,
                              detrend="constant", scaling="density", axis=-1)
    return freqs, psd.mean(axis=0)


def band_power(freqs_hz: np.ndarray, psd: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Integral of the PSD from ``lo`` to ``hi`` Hz (trapezoid, edges interpolated), per row.

    ``psd`` is ``(..., n_freqs)``; the result has the leading shape (V² for a PSD in V²/Hz).
    """
    if not (freqs_hz[0] <= lo < hi <= freqs_hz[-1]):
        raise BandError(f"band {lo:g}-{hi:g} Hz is outside the spectrum ({freqs_hz[0]:g}-{freqs_hz[-1]:g} Hz)")
    inside = (freqs_hz > lo) & (freqs_hz < hi)
    grid = np.concatenate([[lo], freqs_hz[inside], [hi]])
    flat = np.asarray(psd, dtype=float).reshape(-1, len(freqs_hz))
    at_lo = np.array([np.interp(lo, freqs_hz, row) for row in flat])
    at_hi = np.array([np.interp(hi, freqs_hz, row) for row in flat])
    values = np.concatenate([at_lo[:, None], flat[:, inside], at_hi[:, None]], axis=1)
    return np.trapezoid(values, grid, axis=1).reshape(np.shape(psd)[:-1])
