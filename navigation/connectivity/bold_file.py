"""Read and validate one 4-D BOLD NIfTI and its BIDS JSON sidecar, before any computation.

Why a module of its own: every mistake a user can make with a functional file must be refused
here with its cause, before hours of processing and before anything is written. The checks follow
what the formats promise:

- NIfTI-1 (Cox et al. 2004, "A (sort of) new image data format standard: NIfTI-1"): ``pixdim[4]``
  is the time between volumes, in the unit given by the time bits of ``xyzt_units``
  (seconds, milliseconds or microseconds; "unknown" is common and read as seconds).
- BIDS (Gorgolewski et al. 2016, Sci Data 3:160044; BIDS specification, "Magnetic Resonance
  Imaging" / "Task (including resting state) imaging data"): ``RepetitionTime`` in the sidecar is
  REQUIRED for BOLD and is in seconds; the sidecar of ``x_bold.nii.gz`` is ``x_bold.json``.

A TR above :data:`MAX_TR_S` seconds labelled as seconds is a milliseconds value written with the
wrong unit (2000 "s" for 2 s): it is refused with that explanation, never silently divided, since
a wrong TR moves the 0.01-0.1 Hz band-pass by the same factor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.spatialimages import SpatialImage

from ..errors import NavigationError

__all__ = ["FunctionalInputError", "BoldRun", "read_bold", "MIN_VOLUMES", "MAX_TR_S", "TR_TOLERANCE",
           "bounding_box_mm", "check_overlap", "check_voxel_values", "load_spatial"]

#: fewer volumes than this cannot give a stable correlation map (a 10-min rest run at TR 2 s is 300)
MIN_VOLUMES = 100
#: no BOLD protocol has a TR above 20 s; a larger "seconds" value is milliseconds mislabelled
MAX_TR_S = 20.0
#: header and sidecar TR must agree within this fraction
TR_TOLERANCE = 0.01


class FunctionalInputError(NavigationError):
    """A functional run, its sidecar, confounds or derivatives folder that cannot be used as given."""


@dataclass
class BoldRun:
    """A validated BOLD file: nothing but the header is read (the voxels stay on disk).

    ``bold_from_voxel`` maps voxel indices to the run's own scanner mm (``Frame.BOLD`` for a raw
    run, the space named in the file name for fMRIPrep derivatives)."""

    path: Path
    shape: tuple[int, int, int, int]
    bold_from_voxel: np.ndarray
    tr_s: float
    sidecar: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_volumes(self) -> int:
        return self.shape[3]

    @property
    def voxel_mm(self) -> np.ndarray:
        return np.linalg.norm(self.bold_from_voxel[:3, :3], axis=0)


def load_spatial(path: Path) -> SpatialImage:
    """``nib.load`` typed as the voxel image it must be, with a user message when it is not."""
    try:
        image = nib.load(str(path))
    except Exception as exc:  # nibabel raises many types for a damaged or foreign file
        raise FunctionalInputError(f"{path.name} is not a readable NIfTI image ({exc})") from exc
    if not isinstance(image, SpatialImage):
        raise FunctionalInputError(f"{path.name} is a {type(image).__name__}, not a voxel image")
    return image


def sidecar_path_for(bold_path: Path) -> Path:
    """``x_bold.nii.gz`` -> ``x_bold.json`` (BIDS: same name, other extension)."""
    name = bold_path.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return bold_path.with_name(name[: -len(ext)] + ".json")
    return bold_path.with_suffix(".json")


def _read_sidecar(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise FunctionalInputError(f"{path.name} is a folder; the sidecar must be the run's .json file")
    if not path.is_file():
        raise FunctionalInputError(f"the sidecar {path.name} does not exist")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FunctionalInputError(f"the sidecar {path.name} is not valid JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise FunctionalInputError(f"the sidecar {path.name} must hold a JSON object")
    return record


def _header_tr_s(image: SpatialImage, name: str) -> float | None:
    """The header's TR in seconds, or None when it is absent (0, NaN)."""
    header = image.header
    zooms = header.get_zooms()
    if len(zooms) < 4:
        return None
    value = float(zooms[3])
    if not np.isfinite(value) or value <= 0:
        return None
    unit = "sec"
    if hasattr(header, "get_xyzt_units"):
        unit = header.get_xyzt_units()[1] or "unknown"
    if unit == "msec":
        return value / 1e3
    if unit == "usec":
        return value / 1e6
    if unit not in ("sec", "unknown"):       # "hz", "ppm", "rads": not a time step
        raise FunctionalInputError(f"{name}: the 4th axis is in {unit}, not time; this is not a BOLD run")
    if value > MAX_TR_S:
        raise FunctionalInputError(
            f"{name}: the header says TR = {value:g} s ({'no unit, read as s' if unit == 'unknown' else 'unit s'}); "
            f"no BOLD run has a TR above {MAX_TR_S:g} s, so this is probably {value:g} ms written as seconds. "
            "Fix the header (pixdim[4] in seconds, or set the time unit to ms) and load it again")
    return value


def _sidecar_tr_s(record: dict[str, Any], name: str) -> float | None:
    if "RepetitionTime" not in record:
        return None
    try:
        value = float(record["RepetitionTime"])
    except (TypeError, ValueError):
        raise FunctionalInputError(f"{name}: RepetitionTime is {record['RepetitionTime']!r}, not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise FunctionalInputError(f"{name}: RepetitionTime is {value:g}; it must be a positive number of seconds")
    if value > MAX_TR_S:
        raise FunctionalInputError(
            f"{name}: RepetitionTime = {value:g}; BIDS gives it in seconds and no BOLD run has a TR above "
            f"{MAX_TR_S:g} s, so this is probably milliseconds: write {value / 1e3:g}")
    return value


def read_bold(path: str | Path, *, sidecar: str | Path | None = None,
              min_volumes: int = MIN_VOLUMES) -> BoldRun:
    """Open a 4-D BOLD NIfTI, check its shape and TR against the sidecar; read no voxels.

    ``sidecar``: the BIDS JSON; by default ``<name>.json`` beside the file when it exists.
    Raises :class:`FunctionalInputError` for a folder, a 3-D image, too few volumes, a missing
    TR, a TR in the wrong unit, or header and sidecar TRs that differ by more than 1 %.
    """
    p = Path(path)
    if p.is_dir():
        raise FunctionalInputError(
            f"{p.name} is a folder; give the 4-D BOLD file itself (.nii or .nii.gz), or use the "
            "fMRIPrep / BIDS folder input for a derivatives folder")
    if not p.is_file():
        raise FunctionalInputError(f"the BOLD file {p.name} does not exist")
    image = load_spatial(p)
    shape = tuple(int(s) for s in image.shape)
    if len(shape) == 5 and shape[3] == 1:       # some writers store time on the 5th axis
        raise FunctionalInputError(f"{p.name} has shape {shape}: time on the 5th axis is not supported")
    if len(shape) < 4 or shape[3] == 1:
        raise FunctionalInputError(
            f"{p.name} is a 3-D image (shape {shape[:3]}), not a 4-D BOLD run: was the T1 or a single "
            "volume chosen by mistake?")
    if len(shape) > 4:
        raise FunctionalInputError(f"{p.name} has {len(shape)} dimensions; a BOLD run has 4")
    if shape[3] < min_volumes:
        raise FunctionalInputError(
            f"{p.name} has {shape[3]} volumes; at least {min_volumes} are needed for a stable "
            "connectivity map (a typical resting run has 200-1200)")
    if min(shape[:3]) < 8:
        raise FunctionalInputError(f"{p.name} has a grid of {shape[:3]} voxels; that is not a brain image")
    affine = np.asarray(image.affine, dtype=float)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-6:
        raise FunctionalInputError(f"{p.name}: the voxel-to-mm matrix is missing or singular")
    side_path = Path(sidecar) if sidecar is not None else sidecar_path_for(p)
    record: dict[str, Any] = {}
    if sidecar is not None or side_path.is_file():
        record = _read_sidecar(side_path)
    header_tr = _header_tr_s(image, p.name)
    side_tr = _sidecar_tr_s(record, side_path.name) if record else None
    if header_tr is None and side_tr is None:
        raise FunctionalInputError(
            f"{p.name}: the repetition time (TR) is missing: the header has none and "
            f"{'the sidecar has no RepetitionTime' if record else 'there is no JSON sidecar'}. "
            "Give the BIDS sidecar with RepetitionTime in seconds")
    if header_tr is not None and side_tr is not None and abs(header_tr - side_tr) > TR_TOLERANCE * side_tr:
        raise FunctionalInputError(
            f"{p.name}: the header says TR = {header_tr:g} s but {side_path.name} says {side_tr:g} s "
            "(more than 1 % apart); which one is right must be settled before the band-pass filter "
            "can be placed")
    tr = side_tr if side_tr is not None else header_tr
    assert tr is not None
    return BoldRun(p, (shape[0], shape[1], shape[2], shape[3]), affine, float(tr), record)


def bounding_box_mm(shape: tuple[int, ...], world_from_voxel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners (mm) of the axis-aligned box around a grid's voxel centres."""
    corners = np.array([[i, j, k] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1)
                        for k in (0, shape[2] - 1)], dtype=float)
    world = corners @ world_from_voxel[:3, :3].T + world_from_voxel[:3, 3]
    return world.min(axis=0), world.max(axis=0)


def check_overlap(bold_box: tuple[np.ndarray, np.ndarray], t1_box: tuple[np.ndarray, np.ndarray],
                  what: str, *, min_fraction: float = 0.5) -> float:
    """Refuse a run whose box (already in the T1's mm) covers less than ``min_fraction`` of the
    smaller of the two boxes: a BOLD file from another patient, another session's scanner frame
    or an MNI-space file given as T1-space. Returns the overlapping fraction."""
    lo = np.maximum(bold_box[0], t1_box[0])
    hi = np.minimum(bold_box[1], t1_box[1])
    inter = float(np.prod(np.clip(hi - lo, 0, None)))
    smaller = min(float(np.prod(bold_box[1] - bold_box[0])), float(np.prod(t1_box[1] - t1_box[0])))
    fraction = inter / max(smaller, 1e-9)
    if fraction < min_fraction:
        gap = np.linalg.norm((bold_box[0] + bold_box[1]) / 2 - (t1_box[0] + t1_box[1]) / 2)
        raise FunctionalInputError(
            f"{what} and the T1 do not overlap: only {100 * fraction:.0f} % of the smaller field of view "
            f"is shared (centres {gap:.0f} mm apart). Is it this patient's run, and in the T1's "
            "space (not MNI)?")
    return fraction


def check_voxel_values(volumes: Any, brain_mask: np.ndarray, what: str, *, chunk: int = 50,
                       max_volumes: int | None = None, max_constant_fraction: float = 0.01) -> list[str]:
    """Refuse NaN/inf voxels inside the brain and more than 1 % constant brain voxels (a dropout
    or a zero-filled slab); fewer constant voxels give a warning with the count. A constant voxel
    has no correlation at all, a NaN one poisons every mean it enters.

    ``max_volumes``: look at the first volumes only. Used for a run read from disk, which the
    method streams anyway (and refuses NaN inside the brain while it does): a second full pass
    over a 1.3 GB compressed file only to look for NaNs would double the reading time."""
    mask = np.asarray(brain_mask, dtype=bool)
    n_brain = int(mask.sum())
    if n_brain == 0:
        raise FunctionalInputError(f"{what}: the brain mask is empty in the run's grid")
    bad = np.zeros(n_brain, dtype=bool)
    lo = np.full(n_brain, np.inf, dtype=np.float32)
    hi = np.full(n_brain, -np.inf, dtype=np.float32)
    seen = 0
    for _, block in volumes.chunks(min(chunk, max_volumes) if max_volumes else chunk):
        values = block[mask]
        bad |= ~np.all(np.isfinite(values), axis=1)
        lo = np.minimum(lo, values.min(axis=1))     # NaN propagates; such runs are refused below
        hi = np.maximum(hi, values.max(axis=1))
        seen += block.shape[3]
        if max_volumes is not None and seen >= max_volumes:
            break
    span = "over time" if max_volumes is None or seen >= volumes.shape[3] else f"over the first {seen} volumes"
    n_bad = int(bad.sum())
    if n_bad:
        raise FunctionalInputError(
            f"{what}: {n_bad} voxels inside the brain hold NaN or infinite values; re-export the run "
            "without NaNs (or fix the preprocessing step that wrote them)")
    constant = int(np.sum(hi - lo <= 0))
    if constant > max_constant_fraction * n_brain:
        raise FunctionalInputError(
            f"{what}: {constant} of {n_brain} brain voxels ({100 * constant / n_brain:.1f} %) never change "
            f"{span} (a signal dropout, a zero-filled slab or a masked-out region)")
    if constant:
        return [f"{constant} of {n_brain} brain voxels are constant {span}: they have no correlation"]
    return []
