"""A large synthetic run for timing and memory measurements of the connectivity method.

``bench_prepared(n_volumes, in_memory=...)`` gives a :class:`PreparedBold` on fMRIPrep's 2 mm
MNI152NLin2009cAsym grid (97 x 115 x 97, origin (-96, -132, -78)) with a brain-shaped ellipsoid,
a grey-matter shell, an sgACC seed signal and a planted anticorrelated DLPFC cluster in white
noise plus a global signal. With ``in_memory=False`` the volumes are generated block by block on
demand (:class:`GeneratedVolumes`, each volume from its own seeded generator, so any block size
gives the same data), which is how the peak memory of a 1200-volume run (5.2 GB as float32) is
measured without holding it: the method must keep only the seed and search-region voxels.
It is a load generator, not a realistic sample (that is ``sample_run``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy.signal import butter, sosfiltfilt

from tmsnav.navigation.connectivity.prepared import ArrayVolumes, PreparedBold
from tmsnav.navigation.transforms import Frame, Transform

__all__ = ["GeneratedVolumes", "bench_prepared", "BENCH_PLANTED_MNI", "MNI_2MM_SHAPE", "MNI_2MM_AFFINE"]

MNI_2MM_SHAPE = (97, 115, 97)
MNI_2MM_AFFINE = np.array([[2.0, 0, 0, -96.0], [0, 2.0, 0, -132.0], [0, 0, 2.0, -78.0], [0, 0, 0, 1.0]])
BENCH_PLANTED_MNI = np.array([-44.0, 40.0, 32.0])
_CENTRE, _RADII = np.array([0.0, -15.0, 12.0]), np.array([68.0, 90.0, 70.0])
_MOTION = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]


def _band(rng: np.random.Generator, n: int, tr: float) -> np.ndarray:
    sos = butter(4, [0.01, 0.1], btype="band", fs=1.0 / tr, output="sos")
    x = sosfiltfilt(sos, rng.standard_normal(n + 200))[100:-100]
    return x / x.std()


@dataclass
class GeneratedVolumes:
    """Volume ``t`` = baseline + white noise (seeded by ``t``) + seed/cluster/global signals."""

    base: np.ndarray          # (X, Y, Z) float32
    seed_w: np.ndarray        # (X, Y, Z) float32, weight of s(t)
    global_w: np.ndarray      # (X, Y, Z) float32, weight of g(t)
    s: np.ndarray             # (T,)
    g: np.ndarray             # (T,)
    noise_sd: float
    seed: int

    @property
    def shape(self) -> tuple[int, int, int, int]:
        x, y, z = self.base.shape
        return (int(x), int(y), int(z), len(self.s))

    def volume(self, t: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, t])
        v = rng.standard_normal(self.base.shape, dtype=np.float32)
        v *= np.float32(self.noise_sd)
        v += self.base
        v += self.seed_w * np.float32(self.s[t])
        v += self.global_w * np.float32(self.g[t])
        return v

    def chunks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        n = len(self.s)
        step = max(1, int(size))
        for start in range(0, n, step):
            stop = min(n, start + step)
            block = np.empty(self.base.shape + (stop - start,), dtype=np.float32)
            for t in range(start, stop):
                block[..., t - start] = self.volume(t)
            yield start, block


def bench_prepared(n_volumes: int = 300, *, in_memory: bool = True, seed: int = 0,
                   tr_s: float = 2.0) -> PreparedBold:
    """The benchmark run as an MNI-space PreparedBold (confounds with global/WM/CSF columns, as
    fMRIPrep writes them, so the method streams only the seed and search-region boxes)."""
    rng = np.random.default_rng(seed)
    ijk = np.indices(MNI_2MM_SHAPE, dtype=np.float32).reshape(3, -1).T
    xyz = (ijk @ MNI_2MM_AFFINE[:3, :3].T + MNI_2MM_AFFINE[:3, 3]).reshape(MNI_2MM_SHAPE + (3,))
    re = np.sqrt((((xyz - _CENTRE) / _RADII) ** 2).sum(-1))
    brain = re <= 1.0
    gm = np.where(brain & (re >= 0.75), 0.9, np.where(brain, 0.1, 0.0)).astype(np.float32)
    seed_ball = np.linalg.norm(xyz - np.array([6.0, 16.0, -10.0]), axis=-1) <= 12.0
    cluster = np.clip(1.2 - np.linalg.norm(xyz - BENCH_PLANTED_MNI, axis=-1) / 9.0, 0, 1)
    base = np.where(brain, 1000.0, 0.0).astype(np.float32)
    seed_w = (3.0 * seed_ball * brain - 3.0 * cluster * brain).astype(np.float32)
    global_w = (2.0 * brain).astype(np.float32)
    s, g = _band(rng, n_volumes, tr_s), _band(rng, n_volumes, tr_s)
    gen = GeneratedVolumes(base, seed_w, global_w, s, g, noise_sd=4.0, seed=seed)
    volumes = gen
    if in_memory:
        data = np.empty(MNI_2MM_SHAPE + (n_volumes,), dtype=np.float32)
        for start, block in gen.chunks(32):
            data[..., start:start + block.shape[3]] = block
        volumes = ArrayVolumes(data)  # type: ignore[assignment]
    motion = np.cumsum(rng.standard_normal((n_volumes, 6)) * 0.02, axis=0)
    motion[:, 3:] /= 50.0
    d = np.abs(np.diff(motion, axis=0))
    fd = np.concatenate([[0.0], d[:, :3].sum(1) + 50 * d[:, 3:].sum(1)])
    # the global signal column as fMRIPrep computes it: the brain mean of each volume
    glob = 1000.0 + 2.0 * g
    wm, csf = 1000.0 + 2.0 * g, 1000.0 + 2.0 * g + 0.1 * rng.standard_normal(n_volumes)
    confounds = np.column_stack([motion, glob, wm, csf])
    return PreparedBold(volumes=volumes, space_from_voxel=MNI_2MM_AFFINE, space=Frame.MNI, tr_s=tr_s,
                        brain_mask=brain, gm_probability=gm, confounds=confounds,
                        confound_names=_MOTION + ["global_signal", "white_matter", "csf"],
                        framewise_displacement_mm=fd, kept_volumes=fd <= 0.5,
                        mni_from_space=Transform.identity(Frame.MNI, Frame.MNI),
                        mri_from_space=Transform.identity(Frame.MRI, Frame.MNI),
                        pipeline="fmriprep", steps=["synthetic benchmark run"])
