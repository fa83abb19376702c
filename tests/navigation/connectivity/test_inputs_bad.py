"""Every bad functional input is refused with a message that names its cause (and nothing runs)."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from tests.navigation.connectivity import inputs_data as D
from tmsnav.navigation.connectivity.bold_file import FunctionalInputError, read_bold
from tmsnav.navigation.connectivity.confounds import read_confounds
from tmsnav.navigation.connectivity.inputs import prepare_bold_file, prepare_fmriprep
from tmsnav.navigation.errors import NavigationError


def _bold(tmp_path, n=100, **kw):
    data, affine = D.make_run("T1w", n)
    return D.save_bold(tmp_path / "sub-01_task-rest_bold.nii.gz", data, affine, **kw)


def test_error_is_a_navigation_error():
    assert issubclass(FunctionalInputError, NavigationError)


def test_three_d_file_is_refused(tmp_path):
    data, affine = D.make_run("T1w", 100)
    path = D.save_bold(tmp_path / "t1.nii.gz", data[..., 0], affine)
    with pytest.raises(FunctionalInputError, match=r"is a 3-D image .* not a 4-D BOLD run"):
        read_bold(path)


def test_too_few_volumes_says_how_many(tmp_path):
    with pytest.raises(FunctionalInputError, match=r"has 99 volumes; at least 100"):
        read_bold(_bold(tmp_path, n=99))


def test_missing_tr_is_refused(tmp_path):
    with pytest.raises(FunctionalInputError, match=r"repetition time \(TR\) is missing.*no JSON sidecar"):
        read_bold(_bold(tmp_path, tr=None))


def test_missing_tr_in_header_taken_from_sidecar(tmp_path):
    run = read_bold(_bold(tmp_path, tr=None, sidecar_tr=1.5))
    assert run.tr_s == pytest.approx(1.5)


def test_header_and_sidecar_tr_disagree(tmp_path):
    with pytest.raises(FunctionalInputError, match=r"header says TR = 2 s but .*\.json says 2\.5 s"):
        read_bold(_bold(tmp_path, tr=2.0, sidecar_tr=2.5))


def test_tr_within_one_percent_is_accepted(tmp_path):
    assert read_bold(_bold(tmp_path, tr=2.0, sidecar_tr=2.01)).tr_s == pytest.approx(2.01)


def test_tr_in_milliseconds_written_as_seconds(tmp_path):
    with pytest.raises(FunctionalInputError, match=r"TR = 2000 s .*probably 2000 ms"):
        read_bold(_bold(tmp_path, tr=2000.0, unit="sec"))
    with pytest.raises(FunctionalInputError, match=r"TR = 2000 s \(no unit"):
        read_bold(_bold(tmp_path, tr=2000.0, unit="unknown"))


def test_tr_in_milliseconds_with_the_unit_is_converted(tmp_path):
    assert read_bold(_bold(tmp_path, tr=2000.0, unit="msec")).tr_s == pytest.approx(2.0)


def test_sidecar_tr_in_milliseconds(tmp_path):
    path = _bold(tmp_path, tr=None)
    path.with_name("sub-01_task-rest_bold.json").write_text(json.dumps({"RepetitionTime": 2000}))
    with pytest.raises(FunctionalInputError, match=r"RepetitionTime = 2000.*milliseconds: write 2"):
        read_bold(path)


def test_folder_given_as_bold_file(tmp_path):
    with pytest.raises(FunctionalInputError, match=r"is a folder; give the 4-D BOLD file"):
        read_bold(tmp_path)


def test_file_given_as_fmriprep_folder(tmp_path):
    with pytest.raises(FunctionalInputError, match=r"is a file; the fMRIPrep input is the derivatives folder"):
        prepare_fmriprep(_bold(tmp_path), "01", mri_from_mni=D.mri_from_mni())


def test_folder_given_as_confounds_file(tmp_path):
    with pytest.raises(FunctionalInputError, match=r"is a folder; give the run's \*_desc-confounds"):
        read_confounds(tmp_path, 100)


def test_confounds_with_wrong_row_count(tmp_path):
    path = D.write_confounds(tmp_path / "c.tsv", 100, rows=99)
    with pytest.raises(FunctionalInputError, match=r"has 99 rows but the run has 100 volumes"):
        read_confounds(path, 100)
    with pytest.raises(FunctionalInputError, match=r"has 99 rows but the run has 100 volumes"):
        prepare_bold_file(_bold(tmp_path), t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni(),
                          confounds_tsv=path)


def test_confounds_without_motion_columns_list_what_was_found(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("global_signal\tcsf\twhite_matter\tdvars\tstd_dvars\trmsd\n" + "1\t2\t3\t4\t5\t6\n" * 100)
    with pytest.raises(FunctionalInputError, match=r"lacks the motion columns trans_x.*found: global_signal, csf"):
        read_confounds(path, 100)


def test_confound_rotations_in_degrees_are_refused(tmp_path):
    path = D.write_confounds(tmp_path / "c.tsv", 100, degrees=True)
    with pytest.raises(FunctionalInputError, match=r"look like degrees"):
        read_confounds(path, 100)


def test_preprocessed_bold_that_does_not_overlap_the_t1(tmp_path):
    data, affine = D.make_run("T1w", 100)
    affine[:3, 3] += [0.0, 400.0, 0.0]             # another frame altogether
    path = D.save_bold(tmp_path / "run_bold.nii.gz", data, affine)
    tsv = D.write_confounds(tmp_path / "c.tsv", 100)
    with pytest.raises(FunctionalInputError, match=r"do not overlap: only 0 % .*centres \d+ mm apart"):
        prepare_bold_file(path, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni(), confounds_tsv=tsv)


def test_mni_run_given_as_t1_space_is_refused_when_it_misses_the_t1(tmp_path):
    """An MNI-space run handed in as if it were in the T1's space: refused when the boxes do not
    meet, which is what the overlap check can see (a close miss is left to the overlay)."""
    data, affine = D.make_run("MNI", 100)
    affine[:3, 3] -= [0.0, 0.0, 150.0]
    path = D.save_bold(tmp_path / "mni_bold.nii.gz", data, affine)
    tsv = D.write_confounds(tmp_path / "c.tsv", 100)
    with pytest.raises(FunctionalInputError, match=r"do not overlap"):
        prepare_bold_file(path, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni(), confounds_tsv=tsv)


def test_raw_bold_that_does_not_overlap_the_t1(tmp_path):
    data, affine = D.make_run("T1w", 100)
    affine[:3, 3] += [500.0, 0.0, 0.0]
    path = D.save_bold(tmp_path / "raw_bold.nii.gz", data, affine)
    with pytest.raises(FunctionalInputError, match=r"raw_bold.nii.gz \(scanner mm\) and the T1 do not overlap"):
        prepare_bold_file(path, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni())


@pytest.mark.parametrize("bad", ["nan", "constant"])
def test_nan_or_constant_voxels_inside_the_brain(tmp_path, bad):
    data, affine = D.make_run("T1w", 100)
    i, j, k = D.marker_voxel(affine, "T1w")
    if bad == "nan":
        data[i - 1:i + 2, j, k, 3] = np.nan
        message = r"3 voxels inside the brain hold NaN"
    else:
        data[:, :, k] = 0.0                         # a zero-filled slab through the brain
        message = r"brain voxels \(\d+\.\d %\) never change over the first 20 volumes"
    path = D.save_bold(tmp_path / "run_bold.nii.gz", data, affine)
    tsv = D.write_confounds(tmp_path / "c.tsv", 100)
    with pytest.raises(FunctionalInputError, match=message):
        prepare_bold_file(path, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni(), confounds_tsv=tsv)


def test_a_few_constant_voxels_give_a_warning_with_the_count(tmp_path):
    data, affine = D.make_run("T1w", 100)
    i, j, k = D.marker_voxel(affine, "T1w")
    data[i, j + 1, k] = 1000.0
    path = D.save_bold(tmp_path / "run_bold.nii.gz", data, affine)
    tsv = D.write_confounds(tmp_path / "c.tsv", 100)
    prepared = prepare_bold_file(path, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni(), confounds_tsv=tsv)
    assert any(w.startswith("1 of ") and "constant over the first 20 volumes" in w for w in prepared.warnings)


def test_fmriprep_folder_without_the_subject_lists_the_subjects(tmp_path):
    D.write_fmriprep(tmp_path, "01")
    D.write_fmriprep(tmp_path, "control02")
    with pytest.raises(FunctionalInputError, match=r"no preprocessed BOLD for sub-7 .*subjects found: 01, control02"):
        prepare_fmriprep(tmp_path, "7", mri_from_mni=D.mri_from_mni())
    with pytest.raises(FunctionalInputError, match=r"holds 2 subjects .*01, control02.*participant label"):
        prepare_fmriprep(tmp_path, mri_from_mni=D.mri_from_mni())


def test_fmriprep_folder_without_a_usable_space_lists_the_files(tmp_path):
    func = tmp_path / "sub-01" / "func"
    data, affine = D.make_run("T1w", 100)
    D.save_bold(func / "sub-01_task-rest_space-fsLR_den-91k_desc-preproc_bold.nii.gz", data, affine)
    with pytest.raises(FunctionalInputError,
                       match=r"sub-01 has no preprocessed BOLD in T1w or MNI152 space; found: .*space-fsLR"):
        prepare_fmriprep(tmp_path, "01", mri_from_mni=D.mri_from_mni())


def test_fmriprep_folder_with_the_wrong_task(tmp_path):
    D.write_fmriprep(tmp_path, "01")
    with pytest.raises(FunctionalInputError, match=r"for task nback; found: sub-01_task-rest"):
        prepare_fmriprep(tmp_path, "01", task="nback", mri_from_mni=D.mri_from_mni())


def test_fmriprep_run_without_confounds_lists_what_is_there(tmp_path):
    D.write_fmriprep(tmp_path, "01")
    tsv = next(tmp_path.glob("sub-01/func/*confounds_timeseries.tsv"))
    tsv.rename(tsv.with_name("sub-01_task-rest_run-2_desc-confounds_timeseries.tsv"))
    with pytest.raises(FunctionalInputError, match=r"has no confounds file .*found: sub-01_task-rest_run-2"):
        prepare_fmriprep(tmp_path, "01", mri_from_mni=D.mri_from_mni())


def test_not_an_mri_from_mni_transform(tmp_path):
    with pytest.raises(FunctionalInputError, match=r"must be an mri_from_mni Transform, got mni_from_mri"):
        prepare_bold_file(_bold(tmp_path), t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni().inverse())


def test_damaged_file(tmp_path):
    path = tmp_path / "run_bold.nii.gz"
    path.write_bytes(b"not a nifti at all" * 10)
    with pytest.raises(FunctionalInputError, match=r"run_bold.nii.gz is not a readable NIfTI image"):
        read_bold(path)


def test_nothing_is_written(tmp_path):
    """A refused input leaves the folder as it was (no half-written outputs)."""
    data, affine = D.make_run("T1w", 100)
    data[..., 5] = np.nan                           # within the volumes checked up front
    path = D.save_bold(tmp_path / "run_bold.nii.gz", data, affine)
    tsv = D.write_confounds(tmp_path / "c.tsv", 100)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(FunctionalInputError):
        prepare_bold_file(path, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni(), confounds_tsv=tsv)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert nib.load(str(path)).shape == data.shape
