"""Scalp (+ brain) for a volume through the disk cache: :func:`head_surfaces`.

Apart from ``extract.py`` (the meshing) so that the cache (``cache.py``) and the surface-file
reader (``files.py``), which both use ``extract``'s helpers, are not imported back by it: the
dependency runs one way, extract <- cache, files <- head.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv

from ..progress import CancelToken, ProgressCallback, report, scaled
from .cache import cached_mesh, image_identity, volume_sha256
from .extract import extract_scalp, extract_surface_from_mask, volume_arrays
from .files import load_surface_file

__all__ = ["HeadSurfaces", "head_surfaces"]


@dataclass(frozen=True)
class HeadSurfaces:
    """Scalp (always) and brain (when a brain mask or mesh was given), both in mri mm."""

    scalp: pv.PolyData
    brain: pv.PolyData | None = None
    from_cache: bool = False


def head_surfaces(volume: Any, *, brain_mask: Any = None, brain_mesh_path: str | Path | None = None,
                  max_faces: int = 150_000, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> HeadSurfaces:
    """Scalp (+ brain) for a volume, through the disk cache (see ``cache.py``).

    ``brain_mask``: a mask array on the volume's grid, or a volume-like object with its own
    affine. ``brain_mesh_path``: a surface file (see :func:`.files.load_surface_file`).
    """
    identity = image_identity(volume)
    hits = []
    scalp, hit = cached_mesh(
        "scalp", {"image": identity, "max_faces": max_faces},
        lambda: extract_scalp(volume, max_faces=max_faces, progress=scaled(progress, 0.0, 0.8),
                              cancel=cancel))
    hits.append(hit)
    brain = None
    if brain_mesh_path is not None:
        brain = load_surface_file(brain_mesh_path, volume=volume)
    elif brain_mask is not None:
        if isinstance(brain_mask, np.ndarray):
            mask, _ = volume_arrays((brain_mask, volume_arrays(volume)[1]))
            matrix = volume_arrays(volume)[1]
        else:
            mask, matrix = volume_arrays(brain_mask)
        key = {"image": identity, "mask": volume_sha256((mask, matrix)), "max_faces": max_faces}
        brain, hit = cached_mesh(
            "brain", key,
            lambda: extract_surface_from_mask(mask, matrix, progress=scaled(progress, 0.8, 1.0),
                                              cancel=cancel))
        hits.append(hit)
    report(progress, 1.0, "Surfaces ready", cancel)
    return HeadSurfaces(scalp=scalp, brain=brain, from_cache=all(hits))
