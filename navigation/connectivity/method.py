"""The public entry point: a prepared resting-state run in, a connectivity target out.

Steps (each recorded in ``result.steps``): place the sgACC seed and the left-DLPFC search
region in the run's grid (:mod:`.regions`); stream the run once, smoothing only around them
(:mod:`.extraction`); clean the seed and search time courses with the same nuisance model
(:mod:`.cleaning`); correlate; pick the target with Cash/ConTarg's cluster step or the peak voxel
and test it against phase-randomised seeds (:mod:`.clusters`); repeat on halves and blocks of the
run (:mod:`.stability`); list what lowers confidence (:mod:`.quality`).

References: Fox et al. 2012 (Biol Psychiatry 72:595), the anticorrelation and the seed; Cash et
al. 2021 (Hum Brain Mapp 42:4155), the cluster step and its reproducibility; Weigand et al. 2018
(Biol Psychiatry 84:28) and Cole et al. 2020/2022 (Am J Psychiatry 177:716, 179:132), later
evidence.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tmsnav.navigation.connectivity.cleaning import clean, confound_matrix, kept_indices, missing_tissue
from tmsnav.navigation.connectivity.clusters import correlate, null_p_value, pick_target
from tmsnav.navigation.connectivity.extraction import DEFAULT_CHUNK_VOLUMES, extract
from tmsnav.navigation.connectivity.method_errors import (ConnectivityError, CoverageError,
                                                          DamagedRunError, NoClusterError)
from tmsnav.navigation.connectivity.params import ConnectivityParams
from tmsnav.navigation.connectivity.prepared import PreparedBold
from tmsnav.navigation.connectivity.quality import input_scrub_warning, quality_warnings, seed_tsnr
from tmsnav.navigation.connectivity.regions import build_regions
from tmsnav.navigation.connectivity.result import ConnectivityResult
from tmsnav.navigation.connectivity.stability import split_targets
from tmsnav.navigation.errors import Cancelled

__all__ = ["compute_connectivity", "ConnectivityParams", "ConnectivityResult", "ConnectivityError",
           "CoverageError", "DamagedRunError", "NoClusterError"]


def _cancel_checker(cancel: Any) -> Callable[[], None]:
    """Accept the app's CancelToken or a plain ``() -> bool``."""
    def check() -> None:
        if cancel is None:
            return
        if hasattr(cancel, "raise_if_cancelled"):
            cancel.raise_if_cancelled()
        elif callable(cancel) and cancel():
            raise Cancelled("connectivity target cancelled")
    return check


def compute_connectivity(prepared: PreparedBold, params: ConnectivityParams = ConnectivityParams(),
                         progress: Callable[[float, str], None] | None = None,
                         cancel: Any = None, *,
                         chunk_volumes: int = DEFAULT_CHUNK_VOLUMES) -> ConnectivityResult:
    """The sgACC-anticorrelated DLPFC target of one run (see the module docstring).

    ``cancel`` is a CancelToken or a callable returning True to stop; a cancelled computation
    raises :class:`Cancelled` and leaves nothing behind. ``chunk_volumes`` only trades memory
    for speed: results do not depend on it."""
    check = _cancel_checker(cancel)

    def say(f: float, msg: str) -> None:
        check()
        if progress is not None:
            progress(min(1.0, max(0.0, f)), msg)

    if not isinstance(params, ConnectivityParams):
        raise ConnectivityError("params must be a ConnectivityParams")
    say(0.0, "placing the sgACC seed and the DLPFC search region")
    regions = build_regions(prepared, params)
    shape = prepared.grid_shape
    tsnr_mask = regions.sphere_seed_mask
    need = missing_tissue(prepared)
    ex = extract(prepared, regions.seed_mask, regions.search_mask, tsnr_mask, params.smoothing_fwhm_mm,
                 seed_weights=regions.seed_weights, need=need, chunk_volumes=chunk_volumes,
                 progress=lambda f, m: say(0.05 + 0.6 * f, m), check_cancel=check)
    steps = list(prepared.steps)
    steps.append(f"seed: {int(regions.seed_mask.sum())} voxels"
                 + (f" weighted by {params.seed_map}" if params.seed_map else
                    f" within {params.seed_radius_mm:g} mm of MNI {params.seed_mni_mm}"))
    steps.append(f"search region: {int(regions.search_mask.sum())} grey-matter voxels "
                 f"(GM >= {params.gm_threshold:g}) within {params.search_radius_mm:g} mm of "
                 f"{len(params.search_centres_mni_mm)} DLPFC sites")
    steps.append(f"smoothing {params.smoothing_fwhm_mm:g} mm FWHM (streamed, {chunk_volumes} volumes per block)")
    if need:
        steps.append(f"computed from the masks: {', '.join(need)}")
    confounds, names = confound_matrix(prepared, ex.computed_confounds)
    kept = kept_indices(prepared, params.fd_threshold_mm)
    say(0.7, "cleaning: nuisance regression and band-pass")
    seed_clean = clean(ex.seed[:, None], confounds, kept, prepared.tr_s, params.band_hz)[:, 0]
    search_clean = clean(ex.search, confounds, kept, prepared.tr_s, params.band_hz)
    steps.append(f"regressed {len(names)} confounds ({', '.join(names)}), band-pass "
                 f"{params.band_hz[0]:g}-{params.band_hz[1]:g} Hz, {int((~kept).sum())} volumes "
                 "censored (interpolated before filtering, dropped before regression)")
    if np.std(seed_clean) == 0.0:
        raise DamagedRunError("the seed's time course is constant after cleaning: the sgACC is "
                              "not imaged (signal dropout or masked voxels)")
    valid = ~ex.search_constant
    r = correlate(seed_clean, search_clean)
    r[~valid] = np.nan
    valid &= np.isfinite(r)
    voxels = np.argwhere(regions.search_mask)
    say(0.8, f"picking the target ({params.method})")
    pick = pick_target(r, voxels, params.method, params.percentile)
    if pick is None:
        raise NoClusterError("no search-region voxel is anticorrelated with the sgACC seed: no "
                             "target can be computed from this run")
    p = null_p_value(pick.statistic, seed_clean, search_clean, voxels, valid, params.method,
                     params.percentile, params.null_surrogates)
    if p > params.alpha:
        raise NoClusterError(
            f"no cluster survives: the best {'cluster' if params.method == 'cluster' else 'voxel'} "
            f"(r = {pick.r_at_target:.2f}) is no stronger than what random seeds with the same "
            f"spectrum give (p = {p:.2f}, needed < {params.alpha:g}). The run is too noisy or too "
            "short for a personalised target; use a group target instead")
    steps.append(f"target: {params.method} (p = {p:.3f} against {params.null_surrogates} "
                 "phase-randomised seeds)")
    sfv = prepared.space_from_voxel
    target_space = sfv[:3, :3] @ pick.target_voxel + sfv[:3, 3]
    say(0.85, "stability: halves and blocks of the run")
    splits = split_targets(ex.seed, ex.search, confounds, kept, prepared.tr_s, params.band_hz, valid,
                           voxels, params.method, params.percentile, sfv, params.n_blocks)
    to_mri = prepared.mri_from_space.apply
    halves = [to_mri(t) for t in splits.halves_space_mm if t is not None]
    blocks = [None if t is None else to_mri(t) for t in splits.blocks_space_mm]
    target_mri = to_mri(target_space)
    cmap = np.full(shape, np.nan, dtype=np.float32)
    cmap[regions.search_mask] = r.astype(np.float32)
    cluster = np.zeros(shape, dtype=bool)
    cluster[tuple(voxels[pick.members].T)] = True
    voxel_mm3 = abs(float(np.linalg.det(sfv[:3, :3])))
    n_kept = int(kept.sum())
    fd = np.nan_to_num(prepared.framewise_displacement_mm, nan=0.0)
    tsnr = seed_tsnr(ex.seed_raw, kept)
    warnings = list(prepared.warnings) + regions.warnings + input_scrub_warning(prepared, params)
    warnings += quality_warnings(
        params, tsnr=tsnr, mean_fd_mm=float(fd[1:].mean()) if len(fd) > 1 else 0.0,
        scrubbed_fraction=1.0 - n_kept / prepared.n_volumes, kept_minutes=n_kept * prepared.tr_s / 60,
        n_kept=n_kept, stability_mm=splits.stability_mm, halves_missing=2 - len(halves),
        n_constant=int(ex.search_constant.sum()), n_search=len(voxels))
    say(1.0, "done")
    return ConnectivityResult(
        target_space_mm=target_space, target_mri_mm=target_mri,
        target_mni_mm=prepared.mni_from_space.apply(target_space),
        correlation_at_target=pick.r_at_target, cluster_voxels=len(pick.members),
        cluster_volume_mm3=len(pick.members) * voxel_mm3, stability_mm=splits.stability_mm,
        split_targets_mri_mm=halves, seed_tsnr=tsnr,
        mean_fd_mm=float(fd[1:].mean()) if len(fd) > 1 else 0.0,
        scrubbed_fraction=1.0 - n_kept / prepared.n_volumes, n_volumes_used=n_kept,
        warnings=warnings, params=params, pipeline=prepared.pipeline, steps=steps,
        correlation_map=cmap, search_mask=regions.search_mask, cluster_mask=cluster,
        seed_mask=regions.seed_mask, space_from_voxel=sfv.copy(), space=prepared.space, p_value=p,
        block_targets_mri_mm=blocks,
        block_distances_mm=[float("nan") if b is None else float(np.linalg.norm(b - target_mri)) for b in blocks],
        seed_fov_coverage=regions.seed_fov_coverage, search_fov_coverage=regions.search_fov_coverage,
        seed_time_course=seed_clean, mri_from_space=prepared.mri_from_space)

