"""The sample resting EEG: a 19-channel 10-20 EDF+ with known, planted findings and artefacts.

No open clinical EEG ships with tmsnav, and a test that only checks "a number came out" proves
nothing. This generator writes a recording whose truth is known, so the reader, the cleaning and
the measures can each be checked against it:

* **1/f background** (one-sided PSD c/f, independent per channel): the aperiodic component every
  EEG spectrum has (He 2014, Trends Cogn Sci 18:480), which the IAF fit must look through.
* **Alpha at the individual alpha frequency** (9.6 Hz by default), largest over O1/O2/Pz
  (posterior maximum), strongly reduced with the eyes open (Berger effect), and **more alpha at F3
  than at F4** (and F7 than F8): frontal alpha asymmetry ln F4 - ln F3 < 0, the pattern read as
  relatively less left-frontal activity (Davidson 1992; Henriques & Davidson 1991).
* **Frontal-midline / central theta excess** (6 Hz, largest at Cz and Fz) over low beta (17 Hz):
  a high theta/beta ratio at Cz (Monastra et al. 1999; Arns et al. 2013 for its spread).
* **50 Hz (or 60 Hz) line noise**, **eye blinks** at Fp1/Fp2 (weaker at F-row) during eyes-open
  blocks, and **muscle bursts** (20-100 Hz) at T7 or T8 with their neighbours, all at known times.
* **Eyes-closed / eyes-open blocks** of 60 s alternating from eyes closed, marked in the EDF+
  annotations ("Eyes Closed", "Eyes Open").
* Labels in the old clinical style (``EEG T3-REF``, ``EEG Fp1-REF``) plus an ``ECG`` channel, so
  the name mapping and the non-EEG drop are exercised on every read.

The rhythms are amplitude-modulated sinusoids (slow random envelope and phase drift), so each
spectral peak sits at its planted frequency; the generators of different channels are independent,
so an average reference changes the planted asymmetry only slightly (``expected_faa_*`` give the
value in the file's reference and after an average reference, from the planted powers; alpha's
power over the eyes-closed samples is exactly the planted one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal

from tmsnav.navigation.eeg.edf_writer import write_edf

__all__ = ["SampleEegTruth", "write_sample_eeg", "CHANNELS_1020", "OLD_LABELS"]

# The 19 channels of the 10-20 system in their file order, canonical (10-10) names.
CHANNELS_1020 = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
                 "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]
# The labels written in the file: old temporal names, EDF-export style.
OLD_LABELS = {"T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}

_ALPHA_WEIGHT = {"O1": 1.0, "O2": 1.0, "Pz": 0.9, "P3": 0.85, "P4": 0.85, "P7": 0.7, "P8": 0.7,
                 "C3": 0.45, "Cz": 0.45, "C4": 0.45, "T7": 0.35, "T8": 0.35, "Fz": 0.35,
                 "F3": 0.40, "F4": 0.28, "F7": 0.30, "F8": 0.21, "Fp1": 0.20, "Fp2": 0.17}
_THETA_WEIGHT = {"Cz": 1.0, "Fz": 0.9, "C3": 0.55, "C4": 0.55, "F3": 0.5, "F4": 0.5, "Pz": 0.45}
_BLINK_WEIGHT = {"Fp1": 1.0, "Fp2": 1.0, "F3": 0.35, "Fz": 0.35, "F4": 0.35, "F7": 0.3, "F8": 0.3}
_MUSCLE_SIDES = {"T7": {"T7": 1.0, "F7": 0.5, "P7": 0.5}, "T8": {"T8": 1.0, "F8": 0.5, "P8": 0.5}}


@dataclass
class SampleEegTruth:
    """What was planted in the sample recording (amplitudes in µV RMS, times in seconds)."""

    path: Path
    sfreq_hz: float
    duration_s: float
    channels: list[str]                       # canonical names, file order
    labels: dict[str, str]                    # canonical -> label written in the file
    iaf_hz: float
    theta_hz: float
    beta_hz: float
    line_hz: float
    background_c_uv2: float                   # one-sided background PSD = c / f  (µV^2/Hz)
    alpha_rms_uv: dict[str, float]            # eyes closed
    alpha_eyes_open_factor: float
    theta_rms_uv: dict[str, float]
    beta_rms_uv: float
    expected_faa_f4_f3: float                 # ln(P_alpha F4) - ln(P_alpha F3), eyes closed, file reference
    expected_faa_f8_f7: float
    # The same after an average reference over the 19 channels (independent sources: channel i
    # becomes (1 - 1/N)^2 P_i + sum_{j != i} P_j / N^2), which is what the cleaning produces.
    expected_faa_f4_f3_average_ref: float
    expected_faa_f8_f7_average_ref: float
    expected_tbr_cz: dict[str, float]         # beta band "13-21" and "13-30" -> theta/beta power ratio
    blinks: list[tuple[float, float]]         # (start, stop) of each blink (±3 sigma)
    muscle_bursts: list[tuple[float, float, str]]   # (start, stop, side channel "T7"/"T8")
    conditions: dict[str, list[tuple[float, float]]]
    annotations: list[tuple[float, float, str]] = field(default_factory=list)


def _lowpass_noise(rng: np.random.Generator, n: int, fs: float, cutoff: float) -> np.ndarray:
    sos = signal.butter(2, cutoff, btype="lowpass", fs=fs, output="sos")
    z = signal.sosfiltfilt(sos, rng.standard_normal(n))
    return z / (np.std(z) + 1e-12)


def _rhythm(rng: np.random.Generator, n: int, fs: float, freq: float, rms: float,
            drift_hz: float = 0.12) -> np.ndarray:
    """An amplitude-modulated sinusoid at ``freq`` with RMS ``rms`` (narrow peak at ``freq``)."""
    t = np.arange(n) / fs
    env = np.abs(1.0 + 0.4 * _lowpass_noise(rng, n, fs, 0.3))
    dphi = 2 * np.pi * np.cumsum(drift_hz * _lowpass_noise(rng, n, fs, 0.2)) / fs
    x = env * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi) + dphi)
    return x * (rms / np.sqrt(np.mean(x ** 2)))


def _pink(rng: np.random.Generator, n: int, fs: float, c: float, f_lo: float = 0.5) -> np.ndarray:
    """Noise with one-sided PSD c / f between ``f_lo`` and fs/2 (variance c ln(fs / 2 f_lo))."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / fs)
    shape = np.zeros_like(f)
    shape[f >= f_lo] = 1.0 / np.sqrt(f[f >= f_lo])
    x = np.fft.irfft(spec * shape, n)
    return x * np.sqrt(c * np.log((fs / 2) / f_lo)) / np.std(x)


def _blocks(duration_s: float, block_s: float) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {"eyes_closed": [], "eyes_open": []}
    start, closed = 0.0, True
    while start < duration_s - 1e-9:
        stop = min(duration_s, start + block_s)
        out["eyes_closed" if closed else "eyes_open"].append((start, stop))
        start, closed = stop, not closed
    return out


def write_sample_eeg(path: str | Path, *, minutes: float = 5.0, seed: int = 0,
                     sfreq_hz: int = 256, iaf_hz: float = 9.6, line_hz: float = 50.0,
                     block_s: float = 60.0, blink_every_s: float = 5.0,
                     muscle_every_s: float = 20.0, with_ecg: bool = True) -> SampleEegTruth:
    """Write the sample recording to ``path`` (EDF+) and return what was planted in it."""
    rng = np.random.default_rng(seed)
    fs = float(sfreq_hz)
    n_s = max(1, int(round(minutes * 60)))
    n = n_s * sfreq_hz
    duration = float(n_s)
    conditions = _blocks(duration, block_s)
    eo_mask = np.zeros(n, dtype=bool)
    for a, b in conditions["eyes_open"]:
        eo_mask[int(a * fs):int(b * fs)] = True
    # Alpha drops to 30 % with the eyes open; ramps over 0.5 s so the blocks have no steps.
    ramp = np.convolve(np.where(eo_mask, 0.3, 1.0), np.ones(int(fs / 2)) / int(fs / 2), mode="same")

    c_bg, alpha_o, theta_cz, beta_rms, theta_hz, beta_hz = 15.0, 20.0, 9.0, 2.5, 6.0, 17.0
    t = np.arange(n) / fs
    data = np.empty((len(CHANNELS_1020), n))
    alpha_rms = {ch: alpha_o * _ALPHA_WEIGHT[ch] for ch in CHANNELS_1020}
    theta_rms = {ch: theta_cz * _THETA_WEIGHT.get(ch, 0.2) for ch in CHANNELS_1020}
    line_phase = rng.uniform(0, 2 * np.pi)
    ec_mask = ~eo_mask
    for i, ch in enumerate(CHANNELS_1020):
        # Alpha's RMS is set exactly over the eyes-closed samples: a slow random envelope alone
        # leaves the realised power of a few minutes ~20 % off, and the truth must hold for
        # the recording actually written, not only on average.
        alpha = ramp * _rhythm(rng, n, fs, iaf_hz, alpha_rms[ch], drift_hz=0.4)
        alpha *= alpha_rms[ch] / np.sqrt(np.mean(alpha[ec_mask] ** 2))
        data[i] = (_pink(rng, n, fs, c_bg)
                   + alpha
                   + _rhythm(rng, n, fs, theta_hz, theta_rms[ch])
                   + _rhythm(rng, n, fs, beta_hz, beta_rms, drift_hz=0.4)
                   + 3.0 * np.sin(2 * np.pi * line_hz * t + line_phase))

    # Blinks during eyes-open blocks: Gaussian pulses (sigma 70 ms, 220 µV at Fp1/Fp2).
    blinks: list[tuple[float, float]] = []
    sigma = 0.07
    for a, b in conditions["eyes_open"]:
        tb = a + 1.0 + rng.uniform(0, 1.0)
        while tb < b - 1.0:
            blinks.append((tb - 3 * sigma, tb + 3 * sigma))
            lo, hi = int((tb - 5 * sigma) * fs), int((tb + 5 * sigma) * fs)
            pulse = 220.0 * np.exp(-0.5 * ((t[lo:hi] - tb) / sigma) ** 2)
            for ch, w in _BLINK_WEIGHT.items():
                data[CHANNELS_1020.index(ch), lo:hi] += w * pulse
            tb += blink_every_s * rng.uniform(0.7, 1.3)
    # Muscle bursts (jaw clench / temporalis): 20-100 Hz noise, 30 µV RMS, 1-1.5 s, either side.
    bursts: list[tuple[float, float, str]] = []
    sos = signal.butter(4, [20.0, min(100.0, fs / 2 - 5)], btype="bandpass", fs=fs, output="sos")
    tm = muscle_every_s * rng.uniform(0.3, 0.8)
    k = 0
    while tm < duration - 2.0:
        length = rng.uniform(1.0, 1.5)
        side = "T7" if k % 2 == 0 else "T8"
        lo, hi = int(tm * fs), int((tm + length) * fs)
        burst = signal.sosfiltfilt(sos, rng.standard_normal(hi - lo + 2 * int(fs)))[int(fs):-int(fs)]
        # EMG starts and stops abruptly: full amplitude over the truth span but 50-ms ramps.
        burst *= 30.0 / np.std(burst) * signal.windows.tukey(hi - lo, 2 * 0.05 / length)
        for ch, w in _MUSCLE_SIDES[side].items():
            data[CHANNELS_1020.index(ch), lo:hi] += w * burst
        bursts.append((lo / fs, hi / fs, side))
        tm += muscle_every_s * rng.uniform(0.7, 1.3)
        k += 1

    labels = {ch: f"EEG {OLD_LABELS.get(ch, ch)}-REF" for ch in CHANNELS_1020}
    rows, names = [data], [labels[ch] for ch in CHANNELS_1020]
    if with_ecg:
        beat = np.zeros(n)
        for tb in np.arange(0.4, duration, 60.0 / 68.0):
            i0 = int(tb * fs)
            beat[i0:i0 + 8] += 800.0 * np.hanning(8)[: len(beat[i0:i0 + 8])]
        rows.append(beat[None, :] + rng.normal(0, 5.0, n)[None, :])
        names.append("ECG")
    annotations = sorted([(a, 0.0, "Eyes Closed") for a, _ in conditions["eyes_closed"]]
                         + [(a, 0.0, "Eyes Open") for a, _ in conditions["eyes_open"]])
    p = write_edf(path, np.vstack(rows), fs, names, unit="uV", annotations=annotations,
                  physical_min=[-1000.0] * len(names), physical_max=[1000.0] * len(names))

    bg = c_bg * np.log(13.0 / 8.0)           # the 1/f background's share of 8-13 Hz power
    p_alpha = {ch: alpha_rms[ch] ** 2 + bg for ch in CHANNELS_1020}
    n_ch, total = len(CHANNELS_1020), sum(p_alpha.values())
    p_avg = {ch: (1 - 1 / n_ch) ** 2 * v + (total - v) / n_ch ** 2 for ch, v in p_alpha.items()}

    def faa(right: str, left: str, powers: dict[str, float] = p_alpha) -> float:
        return float(np.log(powers[right]) - np.log(powers[left]))

    def tbr(beta_hi: float) -> float:
        theta_p = theta_rms["Cz"] ** 2 + c_bg * np.log(8.0 / 4.0)
        beta_p = beta_rms ** 2 + c_bg * np.log(beta_hi / 13.0)
        return float(theta_p / beta_p)

    return SampleEegTruth(
        path=p, sfreq_hz=fs, duration_s=duration, channels=list(CHANNELS_1020), labels=labels,
        iaf_hz=iaf_hz, theta_hz=theta_hz, beta_hz=beta_hz, line_hz=line_hz,
        background_c_uv2=c_bg, alpha_rms_uv=alpha_rms, alpha_eyes_open_factor=0.3,
        theta_rms_uv=theta_rms, beta_rms_uv=beta_rms,
        expected_faa_f4_f3=faa("F4", "F3"), expected_faa_f8_f7=faa("F8", "F7"),
        expected_faa_f4_f3_average_ref=faa("F4", "F3", p_avg),
        expected_faa_f8_f7_average_ref=faa("F8", "F7", p_avg),
        expected_tbr_cz={"13-21": tbr(21.0), "13-30": tbr(30.0)}, blinks=blinks,
        muscle_bursts=bursts, conditions=conditions, annotations=annotations)
