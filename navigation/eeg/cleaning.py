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
   Neurosci Methods 250:34); the notch is at 50 or 60 Hz, whichever line frequency the data show.
4. **Reference**: average (all good channels) or linked ears (A1/A2, M1/M2 or TP9/TP10; refused
   with a message when the file has none).
5. **Epochs** of ``epoch_s`` seconds, rejected by peak-to-peak amplitude (eye blinks: 100-400 µV at
   Fp1/Fp2, Croft & Barry 2000, Neurophysiol Clin 30:5), by the sample-to-sample gradient
   (electrode pops; Brain Vision Analyzer's "maximal allowed voltage step" of 50 µV/ms) and by
   high-frequency power (scalp muscle, 20-45 Hz, Goncharova et al. 2003, Clin Neurophysiol
   114:1580).
6. **Minimum clean duration** (60 s by default; spectra of less are too noisy for the individual
   alpha frequency): refused with how much is clean and how much is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["CleaningParams", "CleanEeg", "CONDITIONS", "REFERENCES"]

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
