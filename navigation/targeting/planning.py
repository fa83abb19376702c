"""Small pure helpers behind the planning panel: landmarks from the image's fiducials, a target
from any point (cursor, typed MNI or mri coordinate), the coil model for the field, and the
handle-angle edit.

Why these live here and not in ``app/``: each is a rule a clinic relies on (which landmark came
from where, how a point becomes a coil pose) and is tested without a window.

Point -> coil pose (:func:`point_target`): the coil entry is the closest scalp point and the coil
axis is the inward scalp normal there, the SimNIBS convention also used by
:func:`tmsnav.navigation.targeting.literature.map_to_patient` (for a closest point on a smooth surface
the axis passes through the point). A point *on* the scalp (within ``ON_SCALP_MM``) is taken as
the coil entry itself and its cortex point is found under it (:func:`targets.cortex_below`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.transforms import Frame, Transform

from .coil_dipoles import GENERIC_FIG8_70, CoilWindings
from .efield import DEFAULT_DIDT_AT_100_PERCENT_A_PER_S, EfieldResult, simulate
from .orientation import OrientationResult, optimise_orientation, rotated_about_normal
from .scalp_geometry import (LANDMARK_MAX_OFF_SURFACE_MM, HeadAxes, SurfaceMesh, as_surface,
                             closest_point, outward_normal)
from .targets import (MAX_CORTEX_DEPTH_MM, Evidence, Target, default_handle_direction,
                      target_from_scalp)
from .ten_twenty import HeadLandmarks, as_point, estimate_inion

__all__ = ["LandmarkChoice", "ON_SCALP_MM", "MANUAL_EVIDENCE", "FIDUCIAL_ALIASES", "find_fiducial",
           "head_axes_from", "landmarks_from", "point_target", "mni_to_mri", "mri_to_mni",
           "coil_windings_for", "with_handle_angle", "unique_name", "field_for_target",
           "orientation_for_target", "cortical_normal"]

GENERIC_COIL_FILE = "generic-fig8-70.json"
ON_SCALP_MM = 3.0   # a point this close to the scalp is a coil position, not a cortical target
MANUAL_EVIDENCE = Evidence(citation="Chosen by the clinician",
                           why="Placed by hand at the cursor or at a typed coordinate.")
FIDUCIAL_ALIASES = {"nasion": ("nasion", "nas", "nz", "n"), "inion": ("inion", "iz", "in"),
                    "lpa": ("lpa", "al", "left_ear", "left preauricular"),
                    "rpa": ("rpa", "ar", "right_ear", "right preauricular")}


def find_fiducial(fiducials_mm: Mapping[str, Any] | None, name: str) -> np.ndarray | None:
    """The fiducial ``name`` ("nasion", "inion", "lpa", "rpa") under any usual label, or None."""
    if not fiducials_mm:
        return None
    lowered = {str(k).strip().lower(): v for k, v in fiducials_mm.items()}
    for alias in FIDUCIAL_ALIASES[name]:
        if alias in lowered and lowered[alias] is not None:
            return as_point(lowered[alias], name.upper())
    return None


@dataclass(frozen=True)
class LandmarkChoice:
    """The four landmarks used for 10-20 / Beam F3, and where each came from."""

    landmarks: HeadLandmarks
    origin: dict[str, str]         # landmark -> "image fiducials", "cursor" or "estimated"
    notes: tuple[str, ...] = ()


def _collect(fiducials_mm: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None,
             names: Iterable[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    points, origin = {}, {}
    for name in names:
        if overrides and overrides.get(name) is not None:
            points[name], origin[name] = as_point(overrides[name], name.upper()), "cursor"
            continue
        p = find_fiducial(fiducials_mm, name)
        if p is not None:
            points[name], origin[name] = p, "image fiducials"
    return points, origin


def head_axes_from(fiducials_mm: Mapping[str, Any] | None,
                   overrides: Mapping[str, Any] | None = None) -> HeadAxes:
    """Head axes (right, anterior) from nasion, LPA and RPA (user-set ones take precedence)."""
    points, _ = _collect(fiducials_mm, overrides, ("nasion", "lpa", "rpa"))
    missing = [n.upper() for n in ("nasion", "lpa", "rpa") if n not in points]
    if missing:
        raise NavigationError(f"this needs the nasion, LPA and RPA; missing: {', '.join(missing)}. "
                              "Put the cursor on each and press its 'Set from cursor' button.")
    if points["rpa"][0] <= points["lpa"][0]:
        raise NavigationError("RPA is not to the right of LPA in RAS coordinates: the ear "
                              "landmarks are swapped or the image is left-right flipped")
    return HeadAxes.from_landmarks(points["nasion"], points["lpa"], points["rpa"])


def landmarks_from(fiducials_mm: Mapping[str, Any] | None, scalp: "pv.PolyData | SurfaceMesh",
                   overrides: Mapping[str, Any] | None = None) -> LandmarkChoice:
    """Nasion, inion, LPA, RPA: user-set (cursor) first, then the image's fiducials; a missing
    inion is estimated (:func:`ten_twenty.estimate_inion`) and the returned notes say so."""
    points, origin = _collect(fiducials_mm, overrides, ("nasion", "inion", "lpa", "rpa"))
    missing = [n.upper() for n in ("nasion", "lpa", "rpa") if n not in points]
    if missing:
        raise NavigationError(f"10-20 positions need the nasion, LPA and RPA; missing: "
                              f"{', '.join(missing)}. Put the cursor on each and press its "
                              "'Set from cursor' button.")
    notes = []
    if "inion" not in points:
        points["inion"] = estimate_inion(scalp, points["nasion"], points["lpa"], points["rpa"])
        origin["inion"] = "estimated"
        notes.append("inion estimated as the back of the scalp in the nasion-LPA-RPA plane "
                     "(often 5-20 mm too low): set it from the cursor when 10-20 positions matter")
    lm = HeadLandmarks(points["nasion"], points["inion"], points["lpa"], points["rpa"])
    return LandmarkChoice(lm, origin, tuple(notes))


def mni_to_mri(mri_from_mni: Transform, mni_mm: Any) -> np.ndarray:
    _check_mni(mri_from_mni)
    return mri_from_mni.apply(as_point(mni_mm, "MNI coordinate"))


def mri_to_mni(mri_from_mni: Transform, mri_mm: Any) -> np.ndarray:
    """Patient mri mm -> MNI152 mm (inverse of the 12-parameter affine)."""
    _check_mni(mri_from_mni)
    return mri_from_mni.inverse().apply(as_point(mri_mm, "mri coordinate"))


def _check_mni(mri_from_mni: Any) -> None:
    if not isinstance(mri_from_mni, Transform) or \
            (mri_from_mni.to_frame, mri_from_mni.from_frame) != (Frame.MRI, Frame.MNI):
        raise NavigationError("an MNI coordinate needs the mri_from_mni registration: register "
                              "the image to MNI first")


def point_target(name: str, point_mm: Any, scalp: "pv.PolyData | SurfaceMesh", *,
                 brain: "pv.PolyData | SurfaceMesh | None" = None, head_axes: HeadAxes | None = None,
                 source: str = "manual", evidence: Evidence = MANUAL_EVIDENCE,
                 mni_point_mm: Any = None, notes: str = "") -> Target:
    """A target at ``point_mm`` (mri mm): a scalp point becomes the coil entry (cortex under it
    from ``brain``); a point inside the head becomes the cortex point, reached from the closest
    scalp point along the inward normal. Points outside the head or deeper than TMS reaches
    are refused with the distance."""
    surf = as_surface(scalp)
    p = as_point(point_mm, f"{name} position")
    entry = closest_point(surf, p)
    n_out = outward_normal(surf, entry)
    offset = p - entry
    distance = float(np.linalg.norm(offset))
    axes = head_axes or HeadAxes.ras()
    extra = [] if head_axes is not None else ["handle from image axes (no fiducials)"]
    mni = None if mni_point_mm is None else as_point(mni_point_mm, "MNI coordinate")
    if distance <= ON_SCALP_MM:
        t = target_from_scalp(name, entry, n_out, source=source, evidence=evidence, head_axes=axes,
                              brain_mesh=brain, notes="; ".join([n for n in [notes, *extra] if n]))
        return t if mni is None else t.with_changes(mni_point_mm=mni)
    if float(offset @ n_out) > 0:
        if distance > LANDMARK_MAX_OFF_SURFACE_MM:
            raise NavigationError(f"{name}: the point is {distance:.0f} mm outside the scalp; "
                                  "put the cursor on the scalp or inside the head")
        t = target_from_scalp(name, entry, n_out, source=source, evidence=evidence, head_axes=axes,
                              brain_mesh=brain, notes="; ".join(
                                  [n for n in [notes, f"point {distance:.1f} mm outside the scalp "
                                               "moved onto it", *extra] if n]))
        return t if mni is None else t.with_changes(mni_point_mm=mni)
    if distance > MAX_CORTEX_DEPTH_MM:
        raise NavigationError(f"{name}: the point is {distance:.0f} mm below the scalp; TMS coils "
                              f"reach about 20-30 mm (limit here {MAX_CORTEX_DEPTH_MM:.0f} mm)")
    z = -n_out
    miss = float(np.linalg.norm(offset - z * (offset @ z)))
    all_notes = [notes, "entry = closest scalp point (SimNIBS convention)",
                 f"coil axis passes {miss:.1f} mm from the point", *extra]
    return Target(name=name, scalp_point_mm=entry, normal=z,
                  handle_direction=default_handle_direction(z, axes, axes.side_of(p)),
                  source=source, evidence=evidence, cortex_point_mm=p, mni_point_mm=mni,
                  notes="; ".join(n for n in all_notes if n))


def coil_windings_for(definition: Any = None) -> CoilWindings:
    """Winding geometry of a loaded :class:`tmsnav.navigation.coils.CoilDefinition` (its ``windings``
    block), or of the generic 70 mm figure-8 file ``assets/coils/generic-fig8-70.json`` when no
    coil is chosen (the built-in copy of it if the file is not installed)."""
    if definition is None:
        from tmsnav.navigation.coils import COIL_ASSETS_DIR

        from .coil_dipoles import load_coil_windings

        path = COIL_ASSETS_DIR / GENERIC_COIL_FILE
        return load_coil_windings(path) if path.is_file() else GENERIC_FIG8_70
    if isinstance(definition, CoilWindings):
        return definition
    if not hasattr(definition, "to_dict"):
        raise NavigationError(f"not a coil definition: {type(definition).__name__}")
    return CoilWindings.from_definition(definition.to_dict())


def with_handle_angle(target: Target, angle_rad: float) -> Target:
    """The target with its handle turned by ``angle_rad`` about its coil normal (positive =
    clockwise seen from outside the head, :func:`orientation.rotated_about_normal`)."""
    if not np.isfinite(angle_rad):
        raise NavigationError(f"handle angle must be a finite number, got {angle_rad}")
    turned = rotated_about_normal(target.mri_from_target, float(angle_rad))
    handle = turned.matrix[:3, 1]
    handle = handle - target.normal * float(handle @ target.normal)   # exact perpendicularity
    handle = handle / np.linalg.norm(handle)
    note = f"handle turned {np.rad2deg(angle_rad):+.1f} deg"
    return target.with_changes(handle_direction=handle,
                               notes="; ".join(n for n in (target.notes, note) if n))


def unique_name(existing: Iterable[str], base: str) -> str:
    """``base``, or ``base 2``, ``base 3``... so two F3 targets can coexist."""
    names = set(existing)
    base = base.strip() or "target"
    if base not in names:
        return base
    k = 2
    while f"{base} {k}" in names:
        k += 1
    return f"{base} {k}"


def _cortex_point(target: Target) -> np.ndarray:
    if target.cortex_point_mm is None:
        raise NavigationError(f"target {target.name!r} has no cortex point (no brain surface was "
                              "loaded when it was made): the field at the target is unknown")
    return target.cortex_point_mm


def field_for_target(target: Target, cortex_points_mm: np.ndarray | None,
                     cortex_faces: np.ndarray | None, scalp_points_mm: np.ndarray,
                     windings: CoilWindings, *, stimulator_output_percent: float,
                     didt_at_100_percent_A_per_s: float = DEFAULT_DIDT_AT_100_PERCENT_A_PER_S
                     ) -> EfieldResult:
    """Field on the cortex mesh (vertices (N, 3) mm, triangles (M, 3)) for the coil at the
    planned pose (``mri_from_target``); plain arrays, so it can run on a worker thread."""
    if cortex_points_mm is None or len(cortex_points_mm) == 0:
        raise NavigationError("the field map needs a brain (cortex) surface; none is loaded")
    return simulate(target.mri_from_target, cortex_points_mm, scalp_points_mm, windings,
                    stimulator_output_percent=stimulator_output_percent,
                    didt_at_100_percent_A_per_s=didt_at_100_percent_A_per_s,
                    target_point_mm=_cortex_point(target), cortex_faces=cortex_faces)


def orientation_for_target(target: Target, scalp_points_mm: np.ndarray, windings: CoilWindings, *,
                           didt_A_per_s: float, direction: np.ndarray | None = None) -> OrientationResult:
    """Handle angle (relative to the target's current handle) maximising |E| at its cortex
    point, or |E . direction| when a cortical ``direction`` is given (unsigned: which way the
    current should cross the column is not settled for every target)."""
    return optimise_orientation(target.mri_from_target, _cortex_point(target), scalp_points_mm,
                                windings, direction=direction, signed=False, current_angle_rad=0.0,
                                didt_A_per_s=didt_A_per_s)


def cortical_normal(brain: "pv.PolyData | SurfaceMesh", point_mm: Any, radius_mm: float = 3.0) -> np.ndarray:
    """Outward normal of the brain surface at ``point_mm`` averaged over ``radius_mm``: the
    direction of the cortical columns there (the "cortical column cosine" model, Fox et al.
    2004, Hum Brain Mapp 22:1), used as the orientation objective's direction."""
    surf = as_surface(brain)
    p = closest_point(surf, as_point(point_mm, "cortex point"))
    return outward_normal(surf, p, radius_mm=radius_mm)
