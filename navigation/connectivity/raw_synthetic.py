"""A raw-scanner-like BOLD run made from a T1 with known motion and a known BOLD->T1 offset.

For the accuracy tests of realignment and coregistration and for the raw-pipeline benchmark:
every number the minimal pipeline estimates has a truth here. The BOLD-like contrast is the T1's
inverted inside the head (T2*-weighted EPI: CSF bright, white matter darker than grey; Logothetis
2008 reviews the contrast), sampled on a coarse EPI grid (default 64x64x36 at 3.5x3.5x4 mm), with
Gaussian noise. It is not a physiological simulation (the connectivity sample generator makes
those); it exists so that geometry can be checked exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

from .realign import rigid_about

__all__ = ["SyntheticRawRun", "synthetic_raw_run", "random_motion"]


@dataclass
class SyntheticRawRun:
    data: np.ndarray                    # (X, Y, Z, T) float32
    bold_from_voxel: np.ndarray         # the run's own scanner mm
    mri_from_bold: np.ndarray           # truth: the run's mm -> the T1's mm (rigid)
    volume_from_reference: np.ndarray   # truth: (T, 4, 4) motion, reference = volume 0's position
    centre_mm: np.ndarray

    def nifti(self, tr_s: float = 2.0) -> nib.Nifti1Image:
        image = nib.Nifti1Image(self.data, self.bold_from_voxel)
        image.header.set_xyzt_units("mm", "sec")
        zooms = tuple(float(z) for z in np.linalg.norm(self.bold_from_voxel[:3, :3], axis=0))
        image.header.set_zooms(zooms + (float(tr_s),))
        return image


def random_motion(n: int, max_mm: float = 3.0, max_deg: float = 3.0, seed: int = 0) -> np.ndarray:
    """(n, 6) smooth random walk of [t (mm), rotation vector (rad)], clipped to the maxima,
    starting at zero (volume 0 is the truth reference)."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(n, 6)) * np.r_[[max_mm / 6] * 3, [np.radians(max_deg) / 6] * 3]
    walk = np.cumsum(steps, axis=0)
    walk -= walk[0]
    limits = np.r_[[max_mm] * 3, [np.radians(max_deg)] * 3]
    return np.clip(walk, -limits, limits)


def _bold_contrast(t1: np.ndarray, t1_voxel_mm: np.ndarray) -> np.ndarray:
    smooth = ndi.gaussian_filter(np.nan_to_num(t1.astype(np.float32)), 1.2 / t1_voxel_mm)
    top = float(np.percentile(smooth, 99.5))
    head = ndi.binary_fill_holes(ndi.binary_closing(smooth > 0.12 * top, iterations=2))
    inverted = np.where(head, 1.25 * top - np.clip(smooth, 0, top), 0.0)
    return (1000.0 * inverted / (1.25 * top)).astype(np.float32)


def synthetic_raw_run(t1: np.ndarray, mri_from_t1_voxel: np.ndarray, *, n_volumes: int = 120,
                      shape: tuple[int, int, int] = (64, 64, 36), voxel_mm=(3.5, 3.5, 4.0),
                      mri_from_bold: np.ndarray | None = None, motion: np.ndarray | None = None,
                      noise: float = 5.0, flip_x: bool = False, seed: int = 0) -> SyntheticRawRun:
    """Make the run. ``motion`` (n, 6): [t mm, rotation vector rad] of each volume about the
    head's centre (default: :func:`random_motion`, <= 3 mm / 3 degrees). ``flip_x`` stores the
    voxels right-to-left (negative first affine column): the same anatomy, mirrored storage."""
    rng = np.random.default_rng(seed)
    t1_vox = np.linalg.norm(mri_from_t1_voxel[:3, :3], axis=0)
    base = _bold_contrast(np.asarray(t1), t1_vox)
    com = np.array(ndi.center_of_mass(base))
    centre_mri = mri_from_t1_voxel[:3, :3] @ com + mri_from_t1_voxel[:3, 3]
    spacing = np.asarray(voxel_mm, dtype=float)
    bold_from_voxel = np.diag(np.r_[spacing, 1.0])
    if flip_x:
        bold_from_voxel[0, 0] = -spacing[0]
    half = (np.asarray(shape) - 1) / 2.0
    bold_from_voxel[:3, 3] = -(bold_from_voxel[:3, :3] @ half)        # grid centred on bold (0,0,0)
    if mri_from_bold is None:
        mri_from_bold = np.eye(4)
    mri_from_bold = np.asarray(mri_from_bold, float).copy()
    centre_bold = np.linalg.inv(mri_from_bold) @ np.r_[centre_mri, 1.0]
    # place the head in the middle of the field of view: shift the grid, not the truth transform
    bold_from_voxel[:3, 3] += centre_bold[:3]
    if motion is None:
        motion = random_motion(n_volumes, seed=seed)
    motion = np.asarray(motion, float).reshape(n_volumes, 6)
    ijk = np.indices(shape, dtype=float).reshape(3, -1)
    t1_from_mri = np.linalg.inv(mri_from_t1_voxel)
    data = np.empty(tuple(shape) + (n_volumes,), dtype=np.float32)
    moves = np.empty((n_volumes, 4, 4))
    for t in range(n_volumes):
        reference_from_volume = rigid_about(motion[t], centre_bold[:3])   # volume t shows this tissue
        moves[t] = np.linalg.inv(reference_from_volume)
        m = t1_from_mri @ mri_from_bold @ reference_from_volume @ bold_from_voxel
        vox = m[:3, :3] @ ijk + m[:3, 3:4]
        volume = ndi.map_coordinates(base, vox, order=1, mode="constant", cval=0.0).reshape(shape)
        data[..., t] = volume + noise * rng.standard_normal(shape).astype(np.float32)
    return SyntheticRawRun(data, bold_from_voxel, mri_from_bold, moves, centre_bold[:3])

