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
so the sample head's 64 k-vertex scalp with 19 electrodes takes 65-130 ms for the first map with
the 2-core machine saturated (load 11-12; 250-300 ms before the K=3 products were taken off
OpenBLAS's threads, see :func:`_cosines`) instead of evaluating 50 Legendre terms per pair, and
2-20 ms for each further measure with the same positions (:class:`ScalpInterpolator`).

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

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.sphere_fit import SphereFitError, fit_sphere

__all__ = ["ScalpMapError", "SphericalSpline", "ScalpInterpolator", "scalp_map", "clear_cache",
           "STIFFNESS", "N_TERMS", "REACH", "OUTLINE_MARGIN"]

STIFFNESS = 4          # Perrin et al. 1989: m = 4 gives smooth maps
N_TERMS = 50
REACH = 0.75           # NaN beyond this x the largest nearest-neighbour electrode spacing
OUTLINE_MARGIN = 0.1   # ... or beyond this x that spacing outside the outline of the cap
MIN_ELECTRODES = 4
SUPPORT_MM = 40.0      # with < 10 electrodes the sphere is fitted to the scalp this close to them
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
    plane = _cosines(unit, np.vstack([e1, e2]))              # (sin t cos p, sin t sin p)
    theta = np.arccos(np.clip(_cosines(unit, pole[None])[:, 0], -1.0, 1.0))
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


def _support_sphere(electrodes: np.ndarray, support_mm: np.ndarray | None):
    """Sphere of the scalp around a few electrodes (None without support points)."""
    if support_mm is None:
        return None
    from scipy.spatial import cKDTree

    pts = np.asarray(support_mm, float).reshape(-1, 3)
    if len(pts) > 20000:                       # a fit does not need every vertex
        pts = pts[:: len(pts) // 20000 + 1]
    dist, _ = cKDTree(electrodes).query(pts, distance_upper_bound=SUPPORT_MM)
    near = pts[np.isfinite(dist)]
    return fit_sphere(near) if len(near) >= 10 else None


def _cosines(unit: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """(N, n) cosines between unit vectors, as three broadcast products: a K=3 matmul goes
    through OpenBLAS's threads, which on a saturated 2-core machine took 120-150 ms for a 16 k
    chunk against 3 ms here."""
    return unit[:, :1] * dirs[:, 0] + unit[:, 1:2] * dirs[:, 1] + unit[:, 2:] * dirs[:, 2]


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
            reach: float = REACH, support_mm: np.ndarray | None = None) -> "SphericalSpline":
        """``support_mm``: scalp points (e.g. the mesh vertices) to fit the sphere to when there
        are fewer than 10 electrodes (too few for a sphere of their own): those within
        ``SUPPORT_MM`` of an electrode."""
        names, skipped = _usable(electrodes_mm, values)
        geometry = _Geometry.build(electrodes_mm, names, skipped, reach, support_mm)
        v = np.array([float(values[n]) for n in names])
        sol = geometry.solver @ np.concatenate([v, [0.0]])
        n = len(names)
        return cls(tuple(names), skipped, geometry.centre, geometry.radius, geometry.dirs, sol[:n],
                   float(sol[n]), geometry.max_angle, geometry.pole, geometry.outline,
                   geometry.margin)

    def evaluate(self, points_mm: np.ndarray, *, fade: bool = True) -> np.ndarray:
        """Values at ``points_mm`` (N, 3); NaN beyond the reach of the electrodes (``fade``)."""
        pts = np.asarray(points_mm, float).reshape(-1, 3)
        out = np.empty(len(pts))
        for start in range(0, len(pts), _CHUNK):
            unit = _directions(pts[start:start + _CHUNK], self.centre_mm)
            cos = _cosines(unit, self.directions)
            vals = np.einsum("ij,j->i", _g(cos), self.weights) + self.constant
            if fade:
                vals[_far(unit, cos, self.max_angle_rad, self.pole, self.outline, self.margin_rad)] = np.nan
            out[start:start + _CHUNK] = vals
        return out


_CHUNK = 16384      # bounds the (chunk, n_electrodes) temporaries


def _far(unit: np.ndarray, cos: np.ndarray, max_angle: float, pole: np.ndarray,
         outline: np.ndarray, margin: float) -> np.ndarray:
    """Which directions get no value: too far from every electrode, or outside the outline."""
    far = cos.max(axis=1) < np.cos(max_angle)            # angle to the nearest > max_angle
    if len(outline):
        flat = _flatten(unit, pole)
        nx, ny, b = outline.T          # (x, 2) @ (2, k) took 50 ms: broadcast instead
        far |= np.max(flat[:, :1] * nx + flat[:, 1:] * ny + b, axis=1) > margin
    return far


def _usable(electrodes_mm: Mapping[str, object], values: Mapping[str, float]
            ) -> tuple[list[str], tuple[str, ...]]:
    names = [n for n in values if n in electrodes_mm and np.isfinite(float(values[n]))]
    return names, tuple(n for n in values if n not in names)


@dataclass(frozen=True)
class _Geometry:
    """What a map needs from the electrode positions alone (not their values)."""

    centre: np.ndarray
    radius: float
    dirs: np.ndarray
    solver: np.ndarray          # (n+1, n+1): [c; c0] = solver @ [v; 0]
    max_angle: float
    pole: np.ndarray
    outline: np.ndarray
    margin: float

    @classmethod
    def build(cls, electrodes_mm: Mapping[str, object], names: list[str], skipped: tuple[str, ...],
              reach: float, support_mm: np.ndarray | None) -> "_Geometry":
        if len(names) < MIN_ELECTRODES:
            raise ScalpMapError(f"a scalp map needs values at {MIN_ELECTRODES} or more electrodes "
                                f"with positions; got {len(names)}"
                                + (f" (no position or no value: {', '.join(skipped)})" if skipped else ""))
        pos = np.array([np.asarray(electrodes_mm[n], float).reshape(3) for n in names])
        if not np.all(np.isfinite(pos)):
            raise ScalpMapError("an electrode position has NaN or infinite coordinates")
        try:
            sphere = fit_sphere(pos) if len(pos) >= 10 else _support_sphere(pos, support_mm)
        except SphereFitError as exc:
            raise ScalpMapError(f"the electrode positions do not lie on a head-sized sphere ({exc}): "
                                "are they in mm, in this head's MRI frame?") from None
        if sphere is not None:
            centre, radius = np.asarray(sphere.centre_mm, float), float(sphere.radius_mm)
        else:   # few electrodes and no scalp given: centre below their centroid, a head radius in
            centre, radius = pos.mean(axis=0) - np.array([0.0, 0.0, 45.0]), 90.0
        dirs = _directions(pos, centre)
        n = len(names)
        system = np.zeros((n + 1, n + 1))
        system[:n, :n] = _g(dirs @ dirs.T)
        system[:n, n] = 1.0
        system[n, :n] = 1.0
        angles = np.arccos(np.clip(dirs @ dirs.T, -1.0, 1.0))
        np.fill_diagonal(angles, np.inf)
        spacing = float(np.max(np.min(angles, axis=1)))
        return cls(centre, radius, dirs, np.linalg.pinv(system), reach * spacing, *_outline(dirs),
                   OUTLINE_MARGIN * spacing)


class ScalpInterpolator:
    """The map as one matrix: ``values (n) -> per-vertex (N)`` for fixed vertices and electrodes.

    The spline is linear in the values, so everything but one matrix-vector product is done
    once per head and electrode set (as MNE builds its interpolation matrix once per montage):
    the qEEG tab repaints each measure with the same positions: ``g`` between each vertex that
    gets a value and each electrode is kept (sample head, 19 electrodes: 28 k x 19 float64,
    4 MB), a measure is the 20 x 20 solve of its values and one matrix-vector product."""

    def __init__(self, vertices_mm: np.ndarray, electrodes_mm: Mapping[str, object],
                 names: list[str], *, reach: float = REACH) -> None:
        verts = np.asarray(vertices_mm, float).reshape(-1, 3)
        geo = _Geometry.build(electrodes_mm, list(names), (), reach, verts)
        self.names = tuple(names)
        self.n_vertices = len(verts)
        self.solver = geo.solver
        blank = np.zeros(len(verts), dtype=bool)
        rows = []
        for start in range(0, len(verts), _CHUNK):
            unit = _directions(verts[start:start + _CHUNK], geo.centre)
            cos = _cosines(unit, geo.dirs)
            far = _far(unit, cos, geo.max_angle, geo.pole, geo.outline, geo.margin)
            blank[start:start + _CHUNK] = far
            rows.append(_g(cos[~far]))      # rows only for vertices that get a value
        self.keep = np.flatnonzero(~blank)
        self.g = np.vstack(rows) if rows else np.zeros((0, len(names)))

    def __call__(self, values: Mapping[str, float]) -> np.ndarray:
        v = np.array([float(values[n]) for n in self.names] + [0.0])
        sol = self.solver @ v
        out = np.full(self.n_vertices, np.nan)
        # einsum, not BLAS: on a saturated 2-core machine OpenBLAS's threaded gemv took 23 ms
        # for this 28 k x 19 product, einsum's single loop 0.3 ms
        out[self.keep] = np.einsum("ij,j->i", self.g, sol[:-1]) + sol[-1]
        return out


_CACHE: "OrderedDict[tuple, ScalpInterpolator]" = OrderedDict()
_CACHE_SIZE = 4


def _interpolator(vertices: np.ndarray, electrodes_mm: Mapping[str, object], names: list[str],
                  reach: float) -> ScalpInterpolator:
    pos = np.array([np.asarray(electrodes_mm[n], float).reshape(3) for n in names])
    key = (tuple(names), pos.tobytes(), vertices.shape,
           hashlib.blake2b(np.ascontiguousarray(vertices).tobytes(), digest_size=16).digest(), reach)
    found = _CACHE.get(key)
    if found is None:
        found = ScalpInterpolator(vertices, electrodes_mm, names, reach=reach)
        _CACHE[key] = found
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return found


def clear_cache() -> None:
    """Forget the kept interpolation matrices (a benchmark of the first map calls this)."""
    _CACHE.clear()


def scalp_map(vertices_mm: np.ndarray, electrodes_mm: Mapping[str, object],
              values: Mapping[str, float], *, reach: float = REACH, cache: bool = True) -> np.ndarray:
    """Per-vertex values interpolated from per-electrode ``values`` (NaN far from the cap).

    ``electrodes_mm``: name -> position in the same frame and unit as the vertices (mri mm).
    Values whose electrode has no position are left out (see :class:`SphericalSpline` for which).
    ``cache``: keep the interpolation matrix for these vertices and positions (next measure: one
    matrix-vector product); False builds it afresh (what a timing of "one map" should use)."""
    vertices = np.asarray(vertices_mm, float)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ScalpMapError(f"vertices must be an (N, 3) array in mm, got shape {vertices.shape}")
    names, skipped = _usable(electrodes_mm, values)
    if len(names) < MIN_ELECTRODES:
        _Geometry.build(electrodes_mm, names, skipped, reach, None)      # raises with the reason
    if not cache:
        return ScalpInterpolator(vertices, electrodes_mm, names, reach=reach)(values)
    return _interpolator(vertices, electrodes_mm, names, reach)(values)
