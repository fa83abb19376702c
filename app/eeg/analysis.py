"""The qEEG tab's background job: read the file, clean it, compute the measures and the
suggestion, and (when a head is open) place the electrodes on this scalp — all on the worker
thread, with progress and Cancel between steps.

Pure Python (no Qt): the panel hands in plain inputs captured on the GUI thread (the file path,
the cleaning settings, the head's worker-safe geometry) and gets one :class:`QeegResult` back,
so a failed or cancelled run leaves the tab's previous result untouched. MNE-Python and the qEEG
modules are imported here, inside the job, so opening the app does not pay for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tmsnav.navigation.progress import report, scaled

from ..planning.context import HeadGeometry

__all__ = ["QeegResult", "ElectrodeInput", "analyse_eeg", "place_on_head", "sample_eeg_path",
           "write_sample_eeg"]


@dataclass
class ElectrodeInput:
    """What template placement needs, captured on the GUI thread."""

    geometry: HeadGeometry
    overrides: dict[str, np.ndarray] = field(default_factory=dict)   # landmarks the user set


@dataclass
class Electrodes:
    """Electrode positions on this head (mri mm) and a sentence saying where they came from."""

    positions_mm: dict[str, np.ndarray]
    source: str                                # "template", "digitised", "file"
    note: str
    head: Any = None                           # the LoadedHead they belong to
    from_box: bool = False                     # from the electrode box, which draws them itself


@dataclass
class QeegResult:
    display_name: str
    recording: Any
    clean: Any
    measures: Any
    suggestions: list[Any]
    electrodes: Electrodes | None = None
    electrode_problem: str = ""                # why no template electrodes (no head, no fiducials)


def place_on_head(inputs: ElectrodeInput, names: list[str], progress: Any = None,
                  cancel: Any = None) -> Electrodes:
    """Template / 10-10 construction positions of ``names`` on this scalp (E3's placement)."""
    from tmsnav.navigation.eeg.electrodes import place_electrodes
    from tmsnav.navigation.targeting.planning import landmarks_from

    report(progress, 0.1, "landmarks for the electrode positions", cancel)
    geo = inputs.geometry
    choice = landmarks_from(geo.fiducials, geo.scalp, inputs.overrides)
    report(progress, 0.3, "electrode positions on this scalp", cancel)
    placed = place_electrodes(geo.scalp, choice.landmarks, names)
    note = (f"{len(placed.positions_mm)} electrodes from the 10-10 construction on this scalp "
            f"(template fit residual {placed.fit_rms_mm:.1f} mm)")
    if placed.unknown:
        note += "; no position for " + ", ".join(placed.unknown)
    if choice.notes:
        note += "; " + "; ".join(choice.notes)
    return Electrodes(dict(placed.positions_mm), "template", note, geo.head)


def analyse_eeg(path: str | Path, display_name: str, params_kwargs: dict[str, Any],
                electrode_input: ElectrodeInput | None, progress: Any = None,
                cancel: Any = None) -> QeegResult:
    """Read, clean, measure and suggest; electrodes placed on the head when one is given."""
    from tmsnav.navigation.eeg.cleaning import CleaningParams, clean_eeg
    from tmsnav.navigation.eeg.measures import compute_measures
    from tmsnav.navigation.eeg.readers import read_eeg
    from tmsnav.navigation.eeg.rules import suggest
    from tmsnav.navigation.errors import NavigationError

    report(progress, 0.02, "reading the EEG file", cancel)
    recording = read_eeg(path)
    report(progress, 0.15, "cleaning (filters, bad channels, artefacts)", cancel)
    clean = clean_eeg(recording, CleaningParams(**params_kwargs), progress=scaled(progress, 0.15, 0.6),
                      cancel=cancel)
    report(progress, 0.6, "spectra and measures", cancel)
    measures = compute_measures(clean, progress=scaled(progress, 0.6, 0.85))
    report(progress, 0.85, "rule table", cancel)
    suggestions = list(suggest(measures))
    result = QeegResult(display_name, recording, clean, measures, suggestions)
    if electrode_input is None:
        result.electrode_problem = "Open the patient's MRI to see the measures on the 3-D head."
    else:
        try:
            result.electrodes = place_on_head(electrode_input, list(recording.channels),
                                              scaled(progress, 0.85, 1.0), cancel)
        except NavigationError as exc:
            result.electrode_problem = (f"No template electrode positions on this head: {exc} "
                                        "Digitise the electrodes or load a BIDS electrodes file.")
    report(progress, 1.0, "done", cancel)
    return result


def sample_eeg_path() -> Path:
    """Where File > Open sample EEG writes its synthetic recording (the user cache folder)."""
    from tmsnav.navigation.surfaces.cache import user_cache_dir

    return user_cache_dir() / "sample-eeg" / "sample_resting_eeg.edf"


def write_sample_eeg(progress: Any = None, cancel: Any = None) -> Path:
    """Write the synthetic 19-channel resting EDF (planted asymmetry, IAF, theta excess,
    blinks and muscle) to :func:`sample_eeg_path` and return the path."""
    from tmsnav.navigation.eeg.sample_eeg import write_sample_eeg as write

    report(progress, 0.0, "writing the sample EEG", cancel)
    path = sample_eeg_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path)
    return path
