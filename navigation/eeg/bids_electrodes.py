"""Electrode positions as BIDS files: ``*_electrodes.tsv`` + ``*_coordsystem.json``.

Format: the EEG extension of the Brain Imaging Data Structure (Pernet et al. 2019, Sci Data 6:103,
doi 10.1038/s41597-019-0104-8; BIDS specification, "Electrophysiology: electrodes.tsv and
coordsystem.json"). ``electrodes.tsv`` is tab-separated with the required columns ``name x y z``
and optional ``type``, ``material``, ``impedance``; a missing value is ``n/a``. The unit of x, y, z
is *not* in the TSV: it is ``EEGCoordinateUnits`` of ``coordsystem.json`` ("m", "mm", "cm").

What tmsnav writes: positions in the patient's MRI scanner RAS, mm (the frame every tmsnav target
uses), declared as ``EEGCoordinateSystem: "Other"`` with a description saying so, units ``mm``,
and ``IntendedFor`` the T1 when known. An extra column ``placement`` says how each position was
obtained (``digitised``, ``interpolated``, ``template``); it is described in the
``*_electrodes.json`` sidecar, as BIDS asks for additional columns.

What tmsnav reads: the same, plus files in metres or centimetres (converted to mm by the declared
unit, then checked: electrodes that span less than 50 mm or more than 300 mm are refused, with the
likely unit error named). Positions in a coordinate system that is not this patient's scanner
space (CapTrak, EEGLAB, an MNI template...) are refused: drawn on this head they would be wrong.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tmsnav.navigation.errors import NavigationError

__all__ = ["BidsElectrodeError", "BidsElectrodes", "write_bids_electrodes", "read_bids_electrodes",
           "read_for_head", "intended_for", "LOADED_MAX_OFF_SCALP_MM",
           "UNIT_TO_MM", "COORDINATE_DESCRIPTION", "HEAD_SPAN_RANGE_MM"]

UNIT_TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
HEAD_SPAN_RANGE_MM = (50.0, 300.0)   # largest extent of a set of scalp electrodes
LOADED_MAX_OFF_SCALP_MM = 10.0       # median distance of a file's electrodes to this head's scalp
COORDINATE_DESCRIPTION = ("Scanner RAS of the patient's T1 MRI in millimetres (+x right, +y "
                          "anterior, +z superior; the image's world coordinates), as used by "
                          "tmsnav for targets and the head registration.")
#: Coordinate systems whose values mean this patient's scanner space (BIDS "ScanRAS" is the named one).
_PATIENT_SPACES = ("other", "scanras")
PLACEMENT_DESCRIPTION = {
    "LongName": "How the position was obtained",
    "Description": "tmsnav: digitised = touched with the tracked pointer and mapped through the "
                   "head registration; interpolated = not touched, predicted from the touched "
                   "ones; template = the 10-10 construction or 10-05 template on this scalp.",
    "Levels": {"digitised": "touched with the tracked pointer",
               "interpolated": "predicted from the touched electrodes",
               "template": "10-10 construction / 10-05 template on the MRI scalp"}}


class BidsElectrodeError(NavigationError):
    """A BIDS electrode file cannot be read or written as it is; the message says why."""


@dataclass
class BidsElectrodes:
    """What a pair of BIDS electrode files holds, positions in mm."""

    positions_mm: dict[str, np.ndarray]             # only electrodes with all three coordinates
    missing: list[str] = field(default_factory=list)   # named with n/a coordinates
    types: dict[str, str] = field(default_factory=dict)
    materials: dict[str, str] = field(default_factory=dict)
    placement: dict[str, str] = field(default_factory=dict)
    coordinate_system: str = "Other"
    units: str = "mm"
    description: str = ""
    intended_for: str | None = None


def _paths(stem: str | Path) -> tuple[Path, Path, Path]:
    s = str(stem)
    for suffix in ("_electrodes.tsv", "_coordsystem.json", "_electrodes.json"):
        if s.endswith(suffix):
            s = s[: -len(suffix)]
    return Path(s + "_electrodes.tsv"), Path(s + "_coordsystem.json"), Path(s + "_electrodes.json")


def _cell(value: str | None) -> str:
    if value is None or value == "":
        return "n/a"
    if any(c in value for c in "\t\n\r"):
        raise BidsElectrodeError(f"{value!r} contains a tab or a line break: not allowed in a TSV cell")
    return value


def write_bids_electrodes(path_stem: str | Path, positions_mm: Mapping[str, object], *,
                          types: Mapping[str, str] | None = None,
                          materials: Mapping[str, str] | None = None,
                          placement: Mapping[str, str] | None = None,
                          intended_for: str | None = None) -> tuple[Path, Path]:
    """Write ``<stem>_electrodes.tsv`` and ``<stem>_coordsystem.json`` (and the sidecar
    describing the ``placement`` column); returns the TSV and JSON paths.

    A position may be None (written as ``n/a``: a named electrode without a position). Values are
    written with ``repr`` precision so that reading gives back exactly the same floats."""
    tsv, coord, sidecar = _paths(path_stem)
    types, materials, placement = dict(types or {}), dict(materials or {}), dict(placement or {})
    rows = []
    for name, value in positions_mm.items():
        if value is None:
            xyz = ["n/a"] * 3
        else:
            p = np.asarray(value, float).reshape(-1)
            if p.shape != (3,):
                raise BidsElectrodeError(f"electrode {name}: a position is three numbers in mm")
            xyz = ["n/a" if not math.isfinite(v) else repr(float(v)) for v in p]
        rows.append([_cell(str(name)), *xyz, _cell(types.get(name, "EEG")),
                     _cell(materials.get(name)), _cell(placement.get(name))])
    tsv.parent.mkdir(parents=True, exist_ok=True)
    with open(tsv, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["name", "x", "y", "z", "type", "material", "placement"])
        writer.writerows(rows)
    meta: dict[str, object] = {"EEGCoordinateSystem": "Other", "EEGCoordinateUnits": "mm",
                               "EEGCoordinateSystemDescription": COORDINATE_DESCRIPTION}
    if intended_for:
        meta["IntendedFor"] = intended_for
    coord.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    sidecar.write_text(json.dumps({"placement": PLACEMENT_DESCRIPTION}, indent=2) + "\n",
                       encoding="utf-8")
    return tsv, coord


def _number(text: str, name: str, axis: str, tsv: Path) -> float:
    if text.strip().lower() in ("n/a", ""):
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise BidsElectrodeError(f"{tsv.name}: electrode {name} has {axis} = {text!r}, "
                                 "not a number") from None
    if not math.isfinite(value):
        raise BidsElectrodeError(f"{tsv.name}: electrode {name} has a non-finite {axis}")
    return value


def _read_coordsystem(coord: Path, units: str | None) -> dict:
    if coord.is_file():
        try:
            meta = json.loads(coord.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BidsElectrodeError(f"{coord.name} is not readable JSON ({exc})") from None
        if not isinstance(meta, dict):
            raise BidsElectrodeError(f"{coord.name} must hold a JSON object")
    elif units is None:
        raise BidsElectrodeError(f"{coord.name} is missing next to the electrodes file: without it "
                                 "the unit (m, cm or mm) and the coordinate system are unknown")
    else:
        meta = {}
    return meta


def read_bids_electrodes(tsv_path: str | Path, *, units: str | None = None) -> BidsElectrodes:
    """Read ``*_electrodes.tsv`` with its ``*_coordsystem.json``; positions returned in mm.

    ``units`` overrides a missing or "n/a" ``EEGCoordinateUnits`` (the user says what the file
    holds); a declared unit always wins, and the result is checked for a plausible head size."""
    tsv, coord, _ = _paths(tsv_path)
    if not tsv.is_file():
        raise BidsElectrodeError(f"no electrodes file {tsv}")
    meta = _read_coordsystem(coord, units)
    system = str(meta.get("EEGCoordinateSystem", "Other"))
    if system.lower() not in _PATIENT_SPACES:
        raise BidsElectrodeError(
            f"{coord.name}: the positions are in the {system!r} coordinate system, not this "
            "patient's MRI scanner space: drawn on the head they would be in the wrong place. "
            "Digitise the cap here, or export the positions in the T1's scanner coordinates.")
    declared = str(meta.get("EEGCoordinateUnits", "n/a")).strip().lower()
    unit = declared if declared in UNIT_TO_MM else (units or "").strip().lower()
    if unit not in UNIT_TO_MM:
        raise BidsElectrodeError(f"{coord.name}: EEGCoordinateUnits is {declared!r}; tmsnav needs "
                                 "m, cm or mm to place the electrodes (say which when loading)")
    scale = UNIT_TO_MM[unit]
    try:
        with open(tsv, newline="", encoding="utf-8-sig") as f:     # a BOM is not part of "name"
            rows = list(csv.reader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BidsElectrodeError(f"{tsv.name} cannot be read ({exc})") from None
    if not rows:
        raise BidsElectrodeError(f"{tsv.name} is empty")
    header = [h.strip().lower() for h in rows[0]]
    missing_cols = [c for c in ("name", "x", "y", "z") if c not in header]
    if missing_cols:
        raise BidsElectrodeError(f"{tsv.name} lacks the column(s) {', '.join(missing_cols)} "
                                 "(BIDS requires name, x, y, z)")
    col = {h: i for i, h in enumerate(header)}
    out = BidsElectrodes({}, coordinate_system=system, units=unit,
                         description=str(meta.get("EEGCoordinateSystemDescription", "")),
                         intended_for=meta.get("IntendedFor"))
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise BidsElectrodeError(f"{tsv.name} line {line_no}: {len(row)} cells, the header has "
                                     f"{len(header)} (truncated file or spaces instead of tabs?)")
        name = row[col["name"]].strip()
        if name in out.positions_mm or name in out.missing:
            raise BidsElectrodeError(f"{tsv.name}: electrode {name} is listed twice")
        xyz = np.array([_number(row[col[a]], name, a, tsv) for a in ("x", "y", "z")])
        if np.all(np.isfinite(xyz)):
            out.positions_mm[name] = xyz * scale
        elif np.all(np.isnan(xyz)):
            out.missing.append(name)
        else:
            raise BidsElectrodeError(f"{tsv.name}: electrode {name} has only some coordinates")
        for key, target in (("type", out.types), ("material", out.materials),
                            ("placement", out.placement)):
            if key in col and row[col[key]].strip().lower() != "n/a":
                target[name] = row[col[key]].strip()
    _check_span(out, tsv, declared)
    return out


def _check_span(out: BidsElectrodes, tsv: Path, declared: str) -> None:
    if len(out.positions_mm) < 2:
        return
    pts = np.array(list(out.positions_mm.values()))
    span = float(np.max(np.ptp(pts, axis=0)))
    lo, hi = HEAD_SPAN_RANGE_MM
    if lo <= span <= hi:
        return
    likely = [u for u, s in UNIT_TO_MM.items() if lo <= span / UNIT_TO_MM[out.units] * s <= hi]
    hint = f"; the numbers fit a head if they are in {likely[0]}" if likely else ""
    raise BidsElectrodeError(f"{tsv.name}: read as {out.units} (declared {declared!r}) the electrodes "
                             f"span {span:.4g} mm, not a head ({lo:.0f}-{hi:.0f} mm){hint}. "
                             "Correct EEGCoordinateUnits in the coordsystem file.")


def intended_for(t1_path: str | Path | None) -> str | None:
    """``IntendedFor`` for the T1 at ``t1_path``: only a BIDS file name (``sub-...``); any other
    file name might carry the patient's name, and tmsnav never writes that into a file."""
    name = Path(str(t1_path)).name if t1_path else ""
    return f"anat/{name}" if name.startswith("sub-") else None


def read_for_head(tsv_path: str | Path, scalp, *, max_off_scalp_mm: float = LOADED_MAX_OFF_SCALP_MM
                  ) -> tuple[BidsElectrodes, dict[str, str]]:
    """Read a file of *this* patient: names made canonical (T3 -> T7, returned as ``renamed``),
    refused when the electrodes are not on ``scalp`` (median distance over ``max_off_scalp_mm``:
    another patient's file, or positions in another frame)."""
    from .electrodes import canonical_electrode, project_to_scalp

    read = read_bids_electrodes(tsv_path)
    if not read.positions_mm:
        raise BidsElectrodeError("the file has no electrode with coordinates")
    renamed = {n: canonical_electrode(n) or n for n in [*read.positions_mm, *read.missing]}
    read.positions_mm = {renamed[n]: p for n, p in read.positions_mm.items()}
    read.placement = {renamed[n]: p for n, p in read.placement.items()}
    read.missing = [renamed[n] for n in read.missing]
    pts = np.array(list(read.positions_mm.values()))
    off = float(np.median(np.linalg.norm(project_to_scalp(scalp, pts) - pts, axis=1)))
    if off > max_off_scalp_mm:
        raise BidsElectrodeError(f"the electrodes are {off:.0f} mm (median) from this head's scalp: "
                                 "the file belongs to another head or another coordinate frame")
    return read, {a: b for a, b in renamed.items() if a != b}
