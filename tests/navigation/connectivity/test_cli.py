"""``tmsnav-target connectivity``: every bad input is one clear line on stderr and exit code 2, and
nothing is left behind for it (no target.json, no half-written folder)."""

from __future__ import annotations

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from tmsnav.navigation import target_cli
from tmsnav.navigation.connectivity.sample_run import write_sample_run

from tests.navigation.connectivity.cli_data import one_clear_line, private_cache, run_cli  # noqa: F401  (fixture)

N = 120


@pytest.fixture(scope="module")
def raw_run(tmp_path_factory):
    return write_sample_run(tmp_path_factory.mktemp("cli-raw"), variant="raw", n_volumes=N, seed=11)


def _no_outputs(out) -> None:
    assert not (out / "target.json").exists()
    assert not list(out.parent.glob(f".{out.name}.partial-*"))


def _two_subjects(raw_run, tmp_path):
    """A BIDS folder with sub-01 and sub-02 (links to the sample run's files)."""
    root = tmp_path / "two"
    for label in ("01", "02"):
        for kind, src in (("func", raw_run.bold_path), ("anat", raw_run.t1_path)):
            folder = root / f"sub-{label}" / kind
            folder.mkdir(parents=True)
            (folder / src.name.replace("sub-01", f"sub-{label}")).symlink_to(src)
    return root


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: command"),
    (["connectivity"], "the following arguments are required: input, -o/--output"),
    (["connectivity", "{missing}", "-o", "{out}"], "input not found"),
    (["connectivity", "{bold}", "-o", "{out}"], "a BOLD file needs --t1"),
    (["connectivity", "{bold}", "--t1", "{folder}", "-o", "{out}"], "--t1 must be a file, but a folder was given"),
    (["connectivity", "{bold}", "--t1", "{missing}", "-o", "{out}"], "--t1 not found"),
    (["connectivity", "{bold}", "--t1", "{t1}", "--confounds", "{missing}", "-o", "{out}"], "--confounds not found"),
    (["connectivity", "{bold}", "--t1", "{t1}", "--participant-label", "01", "-o", "{out}"],
     "--participant-label selects subjects of a BIDS/fMRIPrep folder, but a file was given"),
    (["connectivity", "{folder}", "--confounds", "{bold}", "-o", "{out}"], "--confounds goes with a BOLD file"),
    (["connectivity", "{folder}", "--participant-label", "07", "-o", "{out}"],
     "no functional run for sub-07 in the input folder (found: sub-01)"),
    (["connectivity", "{folder}", "--participant-label", "../01", "-o", "{out}"], "is not a BIDS label"),
    (["connectivity", "{folder}", "--jobs", "0", "-o", "{out}"], "--jobs must be 1 or more"),
    (["connectivity", "{folder}", "--scheduler", "localhost", "-o", "{out}"], "like tcp://host:8786"),
    (["connectivity", "{folder}", "--jobs", "2", "--scheduler", "tcp://a:1", "-o", "{out}"], "not allowed with"),
    (["connectivity", "{folder}", "--percentile", "0", "-o", "{out}"], "percentile"),
    (["connectivity", "{folder}", "--seed-radius", "-3", "-o", "{out}"], "seed_radius_mm"),
    (["connectivity", "{folder}", "--method", "mean", "-o", "{out}"], "invalid choice: 'mean'"),
    (["connectivity", "{folder}", "-o", "{bold}"], "the output (-o) is a file"),
    (["connectivity", "{two}", "--t1", "{t1}", "-o", "{out}"], "--t1 with a folder is for one subject"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, tmp_path, raw_run, argv, message):
    values = {"missing": tmp_path / "nope.nii.gz", "bold": raw_run.bold_path, "t1": raw_run.t1_path,
              "folder": raw_run.root, "out": tmp_path / "out", "two": _two_subjects(raw_run, tmp_path)}
    result = run_cli(capsys, *(a.format(**values) for a in argv))
    assert result.code == 2
    line = one_clear_line(result.err)
    assert message in line, line
    assert not (tmp_path / "out").exists()


def test_no_traceback_from_the_console_script(tmp_path):
    """The installed entry point, as a user runs it: one line, exit 2."""
    proc = subprocess.run([sys.executable, "-m", "tmsnav.navigation.target_cli", "connectivity",
                           str(tmp_path / "nope.nii.gz"), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert one_clear_line(proc.stderr).startswith("tmsnav-target: error: input not found")


def test_qeeg_is_imported_only_when_asked_for():
    """The connectivity command does not import the EEG stack (MNE): build its parser in a fresh
    interpreter and look at sys.modules."""
    code = ("import sys; from tmsnav.navigation import target_cli; "
            "target_cli.build_parser(['connectivity']); "
            "print('tmsnav.navigation.eeg.cli' in sys.modules, 'mne' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


def _bad_file_case(kind: str, raw_run, tmp_path):
    """A damaged copy of the sample run: (bold, extra CLI args, words the message must contain)."""
    image = nib.load(str(raw_run.bold_path))
    data = np.asarray(image.dataobj)
    bold = tmp_path / "bold.nii.gz"
    extra: list[str] = []
    if kind == "3d":
        nib.save(nib.Nifti1Image(data[..., 0], image.affine), str(bold))
        return bold, extra, "3-D"
    if kind == "short":
        nib.save(nib.Nifti1Image(data[..., :40], image.affine, image.header), str(bold))
        return bold, extra, "40"
    if kind == "tr":
        nib.save(nib.Nifti1Image(data, image.affine, image.header), str(bold))
        sidecar = tmp_path / "bold.json"
        sidecar.write_text(json.dumps({"RepetitionTime": 2.5}))
        return bold, ["--sidecar", str(sidecar)], "TR"
    if kind == "far":
        affine = image.affine.copy()
        affine[:3, 3] += 400.0
        nib.save(nib.Nifti1Image(data, affine, image.header), str(bold))
        return bold, extra, "overlap"
    if kind == "confounds_rows":
        nib.save(nib.Nifti1Image(data, image.affine, image.header), str(bold))
        tsv = tmp_path / "confounds.tsv"
        tsv.write_text("trans_x\ttrans_y\ttrans_z\trot_x\trot_y\trot_z\n" + "0\t0\t0\t0\t0\t0\n" * (N - 10))
        return bold, ["--confounds", str(tsv)], str(N - 10)
    raise AssertionError(kind)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["3d", "short", "tr", "far", "confounds_rows"])
def test_bad_runs_are_one_line_exit_2_and_error_txt(capsys, tmp_path, raw_run, private_cache, kind):  # noqa: F811
    """Bad data found while reading the run: its message (from the input checks) on one line,
    exit 2, ``error.txt`` in the output folder and no target."""
    bold, extra, word = _bad_file_case(kind, raw_run, tmp_path)
    out = tmp_path / "out"
    result = run_cli(capsys, "connectivity", bold, "--t1", raw_run.t1_path, *extra, "-o", out)
    assert result.code == 2, result
    line = one_clear_line(result.err)
    assert word in line, line
    assert (out / "error.txt").read_text().strip() in line
    _no_outputs(out)


@pytest.mark.slow
def test_a_run_with_no_anticorrelated_cluster_is_refused(capsys, tmp_path, private_cache):  # noqa: F811
    """A run drowned in thermal noise (tSNR 2): 'no cluster survives', not a made-up target."""
    truth = write_sample_run(tmp_path / "ds", variant="fmriprep", n_volumes=N, seed=5, voxel_mm=3.0,
                             noise_fraction=0.5)
    out = tmp_path / "out"
    result = run_cli(capsys, "connectivity", truth.root, "-o", out)
    assert result.code == 1
    assert "sub-01: FAILED: no cluster survives" in result.err
    assert "no cluster survives" in (out / "sub-01" / "error.txt").read_text()
    assert not (out / "sub-01" / "target.json").exists()
    assert "\tfailed\t" in (out / "summary.tsv").read_text()


def test_main_is_the_console_script():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    assert 'tmsnav-target = "tmsnav.navigation.target_cli:main"' in text
    assert callable(target_cli.main)


def test_qeeg_subcommand_is_the_eeg_helpers(capsys):
    """``tmsnav-target qeeg`` hands over to tmsnav.navigation.eeg.cli (its options and its run)."""
    with pytest.raises(SystemExit) as exit_info:
        target_cli.build_parser(["qeeg"]).parse_args(["qeeg", "--help"])
    assert exit_info.value.code == 0
    assert "EEG_FILE" in capsys.readouterr().out
    assert run_cli(capsys, "qeeg").code == 2


def test_a_bids_subject_without_t1_fails_alone_with_its_reason(capsys, tmp_path, raw_run):
    """Found while looking for its files: the subject gets error.txt and a summary row, exit 1."""
    func = tmp_path / "bids" / "sub-02" / "func"
    func.mkdir(parents=True)
    (func / "sub-02_task-rest_bold.nii.gz").symlink_to(raw_run.bold_path)
    out = tmp_path / "out"
    result = run_cli(capsys, "connectivity", tmp_path / "bids", "-o", out)
    assert result.code == 1
    assert "sub-02: FAILED: sub-02 has no T1w image in its anat folder" in result.err
    assert "has no T1w image" in (out / "sub-02" / "error.txt").read_text()
    assert (out / "summary.tsv").read_text().splitlines()[1].startswith("sub-02\tfailed\t")
