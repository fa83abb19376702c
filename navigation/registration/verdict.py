"""Pass / warn / fail for a registration, with the thresholds said out loud.

*Fail* is the registration math's own refusal (``RegistrationResult.accepted`` is False: FRE
above ``DEFAULT_MAX_FRE_RMS_MM`` RMS or one fiducial above ``DEFAULT_MAX_FRE_POINT_MM``, or the
surface matching broke one of the :class:`IcpOptions` guards); such a result must not be used.

*Warn* marks a usable registration that deserves a second look before stimulating: the
thresholds below are this workflow's choice, set well inside the fail limits. An FRE of 2-3 mm is
typical for anatomical landmarks touched with a pointer (FLE 2-3 mm, see ``tre.py``), so a
warning starts at 3 mm; a well-matched scalp sweep sits at about 1 mm RMS (skin compression,
segmentation), so 1.5 mm is the warning line; fewer than 90 % inliers means many points were
off the skin. The predicted TRE is an expectation, not a bound (Fitzpatrick 2009, "Fiducial
registration error and target registration error are uncorrelated", SPIE 7261): it is reported
and warned about above ``tre_warn_mm``, but the verification step (touching the head) is what
proves a registration.

Systematic surface errors (``bias.py``) are warned about with their likely cause: an offset of
the points from the skin of at least ``offset_warn_mm`` (hair, a cap, pressing, a skin
segmented off), or a head measuring at least ``scale_warn`` larger or smaller than its MRI
(voxel size, scanner calibration). Both must also stand out of their own noise
(``bias_sigmas`` standard errors). On 20 clean phantom sessions the estimates stay within
±0.1 mm and ±0.1 %, so the lines (0.8 mm, 1.2 %) give no false alarms there while a 1.5 mm
offset or a 2 % scale error is flagged every time (tests, ``benchmarks/registration.py``).
The predicted error shown (``RegistrationResult.predicted_error_mm``) is a 95 % bound that
already contains the systematic part at the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bias import EITHER, OFFSET, SCALE
from .fiducials import DEFAULT_MAX_FRE_POINT_MM, DEFAULT_MAX_FRE_RMS_MM
from .icp import MIN_INLIER_FRACTION, IcpOptions
from .result import RegistrationResult

__all__ = ["Thresholds", "Verdict", "assess_registration", "bias_warnings", "PASS", "WARN",
           "FAIL"]

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Thresholds:
    """Warning lines (mm, fraction); failing is decided by the registration math itself."""

    fre_rms_warn_mm: float = 3.0
    fre_point_warn_mm: float = 4.5
    icp_rms_warn_mm: float = 1.5
    inlier_fraction_warn: float = 0.9
    tre_warn_mm: float = 3.0
    min_scalp_points_warn: int = 100
    offset_warn_mm: float = 0.8           # points on average this far off the skin
    scale_warn: float = 0.012             # head this much larger / smaller than the MRI
    bias_sigmas: float = 4.0              # ... and this many standard errors from zero
    check_mean_warn_mm: float = 3.0       # fiducials only: mean distance of the check touches

    def describe(self) -> str:
        icp = IcpOptions()
        return (f"Pass: FRE ≤ {self.fre_rms_warn_mm:.1f} mm RMS (each fiducial ≤ "
                f"{self.fre_point_warn_mm:.1f} mm), surface RMS ≤ {self.icp_rms_warn_mm:.1f} mm, "
                f"≥ {100 * self.inlier_fraction_warn:.0f} % inliers, ≥ "
                f"{self.min_scalp_points_warn} surface points, points within "
                f"{self.offset_warn_mm:.1f} mm of the skin on average, head and MRI the same "
                f"size within {100 * self.scale_warn:.1f} %, predicted error (95 %) ≤ "
                f"{self.tre_warn_mm:.1f} mm. "
                f"Fail: FRE > {DEFAULT_MAX_FRE_RMS_MM:.1f} mm RMS or a fiducial > "
                f"{DEFAULT_MAX_FRE_POINT_MM:.1f} mm; surface RMS > {icp.max_rms_mm:.1f} mm, "
                f"< {100 * MIN_INLIER_FRACTION:.0f} % inliers, or surface matching moving a "
                f"fiducial > {icp.max_fiducial_shift_mm:.0f} mm or turning > "
                f"{np.degrees(icp.max_rotation_change_rad):.0f}°. Between the two: warning.")


@dataclass(frozen=True)
class Verdict:
    level: str                       # PASS, WARN or FAIL
    reasons: tuple[str, ...]         # why not PASS (empty for PASS)
    tre_mm: float | None             # predicted TRE at the chosen target, if any
    tre_target: str | None

    @property
    def usable(self) -> bool:
        return self.level != FAIL


def assess_registration(result: RegistrationResult, target: str | None = None,
                        thresholds: Thresholds | None = None) -> Verdict:
    """Grade ``result``; ``target`` names the entry of ``result.predicted_tre_mm`` to report
    (default: the first one)."""
    th = thresholds or Thresholds()
    tre_all = result.predicted_error_mm or result.predicted_tre_mm
    name = target if target in tre_all else next(iter(tre_all), None)
    tre = tre_all.get(name) if name is not None else None
    if tre is not None and not np.isfinite(tre):
        tre = None
    if not result.accepted:
        refusal = tuple(result.problems) or ("The registration math refused this result.",)
        return Verdict(FAIL, refusal, tre, name)
    reasons: list[str] = []
    if result.fre_rms_mm > th.fre_rms_warn_mm:
        reasons.append(f"FRE {result.fre_rms_mm:.1f} mm RMS is above {th.fre_rms_warn_mm:.1f} mm.")
    worst = int(np.argmax(result.fre_mm)) if len(result.fre_mm) else None
    if worst is not None and result.fre_mm[worst] > th.fre_point_warn_mm:
        reasons.append(f"'{result.fiducial_names[worst]}' fits {result.fre_mm[worst]:.1f} mm off "
                       f"(above {th.fre_point_warn_mm:.1f} mm): touch it again.")
    if result.method == "fiducials":
        reasons.append("Fiducials only: no surface matching, so the error away from the "
                       "fiducials can be several millimetres. Collect scalp points if you can.")
    else:
        n_points = len(result.scalp_points_reference_mm)
        if result.icp_rms_mm is not None and result.icp_rms_mm > th.icp_rms_warn_mm:
            reasons.append(f"Surface RMS {result.icp_rms_mm:.1f} mm is above "
                           f"{th.icp_rms_warn_mm:.1f} mm.")
        inliers = float(np.mean(result.icp_inliers)) if len(result.icp_inliers) else 0.0
        if inliers < th.inlier_fraction_warn:
            reasons.append(f"Only {100 * inliers:.0f} % of the surface points fit (below "
                           f"{100 * th.inlier_fraction_warn:.0f} %).")
        if n_points < th.min_scalp_points_warn:
            reasons.append(f"Only {n_points} surface points (aim for "
                           f"{th.min_scalp_points_warn}-500).")
        reasons += bias_warnings(result, th)
    if result.method == "fiducials" and result.mean_surface_distance_mm is not None:
        mean = result.mean_surface_distance_mm
        if abs(mean) > th.check_mean_warn_mm:
            side = "outside" if mean > 0 else "inside"
            reasons.append(f"The scalp touches sit on average {abs(mean):.1f} mm {side} the MRI "
                           "skin under the fiducial registration: a fiducial is off, or hair "
                           "under the pointer. Redo the fiducials or collect scalp points.")
    if tre is not None and tre > th.tre_warn_mm:
        reasons.append(f"Predicted error at {name} is up to {tre:.1f} mm (95 %; above "
                       f"{th.tre_warn_mm:.1f} mm).")
    return Verdict(WARN if reasons else PASS, tuple(reasons), tre, name)


def bias_warnings(result: RegistrationResult, thresholds: Thresholds | None = None
                  ) -> list[str]:
    """Warnings, with the likely cause, for a systematic offset or scale of the surface points."""
    th = thresholds or Thresholds()
    out: list[str] = []
    b, b_se = result.surface_offset_mm, result.surface_offset_se_mm
    s, s_se = result.head_scale, result.head_scale_se
    offset = (b is not None and abs(b) >= th.offset_warn_mm
              and not abs(b) < th.bias_sigmas * (b_se or 0.0))
    scale = (s is not None and abs(s - 1.0) >= th.scale_warn
             and not abs(s - 1.0) < th.bias_sigmas * (s_se or 0.0))
    if result.method == "fiducials+icp" and b is None and s is None:
        return ["A systematic offset or scale of the surface points could not be estimated: "
                "the predicted error covers random errors only."]
    if not (offset or scale):
        return out
    cause = result.bias_cause or EITHER
    if offset and not scale:
        cause = OFFSET
    elif scale and not offset:
        cause = SCALE
    size = ""
    if s is not None:
        size = (f"the head measures {100 * abs(s - 1.0):.1f} % "
                f"{'larger' if s > 1 else 'smaller'} than the MRI")
    if b is not None and b >= 0:
        lift = (f"points sit on average {abs(b):.1f} mm outside the skin: hair or a cap under "
                "the pointer, or the MRI skin segmented a little deep?")
    else:
        lift = (f"points sit on average {abs(b or 0.0):.1f} mm inside the skin: the pointer "
                "pressed into the skin, or the MRI skin segmented too far out?")
    if cause == OFFSET:
        out.append("Surface " + lift)
    elif cause == SCALE:
        out.append(f"Scale: {size}: check the MRI voxel size / scanner calibration.")
    else:
        out.append(f"Surface {lift} Or {size}: check the MRI voxel size / scanner "
                   "calibration. (Both explain the points equally well.)")
    bound = result.predicted_error_systematic_mm
    if bound:
        name, value = next(iter(bound.items()))
        out.append(f"This shifts {name} by about {value:.1f} mm; the predicted error includes "
                   "it.")
    return out
