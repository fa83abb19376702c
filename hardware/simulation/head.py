"""Head geometry for the simulated tracker, given as plain arrays (hardware never imports navigation).

The app hands the simulator a :class:`HeadGeometry` built from its own scalp mesh; the CLI emulator
and tests use :func:`demo_head_geometry`, an ellipsoid head. Everything is in the head's own frame
(the MRI frame of the sample head: RAS+, +x Right, +y Anterior, +z Superior), in millimetres.
:class:`ScalpSurface` turns the vertices into a smooth, star-shaped surface model so that a pointer
tip can slide over the scalp between vertices without jumping from vertex to vertex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import numpy as np
from scipy.spatial import cKDTree

from ..rigid import frame_from_z_axis, is_rigid, rigid

__all__ = ["HeadGeometry", "ScalpSurface", "demo_head_geometry", "DEMO_HEAD_SEMI_AXES_MM",
           "DEMO_HEAD_CENTRE_MM"]

#: Sanity bounds (reliability note B3.9): a head outside them is almost surely in metres or cm.
HEAD_EXTENT_RANGE_MM = (100.0, 300.0)
#: A landmark further than this from every scalp vertex is in another frame or unit.
LANDMARK_MAX_OFF_SCALP_MM = 30.0


def _points(value: object, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{what} must be an (N, 3) array in mm, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


@dataclass(frozen=True, eq=False)
class HeadGeometry:
    """The simulated patient's head in its own frame (mm, RAS+).

    ``scalp_vertices_mm`` (N, 3) and outward ``scalp_normals`` (N, 3) sample the scalp (the upper
    head is enough). ``landmarks_mm`` maps names (e.g. "nasion", "lpa", "rpa") to 3-vectors.
    ``targets`` maps names to ``head_from_target`` 4x4 hotspot poses: origin on the scalp, +z into
    the head, +y along the coil handle (docs/design.md, frame ``target``).
    """

    scalp_vertices_mm: np.ndarray
    scalp_normals: np.ndarray
    landmarks_mm: Mapping[str, np.ndarray]
    targets: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        vertices = _points(self.scalp_vertices_mm, "scalp_vertices_mm")
        normals = _points(self.scalp_normals, "scalp_normals")
        if len(vertices) < 20:
            raise ValueError(f"need at least 20 scalp vertices, got {len(vertices)}")
        if normals.shape != vertices.shape:
            raise ValueError(f"scalp_normals shape {normals.shape} does not match "
                             f"scalp_vertices_mm shape {vertices.shape}")
        lengths = np.linalg.norm(normals, axis=1)
        if np.any(lengths < 1e-9):
            raise ValueError("scalp_normals contains zero-length normals")
        normals = normals / lengths[:, None]
        extent = float(np.max(np.ptp(vertices, axis=0)))
        lo, hi = HEAD_EXTENT_RANGE_MM
        if not lo <= extent <= hi:
            raise ValueError(f"scalp extent is {extent:.4g} mm, outside the plausible {lo:.0f}-"
                             f"{hi:.0f} mm for a head: are the vertices in metres or cm?")
        outward = np.einsum("ij,ij->i", normals, vertices - vertices.mean(axis=0)) > 0
        if outward.mean() < 0.5:
            raise ValueError("scalp_normals point into the head; they must point outward")
        landmarks = {}
        for name, point in dict(self.landmarks_mm).items():
            p = np.asarray(point, dtype=float).reshape(-1)
            if p.shape != (3,) or not np.all(np.isfinite(p)):
                raise ValueError(f"landmark {name!r} must be a finite 3-vector in mm, got {point!r}")
            off = float(np.min(np.linalg.norm(vertices - p, axis=1)))
            if off > LANDMARK_MAX_OFF_SCALP_MM:
                raise ValueError(f"landmark {name!r} is {off:.0f} mm from the nearest scalp vertex: "
                                 "landmarks and scalp must share one frame and unit (mm)")
            p.setflags(write=False)
            landmarks[name] = p
        targets = {}
        for name, pose in dict(self.targets).items():
            m = np.asarray(pose, dtype=float)
            if m.shape != (4, 4) or not is_rigid(m):
                raise ValueError(f"target {name!r} must be a rigid 4x4 head_from_target pose")
            m = m.copy()
            m.setflags(write=False)
            targets[name] = m
        for arr in (vertices, normals):
            arr.setflags(write=False)
        object.__setattr__(self, "scalp_vertices_mm", vertices)
        object.__setattr__(self, "scalp_normals", normals)
        object.__setattr__(self, "landmarks_mm", landmarks)
        object.__setattr__(self, "targets", targets)

    @property
    def centroid_mm(self) -> np.ndarray:
        return self.scalp_vertices_mm.mean(axis=0)

    def landmark(self, name: str) -> np.ndarray:
        try:
            return self.landmarks_mm[name]
        except KeyError:
            known = ", ".join(sorted(self.landmarks_mm)) or "none"
            raise ValueError(f"head geometry has no landmark {name!r} (it has: {known})") from None

    def target(self, name: str | None = None) -> np.ndarray:
        """``head_from_target`` of the named target (the first one when ``name`` is None)."""
        if not self.targets:
            raise ValueError("head geometry has no targets; pass one or name a landmark-free scenario")
        if name is None:
            return next(iter(self.targets.values()))
        try:
            return self.targets[name]
        except KeyError:
            known = ", ".join(sorted(self.targets))
            raise ValueError(f"head geometry has no target {name!r} (it has: {known})") from None


class ScalpSurface:
    """Smooth radial model of the scalp seen from an interior centre point.

    For a direction ``d`` from the centre, each nearby vertex's tangent plane is intersected with
    the ray, scaled by the cosine of the angle between ``d`` and the vertex direction (which
    makes it exact on a sphere), and the distances are blended with Gaussian weights on that
    angle. The result is continuous in ``d`` (no vertex-to-vertex jumps) and lies within 0.1 mm
    of the true surface of the 5-mm-spaced demo ellipsoid.
    """

    def __init__(self, head: HeadGeometry, neighbours: int = 12) -> None:
        self.centre_mm = head.centroid_mm
        rel = head.scalp_vertices_mm - self.centre_mm
        self._radius = np.linalg.norm(rel, axis=1)
        self._dirs = rel / self._radius[:, None]
        self._vertices = head.scalp_vertices_mm
        self._normals = head.scalp_normals
        self._tree = cKDTree(self._dirs)
        self._k = min(neighbours, len(rel))
        spacing, _ = self._tree.query(self._dirs, k=2)
        self._sigma = 1.5 * float(np.median(spacing[:, 1]))

    def point_and_normal(self, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scalp point (mm) and outward unit normal along ``direction`` from the centre."""
        d = np.asarray(direction, dtype=float)
        d = d / np.linalg.norm(d)
        dist, idx = self._tree.query(d, k=self._k)
        w = np.exp(-(np.asarray(dist) / self._sigma) ** 2) + 1e-12
        n = self._normals[idx]
        along = n @ d
        ok = along > 0.2
        if not np.any(ok):  # grazing ray: fall back to the nearest vertex's radius
            return self.centre_mm + d * self._radius[idx[0]], n[0]
        s = np.einsum("ij,ij->i", self._vertices[idx] - self.centre_mm, n)[ok] / along[ok]
        s *= self._dirs[idx][ok] @ d  # exact for a sphere: undo the tangent plane's overshoot
        w = w[ok]
        radius = float(np.sum(w * s) / np.sum(w))
        normal = np.sum(w[:, None] * n[ok], axis=0)
        return self.centre_mm + d * radius, normal / np.linalg.norm(normal)

    def nearest_normal(self, point: np.ndarray) -> np.ndarray:
        """Outward normal of the scalp at the point closest in direction to ``point``."""
        return self.point_and_normal(np.asarray(point, dtype=float) - self.centre_mm)[1]


# --- the demo head: an ellipsoid, so that tests know the exact surface ------------------------

#: Semi-axes (x left-right, y anterior-posterior, z inferior-superior) of the demo head, mm.
DEMO_HEAD_SEMI_AXES_MM = np.array([75.0, 95.0, 105.0])
#: Centre of the demo head's ellipsoid in its MRI frame (not the origin, to catch frame mix-ups).
DEMO_HEAD_CENTRE_MM = np.array([0.0, -15.0, 10.0])


def _ellipsoid_point(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(direction, dtype=float)
    d = d / np.linalg.norm(d)
    scale = 1.0 / np.sqrt(np.sum((d / DEMO_HEAD_SEMI_AXES_MM) ** 2))
    rel = d * scale
    normal = rel / DEMO_HEAD_SEMI_AXES_MM**2
    return DEMO_HEAD_CENTRE_MM + rel, normal / np.linalg.norm(normal)


def _hotspot_pose(direction: np.ndarray, handle_hint: np.ndarray) -> np.ndarray:
    """``head_from_target``: origin on the scalp, +z into the head, +y toward ``handle_hint``."""
    point, normal = _ellipsoid_point(direction)
    return rigid(frame_from_z_axis(-normal, y_hint=handle_hint), point)


@lru_cache(maxsize=4)
def demo_head_geometry(n_vertices: int = 3000) -> HeadGeometry:
    """An ellipsoid head (150 x 190 x 210 mm) with nasion, LPA, RPA and two targets.

    Vertices cover the head above about 5 cm below the ear line (Fibonacci sphere sampling, about
    5 mm apart). Targets: ``left_m1`` (handle 45 deg posterior-lateral, the usual motor hotspot
    orientation) and ``right_dlpfc``.
    """
    total = int(n_vertices / 0.75) + 1  # about 3/4 of the sphere's points are kept
    i = np.arange(total) + 0.5
    z = 1.0 - 2.0 * i / total
    phi = np.pi * (1.0 + 5.0**0.5) * i
    dirs = np.column_stack([np.sqrt(1 - z**2) * np.cos(phi), np.sqrt(1 - z**2) * np.sin(phi), z])
    rel = dirs / np.sqrt(np.sum((dirs / DEMO_HEAD_SEMI_AXES_MM) ** 2, axis=1))[:, None]
    rel = rel[rel[:, 2] > -0.5 * DEMO_HEAD_SEMI_AXES_MM[2]]
    normals = rel / DEMO_HEAD_SEMI_AXES_MM**2
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    landmarks = {
        "nasion": _ellipsoid_point(np.array([0.0, 1.0, -0.15]))[0],
        "lpa": _ellipsoid_point(np.array([-1.0, 0.05, -0.25]))[0],   # x < 0: patient's left
        "rpa": _ellipsoid_point(np.array([1.0, 0.05, -0.25]))[0],
    }
    targets = {
        "left_m1": _hotspot_pose(np.array([-0.45, -0.05, 0.89]),
                                 handle_hint=np.array([-1.0, -1.0, 0.0])),
        "right_dlpfc": _hotspot_pose(np.array([0.55, 0.6, 0.58]),
                                     handle_hint=np.array([0.0, -1.0, 0.0])),
    }
    return HeadGeometry(DEMO_HEAD_CENTRE_MM + rel, normals, landmarks, targets)
