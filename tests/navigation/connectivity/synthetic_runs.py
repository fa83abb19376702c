"""Small in-memory resting-state runs with a known answer, for the method's tests.

A brain-shaped ellipsoid on an MNI-aligned grid (3 mm by default), a grey-matter shell, a
subgenual seed sphere carrying a band-limited time course ``s(t)``, a planted DLPFC cluster
carrying ``-s(t)`` (the anticorrelation the method must find), and everywhere else smooth
spatially correlated noise, a global signal, motion-related signal, slow drift and thermal
noise. ``variant`` options make the data misbehave for the warning tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.signal import butter, sosfiltfilt

from tmsnav.navigation.connectivity.prepared import ArrayVolumes, PreparedBold
from tmsnav.navigation.transforms import Frame, Transform

MOTION = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
PLANTED_MNI = np.array([-48.0, 46.0, 34.0])
BRAIN_CENTRE = np.array([0.0, 15.0, 15.0])
BRAIN_RADII = np.array([66.0, 78.0, 62.0])


@dataclass
class Synthetic:
    data: np.ndarray            # (X, Y, Z, T) float32
    affine: np.ndarray          # mni_from_voxel
    brain: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    confounds: np.ndarray       # (T, 6) motion
    fd: np.ndarray
    tr: float
    seed_signal: np.ndarray
    planted_mni: np.ndarray


def band_noise(rng: np.random.Generator, n: int, tr: float, lo: float = 0.01, hi: float = 0.1) -> np.ndarray:
    sos = butter(4, [lo, hi], btype="band", fs=1.0 / tr, output="sos")
    x = sosfiltfilt(sos, rng.standard_normal(n + 200))[100:-100]
    return x / x.std()


def make_run(n_volumes: int = 200, *, voxel_mm: float = 3.0, tr: float = 2.0, seed: int = 0,
             planted_mni: np.ndarray = PLANTED_MNI, planted_radius: float = 9.0,
             coupling: float = 1.0, seed_noise: float = 0.4, seed_baseline: float = 1000.0,
             motion_mm: float = 0.03, spikes: int = 0, unstable: bool = False,
             noise: float = 1.0, affine: np.ndarray | None = None,
             shape: tuple[int, int, int] | None = None) -> Synthetic:
    """The phantom is defined in mm, so any grid (``affine``, ``shape``: rotated, anisotropic,
    stored left-to-right or right-to-left) images the same head."""
    rng = np.random.default_rng(seed)
    if affine is None or shape is None:
        lo = np.array([-75.0, -45.0, -48.0])
        hi = np.array([75.0, 96.0, 80.0])
        shape = tuple(int(v) for v in np.floor((hi - lo) / voxel_mm) + 1)
        affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
        affine[:3, 3] = lo
    ijk = np.stack(np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"), -1).astype(float)
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    voxel_mm = float(np.mean(np.sqrt((affine[:3, :3] ** 2).sum(axis=0))))
    re = np.sqrt((((xyz - BRAIN_CENTRE) / BRAIN_RADII) ** 2).sum(-1))
    brain = re <= 1.0
    gm = np.where(brain & (re >= 0.62), 0.9, np.where(brain, 0.1, 0.0)).astype(np.float32)
    wm = brain & (re < 0.45) & (np.abs(xyz[..., 0]) > 15)
    csf = brain & (re < 0.25) & (np.abs(xyz[..., 0]) <= 8)
    seed_ball = np.linalg.norm(xyz - np.array([6.0, 16.0, -10.0]), axis=-1) <= 12.0
    gm[seed_ball & brain] = 0.9
    t = n_volumes
    s = band_noise(rng, t, tr)
    g = band_noise(rng, t, tr, 0.005, 0.2)
    motion = np.cumsum(rng.standard_normal((t, 6)) * motion_mm, axis=0)
    motion[:, 3:] /= 50.0                          # radians on a 50 mm sphere
    if spikes:
        at = rng.choice(np.arange(5, t - 5), size=spikes, replace=False)
        jump = np.zeros((t, 6))
        jump[at, 0] = 1.0
        motion += np.cumsum(jump, axis=0) * 0.0 + jump * 0.8
    d = np.diff(motion, axis=0)
    fd = np.concatenate([[0.0], np.abs(d[:, :3]).sum(1) + 50 * np.abs(d[:, 3:]).sum(1)])
    # smooth spatial noise: a few spatial patterns with their own time courses
    n_pat = 12
    pats = np.stack([gaussian_filter(rng.standard_normal(shape), 6.0 / voxel_mm) for _ in range(n_pat)], -1)
    pats /= pats.std(axis=(0, 1, 2))
    tcs = np.stack([band_noise(rng, t, tr, 0.005, 0.24) for _ in range(n_pat)], 0)
    data = np.tensordot(pats, tcs, axes=(3, 0)).astype(np.float32) * 1.0 * noise
    data += rng.standard_normal(shape + (t,)).astype(np.float32) * 3.0 * noise
    data += (g * 2.0)[None, None, None, :].astype(np.float32)
    drift = np.linspace(-1, 1, t)
    data += (xyz[..., 2:3] / 40.0 * drift).astype(np.float32)
    coef = rng.standard_normal(shape + (6,)).astype(np.float32)
    data += np.tensordot(coef, (motion / motion_mm / 30).T.astype(np.float32), axes=(3, 0))
    seed_sig = seed_ball[..., None] * (s * 3.0)[None, None, None, :]
    data += seed_sig.astype(np.float32)
    cl = np.linalg.norm(xyz - planted_mni, axis=-1)
    weight = np.clip(1.2 - cl / planted_radius, 0, 1)[..., None]
    if unstable:
        half = t // 2
        other = np.linalg.norm(xyz - np.array([-40.0, 18.0, 55.0]), axis=-1)
        w2 = np.clip(1.2 - other / planted_radius, 0, 1)[..., None]
        mix = np.zeros(t)
        mix[:half] = 1.0
        data += (-(weight * mix + w2 * (1 - mix)) * (s * 3.0 * coupling)).astype(np.float32)
    else:
        data += (-weight * (s * 3.0 * coupling)).astype(np.float32)
    data *= brain[..., None]
    base = np.where(brain, 1000.0, 0.0)
    base[seed_ball & brain] = seed_baseline
    data += base[..., None].astype(np.float32)
    # seed noise dominates the seed when seed_noise is large (a noisy, dropout sgACC)
    data[seed_ball & brain] += (rng.standard_normal((int((seed_ball & brain).sum()), t)) * 3.0
                                * seed_noise).astype(np.float32)
    return Synthetic(data=np.ascontiguousarray(data, dtype=np.float32), affine=affine, brain=brain,
                     gm=gm, wm=wm, csf=csf, confounds=motion, fd=fd, tr=tr, seed_signal=s,
                     planted_mni=planted_mni)


def prepared_from(run: Synthetic, *, data: np.ndarray | None = None, affine: np.ndarray | None = None,
                  tissue_columns: bool = False, space: Frame = Frame.MNI,
                  mni_from_space: np.ndarray | None = None, mri_from_space: np.ndarray | None = None,
                  fd_keep: float = 0.5) -> PreparedBold:
    """A PreparedBold of the run (MNI space by default; ``mni_from_space`` for a patient-space run)."""
    data = run.data if data is None else data
    affine = run.affine if affine is None else affine
    names = list(MOTION)
    conf = run.confounds
    if tissue_columns:
        brain, wm, csf = run.brain, run.wm, run.csf
        cols = [data[m].mean(axis=0, dtype=np.float64) for m in (brain, wm, csf)]
        conf = np.column_stack([conf] + cols)
        names += ["global_signal", "white_matter", "csf"]
    mni = Transform(Frame.MNI, space, np.eye(4) if mni_from_space is None else mni_from_space)
    mri = Transform(Frame.MRI, space, np.eye(4) if mri_from_space is None else mri_from_space)
    return PreparedBold(volumes=ArrayVolumes(data), space_from_voxel=affine, space=space, tr_s=run.tr,
                        brain_mask=run.brain, gm_probability=run.gm, confounds=conf, confound_names=names,
                        framewise_displacement_mm=run.fd, kept_volumes=run.fd <= fd_keep,
                        mni_from_space=mni, mri_from_space=mri, wm_mask=run.wm, csf_mask=run.csf)
