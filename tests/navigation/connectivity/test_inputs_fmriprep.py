"""fMRIPrep-like derivatives are found, read and handed over with transforms that chain."""

from __future__ import annotations

import numpy as np
import pytest

from tests.navigation.connectivity import inputs_data as D
from tmsnav.navigation.connectivity.fmriprep import find_fmriprep_run
from tmsnav.navigation.connectivity.inputs import prepare_bold_file, prepare_fmriprep
from tmsnav.navigation.transforms import Frame


def _marker_mm(prepared) -> np.ndarray:
    """Where the marker's unique time course lies in the patient's MRI (found from the data)."""
    block = next(prepared.volumes.chunks(prepared.n_volumes))[1]
    wave = 50.0 * np.sin(np.arange(prepared.n_volumes) / 3.0)
    score = np.tensordot(block - block.mean(axis=3, keepdims=True), wave, axes=([3], [0]))
    ijk = np.array(np.unravel_index(np.argmax(score), score.shape), dtype=float)
    mri_from_voxel = prepared.mri_from_space.matrix @ prepared.space_from_voxel
    return mri_from_voxel[:3, :3] @ ijk + mri_from_voxel[:3, 3]


def test_t1w_run_is_found_and_read_for_the_participant_label(tmp_path):
    D.write_fmriprep(tmp_path, "01", spaces=("T1w", "MNI152NLin2009cAsym"))
    D.write_fmriprep(tmp_path, "02")
    from tmsnav.navigation.imaging.volume import load_volume
    from tmsnav.navigation.sample_head import sample_head_path

    volume = load_volume(sample_head_path())              # the T1 as the app holds it
    prepared = prepare_fmriprep(tmp_path, "sub-01", t1_image=volume, mri_from_mni=D.mri_from_mni())
    assert prepared.space == Frame.MRI                     # T1w preferred over MNI
    assert prepared.pipeline == "fmriprep"
    assert "space-T1w" in prepared.steps[0] and "sub-01" in prepared.steps[0]
    assert prepared.mri_from_space.is_close(prepared.mri_from_space.identity(Frame.MRI, Frame.MRI))
    assert np.allclose(prepared.mni_from_space.matrix, np.linalg.inv(D.mri_from_mni().matrix))
    assert any("desc-brain_mask" in s for s in prepared.steps)
    assert prepared.tr_s == pytest.approx(2.0)
    assert prepared.n_volumes == 100


def test_confounds_columns_and_the_n_a_first_row(tmp_path):
    D.write_fmriprep(tmp_path, "01")
    prepared = prepare_fmriprep(tmp_path, "01", mri_from_mni=D.mri_from_mni())
    names = prepared.confound_names
    assert names[:6] == ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    assert "trans_x_derivative1" in names and "rot_z_derivative1" in names
    assert {"global_signal", "white_matter", "csf"} <= set(names)
    assert "trans_x_power2" not in names and "a_comp_cor_00" not in names
    assert np.all(np.isfinite(prepared.confounds))
    assert prepared.confounds[0, names.index("trans_x_derivative1")] == 0.0      # n/a -> 0
    truth = D.motion_table(100)
    assert np.allclose(prepared.confounds[:, :6], truth, atol=1e-5)
    fd = prepared.framewise_displacement_mm
    assert fd[0] == 0.0 and fd[40] > 1.0
    assert not prepared.kept_volumes[40] and prepared.kept_volumes.sum() == 99


def test_bids_root_with_sessions_and_derivatives_folder(tmp_path):
    D.write_fmriprep(tmp_path / "derivatives" / "fmriprep", "01", session="pre")
    found = find_fmriprep_run(tmp_path, "01")
    assert found.bold.parent.name == "func" and found.bold.parent.parent.name == "ses-pre"
    assert found.confounds.name == "sub-01_ses-pre_task-rest_run-1_desc-confounds_timeseries.tsv"
    assert found.sidecar is not None and found.brain_mask is not None
    anat = tmp_path / "derivatives" / "fmriprep" / "sub-01" / "anat"
    anat.mkdir()
    (anat / "sub-01_from-T1w_to-MNI152NLin2009cAsym_mode-image_xfm.h5").write_bytes(b"\x89HDF")
    prepared = prepare_fmriprep(tmp_path, mri_from_mni=D.mri_from_mni())     # one subject: no label needed
    assert prepared.n_volumes == 100
    assert any("_xfm.h5 found, not used" in s for s in prepared.steps)


def test_mni_run_chains_to_the_patient(tmp_path):
    D.write_fmriprep(tmp_path, "01", spaces=("MNI152NLin2009cAsym",))
    prepared = prepare_fmriprep(tmp_path, "01", mri_from_mni=D.mri_from_mni())
    assert prepared.space == Frame.MNI
    assert prepared.mni_from_space.is_close(prepared.mni_from_space.identity(Frame.MNI, Frame.MNI))
    assert prepared.mri_from_space.is_close(D.mri_from_mni(), atol_rad=1e-9)
    assert np.allclose(_marker_mm(prepared), D.mri_from_mni().apply(D.MARKER_MNI), atol=3.1)


def test_other_mni_template_gets_a_warning(tmp_path):
    D.write_fmriprep(tmp_path, "01", spaces=("MNI152NLin6Asym",))
    prepared = prepare_fmriprep(tmp_path, "01", mri_from_mni=D.mri_from_mni())
    assert any("MNI152NLin6Asym" in w and "a few mm" in w for w in prepared.warnings)


def test_mni_registration_is_computed_from_fmripreps_t1_when_not_given(tmp_path, monkeypatch):
    """No mri_from_mni: the anat/desc-preproc_T1w is registered (here a stand-in that records it)."""
    import tmsnav.navigation.targeting.mni_registration as reg

    seen = {}

    def fake(volume, **kw):
        seen["shape"] = np.shape(volume[0])
        return reg.MniRegistration(D.mri_from_mni(), 0.5, 0.0, "test")

    monkeypatch.setattr(reg, "cached_register_to_mni", fake)
    D.write_fmriprep(tmp_path, "01", with_anat=True)
    prepared = prepare_fmriprep(tmp_path, "01")
    assert seen["shape"] == D.sample_t1().shape
    assert any("T1->MNI" in s for s in prepared.steps)


def test_no_t1_and_no_registration_is_refused(tmp_path):
    from tmsnav.navigation.connectivity.bold_file import FunctionalInputError

    D.write_fmriprep(tmp_path, "01")
    with pytest.raises(FunctionalInputError, match=r"no desc-preproc_T1w in anat/ and no T1 was given"):
        prepare_fmriprep(tmp_path, "01")


@pytest.mark.safety(hazard="left-right", control="a BOLD run stored right-to-left (fMRIPrep T1w or MNI "
                    "space, or a preprocessed file) puts its left-hemisphere voxel at the same left "
                    "position in the patient's MRI as the run stored left-to-right")
@pytest.mark.parametrize("space", ["T1w", "MNI152NLin2009cAsym", "file"])
def test_left_right_flipped_storage_gives_the_same_mri_position(tmp_path, space):
    positions = []
    for flip in (False, True):
        root = tmp_path / f"flip{flip}"
        if space == "file":
            data, affine = D.make_run("T1w", 100, flip_x=flip)
            bold = D.save_bold(root / "run_bold.nii.gz", data, affine, sidecar_tr=2.0)
            prepared = prepare_bold_file(bold, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni(),
                                         confounds_tsv=D.write_confounds(root / "c.tsv", 100))
        else:
            D.write_fmriprep(root, "01", spaces=(space,), flip_x=flip)
            prepared = prepare_fmriprep(root, "01", mri_from_mni=D.mri_from_mni())
        positions.append(_marker_mm(prepared))
        assert (prepared.space_from_voxel[0, 0] < 0) == flip
    expected = D.mri_from_mni().apply(D.MARKER_MNI)
    assert positions[0][0] < -20 and positions[1][0] < -20          # left stays left
    assert np.allclose(positions[0], positions[1], atol=1e-6)
    assert np.linalg.norm(positions[1] - expected) < 6.0            # within a voxel of the truth


@pytest.mark.safety(hazard="privacy", control="a BOLD file and confounds named after the patient leave "
                    "no trace of the name in the steps that go into target.json")
def test_file_names_never_go_into_the_recorded_steps(tmp_path):
    data, affine = D.make_run("T1w", 100)
    bold = D.save_bold(tmp_path / "Jane_Doe_1961_bold.nii.gz", data, affine, sidecar_tr=2.0)
    prepared = prepare_bold_file(bold, t1_volume=D.sample_t1(), mri_from_mni=D.mri_from_mni(),
                                 confounds_tsv=D.write_confounds(tmp_path / "Jane_Doe_confounds.tsv", 100))
    recorded = " ".join(prepared.steps + prepared.warnings).lower()
    assert "jane" not in recorded and "doe" not in recorded, recorded
