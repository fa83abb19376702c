"""Paired-point (fiducial) registration: MRI-planned landmarks ↔ the same landmarks touched with
the calibrated pointer, expressed in the head-reference frame.

The fit itself is :func:`.rigid.fit_rigid` (Arun 1987 / Umeyama 1991). Around it sit the checks
that turn a silent wrong answer into a message (docs/safety.md and the "swapped
fiducials" bonus test):

* **unit mix-up** – the two point sets must have the same size; a ratio near 10, 25.4 or 1000
  names centimetres, inches or metres;
* **span** – the largest fiducial distance must be a head-sized 50–250 mm, and no two fiducials
  closer than 10 mm (the same point touched twice);
* **collinear** – at least one fiducial 10 mm off the line through the others;
* **left/right** – in the MRI (RAS+) LPA must lie left of RPA and the nasion in front of the ears;
  with four or more non-coplanar fiducials a mirrored touch order is found by the reflection
  test; with three fiducials it is invisible to geometry, so :func:`check_scalp_side` uses the
  head-surface points (they lie above the LPA–RPA–nasion plane on a real head).

FRE (fiducial registration error) is reported per point and as RMS; the registration is flagged
not accepted (with the reason) above ``max_fre_rms_mm`` / ``max_fre_point_mm``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..transforms import Frame, Transform
from .errors import RegistrationError
from .rigid import as_points, fit_rigid

__all__ = [
    "FiducialRegistration", "register_fiducials", "check_scalp_side", "canonical_name",
    "FIDUCIAL_SPAN_MM", "MIN_FIDUCIAL_SEPARATION_MM", "MIN_OFF_LINE_MM", "SCALE_TOLERANCE",
    "DEFAULT_MAX_FRE_RMS_MM", "DEFAULT_MAX_FRE_POINT_MM",
]

FIDUCIAL_SPAN_MM = (50.0, 250.0)
MIN_FIDUCIAL_SEPARATION_MM = 10.0
MIN_OFF_LINE_MM = 10.0
SCALE_TOLERANCE = 0.15          # |size ratio - 1| above this is a unit or labelling problem
DEFAULT_MAX_FRE_RMS_MM = 4.0
DEFAULT_MAX_FRE_POINT_MM = 6.0

_ALIASES = {
    "nasion": ("nasion", "nas", "nz", "n"),
    "lpa": ("lpa", "left_preauricular", "left preauricular", "left_tragus", "al"),
    "rpa": ("rpa", "right_preauricular", "right preauricular", "right_tragus", "ar"),
}
_UNIT_HINTS = ((10.0, "centimetres"), (25.4, "inches"), (1000.0, "metres"))


def canonical_name(name: str) -> str:
    """``"NAS"``/``"Nasion"`` → ``"nasion"``, ``"LPA"`` → ``"lpa"``; other names lower-cased."""
    key = str(name).strip().lower().replace("-", "_")
    for canon, aliases in _ALIASES.items():
        if key in aliases:
            return canon
    return key


@dataclass(frozen=True, eq=False)
class FiducialRegistration:
    """A fiducial fit: ``mri = mri_from_reference.apply(reference)``."""

    names: tuple[str, ...]
    mri_mm: np.ndarray
    reference_mm: np.ndarray
    weights: np.ndarray
    mri_from_reference: Transform
    fre_mm: np.ndarray
    fre_rms_mm: float
    size_ratio: float               # RMS radius of tracker set / of MRI set (≈ 1)
    accepted: bool
    problems: tuple[str, ...] = field(default=())

    @property
    def fre_by_name(self) -> dict[str, float]:
        return {n: float(e) for n, e in zip(self.names, self.fre_mm)}


def _pairs(mri_points: Mapping[str, object], reference_points: Mapping[str, object]
           ) -> tuple[list[str], np.ndarray, np.ndarray]:
    mri = {str(k): v for k, v in mri_points.items()}
    ref = {str(k): v for k, v in reference_points.items()}
    missing = [n for n in mri if n not in ref]
    extra = [n for n in ref if n not in mri]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"not touched yet: {', '.join(missing)}")
        if extra:
            parts.append(f"touched but not planned in the MRI: {', '.join(extra)}")
        raise RegistrationError("The planned and touched fiducials do not match (" +
                                "; ".join(parts) + ").")
    names = list(mri)
    if len(names) < 3:
        raise RegistrationError(f"At least 3 fiducials are needed, got {len(names)}.")
    try:
        p_mri = as_points([mri[n] for n in names], "MRI fiducials", 3)
        p_ref = as_points([ref[n] for n in names], "touched fiducials", 3)
    except ValueError as exc:
        raise RegistrationError(str(exc)) from None
    return names, p_mri, p_ref


def _unit_hint(ratio: float) -> str:
    for factor, unit in _UNIT_HINTS:
        for r, direction in ((1.0 / factor, "tracker"), (factor, "MRI")):
            if abs(np.log(ratio / r)) < np.log(1.25):
                return f" The {direction} points are probably in {unit}, not millimetres."
    return " Check that both point sets use millimetres and that each name was touched."


def _check_sizes(names: list[str], p_mri: np.ndarray, p_ref: np.ndarray) -> float:
    rad_mri = float(np.sqrt(np.mean(np.sum((p_mri - p_mri.mean(0)) ** 2, axis=1))))
    rad_ref = float(np.sqrt(np.mean(np.sum((p_ref - p_ref.mean(0)) ** 2, axis=1))))
    if rad_mri <= 0 or rad_ref <= 0:
        raise RegistrationError("All fiducials are at the same place.")
    ratio = rad_ref / rad_mri
    if abs(ratio - 1.0) > SCALE_TOLERANCE:
        raise RegistrationError(
            f"The touched fiducials span {ratio:.3g}× the size of the MRI fiducials "
            f"(allowed {1 - SCALE_TOLERANCE:.2f}–{1 + SCALE_TOLERANCE:.2f})." + _unit_hint(ratio))
    for label, p in (("MRI", p_mri), ("tracker", p_ref)):
        dist = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=2)
        span = float(dist.max())
        if not FIDUCIAL_SPAN_MM[0] <= span <= FIDUCIAL_SPAN_MM[1]:
            raise RegistrationError(
                f"The {label} fiducials span {span:.1f} mm; a head needs "
                f"{FIDUCIAL_SPAN_MM[0]:.0f}–{FIDUCIAL_SPAN_MM[1]:.0f} mm. Check the units and "
                "that the points are on the patient's head.")
        np.fill_diagonal(dist, np.inf)
        i, j = np.unravel_index(int(np.argmin(dist)), dist.shape)
        if dist[i, j] < MIN_FIDUCIAL_SEPARATION_MM:
            raise RegistrationError(
                f"In the {label} set, '{names[i]}' and '{names[j]}' are only "
                f"{dist[i, j]:.1f} mm apart (minimum {MIN_FIDUCIAL_SEPARATION_MM:.0f} mm): "
                "was the same point picked twice?")
        centred = p - p.mean(0)
        direction = np.linalg.svd(centred)[2][0]
        off_line = np.linalg.norm(centred - np.outer(centred @ direction, direction), axis=1)
        if off_line.max() < MIN_OFF_LINE_MM:
            raise RegistrationError(
                f"The {label} fiducials lie on one line (at most {off_line.max():.1f} mm off "
                f"it; need {MIN_OFF_LINE_MM:.0f} mm): use landmarks around the head, e.g. "
                "nasion, LPA and RPA.")
    return ratio


def _check_mri_sides(names: list[str], p_mri: np.ndarray) -> None:
    idx = {canonical_name(n): i for i, n in enumerate(names)}
    if "lpa" in idx and "rpa" in idx:
        lpa, rpa = p_mri[idx["lpa"]], p_mri[idx["rpa"]]
        if lpa[0] >= rpa[0]:
            raise RegistrationError(
                f"In the MRI, LPA (x = {lpa[0]:.1f} mm) is not left of RPA (x = {rpa[0]:.1f} mm) "
                "in RAS coordinates: the left/right labels of the planned fiducials are swapped, "
                "or the image orientation is wrong.")
        if "nasion" in idx and p_mri[idx["nasion"]][1] <= (lpa[1] + rpa[1]) / 2:
            raise RegistrationError(
                "In the MRI the nasion is not in front of the ears (RAS y): check the planned "
                "fiducial labels and the image orientation.")


def register_fiducials(mri_points: Mapping[str, ArrayLike],
                       reference_points: Mapping[str, ArrayLike],
                       weights: Mapping[str, float] | None = None, *,
                       max_fre_rms_mm: float = DEFAULT_MAX_FRE_RMS_MM,
                       max_fre_point_mm: float = DEFAULT_MAX_FRE_POINT_MM
                       ) -> FiducialRegistration:
    """Fit ``mri_from_reference`` from named fiducials (mm).

    :param mri_points: name → (x, y, z) planned in the MRI (RAS+ mm).
    :param reference_points: name → (x, y, z) of the pointer tip in the head-reference frame.
    :param weights: optional name → weight (e.g. lower for a landmark that is hard to touch).
    :raises RegistrationError: mismatched names, unit mix-up, degenerate or mirrored sets.
    :returns: the fit with FRE; ``accepted`` is False (with ``problems``) above the FRE limits.
    """
    names, p_mri, p_ref = _pairs(mri_points, reference_points)
    w = None if weights is None else [float(weights.get(n, 1.0)) for n in names]
    ratio = _check_sizes(names, p_mri, p_ref)
    _check_mri_sides(names, p_mri)
    try:
        fit = fit_rigid(p_ref, p_mri, w)
    except ValueError as exc:
        raise RegistrationError(str(exc)) from None
    if fit.mirrored:
        raise RegistrationError(
            f"The touched fiducials are a mirror image of the planned ones (best rotation "
            f"leaves {fit.rms_mm:.1f} mm RMS, a mirror {fit.reflected_rms_mm:.1f} mm): two "
            "fiducials were touched in swapped order, most likely LPA and RPA.")
    problems = []
    if fit.rms_mm > max_fre_rms_mm:
        problems.append(f"FRE {fit.rms_mm:.2f} mm RMS is above the {max_fre_rms_mm:.1f} mm limit.")
    worst = int(np.argmax(fit.residuals_mm))
    if fit.residuals_mm[worst] > max_fre_point_mm:
        problems.append(f"'{names[worst]}' is {fit.residuals_mm[worst]:.1f} mm off (limit "
                        f"{max_fre_point_mm:.1f} mm): touch it again.")
    mri_from_reference = Transform(Frame.MRI, Frame.REFERENCE, fit.matrix)
    return FiducialRegistration(
        names=tuple(names), mri_mm=p_mri, reference_mm=p_ref,
        weights=np.ones(len(names)) if w is None else np.array(w),
        mri_from_reference=mri_from_reference, fre_mm=fit.residuals_mm, fre_rms_mm=fit.rms_mm,
        size_ratio=ratio, accepted=not problems, problems=tuple(problems))


def check_scalp_side(reference_points: Mapping[str, Sequence[float]],
                     scalp_points_reference: object) -> float:
    """Raise if the head-surface points lie *below* the LPA → RPA → nasion plane.

    On a real head the scalp sweep (forehead, vertex, sides) is above that plane on the side
    ``(RPA − LPA) × (nasion − LPA)`` points to (superior in RAS). If LPA and RPA were touched in
    swapped order that normal flips and the points come out "below": the one case three
    fiducials cannot reveal by themselves. Returns the median height above the plane (mm);
    without nasion/LPA/RPA among the names nothing can be checked and NaN is returned.
    """
    named = {canonical_name(k): v for k, v in reference_points.items()}
    if not {"nasion", "lpa", "rpa"} <= named.keys():
        return float("nan")
    try:
        pts = as_points(scalp_points_reference, "head-surface points", 1)
        lpa, rpa, nas = (as_points(named[k], k, 1)[0] for k in ("lpa", "rpa", "nasion"))
    except ValueError as exc:
        raise RegistrationError(str(exc)) from None
    normal = np.cross(rpa - lpa, nas - lpa)
    norm = np.linalg.norm(normal)
    if norm < 1e-9:
        raise RegistrationError("Nasion, LPA and RPA lie on one line.")
    height = float(np.median((pts - lpa) @ (normal / norm)))
    if height < 0:
        raise RegistrationError(
            f"The head-surface points lie {abs(height):.0f} mm below the plane through the "
            "touched nasion, LPA and RPA, so the left/right order is reversed: LPA and RPA were "
            "most likely touched swapped. Touch LPA (patient's left ear) and RPA again.")
    return height
