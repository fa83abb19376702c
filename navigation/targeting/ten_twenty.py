"""International 10-20 / 10-10 positions on the patient's own scalp mesh.

Definitions (Jasper 1958, Electroencephalogr Clin Neurophysiol 10:371; 10-10 names of the
American Clinical Neurophysiology Society; percent-arc construction as in Oostenveld &
Praamstra 2001, Clin Neurophysiol 112:713, doi 10.1016/S1388-2457(01)00460-6, and Jurcak,
Tsuzuki & Dan 2007, NeuroImage 34:1600):

* Cz bisects both the nasion-inion arc and the left-right arc (iterated to a fixed point).
* Midline nasion -> Cz -> inion at 10 % steps: Fpz 10, AFz 20, Fz 30, FCz 40, Cz 50, CPz 60,
  Pz 70, POz 80, Oz 90 %.
* Coronal left -> Cz -> right at 10 % steps: T7 10, C5 20, C3 30, C1 40, ..., T8 90 %.
* Each half circumference Fpz -> T7 -> Oz (and Fpz -> T8 -> Oz) at 10 % steps: Fp1, AF7, F7, FT7,
  (T7), TP7, P7, PO7, O1.
* Lines between the two half rings through the midline (e.g. F7 -> Fz -> F8): each half split in
  quarters: F5 25 %, F3 50 %, F1 75 % of F7 -> Fz (F3 "midway between F7 and Fz").

``coronal_reference`` picks the ends of the left-right arc: "preauricular" (LPA/RPA, the clinical
tape-measure definition, and what the Beam F3 "tragus-to-tragus" measures) or "lower-contour"
(FieldTrip's ``ft_electrodeplacement`` choice: the 50 % points of the nasion-LPA-inion and
nasion-RPA-inion contours, used to build MNE's fsaverage_10xx montages). See docs/targeting.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import (LANDMARK_MAX_OFF_SURFACE_MM, HeadAxes, SurfaceMesh,
                                                        SurfacePath, arc_through, as_surface, closest_point,
                                                        outward_normal, plane_section, ray_hit)
from tmsnav.navigation.targeting.targets import Evidence, Target, target_from_scalp

__all__ = ["HeadLandmarks", "ScalpPosition", "TenTwenty", "compute_ten_twenty", "estimate_inion", "as_point",
           "ten_twenty_target", "TEN_TWENTY_NAMES", "ALIASES", "TEN_TWENTY_EVIDENCE"]

TEN_TWENTY_NAMES = ("Fp1", "Fpz", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4",
                    "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "Oz", "O2")
ALIASES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}  # old 10-20 names
_MIDLINE = ("Fpz", "AFz", "Fz", "FCz", "Cz", "CPz", "Pz", "POz", "Oz")
_CORONAL = ("T7", "C5", "C3", "C1", "Cz", "C2", "C4", "C6", "T8")
_RING = ("Fp{}", "AF{}", "F{}", "FT{}", "T{}", "TP{}", "P{}", "PO{}", "O{}")
# (left ring point, midline point, right ring point, left names outward->in, right names in->out)
_LINES = (("AF7", "AFz", "AF8", {0.5: "AF3"}, {0.5: "AF4"}),
          ("F7", "Fz", "F8", {0.25: "F5", 0.5: "F3", 0.75: "F1"}, {0.25: "F2", 0.5: "F4", 0.75: "F6"}),
          ("FT7", "FCz", "FT8", {0.25: "FC5", 0.5: "FC3", 0.75: "FC1"}, {0.25: "FC2", 0.5: "FC4", 0.75: "FC6"}),
          ("TP7", "CPz", "TP8", {0.25: "CP5", 0.5: "CP3", 0.75: "CP1"}, {0.25: "CP2", 0.5: "CP4", 0.75: "CP6"}),
          ("P7", "Pz", "P8", {0.25: "P5", 0.5: "P3", 0.75: "P1"}, {0.25: "P2", 0.5: "P4", 0.75: "P6"}),
          ("PO7", "POz", "PO8", {0.5: "PO3"}, {0.5: "PO4"}))

TEN_TWENTY_EVIDENCE = Evidence(
    citation=("Jasper HH. The ten-twenty electrode system of the International Federation. "
              "Electroencephalogr Clin Neurophysiol 1958;10:371-375. Percent-arc construction: "
              "Oostenveld R, Praamstra P. Clin Neurophysiol 2001;112:713-719."),
    why="10-20 position measured on this patient's scalp; F3 is the common scalp proxy for left DLPFC.",
    doi="10.1016/S1388-2457(01)00460-6")


def as_point(value: object, what: str) -> np.ndarray:
    """One mm point from any 3-sequence, refused with ``what`` named when malformed or not finite."""
    try:
        p = np.array(value, dtype=float).reshape(3)
    except (TypeError, ValueError):
        raise NavigationError(f"{what} must be three coordinates in mm, got {value!r}") from None
    if not np.all(np.isfinite(p)):
        raise NavigationError(f"{what} has NaN or infinite coordinates")
    return p


@dataclass(frozen=True)
class HeadLandmarks:
    """Nasion, inion and preauricular points in ``mri`` RAS mm (all on or near the scalp)."""

    nasion: np.ndarray
    inion: np.ndarray
    lpa: np.ndarray
    rpa: np.ndarray

    def __post_init__(self) -> None:
        for name in ("nasion", "inion", "lpa", "rpa"):
            object.__setattr__(self, name, as_point(getattr(self, name), name.upper()))
        if np.linalg.norm(self.rpa - self.lpa) < 50 or np.linalg.norm(self.nasion - self.inion) < 50:
            raise NavigationError("landmarks are implausibly close together (< 50 mm): are they in mm?")
        # Patient-safety checks: in scanner RAS, a head cannot be turned more than 90 deg, so the
        # right ear is at larger x and the nasion anterior of the inion. Otherwise labels are
        # swapped or the image is flipped; continuing would put F3 on the wrong hemisphere.
        # (These must be absolute RAS checks: any relative check is blind to a consistent swap.)
        if self.rpa[0] <= self.lpa[0]:
            raise NavigationError("RPA is not to the right of LPA in RAS coordinates: the ear "
                                  "landmarks are swapped or the image is left-right flipped")
        if self.nasion[1] <= self.inion[1]:
            raise NavigationError("the nasion is not anterior of the inion in RAS coordinates: "
                                  "nasion and inion swapped, or the image is front-back flipped")

    @property
    def axes(self) -> HeadAxes:
        return HeadAxes.from_landmarks(self.nasion, self.lpa, self.rpa)


@dataclass(frozen=True)
class ScalpPosition:
    name: str
    point_mm: np.ndarray
    normal: np.ndarray  # unit, outward


@dataclass(frozen=True)
class TenTwenty:
    """10-20 / 10-10 positions plus the tape measurements taken on the mesh (mm)."""

    positions: dict[str, ScalpPosition]
    nasion_inion_mm: float
    left_right_mm: float
    circumference_mm: float
    coronal_reference: str
    landmarks: HeadLandmarks
    midline: SurfacePath
    coronal: SurfacePath
    left_ring: SurfacePath  # Fpz -> T7 -> Oz
    right_ring: SurfacePath  # Fpz -> T8 -> Oz

    def __getitem__(self, name: str) -> ScalpPosition:
        key = ALIASES.get(name, name)
        if key not in self.positions:
            raise NavigationError(f"unknown 10-10 position {name!r}")
        return self.positions[key]

    def point(self, name: str) -> np.ndarray:
        return self[name].point_mm


def _check_on_surface(surf: SurfaceMesh, lm: HeadLandmarks) -> None:
    for name in ("nasion", "inion", "lpa", "rpa"):
        p = getattr(lm, name)
        d = float(np.linalg.norm(closest_point(surf, p) - p))
        if d > LANDMARK_MAX_OFF_SURFACE_MM:
            raise NavigationError(f"the {name.upper()} landmark is {d:.0f} mm from the scalp surface: "
                                  "landmarks and mesh must be in the same frame and unit (mm)")


def compute_ten_twenty(mesh: "pv.PolyData | SurfaceMesh", landmarks: HeadLandmarks, *,
                       coronal_reference: str = "preauricular", tol_mm: float = 0.01,
                       max_iter: int = 50) -> TenTwenty:
    """All 10-20 and 10-10 positions on the scalp ``mesh`` (mri mm) from the four landmarks."""
    surf = as_surface(mesh)
    lm = landmarks
    _check_on_surface(surf, lm)
    if coronal_reference == "preauricular":
        left, right = lm.lpa, lm.rpa
    elif coronal_reference == "lower-contour":
        left = arc_through(surf, lm.nasion, lm.lpa, lm.inion, "left lower contour").point_at_fraction(0.5)
        right = arc_through(surf, lm.nasion, lm.rpa, lm.inion, "right lower contour").point_at_fraction(0.5)
    else:
        raise NavigationError(f"coronal_reference must be 'preauricular' or 'lower-contour', "
                              f"got {coronal_reference!r}")
    centre = (lm.nasion + lm.inion + left + right) / 4.0
    cz = ray_hit(surf, centre, lm.axes.superior, 400.0)
    if cz is None:
        raise NavigationError("no scalp found above the head centre: is the mesh a closed head "
                              "surface in the same frame as the landmarks?")
    for _ in range(max_iter):
        mid = arc_through(surf, lm.nasion, cz, lm.inion, "nasion-inion arc").point_at_fraction(0.5)
        new = arc_through(surf, left, mid, right, "left-right arc").point_at_fraction(0.5)
        moved = float(np.linalg.norm(new - cz))
        cz = new
        if moved < tol_mm:
            break
    else:
        raise NavigationError("the vertex (Cz) search did not converge; check the landmarks")
    midline = arc_through(surf, lm.nasion, cz, lm.inion, "nasion-inion arc")
    coronal = arc_through(surf, left, cz, right, "left-right arc")
    pts: dict[str, np.ndarray] = {}
    for i, name in enumerate(_MIDLINE):
        pts[name] = midline.point_at_fraction(0.1 * (i + 1))
    for i, name in enumerate(_CORONAL):
        pts[name] = coronal.point_at_fraction(0.1 * (i + 1))
    pts["Cz"] = cz
    rings = {}
    for side, t_name, suffix in (("left", "T7", ("1", "7", "7", "7", "7", "7", "7", "7", "1")),
                                 ("right", "T8", ("2", "8", "8", "8", "8", "8", "8", "8", "2"))):
        ring = arc_through(surf, pts["Fpz"], pts[t_name], pts["Oz"], f"{side} half circumference")
        rings[side] = ring
        for i, (pattern, s) in enumerate(zip(_RING, suffix)):
            name = pattern.format(s)
            if name not in ("T7", "T8"):  # T7/T8 stay where the coronal arc defines them
                pts[name] = ring.point_at_fraction(0.1 * (i + 1))
    for lname, mname, rname, lfrac, rfrac in _LINES:
        path = arc_through(surf, pts[lname], pts[mname], pts[rname], f"{lname}-{mname}-{rname} line")
        s_mid = path.locate(pts[mname])
        for f, name in lfrac.items():
            pts[name] = path.point_at_distance(f * s_mid)
        for f, name in rfrac.items():
            pts[name] = path.point_at_distance(s_mid + f * (path.length_mm - s_mid))
    positions = {n: ScalpPosition(n, p, outward_normal(surf, p)) for n, p in pts.items()}
    return TenTwenty(positions=positions, nasion_inion_mm=midline.length_mm,
                     left_right_mm=coronal.length_mm,
                     circumference_mm=rings["left"].length_mm + rings["right"].length_mm,
                     coronal_reference=coronal_reference, landmarks=lm, midline=midline,
                     coronal=coronal, left_ring=rings["left"], right_ring=rings["right"])


def estimate_inion(mesh: "pv.PolyData | SurfaceMesh", nasion: np.ndarray, lpa: np.ndarray,
                   rpa: np.ndarray) -> np.ndarray:
    """Approximate inion when none was marked: where the midsagittal plane meets the back of the
    scalp in the nasion-LPA-RPA plane. The true inion is often 5-20 mm higher; mark it on the
    MRI when the 10-20 positions matter (an NI arc error of x % moves Fz/Pz by x/10 of the arc)."""
    surf = as_surface(mesh)
    axes = HeadAxes.from_landmarks(nasion, lpa, rpa)
    plane_normal = np.cross(np.asarray(lpa, float) - nasion, np.asarray(rpa, float) - nasion)
    best = None
    for pts, _ in plane_section(surf, nasion, plane_normal):
        side = (pts - axes.origin) @ axes.right
        for i in np.nonzero(np.sign(side[:-1]) * np.sign(side[1:]) < 0)[0]:
            t = side[i] / (side[i] - side[i + 1])
            p = pts[i] + t * (pts[i + 1] - pts[i])
            if best is None or (p - axes.origin) @ axes.anterior < (best - axes.origin) @ axes.anterior:
                best = p
    if best is None or (best - axes.origin) @ axes.anterior > -40:
        raise NavigationError("could not find the back of the head in the fiducial plane; "
                              "mark the inion by hand")
    return best


def ten_twenty_target(result: TenTwenty, name: str, *,
                      brain_mesh: "pv.PolyData | SurfaceMesh | None" = None) -> Target:
    """A Target at a 10-20/10-10 position (e.g. "F3"), coil normal = inward scalp normal."""
    pos = result[name]
    return target_from_scalp(f"{pos.name} (10-20)", pos.point_mm, pos.normal, source="10-20",
                             evidence=TEN_TWENTY_EVIDENCE, head_axes=result.landmarks.axes,
                             brain_mesh=brain_mesh,
                             notes=f"{result.coronal_reference} coronal reference; "
                                   f"NI {result.nasion_inion_mm / 10:.1f} cm, "
                                   f"LR {result.left_right_mm / 10:.1f} cm")
