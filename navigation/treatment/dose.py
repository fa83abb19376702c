"""Treatment output from the resting motor threshold: a percentage of RMT, capped at 100 % MSO.

Protocols prescribe the intensity as a percentage of the resting motor threshold (e.g. 120 % RMT
for 10 Hz left-DLPFC rTMS, O'Reardon JP, et al. Biol Psychiatry 2007;62:1208-1216). The result is
rounded to the nearest whole % of maximum stimulator output (MSO), what stimulators accept. When
the prescription exceeds what the stimulator can give it is capped at 100 % MSO and a warning
says by how much the patient is under-dosed - never silently.

Depth adjustment (a *suggestion*, never applied by itself): the threshold is measured over the
motor cortex, but the target may lie deeper or shallower. Stokes MG, Chambers CD, Gould IC, et al.
Simple metric for scaling motor threshold based on scalp-cortex distance: application to studies
using transcranial magnetic stimulation. J Neurophysiol 2005;94:4520-4527, doi
10.1152/jn.00067.2005, found the motor threshold rises by about 2.8 % MSO per mm of extra
scalp-to-cortex distance (their 70 mm figure-8 coil and stimulator):
``adjusted MT = MT + 2.8 * (depth_target - depth_motor)``. Other coils and stimulators have other
gradients, so the clinician decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tmsnav.navigation.errors import NavigationError

__all__ = ["Dose", "DepthSuggestion", "treatment_output", "stokes_adjusted_threshold",
           "STOKES_GRADIENT_PCT_PER_MM"]

STOKES_GRADIENT_PCT_PER_MM = 2.8


@dataclass(frozen=True)
class DepthSuggestion:
    adjusted_threshold_pct: float
    depth_difference_mm: float
    text: str


@dataclass(frozen=True)
class Dose:
    rmt_pct: int
    percent_of_rmt: float
    output_pct_mso: int          # what to set on the stimulator
    prescribed_pct_mso: float    # before rounding and capping
    capped: bool
    warnings: tuple[str, ...]
    depth_suggestion: DepthSuggestion | None = None


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def stokes_adjusted_threshold(rmt_pct: float, motor_depth_mm: float, target_depth_mm: float,
                              gradient_pct_per_mm: float = STOKES_GRADIENT_PCT_PER_MM) -> DepthSuggestion:
    """Stokes et al. 2005 linear depth correction of the motor threshold (a suggestion)."""
    for v, what in ((motor_depth_mm, "motor hotspot depth"), (target_depth_mm, "target depth")):
        if not math.isfinite(v) or not 2.0 <= v <= 60.0:
            raise NavigationError(f"the {what} must be a scalp-to-cortex distance of 2-60 mm, got {v:g}"
                                  + (" (centimetres given as millimetres?)" if 0 < v < 2 else ""))
    diff = float(target_depth_mm - motor_depth_mm)
    adjusted = float(rmt_pct) + gradient_pct_per_mm * diff
    text = (f"Suggestion only: the target is {abs(diff):.1f} mm {'deeper' if diff >= 0 else 'shallower'} "
            f"than the motor hotspot; Stokes et al. 2005 ({gradient_pct_per_mm:g} % MSO per mm, their "
            f"coil) would scale the threshold to {adjusted:.1f} % MSO. Not applied.")
    return DepthSuggestion(adjusted, diff, text)


def treatment_output(rmt_pct: float, percent_of_rmt: float, *, max_output_pct: int = 100,
                     motor_depth_mm: float | None = None,
                     target_depth_mm: float | None = None) -> Dose:
    """Stimulator output for ``percent_of_rmt`` % of ``rmt_pct`` (% MSO), capped and explained."""
    if not math.isfinite(rmt_pct) or not 1.0 <= rmt_pct <= 100.0:
        raise NavigationError(f"the motor threshold must be 1-100 % MSO, got {rmt_pct:g}")
    if not math.isfinite(percent_of_rmt) or percent_of_rmt <= 0:
        raise NavigationError(f"the intensity must be a positive % of the threshold, got {percent_of_rmt:g}")
    if percent_of_rmt < 10.0:
        raise NavigationError(f"{percent_of_rmt:g} % of the motor threshold is not a treatment intensity: "
                              f"give percentages (120 for 120 % RMT, not {percent_of_rmt:g})")
    if percent_of_rmt > 150.0:
        raise NavigationError(f"{percent_of_rmt:g} % of the motor threshold is above any published rTMS "
                              "protocol (80-140 %); check the prescription")
    if not 1 <= max_output_pct <= 100:
        raise NavigationError("the stimulator maximum must be 1-100 % MSO")
    prescribed = float(rmt_pct) * float(percent_of_rmt) / 100.0
    output = _round_half_up(prescribed)
    warnings: list[str] = []
    capped = output > max_output_pct
    if capped:
        warnings.append(f"{percent_of_rmt:g} % of RMT {rmt_pct:g} % is {prescribed:.1f} % MSO, more than "
                        f"the stimulator gives: capped at {max_output_pct} % MSO, i.e. "
                        f"{100.0 * max_output_pct / rmt_pct:.0f} % of RMT instead of {percent_of_rmt:g} %")
        output = max_output_pct
    suggestion = None
    if (motor_depth_mm is None) != (target_depth_mm is None):
        warnings.append("depth adjustment needs both the motor hotspot and the target depth")
    elif motor_depth_mm is not None and target_depth_mm is not None:
        adj = stokes_adjusted_threshold(rmt_pct, motor_depth_mm, target_depth_mm)
        suggestion = DepthSuggestion(adj.adjusted_threshold_pct, adj.depth_difference_mm,
                                     adj.text + f" At {percent_of_rmt:g} % that would be "
                                     f"{adj.adjusted_threshold_pct * percent_of_rmt / 100.0:.0f} % MSO.")
    return Dose(_round_half_up(rmt_pct), float(percent_of_rmt), output, prescribed, capped,
                tuple(warnings), suggestion)
