"""Clean a resting EEG before any spectrum is taken: filter, re-reference, drop bad channels and
artefact epochs, keep only the chosen condition, and say what was done.

Why each step, in this order:

1. **Condition** (eyes closed by default): alpha is several times larger with the eyes closed
   (Berger 1929; Barry et al. 2007, Clin Neurophysiol 118:2765), so mixing conditions changes the
   individual alpha frequency and the asymmetry. When the file has no condition markers the whole
   recording is used and a warning says so.
2. **Bad channels** on the unfiltered-but-detrended data: flat (SD < 0.5 µV or mostly repeated
   values: a disconnected or saturated amplifier input), saturated (clipped at the file's
   physical range), noisy (robust z > 5 across channels of the SD or of the high-frequency power;
   Bigdely-Shamlo et al. 2015, PREP pipeline, Front Neuroinform 9:16) and bridged (near-zero
   variance of the difference between neighbours: the "electrical distance" of Tenke & Kayser 2001,
   Clin Neurophysiol 112:545; Alschuler et al. 2014, Clin Neurophysiol 125:484). They are removed
   before re-referencing so that one bad electrode does not leak into every channel through the
   average reference.
3. **Band-pass and notch**: 1-45 Hz zero-phase FIR (MNE's defaults, Widmann et al. 2015, J
   Neurosci Methods 250:34); the notch is at 50 or 60 Hz, whichever line frequency the data show
   (when the line lies above the low-pass, the low-pass's stop band is made to start 1 Hz below it
   instead of running a second filter).
4. **Reference**: average (all good channels) or linked ears (A1/A2, M1/M2 or TP9/TP10; refused
   with a message when the file has none).
5. **Epochs** of ``epoch_s`` seconds, rejected by peak-to-peak amplitude (eye blinks: 100-400 µV at
   Fp1/Fp2, Croft & Barry 2000, Neurophysiol Clin 30:5), by the sample-to-sample gradient
   (electrode pops; Brain Vision Analyzer's "maximal allowed voltage step" of 50 µV/ms) and by
   high-frequency power (scalp muscle, 20-45 Hz, Goncharova et al. 2003, Clin Neurophysiol
   114:1580).
   Epochs the file itself marks are rejected too: annotations starting with "bad" (MNE's
   convention) and the joins of cut data (EEGLAB "boundary", BrainVision "New Segment").
6. **Minimum clean duration** (60 s by default; spectra of less are too noisy for the individual
   alpha frequency): refused with how much is clean and how much is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tmsnav.navigation.eeg.artefacts import epoch_verdicts, find_artefacts
from tmsnav.navigation.eeg.bad_channels import find_bad_channels
from tmsnav.navigation.eeg.channel_names import EAR_SITES, is_frontal
from tmsnav.navigation.eeg.recording import EegInputError, EegRecording
from tmsnav.navigation.progress import CancelToken, ProgressCallback, report

__all__ = ["CleaningParams", "CleanEeg", "clean_eeg", "detect_line_frequency", "CONDITIONS", "REFERENCES"]

CONDITIONS = ("eyes_closed", "eyes_open", "all")
REFERENCES = ("average", "linked_ears")


@dataclass(frozen=True)
class CleaningParams:
    """What ``clean_eeg`` does; the defaults are the published conventions cited above."""

    band_hz: tuple[float, float] = (1.0, 45.0)
    notch_hz: float | None = None          # None: detect 50 vs 60 Hz line noise, say which in steps
    reference: str = "average"             # or "linked_ears" (A1/A2, M1/M2 or TP9/TP10 as present)
    epoch_s: float = 2.0
    amplitude_uv: float = 150.0            # peak-to-peak per epoch and channel (blinks: Croft & Barry 2000)
    gradient_uv_per_ms: float = 50.0       # sample-to-sample step (electrode pops; BVA's gradient criterion)
    min_clean_s: float = 60.0
    condition: str = "eyes_closed"         # "eyes_closed" | "eyes_open" | "all" (when annotations exist)
    muscle_z: float = 5.0                  # robust z of an epoch's 20-45 Hz log power, per channel
    flat_sd_uv: float = 0.5                # a channel with less SD than this is flat
    noisy_z: float = 5.0                   # robust z across channels (SD, high-frequency power)
    bridge_ratio: float = 0.02             # difference variance / mean channel variance below this: bridged


@dataclass
class CleanEeg:
    """Clean, filtered, re-referenced epochs of the good channels, and the record of how."""

    epochs_v: np.ndarray                   # (n_clean_epochs, n_good_channels, n_samples_per_epoch), volts
    epoch_starts_s: np.ndarray             # (n_clean_epochs,) start of each epoch in the recording
    sfreq_hz: float
    channels: list[str]                    # good channels only
    bad_channels: dict[str, str]           # name -> reason ("flat", "noisy", "bridged with Fz", "saturated")
    rejected_segments: list[tuple[float, float, str]]   # start_s, stop_s, reason
    clean_duration_s: float
    reference: str
    band_hz: tuple[float, float]
    notch_hz: float | None
    condition: str
    steps: list[str] = field(default_factory=list)       # what was done, in order, for the record
    warnings: list[str] = field(default_factory=list)

    @property
    def n_epochs(self) -> int:
        return int(self.epochs_v.shape[0])


# ---------------------------------------------------------------------------------------------
# The cleaning itself.

_EAR_PAIRS = (("A1", "A2"), ("M1", "M2"), ("TP9", "TP10"))
_POSTERIOR = ("O1", "O2", "Oz", "Pz", "P3", "P4", "POz", "PO3", "PO4", "PO7", "PO8", "P7", "P8")


def _check_params(p: CleaningParams, sfreq: float) -> None:
    lo, hi = p.band_hz
    if p.condition not in CONDITIONS:
        raise EegInputError(f"unknown condition '{p.condition}' (choose {', '.join(CONDITIONS)})")
    if p.reference not in REFERENCES:
        raise EegInputError(f"unknown reference '{p.reference}' (choose {', '.join(REFERENCES)})")
    if not 0 < lo < hi < sfreq / 2:
        raise EegInputError(f"band {lo:g}-{hi:g} Hz is not a band below the Nyquist frequency "
                            f"({sfreq / 2:g} Hz) of this recording")
    if p.epoch_s <= 0 or p.min_clean_s < 0:
        raise EegInputError("epoch length must be positive and the minimum clean duration not negative")
    if p.notch_hz is not None and not 0 < p.notch_hz < sfreq / 2:
        raise EegInputError(f"notch {p.notch_hz:g} Hz is above the Nyquist frequency ({sfreq / 2:g} Hz)")


def _segments(rec: EegRecording, condition: str, warnings: list[str]) -> list[tuple[float, float]]:
    label = condition.replace("_", "-")
    if condition == "all":
        return [(0.0, rec.duration_s)]
    if not rec.conditions:
        warnings.append(f"the file has no eyes-closed / eyes-open markers: the whole recording "
                        f"was used as {label} (check that it was recorded {label})")
        return [(0.0, rec.duration_s)]
    if not rec.conditions.get(condition):
        present = ", ".join(c.replace("_", "-") for c in rec.conditions)
        raise EegInputError(f"the recording has no {label} blocks (its markers are: {present}); "
                            f"choose that condition, or 'all'")
    return sorted(rec.conditions[condition])


def _welch(x_v: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Median-averaged Welch spectra (4-s Hann segments): robust to a few artefact segments."""
    from scipy.signal import welch

    f, pxx = welch(x_v, fs=sfreq, nperseg=int(min(x_v.shape[1], 4 * sfreq)), average="median",
                   axis=1)
    return f, pxx


def detect_line_frequency(freqs: np.ndarray, spectrum: np.ndarray, sfreq: float
                          ) -> tuple[float | None, float]:
    """50 or 60 Hz (whichever peak stands higher above its neighbours, >= 6 dB) or None; and that
    peak's height in dB. Mains is 50 Hz in Europe/Asia/Africa/Australia, 60 Hz in the Americas."""
    best: tuple[float | None, float] = (None, 0.0)
    for line in (50.0, 60.0):
        if line + 4 >= sfreq / 2:
            continue
        peak = float(spectrum[np.abs(freqs - line) <= 0.5].max())
        around = spectrum[(np.abs(freqs - line) >= 2) & (np.abs(freqs - line) <= 4)]
        db = 10 * np.log10(max(peak, 1e-40) / max(float(np.median(around)), 1e-40))
        if db >= 6.0 and db > best[1]:
            best = (line, float(db))
    return best


def _reference(x: np.ndarray, names: list[str], p: CleaningParams, bad: dict[str, str],
               all_names: list[str]) -> tuple[np.ndarray, list[str], str]:
    scalp = [i for i, n in enumerate(names) if n not in EAR_SITES]
    if p.reference == "average":
        if len(scalp) < 3:
            raise EegInputError(f"only {len(scalp)} good scalp channels: an average reference "
                                "needs many more (19 or more recommended)")
        return x[scalp] - x[scalp].mean(axis=0), [names[i] for i in scalp], \
            f"average reference over {len(scalp)} channels"
    for a, b in _EAR_PAIRS:
        if a in all_names and b in all_names:
            lost = [c for c in (a, b) if c in bad]
            if lost:
                raise EegInputError(f"linked-ears reference: {' and '.join(lost)} is bad "
                                    f"({'; '.join(bad[c] for c in lost)}); choose the average reference")
            ref = 0.5 * (x[names.index(a)] + x[names.index(b)])
            keep = [i for i in scalp if names[i] not in (a, b)]
            return x[keep] - ref, [names[i] for i in keep], f"linked-ears reference ({a}+{b})/2"
    raise EegInputError("linked-ears reference needs A1 and A2 (or M1/M2, TP9/TP10), and this "
                        f"recording has none of these pairs (channels: {', '.join(all_names)}); "
                        "choose the average reference")


def _refuse_if_lost(bad: dict[str, str], names: list[str]) -> None:
    def lost(group: list[str], what: str) -> None:
        if group and all(c in bad for c in group):
            listed = "; ".join(f"{c}: {bad[c]}" for c in group)
            raise EegInputError(f"all {what} channels are bad, so the measures that need them "
                                f"cannot be computed ({listed}). Check these electrodes and record again.")
    lost([n for n in names if is_frontal(n)], "frontal")
    lost([n for n in names if n in _POSTERIOR], "posterior (individual alpha frequency)")


def clean_eeg(rec: EegRecording, params: CleaningParams = CleaningParams(),
              progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> CleanEeg:
    """Filter, re-reference and epoch ``rec``; drop bad channels and artefact epochs (see module)."""
    import mne

    p = params
    sf = float(rec.sfreq_hz)
    _check_params(p, sf)
    if not np.all(np.isfinite(rec.data_v)):
        raise EegInputError("the recording contains missing values (NaN or infinite samples)")
    steps: list[str] = []
    warnings = list(rec.warnings)
    segments = _segments(rec, p.condition, warnings)
    # A high-pass FIR rings for half its length at both ends of the recording (MNE's default
    # transition band for a 1 Hz edge is 1 Hz: 3.3 s long); epochs there are not used.
    lo, hi = p.band_hz
    edge_s = 3.3 / (2 * min(max(0.25 * lo, 2.0), lo))
    cond_segments = segments
    segments = [(max(a, edge_s), min(b, rec.duration_s - edge_s)) for a, b in segments]
    segments = [(a, b) for a, b in segments if b > a]
    n = rec.data_v.shape[1]
    in_cond = np.zeros(n, dtype=bool)
    for a, b in segments:
        in_cond[int(round(a * sf)):int(round(b * sf))] = True
    steps.append(f"condition {p.condition.replace('_', '-')}: {len(segments)} block(s), "
                 f"{in_cond.sum() / sf:.0f} s of {rec.duration_s:.0f} s")
    report(progress, 0.05, "spectra", cancel)
    raw = rec.data_v
    centred = raw - np.median(raw, axis=1, keepdims=True)     # DC offsets make the edges ring more
    freqs, psd = _welch(centred[:, in_cond], sf)
    notch = p.notch_hz
    if notch is None:
        notch, db = detect_line_frequency(freqs, np.median(psd, axis=0), sf)
        steps.append(f"line noise: {notch:g} Hz detected ({db:.0f} dB above its neighbours)"
                     if notch else "line noise: none found at 50 or 60 Hz, no notch")
    report(progress, 0.2, "filters", cancel)
    inband = centred
    h_trans = min(max(0.25 * hi, 2.0), sf / 2 - hi)          # MNE's "auto" low-pass transition
    if notch and hi < notch and notch - 1.0 - hi >= 2.0:
        # The low-pass can end its transition 1 Hz below the line: the line is then in its stop
        # band (> 50 dB down) and a separate notch filter would only cost time.
        h_trans = min(h_trans, notch - 1.0 - hi)
        steps.append(f"notch {notch:g} Hz: in the low-pass stop band (from {hi + h_trans:g} Hz), "
                     "removed by the band-pass")
    elif notch:
        inband = mne.filter.notch_filter(inband, sf, [notch], verbose=False)
        steps.append(f"notch {notch:g} Hz")
    inband = mne.filter.filter_data(inband, sf, lo, hi, h_trans_bandwidth=h_trans, verbose=False)
    steps.append(f"band-pass {lo:g}-{hi:g} Hz (zero-phase FIR, low-pass transition {h_trans:g} Hz)")
    report(progress, 0.55, "bad channels", cancel)
    names = list(rec.channels)
    bad = find_bad_channels(raw[:, in_cond], inband[:, in_cond], freqs, psd, (lo, hi), names,
                            rec.physical_range_v, flat_sd_uv=p.flat_sd_uv, noisy_z=p.noisy_z,
                            bridge_ratio=p.bridge_ratio)
    steps.append("bad channels: " + ("; ".join(f"{c} {r}" for c, r in bad.items()) or "none"))
    _refuse_if_lost(bad, names)
    good = [i for i, c in enumerate(names) if c not in bad]
    x, out_names, ref_step = _reference(inband[good], [names[i] for i in good], p, bad, names)
    steps.append(ref_step)
    if p.reference == "average" and len(out_names) < 16:
        # The average of few electrodes is far from the zero-mean potential over the head that
        # the average reference assumes (Nunez & Srinivasan 2006, ch. 7): it carries activity.
        warnings.append(f"average reference over only {len(out_names)} channels: with fewer than "
                        "16 it carries activity of its own into every channel; compare with "
                        "linked ears if the file has them")
    report(progress, 0.7, "artefact epochs", cancel)
    unfiltered = raw[[names.index(c) for c in out_names]]
    found = find_artefacts(x, unfiltered, sf, out_names, in_cond, amplitude_uv=p.amplitude_uv,
                           gradient_uv_per_ms=p.gradient_uv_per_ms, muscle_z=p.muscle_z)
    ep_len = int(round(p.epoch_s * sf))
    starts: list[int] = []
    for a, b in segments:
        s0, s1 = int(round(a * sf)), int(round(b * sf))
        starts.extend(range(s0, s1 - ep_len + 1, ep_len))
    verdicts = epoch_verdicts(found, np.asarray(starts, dtype=int), ep_len,
                              {"amplitude": p.amplitude_uv, "gradient": p.gradient_uv_per_ms,
                               "muscle": p.muscle_z})
    marks = _file_marks(rec)
    for k, s0 in enumerate(starts):
        t0, t1 = s0 / sf, (s0 + ep_len) / sf
        hit = [why for a, b, why in marks if a < t1 and b >= t0]
        if hit:
            verdicts[k] = hit[0]
    rejected: list[tuple[float, float, str]] = [
        (a, b, f"outside {p.condition.replace('_', '-')}") for a, b in _complement(cond_segments, rec.duration_s)]
    for a, b in _complement(segments, rec.duration_s):
        rejected += [(max(a, c), min(b, d), "filter edge (start or end of the recording)")
                     for c, d in cond_segments if min(b, d) > max(a, c)]
    kept = [s for s, v in zip(starts, verdicts) if v is None]
    rejected += [(s / sf, (s + ep_len) / sf, v) for s, v in zip(starts, verdicts) if v is not None]
    rejected.sort()
    counts = {k: sum(1 for v in verdicts if v and v.startswith(k))
              for k in ("amplitude", "gradient", "muscle", "marked", "discontinuity")}
    clean_s = len(kept) * ep_len / sf
    by_file = (f", marked in the file {counts['marked'] + counts['discontinuity']}"
               if counts["marked"] + counts["discontinuity"] else "")
    steps.append(f"epochs of {p.epoch_s:g} s: {len(starts)}, rejected {len(starts) - len(kept)} "
                 f"(amplitude {counts['amplitude']}, gradient {counts['gradient']}, "
                 f"muscle {counts['muscle']}{by_file}); clean {clean_s:.0f} s")
    if clean_s < p.min_clean_s:
        raise EegInputError(
            f"only {clean_s:.0f} s of clean {p.condition.replace('_', '-')} EEG ({len(kept)} of "
            f"{len(starts)} epochs of {p.epoch_s:g} s; rejected: {counts['amplitude']} for "
            f"amplitude (blinks), {counts['gradient']} for gradient, {counts['muscle']} for "
            f"muscle); at least {p.min_clean_s:g} s are needed. Record a longer or calmer "
            "resting block, or choose another condition.")
    epochs = (np.stack([x[:, s:s + ep_len] for s in kept]) if kept
              else np.zeros((0, len(out_names), ep_len)))
    report(progress, 1.0, "cleaned", cancel)
    return CleanEeg(epochs_v=epochs, epoch_starts_s=np.asarray(kept, dtype=float) / sf, sfreq_hz=sf,
                    channels=out_names, bad_channels=bad, rejected_segments=rejected,
                    clean_duration_s=clean_s, reference=p.reference, band_hz=(lo, hi),
                    notch_hz=notch, condition=p.condition, steps=steps, warnings=warnings)


def _file_marks(rec: EegRecording) -> list[tuple[float, float, str]]:
    """Spans the file itself excludes: MNE's convention of annotations starting with "bad"
    (``BAD_blink``, ``bad acq skip``), and the points where EEGLAB joined cut data ("boundary")
    or BrainVision starts a new segment: a spectrum across such a join is not of one signal."""
    out: list[tuple[float, float, str]] = []
    for onset, dur, desc in rec.annotations:
        d = desc.strip()
        low = d.lower()
        if low.startswith("bad"):
            out.append((onset, onset + max(dur, 0.0), f"marked bad in the file ({d})"))
        elif low in ("boundary", "new segment/", "new segment") and onset > 0:
            out.append((onset, onset, f"discontinuity in the file ({d})"))
    return out


def _complement(segments: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    out, t = [], 0.0
    for a, b in sorted(segments):
        if a > t:
            out.append((t, a))
        t = max(t, b)
    if t < duration:
        out.append((t, duration))
    return out
