"""What "open an image" does, as one job function for a worker thread.

Loading and surface extraction are ``navigation`` calls; this module only chains them so the
main window can run the chain off the GUI thread with one progress bar. It also decides what an
image *without a scalp* (skull-stripped) becomes: its outer surface is the brain, there is no
scalp, and the import report says so (see docs/surfaces.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pyvista as pv

from tmsnav.navigation.imaging.checks import Problem, check_skull_stripped, shell_intensity_ratio
from tmsnav.navigation.imaging.volume import Volume, load_volume
from tmsnav.navigation.progress import CancelToken, ProgressCallback, report, scaled
from tmsnav.navigation.surfaces.head import head_surfaces
from tmsnav.navigation.surfaces.extract import mesh_volume_ml
from tmsnav.navigation.surfaces.template_brain import set_provenance

__all__ = ["LoadedHead", "load_head", "load_sample_head", "SKULL_STRIPPED_BRAIN"]

SKULL_STRIPPED_BRAIN = "the outer surface of this skull-stripped image (its brain)"


@dataclass
class LoadedHead:
    volume: Volume
    scalp: pv.PolyData | None
    brain: pv.PolyData | None
    fiducials_mm: dict | None = None   # planned (MRI) landmarks known for this image, if any
    is_sample: bool = False
    skull_stripped: bool = False       # no scalp: the outer surface is the brain


def _with_problems(volume: Volume, problems: list[Problem]) -> Volume:
    """The same volume with more findings in its import report (the session records them)."""
    if not problems:
        return volume
    return dataclasses.replace(volume, report=volume.report.plus(problems))


def _brain_info(brain: pv.PolyData, what: str) -> Problem:
    return Problem("info", "brain-surface", f"brain surface: {what}; encloses {mesh_volume_ml(brain):.0f} mL")


def load_head(path: str | Path, *, affine_choice: str | None = None, series_uid: str | None = None,
              brain_mesh_path: Path | None = None, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None) -> LoadedHead:
    """Read the T1, then build (or fetch from cache) its scalp; detect a skull-stripped image
    (then the outer surface is the brain and there is no scalp). ``brain_mesh_path``: a brain file
    for ``tmsnav.navigation.surfaces.brain_sources.load_brain``, checked against the scalp."""
    volume = load_volume(path, affine_choice=affine_choice, series_uid=series_uid,
                         progress=scaled(progress, 0.0, 0.4), cancel=cancel)
    surfaces = head_surfaces(volume, progress=scaled(progress, 0.4, 0.9), cancel=cancel)
    outer = surfaces.scalp            # the scalp, or the brain itself for a skull-stripped image
    brain: pv.PolyData | None = None
    if brain_mesh_path is not None:   # any brain file: read, then checked against the scalp below
        from tmsnav.navigation.surfaces.brain_sources import load_brain

        brain = load_brain(brain_mesh_path, volume, progress=scaled(progress, 0.9, 0.95), cancel=cancel)
    report(progress, 0.96, "Checking for a scalp", cancel)
    enclosed = mesh_volume_ml(outer)
    ratio = shell_intensity_ratio(volume.value_at, outer.points, -outer.point_data["Normals"]) \
        if enclosed < 2500.0 else float("nan")
    problems = check_skull_stripped(enclosed, ratio)
    stripped = bool(problems)
    scalp: pv.PolyData | None = None if stripped else outer
    if stripped and brain is None:
        brain = set_provenance(outer, SKULL_STRIPPED_BRAIN)
    if brain is not None and scalp is not None:
        from tmsnav.navigation.surfaces.brain_sources import check_brain_in_scalp

        check_brain_in_scalp(brain, scalp)   # refuses a brain that is not this head's
    if brain is not None:
        from tmsnav.navigation.surfaces.template_brain import provenance_of

        problems.append(_brain_info(brain, provenance_of(brain) or "from the file given"))
    report(progress, 1.0, "done", cancel)
    return LoadedHead(_with_problems(volume, problems), scalp, brain, skull_stripped=stripped)


def load_sample_head(*, progress: ProgressCallback | None = None,
                     cancel: CancelToken | None = None) -> LoadedHead:
    """The bundled sample head with its brain surface and marked fiducials."""
    from tmsnav.navigation import sample_head
    from tmsnav.navigation.surfaces.sample_brain import sample_head_brain_surface
    from tmsnav.navigation.surfaces.template_brain import provenance_of

    volume = load_volume(sample_head.sample_head_path(), progress=scaled(progress, 0.0, 0.3),
                         cancel=cancel)
    surfaces = head_surfaces(volume, progress=scaled(progress, 0.3, 0.8), cancel=cancel)
    report(progress, 0.85, "brain surface", cancel)
    brain = surfaces.brain if surfaces.brain is not None else sample_head_brain_surface()
    volume = _with_problems(volume, [_brain_info(brain, provenance_of(brain))])
    report(progress, 1.0, "done", cancel)
    return LoadedHead(volume, surfaces.scalp, brain, sample_head.sample_head_fiducials(), True)
