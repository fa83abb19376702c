"""A synthetic T1-like head with known geometry, for tests and demos everywhere.

Nested ellipsoids (scalp, skull, CSF, grey and white matter) in scanner RAS mm, a nose at the
front (so the nasion is well defined), two ear bumps (the LPA/RPA are their tips) and a bright
sphere in the LEFT hemisphere (x < centre x), which proves that left stays left through every
load, display and registration step.

Voxels are partial-volume sampled: each tissue boundary gets a one-voxel linear ramp from a
first-order signed distance ``(q - 1) / |grad q|`` (``q`` the ellipsoid's quadratic form), so an
iso-surface at :attr:`PhantomHead.scalp_threshold` lies within a small fraction of a voxel of the
analytic scalp. Exact point-to-ellipsoid distances use the root of the closest-point equation
(D. Eberly, "Distance from a Point to an Ellipse, an Ellipsoid, or a Hyperellipsoid", 2013),
found by bisection.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import nibabel as nib
import numpy as np
from scipy.spatial.transform import Rotation

from .imaging.volume import Volume

__all__ = ["Ellipsoid", "PhantomHead", "make_phantom_head", "INTENSITIES"]

INTENSITIES = {"background": 0, "scalp": 800, "skull": 120, "csf": 200, "grey": 550,
               "white": 750, "marker": 1400}
# depth of each inner boundary below the scalp surface, mm (along the semi-axes)
_DEPTH_MM = {"skull": 5.0, "csf": 11.0, "grey": 14.0, "white": 18.0}
_AXES = {"R": (0, 1.0), "L": (0, -1.0), "A": (1, 1.0), "P": (1, -1.0), "S": (2, 1.0), "I": (2, -1.0)}


def _frozen(a) -> np.ndarray:
    out = np.array(a, dtype=bool if np.asarray(a).dtype == bool else float)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Ellipsoid:
    """Axis-aligned ellipsoid in mri mm."""

    centre: np.ndarray
    semi_axes: np.ndarray

    def __post_init__(self) -> None:
        for name in ("centre", "semi_axes"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def quadratic(self, xyz: np.ndarray) -> np.ndarray:
        return np.sum(((np.asarray(xyz, float) - self.centre) / self.semi_axes) ** 2, axis=-1)

    def approx_signed_distance(self, xyz: np.ndarray) -> np.ndarray:
        """First-order signed distance (negative inside); accurate near the surface only."""
        u = np.asarray(xyz, float) - self.centre
        grad = 2.0 * u / self.semi_axes ** 2
        return (self.quadratic(xyz) - 1.0) / np.maximum(np.linalg.norm(grad, axis=-1), 1e-12)

    def signed_distance(self, xyz: np.ndarray) -> np.ndarray:
        """Exact Euclidean signed distance to the surface (negative inside), (..., 3) -> (...)."""
        u = np.asarray(xyz, float) - self.centre
        a, a2 = self.semi_axes, self.semi_axes ** 2
        t_min = -np.min(a2)
        lo = np.full(u.shape[:-1], t_min)
        hi = np.full(u.shape[:-1], np.max(a) * (np.linalg.norm(u, axis=-1) + 1.0))
        for _ in range(100):  # F(t) = sum((a u / (a^2 + t))^2) - 1 decreases on (-min a^2, inf)
            t = 0.5 * (lo + hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.sum((a * u / (a2 + t[..., None])) ** 2, axis=-1) - 1.0
            f = np.where(np.isfinite(f), f, np.inf)
            lo, hi = np.where(f > 0, t, lo), np.where(f > 0, hi, t)
        t = 0.5 * (lo + hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            closest = a2 * u / (a2 + t[..., None])
        # Degenerate case (Eberly sec. 3): no root above -min(a^2) because the point lies on the
        # plane of the shortest axis; the closest point leaves that plane.
        k = int(np.argmin(a2))
        others = [i for i in range(3) if i != k]
        with np.errstate(divide="ignore", invalid="ignore"):
            x_o = a2[others] * u[..., others] / (a2[others] - a2[k])
            rest = 1.0 - np.sum((x_o / a[others]) ** 2, axis=-1)
        degenerate = (t - t_min < 1e-6 * np.max(a2)) & (np.abs(u[..., k]) < 1e-9) & (rest >= 0)
        if np.any(degenerate):
            alt = np.zeros(u.shape)
            alt[..., others] = x_o
            alt[..., k] = a[k] * np.sqrt(np.clip(rest, 0.0, None))
            closest = np.where(degenerate[..., None], alt, closest)
        dist = np.linalg.norm(u - closest, axis=-1)
        return np.where(self.quadratic(xyz) < 1.0, -dist, dist)

    def shrunk(self, depth_mm: float) -> "Ellipsoid":
        return Ellipsoid(self.centre, self.semi_axes - depth_mm)


@dataclass(frozen=True, eq=False)
class PhantomHead:
    """The phantom and its truth (all points in mri mm)."""

    volume: Volume
    scalp: Ellipsoid
    bumps: tuple[Ellipsoid, ...]          # nose, left ear, right ear
    nasion: np.ndarray
    lpa: np.ndarray
    rpa: np.ndarray
    left_marker: np.ndarray
    left_marker_radius_mm: float
    brain_mask: np.ndarray                # bool, same voxel grid as ``volume``
    scalp_threshold: float                # iso-value of the scalp/air boundary
    voxel_mm: float
    orientation: str

    def __post_init__(self) -> None:
        for name in ("nasion", "lpa", "rpa", "left_marker", "brain_mask"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def __repr__(self) -> str:
        return f"<PhantomHead {self.orientation} {self.voxel_mm:g} mm {self.volume.shape}>"

    @property
    def scalp_semi_axes_mm(self) -> np.ndarray:
        return self.scalp.semi_axes.copy()

    @property
    def scalp_centre_mm(self) -> np.ndarray:
        return self.scalp.centre.copy()

    @property
    def brain(self) -> Ellipsoid:
        return self.scalp.shrunk(_DEPTH_MM["grey"])

    def nifti(self) -> nib.Nifti1Image:
        """The volume as a NIfTI image (qform = sform = scanner, mm)."""
        affine = self.volume.mri_from_voxel.matrix
        img = nib.Nifti1Image(np.asarray(self.volume.data), affine)
        img.set_qform(affine, code=1)
        img.set_sform(affine, code=1)
        img.header.set_xyzt_units(xyz="mm")
        return img

    def scalp_point(self, direction) -> tuple[np.ndarray, np.ndarray]:
        """Point where a ray from the scalp centre along ``direction`` (3,)/(N, 3) meets the
        scalp ellipsoid, and the outward unit normal there (bumps ignored: see :meth:`on_bump`)."""
        d = np.asarray(direction, float)
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
        a = self.scalp.semi_axes
        t = 1.0 / np.sqrt(np.sum((d / a) ** 2, axis=-1, keepdims=True))
        offset = t * d
        normal = offset / a ** 2
        return self.scalp.centre + offset, normal / np.linalg.norm(normal, axis=-1, keepdims=True)

    def on_bump(self, points, margin_mm: float = 2.0) -> np.ndarray:
        """True where a scalp point is within ``margin_mm`` of the nose or an ear (not exact there)."""
        p = np.asarray(points, float)
        near = np.zeros(p.shape[:-1], bool)
        for bump in self.bumps:
            near |= bump.approx_signed_distance(p) < margin_mm
        return near

    def scalp_distance(self, points) -> np.ndarray:
        """Signed distance (mm, negative inside) to the head surface: scalp ellipsoid united
        with the bumps (exact outside the head, the union's usual min-approximation inside)."""
        p = np.asarray(points, float)
        d = self.scalp.signed_distance(p)
        for bump in self.bumps:
            d = np.minimum(d, bump.signed_distance(p))
        return d

    def sample_scalp_points(self, n: int, rng: np.random.Generator | int | None = None,
                            region: str = "upper") -> tuple[np.ndarray, np.ndarray]:
        """``n`` random exact scalp points (and outward normals) away from the bumps.

        Regions: "all" (above the nose tip), "upper" (above the nasion-LPA-RPA plane, where head
        digitisation happens), "forehead", "top" (upper third).
        """
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        c, a = self.scalp.centre, self.scalp.semi_axes
        tests = {
            "all": lambda p: p[:, 2] >= self.nasion[2] - 30.0,
            "upper": lambda p: p[:, 2] >= self.nasion[2] + 5.0,
            "forehead": lambda p: (p[:, 2] >= self.nasion[2] + 10.0) & (p[:, 1] > c[1] + 0.6 * a[1])
            & (np.abs(p[:, 0] - c[0]) < 0.5 * a[0]),
            "top": lambda p: p[:, 2] >= c[2] + 0.6 * a[2],
        }
        if region not in tests:
            raise ValueError(f"region must be one of {sorted(tests)}, got {region!r}")
        pts, nrm = [], []
        count = 0
        for _ in range(200):
            p, nv = self.scalp_point(gen.normal(size=(4 * n + 16, 3)))
            keep = tests[region](p) & ~self.on_bump(p)
            pts.append(p[keep])
            nrm.append(nv[keep])
            count += int(keep.sum())
            if count >= n:
                break
        return np.concatenate(pts)[:n], np.concatenate(nrm)[:n]


def _grid_affine(orientation: str, voxel_mm: float, lo: np.ndarray, hi: np.ndarray,
                 rotation_deg: tuple[float, float, float], centre: np.ndarray
                 ) -> tuple[np.ndarray, tuple[int, int, int]]:
    code = orientation.upper()
    if len(code) != 3 or sorted(_AXES[c][0] for c in code if c in _AXES) != [0, 1, 2]:
        raise ValueError(f"orientation must be 3 axis letters like 'RAS' or 'LPI', got {orientation!r}")
    n_world = np.ceil((hi - lo) / voxel_mm).astype(int) + 1
    lin = np.zeros((3, 3))
    origin = np.zeros(3)
    shape = []
    for v, letter in enumerate(code):
        w, sign = _AXES[letter]
        lin[w, v] = sign * voxel_mm
        origin[w] = lo[w] if sign > 0 else lo[w] + (n_world[w] - 1) * voxel_mm
        shape.append(int(n_world[w]))
    rot = Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix()
    affine = np.eye(4)
    affine[:3, :3] = rot @ lin
    affine[:3, 3] = rot @ (origin - centre) + centre
    return affine, tuple(shape)  # type: ignore[return-value]


def _quadratic_cols(cols: np.ndarray, s: Ellipsoid) -> np.ndarray:
    """``s.quadratic`` for points stored as rows of a (3, N) array (fast, contiguous)."""
    c, a = s.centre.astype(cols.dtype), s.semi_axes.astype(cols.dtype)
    q = np.square((cols[0] - c[0]) / a[0])
    q += np.square((cols[1] - c[1]) / a[1])
    q += np.square((cols[2] - c[2]) / a[2])
    return q


def _occupancy(shapes: list[Ellipsoid], cols: np.ndarray, voxel_mm: float) -> np.ndarray:
    """Partial-volume fraction of a union of ellipsoids: a one-voxel linear ramp across the
    boundary from the first-order signed distance, computed only in a band around it."""
    occ = np.zeros(cols.shape[1])
    for s in shapes:
        q = _quadratic_cols(cols, s)
        # |grad q| <= 2 a_max / a_min^2 on the surface: outside this band the ramp is flat
        band = 3.0 * voxel_mm * np.max(s.semi_axes) / np.min(s.semi_axes) ** 2
        o = (q < 1.0).astype(float)
        near = np.flatnonzero(np.abs(q - 1.0) < band)
        if near.size:
            d = s.approx_signed_distance(cols[:, near].T.astype(float))
            o[near] = np.clip(0.5 - d / voxel_mm, 0.0, 1.0)
        np.maximum(occ, o, out=occ)
    return occ


def _render(affine: np.ndarray, shape: tuple[int, int, int], voxel_mm: float,
            layers: list[tuple[list[Ellipsoid], float]], grey_layer: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Intensity of every voxel (flat, C order) and the occupancy of layer ``grey_layer``,
    one slab of voxel axis 0 at a time to bound memory."""
    n_slab = int(np.prod(shape[1:]))
    image = np.full(int(np.prod(shape)), float(INTENSITIES["background"]))
    grey = np.zeros(image.size)
    jk = np.stack(np.unravel_index(np.arange(n_slab), shape[1:]), axis=0).astype(float)
    per_slab = max(1, (1 << 20) // n_slab)
    for i0 in range(0, shape[0], per_slab):
        i1 = min(shape[0], i0 + per_slab)
        i = np.repeat(np.arange(i0, i1, dtype=float), n_slab)
        j, k = np.tile(jk[0], i1 - i0), np.tile(jk[1], i1 - i0)
        # float32 positions: ~1e-5 mm at head scale, and half the memory traffic
        cols = (affine[:3, :3] @ np.stack([i, j, k]) + affine[:3, 3:4]).astype(np.float32)
        sl = slice(i0 * n_slab, i1 * n_slab)
        for index, (shapes, step) in enumerate(layers):
            occ = _occupancy(shapes, cols, voxel_mm)
            image[sl] += step * occ
            if index == grey_layer:
                grey[sl] = occ
    return image, grey


def make_phantom_head(voxel_mm: float = 2.0, orientation: str = "RAS", seed: int = 0, *,
                      centre_mm=(0.0, -10.0, 15.0), semi_axes_mm=(75.0, 95.0, 85.0),
                      rotation_deg=(0.0, 0.0, 0.0), noise_sd: float = 10.0,
                      dtype=np.int16) -> PhantomHead:
    """Build the phantom (about 100 x 125 x 110 voxels at 2 mm, about 0.5 s; the last few
    results are memoised, which is safe because every array in a phantom is read-only).

    ``orientation`` is the voxel storage order ("RAS", "LAS", "LPI", "ASR", ...);
    ``rotation_deg`` (xyz Euler about the head centre) makes the storage oblique. The anatomy
    in mri mm is the same whatever the storage, so the truth fields do not depend on it.
    """
    if not 0.25 <= float(voxel_mm) <= 8.0:
        raise ValueError(f"voxel_mm must be within 0.25..8 mm, got {voxel_mm}")
    return _build(float(voxel_mm), str(orientation).upper(), int(seed),
                  tuple(float(v) for v in centre_mm), tuple(float(v) for v in semi_axes_mm),
                  tuple(float(v) for v in rotation_deg), float(noise_sd), np.dtype(dtype).str)


@lru_cache(maxsize=4)
def _build(voxel_mm: float, orientation: str, seed: int, centre_mm: tuple, semi_axes_mm: tuple,
           rotation_deg: tuple, noise_sd: float, dtype: str) -> PhantomHead:
    centre, semi = np.asarray(centre_mm, float), np.asarray(semi_axes_mm, float)
    scalp = Ellipsoid(centre, semi)
    dz = -10.0                                             # nasion 10 mm below the centre
    nasion = centre + [0.0, semi[1] * np.sqrt(1 - (dz / semi[2]) ** 2), dz]
    nose = Ellipsoid(nasion + [0.0, 4.0, -26.0], np.array([11.0, 14.0, 26.0]))
    ear_yz = np.array([-8.0, dz])
    ear_x = semi[0] * np.sqrt(1 - (ear_yz[0] / semi[1]) ** 2 - (ear_yz[1] / semi[2]) ** 2)
    ears, tips = [], []
    for side in (-1.0, 1.0):                               # left (-x) first
        base = centre + [side * ear_x, *ear_yz]
        ears.append(Ellipsoid(base, np.array([6.0, 10.0, 14.0])))
        tips.append(base + [side * 6.0, 0.0, 0.0])
    marker, marker_r = centre + [-30.0, 10.0, 20.0], 6.0

    margin = 20.0
    lo = centre - semi - margin
    hi = centre + semi + margin + [0.0, 20.0, 0.0]         # room for the nose
    affine, shape = _grid_affine(orientation, voxel_mm, lo, hi, tuple(rotation_deg), centre)
    marker_ell = Ellipsoid(marker, np.full(3, marker_r))
    layers: list[tuple[list[Ellipsoid], float]] = [
        ([scalp, nose, *ears], INTENSITIES["scalp"] - INTENSITIES["background"]),
        ([scalp.shrunk(_DEPTH_MM["skull"])], INTENSITIES["skull"] - INTENSITIES["scalp"]),
        ([scalp.shrunk(_DEPTH_MM["csf"])], INTENSITIES["csf"] - INTENSITIES["skull"]),
        ([scalp.shrunk(_DEPTH_MM["grey"])], INTENSITIES["grey"] - INTENSITIES["csf"]),
        ([scalp.shrunk(_DEPTH_MM["white"])], INTENSITIES["white"] - INTENSITIES["grey"]),
        ([marker_ell], INTENSITIES["marker"] - INTENSITIES["white"])]
    image, grey_occ = _render(affine, shape, voxel_mm, layers, grey_layer=3)
    rng = np.random.default_rng(seed)
    image = np.abs(image + rng.normal(0.0, noise_sd, size=image.shape))  # magnitude (Rician-like)
    data = np.round(image).astype(dtype).reshape(shape)
    brain_mask = grey_occ.reshape(shape) >= 0.5
    volume = Volume.from_array(data, affine, name=f"phantom head ({orientation}, {voxel_mm:g} mm)")
    threshold = (INTENSITIES["background"] + INTENSITIES["scalp"]) / 2.0
    return PhantomHead(volume, scalp, (nose, *ears), nasion, tips[0], tips[1], marker, marker_r,
                       brain_mask, threshold, float(voxel_mm), orientation.upper())
