"""Beam F3 method: F3 from three tape measurements, then placed on the patient's scalp mesh.

Beam W, Borckardt JJ, Reeves ST, George MS. An efficient and accurate new method for locating the
F3 position for prefrontal TMS applications. Brain Stimul 2009;2(1):50-54. The formula used is
the authors' web calculator (clinicalresearcher.org/F3/), because the paper's printed equations
contain typos (re-derived in github.com/zhenlidada/Finding-F3 ``Beam_F3.m``; docs/targeting.md
lists the differences):

    R1 = 0.4 NI, R2 = 0.4 TT
    A = (R2 sin 324deg + R1/2) / R2,   B = R1 sin 298deg / (R1 cos 298deg - R2/2)
    x = (R1 - R2 B) / (2 (A - B)),     y = A x - R1/2,   theta = atan(y / x)
    Y = 0.91 sqrt(x^2 + y^2)           (from Cz toward point A)
    X = HC/4 * (90 + theta_deg) / 90   (along the circumference from Fpz to the LEFT -> A)

Linear approximation: X = 0.1154 HC, Y = 0.2637 (TT + NI)/2. Optional +0.35 cm on Y as
recommended by Mir-Moghtadaei et al. 2015 (Brain Stimul 8:965).

Units: the UI types centimetres; :class:`BeamMeasurements` rejects values that look like
millimetres or inches, and everything on the mesh is millimetres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import SurfaceMesh, as_surface, outward_normal, surface_path
from tmsnav.navigation.targeting.targets import Evidence, Target, target_from_scalp
from tmsnav.navigation.targeting.ten_twenty import HeadLandmarks, TenTwenty, compute_ten_twenty

__all__ = ["BeamMeasurements", "BeamF3Distances", "BeamF3Placement", "beam_f3_distances",
           "measure_on_mesh", "place_beam_f3", "beam_f3_target", "BEAM_EVIDENCE"]

MIR_MOGHTADAEI_ADJUST_CM = 0.35
_RANGES_CM = {"tragus_tragus_cm": ("tragus-to-tragus (TT)", 20.0, 50.0),
              "nasion_inion_cm": ("nasion-to-inion (NI)", 20.0, 50.0),
              "circumference_cm": ("head circumference (HC)", 40.0, 75.0)}

BEAM_EVIDENCE = Evidence(
    citation=("Beam W, Borckardt JJ, Reeves ST, George MS. An efficient and accurate new method for "
              "locating the F3 position for prefrontal TMS applications. Brain Stimul "
              "2009;2(1):50-54 (web-calculator formula)."),
    why="Scalp F3 from three tape measurements: the standard no-MRI left-DLPFC site in depression rTMS.")


@dataclass(frozen=True)
class BeamMeasurements:
    """Head measurements in centimetres (as typed at the UI)."""

    tragus_tragus_cm: float
    nasion_inion_cm: float
    circumference_cm: float

    def __post_init__(self) -> None:
        for attr, (label, lo, hi) in _RANGES_CM.items():
            try:
                v = float(getattr(self, attr))
            except (TypeError, ValueError):
                raise NavigationError(f"{label} must be a number in cm, got {getattr(self, attr)!r}") from None
            if not math.isfinite(v):
                raise NavigationError(f"{label} must be a finite number of cm")
            if v > 10 * lo:
                raise NavigationError(f"{label} of {v:g} cm is not a head size: the values are in "
                                      f"centimetres (did you type millimetres? {v:g} mm = {v / 10:g} cm)")
            if v < lo:
                raise NavigationError(f"{label} of {v:g} cm is too small for a head (expected "
                                      f"{lo:g}-{hi:g} cm); inches? {v:g} in = {2.54 * v:.1f} cm")
            if v > hi:
                raise NavigationError(f"{label} of {v:g} cm is larger than any adult head "
                                      f"(expected {lo:g}-{hi:g} cm)")
            object.__setattr__(self, attr, v)


@dataclass(frozen=True)
class BeamF3Distances:
    x_cm: float  # along the circumference from Fpz to the left
    y_cm: float  # from Cz toward point A
    theta_deg: float | None
    method: str
    adjusted: bool


def beam_f3_distances(m: BeamMeasurements, *, method: str = "web",
                      mir_moghtadaei_adjustment: bool = False) -> BeamF3Distances:
    """The X and Y distances (cm) of the Beam F3 method; ``method`` = "web" or "linear"."""
    if method == "web":
        r1, r2 = 0.4 * m.nasion_inion_cm, 0.4 * m.tragus_tragus_cm
        sin, cos, rad = math.sin, math.cos, math.radians
        a = (r2 * sin(rad(324.0)) + r1 / 2.0) / r2
        b = r1 * sin(rad(298.0)) / (r1 * cos(rad(298.0)) - r2 / 2.0)
        x = 0.5 * (r1 - r2 * b) / (a - b)
        y = a * x - r1 / 2.0
        theta = math.degrees(math.atan(y / x))
        x_cm = m.circumference_cm / 4.0 * (90.0 + theta) / 90.0
        y_cm = 0.91 * math.hypot(x, y)
    elif method == "linear":
        theta = None
        x_cm = 0.1154 * m.circumference_cm
        y_cm = 0.2637 * (m.tragus_tragus_cm + m.nasion_inion_cm) / 2.0
    else:
        raise NavigationError(f"Beam F3 method must be 'web' or 'linear', got {method!r}")
    if mir_moghtadaei_adjustment:
        y_cm += MIR_MOGHTADAEI_ADJUST_CM
    return BeamF3Distances(x_cm, y_cm, theta, method, mir_moghtadaei_adjustment)


def measure_on_mesh(tt: TenTwenty) -> BeamMeasurements:
    """TT, NI and HC taken on the mesh (cm). TT is the preauricular arc over Cz; a tape goes
    tragus to tragus, ~1 cm anterior of the preauricular point, so expect a few mm difference."""
    if tt.coronal_reference != "preauricular":
        raise NavigationError("Beam F3 measures tragus to tragus: compute the 10-20 positions with "
                              "coronal_reference='preauricular'")
    return BeamMeasurements(tt.left_right_mm / 10.0, tt.nasion_inion_mm / 10.0,
                            tt.circumference_mm / 10.0)


@dataclass(frozen=True)
class BeamF3Placement:
    f3_point_mm: np.ndarray
    normal: np.ndarray  # outward
    point_a_mm: np.ndarray
    distances: BeamF3Distances
    measurements: BeamMeasurements
    mesh_measurements: BeamMeasurements
    ten_twenty: TenTwenty


def place_beam_f3(mesh: "pv.PolyData | SurfaceMesh", head: "HeadLandmarks | TenTwenty",
                  measurements: BeamMeasurements | None = None, *, method: str = "web",
                  mir_moghtadaei_adjustment: bool = False) -> BeamF3Placement:
    """Walk X from Fpz leftward along the circumference to A, then Y from Cz toward A -> F3.

    ``measurements`` are the clinic's tape values; without them the mesh's own arcs are used."""
    surf = as_surface(mesh)
    tt = head if isinstance(head, TenTwenty) else compute_ten_twenty(surf, head)
    mesh_m = measure_on_mesh(tt)
    m = measurements or mesh_m
    dist = beam_f3_distances(m, method=method, mir_moghtadaei_adjustment=mir_moghtadaei_adjustment)
    x_mm, y_mm = 10.0 * dist.x_cm, 10.0 * dist.y_cm
    if x_mm >= tt.left_ring.length_mm:
        raise NavigationError(f"X = {dist.x_cm:.1f} cm is longer than the measured left half "
                              f"circumference ({tt.left_ring.length_mm / 10:.1f} cm): check HC")
    point_a = tt.left_ring.point_at_distance(x_mm)
    towards_a = surface_path(surf, tt.point("Cz"), point_a)
    if y_mm >= towards_a.length_mm:
        raise NavigationError(f"Y = {dist.y_cm:.1f} cm overshoots point A ({towards_a.length_mm / 10:.1f} cm "
                              "from Cz): check NI and TT")
    f3 = towards_a.point_at_distance(y_mm)
    return BeamF3Placement(f3, outward_normal(surf, f3), point_a, dist, m, mesh_m, tt)


def beam_f3_target(mesh: "pv.PolyData | SurfaceMesh", head: "HeadLandmarks | TenTwenty",
                   measurements: BeamMeasurements | None = None, *, method: str = "web",
                   mir_moghtadaei_adjustment: bool = False,
                   brain_mesh: "pv.PolyData | SurfaceMesh | None" = None) -> Target:
    """Beam F3 as a Target (left hemisphere by construction)."""
    p = place_beam_f3(mesh, head, measurements, method=method,
                      mir_moghtadaei_adjustment=mir_moghtadaei_adjustment)
    m, mm, d = p.measurements, p.mesh_measurements, p.distances
    notes = (f"{'typed' if measurements else 'mesh'} TT {m.tragus_tragus_cm:.1f} / NI "
             f"{m.nasion_inion_cm:.1f} / HC {m.circumference_cm:.1f} cm; {d.method} formula: "
             f"X {d.x_cm:.2f} cm, Y {d.y_cm:.2f} cm" + (" (+0.35 cm adjustment)" if d.adjusted else ""))
    if measurements is not None:
        worst = max(abs(a / b - 1.0) for a, b in zip(
            (m.tragus_tragus_cm, m.nasion_inion_cm, m.circumference_cm),
            (mm.tragus_tragus_cm, mm.nasion_inion_cm, mm.circumference_cm)))
        if worst > 0.10:
            notes += f"; WARNING typed measurements differ from the mesh by up to {100 * worst:.0f} %"
    evidence = BEAM_EVIDENCE
    if d.adjusted:
        evidence = Evidence(BEAM_EVIDENCE.citation + " Adjustment: Mir-Moghtadaei et al., Brain "
                            "Stimul 2015;8:965.", BEAM_EVIDENCE.why)
    return target_from_scalp("F3 (Beam)", p.f3_point_mm, p.normal, source="beam-f3",
                             evidence=evidence, head_axes=p.ten_twenty.landmarks.axes, side="left",
                             brain_mesh=brain_mesh, notes=notes)
