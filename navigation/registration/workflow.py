"""One call for the technician's registration step: fiducials, side checks, optional scalp ICP,
an honest predicted error, and the record.

``register`` is what the registration panel calls when the technician presses "Register" or
"Fiducials only": it raises :class:`RegistrationError` for inputs that cannot give a
registration at all (mismatched names, unit mix-up, a mirror with four or more fiducials,
collinear fiducials, too few surface points for a surface match) and otherwise returns a
:class:`RegistrationResult` whose ``accepted`` flag and ``problems`` say whether it may be used.
A result that is not accepted must not drive navigation.

Both paths run the same left/right checks on the head-surface points (``sides.py``): three
fiducials touched with LPA and RPA swapped fit as well as the truth (a 180° turn of the head),
so *every* registration needs some scalp touches — at least ``MIN_CHECK_POINTS`` for
"fiducials only" — and one with LPA and RPA swapped is returned not accepted with the cause.

The predicted error shown to the user is a 95 % bound that says what it includes (``bias.py``):
the random error (touch noise through the fit, at ``BOUND_SIGMAS`` × its RMS) plus the
systematic error a uniform offset of the points or a scale error of the MRI would cause at the
target, estimated from the points themselves.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

import numpy as np

from ..progress import CancelToken, ProgressCallback, report
from .bias import BOUND_SIGMAS, analyse_surface_bias
from .fiducials import register_fiducials
from .icp import IcpOptions, refine_with_surface
from .result import RegistrationResult
from .rigid import as_points
from .sides import MIN_CHECK_POINTS, check_sides
from .surface_index import SurfaceIndex
from .tre import fle_from_fre, predicted_tre, predicted_tre_from_covariance

__all__ = ["register", "DEFAULT_FLE_MM", "MAX_CHECK_MEDIAN_MM"]

#: FLE assumed at least (3-D RMS, mm) for anatomical landmarks touched with a pointer. With
#: three fiducials FRE has three degrees of freedom, so the FRE-based estimate alone is below
#: half the true FLE in about 1 session in 10 (χ²₃); it may raise this figure, never lower it.
DEFAULT_FLE_MM = 3.0
#: Fiducials only: the check touches' median distance to the MRI scalp above which the
#: fiducial registration is refused (a fiducial-only fit is good to a few mm at the scalp).
MAX_CHECK_MEDIAN_MM = 8.0


def register(mri_fiducials: Mapping[str, Sequence[float]],
             reference_fiducials: Mapping[str, Sequence[float]], *,
             scalp_points_reference: object = None, surface: SurfaceIndex | None = None,
             refine: bool = True,
             targets_mri: Mapping[str, Sequence[float]] | None = None,
             weights: Mapping[str, float] | None = None, fle_mm: float | None = None,
             icp_options: IcpOptions | None = None, now: datetime | None = None,
             progress: ProgressCallback | None = None, cancel: CancelToken | None = None
             ) -> RegistrationResult:
    """Register the patient: ``mri_from_reference`` from fiducials, refined on the scalp.

    :param mri_fiducials, reference_fiducials: name → (x, y, z) mm (planned / touched).
    :param scalp_points_reference: (N, 3) head-surface samples (reference frame); needs
        ``surface`` (the MRI scalp as a :class:`SurfaceIndex`). Without them (or with fewer
        than ``MIN_CHECK_POINTS``) left/right cannot be checked and the result is not accepted.
    :param refine: False for "fiducials only": the points only check the fiducial fit.
    :param targets_mri: name → target (mri) at which the error is predicted.
    :param fle_mm: known RMS fiducial localisation error; default: the FRE-based estimate, but
        at least ``DEFAULT_FLE_MM``.
    """
    report(progress, 0.0, "fitting fiducials", cancel)
    fid = register_fiducials(mri_fiducials, reference_fiducials, weights)
    targets = {str(k): np.asarray(v, dtype=float) for k, v in (targets_mri or {}).items()}
    fle = float(fle_mm) if fle_mm is not None else max(
        fle_from_fre(fid.fre_rms_mm, len(fid.names)), DEFAULT_FLE_MM)
    fwm: Sequence[float] | np.ndarray = (
        predicted_tre(fid.mri_mm, np.array(list(targets.values())), fle) if targets else [])
    fwm_by_name = {k: float(v) for k, v in zip(targets, fwm)}
    problems = list(fid.problems)
    common: dict[str, Any] = dict(
        timestamp=(now or datetime.now(timezone.utc)).isoformat(),
        fiducial_names=fid.names, fiducials_mri_mm=fid.mri_mm,
        fiducials_reference_mm=fid.reference_mm, fiducial_weights=fid.weights,
        fiducial_mri_from_reference=fid.mri_from_reference, fre_mm=fid.fre_mm,
        fre_rms_mm=fid.fre_rms_mm, fle_mm=fle, predicted_tre_fiducials_mm=fwm_by_name)
    fiducial_bound = {k: BOUND_SIGMAS * v for k, v in fwm_by_name.items()}
    fiducials_only: dict[str, Any] = dict(
        method="fiducials", mri_from_reference=fid.mri_from_reference,
        predicted_error_mm=dict(fiducial_bound), predicted_error_random_mm=dict(fiducial_bound),
        predicted_error_systematic_mm={})     # not measurable without a surface fit

    points = None
    if scalp_points_reference is not None:
        raw = np.asarray(scalp_points_reference, dtype=float)
        points = raw.reshape(0, 3) if raw.size == 0 else as_points(raw, "head-surface points")
    if points is None or len(points) < MIN_CHECK_POINTS:
        n = 0 if points is None else len(points)
        problems.append(
            f"Left and right cannot be checked: {n} scalp touches (need at least "
            f"{MIN_CHECK_POINTS}). Three fiducials touched with LPA and RPA swapped fit as well "
            "as the right ones; touch the forehead, the top and both sides of the head, then "
            "register again.")
        report(progress, 1.0, "done", cancel)
        return RegistrationResult(accepted=False, problems=tuple(problems),
                                  scalp_points_reference_mm=np.zeros((0, 3)) if points is None
                                  else points, **fiducials_only, **common)
    if surface is None:
        raise ValueError("scalp_points_reference needs the MRI scalp surface (surface=...)")
    fid_distances = surface.signed_distance(fid.mri_from_reference.apply(points))
    side_problem = check_sides(fid, points, surface, fid_distances)
    if side_problem is not None or not refine:
        if side_problem is not None:
            problems.insert(0, side_problem)
        else:
            median = float(np.median(np.abs(fid_distances)))
            if median > MAX_CHECK_MEDIAN_MM:
                problems.append(
                    f"The scalp touches lie {median:.0f} mm (median) from the MRI scalp under "
                    f"the fiducial registration (limit {MAX_CHECK_MEDIAN_MM:.0f} mm): a fiducial "
                    "is on the wrong spot, or the head reference moved. Redo the fiducials.")
        report(progress, 1.0, "done", cancel)
        return RegistrationResult(
            accepted=fid.accepted and not problems, problems=tuple(problems),
            scalp_points_reference_mm=points, icp_distances_mm=fid_distances,
            mean_surface_distance_mm=float(np.mean(fid_distances)), **fiducials_only, **common)

    report(progress, 0.2, "matching the head surface", cancel)
    opt = icp_options or IcpOptions()
    icp = refine_with_surface(points, surface, fid.mri_from_reference,
                              fiducials_reference=fid.reference_mm, fiducials_mri=fid.mri_mm,
                              options=opt, cancel=cancel)
    if icp.failure_reason:
        problems.append(icp.failure_reason)
    tre_icp: dict[str, float] = {}
    if targets and icp.pose_covariance is not None:
        values = predicted_tre_from_covariance(icp.pose_covariance, icp.covariance_centre_mm,
                                               np.array(list(targets.values())))
        tre_icp = {k: float(v) for k, v in zip(targets, values)}
    report(progress, 0.7, "checking for systematic offsets", cancel)
    # without the bias analysis (too few inliers, a singular fit) the bound is the random part
    # alone, said so in the problems: never the bare RMS
    extra: dict[str, Any] = dict(
        predicted_error_mm={k: BOUND_SIGMAS * v for k, v in tre_icp.items()},
        predicted_error_random_mm={k: BOUND_SIGMAS * v for k, v in tre_icp.items()},
        predicted_error_systematic_mm={})
    try:
        if int(np.sum(icp.inliers)) < MIN_CHECK_POINTS + 7:
            raise ValueError("too few surface points fit the scalp")
        per_axis = opt.fiducial_fle_mm / np.sqrt(3.0)
        bias = analyse_surface_bias(
            points, surface, icp.mri_from_reference, icp.inliers,
            fiducials_reference=fid.reference_mm, fiducials_mri=fid.mri_mm,
            fiducial_weight=(opt.surface_sigma_mm / per_axis) ** 2,
            fiducial_fle_mm=opt.fiducial_fle_mm)
        errors = {k: bias.target_error(icp.mri_from_reference, t) for k, t in targets.items()}
        extra = dict(
            predicted_error_mm={k: e.bound_mm for k, e in errors.items()},
            predicted_error_random_mm={k: e.random_95_mm for k, e in errors.items()},
            predicted_error_systematic_mm={k: e.systematic_mm for k, e in errors.items()},
            surface_offset_mm=bias.offset_mm, surface_offset_se_mm=bias.offset_se_mm,
            head_scale=bias.head_scale, head_scale_se=bias.head_scale_se,
            bias_cause=bias.likely_cause, mean_surface_distance_mm=bias.mean_distance_mm)
    except (ValueError, np.linalg.LinAlgError):
        pass            # surface_offset_mm stays None: the verdict warns that it is missing
    report(progress, 1.0, "done", cancel)
    return RegistrationResult(
        method="fiducials+icp", mri_from_reference=icp.mri_from_reference,
        accepted=fid.accepted and icp.ok, problems=tuple(problems),
        scalp_points_reference_mm=points,
        icp_distances_mm=icp.distances_mm, icp_inliers=icp.inliers, icp_rms_mm=icp.rms_mm,
        icp_iterations=icp.iterations, icp_converged=icp.converged,
        predicted_tre_icp_mm=tre_icp, **extra, **common)
