"""Brain, grey-matter, white-matter and CSF masks in a run's own voxel grid, from the MNI templates.

The run keeps its native voxels (no resampling of the BOLD data); the templates come to it:
each voxel centre of the run goes through ``mni_from_voxel`` (the run's affine, the BOLD->T1
coregistration and tmsnav's own T1->MNI affine) into nilearn's ICBM152 2009a sym grey / white
matter probabilities (Fonov et al. 2011, NeuroImage 54:313). The templates are smoothed to the
run's voxel size first (a Gaussian of FWHM = voxel size), so a 3.5 mm voxel gets the tissue
fraction of its volume, not the value at one 1 mm point.

WM and CSF masks are for the nuisance signals (Behzadi et al. 2007, NeuroImage 37:90, CompCor;
fMRIPrep's "white_matter"/"csf" confounds use eroded masks for the same reason): on the 1 mm
template, only voxels that are almost surely that tissue (probability >= 0.9; CSF = brain - GM -
WM), eroded there (2 mm WM, 1 mm CSF) so that no grey matter leaks in through partial volume;
a run voxel belongs to the mask when at least half of it is such core. Eroding in the run's own
3-4 mm grid instead removed the lateral ventricles altogether (4 CSF voxels left at 3 mm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import ndimage as ndi

from ..targeting.mni_registration import load_mni_template

__all__ = ["TissueMasks", "tissue_masks", "template_in_grid"]

TISSUE_THRESHOLD = 0.9
BRAIN_THRESHOLD = 0.5


@dataclass
class TissueMasks:
    brain: np.ndarray
    gm_probability: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    warnings: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _cores() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """White-matter and CSF cores on the 1 mm template: >= 90 % that tissue, eroded by 2 mm (WM)
    and 1 mm (CSF) there, so a ventricle 6 mm wide survives; eroding in a 4 mm grid would not."""
    t1, affine = load_mni_template("t1")
    gm, _ = load_mni_template("gm")
    wm, _ = load_mni_template("wm")
    brain = t1 > 1e-3 * float(t1.max())
    wm_core = ndi.binary_erosion(brain & (wm >= TISSUE_THRESHOLD), iterations=2)
    csf_core = ndi.binary_erosion(brain & (1.0 - gm - wm >= TISSUE_THRESHOLD), iterations=1)
    return wm_core, csf_core, affine


@lru_cache(maxsize=8)
def _smoothed_template(kind: str, sigma_vox: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    if kind == "brain":
        t1, affine = load_mni_template("t1")
        data = (t1 > 1e-3 * float(t1.max())).astype(np.float32)
    elif kind in ("wm_core", "csf_core"):
        wm_core, csf_core, affine = _cores()
        data = (wm_core if kind == "wm_core" else csf_core).astype(np.float32)
    else:
        data, affine = load_mni_template(kind)
    smooth = ndi.gaussian_filter(data.astype(np.float32), sigma_vox) if max(sigma_vox) > 0 else data
    smooth.setflags(write=False)
    return smooth, affine


def template_in_grid(kind: str, grid_shape: tuple[int, int, int], mni_from_voxel: np.ndarray) -> np.ndarray:
    """Template ``kind`` ("gm", "wm" or "brain": fractions 0..1) sampled at every voxel of a grid."""
    voxel_mm = np.linalg.norm(np.asarray(mni_from_voxel, float)[:3, :3], axis=0)
    sigma = tuple(float(s) for s in np.round(np.maximum(voxel_mm - 1.0, 0.0) / 2.355, 2))
    data, template_from_mni = _smoothed_template(kind, (max(sigma),) * 3)
    m = np.linalg.inv(template_from_mni) @ np.asarray(mni_from_voxel, float)
    ijk = np.indices(grid_shape, dtype=np.float32).reshape(3, -1)
    coords = m[:3, :3] @ ijk + m[:3, 3:4]
    out = ndi.map_coordinates(data, coords, order=1, mode="constant", cval=0.0)
    return np.clip(out.reshape(grid_shape), 0.0, 1.0).astype(np.float32)


def _core_mask(fraction: np.ndarray, brain: np.ndarray, name: str, warnings: list[str]) -> np.ndarray:
    """Voxels at least half filled by the tissue's eroded core (none: a warning, an empty mask;
    a voxel mostly of other tissue would give a signal that is not this tissue's)."""
    mask = brain & (fraction >= 0.5)
    if not mask.any():
        warnings.append(f"no {name} in the run's field of view: its nuisance signal cannot be computed")
    return mask


def tissue_masks(grid_shape: tuple[int, int, int], mni_from_voxel: np.ndarray,
                 brain_mask: np.ndarray | None = None) -> TissueMasks:
    """All masks for a grid; ``brain_mask`` (e.g. fMRIPrep's) replaces the template's brain."""
    warnings: list[str] = []
    gm = template_in_grid("gm", grid_shape, mni_from_voxel)
    brain_p = template_in_grid("brain", grid_shape, mni_from_voxel)
    brain = np.asarray(brain_mask, bool) if brain_mask is not None else brain_p >= BRAIN_THRESHOLD
    wm = _core_mask(template_in_grid("wm_core", grid_shape, mni_from_voxel), brain, "white matter", warnings)
    csf = _core_mask(template_in_grid("csf_core", grid_shape, mni_from_voxel), brain, "CSF", warnings) & ~wm
    return TissueMasks(brain, np.where(brain, gm, 0.0).astype(np.float32), wm, csf, warnings)
