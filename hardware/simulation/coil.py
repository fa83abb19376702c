"""The simulated coil's geometry, read from a shipped coil definition file.

The demo tells the user to accept the coil definition file in the Coil step, so the simulated
coil must *be* that coil: its marker-to-hotspot mount (``coil_from_hotspot``) and the landmarks
on its casing come from the same JSON file the app lists (``assets/coils/``). Reading the file
here, instead of writing the numbers twice, keeps the simulator and the definition from
drifting apart (issue 10, defect 7: a hand-written simulator mount 80 mm behind and 20° tilted
from the file's made the Navigate tab read 70 mm off while the coil sat on target).

Hardware never imports ``navigation``, so this is a small reader of the documented format
(``assets/coils/README.md``, version 1): ``units`` (mm, cm or m), ``coil_from_hotspot`` (4x4,
rigid) and ``landmarks_hotspot_mm``. The app's full validator is ``tmsnav.navigation.coils``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from tmsnav.assets import asset_path

from ..rigid import is_rigid, rigid, rotation_about

__all__ = ["SimCoil", "load_sim_coil", "SIM_COIL_FILE", "HANDLE_MOUNTED_COIL_FROM_HOTSPOT"]

#: The definition the demo's Coil step selects by default (first by name) and the simulator uses.
SIM_COIL_FILE = asset_path("coils", "generic-fig8-70.json")
_UNIT_SCALE = {"mm": 1.0, "cm": 10.0, "m": 1000.0}

#: A marker clamped on the handle, 80 mm behind (-y) and 45 mm above (-z) the stimulation point,
#: its plate tilted 20 deg about x: how many clinics mount it, and NOT what the shipped file says.
#: Tests use it as "the coil in the room differs from the file": verification must refuse it.
HANDLE_MOUNTED_COIL_FROM_HOTSPOT = rigid(rotation_about([1, 0, 0], np.radians(20.0)),
                                         np.array([0.0, -80.0, 45.0]))


@dataclass(frozen=True, eq=False)
class SimCoil:
    """``coil_from_hotspot`` (4x4, mm) and the casing landmarks in the hotspot frame (mm)."""

    model_id: str
    coil_from_hotspot: np.ndarray
    landmarks_hotspot_mm: Mapping[str, np.ndarray]


def _matrix(value: object, scale: float, where: str) -> np.ndarray:
    m = np.array(value, dtype=float)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)) or not is_rigid(m, tol=1e-4):
        raise ValueError(f"{where}: coil_from_hotspot must be a rigid 4x4 matrix")
    m[:3, 3] *= scale
    m.setflags(write=False)
    return m


def load_sim_coil(path: str | Path = SIM_COIL_FILE) -> SimCoil:
    """Read a coil definition file (format version 1) into a :class:`SimCoil`, in mm."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the simulated coil's definition {p.name}: {exc}") from None
    units = str(data.get("units", "")).strip().lower()
    if units not in _UNIT_SCALE:
        raise ValueError(f"{p.name}: units {data.get('units')!r} not mm, cm or m")
    scale = _UNIT_SCALE[units]
    landmarks = {}
    for name, xyz in dict(data.get("landmarks_hotspot_mm", {})).items():
        point = np.array(xyz, dtype=float).reshape(3) * scale
        point.setflags(write=False)
        landmarks[str(name)] = point
    return SimCoil(str(data.get("model_id", p.stem)),
                   _matrix(data.get("coil_from_hotspot"), scale, p.name), landmarks)
