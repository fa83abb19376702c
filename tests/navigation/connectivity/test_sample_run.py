"""The synthetic rs-fMRI sample (navigation/connectivity/sample_run.py): BIDS/fMRIPrep layout,
headers, confounds, motion, the planted anticorrelation (checked with plain numpy + nilearn, not
with tmsnav's method), L/R placement of the planted cluster, and the streamed NIfTI writer."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn import signal
from scipy import ndimage as ndi

from tmsnav.navigation.connectivity.nifti_stream import write_nifti_stream
from tmsnav.navigation.connectivity.sample_run import (PLANTED_MNI_MM, write_sample_dataset,
                                                         write_sample_run)
from tmsnav.navigation.sample_head import sample_head_mri_from_mni

N = 120


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    return write_sample_run(tmp_path_factory.mktemp("raw"), variant="raw", n_volumes=N, seed=3)


@pytest.fixture(scope="module")
def fmriprep(tmp_path_factory):
    return write_sample_run(tmp_path_factory.mktemp("fmriprep"), variant="fmriprep", n_volumes=N, seed=4,
                            voxel_mm=3.0)


def _voxel_mm(truth) -> np.ndarray:
    image = nib.load(str(truth.bold_path))
    ijk = np.indices(image.shape[:3]).reshape(3, -1)
    mri = truth.mri_from_bold_header @ image.affine
    return (mri[:3, :3] @ ijk + mri[:3, 3:4]).T


def _ball_mean(data: np.ndarray, points: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    inside = np.linalg.norm(points - centre, axis=1) <= radius
    assert inside.sum() >= 3
    return data.reshape(-1, data.shape[3])[inside].mean(axis=0)


def test_raw_layout_headers_and_sidecar(raw):
    root = raw.root
    assert raw.bold_path == root / "sub-01" / "func" / "sub-01_task-rest_bold.nii.gz"
    assert raw.t1_path == root / "sub-01" / "anat" / "sub-01_T1w.nii.gz"
    assert json.loads((root / "dataset_description.json").read_text())["BIDSVersion"]
    image = nib.load(str(raw.bold_path))
    assert image.shape == (64, 64, 36, N) and image.get_data_dtype() == np.int16
    assert np.allclose(image.header.get_zooms(), (3.5, 3.5, 3.5, 2.0))
    assert image.header.get_xyzt_units() == ("mm", "sec")
    assert json.loads(raw.sidecar_path.read_text())["RepetitionTime"] == pytest.approx(image.header.get_zooms()[3])
    # the head moved between the T1 and the run: a rigid offset of a few mm and degrees
    m = raw.mri_from_bold_header
    assert np.allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3), atol=1e-9) and np.linalg.det(m[:3, :3]) > 0
    angle = np.degrees(np.arccos((np.trace(m[:3, :3]) - 1) / 2))
    assert 2.0 < angle < 8.0


def test_raw_motion_spikes_are_in_the_volumes(raw):
    """A spike volume is displaced in the data by about its planted translation."""
    assert (raw.framewise_displacement_mm > 0.5).sum() >= len(raw.spike_volumes) == 3
    assert np.median(raw.framewise_displacement_mm) < 0.2
    data = np.asarray(nib.load(str(raw.bold_path)).dataobj, dtype=np.float32)
    t = int(raw.spike_volumes[0])
    com = [np.array(ndi.center_of_mass(data[..., k])) * 3.5 for k in (t - 1, t, t + 1)]
    moved = np.linalg.norm(com[1] - (com[0] + com[2]) / 2)
    trans = raw.motion_params[:, :3]
    planted = np.linalg.norm(trans[t] - (trans[t - 1] + trans[t + 1]) / 2)
    assert planted > 0.2 and moved == pytest.approx(planted, rel=0.5, abs=0.15)


def test_t2star_like_contrast_follows_the_t1(fmriprep):
    """CSF brighter than white matter and grey in between (EPI order), from the T1's own anatomy."""
    data = np.asarray(nib.load(str(fmriprep.bold_path)).dataobj[..., :5], dtype=np.float32).mean(axis=3)
    t1 = nib.load(str(fmriprep.t1_path))
    pts = _voxel_mm(fmriprep)
    vox = np.linalg.inv(t1.affine) @ np.c_[pts, np.ones(len(pts))].T
    t1_on_bold = ndi.map_coordinates(np.asarray(t1.dataobj, np.float32), vox[:3], order=1).reshape(data.shape)
    mask = np.asarray(nib.load(str(fmriprep.mask_path)).dataobj) > 0
    bright_t1 = mask & (t1_on_bold > np.percentile(t1_on_bold[mask], 80))     # white matter on T1
    dark_t1 = mask & (t1_on_bold < np.percentile(t1_on_bold[mask], 10))       # CSF on T1
    assert data[dark_t1].mean() > 1.3 * data[bright_t1].mean()


def test_fmriprep_layout_confounds_and_mask(fmriprep):
    func = fmriprep.root / "sub-01" / "func"
    assert fmriprep.root.name == "fmriprep" and fmriprep.root.parent.name == "derivatives"
    assert fmriprep.bold_path == func / "sub-01_task-rest_space-T1w_desc-preproc_bold.nii.gz"
    assert fmriprep.t1_path.name == "sub-01_desc-preproc_T1w.nii.gz" and fmriprep.t1_path.parent.name == "anat"
    table = pd.read_csv(fmriprep.confounds_path, sep="\t", na_values="n/a")
    assert len(table) == N
    motion = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    for name in [*motion, *(m + "_derivative1" for m in motion), "global_signal", "white_matter", "csf",
                 "framewise_displacement"]:
        assert name in table.columns, name
    first = fmriprep.confounds_path.read_text().splitlines()[1].split("\t")
    header = fmriprep.confounds_path.read_text().splitlines()[0].split("\t")
    assert first[header.index("framewise_displacement")] == "n/a"
    assert first[header.index("trans_x_derivative1")] == "n/a"
    assert np.allclose(table["framewise_displacement"][1:], fmriprep.framewise_displacement_mm[1:], atol=1e-6)
    assert np.allclose(table["rot_z"], fmriprep.motion_params[:, 5], atol=1e-9)
    image = nib.load(str(fmriprep.bold_path))
    mask_image = nib.load(str(fmriprep.mask_path))
    assert np.allclose(mask_image.affine, image.affine) and mask_image.shape == image.shape[:3]
    # space-T1w: the grid's axes are the T1's axes
    t1 = nib.load(str(fmriprep.t1_path))
    unit = lambda a: a[:3, :3] / np.linalg.norm(a[:3, :3], axis=0)  # noqa: E731
    assert np.allclose(unit(image.affine), unit(t1.affine), atol=1e-6)
    # global_signal is the mean over the brain mask of the data written
    data = np.asarray(image.dataobj, dtype=np.float64)
    mask = np.asarray(mask_image.dataobj) > 0
    assert np.allclose(data[mask].mean(axis=0), table["global_signal"], rtol=1e-6)


def _cleaned(ts: np.ndarray, confounds: np.ndarray) -> np.ndarray:
    return signal.clean(ts, confounds=confounds, detrend=True, standardize="zscore_sample", low_pass=0.1,
                        high_pass=0.01, t_r=2.0)


def test_planted_cluster_is_anticorrelated_and_only_on_the_left(fmriprep):
    """Independent check (nilearn.signal.clean + numpy, not tmsnav's method): the mean signal at the
    planted target is anticorrelated with the sgACC seed; its mirror image in the right hemisphere
    is only by chance. The planted target lies in the patient's LEFT hemisphere (RAS: mri x < 0)."""
    data = np.asarray(nib.load(str(fmriprep.bold_path)).dataobj, dtype=np.float32)
    pts = _voxel_mm(fmriprep)
    table = pd.read_csv(fmriprep.confounds_path, sep="\t", na_values="n/a").fillna(0.0)
    confounds = table[["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z", "global_signal",
                       "white_matter", "csf"]].to_numpy()
    seed = _cleaned(_ball_mean(data, pts, fmriprep.seed_mri_mm, 10.0)[:, None], confounds)[:, 0]
    mni_from_mri = np.linalg.inv(sample_head_mri_from_mni().matrix)
    target_mni = (mni_from_mri @ np.r_[fmriprep.target_mri_mm, 1])[:3]
    assert np.allclose(target_mni, fmriprep.target_mni_mm, atol=1e-6)
    assert np.linalg.norm(target_mni - PLANTED_MNI_MM) < 4.0 and target_mni[0] < -30
    assert fmriprep.target_mri_mm[0] < -20               # patient's left in the T1's RAS mm
    mirror_mri = (sample_head_mri_from_mni().matrix @ np.r_[-target_mni[0], target_mni[1:], 1])[:3]
    r = {}
    for name, centre in (("left", fmriprep.target_mri_mm), ("right", mirror_mri)):
        local = _cleaned(_ball_mean(data, pts, centre, 5.0)[:, None], confounds)[:, 0]
        r[name] = float(np.corrcoef(seed, local)[0, 1])
    assert r["left"] < -0.5, r
    assert r["right"] > r["left"] + 0.25, r      # chance correlation only (~0.15 sd at 120 volumes)


def test_same_seed_same_run_and_dataset_subjects_differ(tmp_path):
    a = write_sample_run(tmp_path / "a", variant="raw", n_volumes=20, seed=7, n_spikes=1)
    b = write_sample_run(tmp_path / "b", variant="raw", n_volumes=20, seed=7, n_spikes=1)
    read = lambda truth: np.asarray(nib.load(str(truth.bold_path)).dataobj)  # noqa: E731
    assert np.array_equal(read(a), read(b))
    truths = write_sample_dataset(tmp_path / "ds", ("01", "02"), variant="raw", n_volumes=20, n_spikes=1, seed=1)
    assert sorted(p.name for p in (tmp_path / "ds").glob("sub-*")) == ["sub-01", "sub-02"]
    assert np.linalg.norm(truths["01"].target_mni_mm - truths["02"].target_mni_mm) > 0.5
    assert not np.array_equal(truths["01"].motion_params, truths["02"].motion_params)


def test_generator_refuses_a_target_without_grey_matter(tmp_path):
    with pytest.raises(ValueError, match="no grey matter"):
        write_sample_run(tmp_path, variant="raw", n_volumes=10, target_mni_mm=(0.0, 0.0, 120.0))  # above the head
    assert not any(tmp_path.rglob("*_bold.nii*"))


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_stream_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    data = rng.integers(-300, 3000, size=(5, 6, 7, 11)).astype(np.int16)
    affine = np.array([[-2.0, 0.1, 0, 30], [0.1, 2.0, 0, -40], [0, 0, 2.5, -20], [0, 0, 0, 1]])
    path = write_nifti_stream(tmp_path / f"run{suffix}", data.shape, affine, 1.5,
                              (data[..., s:s + 4] for s in range(0, 11, 4)))
    image = nib.load(str(path))
    assert np.array_equal(np.asarray(image.dataobj), data)
    assert np.allclose(image.affine, affine, atol=1e-5)
    assert image.header.get_zooms()[3] == pytest.approx(1.5)


def test_nifti_stream_leaves_nothing_when_blocks_are_short(tmp_path):
    data = np.zeros((4, 4, 4, 3), np.int16)
    with pytest.raises(ValueError, match="2 volumes written, the header says 3"):
        write_nifti_stream(tmp_path / "run.nii.gz", data.shape, np.eye(4), 2.0, [data[..., :2]])
    assert list(tmp_path.iterdir()) == []
