"""Stream a run once and keep only what the method needs: the smoothed seed and search-region
time courses, the unsmoothed seed voxels (for temporal SNR), and the whole-brain / white-matter
/ CSF means when the confounds do not already have them.

Why streaming gives the same numbers as smoothing the whole 4-D image (nilearn
``smooth_array``, the reference): the Gaussian kernel is separable and truncated at
``int(4 sigma + 0.5)`` voxels (scipy's ``gaussian_filter1d``). Smoothing a box that extends that
many voxels beyond a region on every side (or to the image edge, where the box then has the same
border and the same "reflect" boundary as the whole image) computes every voxel of the region
from exactly the same inputs, tap by tap. So each block of volumes
is smoothed only inside two small boxes (seed, search region): a 2 mm MNI run of 97x115x97
voxels smooths ~3 % of its voxels. NaN outside the brain is set to 0 before smoothing, as
nilearn's ``ensure_finite`` does; NaN inside the brain mask is refused (counted). The boxes are
smoothed in float64: nilearn smooths a float32 image in float32, whose rounding (~6e-5 on a
BOLD baseline of 1000) is of the order of the fluctuations left after cleaning (~1e-5 of r).
Sigma per axis follows nilearn: FWHM / sqrt(8 ln 2) / voxel size, the voxel size being the
norm of each column of the grid's affine (so an oblique or anisotropic grid is handled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.ndimage import gaussian_filter1d

from tmsnav.navigation.connectivity.method_errors import DamagedRunError
from tmsnav.navigation.connectivity.prepared import PreparedBold

__all__ = ["Extracted", "extract", "smoothing_sigma_voxels", "DEFAULT_CHUNK_VOLUMES"]

DEFAULT_CHUNK_VOLUMES = 24
_TRUNCATE = 4.0  # scipy's default, used by nilearn


@dataclass
class Extracted:
    """Time courses (time on the first axis, as nilearn's ``signal.clean`` expects)."""

    search: np.ndarray                 # (T, n_search) float64, smoothed
    seed: np.ndarray                   # (T,) float64, mean (or seed-map weighted mean) of smoothed seed voxels
    seed_raw: np.ndarray               # (T, n_tsnr) float32, unsmoothed seed-sphere voxels
    search_constant: np.ndarray        # (n_search,) bool: unsmoothed value never changes
    computed_confounds: dict[str, np.ndarray] = field(default_factory=dict)


def smoothing_sigma_voxels(space_from_voxel: np.ndarray, fwhm_mm: float) -> np.ndarray:
    vox = np.sqrt(np.sum(np.asarray(space_from_voxel)[:3, :3] ** 2, axis=0))
    return fwhm_mm / (np.sqrt(8 * np.log(2)) * vox)


class _Box:
    """A region's voxels and the box (region + kernel radius) smoothed to get them exactly."""

    def __init__(self, mask: np.ndarray, radius: np.ndarray) -> None:
        idx = np.argwhere(mask)
        shape = np.array(mask.shape)
        self.lo = np.maximum(idx.min(axis=0) - radius, 0)
        self.hi = np.minimum(idx.max(axis=0) + radius + 1, shape)
        self.slices = tuple(slice(int(a), int(b)) for a, b in zip(self.lo, self.hi))
        local = idx - self.lo
        self.local = (local[:, 0], local[:, 1], local[:, 2])
        self.nan_seen = np.zeros(tuple(int(x) for x in self.hi - self.lo), dtype=bool)

    def smoothed(self, block: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        sub = np.array(block[self.slices], dtype=np.float64, copy=True)
        bad = ~np.isfinite(sub)
        if bad.any():
            self.nan_seen |= bad.any(axis=3)
            sub[bad] = 0.0
        for axis, s in enumerate(sigma):
            if s > 0.0:
                gaussian_filter1d(sub, float(s), output=sub, axis=axis)
        return sub[self.local]          # (n_voxels, c)


def extract(prepared: PreparedBold, seed_mask: np.ndarray, search_mask: np.ndarray,
            tsnr_mask: np.ndarray, fwhm_mm: float, *, seed_weights: np.ndarray | None = None,
            need: tuple[str, ...] = (), chunk_volumes: int = DEFAULT_CHUNK_VOLUMES,
            progress: Callable[[float, str], None] | None = None,
            check_cancel: Callable[[], None] | None = None) -> Extracted:
    """One pass over the run in blocks of ``chunk_volumes`` volumes.

    ``need`` names confounds to compute from the unsmoothed data: ``global_signal`` (brain mask
    mean), ``white_matter`` (``wm_mask``), ``csf`` (``csf_mask``) - the signals fMRIPrep puts in
    its confounds table, computed the same way (mean over the mask, before smoothing)."""
    n = prepared.n_volumes
    sigma = smoothing_sigma_voxels(prepared.space_from_voxel, fwhm_mm)
    radius = np.array([int(_TRUNCATE * s + 0.5) if s > 0 else 0 for s in sigma])
    seed_box, search_box = _Box(seed_mask, radius), _Box(search_mask, radius)
    w = None
    if seed_weights is not None:
        w = np.asarray(seed_weights, dtype=np.float64)[seed_mask]
        w = w / np.sum(np.abs(w))
    masks: dict[str, np.ndarray] = {}
    for name in need:
        m = {"global_signal": prepared.brain_mask, "white_matter": prepared.wm_mask,
             "csf": prepared.csf_mask}[name]
        if m is None or not np.any(m):
            raise DamagedRunError(f"the confounds have no {name} column and the run has no "
                                  f"{name.replace('_signal', '')} mask to compute it from")
        masks[name] = np.asarray(m, dtype=bool)
    mask_idx = {k: np.nonzero(m) for k, m in masks.items()}
    tsnr_idx = np.nonzero(tsnr_mask)
    search_idx = np.nonzero(search_mask)
    out_search = np.empty((n, len(search_idx[0])), dtype=np.float64)
    out_seed = np.empty(n, dtype=np.float64)
    out_raw = np.empty((n, len(tsnr_idx[0])), dtype=np.float32)
    lo = np.full(len(search_idx[0]), np.inf, dtype=np.float32)
    hi = np.full(len(search_idx[0]), -np.inf, dtype=np.float32)
    computed = {k: np.empty(n, dtype=np.float64) for k in masks}
    nan_in_mask = {k: np.zeros(len(i[0]), dtype=bool) for k, i in mask_idx.items()}
    done = 0
    for start, block in prepared.volumes.chunks(chunk_volumes):
        if check_cancel is not None:
            check_cancel()
        c = block.shape[3]
        stop = start + c
        out_search[start:stop] = search_box.smoothed(block, sigma).T
        seed_vals = seed_box.smoothed(block, sigma)
        out_seed[start:stop] = (w @ seed_vals) if w is not None else seed_vals.mean(axis=0)
        out_raw[start:stop] = block[tsnr_idx].T
        raw_search = block[search_idx]
        np.minimum(lo, raw_search.min(axis=1), out=lo)
        np.maximum(hi, raw_search.max(axis=1), out=hi)
        for k, idx in mask_idx.items():
            vals = block[idx]
            bad = ~np.isfinite(vals)
            if bad.any():
                nan_in_mask[k] |= bad.any(axis=1)
            computed[k][start:stop] = vals.mean(axis=0, dtype=np.float64)
        done += c
        if progress is not None:
            progress(done / n, f"reading volumes {done}/{n}")
    if done != n:
        raise DamagedRunError(f"the run promised {n} volumes but delivered {done}")
    nan_brain = 0
    brain = np.asarray(prepared.brain_mask, dtype=bool)
    for box in (seed_box, search_box):
        nan_brain += int(np.count_nonzero(box.nan_seen & brain[box.slices]))
    if "global_signal" in nan_in_mask:
        nan_brain = max(nan_brain, int(nan_in_mask["global_signal"].sum()))
    if nan_brain:
        raise DamagedRunError(f"{nan_brain} voxels inside the brain mask are NaN or infinite in at "
                              "least one volume: the run is damaged or was masked with NaN inside "
                              "the brain. Re-export it from the scanner or the preprocessing")
    return Extracted(search=out_search, seed=out_seed, seed_raw=out_raw,
                     search_constant=~(hi > lo), computed_confounds=computed)
