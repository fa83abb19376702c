"""One value per electrode -> one value per scalp-mesh vertex: spherical-spline interpolation.

Method: Perrin, Pernier, Bertrand & Echallier 1989, "Spherical splines for scalp potential and
current density mapping", Electroencephalogr Clin Neurophysiol 72:184 (doi
10.1016/0013-4694(89)90180-6), the interpolation EEG software uses for topographies (MNE-Python's
``_make_interpolation_matrix`` for bad channels, EEGLAB's ``spherical`` topoplot):

* a sphere is fitted to the electrode positions (least squares, :func:`tmsnav.navigation.
  targeting.sphere_fit.fit_sphere`); electrodes and vertices are taken by their direction from
  its centre;
* ``V(r) = c0 + sum_i c_i g(cos(r, r_i))`` with ``g(x) = 1/(4 pi) sum_{n>=1} (2n+1) /
  (n (n+1))^m P_n(x)``, ``m = 4`` (Perrin's smoothness), 50 Legendre terms;
* ``c`` from ``G c + c0 = v`` and ``sum c = 0``: the map passes exactly through every electrode
  value (interpolating, not smoothing) and is smooth between them.

Speed: ``g`` is tabulated once on 4001 values of the cosine and read by linear interpolation
(the table step is 5e-4 in cos; the largest error measured is 6e-11 against g's range of 0.03),
so the sample head's 64 k-vertex scalp with 19 electrodes takes about 50-90 ms (at load 4.5)
instead of evaluating 50 Legendre terms per pair.

Outside the cap the spline extrapolates freely (it is only constrained at the electrodes): with
values 1 at F3, Fz, F4 and 0 elsewhere it reads -1.7 on the face below Fp1/Fp2 (measured on the
sample head), a number no electrode supports. So the map is NaN (drawn neutral grey) where a vertex
is (a) outside the outline of the cap (the convex hull of the electrodes in the usual topomap
layout, an azimuthal equidistant projection about their mean direction) by more than
``OUTLINE_MARGIN`` x the largest nearest-neighbour electrode spacing, or (b) further than ``reach``
x that spacing from every electrode (holes in a sparse set). Inside the grid every point is at most
~0.71 spacing from an electrode, so ``reach = 0.75`` blanks nothing there. With the 19 electrodes
of the sample head the margin is about 4.5 deg (7 mm on the scalp) and the same step pattern then
reads -0.24 at worst (a spline's ringing next to a step, inside the cap too); a smooth pattern
stays within the range of its electrode values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.sphere_fit import SphereFitError, fit_sphere

__all__ = ["ScalpMapError", "SphericalSpline", "scalp_map", "STIFFNESS", "N_TERMS", "REACH",
           "OUTLINE_MARGIN"]

STIFFNESS = 4          # Perrin et al. 1989: m = 4 gives smooth maps
N_TERMS = 50
REACH = 0.75           # NaN beyond this x the largest nearest-neighbour electrode spacing
OUTLINE_MARGIN = 0.1   # ... or beyond this x that spacing outside the outline of the cap
MIN_ELECTRODES = 4
_TABLE = np.linspace(-1.0, 1.0, 4001)


class ScalpMapError(NavigationError):
    """The electrode values cannot be mapped (too few electrodes, positions in a bad frame)."""


def _g_exact(cos: np.ndarray, stiffness: int = STIFFNESS, n_terms: int = N_TERMS) -> np.ndarray:
    n = np.arange(n_terms + 1, dtype=float)
    coef = np.zeros(n_terms + 1)
    coef[1:] = (2 * n[1:] + 1) / (n[1:] * (n[1:] + 1)) ** stiffness / (4 * np.pi)
    return legendre.legval(np.clip(cos, -1.0, 1.0), coef)


_G_TABLE = _g_exact(_TABLE)


_G_SLOPE = np.diff(_G_TABLE)
_STEPS = len(_TABLE) - 1


def _g(cos: np.ndarray) -> np.ndarray:
    """g from the table: the grid is uniform, so the cell is an index, not a search (np.interp's
    binary search was 6x slower on a 64 k x 19 matrix)."""
    x = (np.clip(cos, -1.0, 1.0) + 1.0) * (_STEPS / 2.0)
    i = np.minimum(x.astype(np.intp), _STEPS - 1)
    return _G_TABLE[i] + _G_SLOPE[i] * (x - i)


def _tangent_basis(pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(pole[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(pole, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(pole, e1)


def _flatten(unit: np.ndarray, pole: np.ndarray) -> np.ndarray:
    """Azimuthal equidistant projection about ``pole`` (the topomap layout): the distance from
    the origin is the angle from the pole, so distances near the outline are angles (radians)."""
    e1, e2 = _tangent_basis(pole)
    plane = unit @ np.column_stack([e1, e2])                  # (sin t cos p, sin t sin p)
    theta = np.arccos(np.clip(unit @ pole, -1.0, 1.0))
    sin_t = np.linalg.norm(plane, axis=1)
    return plane * (theta / np.maximum(sin_t, 1e-12))[:, None]


def _outline(dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pole, edges): the cap's outline as the convex hull of the electrodes in the topomap
    layout about their mean direction; ``edges`` (k, 3) rows ``(n_x, n_y, b)`` with unit outward
    normals, so ``max(n . x + b)`` is how far (radians) a flattened point lies outside it."""
    from scipy.spatial import ConvexHull, QhullError

    pole = dirs.mean(axis=0)
    pole /= np.linalg.norm(pole)
    try:
        hull = ConvexHull(_flatten(dirs, pole))
    except (QhullError, ValueError):
        return pole, np.zeros((0, 3))
    return pole, np.asarray(hull.equations, float)


def _directions(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    d = np.asarray(points, float) - centre
    norm = np.linalg.norm(d, axis=1)
    return d / np.maximum(norm, 1e-12)[:, None]


@dataclass(frozen=True)
class SphericalSpline:
    """A fitted spline: evaluate it anywhere with :meth:`evaluate`."""

    names: tuple[str, ...]            # electrodes used (position and finite value)
    skipped: tuple[str, ...]          # values without a position, or with a NaN value
    centre_mm: np.ndarray
    radius_mm: float
    directions: np.ndarray            # (n, 3) unit, electrodes seen from the centre
    weights: np.ndarray               # c_i
    constant: float                   # c0
    max_angle_rad: float              # beyond this from every electrode: NaN
    pole: np.ndarray                  # the cap's mean direction (topomap centre)
    outline: np.ndarray               # (k, 3) edges of the cap's outline (see _outline)
    margin_rad: float                 # how far outside the outline the map still goes

    @classmethod
    def fit(cls, electrodes_mm: Mapping[str, object], values: Mapping[str, float], *,
            reach: float = REACH) -> "SphericalSpline":
        names = [n for n in values if n in electrodes_mm and np.isfinite(float(values[n]))]
        skipped = tuple(n for n in values if n not in names)
        if len(names) < MIN_ELECTRODES:
            raise ScalpMapError(f"a scalp map needs values at {MIN_ELECTRODES} or more electrodes "
                                f"with positions; got {len(names)}"
                                + (f" (no position or no value: {', '.join(skipped)})" if skipped else ""))
        pos = np.array([np.asarray(electrodes_mm[n], float).reshape(3) for n in names])
        if not np.all(np.isfinite(pos)):
            raise ScalpMapError("an electrode position has NaN or infinite coordinates")
        try:
            sphere = fit_sphere(pos) if len(pos) >= 10 else None
        except SphereFitError as exc:
            raise ScalpMapError(f"the electrode positions do not lie on a head-sized sphere ({exc}): "
                                "are they in mm, in this head's MRI frame?") from None
        if sphere is not None:
            centre, radius = np.asarray(sphere.centre_mm, float), float(sphere.radius_mm)
        else:   # few electrodes: centre below their centroid, one head radius in
            centroid = pos.mean(axis=0)
            centre, radius = centroid - np.array([0.0, 0.0, 45.0]), 90.0
        dirs = _directions(pos, centre)
        v = np.array([float(values[n]) for n in names])
        g = _g(dirs @ dirs.T)
        n = len(names)
        system = np.zeros((n + 1, n + 1))
        system[:n, :n] = g
        system[:n, n] = 1.0
        system[n, :n] = 1.0
        rhs = np.concatenate([v, [0.0]])
        sol, *_ = np.linalg.lstsq(system, rhs, rcond=None)
        angles = np.arccos(np.clip(dirs @ dirs.T, -1.0, 1.0))
        np.fill_diagonal(angles, np.inf)
        spacing = float(np.max(np.min(angles, axis=1)))
        return cls(tuple(names), skipped, centre, radius, dirs, sol[:n], float(sol[n]),
                   reach * spacing, *_outline(dirs), OUTLINE_MARGIN * spacing)

    def evaluate(self, points_mm: np.ndarray, *, fade: bool = True) -> np.ndarray:
        """Values at ``points_mm`` (N, 3); NaN beyond the reach of the electrodes (``fade``)."""
        pts = np.asarray(points_mm, float).reshape(-1, 3)
        out = np.empty(len(pts))
        chunk = 16384      # bounds the (chunk, n_electrodes) temporaries
        for start in range(0, len(pts), chunk):
            unit = _directions(pts[start:start + chunk], self.centre_mm)
            cos = unit @ self.directions.T
            vals = _g(cos) @ self.weights + self.constant
            if fade:
                nearest = np.arccos(np.clip(cos.max(axis=1), -1.0, 1.0))
                far = nearest > self.max_angle_rad
                if len(self.outline):
                    flat = _flatten(unit, self.pole)
                    nx, ny, b = self.outline.T          # (x, 2) @ (2, k) took 50 ms: broadcast
                    outside = np.max(flat[:, :1] * nx + flat[:, 1:] * ny + b, axis=1)
                    far |= outside > self.margin_rad
                vals[far] = np.nan
            out[start:start + chunk] = vals
        return out


def scalp_map(vertices_mm: np.ndarray, electrodes_mm: Mapping[str, object],
              values: Mapping[str, float], *, reach: float = REACH) -> np.ndarray:
    """Per-vertex values interpolated from per-electrode ``values`` (NaN far from the cap).

    ``electrodes_mm``: name -> position in the same frame and unit as the vertices (mri mm).
    Values whose electrode has no position are left out (see :class:`SphericalSpline` for which)."""
    vertices = np.asarray(vertices_mm, float)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ScalpMapError(f"vertices must be an (N, 3) array in mm, got shape {vertices.shape}")
    return SphericalSpline.fit(electrodes_mm, values, reach=reach).evaluate(vertices)
