"""Nuisance regressors: fMRIPrep's confounds TSV, motion derivatives and framewise displacement.

fMRIPrep writes ``*_desc-confounds_timeseries.tsv`` (Esteban et al. 2019, Nat Methods 16:111;
fMRIPrep docs, "Confounds estimated"): one row per volume, tab-separated, ``n/a`` where a value
does not exist (the first row of every derivative and of ``framewise_displacement``). Motion is
``trans_x/y/z`` in mm and ``rot_x/y/z`` in radians.

Framewise displacement after Power et al. 2012 (NeuroImage 59:2142): the sum of the absolute
volume-to-volume changes of the six motion parameters, rotations turned into mm of arc on a
50 mm sphere (about the distance from the cortex to the centre of the head). Scrubbing keeps
volumes with FD <= 0.5 mm (Power 2012's threshold) by default.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .bold_file import FunctionalInputError

__all__ = ["MOTION_COLUMNS", "SIGNAL_COLUMNS", "FD_SPHERE_MM", "FD_THRESHOLD_MM", "read_confounds",
           "framewise_displacement", "with_derivatives", "ConfoundTable"]

MOTION_COLUMNS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
SIGNAL_COLUMNS = ("global_signal", "white_matter", "csf")
FD_SPHERE_MM = 50.0
FD_THRESHOLD_MM = 0.5
#: a head turning more than this (rad, 23 degrees) within a run is a mislabelled unit, not motion
MAX_ROTATION_RAD = 0.4


def framewise_displacement(motion: np.ndarray, sphere_mm: float = FD_SPHERE_MM) -> np.ndarray:
    """Power 2012 FD (mm) of an (n, 6) array [tx, ty, tz (mm), rx, ry, rz (rad)]; FD[0] = 0."""
    m = np.asarray(motion, dtype=float).reshape(-1, 6)
    diff = np.abs(np.diff(m, axis=0))
    fd = diff[:, :3].sum(axis=1) + sphere_mm * diff[:, 3:].sum(axis=1)
    return np.concatenate([[0.0], fd])


def with_derivatives(columns: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Append backward differences (first row 0), named ``<name>_derivative1`` like fMRIPrep."""
    cols = np.asarray(columns, dtype=float)
    deriv = np.vstack([np.zeros((1, cols.shape[1])), np.diff(cols, axis=0)])
    return np.hstack([cols, deriv]), list(names) + [f"{n}_derivative1" for n in names]


class ConfoundTable:
    """The regressors chosen from a confounds TSV (motion + derivatives, and the global / WM / CSF
    signals when present), with FD taken from the file or recomputed from motion."""

    def __init__(self, values: np.ndarray, names: list[str], fd_mm: np.ndarray, warnings: list[str]) -> None:
        self.values, self.names, self.fd_mm, self.warnings = values, names, fd_mm, warnings


def _number(text: str, row: int, column: str, name: str) -> float:
    t = text.strip()
    if t in ("n/a", "", "nan", "NaN"):
        return float("nan")
    try:
        return float(t)
    except ValueError:
        raise FunctionalInputError(f"{name}: row {row}, column {column} is {t!r}, not a number") from None


def read_confounds(path: str | Path, n_volumes: int) -> ConfoundTable:
    """Read an fMRIPrep confounds TSV for a run of ``n_volumes`` volumes.

    ``n/a`` (first row of derivatives and FD) becomes 0, as fMRIPrep's docs recommend for
    regression. Refused: a folder, a file without the six motion columns (the columns found are
    listed), a row count different from the number of volumes, ``n/a`` elsewhere than the first
    row, rotations that can only be degrees.
    """
    p = Path(path)
    if p.is_dir():
        raise FunctionalInputError(f"{p.name} is a folder; give the run's *_desc-confounds_timeseries.tsv file")
    if not p.is_file():
        raise FunctionalInputError(f"the confounds file {p.name} does not exist")
    try:
        with p.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FunctionalInputError(f"{p.name} cannot be read as a tab-separated text file ({exc})") from exc
    if not rows or len(rows[0]) < 6:
        raise FunctionalInputError(f"{p.name} is not a tab-separated confounds table with a header row")
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    missing = [c for c in MOTION_COLUMNS if c not in header]
    if missing:
        shown = ", ".join(header[:12]) + (" ..." if len(header) > 12 else "")
        raise FunctionalInputError(f"{p.name} lacks the motion columns {', '.join(missing)} (found: {shown})")
    if len(body) != n_volumes:
        raise FunctionalInputError(
            f"{p.name} has {len(body)} rows but the run has {n_volumes} volumes: it belongs to another "
            "run, or volumes were removed from one of them")
    wanted = list(MOTION_COLUMNS) + [f"{c}_derivative1" for c in MOTION_COLUMNS if f"{c}_derivative1" in header]
    wanted += [c for c in SIGNAL_COLUMNS if c in header]
    index = {name: header.index(name) for name in wanted}
    values = np.empty((n_volumes, len(wanted)))
    for r, row in enumerate(body):
        if len(row) != len(header):
            raise FunctionalInputError(f"{p.name}: row {r + 1} has {len(row)} fields, the header has {len(header)}")
        for c, name in enumerate(wanted):
            values[r, c] = _number(row[index[name]], r + 1, name, p.name)
    bad_rows = np.unique(np.nonzero(~np.isfinite(values[1:]))[0]) + 1
    if bad_rows.size:
        raise FunctionalInputError(f"{p.name}: n/a values after the first row (rows {bad_rows[:5].tolist()})")
    values[0] = np.nan_to_num(values[0])
    names = list(wanted)
    motion = values[:, :6]
    warnings: list[str] = []
    peak = float(np.max(np.abs(motion[:, 3:] - motion[0, 3:])))
    if peak > MAX_ROTATION_RAD:
        raise FunctionalInputError(
            f"{p.name}: rot_x..rot_z reach {peak:.2f}, which as radians is a {np.degrees(peak):.0f} degree "
            "turn of the head; fMRIPrep writes radians, so these look like degrees")
    if "trans_x_derivative1" not in index:     # older fMRIPrep: derive them here
        signals, signal_names = values[:, 6:], names[6:]
        values, names = with_derivatives(motion, names[:6])
        values, names = np.hstack([values, signals]), names + signal_names
    if "framewise_displacement" in header:
        col = header.index("framewise_displacement")
        fd = np.array([_number(row[col], i + 1, "framewise_displacement", p.name) for i, row in enumerate(body)])
        fd[0] = 0.0 if not np.isfinite(fd[0]) else fd[0]
        if not np.all(np.isfinite(fd)):
            raise FunctionalInputError(f"{p.name}: framewise_displacement has n/a after the first row")
    else:
        fd = framewise_displacement(motion)
        warnings.append("no framewise_displacement column: recomputed from the motion parameters (Power 2012)")
    return ConfoundTable(values, names, fd, warnings)
