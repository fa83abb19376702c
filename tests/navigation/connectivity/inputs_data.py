"""Files for the input tests: small BOLD runs, sidecars, confounds TSVs and fMRIPrep-like folders.

The confounds TSV uses fMRIPrep's real column names and its ``n/a`` first row; runs are small
(6 mm voxels over the sample head's brain) so every test writes its own in well under a second.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np

from tmsnav.navigation.sample_head import sample_head_mri_from_mni, sample_head_path

#: a left-hemisphere voxel (MNI) whose time course is unique: it must stay left through every route
MARKER_MNI = np.array([-40.0, 20.0, 30.0])
FMRIPREP_COLUMNS = [
    "global_signal", "global_signal_derivative1", "csf", "csf_derivative1", "white_matter",
    "white_matter_derivative1", "csf_wm", "tcompcor", "std_dvars", "dvars", "framewise_displacement",
    "rmsd", "t_comp_cor_00", "a_comp_cor_00", "cosine00", "non_steady_state_outlier00",
    "trans_x", "trans_x_derivative1", "trans_x_power2", "trans_y", "trans_y_derivative1", "trans_y_power2",
    "trans_z", "trans_z_derivative1", "trans_z_power2", "rot_x", "rot_x_derivative1", "rot_x_power2",
    "rot_y", "rot_y_derivative1", "rot_y_power2", "rot_z", "rot_z_derivative1", "rot_z_power2",
]


@lru_cache(maxsize=1)
def sample_t1() -> nib.Nifti1Image:
    image = nib.load(str(sample_head_path()))
    return nib.Nifti1Image(np.asarray(image.dataobj, dtype=np.float32), image.affine)


def mri_from_mni():
    return sample_head_mri_from_mni()


def grid_affine(space: str, voxel_mm: float = 6.0, flip_x: bool = False) -> tuple[np.ndarray, tuple[int, int, int]]:
    """``(space_from_voxel, shape)`` of a grid covering the brain in ``space`` ("T1w" or "MNI")."""
    lo, hi = np.array([-78.0, -114.0, -60.0]), np.array([78.0, 84.0, 84.0])       # MNI brain box
    if space == "T1w":
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        moved = mri_from_mni().apply(corners)
        lo, hi = moved.min(axis=0), moved.max(axis=0)
    shape = tuple(int(np.ceil((h - low) / voxel_mm)) + 1 for low, h in zip(lo, hi))
    affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    affine[:3, 3] = lo
    if flip_x:     # same anatomy, voxels stored right-to-left
        affine[0, 0] = -voxel_mm
        affine[0, 3] = lo[0] + voxel_mm * (shape[0] - 1)
    return affine, (shape[0], shape[1], shape[2])


def marker_voxel(space_from_voxel: np.ndarray, space: str) -> tuple[int, int, int]:
    point = MARKER_MNI if space != "T1w" else mri_from_mni().apply(MARKER_MNI)
    ijk = np.linalg.inv(space_from_voxel) @ np.r_[point, 1.0]
    i, j, k = (int(round(v)) for v in ijk[:3])
    return i, j, k


def make_run(space: str, n: int = 100, *, flip_x: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(data float32 (X,Y,Z,n), affine)``: noise around 1000 everywhere, a sine at the marker."""
    affine, shape = grid_affine(space, flip_x=flip_x)
    rng = np.random.default_rng(seed)
    data = (1000.0 + 10.0 * rng.standard_normal(shape + (n,))).astype(np.float32)
    data[marker_voxel(affine, space)] = 1000.0 + 50.0 * np.sin(np.arange(n) / 3.0)
    return data, affine


def save_bold(path: Path, data: np.ndarray, affine: np.ndarray, tr: float | None = 2.0,
              unit: str = "sec", sidecar_tr: float | None = None) -> Path:
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", unit)
    zooms = tuple(float(z) for z in np.linalg.norm(affine[:3, :3], axis=0))
    if data.ndim == 4:
        image.header.set_zooms(zooms + (float(tr) if tr is not None else 0.0,))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))
    if sidecar_tr is not None:
        sidecar = path.with_name(path.name.split(".nii")[0] + ".json")
        sidecar.write_text(json.dumps({"RepetitionTime": sidecar_tr, "TaskName": "rest"}))
    return path


def motion_table(n: int, seed: int = 0, jumps: tuple[int, ...] = (40,)) -> np.ndarray:
    """(n, 6) small drift in mm / rad with a 1 mm jump at each index in ``jumps``."""
    rng = np.random.default_rng(seed)
    motion = np.cumsum(rng.normal(scale=[0.02] * 3 + [0.0003] * 3, size=(n, 6)), axis=0)
    for j in jumps:
        motion[j:, 0] += 1.0
    return motion


def write_confounds(path: Path, n: int, *, seed: int = 0, rows: int | None = None,
                    degrees: bool = False, jumps: tuple[int, ...] = (40,)) -> Path:
    """An fMRIPrep-like TSV: real column names, ``n/a`` in the first row of derivatives/FD/DVARS."""
    motion = motion_table(n, seed, jumps)
    if degrees:
        motion[:, 3:] = np.degrees(motion[:, 3:]) + 10.0 * np.sin(np.arange(n) / 20.0)[:, None]
    rng = np.random.default_rng(seed + 1)
    step = np.abs(np.diff(motion, axis=0))
    fd = np.r_[np.nan, step[:, :3].sum(1) + 50 * step[:, 3:].sum(1)]          # Power 2012
    values = {c: rng.normal(size=n) for c in FMRIPREP_COLUMNS}
    for k, name in enumerate(["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]):
        values[name] = motion[:, k]
        values[f"{name}_derivative1"] = np.r_[np.nan, np.diff(motion[:, k])]
        values[f"{name}_power2"] = motion[:, k] ** 2
    for name in ("global_signal", "csf", "white_matter"):
        values[f"{name}_derivative1"] = np.r_[np.nan, np.diff(values[name])]
    values["framewise_displacement"] = fd
    values["std_dvars"][0] = values["dvars"][0] = np.nan
    lines = ["\t".join(FMRIPREP_COLUMNS)]
    for r in range(rows if rows is not None else n):
        lines.append("\t".join("n/a" if not np.isfinite(values[c][r % n]) else f"{values[c][r % n]:.6g}"
                               for c in FMRIPREP_COLUMNS))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_fmriprep(root: Path, label: str = "01", spaces: tuple[str, ...] = ("T1w",), n: int = 100, *,
                   session: str | None = None, flip_x: bool = False, with_mask: bool = True,
                   with_anat: bool = False) -> dict[str, Path]:
    """An fMRIPrep-like derivatives tree for one subject; returns the BOLD path of each space."""
    sub = root / f"sub-{label}"
    func = (sub / f"ses-{session}" if session else sub) / "func"
    prefix = f"sub-{label}" + (f"_ses-{session}" if session else "") + "_task-rest_run-1"
    write_confounds(func / f"{prefix}_desc-confounds_timeseries.tsv", n)
    out = {}
    for space in spaces:
        entity = "space-T1w" if space == "T1w" else f"space-{space}_res-2"
        data, affine = make_run("T1w" if space == "T1w" else "MNI", n, flip_x=flip_x)
        bold = save_bold(func / f"{prefix}_{entity}_desc-preproc_bold.nii.gz", data, affine, sidecar_tr=2.0)
        if with_mask:
            mask = (np.abs(data[..., 0] - 1000.0) < 1e9).astype(np.uint8)     # the whole grid: "brain"
            nib.save(nib.Nifti1Image(mask, affine), str(func / f"{prefix}_{entity}_desc-brain_mask.nii.gz"))
        out[space] = bold
    if with_anat:
        anat = sub / "anat"
        anat.mkdir(parents=True, exist_ok=True)
        nib.save(sample_t1(), str(anat / f"sub-{label}_desc-preproc_T1w.nii.gz"))
    (root / "dataset_description.json").write_text(json.dumps({"Name": "fMRIPrep - test", "BIDSVersion": "1.8.0",
                                                               "DatasetType": "derivative"}))
    return out
