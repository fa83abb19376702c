"""Brainsight (Rogue Research) text export: targets and samples, read and written.

The format (Rogue Research's "Exported from Brainsight" .txt, as found in published exports and
read by SimNIBS ``nnav.brainsight``): a header of ``# Key: value`` lines (``# Version``,
``# Coordinate system``, ``# Created by``, ``# Units: millimetres, degrees, milliseconds, and
microvolts``, ``# Encoding: UTF-8``, ``# Notes``), then blocks, each opened by a ``#`` line of
tab-separated column names (``# Target Name``, ``# Sample Name``, ``# Session Name``,
``# Planned Landmark Name``...) and followed by tab-separated rows; a missing value is
``(null)``. A pose is ``Loc. X/Y/Z`` (the origin, mm) and ``m<i>n<j>`` = component j of axis i
(``m0n*`` the x axis, ``m1n*`` y, ``m2n*`` z). Samples add ``Index``, ``Assoc. Target``,
``Dist. to Target``, ``Target Error`` (mm), ``Angular Error`` and ``Twist Error`` (degrees),
``Stim. Power A`` (older files: ``Stim. Power``), ``Date``, ``Time``, ``Creation Cause``,
``Comment``, EMG columns.

Coil axes: Brainsight's z points out of the head and its x is mirrored (see :mod:`.poses`).
Coordinate systems read: the ``NIfTI:*`` spaces — ``Scanner``, ``Aligned``, ``MNI-152``,
``Talairach``, written ``NIfTI:S:...`` / ``NIfTI:Q:...`` by version 14 — are the T1 header's own
transforms named by their xform code (Rogue Research's description, quoted in SimNIBS'
``nnav.brainsight``), i.e. the image's world RAS = tmsnav's ``mri`` when tmsnav uses the same
transform of the same T1 (:func:`space_mismatch` says when it does not). ``World`` (DICOM
projects) is LPS and converted. Refused: ``Brainsight`` (its internal voxel-corner frame, which
needs the image to convert). Units other than millimetres and degrees are refused.

What tmsnav writes: version 14 columns, the coordinate system given (default ``NIfTI:Scanner``;
the app names the T1's own space with :func:`coordinate_system_for`), numbers at full double
precision (``repr``), times in UTC. Sample columns from a pulse: ``Target Error`` = in-plane
position error, ``Angular Error`` = tilt, ``Twist Error`` = handle twist (degrees),
``Dist. to Target`` = straight distance from the pulse's coil centre to its target's scalp point,
``Stim. Power A`` = output % MSO, ``Creation Cause`` = the pulse source, ``Comment`` = why the pose
is unknown. Not carried: dI/dt, depth error, within-tolerance, host time.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from tmsnav.navigation.targeting.targets import Target, TargetSet
from tmsnav.navigation.treatment.pulse_log import LoggedPulse

from .common import (NULL_TEXTS, ExchangeData, ExchangeSample, atomic_write_text, optional_float,
                     unique_name)
from .detect import require
from .errors import ExchangeError
from .poses import RAS_FROM_LPS, checked_pose, from_vendor, target_from_pose, to_vendor

__all__ = ["write_brainsight", "read_brainsight", "coordinate_system_for", "space_mismatch",
           "TARGET_COLUMNS", "SAMPLE_COLUMNS"]

_M = [f"m{i}n{j}" for i in range(3) for j in range(3)]
TARGET_COLUMNS = ["Target Name", "Loc. X", "Loc. Y", "Loc. Z", *_M]
SAMPLE_COLUMNS = ["Sample Name", "Session Name", "Index", "Assoc. Target", "Loc. X", "Loc. Y",
                  "Loc. Z", *_M, "Dist. to Target", "Target Error", "Angular Error", "Twist Error",
                  "Stim. Power A", "Stim. Pulse Interval", "Stim. Power B", "Date", "Time",
                  "Creation Cause", "Crosshairs Driver", "Chamber Name", "Chamber Grid Name",
                  "Chamber IndexX", "Chamber IndexY", "Offset", "Comment", "EMG Channels",
                  "EMG Window Start", "EMG Window End"]
_NULL = "(null)"
#: Brainsight's NIfTI spaces are the T1 header's own transforms, named by their xform code
#: (version 14 adds S: / Q: for the sform / qform): all are the image's world coordinates.
_READ_SPACES = re.compile(r"^nifti:(?:([qs]):)?(scanner|aligned|mni-152|talairach)$", re.I)
_REFUSED_SPACES = {"brainsight": "Brainsight's internal frame (origin at a corner voxel, needs "
                                 "the image to convert)"}


#: NIfTI xform codes (NIfTI-1 header, qform_code/sform_code) -> Brainsight's name of that space.
_XFORM_TO_BRAINSIGHT = {1: "NIfTI:Scanner", 2: "NIfTI:Aligned", 3: "NIfTI:Talairach",
                        4: "NIfTI:MNI-152"}


def coordinate_system_for(t1_path: str | Path | None, affine_source: str) -> str:
    """The Brainsight name of the T1's own coordinates: the code of the form tmsnav used
    (``affine_source`` "sform"/"qform") read from the NIfTI header. Brainsight offers exactly the
    spaces the header declares, so the export names the one a Brainsight project of this T1 has.
    "NIfTI:Scanner" when the file or the code cannot be read (a DICOM series, no code)."""
    if t1_path is None or affine_source not in ("sform", "qform"):
        return "NIfTI:Scanner"
    try:
        import nibabel as nib
        header: Any = nib.load(str(t1_path)).header
        code = int(header[f"{affine_source}_code"])
    except (OSError, ValueError, KeyError, TypeError, ImportError):
        return "NIfTI:Scanner"
    return _XFORM_TO_BRAINSIGHT.get(code, "NIfTI:Scanner")


def space_mismatch(file_space: str, t1_path: str | Path | None, affine_source: str) -> str | None:
    """Why a file's NIfTI space may not be the open T1's coordinates, or None when it is (or
    cannot be told). The file names the header transform it used (its xform code, and with
    version 14 whether it was the sform or the qform); tmsnav uses one transform of the T1
    (``affine_source``): when the two differ, the targets can be shifted or rotated."""
    m = _READ_SPACES.match(file_space.strip())
    if m is None or t1_path is None or affine_source not in ("sform", "qform"):
        return None
    form, kind = m.group(1), m.group(2)
    expected = coordinate_system_for(t1_path, affine_source)
    problems = []
    if form is not None and {"s": "sform", "q": "qform"}[form.lower()] != affine_source:
        problems.append(f"the file uses the {'sform' if form.lower() == 's' else 'qform'}, "
                        f"tmsnav this T1's {affine_source}")
    if expected.split(":")[-1].lower() != kind.lower():
        problems.append(f"the file is in {file_space}, this T1's {affine_source} is {expected}")
    if not problems:
        return None
    return ("; ".join(problems) + ": was it exported for another image, or do the T1's sform and "
            "qform differ? Check the targets before use")


# ----- writing --------------------------------------------------------------------------------
def _cell(value: object) -> str:
    if value is None:
        return _NULL
    if isinstance(value, float):
        return _NULL if not math.isfinite(value) else repr(value)
    text = " ".join(str(value).replace("\t", " ").splitlines())
    return text or _NULL


def _pose_cells(mri_from_ours: np.ndarray | None) -> list[str]:
    if mri_from_ours is None:
        return [_NULL] * 12
    m = to_vendor(mri_from_ours, "brainsight")
    return [_cell(float(v)) for v in m[:3, 3]] + [_cell(float(m[j, i]))
                                                   for i in range(3) for j in range(3)]


def _deg(rad: float | None) -> float | None:
    return None if rad is None else math.degrees(rad)


def _rad(d: dict[str, str], key: str, what: str) -> float | None:
    deg = optional_float(d.get(key), f"{what}, {key}")
    return None if deg is None else math.radians(deg)


def _date_time(iso: str) -> tuple[str, str]:
    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return _NULL, _NULL
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def write_brainsight(path: str | Path, targets: TargetSet | Iterable[Target],
                     pulses: Sequence[LoggedPulse] = (), *,
                     coordinate_system: str = "NIfTI:Scanner", session_name: str = "tmsnav",
                     newline: str = "\n") -> Path:
    """Write targets (and the pulses as samples) as a Brainsight text export; returns the path."""
    if coordinate_system not in _XFORM_TO_BRAINSIGHT.values():
        raise ExchangeError(f"tmsnav writes Brainsight files in the T1's own coordinates "
                            f"(one of {', '.join(_XFORM_TO_BRAINSIGHT.values())}), not "
                            f"{coordinate_system!r}")
    targets = list(targets)
    by_name = {t.name: t for t in targets}
    lines = ["# Version: 14", f"# Coordinate system: {coordinate_system}",
             "# Created by: tmsnav", "# Units: millimetres, degrees, milliseconds, and microvolts",
             "# Encoding: UTF-8",
             "# Notes: Each column is delimited by a tab. Each value within a column is delimited "
             "by a semicolon. Times are UTC.",
             "# " + "\t".join(TARGET_COLUMNS)]
    for t in targets:
        lines.append("\t".join([_cell(t.name), *_pose_cells(t.mri_from_target.matrix)]))
    if pulses:
        lines.append("# " + "\t".join(SAMPLE_COLUMNS))
        for p in pulses:
            pose = None if p.mri_from_hotspot is None else p.mri_from_hotspot.matrix
            dist = None
            target = by_name.get(p.target_name or "")
            if pose is not None and target is not None:
                dist = float(np.linalg.norm(pose[:3, 3] - target.scalp_point_mm))
            date, time = _date_time(p.wall_time_iso)
            row = {"Sample Name": f"Sample {p.index}", "Session Name": session_name,
                   "Index": str(p.index), "Assoc. Target": p.target_name,
                   "Dist. to Target": dist, "Target Error": p.position_error_mm,
                   "Angular Error": _deg(p.angle_error_rad), "Twist Error": _deg(p.twist_error_rad),
                   "Stim. Power A": p.output_pct_mso, "Date": date, "Time": time,
                   "Creation Cause": p.source, "Comment": p.pose_reason or None}
            cells = [_cell(row.get(c)) for c in SAMPLE_COLUMNS]
            cells[4:16] = _pose_cells(pose)
            lines.append("\t".join(cells))
    return atomic_write_text(path, "\n".join(lines) + "\n", newline=newline)


# ----- reading --------------------------------------------------------------------------------
def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExchangeError(f"{path.name} is not UTF-8 text: export it again from Brainsight "
                            "with the UTF-8 encoding") from None


def _world_to_ras(space: str, path: Path, notes: list[str]) -> np.ndarray:
    low = space.strip().lower()
    if _READ_SPACES.match(low):
        return np.eye(4)
    if low == "world":
        notes.append("the file is in Brainsight's World frame (DICOM LPS): converted to RAS by "
                     "flipping x and y")
        return RAS_FROM_LPS
    why = _REFUSED_SPACES.get(low, "a coordinate system tmsnav does not know")
    raise ExchangeError(f"{path.name} is in the coordinate system {space!r}, {why}. Export it "
                        "again from Brainsight in one of the NIfTI spaces (the T1's own "
                        "coordinates, e.g. 'NIfTI:Scanner' or 'NIfTI:Aligned')")


def _check_units(units: str | None, path: Path, notes: list[str]) -> None:
    if units is None:
        notes.append("the file does not state its units: millimetres and degrees assumed "
                     "(Brainsight's only units)")
        return
    low = units.lower()
    if not re.search(r"\bmillimet(re|er)s?\b", low) or "degree" not in low:
        raise ExchangeError(f"{path.name} states its units as {units!r}; tmsnav reads Brainsight "
                            "files in millimetres and degrees only (it does not guess a scale)")


def _blocks(text: str) -> tuple[dict[str, str], dict[str, tuple[list[str], list[list[str]]]]]:
    header: dict[str, str] = {}
    blocks: dict[str, tuple[list[str], list[list[str]]]] = {}
    current: list[list[str]] | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if line.startswith("#"):
            body = line[1:].strip()
            if "\t" in body and body.split("\t", 1)[0].strip().endswith("Name"):
                cols = [c.strip() for c in body.split("\t")]
                rows: list[list[str]] = []
                blocks[cols[0]] = (cols, rows)
                current = rows
            elif current is None and ":" in body:
                key, value = body.split(":", 1)
                header[key.strip().lower()] = value.strip()
            continue                                   # any other '#' line is a comment
        if current is not None:
            current.append(line.split("\t"))
    return header, blocks


def _row_dict(cols: list[str], row: list[str]) -> dict[str, str]:
    cells = [c.strip() for c in row] + [_NULL] * max(0, len(cols) - len(row))
    return dict(zip(cols, cells))


def _pose(d: dict[str, str], ras_from_world: np.ndarray, what: str) -> np.ndarray | None:
    keys = ["Loc. X", "Loc. Y", "Loc. Z", *_M]
    missing = [k for k in keys if k not in d]
    if missing and not [k for k in missing if k.startswith("Loc.")]:
        raise ExchangeError(f"{what}: the file gives a position but no coil orientation (no "
                            f"{missing[0]!r} column): tmsnav needs the full pose; export the "
                            "target with its trajectory from Brainsight")
    if missing:
        raise ExchangeError(f"{what}: the file has no column {missing[0]!r}")
    values = [optional_float(d[k], f"{what}, {k}") for k in keys]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise ExchangeError(f"{what}: part of the pose is empty ((null)); a pose needs all 12 "
                            "numbers")
    m = np.eye(4)
    m[:3, 3] = values[:3]
    for i in range(3):
        for j in range(3):
            m[j, i] = values[3 + 3 * i + j]
    pose = checked_pose(ras_from_world @ m, what)
    return from_vendor(pose, "brainsight")


def _time_iso(d: dict[str, str], utc: bool) -> str | None:
    date, time = d.get("Date", _NULL), d.get("Time", _NULL)
    if date.lower() in NULL_TEXTS or time.lower() in NULL_TEXTS:
        return None
    try:
        t = datetime.fromisoformat(f"{date}T{time}")
    except ValueError:
        return f"{date} {time}"
    if utc:
        return t.replace(tzinfo=timezone.utc).isoformat(timespec="milliseconds")
    return t.isoformat(timespec="milliseconds")


def read_brainsight(path: str | Path) -> ExchangeData:
    """Targets and samples of a Brainsight text export, in ``mri`` with tmsnav's coil axes."""
    path = require(path, "brainsight")
    header, blocks = _blocks(_decode(path))
    notes: list[str] = []
    encoding = header.get("encoding")
    if encoding is not None and encoding.replace("-", "").lower() != "utf8":
        raise ExchangeError(f"{path.name} declares the encoding {encoding!r}; export it again "
                            "from Brainsight with UTF-8")
    _check_units(header.get("units"), path, notes)
    space = header.get("coordinate system", "")
    if not space:
        raise ExchangeError(f"{path.name} does not say its coordinate system ('# Coordinate "
                            "system:' line): tmsnav will not guess where the targets are")
    by_tmsnav = header.get("created by", "").lower().startswith("tmsnav")
    ras = _world_to_ras(space, path, notes)
    data = ExchangeData(format="brainsight", coordinate_system=space, notes=notes)
    if "Target Name" in blocks:
        cols, rows = blocks["Target Name"]
        taken: set[str] = set()
        for n, row in enumerate(rows, 1):
            d = _row_dict(cols, row)
            name = d.get("Target Name", "")
            name = unique_name(name if name.lower() not in NULL_TEXTS else f"Target {n}",
                               taken, notes, "target")
            pose = _pose(d, ras, f"{path.name}, target {name!r}")
            if pose is None:
                notes.append(f"target {name!r} has no position: skipped")
                continue
            data.targets.add(target_from_pose(name, pose, "Brainsight", path))
    if "Sample Name" in blocks:
        cols, rows = blocks["Sample Name"]
        for n, row in enumerate(rows, 1):
            d = _row_dict(cols, row)
            what = f"{path.name}, sample {d.get('Sample Name') or n}"
            index = optional_float(d.get("Index"), f"{what}, Index")
            power = d.get("Stim. Power A", d.get("Stim. Power"))
            data.samples.append(ExchangeSample(
                name=d.get("Sample Name") or f"Sample {n}",
                index=None if index is None else int(index),
                target_name=None if d.get("Assoc. Target", _NULL).lower() in NULL_TEXTS
                else d["Assoc. Target"],
                mri_from_hotspot=_pose(d, ras, what),
                output_pct_mso=optional_float(power, f"{what}, Stim. Power"),
                position_error_mm=optional_float(d.get("Target Error"), f"{what}, Target Error"),
                angle_error_rad=_rad(d, "Angular Error", what),
                twist_error_rad=_rad(d, "Twist Error", what),
                time_iso=_time_iso(d, by_tmsnav),
                source="" if d.get("Creation Cause", _NULL).lower() in NULL_TEXTS
                else d["Creation Cause"],
                comment="" if d.get("Comment", _NULL).lower() in NULL_TEXTS else d["Comment"]))
    if not len(data.targets) and not data.samples:
        raise ExchangeError(f"{path.name} is a Brainsight export without any target or sample")
    return data
