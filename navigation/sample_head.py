"""The bundled sample head: a mean T1 of real heads (pydeface's ``mean_reg2mean.nii.gz``), its
fiducials, its MNI152 affine and an MNI brain surface placed inside it.

Everything is in the head's mri frame (scanner RAS mm of the NIfTI, oblique affine kept exactly).
``assets/sample_head/README.md`` says how each file was made; ``build_sample_head.py`` beside it
remakes ``fiducials.json`` and ``mri_from_mni.json``.

The brain surface is made at run time, not stored: nilearn's ICBM152 2009a GM + WM probability
maps (installed, offline; stored 0..255, read as probabilities 0..1) are contoured at probability
0.5 on their own 1 mm grid and the mesh is mapped through ``mri_from_mni`` (no resampling of the
maps; ``navigation.template_brain``, the same route every other T1 takes). It takes ~2 s once, then comes from the disk
cache (``surface_cache``); storing a mesh or mask in the repository would add megabytes for that.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pyvista as pv

from .errors import NavigationError
from .progress import CancelToken, ProgressCallback
from .transforms import Frame, Transform

__all__ = ["sample_head_dir", "sample_head_path", "sample_head_fiducials", "sample_head_mri_from_mni",
           "sample_head_brain_surface"]

BRAIN_MAX_FACES = 150_000


def sample_head_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "assets" / "sample_head"


def sample_head_path() -> Path:
    """The sample T1 (NIfTI, 176x256x256, ~1 mm, RAS, slightly oblique)."""
    path = sample_head_dir() / "mean_reg2mean.nii.gz"
    if not path.is_file():
        raise NavigationError(f"the sample head is missing from the installation: {path}")
    return path


def _read_json(name: str) -> dict:
    path = sample_head_dir() / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NavigationError(f"the sample head file {name} is missing or damaged: {exc}") from exc


def sample_head_fiducials() -> dict[str, np.ndarray]:
    """Nasion, LPA, RPA (and inion) of the sample head, mri mm (RAS: LPA has x < 0)."""
    points = _read_json("fiducials.json")["points"]
    return {name: np.array(value, dtype=float) for name, value in points.items()}


def sample_head_mri_from_mni() -> Transform:
    """Frame.MRI <- Frame.MNI affine of the sample head (MNI152 points map straight through)."""
    record = _read_json("mri_from_mni.json")
    return Transform(Frame.MRI, Frame.MNI, np.array(record["matrix"], dtype=float))


SAMPLE_BRAIN_PROVENANCE = ("approximate, from the template: MNI152 2009a grey+white matter probability "
                           "> 0.5, placed by the sample head's stored mri_from_mni")


@functools.lru_cache(maxsize=2)
def _brain_surface(max_faces: int) -> pv.PolyData:
    from .template_brain import template_brain_surface

    return template_brain_surface(sample_head_mri_from_mni(), max_faces=max_faces,
                                  provenance=SAMPLE_BRAIN_PROVENANCE)


def sample_head_brain_surface(*, max_faces: int = BRAIN_MAX_FACES, progress: ProgressCallback | None = None,
                              cancel: CancelToken | None = None) -> pv.PolyData:
    """Cortex-like surface (MNI152 GM+WM > 0.5) inside the sample head, mri mm, outward normals.
    A copy: callers may modify it."""
    if cancel is not None:
        cancel.raise_if_cancelled()
    if progress is not None:
        progress(0.0, "Sample brain surface")
    mesh = _brain_surface(int(max_faces)).copy()
    if progress is not None:
        progress(1.0, "Sample brain surface ready")
    return mesh
