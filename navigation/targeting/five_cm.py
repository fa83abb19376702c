"""The "5-cm rule": from the motor hotspot, 5 cm anterior along the scalp (5.5 / 6 cm variants).

George MS, Wassermann EM, Williams WA, et al. Daily repetitive transcranial magnetic stimulation
(rTMS) improves mood in depression. NeuroReport 1995;6:1853-1856; Pascual-Leone A, Rubio B,
Pallardo F, Catala MD. Lancet 1996;348:233-237. Later trials used 5.5 or 6 cm to move the site
forward. The rule ignores head size, so it lands on premotor cortex rather than DLPFC in a large
share of patients (Herwig et al. 2001, Biol Psychiatry 50:58).

Geometry: "anterior" is the nasion direction of the head (from the fiducials, so an oblique head
in the scanner does not tilt it), projected onto the scalp's tangent plane at the hotspot; the
walk follows the normal section in that direction (great circle on a sphere), i.e. the straight
parasagittal tape line a clinician lays from the hotspot toward the forehead.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import (LANDMARK_MAX_OFF_SURFACE_MM, HeadAxes, SurfaceMesh,
                                                        SurfacePath, as_surface, closest_point,
                                                        outward_normal, walk)
from tmsnav.navigation.targeting.targets import Evidence, Target, target_from_scalp

__all__ = ["five_cm_point", "five_cm_target", "FIVE_CM_EVIDENCE"]

FIVE_CM_EVIDENCE = Evidence(
    citation=("George MS, Wassermann EM, Williams WA, et al. Daily repetitive transcranial magnetic "
              "stimulation (rTMS) improves mood in depression. NeuroReport 1995;6:1853-1856. "
              "Pascual-Leone A, et al. Lancet 1996;348:233-237."),
    why=("Historic scalp rule for left DLPFC from the motor hotspot; often lands on premotor "
         "cortex, prefer F3/Beam F3 or MRI targets when available."))


def five_cm_point(mesh: "pv.PolyData | SurfaceMesh", hotspot_mm: np.ndarray, head_axes: HeadAxes,
                  distance_mm: float = 50.0) -> tuple[np.ndarray, np.ndarray, SurfacePath]:
    """(scalp point, outward normal, walked path) ``distance_mm`` anterior of the hotspot."""
    if not np.isfinite(distance_mm) or distance_mm <= 0:
        raise NavigationError(f"the distance must be a positive number of mm, got {distance_mm}")
    if distance_mm < 10.0:
        raise NavigationError(f"a {distance_mm:g} mm move is not the 5-cm rule: distances are in "
                              f"millimetres ({distance_mm:g} cm = {10 * distance_mm:g} mm)")
    if distance_mm > 100.0:
        raise NavigationError(f"{distance_mm:g} mm is beyond any published variant (50-60 mm)")
    surf = as_surface(mesh)
    hotspot = np.asarray(hotspot_mm, float).reshape(3)
    on_scalp = closest_point(surf, hotspot)
    off = float(np.linalg.norm(on_scalp - hotspot))
    if off > LANDMARK_MAX_OFF_SURFACE_MM:
        raise NavigationError(f"the motor hotspot is {off:.0f} mm from the scalp: pick it on the scalp")
    path = walk(surf, on_scalp, head_axes.anterior, distance_mm)
    end = path.points[-1]
    if (end - on_scalp) @ head_axes.anterior <= 0:
        raise NavigationError("the walk from the hotspot did not move anterior; check the landmarks")
    return end, outward_normal(surf, end), path


def five_cm_target(mesh: "pv.PolyData | SurfaceMesh", hotspot_mm: np.ndarray, head_axes: HeadAxes,
                   distance_mm: float = 50.0, *,
                   brain_mesh: "pv.PolyData | SurfaceMesh | None" = None) -> Target:
    """The 5-cm (or 5.5 / 6-cm) rule target; handle and side follow the hotspot's hemisphere."""
    point, normal, path = five_cm_point(mesh, hotspot_mm, head_axes, distance_mm)
    label = f"{distance_mm / 10:g}-cm rule"
    return target_from_scalp(label, point, normal, source="5-cm-rule", evidence=FIVE_CM_EVIDENCE,
                             head_axes=head_axes, side=head_axes.side_of(np.asarray(hotspot_mm, float)),
                             brain_mesh=brain_mesh,
                             notes=f"{path.length_mm:.1f} mm anterior of the motor hotspot along the scalp")
