"""Where on the head the scalp points are: a coverage summary that tells the technician what to add.

Surface matching (ICP) is only as good as the spread of the points: a patch on the forehead
alone lets the head slide and tilt (the ICP module refuses strips narrower than 40 mm). The
workflow therefore counts the points in five regions of the head and names the thin ones.

Regions are defined in head axes from the MRI fiducials (:class:`HeadAxes`: origin between LPA
and RPA, +right toward RPA, +anterior toward the nasion), looking from a centre
``CENTRE_ABOVE_EAR_LINE_MM`` above the ear line (roughly the middle of the skull, so the
directions spread evenly): **top** above ``TOP_ELEVATION_DEG`` elevation; below it, by azimuth,
**forehead** (within 45 deg of anterior), **left**, **right**, **back**. The back of the head is
often against a head rest, so it is recommended, not required.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..targeting.scalp_geometry import HeadAxes
from .fiducials import canonical_name

__all__ = ["REGIONS", "REQUIRED_REGIONS", "Coverage", "head_axes_from_fiducials",
           "scalp_coverage", "CENTRE_ABOVE_EAR_LINE_MM", "TOP_ELEVATION_DEG",
           "MIN_POINTS_PER_REGION"]

REGIONS = ("forehead", "left", "right", "top", "back")
REQUIRED_REGIONS = ("forehead", "left", "right", "top")
CENTRE_ABOVE_EAR_LINE_MM = 40.0
TOP_ELEVATION_DEG = 55.0
MIN_POINTS_PER_REGION = 10


@dataclass(frozen=True)
class Coverage:
    counts: dict[str, int]
    regions: np.ndarray               # (N,) region name of each point
    min_per_region: int

    @property
    def missing(self) -> list[str]:
        """Required regions with fewer than ``min_per_region`` points."""
        return [r for r in REQUIRED_REGIONS if self.counts.get(r, 0) < self.min_per_region]

    @property
    def complete(self) -> bool:
        return not self.missing

    def advice(self) -> str:
        if self.complete:
            return "Coverage is good." + ("" if self.counts.get("back", 0) >= self.min_per_region
                                          else " Points on the back of the head help too.")
        names = {"forehead": "the forehead", "left": "the left side", "right": "the right side",
                 "top": "the top of the head"}
        return "Add points on " + ", ".join(names[r] for r in self.missing) + "."


def head_axes_from_fiducials(fiducials_mri: Mapping[str, Sequence[float]]) -> HeadAxes:
    """Head axes from named fiducials (any of the usual spellings of nasion, LPA, RPA).

    :raises ValueError: when nasion, LPA or RPA is missing or the three are degenerate.
    """
    named = {canonical_name(k): v for k, v in fiducials_mri.items()}
    missing = [k for k in ("nasion", "lpa", "rpa") if k not in named]
    if missing:
        raise ValueError(f"head axes need nasion, LPA and RPA; missing: {', '.join(missing)}")
    try:
        return HeadAxes.from_landmarks(*(np.asarray(named[k], dtype=float)
                                         for k in ("nasion", "lpa", "rpa")))
    except Exception as exc:  # noqa: BLE001 - NavigationError or numpy: same meaning here
        raise ValueError(f"cannot build head axes from these fiducials: {exc}") from None


def scalp_coverage(points_mri: object, axes: HeadAxes, *,
                   min_per_region: int = MIN_POINTS_PER_REGION) -> Coverage:
    """Count the points (mri mm, already registered) in each head region."""
    p = np.asarray(points_mri, dtype=float).reshape(-1, 3)
    if not np.all(np.isfinite(p)):
        raise ValueError("scalp points contain NaN or infinite coordinates")
    superior = axes.superior / np.linalg.norm(axes.superior)
    centre = axes.origin + CENTRE_ABOVE_EAR_LINE_MM * superior
    d = p - centre
    norm = np.linalg.norm(d, axis=1)
    norm[norm == 0] = 1.0
    d = d / norm[:, None]
    elevation = np.degrees(np.arcsin(np.clip(d @ superior, -1.0, 1.0)))
    azimuth = np.degrees(np.arctan2(d @ axes.right, d @ axes.anterior))  # 0 front, +90 right
    regions = np.where(elevation > TOP_ELEVATION_DEG, "top",
                       np.where(np.abs(azimuth) <= 45.0, "forehead",
                                np.where(np.abs(azimuth) >= 135.0, "back",
                                         np.where(azimuth > 0, "right", "left"))))
    counts = {r: int(np.sum(regions == r)) for r in REGIONS}
    return Coverage(counts=counts, regions=regions.astype(str), min_per_region=int(min_per_region))
