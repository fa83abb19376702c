"""End to end through ``tmsnav-target connectivity``: the sample run's planted DLPFC cluster is found
within 3 mm from a raw scanner run (minimal pipeline: realignment, MI coregistration) and from
fMRIPrep-like derivatives, and the outputs say what the issue asks. Also with the fMRIPrep run
stored in the other voxel order (L/R flipped storage): the target stays on the patient's left."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from tests.navigation.connectivity.cli_data import private_cache, run_cli, target_json  # noqa: F401
from tmsnav.navigation.connectivity.sample_run import write_sample_run


def _check_outputs(folder, truth) -> dict:
    record = target_json(folder)
    for key in ("target_mri_mm", "target_mni_mm", "correlation", "cluster_voxels", "stability_mm", "warnings",
                "version", "params", "pipeline", "steps"):
        assert key in record, key
    assert len(record["target_mri_mm"]) == 3 and len(record["target_mni_mm"]) == 3
    found = np.array(record["target_mri_mm"])
    assert np.linalg.norm(found - truth.target_mri_mm) < 3.0, (found, truth.target_mri_mm)
    assert found[0] < -20, "the target must be in the patient's left hemisphere"
    assert np.linalg.norm(np.array(record["target_mni_mm"]) - truth.target_mni_mm) < 4.0
    assert record["correlation"] < -0.3 and record["cluster_voxels"] >= 5
    assert record["params"]["method"] == "cluster"
    image = nib.load(str(folder / "correlation_map.nii.gz"))
    r = np.asarray(image.dataobj, float)
    assert np.isfinite(r).any() and np.nanmin(r) < -0.3
    png = (folder / "figure.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    rgb = imread(str(folder / "figure.png"))[..., :3]
    assert ((rgb[..., 2] - rgb[..., 0]) > 0.15).sum() > 100, "no colour-mapped (blue: anticorrelated) pixels"
    return record


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_raw_scanner_run_through_the_cli(capsys, tmp_path, private_cache):  # noqa: F811
    truth = write_sample_run(tmp_path / "bids", variant="raw", n_volumes=200, seed=0)
    out = tmp_path / "out"
    result = run_cli(capsys, "connectivity", truth.bold_path, "--t1", truth.t1_path, "-o", out)
    assert result.code == 0, result.err
    assert result.out.startswith("run: target mri (")
    record = _check_outputs(out, truth)
    assert record["pipeline"] == "minimal"
    assert record["input"] == "file" and record["subject"] is None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fmriprep_folder_through_the_cli(capsys, tmp_path, private_cache):  # noqa: F811
    truth = write_sample_run(tmp_path / "bids", variant="fmriprep", n_volumes=200, seed=0)
    out = tmp_path / "out"
    result = run_cli(capsys, "connectivity", tmp_path / "bids", "--participant-label", "01", "-o", out)
    assert result.code == 0, result.err
    record = _check_outputs(out / "sub-01", truth)
    assert record["subject"] == "01" and record["input"] == "fmriprep"
    assert record["stability_mm"] < 3.0
    # the same run given as a file with its confounds (a preprocessed BOLD outside a BIDS tree)
    again = run_cli(capsys, "connectivity", truth.bold_path, "--t1", truth.t1_path, "--confounds",
                    truth.confounds_path, "-o", tmp_path / "file")
    assert again.code == 0, again.err
    assert np.linalg.norm(np.array(target_json(tmp_path / "file")["target_mri_mm"])
                          - np.array(record["target_mri_mm"])) < 1.0


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.safety(hazard="left-right", control="tmsnav-target connectivity on a run stored with its voxel x axis "
                    "reversed (LAS instead of RAS) finds the same left-DLPFC target in the patient's mri mm")
def test_lr_reversed_storage_keeps_the_target_on_the_left(capsys, tmp_path, private_cache):  # noqa: F811
    truth = write_sample_run(tmp_path / "bids", variant="fmriprep", n_volumes=150, seed=1, voxel_mm=3.0)
    image = nib.load(str(truth.bold_path))
    n_x = image.shape[0]
    flip = np.array([[-1, 0, 0, n_x - 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], float)
    affine = image.affine @ flip                           # voxel i of the new file is voxel n-1-i of the old
    flipped = nib.Nifti1Image(np.asarray(image.dataobj)[::-1], affine, image.header)
    flipped.set_qform(affine, code=1)
    flipped.set_sform(affine, code=1)
    nib.save(flipped, str(truth.bold_path))
    mask = nib.load(str(truth.mask_path))
    nib.save(nib.Nifti1Image(np.asarray(mask.dataobj)[::-1], affine), str(truth.mask_path))
    out = tmp_path / "out"
    result = run_cli(capsys, "connectivity", tmp_path / "bids", "-o", out)
    assert result.code == 0, result.err
    found = np.array(target_json(out / "sub-01")["target_mri_mm"])
    assert found[0] < -20
    assert np.linalg.norm(found - truth.target_mri_mm) < 3.0, (found, truth.target_mri_mm)
