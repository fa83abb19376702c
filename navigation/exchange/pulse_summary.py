"""Another navigator's recorded pulses, read for display: which file, where they landed, how far.

A clinic may run part of a course on a Brainsight or Localite system and part on tmsnav, or
switch navigators mid-course. File > Import pulses shows where the other system's pulses landed
on this patient's head; this module is its non-GUI half:

* :func:`read_pulse_file` recognises the file by content (:mod:`.detect`) and reads its samples:
  a Brainsight text export's ``# Sample Name`` block (:func:`.brainsight.read_brainsight`) or a
  Localite TriggerMarker file (:func:`.localite.read_trigger_markers`). A targets-only file, a
  SimNIBS coil-position file or anything else is refused with what the file is, and a file whose
  samples all lack a pose (coil not tracked) is refused too: there is nothing to show.
* :func:`summarize` gives the numbers the view and its legend show: how many samples, how many
  with a known pose, the median and 95th-percentile distance of the pulses' hotspot positions to
  the active target's scalp point (the same straight distance Brainsight's ``Dist. to Target``
  column and the Navigate view's previous-pulses legend use), and pulses per named target.
* :func:`scalp_distances` / :func:`off_head_warning` catch the mistake no file label can: pulses
  recorded on another patient's or another image's coordinates (or in metres) do not sit on this
  head's scalp. Localite files carry no label of the image they belong to, so this is the only
  check that applies to them.

Units: both readers work in millimetres (Brainsight's ``# Units:`` line is checked, other units
are refused; Localite stores mm by definition) and the scanner RAS+ of the T1 (LPS is converted,
other spaces are refused), so the positions here are ``mri`` mm like every tmsnav pose.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .brainsight import read_brainsight
from .common import ExchangeSample
from .detect import FORMAT_LABELS, describe, sniff
from .errors import ExchangeError
from .localite import read_trigger_markers

__all__ = ["PulseFile", "PulseSummary", "read_pulse_file", "summarize", "scalp_distances",
           "off_head_warning", "legend_line", "SOURCE_NAMES", "OFF_HEAD_MM"]

#: Short vendor names for the legend ("Imported: 412 pulses from Brainsight (...)").
SOURCE_NAMES = {"brainsight": "Brainsight", "localite-trigger": "Localite"}
#: Median hotspot-to-scalp distance above which the pulses are "not on this head". A coil's
#: hotspot sits on the coil face, a few mm of hair and casing above the skin; 15 mm is far beyond
#: that and well inside what a file of another head or image gives (measured in the tests: 0.9 mm
#: for pulses written on the sample head, tens of mm for the same file on the phantom head).
OFF_HEAD_MM = 15.0


@dataclass(frozen=True)
class PulseFile:
    """The samples of one file and what the import dialog must say about it."""

    path: Path
    format: str                        # a key of detect.FORMATS: "brainsight" | "localite-trigger"
    coordinate_system: str             # as the file states it ("NIfTI:Aligned", "RAS", "LPS")
    samples: list[ExchangeSample]
    notes: list[str] = field(default_factory=list)

    @property
    def source_name(self) -> str:
        return SOURCE_NAMES.get(self.format, self.format)


@dataclass(frozen=True)
class PulseSummary:
    """What the overlay's legend and the import message say (mm)."""

    n_samples: int
    n_with_pose: int
    positions: np.ndarray              # (n_with_pose, 3) hotspot positions, mri mm, file order
    target_name: str = ""              # the target the distances are to ("" = none)
    median_mm: float | None = None
    p95_mm: float | None = None
    per_target: dict[str, int] = field(default_factory=dict)   # pulses with a pose per named target

    @property
    def n_without_pose(self) -> int:
        return self.n_samples - self.n_with_pose


def _localite_space(path: Path) -> str:
    """The root's ``coordinateSpace`` attribute, read from the first element only."""
    try:
        for _event, element in ET.iterparse(path, events=("start",)):
            return (element.get("coordinateSpace") or "").strip()
    except ET.ParseError:
        return ""                      # the reader says what is damaged
    return ""


def read_pulse_file(path: str | Path) -> PulseFile:
    """The samples of a Brainsight export or a Localite TriggerMarker file (see the module doc).

    Raises :class:`ExchangeError` with a sentence for the user when the file holds no pulses or
    none with a known pose."""
    path = Path(path)
    kind = sniff(path)
    if kind == "brainsight":
        data = read_brainsight(path)
        if not data.samples:
            raise ExchangeError(f"{path.name} is a Brainsight export with targets but no samples "
                                "(recorded pulses): use File > Import targets… for it")
        pulses = PulseFile(path, kind, data.coordinate_system, list(data.samples), list(data.notes))
    elif kind == "localite-trigger":
        space = _localite_space(path)
        samples = read_trigger_markers(path)
        notes = (["the file is in LPS (a DICOM-based Localite project): converted to RAS by "
                  "flipping x and y"] if space.upper() == "LPS" else [])
        pulses = PulseFile(path, kind, space, samples, notes)
    elif kind == "localite-instrument":
        raise ExchangeError(f"{path.name} is a Localite InstrumentMarker file: it holds targets, "
                            "not recorded pulses. Use File > Import targets… for it, or choose "
                            "the TriggerMarkers file of the session")
    elif kind == "simnibs-mat":
        raise ExchangeError(f"{path.name} is a {FORMAT_LABELS['simnibs-mat']}: it holds planned "
                            "coil positions, not recorded pulses. Use File > Import targets… "
                            "for it")
    else:
        raise ExchangeError(f"{path.name} is not a pulse file tmsnav can read (a "
                            f"{FORMAT_LABELS['brainsight']} with samples or a "
                            f"{FORMAT_LABELS['localite-trigger']}): it is {describe(path)}.")
    if not pulses.samples:
        raise ExchangeError(f"{path.name} holds no recorded pulse")
    if not any(s.pose_known for s in pulses.samples):
        raise ExchangeError(f"none of the {len(pulses.samples)} pulses in {path.name} has a known "
                            "coil position (the coil was not tracked): there is nothing to show")
    return pulses


def summarize(samples: Sequence[ExchangeSample], target_point_mm: np.ndarray | None = None,
              target_name: str = "") -> PulseSummary:
    """Counts, positions and distances to ``target_point_mm`` (the active target's scalp point)."""
    posed = [s for s in samples if s.mri_from_hotspot is not None]
    positions = (np.array([np.asarray(s.mri_from_hotspot, float)[:3, 3] for s in posed])
                 if posed else np.zeros((0, 3)))
    keep = np.all(np.isfinite(positions), axis=1)
    positions = positions[keep]
    per_target = Counter(s.target_name for s, k in zip(posed, keep) if k and s.target_name)
    median = p95 = None
    if target_point_mm is not None and len(positions):
        d = np.linalg.norm(positions - np.asarray(target_point_mm, float).reshape(1, 3), axis=1)
        median, p95 = float(np.median(d)), float(np.percentile(d, 95))
    return PulseSummary(len(samples), len(positions), positions,
                        target_name if median is not None else "", median, p95,
                        dict(sorted(per_target.items(), key=lambda kv: (-kv[1], kv[0]))))


def scalp_distances(positions: np.ndarray, scalp_vertices: np.ndarray) -> np.ndarray:
    """Distance (mm) of each position to the nearest scalp vertex.

    Vertices, not faces: the scalp meshes are a vertex every 1-2 mm, so this overestimates the
    distance to the surface by under a millimetre, far below :data:`OFF_HEAD_MM`, and needs only
    a copy of the vertex array (safe off the GUI thread, unlike a VTK locator on a displayed mesh)."""
    from scipy.spatial import cKDTree

    positions = np.asarray(positions, float).reshape(-1, 3)
    vertices = np.asarray(scalp_vertices, float).reshape(-1, 3)
    if not len(positions) or not len(vertices):
        return np.zeros(len(positions))
    distances, _ = cKDTree(vertices).query(positions)
    return np.asarray(distances, float)


def off_head_warning(distances_mm: np.ndarray, file_name: str) -> str | None:
    """A sentence when the pulses do not sit on this head's scalp (median > :data:`OFF_HEAD_MM`)."""
    d = np.asarray(distances_mm, float)
    if not len(d):
        return None
    median = float(np.median(d))
    if median <= OFF_HEAD_MM:
        return None
    return (f"the pulses of {file_name} lie a median {median:.0f} mm from this head's scalp: "
            "were they recorded on another patient or another image, or in another coordinate "
            "system or unit?")


def legend_line(summary: PulseSummary, source_name: str, file_name: str, sep: str = ", ") -> str:
    """"Imported: 412 pulses from Brainsight (x.txt), median 3.2 mm from <target>" (the file
    name without its folders, which may name the patient); ``sep="\n"`` for two lines."""
    line = f"Imported: {summary.n_with_pose} pulses from {source_name} ({Path(file_name).name})"
    if summary.median_mm is not None:
        return line + f"{sep}median {summary.median_mm:.1f} mm from {summary.target_name}"
    return line + f"{sep}no active target"
