"""Predicted target registration error (TRE).

Fiducial registration: Fitzpatrick, West & Maurer 1998, *Predicting error in rigid-body
point-based registration*, IEEE TMI 17(5):694-702, eq. 46:

    ⟨TRE²(r)⟩ ≈ (⟨FLE²⟩ / N) · (1 + ⅓ Σ_k d_k² / f_k²)

with N fiducials, ``d_k`` the distance of the target from the k-th principal axis of the
fiducial configuration (through its centroid) and ``f_k`` the RMS distance of the fiducials from
that axis. FLE is the 3-D RMS localisation error (image and tracker errors combined); when it is
unknown it is estimated from the observed FRE by ⟨FRE²⟩ ≈ (1 − 2/N)⟨FLE²⟩ (ibid. eq. 10), which
with N = 3 rests on very few degrees of freedom: prefer a known FLE (2–3 mm for anatomical
landmarks touched with a pointer) and show both.

Surface refinement: the Gauss-Newton covariance of the ICP pose (``IcpResult.pose_covariance``)
propagated to the target, ``TRE² = trace(J Σ Jᵀ)`` with ``J = [−[r − c]×, I]``. It holds for
independent point noise only; skin shift and segmentation bias are systematic and not in it.
"""

from __future__ import annotations

import numpy as np

from .rigid import as_points

__all__ = ["fle_from_fre", "predicted_tre", "predicted_tre_from_covariance"]


def fle_from_fre(fre_rms_mm: float, n_fiducials: int) -> float:
    """RMS FLE estimated from the RMS FRE: ``FLE = FRE·√(N / (N − 2))`` (needs N ≥ 3)."""
    if n_fiducials < 3:
        raise ValueError(f"need at least 3 fiducials to estimate FLE, got {n_fiducials}")
    return float(fre_rms_mm) * float(np.sqrt(n_fiducials / (n_fiducials - 2.0)))


def predicted_tre(fiducials_mm: object, targets_mm: object, fle_mm: float) -> np.ndarray:
    """Expected RMS TRE (mm) at each target for a fiducial registration (FWM 1998 eq. 46).

    :param fiducials_mm: (N, 3) fiducial positions, same frame as the targets (e.g. mri).
    :param targets_mm: (3,) or (M, 3) target positions.
    :param fle_mm: RMS 3-D fiducial localisation error.
    :returns: (M,) RMS TRE in mm.
    """
    f = as_points(fiducials_mm, "fiducials", 3)
    t = as_points(targets_mm, "targets", 1)
    n = len(f)
    centroid = f.mean(0)
    fc, tc = f - centroid, t - centroid
    _, _, vt = np.linalg.svd(fc)
    ratio = np.zeros(len(t))
    for axis in vt:                       # principal axes of the configuration
        f_k2 = np.mean(np.sum(fc**2, axis=1) - (fc @ axis) ** 2)
        d_k2 = np.sum(tc**2, axis=1) - (tc @ axis) ** 2
        if f_k2 <= 1e-12:
            raise ValueError("fiducials are collinear: TRE is unbounded")
        ratio += d_k2 / f_k2
    return np.sqrt(fle_mm**2 / n * (1.0 + ratio / 3.0))


def predicted_tre_from_covariance(covariance: np.ndarray, centre_mm: object,
                                  targets_mm: object) -> np.ndarray:
    """RMS error (mm) at targets from a 6x6 pose covariance (rotation vector rad, mm) about
    ``centre_mm``, e.g. :attr:`IcpResult.pose_covariance`."""
    cov = np.asarray(covariance, dtype=float)
    if cov.shape != (6, 6):
        raise ValueError(f"covariance must be 6x6, got {cov.shape}")
    t = as_points(targets_mm, "targets", 1) - np.asarray(centre_mm, dtype=float)
    out = np.empty(len(t))
    for i, r in enumerate(t):
        skew = np.array([[0, -r[2], r[1]], [r[2], 0, -r[0]], [-r[1], r[0], 0]])
        jac = np.hstack([-skew, np.eye(3)])
        out[i] = np.sqrt(max(float(np.trace(jac @ cov @ jac.T)), 0.0))
    return out
