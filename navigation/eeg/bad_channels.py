"""Find the channels whose signal is not brain activity at that electrode.

Each test catches a failure clinics see, with the reason the user reads:

* **flat**: robust SD below 0.5 µV after a high-pass, or most samples repeating the previous value
  (a disconnected input, a channel filled with zeros by the export). Resting EEG is 5-50 µV.
* **saturated**: samples sitting at the file's physical minimum/maximum (the amplifier or the
  export range was exceeded, the waveform is cut flat); without a declared range, a run of the
  channel's own extreme value repeated.
* **noisy**: robust z-score across channels above ``noisy_z`` of the log in-band amplitude, or of
  the log amplitude above the band (including line noise: a poor contact picks up mains) - after
  the "deviation" and "HF noise" criteria of the PREP pipeline (Bigdely-Shamlo et al. 2015, Front
  Neuroinform 9:16; PREP divides by the in-band amplitude, which here would let strong posterior
  alpha hide a noisy occipital channel). Median and MAD make one bad channel unable to hide
  itself by raising the spread.
* **bridged**: two electrodes joined by gel or sweat record almost the same signal; the variance of
  their difference (the "electrical distance", Tenke & Kayser 2001, Clin Neurophysiol 112:545;
  Alschuler et al. 2014, Clin Neurophysiol 125:484) is then near zero. Both are marked: neither
  carries its own site any more.
"""

from __future__ import annotations

import numpy as np

__all__ = ["find_bad_channels", "robust_z"]

_MIN_SPREAD_LOG = 0.15     # natural spread of log amplitude across a cap (posterior alpha etc.)
# Noise above the band differs more between sites (temporal muscle tone): a channel is flagged only
# beyond ~4.5x the median high-frequency amplitude (z 5 x 0.3 in log units).
_MIN_SPREAD_HF = 0.3


def robust_z(values: np.ndarray, min_spread: float) -> np.ndarray:
    """(x - median) / (1.4826 MAD), the MAD floored at ``min_spread`` so that near-identical
    channels do not make a tiny difference look like an outlier."""
    med = float(np.median(values))
    mad = max(1.4826 * float(np.median(np.abs(values - med))), min_spread)
    return (values - med) / mad


def _saturated_fraction(x: np.ndarray, limits: tuple[float, float] | None) -> float:
    """Fraction of samples at the clipping level."""
    if limits is not None:
        lo, hi = limits
        tol = 1e-3 * (hi - lo)
        return float(np.mean((x <= lo + tol) | (x >= hi - tol)))
    top, bottom = float(np.max(x)), float(np.min(x))
    if top == bottom:
        return 0.0                     # a constant channel is flat, not clipped
    at = (x == top) | (x == bottom)
    return float(np.mean(at)) if np.count_nonzero(at) >= 5 else 0.0


def find_bad_channels(raw_v: np.ndarray, inband_v: np.ndarray, freqs: np.ndarray, psd: np.ndarray,
                      band_hz: tuple[float, float], channels: list[str],
                      limits: dict[str, tuple[float, float]], *,
                      flat_sd_uv: float, noisy_z: float, bridge_ratio: float) -> dict[str, str]:
    """Channel name -> reason for every bad channel.

    ``raw_v``: samples as read (repeated values, clipping); ``freqs``/``psd``: a median-averaged
    Welch spectrum per channel of the unfiltered data (amplitude in the band and above it; the
    median average keeps a few blinks from raising it); ``inband_v``: the data filtered to the
    analysis band (bridging).
    """
    bad: dict[str, str] = {}
    lo, hi = band_hz
    df = float(freqs[1] - freqs[0])
    in_band = (freqs >= lo) & (freqs <= hi)
    sd = np.sqrt(psd[:, in_band].sum(axis=1) * df)                        # volts, per channel
    hf_sd = np.sqrt(psd[:, freqs > hi].sum(axis=1) * df + 1e-30)
    for i, ch in enumerate(channels):
        x = raw_v[i]
        repeats = float(np.mean(np.diff(x) == 0)) if x.size > 1 else 1.0
        sat = _saturated_fraction(x, limits.get(ch))
        if sat > 0.005:
            where = (f"the file's range {limits[ch][0] * 1e6:+.0f}/{limits[ch][1] * 1e6:+.0f} µV"
                     if ch in limits else "its own extreme value")
            bad[ch] = f"saturated ({100 * sat:.1f} % of samples clipped at {where})"
        elif sd[i] < flat_sd_uv * 1e-6:
            bad[ch] = f"flat (SD {sd[i] * 1e6:.2f} µV in {lo:g}-{hi:g} Hz, below {flat_sd_uv:g} µV)"
        elif repeats > 0.5:
            bad[ch] = f"flat ({100 * repeats:.0f} % of samples repeat the previous value)"
    good = [i for i, ch in enumerate(channels) if ch not in bad]
    if len(good) >= 4:
        z_sd = robust_z(np.log(sd[good]), _MIN_SPREAD_LOG)
        z_hf = robust_z(np.log(hf_sd[good]), _MIN_SPREAD_HF)
        for k, i in enumerate(good):
            if z_sd[k] > noisy_z:
                bad[channels[i]] = (f"noisy (amplitude {sd[i] * 1e6:.0f} µV, robust z {z_sd[k]:.1f} "
                                    "across channels)")
            elif z_hf[k] > noisy_z:
                bad[channels[i]] = (f"noisy (high-frequency / line noise {hf_sd[i] * 1e6:.0f} µV "
                                    f"above {hi:g} Hz, robust z {z_hf[k]:.1f} across channels)")
    good = [i for i, ch in enumerate(channels) if ch not in bad]
    if len(good) >= 2:
        cov = np.cov(inband_v[good])
        var = np.diag(cov)
        for a in range(len(good)):
            for b in range(a + 1, len(good)):
                ed = var[a] + var[b] - 2 * cov[a, b]          # electrical distance (variance)
                if ed < bridge_ratio * 0.5 * (var[a] + var[b]):
                    ca, cb = channels[good[a]], channels[good[b]]
                    bad.setdefault(ca, f"bridged with {cb}")
                    bad.setdefault(cb, f"bridged with {ca}")
    return bad
