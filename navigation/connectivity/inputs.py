"""The one entry point from the files a clinic has to a :class:`PreparedBold`.

Two routes (see ``docs/connectivity.md``, "Inputs"):

- :func:`prepare_fmriprep`: an fMRIPrep derivatives folder (Esteban et al. 2019, Nat Methods
  16:111). The preprocessed run is used as it is; a ``space-T1w`` run lies in the patient's MRI
  frame, a ``space-MNI152*`` run in MNI, and tmsnav's own T1->MNI affine links the two.
- :func:`prepare_bold_file`: one BOLD file. With a confounds TSV it is taken as already
  preprocessed in the T1's space; without, it is a raw scanner run and goes through tmsnav's
  minimal pipeline (:mod:`.raw_pipeline`).

Everything is checked before any heavy work, and nothing is written to disk by either route.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NavigationError
from ..progress import CancelToken, ProgressCallback, report, scaled
from ..transforms import Frame, Transform
from .bold_file import (
    FunctionalInputError, bounding_box_mm, check_overlap, check_voxel_values, load_spatial, read_bold,
)
from .confounds import FD_THRESHOLD_MM, read_confounds
from .fmriprep import find_fmriprep_run
from .prepared import NiftiVolumes, PreparedBold
from .raw_pipeline import run_minimal_pipeline
from .tissue_masks import tissue_masks

__all__ = ["prepare_fmriprep", "prepare_bold_file", "FunctionalInputError"]

#: volumes of a preprocessed run checked for NaN / constant brain voxels before the method starts
#: (the method's own stream refuses NaN in any later volume)
CHECKED_VOLUMES = 20


def _t1_arrays(t1: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(data, mri_from_voxel)`` of a loaded T1 (Volume, nibabel image, (data, affine)) or a path."""
    from ..surfaces.extract import SurfaceError, volume_arrays

    if isinstance(t1, (str, Path)):
        from ..imaging.volume import load_volume

        t1 = load_volume(t1)
    try:
        data, affine = volume_arrays(t1)
    except SurfaceError as exc:
        raise FunctionalInputError(f"the T1: {exc}") from exc
    return np.asarray(data), affine


def _check_mri_from_mni(mri_from_mni: Any) -> Transform:
    if not isinstance(mri_from_mni, Transform) or (mri_from_mni.to_frame, mri_from_mni.from_frame) != (
            Frame.MRI, Frame.MNI):
        got = mri_from_mni.name if isinstance(mri_from_mni, Transform) else type(mri_from_mni).__name__
        raise FunctionalInputError(f"the T1->MNI registration must be an mri_from_mni Transform, got {got}")
    return mri_from_mni


def _brain_mask_file(path: Path | None, grid: tuple[int, int, int], space_from_voxel: np.ndarray) -> np.ndarray | None:
    """fMRIPrep's brain mask when it lies on the run's grid (same shape and affine within 0.01 mm)."""
    if path is None:
        return None
    image = load_spatial(path)
    affine = np.asarray(image.affine, dtype=float)
    data = np.asarray(image.dataobj)
    if data.shape[:3] != grid or not np.allclose(affine, space_from_voxel, atol=1e-2):
        return None
    return data.reshape(grid) > 0


def _preprocessed(bold_path: Path, sidecar: Path | None, confounds_path: Path, *, space: Frame,
                  mri_from_mni: Transform, mask_path: Path | None, t1_box: tuple | None,
                  fd_threshold_mm: float, steps: list[str], progress: ProgressCallback | None,
                  cancel: CancelToken | None) -> PreparedBold:
    """The shared half of both routes for a run that is already realigned (fMRIPrep or similar)."""
    run = read_bold(bold_path, sidecar=sidecar)
    report(progress, 0.05, "Reading the confounds", cancel)
    table = read_confounds(confounds_path, run.n_volumes)
    if t1_box is not None:
        box = bounding_box_mm(run.shape, run.bold_from_voxel)
        if space == Frame.MNI:
            lo, hi = box
            corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
            moved = mri_from_mni.apply(corners)
            box = (moved.min(axis=0), moved.max(axis=0))
        check_overlap(box, t1_box, run.path.name)
    grid = run.shape[:3]
    mni_from_space = mri_from_mni.inverse() if space == Frame.MRI else Transform.identity(Frame.MNI, Frame.MNI)
    mri_from_space = Transform.identity(Frame.MRI, Frame.MRI) if space == Frame.MRI else mri_from_mni
    report(progress, 0.1, "Tissue masks from the MNI templates", cancel)
    given = _brain_mask_file(mask_path, grid, run.bold_from_voxel)
    masks = tissue_masks(grid, mni_from_space.matrix @ run.bold_from_voxel, brain_mask=given)
    steps.append("brain mask from " + ("fMRIPrep's desc-brain_mask" if given is not None else
                                       "the ICBM152 template through tmsnav's T1->MNI affine"))
    steps.append("grey matter probability, white matter and CSF masks from the ICBM152 2009a templates")
    volumes = NiftiVolumes(str(run.path))
    report(progress, 0.2, "Checking the voxels inside the brain", cancel)
    warnings = list(run.warnings) + table.warnings + masks.warnings
    warnings += check_voxel_values(volumes, masks.brain, run.path.name, max_volumes=CHECKED_VOLUMES)
    fd = table.fd_mm
    steps.append(f"confounds: {', '.join(table.names)}")
    steps.append(f"scrubbing: {int(np.sum(fd > fd_threshold_mm))} volumes with FD > {fd_threshold_mm:g} mm flagged")
    report(progress, 1.0, "Run ready", cancel)
    return PreparedBold(
        volumes=volumes, space_from_voxel=run.bold_from_voxel, space=space, tr_s=run.tr_s,
        brain_mask=masks.brain, gm_probability=masks.gm_probability, confounds=table.values,
        confound_names=table.names, framewise_displacement_mm=fd, kept_volumes=fd <= fd_threshold_mm,
        mni_from_space=mni_from_space, mri_from_space=mri_from_space, wm_mask=masks.wm, csf_mask=masks.csf,
        pipeline="fmriprep", steps=steps, warnings=warnings)


def prepare_fmriprep(folder: str | Path, participant_label: str | None = None, *, t1_image: Any = None,
                     mri_from_mni: Transform | None = None, task: str | None = None,
                     progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                     fd_threshold_mm: float = FD_THRESHOLD_MM) -> PreparedBold:
    """One subject's preprocessed run from an fMRIPrep folder.

    ``t1_image``: the patient's T1 as loaded in tmsnav (or a path); default fMRIPrep's own
    ``desc-preproc_T1w`` (same scanner frame as the T1 fMRIPrep was given). ``mri_from_mni``:
    tmsnav's T1->MNI affine; when absent it is computed (and cached) from that T1 with
    :func:`~tmsnav.navigation.targeting.mni_registration.cached_register_to_mni`. fMRIPrep's own
    ``.h5`` transforms (ANTs composite, non-linear) are not read: tmsnav places MNI coordinates
    with one affine everywhere, and the target goes back through the same one.
    """
    found = find_fmriprep_run(folder, participant_label, task)
    space = Frame.MRI if found.space == "T1w" else Frame.MNI
    steps = [f"fMRIPrep derivatives of sub-{found.subject}: {found.bold.name} (space {found.space})"]
    if found.xfm_t1w_to_mni is not None:
        steps.append(f"{found.xfm_t1w_to_mni.name} found, not used: tmsnav places MNI coordinates with its "
                     "own T1->MNI affine everywhere")
    warnings: list[str] = []
    if found.others:
        warnings.append(f"{len(found.others)} other run(s) not used: {', '.join(found.others[:4])}")
    if space == Frame.MNI and not found.space.startswith("MNI152NLin2009"):
        warnings.append(f"the run is in {found.space}; tmsnav's MNI template is ICBM152 2009a: the two "
                        "differ by a few mm, which moves the seed and the search spheres as much")
    t1 = t1_image if t1_image is not None else found.anat_t1w
    t1_box = None
    if t1 is not None:
        data, affine = _t1_arrays(t1)
        t1_box = bounding_box_mm(data.shape, affine)
    if mri_from_mni is None:
        if t1 is None:
            raise FunctionalInputError(
                f"sub-{found.subject} has no desc-preproc_T1w in anat/ and no T1 was given: tmsnav needs "
                "the patient's T1 (or its MNI registration) to place the seed and the target")
        from ..targeting.mni_registration import cached_register_to_mni

        report(progress, 0.0, "Registering the T1 to MNI", cancel)
        try:
            mri_from_mni = cached_register_to_mni((data, affine), progress=scaled(progress, 0.0, 0.5),
                                                  cancel=cancel).mri_from_mni
        except NavigationError as exc:
            raise FunctionalInputError(f"the T1 could not be registered to MNI: {exc}") from exc
        steps.append("T1->MNI: tmsnav's 12-parameter affine of the T1")
    mri_from_mni = _check_mri_from_mni(mri_from_mni)
    prepared = _preprocessed(found.bold, found.sidecar, found.confounds, space=space, mri_from_mni=mri_from_mni,
                             mask_path=found.brain_mask, t1_box=t1_box, fd_threshold_mm=fd_threshold_mm,
                             steps=steps, progress=scaled(progress, 0.5, 1.0), cancel=cancel)
    prepared.warnings[:0] = warnings
    return prepared


def prepare_bold_file(bold_path: str | Path, *, t1_volume: Any, mri_from_mni: Transform,
                      confounds_tsv: str | Path | None = None, sidecar: str | Path | None = None,
                      progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                      fd_threshold_mm: float = FD_THRESHOLD_MM) -> PreparedBold:
    """One BOLD file. With ``confounds_tsv`` it is a preprocessed run (realigned, in the T1's
    space, refused when its field of view does not overlap the T1's); without, a raw scanner run
    through the minimal pipeline (realignment, MI coregistration to ``t1_volume``, masks)."""
    mri_from_mni = _check_mri_from_mni(mri_from_mni)
    data, affine = _t1_arrays(t1_volume)
    if confounds_tsv is not None:
        # no file names in steps: they go into target.json, and a non-BIDS name may carry the patient's
        steps = ["preprocessed BOLD file with its confounds TSV "
                 "(realigned outside tmsnav, taken to be in the T1's space)"]
        return _preprocessed(Path(bold_path), Path(sidecar) if sidecar else None, Path(confounds_tsv),
                             space=Frame.MRI, mri_from_mni=mri_from_mni, mask_path=None,
                             t1_box=bounding_box_mm(data.shape, affine), fd_threshold_mm=fd_threshold_mm,
                             steps=steps, progress=progress, cancel=cancel)
    run = read_bold(bold_path, sidecar=sidecar)
    return run_minimal_pipeline(run, data, affine, mri_from_mni, fd_threshold_mm=fd_threshold_mm,
                                progress=progress, cancel=cancel)
