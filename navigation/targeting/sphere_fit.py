"""Least-squares sphere fitted to the scalp under the coil.

The spherical head model only needs a centre (the induced field in a spherically symmetric
conductor does not depend on the radius or the conductivities, Heller & van Hulsteyn 1992); the
radius tells which points lie inside the conductor. Fitting to the scalp within ~50 mm of the
coil centre gives the local curvature that matters for the field under the coil (the "local
sphere" idea of Huang et al. 1999 for MEG, used for TMS by Thielscher & Kammer 2004).

Algebraic fit: |p|^2 + D.p + e = 0 is linear in (D, e) (Kasa 1976 / Pratt 1987 "algebraic
circle fit"); centre = -D/2, radius^2 = |c|^2 - e. It is biased toward small radii for short
arcs with noise, so an optional geometric refinement minimises sum (|p - c| - R)^2 with
Levenberg-Marquardt (scipy ``least_squares``) starting from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from tmsnav.navigation.errors import NavigationError

__all__ = ["SphereFit", "SphereFitError", "fit_sphere", "fit_sphere_near",
           "MIN_RADIUS_MM", "MAX_RADIUS_MM", "MIN_POINTS", "DEFAULT_FIT_RADIUS_MM"]

MIN_RADIUS_MM = 50.0
MAX_RADIUS_MM = 150.0
MIN_POINTS = 10
DEFAULT_FIT_RADIUS_MM = 50.0


class SphereFitError(NavigationError):
    """The scalp points do not define a plausible head sphere."""


@dataclass(frozen=True)
class SphereFit:
    """A head sphere in the MRI frame (mm) and how well it fits its points."""

    centre_mm: np.ndarray = field(repr=False)
    radius_mm: float
    rms_residual_mm: float = 0.0
    n_points: int = 0

    def __post_init__(self) -> None:
        c = np.array(self.centre_mm, dtype=float).reshape(-1)
        if c.shape != (3,) or not np.all(np.isfinite(c)):
            raise SphereFitError(f"sphere centre must be 3 finite numbers (mm), got {self.centre_mm!r}")
        if not (np.isfinite(self.radius_mm) and MIN_RADIUS_MM <= self.radius_mm <= MAX_RADIUS_MM):
            raise SphereFitError(
                f"head sphere radius {self.radius_mm:.1f} mm is outside the plausible "
                f"{MIN_RADIUS_MM:.0f}-{MAX_RADIUS_MM:.0f} mm range (are the scalp points in mm, "
                "and are they really scalp under the coil?)")
        c.setflags(write=False)
        object.__setattr__(self, "centre_mm", c)
        object.__setattr__(self, "radius_mm", float(self.radius_mm))

    def to_dict(self) -> dict:
        return {"centre_mm": [float(x) for x in self.centre_mm], "radius_mm": self.radius_mm,
                "rms_residual_mm": self.rms_residual_mm, "n_points": self.n_points}


def _as_points(points_mm: np.ndarray, what: str) -> np.ndarray:
    p = np.asarray(points_mm, dtype=float)
    if p.ndim != 2 or p.shape[1] != 3:
        raise SphereFitError(f"{what} must be an (N, 3) array of mm coordinates, got shape {p.shape}")
    finite = np.all(np.isfinite(p), axis=1)
    return p[finite]


def _algebraic_fit(p: np.ndarray) -> tuple[np.ndarray, float]:
    shift = p.mean(axis=0)                     # centring keeps the normal equations well scaled
    q = p - shift
    a = np.column_stack([q, np.ones(len(q))])
    b = -(q * q).sum(axis=1)
    sol, _, rank, sv = np.linalg.lstsq(a, b, rcond=None)
    if rank < 4 or sv[-1] < 1e-9 * sv[0]:
        raise SphereFitError("the scalp points are degenerate (flat, collinear or repeated); "
                             "cannot fit a head sphere")
    centre = -0.5 * sol[:3]
    r2 = float(centre @ centre - sol[3])
    if not np.isfinite(r2) or r2 <= 0.0:
        raise SphereFitError("the scalp points do not describe a sphere (algebraic fit failed)")
    return centre + shift, float(np.sqrt(r2))


def fit_sphere(points_mm: np.ndarray, *, refine: bool = True) -> SphereFit:
    """Least-squares sphere through ``points_mm`` (N, 3), algebraic then geometric.

    Raises :class:`SphereFitError` for fewer than ``MIN_POINTS`` finite points, degenerate
    (flat or collinear) configurations, or a radius outside 50-150 mm.
    """
    p = _as_points(points_mm, "scalp points")
    if len(p) < MIN_POINTS:
        raise SphereFitError(f"need at least {MIN_POINTS} scalp points to fit a head sphere, "
                             f"got {len(p)}")
    centre, radius = _algebraic_fit(p)
    if refine and radius < 10.0 * MAX_RADIUS_MM:  # hopeless (flat) fits fail the range check below
        def residual(x: np.ndarray) -> np.ndarray:
            return np.linalg.norm(p - x[:3], axis=1) - x[3]

        def jacobian(x: np.ndarray) -> np.ndarray:
            d = p - x[:3]
            n = np.linalg.norm(d, axis=1)
            n[n == 0.0] = 1.0
            return np.column_stack([-d / n[:, None], -np.ones(len(p))])

        sol = least_squares(residual, np.append(centre, radius), jac=jacobian, method="lm",
                            xtol=1e-10, ftol=1e-10)
        if sol.success and np.all(np.isfinite(sol.x)) and sol.x[3] > 0:
            centre, radius = sol.x[:3], float(sol.x[3])
    rms = float(np.sqrt(np.mean((np.linalg.norm(p - centre, axis=1) - radius) ** 2)))
    return SphereFit(centre, radius, rms, len(p))


def fit_sphere_near(scalp_points_mm: np.ndarray, centre_of_interest_mm: np.ndarray,
                    fit_radius_mm: float = DEFAULT_FIT_RADIUS_MM, *, refine: bool = True) -> SphereFit:
    """Fit a sphere to the scalp points within ``fit_radius_mm`` of the coil centre."""
    p = _as_points(scalp_points_mm, "scalp points")
    c = np.asarray(centre_of_interest_mm, dtype=float).reshape(-1)
    if c.shape != (3,) or not np.all(np.isfinite(c)):
        raise SphereFitError(f"coil centre must be 3 finite numbers (mm), got {centre_of_interest_mm!r}")
    if not 10.0 <= fit_radius_mm <= 200.0:
        raise SphereFitError(f"sphere-fit neighbourhood must be 10-200 mm, got {fit_radius_mm}")
    near = p[np.linalg.norm(p - c, axis=1) <= fit_radius_mm]
    if len(near) < MIN_POINTS:
        raise SphereFitError(
            f"only {len(near)} scalp points lie within {fit_radius_mm:.0f} mm of the coil centre "
            f"(need {MIN_POINTS}); is the coil on the head and the scalp surface loaded?")
    return fit_sphere(near, refine=refine)
