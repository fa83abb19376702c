"""What "open an image" does, as one job function for a worker thread.

Loading and surface extraction are ``navigation`` calls; this module only chains them so the
main window can run the chain off the GUI thread with one progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyvista as pv

from navigation.imaging import Volume, load_volume
from navigation.progress import CancelToken, ProgressCallback, report, scaled
from navigation.surfaces import head_surfaces

__all__ = ["LoadedHead", "load_head", "load_sample_head"]


@dataclass
class LoadedHead:
    volume: Volume
    scalp: pv.PolyData | None
    brain: pv.PolyData | None
    fiducials_mm: dict | None = None   # planned (MRI) landmarks known for this image, if any
    is_sample: bool = False


def load_head(path: str | Path, *, affine_choice: str | None = None, series_uid: str | None = None,
              brain_mesh_path: Path | None = None, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None) -> LoadedHead:
    """Read the T1, then build (or fetch from cache) its scalp and brain surfaces."""
    volume = load_volume(path, affine_choice=affine_choice, series_uid=series_uid,
                         progress=scaled(progress, 0.0, 0.4), cancel=cancel)
    surfaces = head_surfaces(volume, brain_mesh_path=brain_mesh_path,
                             progress=scaled(progress, 0.4, 1.0), cancel=cancel)
    report(progress, 1.0, "done", cancel)
    return LoadedHead(volume, surfaces.scalp, surfaces.brain)


def load_sample_head(*, progress: ProgressCallback | None = None,
                     cancel: CancelToken | None = None) -> LoadedHead:
    """The bundled sample head with its brain surface and marked fiducials."""
    from navigation import sample_head

    volume = load_volume(sample_head.sample_head_path(), progress=scaled(progress, 0.0, 0.3),
                         cancel=cancel)
    surfaces = head_surfaces(volume, progress=scaled(progress, 0.3, 0.8), cancel=cancel)
    report(progress, 0.85, "brain surface", cancel)
    brain = surfaces.brain if surfaces.brain is not None else sample_head.sample_head_brain_surface()
    report(progress, 1.0, "done", cancel)
    return LoadedHead(volume, surfaces.scalp, brain, sample_head.sample_head_fiducials(), True)
