"""The MNI brain surface placed inside the bundled sample head (:func:`sample_head_brain_surface`).

Made at run time, not stored: nilearn's ICBM152 2009a GM + WM probability maps are contoured at
probability 0.5 and mapped through the sample head's stored ``mri_from_mni``
(:mod:`.template_brain`, the same route every other T1 takes). ~2 s once, then from the disk cache.
Apart from ``sample_head`` (the asset files) so that MNI registration, which reads the sample
head, does not import the template brain back.
"""

from __future__ import annotations

import functools

import pyvista as pv

from ..progress import CancelToken, ProgressCallback
from ..sample_head import sample_head_mri_from_mni
from .template_brain import template_brain_surface

__all__ = ["sample_head_brain_surface", "SAMPLE_BRAIN_PROVENANCE", "BRAIN_MAX_FACES"]

BRAIN_MAX_FACES = 150_000

SAMPLE_BRAIN_PROVENANCE = ("approximate, from the template: MNI152 2009a grey+white matter probability "
                           "> 0.5, placed by the sample head's stored mri_from_mni")


@functools.lru_cache(maxsize=2)
def _brain_surface(max_faces: int) -> pv.PolyData:
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
