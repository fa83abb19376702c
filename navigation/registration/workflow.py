"""One call for the technician's registration step: fiducials, optional scalp ICP, TRE, verdict.

``register`` is what the registration panel calls when the technician presses "Register":
it raises :class:`RegistrationError` for inputs that cannot give a registration at all
(mismatched names, unit mix-up, mirrored or collinear fiducials, swapped LPA/RPA detected from
the surface points, too few surface points) and otherwise returns a
:class:`RegistrationResult` whose ``accepted`` flag and ``problems`` say whether it may be used.
A result that is not accepted must not drive navigation.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping, Sequence

import numpy as np

from ..progress import CancelToken, ProgressCallback, report
from .fiducials import check_scalp_side, register_fiducials
from .icp import IcpOptions, refine_with_surface
from .result import RegistrationResult
from .surface_index import SurfaceIndex
from .tre import fle_from_fre, predicted_tre, predicted_tre_from_covariance

__all__ = ["register"]


def register(mri_fiducials: Mapping[str, Sequence[float]],
             reference_fiducials: Mapping[str, Sequence[float]], *,
             scalp_points_reference: object = None, surface: SurfaceIndex | None = None,
             targets_mri: Mapping[str, Sequence[float]] | None = None,
             weights: Mapping[str, float] | None = None, fle_mm: float | None = None,
             icp_options: IcpOptions | None = None, now: datetime | None = None,
             progress: ProgressCallback | None = None, cancel: CancelToken | None = None
             ) -> RegistrationResult:
    """Register the patient: ``mri_from_reference`` from fiducials, refined on the scalp.

    :param mri_fiducials, reference_fiducials: name → (x, y, z) mm (planned / touched).
    :param scalp_points_reference: optional (N, 3) head-surface samples (reference frame);
        needs ``surface`` (the MRI scalp as a :class:`SurfaceIndex`).
    :param targets_mri: name → target (mri) at which TRE is predicted.
    :param fle_mm: known RMS fiducial localisation error; default: estimated from FRE.
    """
    report(progress, 0.0, "fitting fiducials", cancel)
    fid = register_fiducials(mri_fiducials, reference_fiducials, weights)
    targets = {str(k): np.asarray(v, dtype=float) for k, v in (targets_mri or {}).items()}
    fle = float(fle_mm) if fle_mm is not None else fle_from_fre(fid.fre_rms_mm, len(fid.names))
    fwm = predicted_tre(fid.mri_mm, np.array(list(targets.values())), fle) if targets else []
    problems = list(fid.problems)
    common = dict(
        timestamp=(now or datetime.now(timezone.utc)).isoformat(),
        fiducial_names=fid.names, fiducials_mri_mm=fid.mri_mm,
        fiducials_reference_mm=fid.reference_mm, fiducial_weights=fid.weights,
        fiducial_mri_from_reference=fid.mri_from_reference, fre_mm=fid.fre_mm,
        fre_rms_mm=fid.fre_rms_mm, fle_mm=fle,
        predicted_tre_fiducials_mm={k: float(v) for k, v in zip(targets, fwm)})
    if scalp_points_reference is None:
        report(progress, 1.0, "done", cancel)
        return RegistrationResult(method="fiducials", mri_from_reference=fid.mri_from_reference,
                                  accepted=fid.accepted, problems=tuple(problems), **common)
    if surface is None:
        raise ValueError("scalp_points_reference needs the MRI scalp surface (surface=...)")
    check_scalp_side(dict(zip(fid.names, fid.reference_mm)), scalp_points_reference)
    report(progress, 0.2, "matching the head surface", cancel)
    icp = refine_with_surface(scalp_points_reference, surface, fid.mri_from_reference,
                              fiducials_reference=fid.reference_mm, fiducials_mri=fid.mri_mm,
                              options=icp_options, cancel=cancel)
    if icp.failure_reason:
        problems.append(icp.failure_reason)
    tre_icp: dict[str, float] = {}
    if targets and icp.pose_covariance is not None:
        values = predicted_tre_from_covariance(icp.pose_covariance, icp.covariance_centre_mm,
                                               np.array(list(targets.values())))
        tre_icp = {k: float(v) for k, v in zip(targets, values)}
    report(progress, 1.0, "done", cancel)
    return RegistrationResult(
        method="fiducials+icp", mri_from_reference=icp.mri_from_reference,
        accepted=fid.accepted and icp.ok, problems=tuple(problems),
        scalp_points_reference_mm=np.asarray(scalp_points_reference, dtype=float),
        icp_distances_mm=icp.distances_mm, icp_inliers=icp.inliers, icp_rms_mm=icp.rms_mm,
        icp_iterations=icp.iterations, icp_converged=icp.converged,
        predicted_tre_icp_mm=tre_icp, **common)
