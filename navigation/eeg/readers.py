"""Read the files clinical and research EEG systems write into an ``EegRecording``.

MNE-Python does the decoding (Gramfort et al. 2013, Front Neurosci 7:267): EDF/EDF+ and BDF
(``read_raw_edf`` / ``read_raw_bdf``), BrainVision (``read_raw_brainvision``, the ``.vhdr``),
EEGLAB (``read_raw_eeglab``, ``.set`` with its ``.fdt``) and FIF (``read_raw_fif``). Always
``preload=True`` (the cleaning filters the whole recording) and ``verbose=False`` (MNE's log
would otherwise print the file path, which may carry a patient's name).

What this module adds on top of MNE, because a wrong answer here becomes a wrong target:
EDF/BDF headers checked against the file size first (truncated / lying / not-EDF files refused,
``edf_header``), channel labels mapped to electrode names with every dropped channel's reason
(``channel_names``), BioSemi's numbered cap positions (A1-A32, B1-B32, ...) never mistaken for the
A1/A2 earlobes, duplicated electrodes (T3 and T7) refused when their signals differ, the sampling
rate and the amplitude scale checked (``units``), and eyes-closed/open blocks from the annotations
(``conditions``). No patient identifier is ever copied into the recording or a message.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tmsnav.navigation.eeg.channel_names import (
    EAR_SITES, canonical_channel_name, is_frontal, why_not_mapped)
from tmsnav.navigation.eeg.conditions import condition_segments
from tmsnav.navigation.eeg.edf_header import EdfHeader, read_edf_header, unit_scale_to_volts
from tmsnav.navigation.eeg.recording import EegInputError, EegRecording
from tmsnav.navigation.eeg.units import check_amplitude_scale

__all__ = ["read_eeg", "MIN_SFREQ_HZ", "SUPPORTED"]

MIN_SFREQ_HZ = 128.0   # Nyquist 64 Hz: the 1-45 Hz band and the 50/60 Hz notch need at least this
SUPPORTED = {".edf": "EDF", ".bdf": "BDF", ".vhdr": "BrainVision", ".set": "EEGLAB", ".fif": "FIF"}
_BIOSEMI_POSITION = re.compile(r"^[A-H]([1-9]|[12][0-9]|3[0-2])$")
# Only BioSemi numbering has A3..A32 or B1..B32 (10-20 names with a letter and a digit are F3, C4,
# P7 ... and the A1/A2 earlobes); seeing one of these, every A1-H32 label is a cap position.
_BIOSEMI_ONLY = re.compile(r"^(A([3-9]|[12][0-9]|3[0-2])|B([1-9]|[12][0-9]|3[0-2]))$")
_NOT_EEG_TYPES = {"stim": "trigger / status", "ecg": "ECG", "eog": "EOG", "emg": "EMG",
                  "resp": "respiration", "bio": "physiological (not EEG)", "syst": "system"}


def _format_of(p: Path) -> str:
    name = p.name.lower()
    if name.endswith((".fif", ".fif.gz")):
        return "FIF"
    suffix = p.suffix.lower()
    if suffix in SUPPORTED:
        return SUPPORTED[suffix]
    if suffix in (".eeg", ".vmrk"):
        raise EegInputError(f"{p.name} is part of a BrainVision recording: open its .vhdr header "
                            "file (the .vhdr, .vmrk and .eeg files must stay together)")
    if suffix == ".fdt":
        raise EegInputError(f"{p.name} is the data half of an EEGLAB dataset: open the .set file")
    raise EegInputError(f"{p.name}: tmsnav does not read '{suffix or 'no extension'}' files. It reads "
                        "EDF/EDF+ (.edf), BDF (.bdf), BrainVision (.vhdr), EEGLAB (.set) and FIF "
                        "(.fif); export the recording to one of these from the EEG system.")


def _without_folder(text: str, p: Path) -> str:
    """First line of an MNE message with every path of the file's folder cut to its file name
    (folders are often named after the patient; companion files such as a .fdt live there too)."""
    folder = str(p.resolve().parent)
    text = text.replace(str(p), p.name).replace(folder + os.sep, "").replace(str(p.parent) + os.sep, "")
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _read_raw(p: Path, fmt: str) -> tuple[Any, list[str]]:
    """The MNE Raw and MNE's warnings about the file (paths replaced by the file name)."""
    import mne

    readers = {"EDF": mne.io.read_raw_edf, "BDF": mne.io.read_raw_bdf,
               "BrainVision": mne.io.read_raw_brainvision, "EEGLAB": mne.io.read_raw_eeglab,
               "FIF": mne.io.read_raw_fif}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            raw = readers[fmt](p, preload=True, verbose=False)
        notes = [_without_folder(str(w.message), p) for w in caught]
        return raw, [n for n in notes if "Number of records from the header" not in n]
    except Exception as err:  # MNE raises many types for damaged files; the user needs one message
        detail = _without_folder(str(err), p) or type(err).__name__
        raise EegInputError(f"{p.name} could not be read as {fmt}: {detail}. The file is damaged, "
                            "incomplete (a missing companion file?) or not really "
                            f"{fmt}.") from err


def _map_channels(raw: Any, biosemi_numbered: bool) -> tuple[list[int], list[str], dict[str, str], dict[str, str]]:
    """Indices kept, their canonical names, canonical->original, dropped original->reason."""
    keep: list[int] = []
    names: list[str] = []
    original: dict[str, str] = {}
    dropped: dict[str, str] = {}
    types = raw.get_channel_types()
    for i, (label, kind) in enumerate(zip(raw.ch_names, types)):
        if kind in _NOT_EEG_TYPES:
            dropped[label] = f"not EEG ({_NOT_EEG_TYPES[kind]})"
            continue
        if biosemi_numbered and _BIOSEMI_POSITION.match(label.strip()):
            dropped[label] = ("BioSemi cap position (A1-H32 numbering), not a 10-20 name: rename "
                              "the channels with the cap's layout")
            continue
        canon = canonical_channel_name(label)
        if canon is None:
            dropped[label] = why_not_mapped(label)
            continue
        if canon in original:
            dropped[label] = f"duplicate of {canon} ({original[canon]} and {label} name the same electrode)"
            continue
        keep.append(i)
        names.append(canon)
        original[canon] = label
    return keep, names, original, dropped


def _check_duplicates(data: np.ndarray, ch_names: list[str], keep: list[int], names: list[str],
                      original: dict[str, str], dropped: dict[str, str], file_name: str) -> None:
    """Refuse two labels of one electrode (T3 and T7) unless they carry the same signal."""
    for label, reason in dropped.items():
        if not reason.startswith("duplicate of "):
            continue
        canon = reason.split()[2]
        a = data[keep[names.index(canon)]]
        b = data[ch_names.index(label)]
        scale = max(float(np.std(a)), float(np.std(b)), 1e-12)
        if float(np.max(np.abs(a - b))) > 0.01 * scale:
            raise EegInputError(
                f"{file_name}: channels '{original[canon]}' and '{label}' both name electrode "
                f"{canon} (T3/T4/T5/T6 are the old names of T7/T8/P7/P8) but carry different "
                "signals, so tmsnav cannot tell which one is that site. Remove or rename one of "
                "them in the EEG software and load the file again.")


def _annotations(raw: Any) -> list[tuple[float, float, str]]:
    ann = raw.annotations
    offset = float(raw.first_time) if ann.orig_time is not None else 0.0
    return [(float(o) - offset, float(d), str(desc))
            for o, d, desc in zip(ann.onset, ann.duration, ann.description)]


def _physical_ranges(header: EdfHeader | None, original: dict[str, str]) -> dict[str, tuple[float, float]]:
    if header is None:
        return {}
    by_label = {lab.strip(): i for i, lab in enumerate(header.labels)}
    out: dict[str, tuple[float, float]] = {}
    for canon, label in original.items():
        i = by_label.get(label.strip())
        scale = unit_scale_to_volts(header.units[i]) if i is not None else None
        if i is not None and scale is not None:
            lo, hi = sorted((header.physical_min[i] * scale, header.physical_max[i] * scale))
            out[canon] = (lo, hi)
    return out


def _recorded_rates(header: EdfHeader | None, labels: list[str]) -> list[float]:
    """Sampling rates (Hz) of these channels as the EDF/BDF header gives them (EDF allows one
    rate per signal; MNE brings all to the fastest, so the check must use the EEG's own)."""
    if header is None:
        return []
    by_label = {lab.strip(): n / header.record_s for lab, n in zip(header.labels, header.samples_per_record)}
    return [by_label[lab.strip()] for lab in labels if lab.strip() in by_label]


def _unit_in_file(raw: Any, header: EdfHeader | None, labels: list[str]) -> str | None:
    units: set[str] = set()
    if header is not None:
        by_label = {lab.strip(): u for lab, u in zip(header.labels, header.units)}
        units = {by_label[lab] for lab in labels if lab in by_label and by_label[lab]}
    else:
        orig = getattr(raw, "_orig_units", None) or {}
        units = {str(orig[lab]) for lab in labels if lab in orig}
    units = {"µV" if u.lower() in ("uv", "µv", "μv") else u for u in units}
    return ", ".join(sorted(units)) if units else None


def read_eeg(path: str | Path) -> EegRecording:
    """Read one EEG recording; raise ``EegInputError`` with the cause for anything unusable."""
    p = Path(path)
    if not p.exists():
        raise EegInputError(f"{p.name}: no such file")
    if p.is_dir():
        raise EegInputError(f"{p.name} is a folder: choose the EEG file inside it")
    fmt = _format_of(p)
    header = read_edf_header(p) if fmt in ("EDF", "BDF") else None
    raw, mne_notes = _read_raw(p, fmt)
    sfreq = float(raw.info["sfreq"])
    if sfreq < MIN_SFREQ_HZ:
        raise EegInputError(f"{p.name}: sampling rate {sfreq:g} Hz is below {MIN_SFREQ_HZ:g} Hz; "
                            "qEEG needs the 1-45 Hz band and the 50/60 Hz line frequency below "
                            "the Nyquist limit. Record or export at 128 Hz or more.")
    biosemi = any(_BIOSEMI_ONLY.match(c.strip()) for c in raw.ch_names)
    keep, names, original, dropped = _map_channels(raw, biosemi)
    if not keep:
        unknown = [lab for lab, why in dropped.items() if not why.startswith("not EEG")]
        listed = ", ".join(unknown[:20]) + (" ..." if len(unknown) > 20 else "")
        raise EegInputError(
            f"{p.name}: none of the channel names is a 10-20 / 10-10 electrode name "
            f"({'unknown: ' + listed if unknown else 'only non-EEG channels'}). Rename the "
            "channels to 10-20 names (Fp1, F3, C3, ...) in the EEG software.")
    data = raw.get_data()
    _check_duplicates(data, list(raw.ch_names), keep, names, original, dropped, p.name)
    scalp = [n for n in names if n not in EAR_SITES]
    if not any(is_frontal(n) for n in scalp):
        raise EegInputError(
            f"{p.name}: no frontal channels (Fp1, Fp2, F3, Fz, F4, F7, F8 ...): the asymmetry and "
            f"the frontal measures need them. The file's EEG channels are: {', '.join(names)}.")
    recorded = _recorded_rates(header, [original[n] for n in names])
    if recorded and min(recorded) < MIN_SFREQ_HZ:
        raise EegInputError(
            f"{p.name}: the EEG channels were recorded at {min(recorded):g} Hz (below "
            f"{MIN_SFREQ_HZ:g} Hz); other channels of the file at {sfreq:g} Hz made the reader "
            "interpolate them, which adds no information. Record or export at 128 Hz or more.")
    eeg = np.ascontiguousarray(data[keep], dtype=np.float64)
    unit = _unit_in_file(raw, header, [original[n] for n in names])
    check_amplitude_scale(eeg[[names.index(n) for n in scalp]] if scalp else eeg, sfreq,
                          p.name, unit)
    notes = list(header.warnings) if header is not None else []
    notes += [f"MNE: {n}" for n in mne_notes]
    if recorded and min(recorded) < sfreq:
        notes.append(f"EEG channels recorded at {min(recorded):g} Hz were interpolated to "
                     f"{sfreq:g} Hz (the file's fastest channel); the spectrum above "
                     f"{min(recorded) / 2:g} Hz holds no EEG")
    unknown = sorted(lab for lab, why in dropped.items() if why.startswith(("unknown", "BioSemi")))
    if unknown:
        notes.append(f"{len(unknown)} channel(s) with names that are not 10-20 / 10-10 "
                     f"electrodes were left out: {', '.join(unknown)}")
    annotations = _annotations(raw)
    duration = eeg.shape[1] / sfreq
    file_format = header.file_format if header is not None else fmt
    return EegRecording(data_v=eeg, sfreq_hz=sfreq, channels=names, original_names=original,
                        dropped_channels=dropped, annotations=annotations,
                        conditions=condition_segments(annotations, duration),
                        file_format=file_format, warnings=notes,
                        physical_range_v=_physical_ranges(header, original))
