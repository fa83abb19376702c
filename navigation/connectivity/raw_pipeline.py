"""tmsnav's minimal pipeline for a raw scanner BOLD run: realign, coregister, masks, confounds.

What it does, in order (each step is written into ``PreparedBold.steps``):

1. rigid realignment of every volume (:mod:`.realign`, least squares after SPM, Friston et al.
   1995), giving six motion parameters per volume and the framewise displacement (Power et al.
   2012, NeuroImage 59:2142);
2. rigid registration of the mean realigned image to the patient's T1 by mutual information
   (:mod:`.coregister`, dipy);
3. brain / grey matter / white matter / CSF masks in the run's grid from the MNI templates
   through tmsnav's T1->MNI affine and step 2 (:mod:`.tissue_masks`);
4. confounds: the six motion parameters and their derivatives, and the global, white-matter and
   CSF mean signals. The three signals are computed here, from the realigned unsmoothed data
   already in memory (one masked mean per volume, ~0.1 s), exactly as fMRIPrep computes its
   ``global_signal`` / ``white_matter`` / ``csf`` columns, so both routes hand the method the
   same kind of regressor;
5. scrubbing flags: volumes with FD above the threshold (0.5 mm, Power 2012).

What it does NOT do (and fMRIPrep does): slice-timing correction, susceptibility-distortion
correction, non-linear normalisation, ICA-AROMA / CompCor. That is why the result is labelled
``minimal`` everywhere it is shown. The run keeps its native voxels: the realigned data stay in
the BOLD grid and ``space_from_voxel = mri_from_bold @ bold_from_voxel`` places them on the T1.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ..progress import CancelToken, ProgressCallback, report, scaled
from ..transforms import Frame, Transform
from .bold_file import BoldRun, bounding_box_mm, check_overlap, check_voxel_values, load_spatial
from .confounds import FD_THRESHOLD_MM, MOTION_COLUMNS, with_derivatives
from .coregister import coregister
from .prepared import ArrayVolumes, PreparedBold
from .realign import realign
from .tissue_masks import tissue_masks

__all__ = ["run_minimal_pipeline", "FAR_APART_MM", "FAR_APART_DEG"]

#: a coregistration that moves the run this far from its scanner position is reported
FAR_APART_MM = 20.0
FAR_APART_DEG = 15.0


def _read_run(run: BoldRun, cancel: CancelToken | None) -> np.ndarray:
    proxy = load_spatial(run.path).dataobj
    data = np.empty(run.shape, dtype=np.float32)
    for start in range(0, run.n_volumes, 50):
        if cancel is not None:
            cancel.raise_if_cancelled()
        data[..., start:start + 50] = np.asarray(proxy[..., start:start + 50], dtype=np.float32)
    return data


def _head_mask(raw: np.ndarray) -> np.ndarray:
    """Voxels whose mean intensity is above 20 % of the run's robust maximum (NaN ignored)."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isfinite(raw), raw, np.nan), axis=3)
    mean = np.nan_to_num(mean)
    top = float(np.percentile(mean, 99))
    return mean > 0.2 * top if top > 0 else np.ones(mean.shape, dtype=bool)


def run_minimal_pipeline(run: BoldRun, t1: np.ndarray, mri_from_t1_voxel: np.ndarray, mri_from_mni: Transform,
                         *, fd_threshold_mm: float = FD_THRESHOLD_MM, progress: ProgressCallback | None = None,
                         cancel: CancelToken | None = None) -> PreparedBold:
    """Prepare a raw run; see the module docstring. Raises ``FunctionalInputError`` for a run that
    does not overlap the T1 or has NaN / constant voxels inside the brain."""
    name = run.path.name
    t1_box = bounding_box_mm(t1.shape, mri_from_t1_voxel)
    check_overlap(bounding_box_mm(run.shape, run.bold_from_voxel), t1_box, f"{name} (scanner mm)")
    report(progress, 0.0, "Reading the BOLD run", cancel)
    raw = _read_run(run, cancel)
    # NaN / constant voxels are refused before minutes of work: inside the head as the run's own
    # mean intensity shows it (an EPI has little signal outside the brain)
    voxel_warnings = check_voxel_values(ArrayVolumes(raw), _head_mask(raw), name)
    finite = bool(np.all(np.isfinite(raw)))
    data = raw if finite else np.nan_to_num(raw, nan=0.0, posinf=0.0, neginf=0.0)
    moved = realign(data, run.bold_from_voxel, progress=scaled(progress, 0.05, 0.7), cancel=cancel)
    coreg = coregister(moved.mean, run.bold_from_voxel, t1, mri_from_t1_voxel,
                       progress=scaled(progress, 0.7, 0.93), cancel=cancel)
    mri_from_bold = coreg.mri_from_bold
    mri_from_voxel = mri_from_bold @ run.bold_from_voxel
    check_overlap(bounding_box_mm(run.shape, mri_from_voxel), t1_box, f"{name} (after coregistration)")
    report(progress, 0.94, "Tissue masks from the MNI templates", cancel)
    mni_from_mri = mri_from_mni.inverse()
    masks = tissue_masks(run.shape[:3], mni_from_mri.matrix @ mri_from_voxel)
    warnings = list(run.warnings) + voxel_warnings + masks.warnings
    shift = float(np.linalg.norm(mri_from_bold[:3, 3]))
    turn = float(np.degrees(Rotation.from_matrix(mri_from_bold[:3, :3]).magnitude()))
    if shift > FAR_APART_MM or turn > FAR_APART_DEG:
        warnings.append(f"the run was {shift:.0f} mm / {turn:.0f} degrees away from the T1 in scanner "
                        "coordinates before coregistration: check the overlay of the run on the T1")
    motion, names = with_derivatives(moved.motion, list(MOTION_COLUMNS))
    realigned = moved.data
    signals = [(n, realigned[m].mean(axis=0)) for n, m in
               (("global_signal", masks.brain), ("white_matter", masks.wm), ("csf", masks.csf)) if m.any()]
    confounds = np.hstack([motion] + [s[:, None] for _, s in signals])
    names += [n for n, _ in signals]         # a tissue missing from the field of view is warned about
    fd = moved.framewise_displacement_mm
    steps = [
        f"read the BOLD run: {run.shape[0]}x{run.shape[1]}x{run.shape[2]} voxels of "
        f"{'x'.join(f'{v:.2g}' for v in run.voxel_mm)} mm, {run.n_volumes} volumes, TR {run.tr_s:g} s",
        f"rigid realignment to the {moved.reference} (least squares, Gauss-Newton, SPM-like), "
        f"{moved.seconds:.1f} s; max FD {fd.max():.2f} mm, mean FD {fd.mean():.2f} mm",
        f"coregistration to the T1: {coreg.method}, {coreg.seconds:.1f} s",
        "brain, grey matter, white matter (eroded) and CSF (eroded) masks from the ICBM152 2009a templates "
        "through tmsnav's T1->MNI affine",
        "confounds: 6 motion parameters + derivatives, global / white matter / CSF mean signals",
        f"scrubbing: {int(np.sum(fd > fd_threshold_mm))} volumes with FD > {fd_threshold_mm:g} mm flagged",
        "not done (minimal pipeline): slice timing, distortion correction, non-linear normalisation",
    ]
    report(progress, 1.0, "Minimal pipeline done", cancel)
    return PreparedBold(
        volumes=ArrayVolumes(realigned), space_from_voxel=mri_from_voxel, space=Frame.MRI, tr_s=run.tr_s,
        brain_mask=masks.brain, gm_probability=masks.gm_probability, confounds=confounds,
        confound_names=names, framewise_displacement_mm=fd, kept_volumes=fd <= fd_threshold_mm,
        mni_from_space=mni_from_mri, mri_from_space=Transform.identity(Frame.MRI, Frame.MRI),
        wm_mask=masks.wm, csf_mask=masks.csf, pipeline="minimal", steps=steps, warnings=warnings)
