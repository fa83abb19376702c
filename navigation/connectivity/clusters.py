"""From a correlation map to one target: Cash/ConTarg's cluster step, or the peak voxel.

Cluster step (Cash et al. 2021, Hum Brain Mapp 42:4155, volumetric port in NIMH ConTarg
``utils.cluster``): among the search-region voxels with a negative correlation, keep the most
negative ``percentile`` % (10 %); group them into 26-connected components
(``scipy.ndimage.label`` with a 3x3x3 structure, "NN3"); take the largest one (ties: the one
with the more negative summed r); the target is its centre of mass in mm (the unweighted mean of
its voxel centres, mapped through the grid's affine). Averaging over a cluster is what makes the
target reproducible (Cash 2021: median ~2 mm between sessions) where the single most negative
voxel jumps around from scan to scan.

Peak method: the single most negative voxel (the "classic" method, for comparison).

Significance: the percentile step always returns some cluster, even from noise. The statistic of
the chosen cluster (summed r, its "mass"; the peak r for the peak method) is compared with the
same step run on maps of phase-randomised seeds (same amplitude spectrum, so the same temporal
autocorrelation; Theiler et al. 1992, Physica D 58:77), which keeps the spatial smoothness of
the data in the null. ``p = (1 + #null <= observed) / (1 + n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["Pick", "correlate", "pick_target", "phase_surrogates", "null_p_value"]

_NN3 = np.ones((3, 3, 3), dtype=bool)


@dataclass
class Pick:
    """A target picked from one correlation map (voxel coordinates are continuous indices)."""

    target_voxel: np.ndarray        # (3,) float, voxel coordinates of the target
    members: np.ndarray             # indices into the search voxels of the cluster (1 for peak)
    statistic: float                # summed r of the cluster, or r of the peak
    r_at_target: float              # r at the member voxel nearest the target


def correlate(seed: np.ndarray, voxels: np.ndarray) -> np.ndarray:
    """Pearson r of ``seed`` (T,) with each column of ``voxels`` (T, n); NaN where a voxel has
    no variance (a constant voxel is no evidence either way)."""
    s = np.asarray(seed, float) - np.mean(seed)
    v = np.asarray(voxels, float) - np.mean(voxels, axis=0)
    sn = float(np.sqrt(s @ s))
    vn = np.sqrt(np.einsum("ij,ij->j", v, v))
    scale = np.max(np.abs(voxels)) if voxels.size else 0.0
    flat = vn <= 1e-10 * max(scale, 1e-30) * np.sqrt(len(s))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (s @ v) / (sn * vn)
    r[flat] = np.nan
    if sn == 0.0:
        r[:] = np.nan
    return r


def pick_target(r: np.ndarray, voxels: np.ndarray, method: str, percentile: float) -> Pick | None:
    """``r`` (n,) at search voxels ``voxels`` (n, 3) int indices. None when no voxel is negative."""
    finite = np.isfinite(r)
    neg = finite & (r < 0)
    if not neg.any():
        return None
    if method == "peak":
        i = int(np.nanargmin(np.where(finite, r, np.inf)))
        return Pick(voxels[i].astype(float), np.array([i]), float(r[i]), float(r[i]))
    threshold = np.percentile(r[neg], percentile)
    keep = np.nonzero(neg & (r <= threshold))[0]
    local = voxels[keep] - voxels.min(axis=0)       # label in the search region's box only
    grid = np.zeros(tuple(voxels.max(axis=0) - voxels.min(axis=0) + 1), dtype=bool)
    grid[tuple(local.T)] = True
    labels, count = ndimage.label(grid, structure=_NN3)
    lab = labels[tuple(local.T)]
    sizes = np.bincount(lab, minlength=count + 1)[1:]
    mass = np.bincount(lab, weights=r[keep], minlength=count + 1)[1:]
    order = np.lexsort((mass, -sizes))       # largest first, then the more negative mass
    best = int(order[0]) + 1
    members = keep[lab == best]
    centre = voxels[members].mean(axis=0)
    nearest = members[int(np.argmin(np.linalg.norm(voxels[members] - centre, axis=1)))]
    return Pick(centre, members, float(mass[best - 1]), float(r[nearest]))


def phase_surrogates(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, T) series with the amplitude spectrum of ``x`` and uniformly random phases."""
    t = len(x)
    spec = np.fft.rfft(x - np.mean(x))
    phases = rng.uniform(0, 2 * np.pi, size=(n, len(spec)))
    phases[:, 0] = 0.0
    if t % 2 == 0:
        phases[:, -1] = 0.0
    return np.fft.irfft(np.abs(spec)[None, :] * np.exp(1j * phases), n=t, axis=1)


def null_p_value(observed: float, seed: np.ndarray, voxels_ts: np.ndarray, voxels: np.ndarray,
                 valid: np.ndarray, method: str, percentile: float,
                 n: int, rng_seed: int = 20121) -> float:
    """p of ``observed`` (a negative statistic) against ``n`` phase-randomised seeds; voxels
    not ``valid`` (constant ones) are left out of every null map as they are of the real one.
    The generator is seeded, so the same run gives the same p every time."""
    if n <= 0:
        return 0.0
    rng = np.random.default_rng(rng_seed)
    surrogates = phase_surrogates(seed, n, rng)
    v = voxels_ts - voxels_ts.mean(axis=0)
    vn = np.sqrt(np.einsum("ij,ij->j", v, v))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = surrogates - surrogates.mean(axis=1, keepdims=True)
        rs = (s @ v) / (np.linalg.norm(s, axis=1)[:, None] * vn[None, :])
    rs[:, ~valid | (vn == 0)] = np.nan
    hits = 0
    for k in range(n):
        p = pick_target(rs[k], voxels, method, percentile)
        if p is not None and p.statistic <= observed:
            hits += 1
    return (1 + hits) / (1 + n)
