"""Closed-form least-squares rigid fit of paired points, with a reflection guard.

Arun, Huang & Blostein 1987 (IEEE PAMI 9(5):698) solve ``min sum w_i |R s_i + t - d_i|^2``
by the SVD of the weighted cross-covariance ``H = sum w_i (s_i - s̄)(d_i - d̄)^T = U S V^T``:
``R = V U^T``. That ``R`` can be a reflection (det -1); Umeyama 1991 (IEEE PAMI 13(4):376,
eq. 39-40) gives the best *proper* rotation ``R = V diag(1, 1, det(V U^T)) U^T``.

A reflection being the better fit is not noise: it means the point sets are mirror images,
e.g. LPA and RPA swapped. With non-coplanar points we detect it (the reflected fit is much better
than the proper one) and let the caller raise a specific error, like scikit-surgerycore's
procrustes does. With exactly coplanar points (three fiducials) a mirror cannot be seen in the
geometry at all; see :mod:`.fiducials` for the anatomical side check that covers that case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..transforms import make_rigid

__all__ = ["RigidFit", "fit_rigid", "as_points"]

#: The reflected fit must be at least this many times better, and the proper fit at least
#: ``_MIRROR_MIN_RMS_MM`` off, before we call a configuration mirrored (noise makes near-planar
#: sets flip sign harmlessly).
_MIRROR_RATIO = 0.5
_MIRROR_MIN_RMS_MM = 1.0


def as_points(points: object, what: str, n_min: int = 1) -> np.ndarray:
    """``points`` as a finite float (N, 3) array, or a ValueError naming ``what``."""
    try:
        p = np.array(points, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a list of (x, y, z) points in mm") from None
    if p.ndim == 1 and p.shape == (3,):
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"{what}: expected points of shape (N, 3), got {p.shape}")
    if len(p) < n_min:
        raise ValueError(f"{what}: need at least {n_min} points, got {len(p)}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{what}: contains NaN or infinite coordinates")
    return p


@dataclass(frozen=True, eq=False)
class RigidFit:
    """Result of :func:`fit_rigid`: ``target ≈ rotation @ source + translation``."""

    rotation: np.ndarray
    translation: np.ndarray
    residuals_mm: np.ndarray        # |R s_i + t - d_i| per point
    rms_mm: float                   # sqrt(mean(residuals²)), unweighted (the usual FRE)
    reflected_rms_mm: float         # RMS of the best orthogonal fit with the other determinant
    mirrored: bool                  # the reflection fits clearly better: the sets are mirrored
    singular_values: np.ndarray     # of the weighted cross-covariance (conditioning)

    @property
    def matrix(self) -> np.ndarray:
        return make_rigid(self.rotation, self.translation)

    def apply(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=float) @ self.rotation.T + self.translation


def _weights(weights: object, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.array(weights, dtype=float).reshape(-1)
    if w.shape != (n,):
        raise ValueError(f"weights: expected {n} values, got {w.size}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or np.count_nonzero(w) < 3:
        raise ValueError("weights must be finite, non-negative, with at least 3 of them > 0")
    return w


def fit_rigid(source: object, target: object, weights: object = None) -> RigidFit:
    """Weighted least-squares rigid map ``source -> target`` (Arun 1987 / Umeyama 1991).

    :param source: (N, 3) points in the frame we map *from* (mm), N >= 3.
    :param target: (N, 3) corresponding points in the frame we map *to* (mm).
    :param weights: optional N non-negative weights (e.g. 1/FLE² per fiducial).
    :returns: the proper rotation + translation, per-point residuals and a mirror flag.
    """
    s = as_points(source, "source points", 3)
    d = as_points(target, "target points", 3)
    if s.shape != d.shape:
        raise ValueError(f"source and target must pair up: {len(s)} vs {len(d)} points")
    w = _weights(weights, len(s))
    wn = w / w.sum()
    s_mean, d_mean = wn @ s, wn @ d
    sc, dc = s - s_mean, d - d_mean
    h = (sc * wn[:, None]).T @ dc
    u, sv, vt = np.linalg.svd(h)
    v = vt.T
    det = float(np.sign(np.linalg.det(v @ u.T))) or 1.0
    rot = v @ np.diag([1.0, 1.0, det]) @ u.T
    rot_other = v @ np.diag([1.0, 1.0, -det]) @ u.T    # the other-determinant candidate

    def residuals(r: np.ndarray) -> np.ndarray:
        return np.linalg.norm(sc @ r.T - dc, axis=1)

    res = residuals(rot)
    rms = float(np.sqrt(np.mean(res**2)))
    other_rms = float(np.sqrt(np.mean(residuals(rot_other) ** 2)))
    # det < 0: the unconstrained optimum V U^T is a reflection, i.e. rot_other is improper and
    # fits at least as well. Mirrored only when it fits *clearly* better than any rotation.
    mirrored = det < 0 and rms > _MIRROR_MIN_RMS_MM and other_rms < _MIRROR_RATIO * rms
    return RigidFit(rotation=rot, translation=d_mean - rot @ s_mean, residuals_mm=res,
                    rms_mm=rms, reflected_rms_mm=other_rms, mirrored=bool(mirrored),
                    singular_values=sv)
