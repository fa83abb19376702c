"""Imported targets checked against the open head: on its scalp, below it, or not on this head.

Other tools do not all store the coil position: a Brainsight *target* is often the point aimed at
in the cortex, with its trajectory as z (Rogue Research's targets are trajectories), while
tmsnav's target origin is where the coil sits on the scalp. Drawn as it is, such a target would
ask for the coil 15-30 mm inside the head. And a file made on another image, or in another
coordinate system, lands off this head altogether. So every imported target is classified:

* within ``ON_SCALP_MM`` of the scalp (a SimNIBS coil centre 4 mm above it included): kept;
* inside the head, with its axis leaving the scalp within ``MAX_DEPTH_MM`` towards the outside:
  moved out along its own axis to the scalp; the original point becomes its cortex point
  (same orientation, nothing guessed) and the note says so;
* outside the head with its normal pointing away from it (its axis enters the scalp going
  outwards): a flipped axis; kept but reported;
* anything else: kept but reported as *not on this head*, with the distance, for the user to
  check the image and coordinate system before using it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvista as pv

from tmsnav.navigation.targeting.scalp_geometry import SurfaceMesh, as_surface, closest_point, ray_hit
from tmsnav.navigation.targeting.targets import Target

__all__ = ["ScalpFit", "fit_to_scalp", "ON_SCALP_MM", "MAX_DEPTH_MM"]

ON_SCALP_MM = 6.0
MAX_DEPTH_MM = 60.0


@dataclass(frozen=True)
class ScalpFit:
    target: Target            # the target to use (moved to the scalp when it was a cortical point)
    kind: str                 # "on-scalp" | "moved-to-scalp" | "off-head" | "facing-away"
    distance_mm: float        # from the original point to the scalp
    message: str


def _entering(surf: SurfaceMesh, point: np.ndarray, direction: np.ndarray) -> bool:
    """True when a ray going along ``direction`` crosses the scalp at ``point`` inwards."""
    found: Any = surf.polydata.find_closest_cell(point)
    cell = int(found)
    return float(surf.face_normals[cell] @ direction) < 0


def fit_to_scalp(target: Target, scalp: "pv.PolyData | SurfaceMesh") -> ScalpFit:
    """Classify ``target`` against ``scalp`` (see the module docstring)."""
    surf = as_surface(scalp)
    p = target.scalp_point_mm
    d = float(np.linalg.norm(closest_point(surf, p) - p))
    if d <= ON_SCALP_MM:
        return ScalpFit(target, "on-scalp", d, f"{target.name}: on the scalp ({d:.1f} mm)")
    hit = ray_hit(surf, p, -target.normal, MAX_DEPTH_MM)
    if hit is not None and _entering(surf, hit, -target.normal):
        return ScalpFit(target, "facing-away", d,
                        f"{target.name}: {d:.0f} mm outside the scalp with its coil normal "
                        "pointing away from the head: a flipped axis or another tool's convention?")
    if hit is not None:
        depth = float(np.linalg.norm(hit - p))
        note = (f"imported point was {depth:.1f} mm below the scalp along its axis (a cortical "
                "target): the coil position is where that axis leaves the scalp")
        moved = target.with_changes(scalp_point_mm=hit, cortex_point_mm=p,
                                    notes="; ".join(n for n in (target.notes, note) if n))
        return ScalpFit(moved, "moved-to-scalp", d, f"{target.name}: {note}")
    return ScalpFit(target, "off-head", d,
                    f"{target.name}: {d:.0f} mm from this head's scalp and not below it: was the "
                    "file made on another image or in another coordinate system?")
