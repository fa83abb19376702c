"""How reproducible is the target within this run: the same method on parts of it.

Cash et al. 2021 judged targets by their test-retest distance (median ~2 mm between two HCP
sessions with the cluster method, much more with the peak voxel). A clinic has one run, so the
closest it can get is to split the run: the two halves, and ``n_blocks`` consecutive time blocks.
Each part is cleaned on its own (its own detrend, filter and regression), so the parts share no
processing, only the masks. The number reported is the distance between the two half targets;
with less data per part it is pessimistic compared with a whole-run test-retest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tmsnav.navigation.connectivity.cleaning import clean
from tmsnav.navigation.connectivity.clusters import correlate, pick_target
from tmsnav.navigation.connectivity.method_errors import ConnectivityError

__all__ = ["Splits", "split_targets"]


@dataclass
class Splits:
    halves_space_mm: list[np.ndarray | None] = field(default_factory=list)
    blocks_space_mm: list[np.ndarray | None] = field(default_factory=list)

    @property
    def stability_mm(self) -> float:
        a, b = (self.halves_space_mm + [None, None])[:2]
        if a is None or b is None:
            return float("nan")
        return float(np.linalg.norm(a - b))


def _part_target(seed: np.ndarray, search: np.ndarray, confounds: np.ndarray, kept: np.ndarray,
                 tr_s: float, band: tuple[float, float], valid: np.ndarray, voxels: np.ndarray,
                 method: str, percentile: float, space_from_voxel: np.ndarray) -> np.ndarray | None:
    try:
        s = clean(seed[:, None], confounds, kept, tr_s, band)[:, 0]
        v = clean(search, confounds, kept, tr_s, band)
    except ConnectivityError:
        return None            # too few volumes in this part: no target for it
    r = correlate(s, v)
    r[~valid] = np.nan
    pick = pick_target(r, voxels, method, percentile)
    if pick is None:
        return None
    return space_from_voxel[:3, :3] @ pick.target_voxel + space_from_voxel[:3, 3]


def split_targets(seed: np.ndarray, search: np.ndarray, confounds: np.ndarray, kept: np.ndarray,
                  tr_s: float, band: tuple[float, float], valid: np.ndarray, voxels: np.ndarray,
                  method: str, percentile: float, space_from_voxel: np.ndarray, n_blocks: int) -> Splits:
    """Targets (run-space mm) of the two halves and of ``n_blocks`` blocks of the run."""
    n = len(seed)
    out = Splits()
    for parts, dest in ((2, out.halves_space_mm), (n_blocks, out.blocks_space_mm)):
        edges = np.linspace(0, n, parts + 1).round().astype(int)
        for a, b in zip(edges[:-1], edges[1:]):
            dest.append(_part_target(seed[a:b], search[a:b], confounds[a:b], kept[a:b], tr_s, band,
                                     valid, voxels, method, percentile, space_from_voxel))
    return out
