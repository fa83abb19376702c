"""Curves, arc lengths and projections on a triangulated scalp (or brain) surface, in mm.

Why plane sections: the 10-20 system is *defined* by tape-measure arcs over the head in planes
(nasion-vertex-inion, preauricular-vertex-preauricular, the circumference through Fpz-T7-Oz;
Jasper 1958; Oostenveld & Praamstra 2001, Clin Neurophysiol 112:713, doi
10.1016/S1388-2457(01)00460-6). Intersecting the mesh with the plane through three points and
walking the resulting polyline reproduces that measurement exactly, with no mesh-graph bias.
A plane containing the surface normal at a point (a *normal section*) is also how we walk a
"straight line" on the scalp (5-cm rule) and measure scalp distances: on a sphere it is the
great circle (the true geodesic); on a head the difference over 5-10 cm is well under 1 mm.
Accuracy against analytic spheres/ellipsoids is measured in tests/navigation/targeting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyvista as pv
from scipy.spatial import cKDTree

from tmsnav.navigation.errors import NavigationError

__all__ = ["SurfaceMesh", "SurfacePath", "HeadAxes", "as_surface", "plane_section", "arc_through",
           "walk", "surface_path", "closest_point", "outward_normal", "ray_hit", "unit"]

LANDMARK_MAX_OFF_SURFACE_MM = 15.0  # a landmark farther than this from the scalp is a frame error


def unit(v: np.ndarray, what: str = "vector") -> np.ndarray:
    v = np.asarray(v, dtype=float)
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n < 1e-12:
        raise NavigationError(f"cannot normalise a zero or invalid {what}")
    return v / n


class SurfaceMesh:
    """A triangle mesh with outward-oriented face normals and lookup structures (build once)."""

    def __init__(self, polydata: pv.PolyData) -> None:
        if not isinstance(polydata, pv.PolyData) or polydata.n_points < 4 or polydata.n_cells < 4:
            raise NavigationError("the surface must be a non-empty triangle mesh (pyvista PolyData)")
        if not polydata.is_all_triangles:
            polydata = polydata.triangulate()
        self.polydata = polydata
        self.vertices = np.asarray(polydata.points, dtype=float)
        self.faces = np.asarray(polydata.regular_faces, dtype=np.int64)
        if not np.all(np.isfinite(self.vertices)):
            raise NavigationError("the surface has NaN or infinite vertex coordinates")
        tri = self.vertices[self.faces]
        cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        self.face_areas = 0.5 * np.linalg.norm(cross, axis=1)
        self.face_centers = tri.mean(axis=1)
        normals = cross / np.maximum(2.0 * self.face_areas, 1e-300)[:, None]
        # Orient outward as a whole: area-weighted normals must point away from the centroid
        # (signed-volume test; robust for closed heads and for heads cut open at the neck).
        centroid = np.average(self.face_centers, axis=0, weights=self.face_areas)
        if np.sum(self.face_areas * np.einsum("ij,ij->i", normals, self.face_centers - centroid)) < 0:
            normals = -normals
        self.face_normals = normals
        self.centroid = centroid
        self._center_tree = cKDTree(self.face_centers)
        self.mean_edge_mm = float(np.mean(np.linalg.norm(tri[:, 1] - tri[:, 0], axis=1)))


def as_surface(mesh: "pv.PolyData | SurfaceMesh") -> SurfaceMesh:
    return mesh if isinstance(mesh, SurfaceMesh) else SurfaceMesh(mesh)


@dataclass(frozen=True)
class SurfacePath:
    """An ordered polyline on the surface, parameterised by arc length (mm)."""

    points: np.ndarray
    _cum: np.ndarray = field(init=False, repr=False, compare=False)  # arc length at each point

    def __post_init__(self) -> None:
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        object.__setattr__(self, "_cum", np.concatenate([[0.0], np.cumsum(seg)]))

    @property
    def length_mm(self) -> float:
        return float(self._cum[-1])

    @property
    def cumulative_mm(self) -> np.ndarray:
        return self._cum.copy()

    def point_at_distance(self, distance_mm: float) -> np.ndarray:
        if not (-1e-9 <= distance_mm <= self.length_mm + 1e-9):
            raise NavigationError(f"{distance_mm:.1f} mm is beyond the end of a "
                                  f"{self.length_mm:.1f} mm scalp arc")
        d = float(np.clip(distance_mm, 0.0, self.length_mm))
        i = int(np.clip(np.searchsorted(self._cum, d, side="right") - 1, 0, len(self.points) - 2))
        span = self._cum[i + 1] - self._cum[i]
        t = 0.0 if span <= 0 else (d - self._cum[i]) / span
        return self.points[i] + t * (self.points[i + 1] - self.points[i])

    def point_at_fraction(self, fraction: float) -> np.ndarray:
        return self.point_at_distance(fraction * self.length_mm)

    def locate(self, point: np.ndarray) -> float:
        """Arc length (mm) of the path position closest to ``point``."""
        s, _ = _project_on_polyline(self.points, self._cum, np.asarray(point, float))
        return s

    def reversed(self) -> "SurfacePath":
        return SurfacePath(self.points[::-1].copy())


@dataclass(frozen=True)
class HeadAxes:
    """Head-fixed anatomical axes in ``mri``: origin between the preauriculars, +right, +anterior.

    From the fiducials (LPA->RPA = right; nasion direction orthogonalised = anterior), so an
    oblique head pose in the scanner does not bias "anterior" or "lateral" directions."""

    origin: np.ndarray
    right: np.ndarray
    anterior: np.ndarray

    @property
    def superior(self) -> np.ndarray:
        return np.cross(self.right, self.anterior)

    @classmethod
    def from_landmarks(cls, nasion: np.ndarray, lpa: np.ndarray, rpa: np.ndarray) -> "HeadAxes":
        nasion, lpa, rpa = (np.asarray(p, float) for p in (nasion, lpa, rpa))
        origin = 0.5 * (lpa + rpa)
        right = unit(rpa - lpa, "LPA->RPA axis (LPA and RPA coincide?)")
        ant = nasion - origin
        ant = unit(ant - right * (ant @ right), "anterior axis (nasion on the ear line?)")
        return cls(origin, right, ant)

    @classmethod
    def ras(cls, origin: np.ndarray | tuple[float, float, float] = (0.0, 0.0, 0.0)) -> "HeadAxes":
        """Axes of the image itself (fine for MNI-aligned images; prefer ``from_landmarks``)."""
        return cls(np.asarray(origin, float), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))

    def side_of(self, point: np.ndarray, midline_tol_mm: float = 5.0) -> str:
        lateral = float((np.asarray(point, float) - self.origin) @ self.right)
        return "midline" if abs(lateral) <= midline_tol_mm else ("right" if lateral > 0 else "left")


# ----- projections --------------------------------------------------------------------------
def closest_point(mesh: "pv.PolyData | SurfaceMesh", point: np.ndarray) -> np.ndarray:
    """Closest point on the surface (not just the closest vertex)."""
    surf = as_surface(mesh)
    p = np.asarray(point, dtype=float).reshape(3)
    found: Any = surf.polydata.find_closest_cell(p, return_closest_point=True)  # (cell, point)
    _, closest = found
    return np.asarray(closest, dtype=float).reshape(3)


def outward_normal(mesh: "pv.PolyData | SurfaceMesh", point: np.ndarray,
                   radius_mm: float = 10.0) -> np.ndarray:
    """Unit outward normal at ``point``: area-weighted mean of face normals within ``radius_mm``.

    Averaging over a ~1 cm patch smooths voxel terraces of marching-cubes scalps, and is the
    scale of a coil's footprint anyway."""
    surf = as_surface(mesh)
    p = np.asarray(point, dtype=float).reshape(3)
    idx = surf._center_tree.query_ball_point(p, radius_mm)
    if len(idx) < 3:
        idx = surf._center_tree.query(p, k=min(6, len(surf.face_centers)))[1]
    idx = np.atleast_1d(idx)
    n = (surf.face_normals[idx] * surf.face_areas[idx, None]).sum(axis=0)
    return unit(n, "surface normal (degenerate surface patch)")


def ray_hit(mesh: "pv.PolyData | SurfaceMesh", origin: np.ndarray, direction: np.ndarray,
            max_distance_mm: float = 200.0) -> np.ndarray | None:
    """First intersection of the ray origin + t*direction (0 < t <= max) with the surface.

    Moeller-Trumbore (J Graphics Tools 2:21, 1997), vectorised over all triangles."""
    surf = as_surface(mesh)
    o = np.asarray(origin, float)
    d = unit(direction, "ray direction")
    tri = surf.vertices[surf.faces]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    pvec = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, pvec)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    tvec = o - tri[:, 0]
    u = np.einsum("ij,ij->i", tvec, pvec) * inv
    qvec = np.cross(tvec, e1)
    v = (qvec @ d) * inv
    t = np.einsum("ij,ij->i", e2, qvec) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9) & (t <= max_distance_mm)
    if not np.any(hit):
        return None
    return o + float(np.min(t[hit])) * d


# ----- plane sections -----------------------------------------------------------------------
def plane_section(mesh: "pv.PolyData | SurfaceMesh", origin: np.ndarray,
                  normal: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """Intersect the surface with a plane: a list of (points (N, 3), closed) polylines.

    Vertices exactly on the plane count as on the positive side, so every crossed triangle has
    exactly two crossed edges and the chains are unambiguous."""
    surf = as_surface(mesh)
    n = unit(normal, "plane normal")
    dist = (surf.vertices - np.asarray(origin, float)) @ n
    pos = dist >= 0
    f = surf.faces
    side = pos[f]
    crossed = np.nonzero(side.any(axis=1) & ~side.all(axis=1))[0]
    if len(crossed) == 0:
        return []
    edge_of: dict[tuple[int, int], int] = {}
    edge_pts: list[np.ndarray] = []
    tri_edges = np.empty((len(crossed), 2), dtype=np.int64)
    for row, fi in enumerate(crossed):
        k = 0
        for a, b in ((0, 1), (1, 2), (2, 0)):
            va, vb = int(f[fi, a]), int(f[fi, b])
            if pos[va] == pos[vb]:
                continue
            key = (va, vb) if va < vb else (vb, va)
            if key not in edge_of:
                da, db = dist[key[0]], dist[key[1]]
                t = da / (da - db)
                edge_of[key] = len(edge_pts)
                edge_pts.append(surf.vertices[key[0]] + t * (surf.vertices[key[1]] - surf.vertices[key[0]]))
            tri_edges[row, k] = edge_of[key]
            k += 1
    pts = np.asarray(edge_pts)
    neighbours: list[list[int]] = [[] for _ in range(len(pts))]
    for a, b in tri_edges:
        neighbours[a].append(int(b))
        neighbours[b].append(int(a))
    seen = np.zeros(len(pts), dtype=bool)
    # start open chains at their ends first, then the loops
    order = [i for i in range(len(pts)) if len(neighbours[i]) == 1] + list(range(len(pts)))
    curves: list[tuple[np.ndarray, bool]] = []
    for start in order:
        if seen[start]:
            continue
        chain, prev, cur = [start], -1, start
        seen[start] = True
        closed = False
        while True:
            nxt = [m for m in neighbours[cur] if m != prev]
            nxt = [m for m in nxt if not seen[m]] or nxt
            if not nxt:
                break
            m = nxt[0]
            if seen[m]:
                closed = m == start and len(chain) > 2
                break
            chain.append(m)
            seen[m] = True
            prev, cur = cur, m
        poly = pts[chain]
        curves.append((np.vstack([poly, poly[:1]]) if closed else poly, closed))
    return curves


def _project_on_polyline(points: np.ndarray, cum: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """(arc length at the closest position, distance) of q to the polyline."""
    a, b = points[:-1], points[1:]
    ab = b - a
    den = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300)
    t = np.clip(np.einsum("ij,ij->i", q - a, ab) / den, 0.0, 1.0)
    proj = a + t[:, None] * ab
    d = np.linalg.norm(proj - q, axis=1)
    i = int(np.argmin(d))
    return float(cum[i] + t[i] * np.sqrt(den[i])), float(d[i])


def _sub_path(points: np.ndarray, closed: bool, s0: float, s1: float, forward: bool) -> SurfacePath:
    """Piece of a polyline between arc lengths s0 and s1 (wrapping around a closed loop)."""
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    total = cum[-1]
    if not forward:
        rev = points[::-1].copy()
        return _sub_path(rev, closed, total - s0, total - s1, True)
    helper = SurfacePath(points)
    if s1 >= s0:
        inner = points[(cum > s0) & (cum < s1)]
        return SurfacePath(np.vstack([helper.point_at_distance(s0), inner, helper.point_at_distance(s1)]))
    if not closed:
        raise NavigationError("internal: an open curve cannot wrap around")
    first = points[cum > s0][:-1]
    second = points[(cum > 0) & (cum < s1)]
    return SurfacePath(np.vstack([helper.point_at_distance(s0), first, points[:1], second,
                                  helper.point_at_distance(s1)]))


def _pick_curve(curves: list[tuple[np.ndarray, bool]], anchors: list[np.ndarray], what: str):
    best, best_cost = None, np.inf
    for pts, closed in curves:
        if len(pts) < 2:
            continue
        cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        proj = [_project_on_polyline(pts, cum, a) for a in anchors]
        cost = max(d for _, d in proj)
        if cost < best_cost:
            best, best_cost = (pts, closed, cum, [s for s, _ in proj]), cost
    if best is None or best_cost > LANDMARK_MAX_OFF_SURFACE_MM:
        far = "" if best is None else f" (a point is {best_cost:.0f} mm from the surface)"
        raise NavigationError(f"the {what} does not run over the scalp surface{far}: "
                              "check that the landmarks and the mesh are in the same frame (mm)")
    return best


def arc_through(mesh: "pv.PolyData | SurfaceMesh", start: np.ndarray, via: np.ndarray,
                end: np.ndarray, what: str = "scalp arc") -> SurfacePath:
    """Surface arc from ``start`` to ``end`` in the plane of the three points, passing ``via``.

    This is the tape-measure arc of the 10-20 system (e.g. nasion -> vertex -> inion)."""
    start, via, end = (np.asarray(p, float).reshape(3) for p in (start, via, end))
    normal = np.cross(via - start, end - start)
    if np.linalg.norm(normal) < 1e-6 * max(1.0, float(np.linalg.norm(end - start))) ** 2:
        raise NavigationError(f"the {what}: the three defining points are collinear")
    pts, closed, cum, (s0, sv, s1) = _pick_curve(
        plane_section(mesh, start, normal), [start, via, end], what)
    total = cum[-1]
    if closed:
        forward = (sv - s0) % total <= (s1 - s0) % total
    else:
        if not (min(s0, s1) <= sv <= max(s0, s1)):
            raise NavigationError(f"the {what} is cut by a hole in the mesh")
        forward = s1 >= s0
    return _sub_path(pts, closed, s0, s1, forward)


def _normal_section(surf: SurfaceMesh, start: np.ndarray, tangent: np.ndarray):
    n = outward_normal(surf, start)
    t = tangent - n * (tangent @ n)
    t = unit(t, "direction (it is parallel to the scalp normal)")
    pts, closed, cum, (s0,) = _pick_curve(plane_section(surf, start, np.cross(n, t)), [start],
                                          "scalp path")
    return pts, closed, cum, s0, t


def walk(mesh: "pv.PolyData | SurfaceMesh", start: np.ndarray, direction: np.ndarray,
         distance_mm: float) -> SurfacePath:
    """Walk ``distance_mm`` over the surface from ``start``, heading along ``direction``
    projected onto the tangent plane (normal section: geodesic on a sphere)."""
    if not np.isfinite(distance_mm) or distance_mm < 0:
        raise NavigationError(f"walk distance must be a finite number of mm >= 0, got {distance_mm}")
    surf = as_surface(mesh)
    start = np.asarray(start, float).reshape(3)
    pts, closed, cum, s0, t = _normal_section(surf, start, np.asarray(direction, float))
    helper = SurfacePath(pts)
    ahead = helper.point_at_distance(min(s0 + 1.0, cum[-1])) - helper.point_at_distance(max(s0 - 1.0, 0))
    forward = float(ahead @ t) >= 0
    total = cum[-1]
    if forward:
        s1 = s0 + distance_mm
        if s1 > total:
            if not closed:
                raise NavigationError(f"the scalp ends {total - s0:.0f} mm from the start; "
                                      f"cannot walk {distance_mm:.0f} mm")
            s1 -= total
    else:
        s1 = s0 - distance_mm
        if s1 < 0:
            if not closed:
                raise NavigationError(f"the scalp ends {s0:.0f} mm from the start; "
                                      f"cannot walk {distance_mm:.0f} mm")
            s1 += total
    return _sub_path(pts, closed, s0, s1, forward)


def surface_path(mesh: "pv.PolyData | SurfaceMesh", a: np.ndarray, b: np.ndarray) -> SurfacePath:
    """Shortest normal-section arc from ``a`` to ``b`` (the plane holds both points and the
    mean surface normal): the tape-measure distance between two scalp points."""
    surf = as_surface(mesh)
    a, b = (np.asarray(p, float).reshape(3) for p in (a, b))
    if np.linalg.norm(b - a) < 1e-9:
        return SurfacePath(np.vstack([a, b]))
    m = outward_normal(surf, a) + outward_normal(surf, b)
    normal = np.cross(b - a, m)
    if np.linalg.norm(normal) < 1e-9:
        raise NavigationError("the two scalp points are on opposite sides of the head")
    pts, closed, cum, (s0, s1) = _pick_curve(plane_section(surf, a, normal), [a, b], "scalp path")
    if not closed:
        return _sub_path(pts, closed, s0, s1, s1 >= s0)
    total = cum[-1]
    return _sub_path(pts, closed, s0, s1, (s1 - s0) % total <= total / 2)
