"""Live registration check: where is the pointer tip in the MRI, and how far from the skin?

After registration the technician touches the scalp and known landmarks (nasion, the tragus,
a marked spot); the panel shows the signed distance to the MRI scalp (outside positive: a tip
"inside" the head by several millimetres means the registration is off, not that the skin is
soft) and the distance to each named landmark. A good registration reads within a few
millimetres everywhere on the head.

:class:`ScalpVerification` turns those touches into the gate before navigation: a registration
is usable only after held-still touches on the scalp agree with it at two separate places away
from the landmarks it was fitted to, and never after one reads inside the head. Why: every
number a registration reports (FRE, surface RMS, predicted TRE) is computed from the same
points it was fitted to; a wrong registration can score well on all of them (LPA and RPA
touched in swapped order fit three fiducials perfectly). A touch elsewhere on the skin is an
independent check (Fitzpatrick 2009, *Fiducial registration error and target registration
error are uncorrelated*, Proc. SPIE 7261).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..transforms import Frame, Transform
from .pivot import tip_in_frame
from .rigid import as_points
from .surface_index import SurfaceIndex

__all__ = ["PointerCheck", "check_pointer", "tip_in_mri", "ScalpVerification",
           "VerificationTouch", "AGREE_MM", "MIN_PLACES", "MIN_SEPARATION_MM",
           "MIN_LANDMARK_DISTANCE_MM"]


@dataclass(frozen=True, eq=False)
class PointerCheck:
    tip_mri_mm: np.ndarray
    scalp_distance_mm: float | None          # signed, positive outside the head
    closest_scalp_mri_mm: np.ndarray | None
    landmark_distances_mm: dict[str, float] = field(default_factory=dict)

    @property
    def nearest_landmark(self) -> tuple[str, float] | None:
        if not self.landmark_distances_mm:
            return None
        name = min(self.landmark_distances_mm, key=self.landmark_distances_mm.__getitem__)
        return name, self.landmark_distances_mm[name]


def tip_in_mri(mri_from_reference: Transform, tracker_from_reference: np.ndarray,
               tracker_from_pointer: np.ndarray, tip_offset_mm: Sequence[float]) -> np.ndarray:
    """Pointer tip in mri:
    ``mri_from_reference @ reference_from_tracker @ tracker_from_pointer @ tip``."""
    if (mri_from_reference.to_frame, mri_from_reference.from_frame) != (Frame.MRI,
                                                                       Frame.REFERENCE):
        raise ValueError(f"expected mri_from_reference, got {mri_from_reference.name}")
    tip_reference = tip_in_frame(tracker_from_reference, tracker_from_pointer, tip_offset_mm)
    return mri_from_reference.apply(tip_reference)


def check_pointer(tip_mri_mm: Sequence[float], surface: SurfaceIndex | None = None,
                  landmarks_mri: Mapping[str, Sequence[float]] | None = None) -> PointerCheck:
    """Distances from the tip (mri, mm) to the scalp surface and to named landmarks."""
    tip = as_points(tip_mri_mm, "pointer tip", 1)[0]
    scalp_d, closest = None, None
    if surface is not None:
        cp = surface.closest(tip[None, :])
        scalp_d, closest = float(cp.signed_distances_mm[0]), cp.points[0]
    distances = {}
    for name, p in (landmarks_mri or {}).items():
        distances[str(name)] = float(np.linalg.norm(as_points(p, str(name), 1)[0] - tip))
    return PointerCheck(tip_mri_mm=tip, scalp_distance_mm=scalp_d, closest_scalp_mri_mm=closest,
                        landmark_distances_mm=distances)


# ----- the verification gate -------------------------------------------------------------------
#: On the skin the tip should read within this of the MRI scalp (skin compression, segmentation
#: and a good registration's error together stay under ~2-3 mm; West et al. 2001 report surface
#: registration TRE of 2-4 mm at the scalp for clinical systems).
AGREE_MM = 3.0
#: Agreement must be shown at this many places on the head ...
MIN_PLACES = 2
#: ... at least this far apart (two touches 1 cm apart test one spot twice).
MIN_SEPARATION_MM = 30.0
#: A touch this close to a registration landmark checks nothing: the fit was made to agree there,
#: even when it is mirrored (LPA/RPA swapped fits the three landmarks perfectly).
MIN_LANDMARK_DISTANCE_MM = 25.0


@dataclass(frozen=True)
class VerificationTouch:
    """One held-still touch and what it says about the registration."""

    tip_mri_mm: np.ndarray
    scalp_distance_mm: float
    verdict: str        # "agrees" | "inside" | "off_skin" | "near_landmark" | "same_place"
    message: str


@dataclass
class ScalpVerification:
    """Collects held-still pointer touches on the scalp under one registration and decides
    whether that registration may be used for navigation.

    A touch *agrees* when the tip reads within ``agree_mm`` of the MRI scalp, at least
    ``min_landmark_distance_mm`` from every registration landmark. A touch reading more than
    ``agree_mm`` *inside* the head disagrees: a tip cannot be inside the skin, so the
    registration is wrong, and the gate stays shut until a new registration (``blocked``). A
    touch reading outside is not counted (the tip may be in the air). ``verified`` needs
    agreement at ``min_places`` places ``min_separation_mm`` apart and no disagreement.
    """

    landmarks_mri: Mapping[str, Sequence[float]] = field(default_factory=dict)
    agree_mm: float = AGREE_MM
    min_places: int = MIN_PLACES
    min_separation_mm: float = MIN_SEPARATION_MM
    min_landmark_distance_mm: float = MIN_LANDMARK_DISTANCE_MM
    touches: list[VerificationTouch] = field(default_factory=list)

    @property
    def agreeing(self) -> list[VerificationTouch]:
        return [t for t in self.touches if t.verdict == "agrees"]

    @property
    def blocked(self) -> VerificationTouch | None:
        """The first touch that read inside the head (the registration is wrong), if any."""
        return next((t for t in self.touches if t.verdict == "inside"), None)

    @property
    def verified(self) -> bool:
        return self.blocked is None and len(self.agreeing) >= self.min_places

    def status(self) -> str:
        """One sentence for the user: what is still needed, or why it cannot pass."""
        bad = self.blocked
        if bad is not None:
            return (f"The registration is wrong: a touch read {abs(bad.scalp_distance_mm):.0f} mm "
                    "inside the head. Do not navigate: redo the registration (fiducials first).")
        n = len(self.agreeing)
        if n >= self.min_places:
            return (f"The registration agrees with the scalp at {n} places: press Verified to "
                    "navigate with it.")
        need = self.min_places - n
        return (f"Touch the scalp and hold still at {need} more place{'s' if need > 1 else ''}, "
                f"away from the landmarks and {self.min_separation_mm:.0f} mm apart "
                "(forehead, top of the head, the sides).")

    def add(self, check: PointerCheck) -> VerificationTouch:
        """Judge one held-still touch (``check`` from :func:`check_pointer`) and keep it."""
        d = check.scalp_distance_mm
        tip = np.asarray(check.tip_mri_mm, float)
        if d is None:
            raise ValueError("a verification touch needs the MRI scalp surface")
        near = [(n, float(np.linalg.norm(tip - np.asarray(p, float))))
                for n, p in self.landmarks_mri.items()]
        close = [(n, dist) for n, dist in near if dist < self.min_landmark_distance_mm]
        if d < -self.agree_mm:
            verdict, msg = "inside", (f"The tip reads {abs(d):.1f} mm inside the head: the "
                                      "registration is off.")
        elif d > self.agree_mm:
            verdict, msg = "off_skin", (f"The tip reads {d:.1f} mm outside the scalp: put it on "
                                        "the skin (if it is on the skin, the registration is off).")
        elif close:
            verdict, msg = "near_landmark", (
                f"{d:+.1f} mm, but {close[0][1]:.0f} mm from the landmark '{close[0][0]}' the "
                "registration was fitted to: touch farther from the landmarks.")
        elif any(np.linalg.norm(tip - t.tip_mri_mm) < self.min_separation_mm
                 for t in self.agreeing):
            verdict, msg = "same_place", (f"{d:+.1f} mm, at a place already checked: touch "
                                          f"{self.min_separation_mm:.0f} mm or more away.")
        else:
            verdict, msg = "agrees", f"{d:+.1f} mm from the MRI scalp: agrees."
        touch = VerificationTouch(tip, float(d), verdict, msg)
        self.touches.append(touch)
        return touch
