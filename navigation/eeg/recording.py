"""A resting EEG as tmsnav holds it after reading a clinic's file, whatever system wrote it.

Everything downstream (cleaning, spectra, asymmetry, the scalp map, the suggestion) works on this
one type, so it settles three things once:

* **units**: ``data_v`` is always volts (MNE's convention). The reader checks the amplitudes a
  resting EEG has (robust SD of a few to a few tens of microvolts) and refuses a file whose unit
  label is wrong (1e6 off), because every absolute power and every amplitude threshold would be
  wrong by 1e12 or 1e6.
* **names**: ``channels`` are canonical 10-20 / 10-10 names (``T7`` not ``T3``, ``Fp1`` not
  ``EEG FP1-REF``; the modified combinatorial nomenclature of the American Clinical
  Neurophysiology Society guideline 2 (Acharya et al. 2016, J Clin Neurophysiol 33:308). Asymmetry
  needs F3 and F4 and must never silently take a different electrode.
* **what was left out and why**: ``dropped_channels`` and ``warnings`` are shown to the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tmsnav.navigation.errors import NavigationError

__all__ = ["EegInputError", "EegRecording",
           "EYES_CLOSED", "EYES_OPEN"]

EYES_CLOSED = "eyes_closed"
EYES_OPEN = "eyes_open"


class EegInputError(NavigationError):
    """The EEG file cannot be used as it is; the message says why and what to do."""


@dataclass
class EegRecording:
    """EEG channels of one recording, in volts, with canonical electrode names."""

    data_v: np.ndarray                      # (n_channels, n_samples) float64, volts
    sfreq_hz: float
    channels: list[str]                     # canonical names, file order (EEG channels that mapped)
    original_names: dict[str, str]          # canonical -> name as written in the file
    dropped_channels: dict[str, str]        # original name -> reason (non-EEG, unknown, duplicate)
    annotations: list[tuple[float, float, str]]          # onset_s, duration_s, description
    conditions: dict[str, list[tuple[float, float]]]     # "eyes_closed"/"eyes_open" -> [(start_s, stop_s)]
    file_format: str                        # "EDF", "EDF+", "BDF", "BrainVision", "EEGLAB", "FIF"
    warnings: list[str] = field(default_factory=list)
    # Per channel (canonical name) the physical range the file can represent, in volts, when the
    # format declares one (EDF/BDF physical min/max). A signal sitting at these limits is clipped.
    physical_range_v: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return float(self.data_v.shape[1]) / float(self.sfreq_hz) if self.sfreq_hz > 0 else 0.0

    def channel(self, name: str) -> np.ndarray:
        """The samples (volts) of one canonical channel."""
        return self.data_v[self.channels.index(name)]

