"""Surface refinement: ICP of head-surface points (reference frame) onto the MRI scalp mesh.

Point-to-plane ICP (Chen & Medioni 1992) linearised per iteration as in Low 2004 (UNC TR04-004):
with the points ``x_i`` mapped by the current estimate, their closest scalp points ``q_i`` and
outward normals ``n_i``, solve for a small rotation ``ω`` (about the points' centroid ``c``) and
translation ``δ`` minimising ``Σ w_i (n_i·(x_i − q_i) + ((x_i − c) × n_i)·ω + n_i·δ)²``.

Robustness and safety:

* **normals** – the blended vertex pseudo-normals at the closest points, which vary
  continuously over the mesh; piecewise-constant face normals made the iteration fall into
  limit cycles of ~0.1 mm on the phantom;
* **convergence** – stop when no point moves more than ``tolerance_mm``, or after 3 iterations
  without a better cost (by 1e-6 relative) while points move less than ``stall_mm``;
* **outliers** – points farther than ``max(outlier_sigmas · σ, min_outlier_mm)`` from the scalp
  are dropped each iteration, σ being the MAD-based scale of the residuals; the rest get Huber
  weights (k = 1.345 σ);
* **fiducial term** – the fiducials stay in the cost with weight ``(σ_surface / σ_fiducial)²``
  (Gaussian maximum likelihood), so directions the scalp cannot fix (a near-spherical patch
  slides) stay where the fiducials put them;
* **guard** – after convergence the result may not move any fiducial more than
  ``max_fiducial_shift_mm`` nor rotate more than ``max_rotation_change_rad`` away from the
  fiducial-only solution, nor leave an inlier RMS above ``max_rms_mm``; otherwise
  ``failure_reason`` says why and ``ok`` is False.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from ..progress import CancelToken
from ..transforms import Frame, Transform, rotation_angle_rad
from .errors import RegistrationError
from .rigid import as_points
from .surface_index import SurfaceIndex

__all__ = ["IcpOptions", "IcpResult", "refine_with_surface", "MIN_SURFACE_POINTS"]

MIN_SURFACE_POINTS = 30
MIN_INLIER_FRACTION = 0.7
MIN_PATCH_EXTENT_MM = 40.0


@dataclass(frozen=True)
class IcpOptions:
    """Thresholds of :func:`refine_with_surface` (mm, radians); defaults are for a scalp sweep."""

    max_iterations: int = 50
    tolerance_mm: float = 0.05            # stop when no point moves more than this, or
    stall_mm: float = 0.2                 # when moves stay below this and the cost is flat
    outlier_sigmas: float = 3.0
    min_outlier_mm: float = 2.0           # never call a point within this distance an outlier
    huber_k: float = 1.345
    scale_iterations: int = 5             # re-estimate the robust scale σ only this often
    surface_sigma_mm: float = 0.5         # per-point noise + skin/segmentation mismatch
    fiducial_fle_mm: float = 3.0          # 3-D RMS fiducial localisation error
    max_fiducial_shift_mm: float = 10.0
    max_rotation_change_rad: float = np.deg2rad(10.0)
    max_rms_mm: float = 2.5


@dataclass(frozen=True, eq=False)
class IcpResult:
    """ICP outcome; ``distances_mm`` are signed (outside positive), per input point."""

    mri_from_reference: Transform
    initial_mri_from_reference: Transform
    distances_mm: np.ndarray
    inliers: np.ndarray
    rms_mm: float                       # RMS distance of the inliers
    iterations: int
    converged: bool
    fiducial_shift_mm: np.ndarray       # per fiducial, vs. the initial (fiducial-only) map
    rotation_change_rad: float
    failure_reason: str | None = None
    history_rms_mm: tuple[float, ...] = field(default=())
    #: 6x6 covariance of the small-motion parameters (rotation vector rad, translation mm)
    #: about ``covariance_centre_mm`` (mri), from the final point-to-plane normal matrix scaled
    #: by the residual variance: the statistical part of the error only (see tre.py).
    pose_covariance: np.ndarray | None = None
    covariance_centre_mm: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        return self.failure_reason is None

    @property
    def inlier_fraction(self) -> float:
        return float(np.mean(self.inliers)) if len(self.inliers) else 0.0

    def raise_if_failed(self) -> None:
        if self.failure_reason is not None:
            raise RegistrationError(self.failure_reason)


def _skew_rows(v: np.ndarray) -> np.ndarray:
    """(K, 3) → (K, 3, 3) cross-product matrices [v]×."""
    z = np.zeros(len(v))
    return np.stack([np.stack([z, -v[:, 2], v[:, 1]], 1),
                     np.stack([v[:, 2], z, -v[:, 0]], 1),
                     np.stack([-v[:, 1], v[:, 0], z], 1)], 1)


def _normal_equations(x: np.ndarray, normals: np.ndarray, r: np.ndarray, w: np.ndarray,
                      centre: np.ndarray, fid_x: np.ndarray, fid_mri: np.ndarray, lam: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton system ``h @ [ω, δ] = g`` of the point-to-plane + fiducial cost."""
    a = np.hstack([np.cross(x - centre, normals), normals])          # (N, 6)
    h = (a * w[:, None]).T @ a
    g = -(a * w[:, None]).T @ r
    if len(fid_x) and lam > 0:
        jf = np.concatenate([-_skew_rows(fid_x - centre),
                             np.broadcast_to(np.eye(3), (len(fid_x), 3, 3))], axis=2)  # (K,3,6)
        h = h + lam * np.einsum("kji,kjl->il", jf, jf)
        g = g - lam * np.einsum("kji,kj->i", jf, fid_x - fid_mri)
    return h, g


def _check_inputs(points: np.ndarray) -> None:
    if len(points) < MIN_SURFACE_POINTS:
        raise RegistrationError(
            f"Only {len(points)} head-surface points; collect at least {MIN_SURFACE_POINTS} "
            "(100–500 recommended) over the forehead, the top and both sides of the head.")
    sv = np.linalg.svd(points - points.mean(0), compute_uv=False)
    extent = 4.0 * sv[1] / np.sqrt(len(points))      # ≈ full width of the 2nd principal axis
    if extent < MIN_PATCH_EXTENT_MM:
        raise RegistrationError(
            f"The head-surface points cover a strip only about {extent:.0f} mm wide; spread "
            "them over the forehead, the top and both sides of the head.")


def refine_with_surface(scalp_points_reference: object, surface: SurfaceIndex,
                        initial_mri_from_reference: Transform, *,
                        fiducials_reference: object = None, fiducials_mri: object = None,
                        options: IcpOptions | None = None,
                        cancel: CancelToken | None = None) -> IcpResult:
    """Refine ``mri_from_reference`` by matching head-surface points to the MRI scalp.

    :param scalp_points_reference: (N, 3) pointer-tip samples on the scalp, reference frame.
    :param surface: the MRI scalp prepared with :class:`SurfaceIndex` (mri frame).
    :param initial_mri_from_reference: the fiducial solution (start and guard anchor).
    :param fiducials_reference, fiducials_mri: paired fiducials (K, 3) for the fiducial term and
        the drift guard; without them only the rotation guard applies.
    :raises RegistrationError: too few points or too small a patch (before any iteration).
    """
    opt = options or IcpOptions()
    if (initial_mri_from_reference.to_frame, initial_mri_from_reference.from_frame) != (
            Frame.MRI, Frame.REFERENCE):
        raise ValueError(f"expected mri_from_reference, got {initial_mri_from_reference.name}")
    try:
        pts = as_points(scalp_points_reference, "head-surface points", 1)
    except ValueError as exc:
        raise RegistrationError(str(exc)) from None
    _check_inputs(pts)
    if (fiducials_reference is None) != (fiducials_mri is None):
        raise ValueError("give both fiducials_reference and fiducials_mri, or neither")
    fid_ref = np.zeros((0, 3)) if fiducials_reference is None else as_points(
        fiducials_reference, "reference fiducials", 1)
    fid_mri = np.zeros((0, 3)) if fiducials_mri is None else as_points(
        fiducials_mri, "MRI fiducials", 1)
    if fid_ref.shape != fid_mri.shape:
        raise ValueError("fiducials_reference and fiducials_mri must pair up")
    per_axis_fle = opt.fiducial_fle_mm / np.sqrt(3.0)
    lam = (opt.surface_sigma_mm / per_axis_fle) ** 2 if per_axis_fle > 0 else 0.0

    m0 = initial_mri_from_reference.matrix
    rot, trans = m0[:3, :3].copy(), m0[:3, 3].copy()
    converged, iterations, history = False, 0, []
    best_cost, stalled = float("inf"), 0
    inliers = np.ones(len(pts), bool)
    prev_disp, damping, sigma = None, 1.0, 0.05
    for iterations in range(1, opt.max_iterations + 1):
        if cancel is not None:
            cancel.raise_if_cancelled()
        x = pts @ rot.T + trans
        cp = surface.closest(x)
        normals = cp.normals
        r = np.einsum("ij,ij->i", x - cp.points, normals)
        if iterations <= opt.scale_iterations:
            # re-estimating the robust scale every iteration let Huber weights and the inlier
            # cut flip back and forth: period-2 cycles that never settled (points lifted
            # uniformly off the skin); with the scale frozen it is a plain M-estimator
            sigma = max(1.4826 * float(np.median(np.abs(r))), 0.05)
        inliers = cp.distances_mm <= max(opt.outlier_sigmas * sigma, opt.min_outlier_mm)
        if inliers.sum() < 6:
            break
        absr = np.abs(r)
        w = np.where(absr <= opt.huber_k * sigma, 1.0,
                     opt.huber_k * sigma / np.maximum(absr, 1e-12)) * inliers
        history.append(float(np.sqrt(np.mean(cp.distances_mm[inliers] ** 2))))
        centre = x[inliers].mean(0)
        h, g = _normal_equations(x, normals, r, w, centre, fid_ref @ rot.T + trans, fid_mri, lam)
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        # Gauss-Newton on a weakly constrained fit (points lifted off a round head) can
        # overshoot into a period-2 cycle; a step that undoes the previous one halves the
        # step length from then on (a simple damping, as in Levenberg-Marquardt)
        disp = np.cross(step[:3], x - centre) + step[3:]
        if prev_disp is not None and np.sum(disp * prev_disp) < -0.5 * np.linalg.norm(
                disp) * np.linalg.norm(prev_disp):
            damping *= 0.5
        prev_disp = disp
        step = damping * step
        d_rot = Rotation.from_rotvec(step[:3]).as_matrix()
        rot = d_rot @ rot
        trans = d_rot @ (trans - centre) + centre + step[3:]
        moved = np.linalg.norm((x - centre) @ (d_rot - np.eye(3)).T + step[3:], axis=1)
        cost = float(np.sum(w * r**2))
        if cost < best_cost * (1.0 - 1e-6) or float(moved.max()) >= opt.stall_mm:
            stalled = 0
        else:
            stalled += 1
        best_cost = min(best_cost, cost)
        if float(moved.max()) < opt.tolerance_mm or stalled >= 3:
            converged = True
            break

    result_m = np.eye(4)
    result_m[:3, :3], result_m[:3, 3] = rot, trans
    final = Transform(Frame.MRI, Frame.REFERENCE, result_m)
    x = pts @ rot.T + trans
    cp = surface.closest(x)
    dist = cp.signed_distances_mm
    sigma = max(1.4826 * float(np.median(np.abs(dist))), 0.05)
    inliers = np.abs(dist) <= max(opt.outlier_sigmas * sigma, opt.min_outlier_mm)
    rms = float(np.sqrt(np.mean(dist[inliers] ** 2))) if inliers.any() else float("inf")
    covariance, centre = _pose_covariance(x, cp.normals, dist, inliers, sigma, opt,
                                          fid_ref @ rot.T + trans, fid_mri, lam)
    shift = np.linalg.norm(final.apply(fid_ref) - initial_mri_from_reference.apply(fid_ref),
                           axis=1) if len(fid_ref) else np.zeros(0)
    rot_change = rotation_angle_rad(m0[:3, :3].T @ rot)
    reason = _failure_reason(opt, converged, iterations, rms, float(inliers.mean()), shift,
                             rot_change)
    return IcpResult(mri_from_reference=final,
                     initial_mri_from_reference=initial_mri_from_reference,
                     distances_mm=dist, inliers=inliers, rms_mm=rms, iterations=iterations,
                     converged=converged, fiducial_shift_mm=shift, rotation_change_rad=rot_change,
                     failure_reason=reason, history_rms_mm=tuple(history),
                    pose_covariance=covariance, covariance_centre_mm=centre)


def _pose_covariance(x: np.ndarray, normals: np.ndarray, r: np.ndarray, inliers: np.ndarray,
                     sigma: float, opt: IcpOptions, fid_x: np.ndarray, fid_mri: np.ndarray,
                     lam: float) -> tuple[np.ndarray | None, np.ndarray]:
    """Covariance of the 6 pose parameters of *this* estimator at the solution (sandwich form).

    The estimator weights the fiducials with the fixed ``lam`` (tuned for σ_surface), whatever
    the real point noise. ``σ² H⁻¹`` assumed the weights were the inverse variances, which they
    are not when the points are better (or worse) than ``surface_sigma_mm``: with 0.25 mm points
    the fiducials pull 4× harder than that formula allowed, and it under-predicted the phantom
    error by 1.5-2× (fiducial localisation error leaking in through weakly constrained
    directions). The sandwich ``H⁻¹ M H⁻¹`` (Huber 1967; White 1980) uses the estimator's own
    ``H = AᵀWA + λFᵀF`` and the variance of its gradient, ``M = Σ (w_i r_i)² a_i a_iᵀ ·
    N/(N−6) + λ² σ_f² FᵀF`` with σ_f² the per-axis fiducial variance (``fiducial_fle_mm²/3``).
    It still models random errors only: a uniform offset or scale is handled in ``bias.py``.
    """
    absr = np.abs(r)
    w = np.where(absr <= opt.huber_k * sigma, 1.0,
                 opt.huber_k * sigma / np.maximum(absr, 1e-12)) * inliers
    centre = x[inliers].mean(0) if inliers.any() else x.mean(0)
    n_in = int(inliers.sum())
    a = np.hstack([np.cross(x - centre, normals), normals])
    h = (a * w[:, None]).T @ a
    wr = (w * r)[:, None] * a
    m = wr.T @ wr * (n_in / max(n_in - 6, 1))
    if len(fid_x) and lam > 0:
        jf = np.concatenate([-_skew_rows(fid_x - centre),
                             np.broadcast_to(np.eye(3), (len(fid_x), 3, 3))], axis=2)
        ftf = np.einsum("kji,kjl->il", jf, jf)
        h = h + lam * ftf
        m = m + lam**2 * (opt.fiducial_fle_mm**2 / 3.0) * ftf
    try:
        h_inv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return None, centre
    return h_inv @ m @ h_inv, centre


def _failure_reason(opt: IcpOptions, converged: bool, iterations: int, rms: float,
                    inlier_fraction: float, shift: np.ndarray, rot_change: float) -> str | None:
    if len(shift) and shift.max() > opt.max_fiducial_shift_mm:
        return (f"Surface matching moved the registration {shift.max():.1f} mm away from the "
                f"fiducials (limit {opt.max_fiducial_shift_mm:.0f} mm): a fiducial is wrong or "
                "the surface points are not on the scalp. Check the fiducials, then recollect.")
    if rot_change > opt.max_rotation_change_rad:
        return (f"Surface matching rotated the registration {np.rad2deg(rot_change):.1f}° away "
                f"from the fiducial solution (limit {np.rad2deg(opt.max_rotation_change_rad):.0f}°)"
                ": check the fiducials, then recollect the surface points.")
    if inlier_fraction < MIN_INLIER_FRACTION:
        return (f"Only {100 * inlier_fraction:.0f} % of the surface points fit the MRI scalp "
                f"(need {100 * MIN_INLIER_FRACTION:.0f} %): points off the skin (hair, ears, "
                "lifted pointer) or the head reference moved. Recollect.")
    if rms > opt.max_rms_mm:
        return (f"The surface points are {rms:.1f} mm RMS from the MRI scalp (limit "
                f"{opt.max_rms_mm:.1f} mm): press the pointer lightly on the skin, avoid hair, "
                "and check that the head reference did not move.")
    if not converged:
        return (f"Surface matching did not settle after {iterations} iterations; collect the "
                "head-surface points again, keeping the pointer tip on the skin.")
    return None
