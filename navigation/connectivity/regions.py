"""The subgenual seed and the left-DLPFC search region, placed in a run's own voxel grid.

Both are defined in MNI152 mm (Fox et al. 2012, Biol Psychiatry 72:595; ConTarg's ROI recipe for
Cash et al. 2021) and brought into the run through ``mni_from_space`` and ``space_from_voxel``:
a voxel belongs to a sphere when its *centre*, mapped to MNI, lies within the radius. The run is
never resampled, so an oblique, LPI-stored or anisotropic grid keeps its own voxels and the
spheres follow the patient's anatomy (an MNI sphere becomes an ellipsoid in a patient whose
brain is smaller or larger than the template).

Coverage is measured on a 1 mm lattice of points filling each sphere in MNI: the fraction that
lands inside the run's field of view, and of those the fraction inside the run's brain mask.
A clipped field of view (the inferior slab cutting off the subgenual cingulate, or the top of a
short slab cutting off the DLPFC) is the usual reason a run cannot be used; it is refused with
the name of the region and the percentage that was imaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tmsnav.navigation.connectivity.method_errors import ConnectivityError, CoverageError
from tmsnav.navigation.connectivity.params import ConnectivityParams
from tmsnav.navigation.connectivity.prepared import PreparedBold

__all__ = ["Regions", "build_regions", "mni_from_voxel", "sphere_lattice"]

#: The template brain fills ~91 % of the 10 mm subgenual sphere but only ~50 % of the union of
#: the four 20 mm DLPFC spheres (they sit on the cortical surface; measured on the ICBM152 2009a
#: GM+WM > 0.5 mask). A run whose brain mask covers less than half of that is refused.
SEED_MIN_IN_BRAIN = 0.45
SEARCH_MIN_IN_BRAIN = 0.25


@dataclass
class Regions:
    """Masks in the run's grid (bool, shape of the grid) and how much of each region was imaged."""

    seed_mask: np.ndarray
    search_mask: np.ndarray
    seed_weights: np.ndarray | None          # seed-map variant: weights on seed_mask voxels
    sphere_seed_mask: np.ndarray             # the seed sphere in the brain (temporal SNR)
    seed_fov_coverage: float
    search_fov_coverage: float
    warnings: list[str] = field(default_factory=list)


def mni_from_voxel(prepared: PreparedBold) -> np.ndarray:
    """4x4 matrix voxel index -> MNI mm for this run (may be a 12-parameter affine)."""
    return np.asarray(prepared.mni_from_space.matrix, dtype=float) @ prepared.space_from_voxel


def sphere_lattice(centres: tuple[tuple[float, float, float], ...], radius_mm: float,
                   step_mm: float = 1.0) -> np.ndarray:
    """Points (N, 3) on a ``step_mm`` lattice filling the union of the spheres (MNI mm)."""
    g = np.arange(-radius_mm, radius_mm + 1e-9, step_mm)
    cube = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    ball = cube[np.linalg.norm(cube, axis=1) <= radius_mm]
    pts = np.concatenate([ball + np.asarray(c, float) for c in centres])
    return np.unique(np.round(pts / step_mm).astype(np.int64), axis=0) * step_mm


def _coverage(points_mni: np.ndarray, voxel_from_mni: np.ndarray, brain: np.ndarray) -> tuple[float, float]:
    v = points_mni @ voxel_from_mni[:3, :3].T + voxel_from_mni[:3, 3]
    idx = np.round(v).astype(np.int64)
    shape = np.array(brain.shape)
    inside = np.all((idx >= 0) & (idx < shape), axis=1)
    fov = float(inside.mean()) if len(idx) else 0.0
    if not inside.any():
        return fov, 0.0
    i = idx[inside]
    return fov, float(brain[i[:, 0], i[:, 1], i[:, 2]].mean())


def _sphere_mask(shape: tuple[int, int, int], m_from_v: np.ndarray,
                 centres: tuple[tuple[float, float, float], ...], radius_mm: float) -> np.ndarray:
    """Voxels whose centre (mapped to MNI) lies within ``radius_mm`` of any centre."""
    out = np.zeros(shape, dtype=bool)
    v_from_m = np.linalg.inv(m_from_v)
    for c in centres:
        corners = np.array([[c[0] + sx * radius_mm, c[1] + sy * radius_mm, c[2] + sz * radius_mm]
                            for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        vc = corners @ v_from_m[:3, :3].T + v_from_m[:3, 3]
        lo = np.clip(np.floor(vc.min(axis=0)).astype(int) - 1, 0, np.array(shape))
        hi = np.clip(np.ceil(vc.max(axis=0)).astype(int) + 2, 0, np.array(shape))
        if np.any(hi <= lo):
            continue
        ii, jj, kk = np.meshgrid(*(np.arange(a, b) for a, b in zip(lo, hi)), indexing="ij")
        vox = np.stack([ii, jj, kk], -1).reshape(-1, 3).astype(float)
        mni = vox @ m_from_v[:3, :3].T + m_from_v[:3, 3]
        near = np.linalg.norm(mni - np.asarray(c, float), axis=1) <= radius_mm
        sel = vox[near].astype(int)
        out[sel[:, 0], sel[:, 1], sel[:, 2]] = True
    return out


def _seed_map_weights(prepared: PreparedBold, path: str, exclude: np.ndarray) -> np.ndarray:
    """Seed-map weights (Fox et al. 2013, NeuroImage 66:151; Cash 2021) sampled at each brain voxel
    of the run by trilinear interpolation in the map's own grid; zero inside ``exclude`` (the
    search spheres), as ConTarg does, so the DLPFC does not correlate with itself."""
    import nibabel as nib
    from scipy.ndimage import map_coordinates

    try:
        img: Any = nib.load(path)
        data = np.asarray(img.dataobj, dtype=np.float64)
    except Exception as exc:  # nibabel raises many types for unreadable files
        raise ConnectivityError(f"the seed map {path} cannot be read as NIfTI: {exc}") from None
    if data.ndim != 3 or not np.all(np.isfinite(data)):
        raise ConnectivityError(f"the seed map {path} must be one 3-D volume of finite weights")
    brain = np.asarray(prepared.brain_mask, bool) & ~exclude
    vox = np.argwhere(brain).astype(float)
    mni = vox @ mni_from_voxel(prepared)[:3, :3].T + mni_from_voxel(prepared)[:3, 3]
    map_vox = mni @ np.linalg.inv(img.affine)[:3, :3].T + np.linalg.inv(img.affine)[:3, 3]
    w = map_coordinates(data, map_vox.T, order=1, mode="constant", cval=0.0)
    out = np.zeros(prepared.grid_shape, dtype=np.float64)
    out[brain] = w
    if not np.any(out):
        raise CoverageError(f"the seed map {path} has no weight inside this run's brain mask: "
                            "is it in MNI space, and is the run's MNI registration right?")
    return out


def build_regions(prepared: PreparedBold, params: ConnectivityParams) -> Regions:
    """Seed and search masks in the run's grid; refuses a region that was not imaged."""
    shape = prepared.grid_shape
    brain = np.asarray(prepared.brain_mask, dtype=bool)
    m_from_v = mni_from_voxel(prepared)
    v_from_m = np.linalg.inv(m_from_v)
    warnings: list[str] = []
    fovs = {}
    for label, centres, radius, min_brain in (
            ("sgACC seed", (params.seed_mni_mm,), params.seed_radius_mm, SEED_MIN_IN_BRAIN),
            ("DLPFC search region", params.search_centres_mni_mm, params.search_radius_mm,
             SEARCH_MIN_IN_BRAIN)):
        fov, in_brain = _coverage(sphere_lattice(centres, radius), v_from_m, brain)
        fovs[label] = fov
        if fov < params.min_coverage:
            raise CoverageError(
                f"the {label} is only {100 * fov:.0f} % inside the run's field of view (at least "
                f"{100 * params.min_coverage:.0f} % needed): the slab does not cover it. Use a run "
                "acquired with whole-brain coverage, or check the run's MNI registration")
        if in_brain < min_brain:
            raise CoverageError(
                f"the {label} is only {100 * in_brain:.0f} % inside the run's brain mask (the "
                f"template brain fills ~{200 * min_brain:.0f} % of it): the brain mask or the "
                "MNI registration of this run is wrong")
        if fov < params.warn_coverage:
            warnings.append(f"the {label} is only {100 * fov:.0f} % inside the run's field of view; "
                            "the target may be biased toward the imaged part. Prefer a run with "
                            "whole-brain coverage.")
    search_spheres = _sphere_mask(shape, m_from_v, params.search_centres_mni_mm, params.search_radius_mm)
    gm = np.asarray(prepared.gm_probability, dtype=float)
    search = search_spheres & brain & (gm >= params.gm_threshold)
    if not search.any():
        raise CoverageError("no grey-matter voxel of the run lies in the DLPFC search region "
                            f"(grey-matter probability >= {params.gm_threshold:g}): check the "
                            "grey-matter map and the MNI registration")
    sphere = _sphere_mask(shape, m_from_v, (params.seed_mni_mm,), params.seed_radius_mm) & brain
    if not sphere.any():
        raise CoverageError("no voxel of the run's brain mask lies in the sgACC seed sphere: "
                            "check the MNI registration")
    weights = None
    seed = sphere
    if params.seed_map:
        weights = _seed_map_weights(prepared, params.seed_map, search_spheres)
        seed = weights != 0
    if np.any(seed & search):
        raise ConnectivityError("the seed and the search region overlap: choose a seed away "
                                "from the DLPFC")
    return Regions(seed_mask=seed, search_mask=search, seed_weights=weights, sphere_seed_mask=sphere,
                   seed_fov_coverage=fovs["sgACC seed"],
                   search_fov_coverage=fovs["DLPFC search region"], warnings=warnings)
