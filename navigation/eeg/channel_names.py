"""Map the channel labels EEG systems write onto 10-20 / 10-10 / 10-5 electrode names.

Clinic files spell the same electrode many ways: ``EEG Fp1-REF`` (EDF exports of Natus and
Nihon Kohden), ``Fp1-A1`` / ``EEG FP1-LE`` (referential montages named after their reference),
``FP1`` / ``fp1`` (case), and the old temporal names T3/T4/T5/T6 that the American Clinical
Neurophysiology Society renamed T7/T8/P7/P8 (Acharya et al. 2016, J Clin Neurophysiol 33:308,
guideline 2). Asymmetry and theta/beta need *the* F3, F4 and Cz, so a label is mapped only when
it names one electrode unambiguously; everything else is dropped with the reason shown to the user.

The vocabulary is the 10-5 system as MNE ships it (the ``colin27_1005`` montage, Oostenveld &
Praamstra 2001, Clin Neurophysiol 112:713), plus the ear and mastoid reference sites A1/A2/M1/M2.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["canonical_channel_name", "non_eeg_kind", "OLD_TO_NEW", "EAR_SITES",
           "electrode_vocabulary", "is_frontal"]

# Old 10-20 temporal names -> the 10-10 names of the same electrode (ACNS guideline 2, 2016).
OLD_TO_NEW = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
# Reference sites: earlobes and mastoids (linked-ears reference), not scalp sites for the maps.
EAR_SITES = ("A1", "A2", "M1", "M2")

# Tokens after a '-' that name a reference, not a second electrode (``Fp1-REF``, ``Fp1-A1``).
_REFERENCE_TOKENS = {"REF", "LE", "RE", "AR", "AVG", "AV", "CAR", "A1", "A2", "M1", "M2", "A12",
                     "A1A2", "M1M2", "LINKED", "EAR", "EARS", "MAST", "REF1", "REF2", "COM", "GND"}
_PREFIXES = ("EEG ", "EEG-", "EEG_", "EEG:", "POL ", "EEG")

# Non-EEG channels by label: (pattern on the upper-cased, prefix-stripped label, kind).
_NON_EEG = [
    (re.compile(r"^(ECG|EKG)"), "ECG"),
    (re.compile(r"^(EOG|HEOG|VEOG|LOC|ROC|E1-M2|E2-M1)"), "EOG"),
    (re.compile(r"^(EMG|CHIN)"), "EMG"),
    (re.compile(r"^(PHOTIC|PHOTO|IBI|BURSTS|SUPPR)"), "photic / derived"),
    (re.compile(r"^(STATUS|TRIG|TRIGGER|STI\d*|STIM|EVENT|MARK|DC\d*|EDFANNOTATIONS|BDFANNOTATIONS)"),
     "trigger / status"),
    (re.compile(r"^(RESP|SPO2|SAO2|PULSE|PLETH|HR|THOR|ABD|NASAL|SNORE|POS|LIGHT|TEMP|GSR)"),
     "physiological (not EEG)"),
    (re.compile(r"^(ACC|GYRO|X|Y|Z)\d*$"), "accelerometer"),
]


@lru_cache(maxsize=1)
def electrode_vocabulary() -> dict[str, str]:
    """Upper-cased name -> canonical spelling, for every 10-5 electrode MNE knows (cached)."""
    import mne

    names = mne.channels.make_standard_montage("colin27_1005").ch_names
    vocab = {n.upper(): n for n in names if n not in OLD_TO_NEW}
    for old, new in OLD_TO_NEW.items():
        vocab[old] = new
    for ear in EAR_SITES:
        vocab[ear] = ear
    return vocab


def _strip_prefix(label: str) -> str:
    s = label.strip()
    up = s.upper()
    for p in _PREFIXES:
        if up.startswith(p) and len(s) > len(p):
            rest = s[len(p):].strip()
            # "EEG" glued to a name ("EEGFp1") only when what follows is a name on its own.
            if p != "EEG" or rest.upper() in electrode_vocabulary():
                return rest
    return s


def non_eeg_kind(label: str) -> str | None:
    """``"ECG"``, ``"EOG"``, ... when the label names a non-EEG channel, else None."""
    up = _strip_prefix(label).upper().replace(" ", "")
    for pattern, kind in _NON_EEG:
        if pattern.match(up):
            return kind
    return None


def canonical_channel_name(name: str) -> str | None:
    """The electrode a label names (``"EEG FP1-LE"`` -> ``"Fp1"``, ``"T3"`` -> ``"T7"``) or None.

    None for non-EEG channels, unknown names (``"E1"`` of a geodesic net, ``"Chan 3"``) and bipolar
    derivations (``"Fp1-F3"``: the difference of two electrodes is not a site on the head).
    """
    if non_eeg_kind(name) is not None:
        return None
    s = _strip_prefix(name)
    vocab = electrode_vocabulary()
    parts = [p.strip() for p in re.split(r"[-–]", s) if p.strip()]
    if not parts:
        return None
    head = parts[0].upper().replace(" ", "")
    if len(parts) > 1:
        tail = "".join(parts[1:]).upper().replace(" ", "")
        if tail not in _REFERENCE_TOKENS:
            return None      # bipolar (Fp1-F3) or something we cannot read
    return vocab.get(head)


def why_not_mapped(name: str) -> str:
    """The reason shown to the user for a label that ``canonical_channel_name`` does not map."""
    kind = non_eeg_kind(name)
    if kind is not None:
        return f"not EEG ({kind})"
    s = _strip_prefix(name)
    parts = [p.strip() for p in re.split(r"[-–]", s) if p.strip()]
    if len(parts) > 1 and "".join(parts[1:]).upper() not in _REFERENCE_TOKENS:
        if all(p.upper() in electrode_vocabulary() for p in parts):
            return "bipolar derivation (the difference of two electrodes, not one site)"
    if re.fullmatch(r"E\d+", s.strip(), flags=re.IGNORECASE):
        return ("unknown electrode name (numbered net channel: tmsnav maps 10-20 / 10-10 names only)")
    return "unknown electrode name (not a 10-20 / 10-10 / 10-5 name)"


def is_frontal(name: str) -> bool:
    """Frontal-pole, anterior-frontal and frontal sites (Fp*, AF*, F*, not FC/FT/FFC/FFT)."""
    up = name.upper()
    if up.startswith(("FP", "AF")):
        return True
    return up.startswith("F") and not up.startswith(("FC", "FT", "FFC", "FFT"))
