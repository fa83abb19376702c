"""Left/right checks that every registration runs on its head-surface points.

Three fiducials always lie in one plane, so nasion–LPA–RPA touched with LPA and RPA swapped is
fitted by a rotation as well as the right order: the head turns 180° about the nasion–ear-midpoint
axis, the vertex lands under the chin, and the target is ~150 mm off while the FRE looks
perfect. The tracker frame is arbitrary, so the fiducials alone cannot tell; the scalp can.
Two independent tests, both from a handful of scalp touches (``MIN_CHECK_POINTS``):

* **plane side** (:func:`.fiducials.check_scalp_side`): touches over the forehead, top and
  sides lie above the LPA → RPA → nasion plane on the side of ``(RPA − LPA) × (nasion − LPA)``
  (superior); with swapped ears that normal flips and they come out below;
* **both assignments against the MRI scalp**: fit the fiducials as touched and with LPA/RPA
  exchanged, map the touches with each, and compare their median distance to the MRI scalp.
  The wrong assignment puts the upper head inside the neck and face, tens of millimetres off.

Either test failing refuses the registration with the words "LPA and RPA look swapped".

Limits: the plane test cannot tell swapped ears with touches on the upper head from the right
order with touches on the face or neck (both put the touches on the "wrong" side), so its
message names both. With swapped ears *and* touches on the face only, the plane test passes and
only the surface test can object: on a real head the face and the scalp differ in shape and it
does; on a phantom whose face is a plain ellipsoid it cannot. Hence the instruction (and the
coverage line of the scalp step): touch the forehead, the top and both sides.
"""

from __future__ import annotations

import numpy as np

from .errors import RegistrationError
from .fiducials import FiducialRegistration, canonical_name, check_scalp_side
from .rigid import fit_rigid
from .surface_index import SurfaceIndex

__all__ = ["check_sides", "MIN_CHECK_POINTS", "SWAP_MIN_MEDIAN_MM", "SWAP_RATIO"]

#: scalp touches needed before any registration may be used ("fiducials only" included)
MIN_CHECK_POINTS = 5
#: the swapped assignment must fit the touches this many times better (median distance) ...
SWAP_RATIO = 2.0
#: ... and the given assignment leave them at least this far (median, mm) from the scalp
SWAP_MIN_MEDIAN_MM = 5.0


def check_sides(fid: FiducialRegistration, points_reference: np.ndarray,
                surface: SurfaceIndex | None,
                distances_mm: np.ndarray | None = None) -> str | None:
    """The reason LPA and RPA look swapped, or None when both tests agree with the order.

    :param fid: the fiducial fit as touched.
    :param points_reference: (N, 3) scalp touches, head-reference frame.
    :param surface: the MRI scalp (None: only the plane test runs).
    :param distances_mm: signed distances of the touches under ``fid`` (computed if None).
    """
    names = [canonical_name(n) for n in fid.names]
    if not {"nasion", "lpa", "rpa"} <= set(names):
        return None                       # other landmark sets: the mirror test of fit_rigid
    touched = dict(zip(names, fid.reference_mm))
    try:
        check_scalp_side(touched, points_reference)
        plane_problem = None
    except RegistrationError as exc:
        plane_problem = str(exc)
    if surface is not None:
        given = distances_mm if distances_mm is not None else surface.signed_distance(
            fid.mri_from_reference.apply(points_reference))
        i, j = names.index("lpa"), names.index("rpa")
        swapped = fid.reference_mm.copy()
        swapped[[i, j]] = swapped[[j, i]]
        alt = fit_rigid(swapped, fid.mri_mm, fid.weights).matrix
        alt_d = surface.signed_distance(points_reference @ alt[:3, :3].T + alt[:3, 3])
        med_given = float(np.median(np.abs(given)))
        med_alt = float(np.median(np.abs(alt_d)))
        if med_given >= SWAP_MIN_MEDIAN_MM and med_alt * SWAP_RATIO <= med_given:
            return (f"LPA and RPA look swapped: the scalp touches lie {med_given:.0f} mm "
                    f"(median) from the MRI scalp with the fiducials as touched, "
                    f"{med_alt:.1f} mm with LPA and RPA exchanged. Touch LPA (the patient's "
                    "left ear) and RPA again.")
    if plane_problem is not None:
        # the same signature as touches on the face or neck with the right order: say both
        return ("LPA and RPA look swapped, or the scalp touches are on the face or neck. "
                + plane_problem + " If the touches were on the face, touch the forehead, the "
                "top and both sides instead.")
    return None
