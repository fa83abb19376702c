"""Find artefacts (their extent in samples), then reject the analysis epochs that contain one.

Why artefacts are located first and epochs judged second: an eye blink lasts ~0.3-0.4 s and falls
anywhere relative to the 2-s epochs. Judged per epoch, a blink whose peak lies just before an
epoch boundary leaves its falling flank (over 100 µV) in the next epoch, under the threshold there;
judged with overlapping windows, the epoch next to a blink is thrown away although it holds none.
So each artefact gets an extent and every epoch overlapping it goes, and no other. The criteria
(thresholds in ``CleaningParams``):

* **amplitude**: peak-to-peak above ``amplitude_uv`` within a 0.5-s window in any channel (eye
  blinks 100-400 µV at Fp1/Fp2, Croft & Barry 2000, Neurophysiol Clin 30:5; resting alpha rarely
  exceeds 100 µV p-p). Its extent: around the window's most extreme sample, every sample further
  than an eighth of the threshold from the window's median (the body of the blink, down to
  ~19 µV), plus 50 ms on each side.
* **gradient**: a sample-to-sample step above ``gradient_uv_per_ms`` (electrode pops, cable
  movement; Brain Vision Analyzer's "maximal allowed voltage step", 50 µV/ms), ±50 ms. Judged on
  the unfiltered samples: the 45 Hz low-pass spreads any step over ~10 ms, so after it no step
  would ever reach 50 µV/ms.
* **muscle**: 20-45 Hz log power of a 0.5-s window, as a robust z-score against the same channel's
  other windows of the analysed condition, above ``muscle_z`` (scalp EMG is broadband above
  20 Hz, Goncharova et al. 2003, Clin Neurophysiol 114:1580; the z is per channel because beta
  power differs between sites). Its extent: the quarters of each such window that hold the
  burst (over 3x the channel's typical 20-45 Hz power), plus 50 ms on each side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Artefact", "find_artefacts", "epoch_verdicts", "WINDOW_S", "STEP_S"]

WINDOW_S = 0.5
STEP_S = 0.25
_PRIORITY = {"amplitude": 0, "gradient": 1, "muscle": 2}


@dataclass(frozen=True)
class Artefact:
    """One artefact: samples ``start``..``stop`` (exclusive), its kind, size and channel."""

    start: int
    stop: int
    kind: str          # "amplitude" | "gradient" | "muscle"
    value: float       # µV p-p, µV/ms, or z
    channel: str

    def reason(self, limit: float) -> str:
        if self.kind == "amplitude":
            return f"amplitude {self.value:.0f} µV peak-to-peak at {self.channel} (limit {limit:g})"
        if self.kind == "gradient":
            return f"gradient {self.value:.0f} µV/ms at {self.channel} (limit {limit:g})"
        return f"muscle: 20-45 Hz power z {self.value:.1f} at {self.channel} (limit {limit:g})"


def _windows(x: np.ndarray, w: int, step: int) -> np.ndarray:
    return sliding_window_view(x, w, axis=-1)[..., ::step, :]


def _amplitude(x_v: np.ndarray, channels: list[str], w: int, step: int, limit_uv: float,
               pad: int) -> list[Artefact]:
    x = x_v * 1e6
    win = _windows(x, w, step)                                     # ch, win, w (a view)
    p2p = win.max(axis=2) - win.min(axis=2)
    out: list[Artefact] = []
    covered_to = np.full(x.shape[0], -1)          # per channel: end of its last event
    for c, k in zip(*np.nonzero(p2p > limit_uv)):
        if k * step + w <= covered_to[c]:         # the same blink seen by the next window
            continue
        seg = win[c, k]
        med = float(np.median(seg))
        peak = int(k * step + np.argmax(np.abs(seg - med)))
        lo_b, hi_b = max(0, peak - 2 * w), min(x.shape[1], peak + 2 * w)
        below = np.abs(x[c, lo_b:hi_b] - med) <= limit_uv / 8
        rel = peak - lo_b
        before = np.nonzero(below[:rel])[0]
        after = np.nonzero(below[rel:])[0]
        start = lo_b + (int(before[-1]) + 1 if before.size else 0)
        stop = lo_b + (rel + int(after[0]) if after.size else hi_b - lo_b)
        event = Artefact(max(0, start - pad), max(stop, peak + 1) + pad, "amplitude",
                         float(p2p[c, k]), channels[c])
        covered_to[c] = event.stop
        out.append(event)
    return out


def _gradient(x_v: np.ndarray, channels: list[str], sfreq: float, limit: float) -> list[Artefact]:
    grad = np.abs(np.diff(x_v, axis=1)) * 1e6 * sfreq / 1000.0       # µV per ms
    pad = max(1, int(round(0.05 * sfreq)))
    return [Artefact(max(0, i - pad), i + 1 + pad, "gradient", float(grad[c, i]), channels[c])
            for c, i in zip(*np.nonzero(grad > limit))]


def _muscle(x_v: np.ndarray, channels: list[str], sfreq: float, w: int, step: int,
            in_condition: np.ndarray, limit_z: float, pad: int) -> list[Artefact]:
    hi = min(45.0, 0.45 * sfreq)
    n = x_v.shape[1]
    keep = (np.fft.rfftfreq(n, 1.0 / sfreq) >= 20.0) & (np.fft.rfftfreq(n, 1.0 / sfreq) <= hi)
    starts = np.arange((n - w) // step + 1) * step
    inside = in_condition[starts + w // 2]
    base = inside if inside.sum() >= 8 else np.ones_like(inside)
    q = max(1, w // 4)
    out: list[Artefact] = []
    for c in range(x_v.shape[0]):   # an ideal zero-phase 20-45 Hz band-pass in the frequency domain
        hf2 = np.fft.irfft(np.fft.rfft(x_v[c]) * keep, n) ** 2
        power = np.log(np.mean(_windows(hf2, w, step), axis=1) + 1e-30)
        ref = power[base]
        med = float(np.median(ref))
        mad = max(1.4826 * float(np.median(np.abs(ref - med))), 0.1)
        z = (power - med) / mad
        for k in np.nonzero(z > limit_z)[0]:
            # Where in the window: the quarters with over 3x the channel's typical 20-45 Hz power
            # (a window that only catches a burst's first 0.1 s marks that 0.1 s, not the 0.4 s
            # of clean EEG before it); the whole window if no quarter stands out alone.
            s0 = int(starts[k])
            quarters = hf2[s0:s0 + 4 * q].reshape(4, q).mean(axis=1)
            hot = np.nonzero(quarters > 3.0 * np.exp(med))[0]
            if hot.size == 0:
                hot = np.arange(4)
            out.append(Artefact(max(0, s0 + int(hot[0]) * q - pad), s0 + (int(hot[-1]) + 1) * q + pad,
                                "muscle", float(z[k]), channels[c]))
    return out


def find_artefacts(x_v: np.ndarray, unfiltered_v: np.ndarray, sfreq: float, channels: list[str],
                   in_condition: np.ndarray, *, amplitude_uv: float, gradient_uv_per_ms: float,
                   muscle_z: float) -> list[Artefact]:
    """All artefacts, sorted by start: amplitude and muscle in the filtered, re-referenced data
    ``x_v`` (channels x samples), gradient in ``unfiltered_v`` (same channels, as recorded).

    ``in_condition`` (bool per sample) selects the windows that set each channel's muscle
    baseline (only the analysed condition: eyes-open beta is not the eyes-closed baseline).
    """
    w = max(2, int(round(WINDOW_S * sfreq)))
    step = max(1, int(round(STEP_S * sfreq)))
    if x_v.shape[1] < w:
        return []
    found = (_amplitude(x_v, channels, w, step, amplitude_uv, int(round(0.05 * sfreq)))
             + _gradient(unfiltered_v, channels, sfreq, gradient_uv_per_ms)
             + _muscle(x_v, channels, sfreq, w, step, in_condition, muscle_z, int(round(0.05 * sfreq))))
    return sorted(found, key=lambda a: (a.start, a.stop))


def epoch_verdicts(artefacts: list[Artefact], epoch_starts: np.ndarray, epoch_len: int,
                   limits: dict[str, float]) -> list[str | None]:
    """For each epoch (start sample, ``epoch_len`` samples) None if clean, else the reason of its
    worst artefact (amplitude before gradient before muscle, then the largest)."""
    if not artefacts:
        return [None] * len(epoch_starts)
    a_start = np.array([a.start for a in artefacts])
    a_stop = np.array([a.stop for a in artefacts])
    out: list[str | None] = []
    for s in epoch_starts:
        hits = np.nonzero((a_start < s + epoch_len) & (a_stop > s))[0]
        if not hits.size:
            out.append(None)
            continue
        worst = min((artefacts[i] for i in hits), key=lambda a: (_PRIORITY[a.kind], -a.value))
        out.append(worst.reason(limits[worst.kind]))
    return out
