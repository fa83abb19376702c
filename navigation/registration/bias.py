"""Systematic surface errors: points lifted off the skin, or an MRI off in scale.

A rigid surface match (``icp.py``) absorbs a *uniform* error of the head-surface points into
the pose: points lifted 1.5 mm off the skin by hair or a cap over the upper head pull the MRI
head ~2 mm towards them, and what is left in the residuals is a fraction of a millimetre, so the
surface RMS and the random-noise covariance both look excellent while the target is off by
2-5 mm. The same happens when the MRI is a few per cent off in scale (voxel size, gradient
calibration): the head is larger or smaller than its image everywhere.

Both are caught by fitting a model with one more parameter, starting from the rigid solution:

* **offset** — ``mri ≈ R·x + t`` with every point ``b`` mm outside the skin:
  residual ``n·(R x + t − q) − b`` (``b`` > 0: points outside);
* **scale** — a similarity ``mri ≈ s·R·x + t`` (Umeyama 1991 for the closed form of paired
  points; here the point-to-plane Gauss-Newton of Low 2004 with one more column,
  ``n·(x' − c)``): the head measures ``1/s`` times its MRI.

Each model is fitted by Gauss-Newton on the same inliers, with the fiducials in the cost at the
weight the ICP gives them (fiducials are touched on bare skin, so they are not offset; they do
scale). The two models are almost interchangeable on a round head (a uniform offset ``b`` of a
sphere of radius ``R`` *is* a scale ``1 + b/R``), so the residual sums are compared to name the
likelier cause only when the data say so clearly; otherwise both are named.

What this gives the prediction (``workflow.register``): under each hypothesis *h* (rigid, offset,
scale) the model's own pose is the unbiased estimate of the truth, so the error of the rigid
registration at a target ``t`` is ``e_h = T_rigid(T_h⁻¹(t)) − t`` (systematic) plus the model's
random error (its covariance propagated to the target). The displayed bound is the largest
``|e_h| + k·RMS_h`` over the models the data do not reject (:meth:`SurfaceBias.plausible`): a
model that holds leaves the error within its bound in at least 95 % of cases, so the largest
bound holds whichever plausible model is true. On the phantom the offset model's ``e_h``
matched the measured error of lifted-point sessions within 0.2 mm.

The covariance is the sandwich ``H⁻¹MH⁻¹`` of the estimator with the Hessian ``H`` of the true
cost taken numerically (the Gauss-Newton ``AᵀWA`` ignores the scalp's curvature and was 1.5×
too stiff along the weakly constrained "nodding" direction of a round head). 1.96 × RMS is a
95 % bound for a Gaussian error of *any* shape in 3-D when the RMS is known: for thresholds
above about 1.54 times the total variance the one-dimensional case has the heaviest tail
(Székely & Bakirov 2003, *Extremal probabilities for Gaussian quadratic forms*, Probab. Theory
Relat. Fields 126:184-202), and 1.96² = 3.84. Here the RMS is itself estimated from one
session's residuals and an assumed FLE, so ``k = BOUND_SIGMAS = 2.45`` (25 % margin); the
benchmark measures the coverage this gives on a head not used to choose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from ..transforms import Frame, Transform
from .rigid import as_points
from .surface_index import SurfaceIndex

__all__ = ["ModelFit", "SurfaceBias", "fit_surface_model", "analyse_surface_bias",
           "TargetError", "BOUND_SIGMAS", "OFFSET", "SCALE", "RIGID", "EITHER"]

BOUND_SIGMAS = 2.45          # 95 % bound from an *estimated* RMS (see the module text)
RIGID, OFFSET, SCALE, EITHER = "rigid", "offset", "scale", "offset or scale"
#: residual-sum difference (in units of σ², i.e. a log-likelihood ratio × 2) that names one
#: cause over the other; 10 ≈ odds of 150:1 for two models with the same number of parameters
DECISIVE_CHI2 = 10.0
REJECT_SIGMAS = 4.0          # an offset / scale this many standard errors from 0 rejects rigid
TRIM_SIGMAS = 2.5            # the outlier-trimmed refit keeps points within this many σ


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


@dataclass(frozen=True, eq=False)
class ModelFit:
    """One surface model fitted to the points: ``mri = scale·R·x + t`` (+ ``offset_mm``)."""

    model: str                       # RIGID, OFFSET or SCALE
    matrix: np.ndarray               # 4x4, rotation part multiplied by ``scale``
    scale: float                     # mri size / head size (1 for rigid and offset)
    offset_mm: float                 # points outside the skin (0 for rigid and scale)
    covariance: np.ndarray | None    # (k, k): rotation vector, translation, [extra]
    centre_mm: np.ndarray            # centre of the perturbation (mri)
    cost: float                      # weighted residual sum of squares (mm²)
    sigma_mm: float                  # residual scale used for the weights and covariance
    n_points: int

    def extra_se(self) -> float:
        """Standard error of the extra parameter (offset mm, or scale increment)."""
        if self.covariance is None or self.covariance.shape[0] < 7:
            return float("nan")
        return float(np.sqrt(max(self.covariance[6, 6], 0.0)))

    def apply_inverse(self, mri_mm: np.ndarray) -> np.ndarray:
        """Reference-frame point that this model maps onto ``mri_mm``."""
        m = self.matrix
        return np.linalg.solve(m[:3, :3], (np.asarray(mri_mm, float) - m[:3, 3]).T).T

    def target_rms_mm(self, target_mri: np.ndarray) -> float:
        """RMS random error (mm) of this model's estimate of where ``target_mri`` is."""
        if self.covariance is None:
            return float("inf")
        r = np.asarray(target_mri, float) - self.centre_mm
        cols = [-_skew(r), np.eye(3)]
        if self.model == SCALE:
            cols.append(r[:, None])
        elif self.model == OFFSET:
            cols.append(np.zeros((3, 1)))
        jac = np.hstack(cols)
        return float(np.sqrt(max(np.trace(jac @ self.covariance @ jac.T), 0.0)))


def fit_surface_model(points_reference: object, surface: SurfaceIndex, start: Transform,
                      model: str, *, inliers: np.ndarray | None = None,
                      fiducials_reference: object = None, fiducials_mri: object = None,
                      fiducial_weight: float = 0.0, fiducial_fle_mm: float = 3.0,
                      huber_k: float = 1.345, max_iterations: int = 30,
                      tolerance_mm: float = 0.005, covariance: bool = True) -> ModelFit:
    """Gauss-Newton fit of a RIGID, OFFSET or SCALE surface model, starting from ``start``.

    ``fiducial_weight`` is the ICP's ``λ = (σ_surface / σ_fiducial per axis)²``; the covariance
    is the sandwich form with the fiducials' per-axis variance ``fiducial_fle_mm² / 3``, as in
    :func:`icp.refine_with_surface`.
    """
    if model not in (RIGID, OFFSET, SCALE):
        raise ValueError(f"model must be {RIGID!r}, {OFFSET!r} or {SCALE!r}, got {model!r}")
    pts = as_points(points_reference, "head-surface points", 7)
    keep = np.ones(len(pts), bool) if inliers is None else np.asarray(inliers, bool)
    pts = pts[keep]
    fid_ref = np.zeros((0, 3)) if fiducials_reference is None else as_points(
        fiducials_reference, "fiducials", 1)
    fid_mri = np.zeros((0, 3)) if fiducials_mri is None else as_points(fiducials_mri,
                                                                       "fiducials", 1)
    k = 6 if model == RIGID else 7
    m = start.matrix.copy()
    b = 0.0
    sigma, cost = 0.05, float("inf")
    for _ in range(max_iterations):
        x = pts @ m[:3, :3].T + m[:3, 3]
        cp = surface.closest(x)
        n = cp.normals
        r = np.einsum("ij,ij->i", x - cp.points, n) - b
        sigma = max(1.4826 * float(np.median(np.abs(r))), 0.05)
        w = np.where(np.abs(r) <= huber_k * sigma, 1.0,
                     huber_k * sigma / np.maximum(np.abs(r), 1e-12))
        centre = x.mean(0)
        h, g = _normal_equations(model, x, n, r, w, centre, fid_ref @ m[:3, :3].T + m[:3, 3],
                                 fid_mri, fiducial_weight)
        try:
            step = np.linalg.solve(h, -g)
        except np.linalg.LinAlgError:
            break
        cost = float(np.sum(w * r**2))
        d_rot = Rotation.from_rotvec(step[:3]).as_matrix()
        factor = 1.0 + (step[6] if model == SCALE else 0.0)
        new = np.eye(4)
        new[:3, :3] = factor * d_rot @ m[:3, :3]
        new[:3, 3] = factor * d_rot @ (m[:3, 3] - centre) + centre + step[3:6]
        if model == OFFSET:
            b += float(step[6])
        moved = np.linalg.norm(pts @ (new[:3, :3] - m[:3, :3]).T + new[:3, 3] - m[:3, 3], axis=1)
        m = new
        if float(moved.max()) < tolerance_mm and abs(step[6] if k == 7 else 0.0) < 1e-4:
            break
    # covariance at the solution: the sandwich H⁻¹ M H⁻¹ of this estimator (see
    # icp._pose_covariance for why not σ² H⁻¹)
    x = pts @ m[:3, :3].T + m[:3, 3]
    cp = surface.closest(x)
    n = cp.normals
    r = np.einsum("ij,ij->i", x - cp.points, n) - b
    w = np.where(np.abs(r) <= huber_k * sigma, 1.0, huber_k * sigma / np.maximum(np.abs(r), 1e-12))
    centre = x.mean(0)
    cost = float(np.sum(w * r**2))
    fid_x = fid_ref @ m[:3, :3].T + m[:3, 3]
    if not covariance:
        return ModelFit(model=model, matrix=m, scale=float(np.cbrt(np.linalg.det(m[:3, :3]))),
                        offset_mm=b, covariance=None, centre_mm=centre, cost=cost,
                        sigma_mm=sigma, n_points=len(pts))
    h = _numeric_hessian(model, pts, surface, m, b, w, centre, fid_ref, fid_mri,
                         fiducial_weight)
    a = _design(model, x, n, centre)
    wr = (w * r)[:, None] * a
    meat = wr.T @ wr * (len(pts) / max(len(pts) - k, 1))
    if fiducial_weight > 0 and len(fid_x):
        jf = np.vstack([_fiducial_jacobian(model, fx - centre) for fx in fid_x])
        meat += fiducial_weight**2 * (fiducial_fle_mm**2 / 3.0) * jf.T @ jf
    try:
        h_inv = np.linalg.inv(h)
        cov = h_inv @ meat @ h_inv
    except np.linalg.LinAlgError:
        cov = None
    scale = float(np.cbrt(np.linalg.det(m[:3, :3])))
    return ModelFit(model=model, matrix=m, scale=scale, offset_mm=b, covariance=cov,
                    centre_mm=centre, cost=cost, sigma_mm=sigma, n_points=len(pts))


def _design(model: str, x: np.ndarray, n: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Point-to-plane Jacobian rows ``[(x − c) × n, n, extra]`` (extra: −1 for the offset,
    ``n·(x − c)`` for the scale increment)."""
    v = x - centre
    cols = [np.cross(v, n), n]
    if model == OFFSET:
        cols.append(-np.ones((len(x), 1)))
    elif model == SCALE:
        cols.append(np.einsum("ij,ij->i", n, v)[:, None])
    return np.hstack(cols)


def _fiducial_jacobian(model: str, v: np.ndarray) -> np.ndarray:
    """(3, k) derivative of a mapped fiducial at ``v = x − c`` (fiducials are not offset)."""
    cols = [-_skew(v), np.eye(3)]
    if model == OFFSET:
        cols.append(np.zeros((3, 1)))
    elif model == SCALE:
        cols.append(v[:, None])
    return np.hstack(cols)


def _perturbed(model: str, m: np.ndarray, b: float, p: np.ndarray, centre: np.ndarray
               ) -> tuple[np.ndarray, float]:
    """The map ``m`` (and offset ``b``) moved by parameters ``p = [ω, δ, extra]``."""
    d_rot = Rotation.from_rotvec(p[:3]).as_matrix()
    factor = 1.0 + (p[6] if model == SCALE else 0.0)
    new = np.eye(4)
    new[:3, :3] = factor * d_rot @ m[:3, :3]
    new[:3, 3] = factor * d_rot @ (m[:3, 3] - centre) + centre + p[3:6]
    return new, b + (float(p[6]) if model == OFFSET else 0.0)


def _gradient(model: str, pts: np.ndarray, surface: SurfaceIndex, m: np.ndarray, b: float,
              w: np.ndarray, centre: np.ndarray, fid_ref: np.ndarray, fid_mri: np.ndarray,
              lam: float) -> np.ndarray:
    """Exact gradient of ``½Σ w d² + ½λΣ|e_f|²`` (closest points re-found at ``m``)."""
    x = pts @ m[:3, :3].T + m[:3, 3]
    cp = surface.closest(x)
    r = np.einsum("ij,ij->i", x - cp.points, cp.normals) - b
    _, g = _normal_equations(model, x, cp.normals, r, w, centre,
                             fid_ref @ m[:3, :3].T + m[:3, 3], fid_mri, lam)
    return g


def _numeric_hessian(model: str, pts: np.ndarray, surface: SurfaceIndex, m: np.ndarray,
                     b: float, w: np.ndarray, centre: np.ndarray, fid_ref: np.ndarray,
                     fid_mri: np.ndarray, lam: float) -> np.ndarray:
    """Hessian of the true cost by central differences of its gradient.

    The Gauss-Newton ``AᵀWA`` leaves out the surface's curvature (the ``Σ d ∇²d`` term). Where
    the scalp pins the pose weakly (a rotation that slides a round head along itself) the
    fiducials pull the fit against that term and the pose moved 1.5× what ``AᵀWA`` predicted
    on the phantom, so the covariance uses this Hessian instead (``k`` + 1 extra closest-point
    queries per side; ~20 ms for 300 points).
    """
    k = 6 if model == RIGID else 7
    steps = np.array([1e-3, 1e-3, 1e-3, 0.1, 0.1, 0.1, 0.1 if model == OFFSET else 1e-3])[:k]
    h = np.zeros((k, k))
    for j in range(k):
        p = np.zeros(7)
        p[j] = steps[j]
        plus = _gradient(model, pts, surface, *_perturbed(model, m, b, p, centre), w, centre,
                         fid_ref, fid_mri, lam)
        minus = _gradient(model, pts, surface, *_perturbed(model, m, b, -p, centre), w,
                          centre, fid_ref, fid_mri, lam)
        h[:, j] = (plus - minus) / (2.0 * steps[j])
    return 0.5 * (h + h.T)


def _normal_equations(model: str, x: np.ndarray, n: np.ndarray, r: np.ndarray, w: np.ndarray,
                      centre: np.ndarray, fid_x: np.ndarray, fid_mri: np.ndarray, lam: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``H = AᵀWA + λ Σ J_fᵀJ_f`` and ``g = AᵀWr + λ Σ J_fᵀ e_f`` for parameters
    ``[ω (3), δ (3), extra]``; the Gauss-Newton step is ``−H⁻¹g``."""
    a = _design(model, x, n, centre)
    h = a.T @ (w[:, None] * a)
    g = a.T @ (w * r)
    if lam > 0 and len(fid_x):
        for fx, fm in zip(fid_x, fid_mri):
            jf = _fiducial_jacobian(model, fx - centre)
            h += lam * jf.T @ jf
            g += lam * jf.T @ (fx - fm)
    return h, g


@dataclass(frozen=True)
class TargetError:
    """Predicted error at one target: ``bound_mm = systematic_mm + random_95_mm``."""

    bound_mm: float                  # the figure to display (95 %)
    random_95_mm: float              # 1.96 × RMS of the random error of the governing model
    systematic_mm: float             # |e_h| of the governing model at this target
    hypothesis: str                  # RIGID, OFFSET or SCALE: which bound is the largest


@dataclass(frozen=True, eq=False)
class SurfaceBias:
    """The three surface models and what they say about a systematic error."""

    rigid: ModelFit
    offset: ModelFit
    scale: ModelFit
    mean_distance_mm: float          # plain signed mean distance of the inliers (rigid fit)
    trimmed: ModelFit | None = None  # rigid refit without the doubtful points (None: none)

    @property
    def offset_mm(self) -> float:
        """Points outside the skin, mm (offset model; positive outside)."""
        return self.offset.offset_mm

    @property
    def offset_se_mm(self) -> float:
        return self.offset.extra_se()

    @property
    def head_scale(self) -> float:
        """Head size / MRI size (similarity model): 1.02 means the head is 2 % larger."""
        return 1.0 / self.scale.scale

    @property
    def head_scale_se(self) -> float:
        return self.scale.extra_se()

    @property
    def preference_chi2(self) -> float:
        """``(cost_scale − cost_offset) / σ²``: positive favours an offset, negative a scale."""
        var = max(self.offset.cost / max(self.offset.n_points - 7, 1), 1e-12)
        return (self.scale.cost - self.offset.cost) / var

    @property
    def likely_cause(self) -> str:
        """OFFSET or SCALE when the residuals decide clearly, else EITHER."""
        chi2 = self.preference_chi2
        if chi2 > DECISIVE_CHI2:
            return OFFSET
        if chi2 < -DECISIVE_CHI2:
            return SCALE
        return EITHER

    def plausible(self) -> list[ModelFit]:
        """The models the points do not reject: rigid unless the offset or the scale stands
        ``REJECT_SIGMAS`` standard errors from zero; offset unless the scale fits decisively
        better, and the other way round (the offset and scale models contain the rigid one)."""
        out = []
        b_z = abs(self.offset_mm) / max(self.offset_se_mm, 1e-9)
        s_z = abs(self.scale.scale - 1.0) / max(self.head_scale_se, 1e-12)
        if not (b_z > REJECT_SIGMAS or s_z > REJECT_SIGMAS):
            out.append(self.rigid)
        chi2 = self.preference_chi2
        if chi2 >= -DECISIVE_CHI2:
            out.append(self.offset)
        if chi2 <= DECISIVE_CHI2:
            out.append(self.scale)
        return out

    def target_error(self, rigid_mri_from_reference: Transform, target_mri: object) -> TargetError:
        """Bound on the error of ``rigid_mri_from_reference`` at ``target_mri`` (see module)."""
        t = as_points(target_mri, "target", 1)[0]
        best = None
        m_r = rigid_mri_from_reference.matrix
        trim = 0.0
        if self.trimmed is not None:
            physical = self.trimmed.apply_inverse(t[None, :])[0]
            trim = float(np.linalg.norm(m_r[:3, :3] @ physical + m_r[:3, 3] - t))
        for fit in self.plausible():
            if fit.model == RIGID:
                systematic = trim
            else:
                physical = fit.apply_inverse(t[None, :])[0]
                systematic = float(np.linalg.norm(m_r[:3, :3] @ physical + m_r[:3, 3] - t))
            random = BOUND_SIGMAS * fit.target_rms_mm(t)
            cand = TargetError(systematic + random, random, systematic, fit.model)
            if best is None or cand.bound_mm > best.bound_mm:
                best = cand
        assert best is not None
        return best


def analyse_surface_bias(points_reference: object, surface: SurfaceIndex,
                         rigid_mri_from_reference: Transform, inliers: np.ndarray, *,
                         fiducials_reference: object = None, fiducials_mri: object = None,
                         fiducial_weight: float = 0.0, fiducial_fle_mm: float = 3.0
                         ) -> SurfaceBias:
    """Fit the rigid, offset and scale models from the rigid ICP solution (its inliers)."""
    if (rigid_mri_from_reference.to_frame, rigid_mri_from_reference.from_frame) != (
            Frame.MRI, Frame.REFERENCE):
        raise ValueError(f"expected mri_from_reference, got {rigid_mri_from_reference.name}")
    kw: dict[str, Any] = dict(inliers=inliers, fiducials_reference=fiducials_reference,
              fiducials_mri=fiducials_mri, fiducial_weight=fiducial_weight,
              fiducial_fle_mm=fiducial_fle_mm)
    fits = {model: fit_surface_model(points_reference, surface, rigid_mri_from_reference,
                                     model, **kw) for model in (RIGID, OFFSET, SCALE)}
    all_pts = as_points(points_reference, "head-surface points", 7)
    keep = np.asarray(inliers, bool)
    d = surface.signed_distance(rigid_mri_from_reference.apply(all_pts))
    mean = float(np.mean(d[keep]))
    # hair and lifted points that the ICP's 2 mm floor still admits pull the fit a little;
    # refit without anything beyond 2.5 robust sigmas and count the move as systematic
    sigma = 1.4826 * float(np.median(np.abs(d[keep] - np.median(d[keep]))))
    strict = keep & (np.abs(d - np.median(d[keep])) <= max(TRIM_SIGMAS * sigma, 0.3))
    trimmed = None
    if strict.sum() >= 7 and strict.sum() < keep.sum():
        trimmed = fit_surface_model(points_reference, surface, rigid_mri_from_reference, RIGID,
                                    **{**kw, "inliers": strict}, covariance=False)
    return SurfaceBias(rigid=fits[RIGID], offset=fits[OFFSET], scale=fits[SCALE],
                       mean_distance_mm=mean, trimmed=trimmed)
