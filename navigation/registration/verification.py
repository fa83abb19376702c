"""Live registration check: where is the pointer tip in the MRI, and how far from the skin?

After registration the technician touches the scalp and known landmarks (nasion, the tragus,
a marked spot); the panel shows the signed distance to the MRI scalp (outside positive: a tip
"inside" the head by several millimetres means the registration is off, not that the skin is
soft) and the distance to each named landmark. A good registration reads within a few
millimetres everywhere on the head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..transforms import Frame, Transform
from .pivot import tip_in_frame
from .rigid import as_points
from .surface_index import SurfaceIndex

__all__ = ["PointerCheck", "check_pointer", "tip_in_mri"]


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
