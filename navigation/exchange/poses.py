"""Coil axes of each tool, mapped exactly onto tmsnav's, and the checks every imported pose passes.

tmsnav's ``target`` / ``hotspot`` frame (docs/design.md): origin at the coil centre on its face
(a target: on the scalp), **+z into the head** along the coil normal, **+y along the handle**
(from the coil centre towards the handle), x = y × z. A pose is the 4x4 ``mri_from_target``:
columns x, y, z axis and origin, in the T1's scanner RAS+ millimetres.

Each tool stores the same kind of 4x4 with its own coil axes. ``vendor = ours @ P`` where the
columns of the signed permutation P are the vendor's axes written in ours (P is its own inverse):

* **SimNIBS** ``matsimnibs`` — identical to ours: "the coil y axis is a prolongation of the
  handle", z points into the head ("the coil z axis needs to point towards -z" for a coil facing
  down on top of the head), x = y × z, last column the coil centre (SimNIBS documentation,
  "POSITION" and its coil axes figure). P = identity.
* **Brainsight** (Rogue Research) — z points *out of* the head and x is mirrored, y is the same:
  ``simnibs = brainsight @ diag(-1, 1, -1)`` (SimNIBS ``simnibs.utils.nnav.brainsight``, the
  published converter between the two tools). Independently, the Brainsight plotting code of
  C. Cline draws a sample's arrow from ``origin + 50 mm * z`` *inwards* to the origin, i.e. +z
  points away from the head. P = diag(-1, 1, -1).
* **Localite** TMS Navigator — x is the coil normal into the head, y points away from the handle,
  z = ours x: ``simnibs = localite @ [[0,0,1],[0,-1,0],[1,0,0]]`` (SimNIBS
  ``simnibs.utils.nnav.localite``). In SimNIBS' Localite test files a marker over the left
  hemisphere indeed has its x column pointing right and down, into the head.

World frames: a file in RAS (NIfTI scanner / aligned) is used as it is; LPS (Localite
``coordinateSpace="LPS"``, Brainsight "World" for DICOM projects) is converted by
``ras = diag(-1, -1, 1) @ lps`` and the import notes say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tmsnav.navigation.targeting.targets import Evidence, Target
from tmsnav.navigation.transforms import orthonormalize

from .errors import ExchangeError

__all__ = ["AXES", "to_vendor", "from_vendor", "checked_pose", "target_from_pose",
           "RAS_FROM_LPS", "IMPORTED_SOURCE", "POSE_ORTHONORMAL_TOL"]

AXES: dict[str, np.ndarray] = {
    "simnibs": np.eye(4),
    "brainsight": np.diag([-1.0, 1.0, -1.0, 1.0]),
    "localite": np.array([[0.0, 0.0, 1.0, 0.0],
                          [0.0, -1.0, 0.0, 0.0],
                          [1.0, 0.0, 0.0, 0.0],
                          [0.0, 0.0, 0.0, 1.0]]),
}
RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
IMPORTED_SOURCE = "imported"
#: Files carry rotations with 4 (Brainsight) to 17 decimals: a rotation off by more than this is
#: not a rounded rotation but a scaled, sheared or mistyped matrix.
POSE_ORTHONORMAL_TOL = 2e-3


def to_vendor(mri_from_ours: np.ndarray, tool: str) -> np.ndarray:
    """Our pose written with ``tool``'s coil axes (same origin, same world frame)."""
    return np.asarray(mri_from_ours, float) @ AXES[tool]


def from_vendor(mri_from_theirs: np.ndarray, tool: str) -> np.ndarray:
    """A pose with ``tool``'s coil axes written with ours."""
    return np.asarray(mri_from_theirs, float) @ AXES[tool].T


def checked_pose(matrix: object, what: str) -> np.ndarray:
    """A 4x4 rigid pose from a file, re-orthonormalised after rounding; refuses everything else.

    A mirrored rotation (determinant -1) is refused rather than "fixed": it is what a left/right
    flip or one wrongly signed axis produces, and the coil would be drawn on the wrong side."""
    try:
        m = np.array(matrix, dtype=float).reshape(4, 4)
    except (TypeError, ValueError):
        raise ExchangeError(f"{what}: a coil pose is 16 numbers (a 4x4 matrix)") from None
    if not np.all(np.isfinite(m)):
        raise ExchangeError(f"{what}: the pose contains empty or non-numeric values")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=1e-6):
        raise ExchangeError(f"{what}: the last row of the pose is {m[3].tolist()}, not [0, 0, 0, 1]")
    r = m[:3, :3]
    off = float(np.max(np.abs(r.T @ r - np.eye(3))))
    if off > POSE_ORTHONORMAL_TOL:
        raise ExchangeError(f"{what}: the rotation is not orthonormal (off by {off:.3g}): a scaled "
                            "or sheared matrix, or numbers in the wrong columns")
    if np.linalg.det(r) < 0:
        raise ExchangeError(f"{what}: the coil axes are mirrored (left-handed); this is what a "
                            "left/right flip or a wrongly signed axis produces, so it is refused")
    out = m.copy()
    out[:3, :3] = orthonormalize(r)
    return out


def target_from_pose(name: str, mri_from_target: np.ndarray, tool_label: str, file: Path,
                     notes: str = "") -> Target:
    """A tmsnav Target from a checked pose in our axes: origin = the scalp point, z = normal,
    y = handle. The evidence names the tool and the file it came from."""
    m = np.asarray(mri_from_target, float)
    normal = m[:3, 2] / np.linalg.norm(m[:3, 2])
    handle = m[:3, 1] - normal * float(m[:3, 1] @ normal)
    handle = handle / np.linalg.norm(handle)
    evidence = Evidence(citation=f"imported from {tool_label} file {file.name}",
                        why=f"coil pose planned or recorded in {tool_label}")
    return Target(name=name, scalp_point_mm=m[:3, 3], normal=normal, handle_direction=handle,
                  source=IMPORTED_SOURCE, evidence=evidence, notes=notes)
