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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fiducials import DEFAULT_MAX_FRE_POINT_MM, DEFAULT_MAX_FRE_RMS_MM
from .icp import MIN_INLIER_FRACTION, IcpOptions
from .result import RegistrationResult

__all__ = ["Thresholds", "Verdict", "assess_registration", "PASS", "WARN", "FAIL"]

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

    def describe(self) -> str:
        icp = IcpOptions()
        return (f"Pass: FRE ≤ {self.fre_rms_warn_mm:.1f} mm RMS (each fiducial ≤ "
                f"{self.fre_point_warn_mm:.1f} mm), surface RMS ≤ {self.icp_rms_warn_mm:.1f} mm, "
                f"≥ {100 * self.inlier_fraction_warn:.0f} % inliers, ≥ "
                f"{self.min_scalp_points_warn} surface points, predicted TRE ≤ "
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
    tre_all = result.predicted_tre_mm
    name = target if target in tre_all else next(iter(tre_all), None)
    tre = tre_all.get(name) if name is not None else None
    if tre is not None and not np.isfinite(tre):
        tre = None
    if not result.accepted:
        reasons = tuple(result.problems) or ("The registration math refused this result.",)
        return Verdict(FAIL, reasons, tre, name)
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
    if tre is not None and tre > th.tre_warn_mm:
        reasons.append(f"Predicted TRE at {name} is {tre:.1f} mm (above {th.tre_warn_mm:.1f} mm).")
    return Verdict(WARN if reasons else PASS, tuple(reasons), tre, name)
