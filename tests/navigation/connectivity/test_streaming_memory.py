"""The method streams: a run generated block by block is never held whole, and the result does
not depend on the block size of the source."""

from __future__ import annotations

import tracemalloc

import numpy as np

from tmsnav.navigation.connectivity.bench_run import BENCH_PLANTED_MNI, MNI_2MM_SHAPE, bench_prepared
from tmsnav.navigation.connectivity.method import ConnectivityParams, compute_connectivity


def test_generated_blocks_do_not_depend_on_block_size():
    p = bench_prepared(12, in_memory=False)
    a = np.concatenate([b for _, b in p.volumes.chunks(1)], axis=3)
    b = np.concatenate([b for _, b in p.volumes.chunks(5)], axis=3)
    np.testing.assert_array_equal(a, b)


def test_a_2mm_mni_run_is_streamed_not_held():
    """120 volumes of 97x115x97 are 520 MB as float32; with 8-volume blocks the method's peak
    allocation stays a small fraction of that (the blocks plus the seed/search voxels)."""
    n = 120
    prepared = bench_prepared(n, in_memory=False)
    whole_mb = np.prod(MNI_2MM_SHAPE) * n * 4 / 1e6
    tracemalloc.start()
    try:
        res = compute_connectivity(prepared, ConnectivityParams(null_surrogates=19, alpha=1.0), chunk_volumes=8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.linalg.norm(res.target_mni_mm - BENCH_PLANTED_MNI) < 3.0
    assert peak / 1e6 < whole_mb / 3, f"peak {peak / 1e6:.0f} MB for a {whole_mb:.0f} MB run"
