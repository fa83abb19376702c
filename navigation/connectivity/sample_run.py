"""A realistic synthetic resting-state fMRI run on the sample head, with a known planted target.

Why: the connectivity target (Fox et al. 2012, Biol Psychiatry 72:595; Cash et al. 2021, Hum
Brain Mapp 42:4155) can only be tested end to end on data whose answer is known. Real rs-fMRI
with a verified individual target does not exist, so this writes one: the sample head's anatomy,
an sgACC seed course (MNI 6, 16, -10) and a DLPFC cluster anticorrelated with it, plus what makes
real data hard (global signal, smooth "network" fields, aliased cardiac/respiratory noise, drift,
thermal noise and, for the raw variant, head motion with a few spikes above 0.5 mm FD; Power et
al. 2012, NeuroImage 59:2142).

Two variants, both in a BIDS layout (Gorgolewski et al. 2016, Sci Data 3:160044):

* ``raw``: ``sub-XX/func/sub-XX_task-rest_bold.nii.gz`` (+ JSON sidecar with ``RepetitionTime``) on
  a 64x64x36 grid of 3.5 mm voxels, as a scanner writes it: the head has moved between the T1 and
  the run (a few mm and degrees: ``SampleTruth.mri_from_bold_header``) and moves during it. The
  contrast is T2*-like, derived from the T1's own intensities (CSF bright, grey > white matter,
  scalp fat suppressed), so mutual-information coregistration has the real anatomy to lock on.
  ``sub-XX/anat/sub-XX_T1w.nii.gz`` is the sample head T1.
* ``fmriprep``: ``derivatives/fmriprep/sub-XX/func/sub-XX_task-rest_space-T1w_desc-preproc_bold.nii.gz``
  on a grid aligned with the T1 (2.5 mm by default), already realigned, with
  ``_desc-confounds_timeseries.tsv`` (fMRIPrep's column names, ``n/a`` in the first row of
  derivative and FD columns), ``_desc-brain_mask.nii.gz`` and ``anat/sub-XX_desc-preproc_T1w.nii.gz``.

The run is written volume block by volume block (``nifti_stream``), so a 1200-volume 2 mm run
needs only a few hundred MB of memory. The planted truth is the amplitude-weighted centroid of the
planted cluster's voxels (in grey matter), in the patient's mri mm and in MNI mm.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial.transform import Rotation

from ..sample_head import sample_head_mri_from_mni, sample_head_path
from ..transforms import Transform
from .nifti_stream import write_nifti_stream
from .sample_signals import Amplitudes, build_components

__all__ = ["SampleTruth", "write_sample_run", "write_sample_dataset", "SEED_MNI_MM", "PLANTED_MNI_MM"]

SEED_MNI_MM = (6.0, 16.0, -10.0)          # Fox et al. 2012 sgACC seed
PLANTED_MNI_MM = (-42.0, 42.0, 30.0)      # inside the BA46 sphere of the DLPFC search region
RAW_SHAPE = (64, 64, 36)
RAW_VOXEL_MM = 3.5
BRAIN_CENTRE_MNI_MM = (0.0, -18.0, 14.0)
FD_RADIUS_MM = 50.0                        # Power et al. 2012: rotations as arc length on 50 mm


@dataclass
class SampleTruth:
    """What was planted and where the files are (all mm; motion: trans mm, rot rad)."""

    subject: str
    variant: str
    root: Path                   # the BIDS root (raw) or the fMRIPrep derivatives folder
    bold_path: Path
    t1_path: Path
    target_mri_mm: np.ndarray
    target_mni_mm: np.ndarray
    seed_mri_mm: np.ndarray
    tr_s: float
    n_volumes: int
    motion_params: np.ndarray    # (n, 6): trans_x, trans_y, trans_z (mm), rot_x, rot_y, rot_z (rad)
    framewise_displacement_mm: np.ndarray
    spike_volumes: np.ndarray
    mri_from_bold_header: np.ndarray   # 4x4: the BOLD header's mm -> the T1's mm (identity: fmriprep)
    bold_affine: np.ndarray
    cluster_voxels: int
    sidecar_path: Path | None = None
    confounds_path: Path | None = None
    mask_path: Path | None = None
    extra: dict = field(default_factory=dict)


def _rigid(trans_mm, rot_rad, centre) -> np.ndarray:
    """4x4 rigid: rotate (x, then y, then z, radians) about ``centre``, then translate."""
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("xyz", rot_rad).as_matrix()
    c = np.asarray(centre, float)
    m[:3, 3] = c - m[:3, :3] @ c + np.asarray(trans_mm, float)
    return m


def _motion(rng: np.random.Generator, n: int, n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slow sub-mm wander plus ``n_spikes`` sudden moves (one volume, then back), FD (Power 2012)."""
    walk = np.cumsum(rng.standard_normal((n, 6)) * [0.02, 0.02, 0.03, 3e-4, 3e-4, 3e-4], axis=0)
    walk = ndi.gaussian_filter1d(walk, 3.0, axis=0)
    spikes = np.sort(rng.choice(np.arange(n // 10, n - n // 10), size=n_spikes, replace=False)) if n_spikes else \
        np.zeros(0, int)
    for t in spikes:
        jump = rng.uniform(0.15, 0.4, 6) * rng.choice([-1, 1], 6) * [1, 1, 1, 0.005, 0.005, 0.005]
        walk[t] += jump
    params = walk - walk[0]
    delta = np.abs(np.diff(params, axis=0))
    fd = np.concatenate([[0.0], delta[:, :3].sum(axis=1) + FD_RADIUS_MM * delta[:, 3:].sum(axis=1)])
    return params, fd, spikes


class _Anatomy:
    """The sample head T1 and the MNI tissue maps, sampled at any grid's voxel centres."""

    def __init__(self, mri_from_mni: np.ndarray) -> None:
        from ..targeting.mni_registration import _load_spatial, load_mni_template

        t1 = _load_spatial(sample_head_path())
        self.t1_affine = np.asarray(t1.affine, dtype=np.float64)
        self.t1_shape = t1.shape[:3]
        self.t1 = ndi.gaussian_filter(np.asarray(t1.dataobj, np.float32), 1.0)
        self.mri_from_mni = mri_from_mni
        self.mni_from_mri = np.linalg.inv(mri_from_mni)
        gm, self.mni_affine = load_mni_template("gm")
        wm, _ = load_mni_template("wm")
        template, _ = load_mni_template("t1")
        self.gm, self.wm = gm, wm
        self.brain = (template > 1e-3 * float(template.max())).astype(np.float32)

    def sample(self, mri_from_voxel: np.ndarray, shape: tuple[int, int, int]) -> dict[str, np.ndarray]:
        """T1, GM/WM/CSF/brain probabilities and MNI coordinates at the voxel centres of a grid."""
        ijk = np.indices(shape, dtype=np.float32).reshape(3, -1)
        mri = mri_from_voxel[:3, :3] @ ijk + mri_from_voxel[:3, 3:4]
        out: dict[str, np.ndarray] = {}
        t1_vox = np.linalg.inv(np.asarray(self.t1_affine, dtype=np.float64))
        out["t1"] = ndi.map_coordinates(self.t1, t1_vox[:3, :3] @ mri + t1_vox[:3, 3:4], order=1).reshape(shape)
        mni = self.mni_from_mri[:3, :3] @ mri + self.mni_from_mri[:3, 3:4]
        mni_vox = np.linalg.inv(self.mni_affine)
        coords = mni_vox[:3, :3] @ mni + mni_vox[:3, 3:4]
        for name in ("gm", "wm", "brain"):
            out[name] = ndi.map_coordinates(getattr(self, name), coords, order=1).reshape(shape)
        out["csf"] = np.clip(out["brain"] - out["gm"] - out["wm"], 0, 1)
        out["mni"] = mni.T.reshape(*shape, 3)
        out["mri"] = mri.T.reshape(*shape, 3)
        return out


def _t2star_like(maps: dict[str, np.ndarray]) -> np.ndarray:
    """EPI-like baseline from the T1's own intensities: inside the brain CSF bright, grey above white
    (the T1 order inverted); outside it dark (skull; scalp fat is suppressed in EPI); a mild
    susceptibility dropout in orbitofrontal cortex (MNI 0, 30, -25) as in real EPI."""
    t1, brain = maps["t1"], np.clip(maps["brain"], 0, 1)
    inside = t1[brain > 0.5]
    ref = float(np.median(inside)) if inside.size else 1.0
    t1n = t1 / max(ref, 1e-6)
    in_brain = np.clip(1300.0 - 500.0 * t1n, 400.0, 1400.0)
    outside = 150.0 * np.clip(t1n, 0, 2)
    base = brain * in_brain + (1 - brain) * outside
    d2 = np.sum((maps["mni"] - np.array([0.0, 30.0, -25.0])) ** 2, axis=-1)
    return (base * (1.0 - 0.4 * np.exp(-d2 / (2 * 12.0 ** 2)))).astype(np.float32)


def _sphere_weight(mni: np.ndarray, centre, radius_mm: float) -> np.ndarray:
    """Smooth bump (cos^2) of radius ``radius_mm`` around an MNI point."""
    d = np.sqrt(np.sum((mni - np.asarray(centre, float)) ** 2, axis=-1))
    return np.where(d < radius_mm, np.cos(0.5 * np.pi * d / radius_mm) ** 2, 0.0)


def _cluster_weight(mni: np.ndarray, gm: np.ndarray, centre, radius_mm: float) -> np.ndarray:
    """The planted cluster: grey matter (probability >= 0.3, the method's own threshold) within
    ``radius_mm`` of an MNI point, full strength up to 2 mm from its edge. Flat, not peaked: the
    Cash/ConTarg step takes the centre of mass of a thresholded cluster, so a flat patch has its
    answer at the patch's centroid (the truth reported)."""
    d = np.sqrt(np.sum((mni - np.asarray(centre, float)) ** 2, axis=-1))
    return (gm >= 0.3) * np.clip((radius_mm - d) / 2.0, 0.0, 1.0)


def _grid(variant: str, anatomy: _Anatomy, voxel_mm: float | None, grid_shape: tuple[int, int, int] | None,
          rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int], np.ndarray]:
    """``(header affine, shape, mri_from_bold_header)`` of the run's grid."""
    centre_mri = (anatomy.mri_from_mni @ np.array([*BRAIN_CENTRE_MNI_MM, 1.0]))[:3]
    if variant == "raw":
        size = float(voxel_mm or RAW_VOXEL_MM)
        shape = tuple(grid_shape or RAW_SHAPE)
        affine = np.diag([size, size, size, 1.0])
        affine[:3, 3] = np.round(centre_mri) - size * (np.array(shape) - 1) / 2
        offset = _rigid(rng.uniform(2.0, 4.0, 3) * rng.choice([-1, 1], 3),
                        np.radians(rng.uniform(2.0, 4.0, 3)) * rng.choice([-1, 1], 3), centre_mri)
        return affine, (int(shape[0]), int(shape[1]), int(shape[2])), offset
    size = float(voxel_mm or 2.5)
    directions = anatomy.t1_affine[:3, :3] / np.linalg.norm(anatomy.t1_affine[:3, :3], axis=0)
    if grid_shape is None:        # the brain's extent in the T1's axes + 10 mm
        brain_mni = np.argwhere(anatomy.brain > 0.5) @ anatomy.mni_affine[:3, :3].T + anatomy.mni_affine[:3, 3]
        along = (brain_mni @ anatomy.mri_from_mni[:3, :3].T + anatomy.mri_from_mni[:3, 3]) @ directions
        low, high = along.min(axis=0) - 10.0, along.max(axis=0) + 10.0
        shape = tuple(int(np.ceil((h - lo) / size)) + 1 for lo, h in zip(low, high))
        start = directions @ low
    else:
        shape = tuple(grid_shape)
        start = centre_mri - directions @ (size * (np.array(shape) - 1) / 2)
    affine = np.eye(4)
    affine[:3, :3] = directions * size
    affine[:3, 3] = start
    return affine, (int(shape[0]), int(shape[1]), int(shape[2])), np.eye(4)


def write_sample_run(out_dir: str | Path, *, variant: str = "raw", subject: str = "01", n_volumes: int = 200,
                     tr_s: float = 2.0, seed: int = 0, target_mni_mm=PLANTED_MNI_MM, cluster_radius_mm: float = 8.0,
                     voxel_mm: float | None = None, grid_shape: tuple[int, int, int] | None = None,
                     n_spikes: int = 3, noise_fraction: float = 0.02, amplitudes: Amplitudes = Amplitudes(),
                     mri_from_mni: Transform | None = None, compress: bool = True, chunk_volumes: int = 50,
                     progress: Callable[[float, str], None] | None = None) -> SampleTruth:
    """Write one synthetic run of subject ``subject`` under the BIDS root ``out_dir``; see the module
    docstring. ``compress=False`` writes ``.nii`` (the benchmark's 2.6 GB run: no gzip time)."""
    if variant not in ("raw", "fmriprep"):
        raise ValueError(f"variant must be 'raw' or 'fmriprep', got {variant!r}")
    if n_volumes < 2 or tr_s <= 0:
        raise ValueError("need at least 2 volumes and a positive TR")
    root = Path(out_dir)
    rng = np.random.default_rng(seed)
    mri_from_mni_m = (mri_from_mni or sample_head_mri_from_mni()).matrix
    anatomy = _Anatomy(mri_from_mni_m)
    affine, shape, mri_from_header = _grid(variant, anatomy, voxel_mm, grid_shape, rng)
    maps = anatomy.sample(mri_from_header @ affine, shape)
    voxel = np.linalg.norm(affine[:3, :3], axis=0)
    base = _t2star_like(maps)
    brain = np.clip(maps["brain"], 0, 1).astype(np.float32)
    seed_w = brain * _sphere_weight(maps["mni"], SEED_MNI_MM, 10.0)
    cluster_w = _cluster_weight(maps["mni"], maps["gm"], target_mni_mm, cluster_radius_mm)
    if cluster_w.sum() <= 0:
        raise ValueError(f"no grey matter within {cluster_radius_mm} mm of MNI {tuple(target_mni_mm)}")
    target_mri = np.average(maps["mri"].reshape(-1, 3), axis=0, weights=cluster_w.ravel())
    target_mni = (anatomy.mni_from_mri @ np.array([*target_mri, 1.0]))[:3]
    motion, fd, spikes = _motion(rng, n_volumes, n_spikes)
    components, _ = build_components(rng, n=n_volumes, tr_s=tr_s, grid=shape, voxel_mm=voxel, brain=brain,
                                     csf=maps["csf"], seed_weight=seed_w, cluster_weight=cluster_w,
                                     spikes=spikes, amplitudes=amplitudes)
    noise_sd = noise_fraction * float(np.median(base[brain > 0.5]))
    grid_centre = affine[:3, :3] @ ((np.array(shape) - 1) / 2) + affine[:3, 3]
    masks = {"global_signal": brain > 0.5, "white_matter": ndi.binary_erosion(maps["wm"] > 0.9),
             "csf": ndi.binary_erosion(maps["csf"] > 0.7)}
    means = {name: np.zeros(n_volumes) for name in masks}

    def volumes() -> Iterator[np.ndarray]:
        flat_base = base.ravel()
        for start in range(0, n_volumes, chunk_volumes):
            stop = min(n_volumes, start + chunk_volumes)
            block = (flat_base[:, None] * (1.0 + components.fluctuation(start, stop))).reshape(*shape, -1)
            if variant == "raw":        # head motion: volume t sees the head moved by motion[t]
                for j, t in enumerate(range(start, stop)):
                    moved = _rigid(motion[t, :3], motion[t, 3:], grid_centre)
                    vox = np.linalg.inv(affine) @ np.linalg.inv(moved) @ affine
                    block[..., j] = ndi.affine_transform(block[..., j], vox[:3, :3], vox[:3, 3], order=1)
            block += rng.standard_normal(block.shape, dtype=np.float32) * np.float32(noise_sd)
            out = np.clip(np.rint(block), 0, 32767).astype(np.int16)
            for name, mask in masks.items():
                means[name][start:stop] = out[mask].mean(axis=0) if mask.any() else 0.0
            if progress is not None:
                progress(stop / n_volumes, f"Writing the sample run: volume {stop} of {n_volumes}")
            yield out

    ext = ".nii.gz" if compress else ".nii"
    sidecar = {"RepetitionTime": tr_s, "TaskName": "rest"}
    if variant == "raw":
        func, anat = root / f"sub-{subject}" / "func", root / f"sub-{subject}" / "anat"
        bold = func / f"sub-{subject}_task-rest_bold{ext}"
        t1_path = anat / f"sub-{subject}_T1w.nii.gz"
        sidecar.update({"EchoTime": 0.03, "FlipAngle": 80, "PhaseEncodingDirection": "j-",
                        "MagneticFieldStrength": 3})
        _dataset_description(root, {"Name": "tmsnav synthetic resting-state sample", "BIDSVersion": "1.8.0"})
        deriv_root = root
    else:
        deriv_root = root / "derivatives" / "fmriprep"
        func, anat = deriv_root / f"sub-{subject}" / "func", deriv_root / f"sub-{subject}" / "anat"
        bold = func / f"sub-{subject}_task-rest_space-T1w_desc-preproc_bold{ext}"
        t1_path = anat / f"sub-{subject}_desc-preproc_T1w.nii.gz"
        sidecar["SkullStripped"] = False
        _dataset_description(deriv_root, {"Name": "fMRIPrep-like derivatives (tmsnav synthetic sample)",
                                          "BIDSVersion": "1.8.0", "DatasetType": "derivative",
                                          "GeneratedBy": [{"Name": "tmsnav sample_run (fMRIPrep-like)"}]})
    func.mkdir(parents=True, exist_ok=True)
    anat.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample_head_path(), t1_path)
    write_nifti_stream(bold, (*shape, n_volumes), affine, tr_s, volumes())
    sidecar_path = bold.with_name(bold.name.replace(ext, ".json"))
    sidecar_path.write_text(json.dumps(sidecar, indent=1), encoding="utf-8")
    truth = SampleTruth(subject, variant, deriv_root, bold, t1_path, target_mri, target_mni,
                        (mri_from_mni_m @ np.array([*SEED_MNI_MM, 1.0]))[:3], tr_s, n_volumes, motion, fd, spikes,
                        mri_from_header, affine, int(np.count_nonzero(cluster_w > 0)), sidecar_path)
    if variant == "fmriprep":
        truth.confounds_path = func / f"sub-{subject}_task-rest_desc-confounds_timeseries.tsv"
        _write_confounds(truth.confounds_path, motion, fd, means)
        truth.mask_path = func / f"sub-{subject}_task-rest_space-T1w_desc-brain_mask.nii.gz"
        _write_mask(truth.mask_path, brain > 0.5, affine)
    return truth


#: Where each subject's planted cluster sits relative to ``PLANTED_MNI_MM`` (MNI mm, all in left
#: DLPFC grey matter inside the search region, each with as much grey matter as the first): >= 10 mm
#: apart, so a mix-up of subjects shows.
SUBJECT_OFFSETS_MNI_MM = ((0.0, 0.0, 0.0), (4.0, -8.0, 8.0), (-8.0, -10.0, -8.0), (6.0, 6.0, -6.0))


def write_sample_dataset(out_dir: str | Path, subjects=("01", "02"), *, variant: str = "raw", seed: int = 0,
                         **kwargs) -> dict[str, SampleTruth]:
    """Several subjects in one BIDS root: each its own noise and motion, and its planted target
    moved by ``SUBJECT_OFFSETS_MNI_MM`` (cycled) plus up to 1 mm of jitter."""
    base = np.asarray(kwargs.pop("target_mni_mm", PLANTED_MNI_MM), float)
    truths = {}
    for index, label in enumerate(subjects):
        rng = np.random.default_rng(seed * 1000 + index)
        offset = np.asarray(SUBJECT_OFFSETS_MNI_MM[index % len(SUBJECT_OFFSETS_MNI_MM)]) + rng.uniform(-1, 1, 3)
        truths[label] = write_sample_run(out_dir, variant=variant, subject=label, seed=seed * 1000 + index,
                                         target_mni_mm=tuple(base + (offset if index else 0.0)), **kwargs)
    return truths


def _dataset_description(folder: Path, record: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dataset_description.json"
    if not path.exists():
        path.write_text(json.dumps(record, indent=1), encoding="utf-8")


def _write_confounds(path: Path, motion: np.ndarray, fd: np.ndarray, means: dict[str, np.ndarray]) -> None:
    """fMRIPrep's ``desc-confounds_timeseries.tsv`` columns (a subset): first-row derivatives and FD
    are ``n/a``, as fMRIPrep writes them."""
    columns: dict[str, np.ndarray] = {"global_signal": means["global_signal"], "csf": means["csf"],
                                      "white_matter": means["white_matter"]}
    for k, name in enumerate(("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")):
        columns[name] = motion[:, k]
    for name in list(columns):
        columns[f"{name}_derivative1"] = np.concatenate([[np.nan], np.diff(columns[name])])
    columns["framewise_displacement"] = np.concatenate([[np.nan], fd[1:]])
    names = list(columns)
    lines = ["\t".join(names)]
    for t in range(len(fd)):
        lines.append("\t".join("n/a" if np.isnan(columns[n][t]) else f"{columns[n][t]:.8g}" for n in names))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_mask(path: Path, mask: np.ndarray, affine: np.ndarray) -> None:
    import nibabel as nib

    image = nib.Nifti1Image(mask.astype(np.uint8), affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nib.save(image, str(path))
