"""Early warning while fiducials are being touched: does each new point fit the ones before?

A rigid registration preserves distances, so before any fit is possible (fewer than three
points) the distance between two touched landmarks must already match the distance between the
same two landmarks in the MRI, up to the localisation errors of both (2-3 mm each for anatomical
landmarks, so a difference of up to ~6 mm is normal). A larger difference means the wrong spot
was touched (or planned), and the technician can redo that one point at once instead of learning
it from a bad FRE after all of them.
"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping, Sequence

import numpy as np

__all__ = ["DistanceMismatch", "distance_mismatches", "DEFAULT_TOLERANCE_MM"]

DEFAULT_TOLERANCE_MM = 10.0


class DistanceMismatch(tuple):
    """``(name_a, name_b, mri_distance_mm, touched_distance_mm)`` with a message."""

    @property
    def message(self) -> str:
        a, b, d_mri, d_touch = self
        longer = "farther from" if d_touch > d_mri else "closer to"
        return (f"'{b}' was touched {abs(d_touch - d_mri):.0f} mm {longer} '{a}' than in the MRI "
                f"({d_touch:.0f} mm vs {d_mri:.0f} mm): one of them is on the wrong spot.")


def distance_mismatches(mri_points: Mapping[str, Sequence[float]],
                        touched_points: Mapping[str, Sequence[float]],
                        tolerance_mm: float = DEFAULT_TOLERANCE_MM) -> list[DistanceMismatch]:
    """Pairs of touched landmarks whose distance differs from the MRI by more than the tolerance.

    Only names present in both mappings are compared; order follows ``touched_points``.
    """
    names = [n for n in touched_points if n in mri_points]
    out = []
    for a, b in combinations(names, 2):
        d_mri = float(np.linalg.norm(np.subtract(mri_points[a], mri_points[b], dtype=float)))
        d_touch = float(np.linalg.norm(np.subtract(touched_points[a], touched_points[b],
                                                   dtype=float)))
        if abs(d_touch - d_mri) > tolerance_mm:
            out.append(DistanceMismatch((a, b, d_mri, d_touch)))
    return out
