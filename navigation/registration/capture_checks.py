"""Is this still pointer tip plausibly the landmark the technician was asked to touch?

Hands-free fiducial capture (hold the tip still for 1 s) fires on *any* still tip: the tip
still resting in the pivot divot when the fiducial step opens, a hand pausing halfway to the
next landmark, a second hold on the landmark just captured. Each of these stores a wrong point
under the asked name; the later landmarks then shift by one and the final fit error is large
for a reason nobody sees. This module refuses such captures before they are stored and, when a
full set does not fit, names the likely cause by trying other assignments of the touched points
to the MRI landmarks.

Why these tests are sound: a rigid registration preserves distances, so the landmarks already
captured constrain where the asked one can be (Fitzpatrick, West & Maurer 1998, *Predicting
error in rigid-body point-based registration*, IEEE TMI 17(5):694 — fiducial localisation error
for anatomical landmarks is a few millimetres, so tolerances of tens of millimetres only catch
gross mistakes, never a normal touch):

* one landmark captured: the asked one lies on a sphere around it (its MRI distance);
* two captured: on a circle (the two MRI distances fix the distance along the axis through
  them and the radius around it);
* three or more: at one point, the asked landmark's MRI position carried into the reference
  frame by the rigid fit of the captured ones (Arun 1987, :func:`.rigid.fit_rigid`).

The tip's distance to that sphere / circle / point is the "prediction error"; a capture farther
than :data:`PREDICTION_LIMIT_MM` is refused. Independently: a tip within
:data:`DIVOT_RADIUS_MM` of the pivot divot (where pivot calibration left it) is the divot, not a
landmark; a tip within :data:`DUPLICATE_MM` of another captured landmark is that landmark again.

Pure numpy, no Qt: the fiducial step (``app/registration/fiducial_step.py``) calls it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, permutations
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike

from .rigid import fit_rigid

__all__ = ["CaptureCheck", "FitDiagnosis", "check_capture", "prediction_error",
           "diagnose_fit", "DIVOT_RADIUS_MM", "DUPLICATE_MM", "PREDICTION_LIMIT_MM",
           "GOOD_FIT_RMS_MM", "MAX_DIAGNOSED_LANDMARKS"]

#: A tip this close to the pivot divot is still in the divot (a divot cone is ~5 mm across).
DIVOT_RADIUS_MM = 10.0
#: Two head landmarks used for registration are at least ~40 mm apart on any adult head
#: (nasion-tragus ~100 mm, inion farther); 15 mm apart is the same spot touched twice.
DUPLICATE_MM = 15.0
#: Farther than this from where the captured landmarks put the asked one: not that landmark.
#: Anatomical fiducial localisation error is 2-5 mm (Fitzpatrick 1998), a bad touch ~10 mm.
PREDICTION_LIMIT_MM = 30.0
#: An alternative assignment counts as "fits" below this RMS (the fiducial FRE refusal limit).
GOOD_FIT_RMS_MM = 4.0
#: Above this many landmarks the permutation search (n! x n) is not attempted.
MAX_DIAGNOSED_LANDMARKS = 7


def _name(name: str, display: Mapping[str, str] | None) -> str:
    return (display or {}).get(name) or name


@dataclass(frozen=True)
class CaptureCheck:
    """Verdict on one capture: ``ok`` or refused with ``kind`` and a sentence for the user."""

    ok: bool
    kind: str = "ok"                     # "ok" | "divot" | "duplicate" | "far"
    message: str = ""
    prediction_error_mm: float | None = None   # distance to where the others put it, if known


def prediction_error(asked: str, tip_mm: ArrayLike,
                     mri: Mapping[str, ArrayLike],
                     touched: Mapping[str, ArrayLike]) -> tuple[float | None, list[str]]:
    """Distance (mm) from ``tip_mm`` (reference frame) to where the captured landmarks say the
    ``asked`` landmark must be, and the names used; ``(None, [])`` when nothing constrains it.

    ``mri``: name -> MRI point; ``touched``: name -> captured point (reference frame). Only
    landmarks other than ``asked`` that have both sides are used.
    """
    if asked not in mri:
        return None, []
    names = [n for n in touched if n != asked and n in mri]
    if not names:
        return None, []
    p = np.asarray(tip_mm, float).reshape(3)
    m = np.asarray(mri[asked], float).reshape(3)
    c = np.array([np.asarray(touched[n], float).reshape(3) for n in names])
    mm = np.array([np.asarray(mri[n], float).reshape(3) for n in names])
    if len(names) >= 3:
        try:
            fit = fit_rigid(mm, c)
        except ValueError:
            fit = None
        if fit is not None and fit.singular_values[1] > 1e-6 * max(fit.singular_values[0], 1e-12):
            return float(np.linalg.norm(fit.apply(m[None])[0] - p)), names
        names, c, mm = names[:2], c[:2], mm[:2]   # collinear captures: fall back to two
    if len(names) == 2:
        axis_t = c[1] - c[0]
        axis_m = mm[1] - mm[0]
        lt, lm = np.linalg.norm(axis_t), np.linalg.norm(axis_m)
        if lt > 1e-6 and lm > 1e-6:
            u_m, u_t = axis_m / lm, axis_t / lt
            # the asked landmark in MRI: a distance along the axis and a radius around it
            along_m = float((m - mm[0]) @ u_m)
            radius_m = float(np.linalg.norm((m - mm[0]) - along_m * u_m))
            # scale the axial position to the touched axis length (noise keeps them ~equal)
            along_m *= lt / lm
            along_p = float((p - c[0]) @ u_t)
            radius_p = float(np.linalg.norm((p - c[0]) - along_p * u_t))
            return float(np.hypot(along_p - along_m, radius_p - radius_m)), names
        names, c, mm = names[:1], c[:1], mm[:1]
    d_touch = float(np.linalg.norm(p - c[0]))
    d_mri = float(np.linalg.norm(m - mm[0]))
    return abs(d_touch - d_mri), names


def check_capture(asked: str, tip_reference_mm: ArrayLike,
                  mri: Mapping[str, ArrayLike],
                  touched: Mapping[str, ArrayLike], *,
                  tip_tracker_mm: ArrayLike | None = None,
                  divot_tracker_mm: ArrayLike | None = None,
                  divot_reference_mm: ArrayLike | None = None,
                  display: Mapping[str, str] | None = None,
                  divot_radius_mm: float = DIVOT_RADIUS_MM,
                  duplicate_mm: float = DUPLICATE_MM,
                  prediction_limit_mm: float = PREDICTION_LIMIT_MM) -> CaptureCheck:
    """Whether the tip (head-reference frame, mm) may be stored as landmark ``asked``.

    ``touched`` may already hold ``asked`` (a redo): that old capture is ignored. The divot is
    checked in the tracker frame (a room-fixed calibration block: pass the tip and divot in
    tracker coordinates) and in the reference frame (a divot on the head reference itself).
    ``display`` maps names to what the user reads ("lpa" -> "LPA").
    """
    tip = np.asarray(tip_reference_mm, float).reshape(3)
    shown = _name(asked, display).upper()
    divots = []
    if tip_tracker_mm is not None and divot_tracker_mm is not None:
        divots.append(np.linalg.norm(np.subtract(tip_tracker_mm, divot_tracker_mm, dtype=float)))
    if divot_reference_mm is not None:
        divots.append(np.linalg.norm(tip - np.asarray(divot_reference_mm, float)))
    if divots and min(divots) < divot_radius_mm:
        return CaptureCheck(False, "divot",
                            f"Not captured: the tip is still in the pivot divot ({min(divots):.0f} "
                            f"mm from it). Lift the pointer and touch the {shown}.")
    others = {n: np.asarray(p, float).reshape(3) for n, p in touched.items() if n != asked}
    if others:
        near = min(others, key=lambda n: float(np.linalg.norm(others[n] - tip)))
        d = float(np.linalg.norm(others[near] - tip))
        if d < duplicate_mm:
            return CaptureCheck(False, "duplicate",
                                f"Not captured: the tip is {d:.0f} mm from the "
                                f"{_name(near, display)} already captured, so this is the "
                                f"{_name(near, display)} again. Move to the {shown} and hold "
                                "still there.")
    err, used = prediction_error(asked, tip, mri, others)
    if err is not None and err > prediction_limit_mm:
        by = " and ".join(_name(n, display) for n in used[:3]) + (" ..." if len(used) > 3 else "")
        message = (f"Not captured: the tip is {err:.0f} mm from where {by} put the {shown} (limit "
                   f"{prediction_limit_mm:.0f} mm). Touch the {shown}; if you are on it, check "
                   "its MRI point and the landmarks before it.")
        # On the asked landmark after an earlier mistake (e.g. LPA and RPA touched swapped: three
        # landmarks fit either way, the fourth shows it): say which mistake explains the set.
        order = [n for n in mri if n in others] + [asked]
        diagnosis = diagnose_fit(mri, {**others, asked: tip}, order, display=display)
        if diagnosis is not None and diagnosis.kind in ("swap", "shift", "reordered"):
            message += f" Likely cause: {diagnosis.message}"
        return CaptureCheck(False, "far", message, err)
    return CaptureCheck(True, prediction_error_mm=err)


# ----- whole-set diagnosis --------------------------------------------------------------------

@dataclass(frozen=True)
class FitDiagnosis:
    """Why a set of touched landmarks does not fit the MRI ones, in the user's words."""

    kind: str                       # "duplicate" | "swap" | "shift" | "one_off" | "reordered"
    message: str
    redo: tuple[str, ...] = ()      # landmarks to touch again
    assignment: dict[str, str | None] = field(default_factory=dict)   # touched -> MRI name
    identity_rms_mm: float = float("nan")
    best_rms_mm: float = float("nan")


def _cost(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """RMS misfit of paired (touched, mri) points: the rigid FRE for >= 3 pairs (it sees
    chirality with 4+), the distance difference for 2."""
    if len(pairs) == 2:
        (a0, b0), (a1, b1) = pairs
        return abs(float(np.linalg.norm(a0 - a1) - np.linalg.norm(b0 - b1))) / np.sqrt(2.0)
    src = np.array([a for a, _ in pairs])
    dst = np.array([b for _, b in pairs])
    try:
        return float(fit_rigid(src, dst).rms_mm)
    except ValueError:
        return float("inf")


def diagnose_fit(mri: Mapping[str, ArrayLike], touched: Mapping[str, ArrayLike],
                 order: list[str] | tuple[str, ...] | None = None, *,
                 display: Mapping[str, str] | None = None,
                 good_rms_mm: float = GOOD_FIT_RMS_MM,
                 duplicate_mm: float = DUPLICATE_MM) -> FitDiagnosis | None:
    """Name the likely cause when the touched landmarks do not fit their MRI points.

    ``order``: the landmark names in the order they were asked (default: ``touched``'s order).
    Returns None when the set fits as labelled (RMS below ``good_rms_mm``) or when no other
    assignment explains it. Tried, in this order: the same spot captured twice; every
    re-labelling of the touched points (a swap of two, a different touch order); every
    re-labelling with one capture that is no landmark at all ("shifted by one": e.g. the first
    capture was the pivot divot and each later touch is the landmark asked before it).
    With exactly three landmarks a swap of two is a mirror image that no distance can show
    (see :func:`.fiducials.check_scalp_side`); it is then not claimed.
    """
    names = [n for n in (order if order is not None else list(touched))
             if n in touched and n in mri]
    n = len(names)
    if n < 3 or n > MAX_DIAGNOSED_LANDMARKS:
        return None
    t = {k: np.asarray(touched[k], float).reshape(3) for k in names}
    m = {k: np.asarray(mri[k], float).reshape(3) for k in names}
    shown = {k: _name(k, display) for k in names}
    identity = _cost([(t[k], m[k]) for k in names])
    for a, b in combinations(names, 2):              # a before b in the asked order
        d = float(np.linalg.norm(t[a] - t[b]))
        if d < duplicate_mm:
            return FitDiagnosis("duplicate",
                                f"{shown[a]} captured twice: the {shown[b]} touch is {d:.0f} mm "
                                f"from the {shown[a]} touch. Redo {shown[b]}.", (b,),
                                {b: a}, identity, float("nan"))
    if identity <= good_rms_mm:
        return None

    idx = {k: i for i, k in enumerate(names)}

    def kind_of(assign: dict[str, str | None]) -> str:
        changed = [k for k in names if assign[k] != k]
        if len(changed) == 2 and None not in (assign[changed[0]], assign[changed[1]]) \
                and assign[changed[0]] == changed[1] and assign[changed[1]] == changed[0]:
            return "swap"
        if all(assign[k] is None if idx[k] == 0 else assign[k] == names[idx[k] - 1]
               for k in names):
            return "earlier"
        if all(assign[k] is None if idx[k] == n - 1 else assign[k] == names[idx[k] + 1]
               for k in names):
            return "later"
        if len(changed) == 1 and assign[changed[0]] is None:
            return "one_off"
        return "reordered"

    limit = min(good_rms_mm, 0.5 * identity)
    candidates: list[tuple[float, dict[str, str | None]]] = []
    for perm in permutations(names):                 # full re-labellings
        assign: dict[str, str | None] = dict(zip(names, perm))
        if any(k != v for k, v in assign.items()):
            candidates.append((_cost([(t[k], m[str(v)]) for k, v in assign.items()]), assign))
    if not any(c <= limit for c, _ in candidates):
        for junk in names:                           # one capture that is no landmark
            rest = [k for k in names if k != junk]
            for perm in permutations(names, len(rest)):
                assign = dict(zip(rest, perm))
                assign[junk] = None
                candidates.append((_cost([(t[k], m[v]) for k, v in assign.items()
                                          if v is not None]), assign))
    fitting = [(c, a) for c, a in candidates if c <= limit]
    if not fitting:
        return None
    # Near-ties (a head is nearly left-right symmetric) go to the simplest human mistake.
    lowest = min(c for c, _ in fitting)
    rank = {"swap": 0, "earlier": 1, "later": 2, "one_off": 3, "reordered": 4}
    best = min(((c, a) for c, a in fitting if c <= lowest + 2.0),
               key=lambda ca: (rank[kind_of(ca[1])], ca[0]))
    cost, assign = best
    changed = [k for k in names if assign[k] != k]
    asked_order = ", ".join(shown[k] for k in names)
    kind = kind_of(assign)
    if kind == "swap":
        a, b = changed
        return FitDiagnosis("swap", f"{shown[a]} and {shown[b]} look swapped: the distances fit "
                            f"with them exchanged ({cost:.1f} mm RMS instead of {identity:.1f}). "
                            f"Redo {shown[a]} and {shown[b]}.", (a, b), assign, identity, cost)
    if kind == "earlier":
        return FitDiagnosis("shift", f"Landmarks shifted by one (touch order): the {shown[names[0]]} "
                            "capture is no landmark (e.g. the tip still in the pivot divot) and each "
                            "later touch is the landmark asked before it. Redo them in order: "
                            f"{asked_order}.", tuple(names), assign, identity, cost)
    if kind == "later":
        return FitDiagnosis("shift", f"Landmarks shifted by one (touch order): each touch is the "
                            f"landmark asked after it, and the {shown[names[-1]]} capture is no "
                            f"landmark. Redo them in order: {asked_order}.", tuple(names), assign,
                            identity, cost)
    if kind == "one_off":
        bad = changed[0]
        return FitDiagnosis("one_off", f"The {shown[bad]} touch does not fit the others (they fit "
                            f"each other to {cost:.1f} mm RMS): touch the {shown[bad]} again.",
                            (bad,), assign, identity, cost)
    described = "; ".join(f"the {shown[k]} touch is the {shown[v]}" if v is not None
                          else f"the {shown[k]} touch is no landmark" for k, v in assign.items()
                          if v != k)
    return FitDiagnosis("reordered", f"The touches fit the MRI landmarks in another order "
                        f"(touch order): {described}. Redo them in order: {asked_order}.",
                        tuple(changed), assign, identity, cost)
