"""How far to trust a connectivity target: the warnings shown with it, each with its cause and
what to do. Thresholds are parameters (:class:`ConnectivityParams`), their sources are in
``params.py``'s docstring."""

from __future__ import annotations

import numpy as np
from scipy.signal import detrend

from tmsnav.navigation.connectivity.params import ConnectivityParams
from tmsnav.navigation.connectivity.prepared import PreparedBold

__all__ = ["seed_tsnr", "quality_warnings", "input_scrub_warning"]


def seed_tsnr(raw: np.ndarray, kept: np.ndarray) -> float:
    """Median over the seed-sphere voxels of temporal SNR (mean / SD after a linear detrend) on
    the unsmoothed kept volumes. The subgenual cingulate lies next to the sinuses, where
    susceptibility dropout lowers the signal (Ojemann et al. 1997, NeuroImage 6:156). NaN when
    the run has been demeaned (no baseline to compare the noise with)."""
    x = np.asarray(raw, dtype=np.float64)[kept]
    if x.shape[0] < 3 or x.shape[1] == 0:
        return float("nan")
    mean = x.mean(axis=0)
    sd = detrend(x, axis=0).std(axis=0, ddof=1)
    ok = (mean > 0) & (sd > 0)
    # a baseline below the noise is not BOLD (magnitude images have tSNR >> 1 even in dropout):
    # the run was demeaned or scaled to percent change, so there is nothing to measure
    if not ok.any() or np.median(mean) <= np.median(sd):
        return float("nan")
    return float(np.median(mean[ok] / sd[ok]))


def quality_warnings(params: ConnectivityParams, *, tsnr: float, mean_fd_mm: float,
                     scrubbed_fraction: float, kept_minutes: float, n_kept: int,
                     stability_mm: float, halves_missing: int, n_constant: int,
                     n_search: int) -> list[str]:
    out: list[str] = []
    if np.isnan(tsnr):
        out.append("the seed's temporal SNR cannot be measured (the run has no baseline signal: "
                   "was it demeaned?); judge the sgACC signal on the raw run")
    elif tsnr < params.min_seed_tsnr:
        out.append(f"the sgACC seed has a low temporal SNR ({tsnr:.0f}, below "
                   f"{params.min_seed_tsnr:g}): signal dropout near the sinuses makes its time "
                   "course noisy. Check the seed's coverage on the mean BOLD image; consider a "
                   "seed map or a run with a shorter echo time")
    if mean_fd_mm > params.max_mean_fd_mm:
        out.append(f"the head moved a lot: mean framewise displacement {mean_fd_mm:.2f} mm (above "
                   f"{params.max_mean_fd_mm:g} mm). Motion inflates or creates correlations; "
                   "re-scan with better head support if possible")
    if scrubbed_fraction > params.max_scrubbed_fraction:
        out.append(f"{100 * scrubbed_fraction:.0f} % of the volumes were scrubbed for motion "
                   f"(FD > {params.fd_threshold_mm:g} mm; more than "
                   f"{100 * params.max_scrubbed_fraction:.0f} %): the target rests on a reduced, "
                   "uneven sample of the run")
    if kept_minutes < params.min_kept_minutes:
        out.append(f"only {kept_minutes:.1f} minutes ({n_kept} volumes) of data are left after "
                   f"scrubbing (under {params.min_kept_minutes:g}): correlations from short runs "
                   "are unreliable. Acquire a longer run (10 minutes or more)")
    if halves_missing:
        out.append("one half of the run gives no target (too few volumes left in it after "
                   "scrubbing, or no anticorrelated voxel), so the target's stability cannot be "
                   "measured: treat the target as unstable")
    elif stability_mm > params.stability_warn_mm:
        out.append(f"the target moves {stability_mm:.1f} mm between the first and second half of "
                   f"the run (more than {params.stability_warn_mm:g} mm): it is not reproducible "
                   "in this run. Prefer a longer run, or use the cluster method if you chose peak")
    if n_constant:
        out.append(f"{n_constant} of {n_search} search-region voxels never change over the run "
                   "and were left out (masked or padded voxels inside the brain mask): check the "
                   "run's brain mask")
    return out


def input_scrub_warning(prepared: PreparedBold, params: ConnectivityParams) -> list[str]:
    """The FD threshold of the method can only tighten the input stage's scrubbing (a volume must
    be kept by both). A user who loosens it (say to 1 mm) would otherwise believe volumes are
    back that the input stage already dropped; say how many."""
    fd = np.nan_to_num(prepared.framewise_displacement_mm, nan=0.0)
    n = int(np.count_nonzero(~prepared.kept_volumes & (fd <= params.fd_threshold_mm)))
    if not n:
        return []
    return [f"{n} volumes with framewise displacement within the {params.fd_threshold_mm:g} mm "
            "limit set here were already left out when the run was read (its own scrubbing limit "
            "or non-steady-state volumes); a looser limit here cannot bring them back"]
