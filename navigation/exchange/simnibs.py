"""SimNIBS coil positions: one 4x4 ``matsimnibs`` per target, in a MATLAB .mat file.

``matsimnibs`` (SimNIBS documentation, "POSITION"): columns x, y, z coil axes and the coil
centre, in the head model's world coordinates (mm) — for a head built from this T1, the T1's
scanner RAS, i.e. tmsnav's ``mri``. Its axes are tmsnav's exactly (y along the handle, z into
the head, x = y × z; see :mod:`.poses`).

What tmsnav writes: the layout of SimNIBS' own TMSLIST .mat (``type = 'TMSLIST'`` and a struct
array ``pos`` of ``type = 'POSITION'``, ``name``, ``matsimnibs``, ``didt`` 1e6 A/s, ``distance``
0), readable with ``scipy.io.loadmat`` and MATLAB. The origin is the target's scalp point, so the
coil touches the scalp (SimNIBS adds no distance to an explicit matsimnibs; add hair thickness
there if wanted).

What tmsnav reads: that layout, a SESSION .mat with a ``poslist`` of TMSLISTs, or a bare
``matsimnibs`` variable (4x4, 4x4xN as SimNIBS stacks them, or Nx4x4). A SimNIBS coil centre is
usually ``distance`` (default 4 mm) above the scalp: the imported target keeps it as the coil
centre and says so. Positions given only by ``centre``/``pos_ydir`` (electrode names) need the
head mesh to become a pose and are skipped with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import scipy.io

from tmsnav.navigation.targeting.targets import Target, TargetSet

from .common import ExchangeData, atomic_write_bytes, unique_name
from .detect import require
from .errors import ExchangeError
from .poses import checked_pose, from_vendor, target_from_pose, to_vendor

__all__ = ["write_matsimnibs", "read_matsimnibs", "DEFAULT_DIDT_A_PER_S"]

DEFAULT_DIDT_A_PER_S = 1e6      # SimNIBS' default dI/dt for a POSITION
_POS_FIELDS = ("type", "name", "date", "matsimnibs", "didt", "fnamefem", "centre", "pos_ydir",
               "distance")


def write_matsimnibs(path: str | Path, targets: TargetSet | Iterable[Target]) -> Path:
    """Targets as a SimNIBS TMSLIST .mat (one POSITION with its matsimnibs per target)."""
    import io
    targets = list(targets)
    pos = np.zeros((1, len(targets)), dtype=[(f, object) for f in _POS_FIELDS])
    for i, t in enumerate(targets):
        pos[0, i] = ("POSITION", t.name, t.created, to_vendor(t.mri_from_target.matrix, "simnibs"),
                     DEFAULT_DIDT_A_PER_S, "", np.zeros((0,)), np.zeros((0,)), 0.0)
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"type": "TMSLIST", "name": "tmsnav targets", "fnamecoil": "",
                           "pos": pos}, do_compression=False, oned_as="row")
    return atomic_write_bytes(path, buf.getvalue())


def _stack(value: Any, what: str) -> list[np.ndarray]:
    """A matsimnibs variable as a list of 4x4 (accepts 4x4, 4x4xN and Nx4x4)."""
    a = np.asarray(value, dtype=float)
    if a.shape == (4, 4):
        return [a]
    if a.ndim == 3 and a.shape[:2] == (4, 4) and np.allclose(a[3, :, :].T, [0, 0, 0, 1]):
        return [a[:, :, i] for i in range(a.shape[2])]
    if a.ndim == 3 and a.shape[1:] == (4, 4) and np.allclose(a[:, 3, :], [0, 0, 0, 1]):
        return list(a)
    raise ExchangeError(f"{what}: matsimnibs has the shape {a.shape}; expected 4x4, 4x4xN or Nx4x4")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return list(value.ravel())
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _positions(mat: dict[str, Any]) -> list[dict[str, Any]]:
    """Every POSITION-like dict in the file (TMSLIST, SESSION poslist, or a bare matsimnibs)."""
    if "pos" in mat:
        return [p for p in _as_list(mat["pos"]) if isinstance(p, dict)]
    for key in ("poslist", "tmslist"):
        if key in mat:
            out = []
            for item in _as_list(mat[key]):
                if isinstance(item, dict) and str(item.get("type", "TMSLIST")) == "TMSLIST":
                    out += [p for p in _as_list(item.get("pos")) if isinstance(p, dict)]
            return out
    if "matsimnibs" in mat:
        return [{"matsimnibs": m} for m in _stack(mat["matsimnibs"], "matsimnibs")]
    return []


def read_matsimnibs(path: str | Path) -> ExchangeData:
    """SimNIBS coil positions of a .mat file as targets in ``mri`` with tmsnav's axes."""
    path = require(path, "simnibs-mat")
    try:
        mat = scipy.io.loadmat(path, simplify_cells=True)
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise ExchangeError(f"{path.name} is a damaged or unsupported .mat file ({exc})") from None
    positions = _positions(mat)
    if not positions:
        names = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        raise ExchangeError(f"{path.name} is a .mat file without SimNIBS coil positions (no "
                            f"'pos', 'poslist' or 'matsimnibs'; its variables: {names})")
    notes: list[str] = []
    data = ExchangeData(format="simnibs-mat", coordinate_system="head model (T1 scanner RAS)",
                        notes=notes)
    taken: set[str] = set()
    for n, p in enumerate(positions, 1):
        raw_name = p.get("name")
        name = unique_name(raw_name if isinstance(raw_name, str) and raw_name.strip()
                           else f"SimNIBS position {n}", taken, notes, "position")
        matrix = p.get("matsimnibs")
        if matrix is None or np.size(matrix) == 0:
            notes.append(f"{name!r} is given by centre/pos_ydir, not a matsimnibs matrix: run it "
                         "in SimNIBS first (it needs the head mesh); skipped")
            continue
        for m in _stack(matrix, f"{path.name}, {name!r}"):
            pose = from_vendor(checked_pose(m, f"{path.name}, {name!r}"), "simnibs")
            distance = p.get("distance")
            note = ""
            if isinstance(distance, (int, float)) and float(distance) > 0:
                note = (f"SimNIBS coil centre, {float(distance):g} mm above the scalp as "
                        "planned in SimNIBS")
            data.targets.add(target_from_pose(name, pose, "SimNIBS", path, notes=note))
            break
    if not len(data.targets):
        raise ExchangeError(f"{path.name} has no SimNIBS position with a matsimnibs matrix")
    return data
