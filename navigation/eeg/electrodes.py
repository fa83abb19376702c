"""Where each EEG electrode of a 10-20 / 10-10 / 10-05 cap sits on *this* patient's scalp (mri mm).

Two sources, best first:

1. **The planning module's construction** (:func:`tmsnav.navigation.targeting.ten_twenty.
   compute_ten_twenty`): the percent-arc definitions measured on the patient's own scalp mesh from
   nasion, inion and the preauricular points (Jasper 1958; Oostenveld & Praamstra 2001, Clin
   Neurophysiol 112:713). It gives the 10-20 and the 61 10-10 positions it defines.
2. **The colin27 10-05 template** of MNE-Python (``colin27_1005``, formerly ``standard_1005``:
   Oostenveld & Praamstra's 10-05 positions on the MNI colin27 head, 345 names) for every other
   name (e.g. ``AF1``, ``FT9``, ``TP10``, ``Iz``). The template is placed on this head by a
   least-squares *affine* fit of its 10-10 positions to the constructed ones (12 parameters from
   61 pairs: absorbs the head's size and its different length / width / height ratios), then each
   fitted point is projected to the closest point of the scalp. (``Iz`` is the inion itself,
   the end of the construction's nasion-inion arc.) The fit residual at the 61
   constructed positions is reported (``fit_rms_mm``): it bounds how far a template-only name may
   be from where the construction would have put it.

Why not the template for everything: the construction is the clinical tape-measure definition
on this head; the template is one head's electrode cap warped onto another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import SurfaceMesh, as_surface
from tmsnav.navigation.targeting.ten_twenty import ALIASES, HeadLandmarks, TenTwenty, compute_ten_twenty

__all__ = ["ElectrodeError", "PlacedElectrodes", "place_electrodes", "template_positions_on_head",
           "template_positions_mm", "canonical_electrode", "project_to_scalp", "TEN_TWENTY_19",
           "SOURCE_CONSTRUCTION", "SOURCE_TEMPLATE"]

#: The 19 electrodes of the classic 10-20 clinical montage, in the usual front-to-back order.
TEN_TWENTY_19 = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
                 "P7", "P3", "Pz", "P4", "P8", "O1", "O2")
SOURCE_CONSTRUCTION = "10-10 construction on this scalp"
SOURCE_TEMPLATE = "colin27 10-05 template fitted to this head"
_MONTAGE_NAMES = ("colin27_1005", "standard_1005")   # MNE >= 1.12 name, then the older one


class ElectrodeError(NavigationError):
    """Electrode positions cannot be given as asked (unknown name, unusable head)."""


@lru_cache(maxsize=1)
def template_positions_mm() -> dict[str, np.ndarray]:
    """MNE's colin27 10-05 electrode positions, mm in the template's own (MNI colin27) frame."""
    import warnings

    import mne

    for name in _MONTAGE_NAMES:
        if name in mne.channels.get_builtin_montages():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)   # the old name is deprecated
                montage = mne.channels.make_standard_montage(name)
            pos = montage.get_positions()["ch_pos"]
            return {str(k): 1000.0 * np.asarray(v, float) for k, v in pos.items()}
    raise ElectrodeError("MNE-Python has no 10-05 template montage (colin27_1005)")


def canonical_electrode(name: str) -> str | None:
    """The template's spelling of an electrode name (``"fp1"`` -> ``"Fp1"``, ``"T3"`` -> ``"T7"``),
    or None when no 10-05 electrode has that name."""
    key = str(name).strip()
    old_names = {old.upper(): new for old, new in ALIASES.items()}
    key = old_names.get(key.upper(), key)
    lookup = {k.upper(): k for k in template_positions_mm()}
    return lookup.get(key.upper())


def project_to_scalp(scalp: "pv.PolyData | SurfaceMesh", points_mm: np.ndarray) -> np.ndarray:
    """Closest scalp points (on the triangles, not just vertices) of ``points_mm`` (N, 3)."""
    surf = as_surface(scalp)
    pts = np.asarray(points_mm, float).reshape(-1, 3)
    if not len(pts):
        return pts.copy()
    found: Any = surf.polydata.find_closest_cell(pts, return_closest_point=True)   # (cells, points)
    return np.asarray(found[1], float).reshape(-1, 3)


def fit_affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """4x4 least-squares affine taking ``source`` (N, 3) onto ``target`` (N >= 4, not coplanar)."""
    src = np.asarray(source, float)
    dst = np.asarray(target, float)
    if len(src) < 4:
        raise ElectrodeError(f"an affine fit needs at least 4 point pairs, got {len(src)}")
    design = np.hstack([src, np.ones((len(src), 1))])
    if np.linalg.matrix_rank(design, tol=1e-6 * max(1.0, float(np.abs(src).max()))) < 4:
        raise ElectrodeError("the points of the fit lie in one plane: cannot place the template")
    coef, *_ = np.linalg.lstsq(design, dst, rcond=None)
    m = np.eye(4)
    m[:3, :] = coef.T
    return m


@dataclass(frozen=True)
class PlacedElectrodes:
    """Electrode positions on this head (mri mm, on the scalp) and where each came from."""

    positions_mm: dict[str, np.ndarray]
    source: dict[str, str]                    # name -> SOURCE_CONSTRUCTION | SOURCE_TEMPLATE
    fit_rms_mm: float                          # template fit residual at the constructed points
    unknown: tuple[str, ...] = ()             # asked names no 10-05 template knows
    renamed: dict[str, str] = field(default_factory=dict)   # asked -> canonical (e.g. T3 -> T7)


def place_electrodes(scalp: "pv.PolyData | SurfaceMesh", landmarks: HeadLandmarks,
                     names: Iterable[str] | None = None, *,
                     ten_twenty: TenTwenty | None = None) -> PlacedElectrodes:
    """Positions of ``names`` (default: the 19 of the 10-20 montage) on this scalp.

    ``ten_twenty`` reuses a construction already computed on this head (the planning panel's).
    Names no template knows are listed in ``unknown``, never guessed."""
    surf = as_surface(scalp)
    asked = list(TEN_TWENTY_19 if names is None else names)
    tt = ten_twenty if ten_twenty is not None else compute_ten_twenty(surf, landmarks)
    template = template_positions_mm()
    constructed = {n: p.point_mm for n, p in tt.positions.items()}
    # Iz is by definition the posterior end of the nasion-inion arc (Oostenveld & Praamstra 2001)
    constructed["Iz"] = project_to_scalp(surf, tt.landmarks.inion[None])[0]
    common = [n for n in constructed if n in template]
    affine = fit_affine(np.array([template[n] for n in common]),
                        np.array([constructed[n] for n in common]))
    fitted_common = np.array([template[n] for n in common]) @ affine[:3, :3].T + affine[:3, 3]
    residual = np.linalg.norm(fitted_common - np.array([constructed[n] for n in common]), axis=1)
    positions: dict[str, np.ndarray] = {}
    source: dict[str, str] = {}
    renamed: dict[str, str] = {}
    unknown: list[str] = []
    need_template: list[str] = []
    for raw in asked:
        name = canonical_electrode(raw)
        if name is None:
            unknown.append(str(raw))
            continue
        if name != raw:
            renamed[str(raw)] = name
        if name in constructed:
            positions[name] = np.asarray(constructed[name], float).copy()
            source[name] = SOURCE_CONSTRUCTION
        else:
            need_template.append(name)
    if need_template:
        pts = np.array([template[n] for n in need_template]) @ affine[:3, :3].T + affine[:3, 3]
        for name, p in zip(need_template, project_to_scalp(surf, pts)):
            positions[name] = p
            source[name] = SOURCE_TEMPLATE
    return PlacedElectrodes(positions, source, float(np.sqrt(np.mean(residual ** 2))),
                            tuple(unknown), renamed)


def template_positions_on_head(scalp: "pv.PolyData | SurfaceMesh", landmarks: HeadLandmarks,
                               names: Iterable[str] | None = None, *,
                               ten_twenty: TenTwenty | None = None) -> dict[str, np.ndarray]:
    """Just the positions of :func:`place_electrodes` (mri mm on the patient's scalp); an
    unknown name is refused with the list of them."""
    placed = place_electrodes(scalp, landmarks, names, ten_twenty=ten_twenty)
    if placed.unknown:
        raise ElectrodeError("no 10-20/10-10/10-05 electrode is called "
                             + ", ".join(repr(n) for n in placed.unknown))
    return placed.positions_mm
