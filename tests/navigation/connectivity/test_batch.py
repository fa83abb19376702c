"""Many subjects: local processes and a local Dask cluster give the same targets; a failing subject
does not stop the batch; outputs appear whole or not at all; the figure keeps left on the left."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from tests.navigation.connectivity.cli_data import one_clear_line, private_cache, run_cli, target_json  # noqa: F401
from tmsnav.navigation.connectivity import outputs
from tmsnav.navigation.connectivity.sample_run import write_sample_dataset
from tmsnav.navigation.transforms import Frame

SUBJECTS = ("01", "02", "03")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch-bids")
    truths = write_sample_dataset(root, SUBJECTS, variant="fmriprep", n_volumes=150, voxel_mm=3.0, seed=2)
    return root, truths


def _targets(out):
    return {lab: np.array(target_json(out / f"sub-{lab}")["target_mri_mm"]) for lab in SUBJECTS}


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_local_processes_and_dask_give_the_same_targets(capsys, tmp_path, dataset, private_cache):  # noqa: F811
    from distributed import LocalCluster

    root, truths = dataset
    local = run_cli(capsys, "connectivity", root, "--participant-label", *SUBJECTS, "--jobs", "2",
                    "-o", tmp_path / "local")
    assert local.code == 0, local.err
    assert "3 run(s) on 2 local process(es)" in local.err
    found = _targets(tmp_path / "local")
    for lab in SUBJECTS:     # each subject's own planted target (they differ by a few mm): no mix-up
        distances = {other: np.linalg.norm(found[lab] - truths[other].target_mri_mm) for other in SUBJECTS}
        assert distances[lab] < 5.0 and min(distances, key=distances.__getitem__) == lab, (lab, distances)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        dask = run_cli(capsys, "connectivity", root, "--participant-label", *SUBJECTS,
                       "--scheduler", cluster.scheduler_address, "-o", tmp_path / "dask")
    finally:
        cluster.close()
    assert dask.code == 0, dask.err
    assert "on the Dask cluster at tcp://" in dask.err
    on_dask = _targets(tmp_path / "dask")
    for lab in SUBJECTS:
        assert np.allclose(on_dask[lab], found[lab], atol=1e-6), lab
    summary = (tmp_path / "dask" / "summary.tsv").read_text().splitlines()
    assert [row.split("\t")[:2] for row in summary[1:]] == [[f"sub-{lab}", "ok"] for lab in SUBJECTS]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_failing_subject_does_not_stop_the_batch(capsys, tmp_path, dataset, private_cache):  # noqa: F811
    root, truths = dataset
    confounds = truths["02"].confounds_path
    original = confounds.read_text()
    try:
        confounds.write_text("\n".join(original.splitlines()[:60]) + "\n")      # 59 rows for 150 volumes
        out = tmp_path / "out"
        (out / "sub-02").mkdir(parents=True)
        (out / "sub-02" / "target.json").write_text("{}")                     # from an older run
        result = run_cli(capsys, "connectivity", root, "--participant-label", "sub-01", "02", "--jobs", "1",
                         "-o", out)
    finally:
        confounds.write_text(original)
    assert result.code == 1
    assert "sub-01: target mri" in result.out
    assert "sub-02: FAILED:" in result.err and "59" in result.err
    assert "1 of 2 run(s) gave a target; failed: sub-02" in result.err
    assert (out / "sub-01" / "target.json").exists()
    assert "59" in (out / "sub-02" / "error.txt").read_text()
    assert not (out / "sub-02" / "target.json").exists(), "a stale target must not survive a failed rerun"
    rows = [row.split("\t") for row in (out / "summary.tsv").read_text().splitlines()]
    assert rows[0][:2] == ["participant_id", "status"]
    assert [r[:2] for r in rows[1:]] == [["sub-01", "ok"], ["sub-02", "failed"]]


def test_unreachable_scheduler_is_one_line(capsys, tmp_path, dataset):
    root, _ = dataset
    result = run_cli(capsys, "connectivity", root, "--participant-label", "01", "--scheduler", "tcp://127.0.0.1:9",
                     "-o", tmp_path / "o")
    assert result.code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in one_clear_line(result.err.split("\n", 1)[1])


class _FakeResult:
    def to_json_dict(self):
        return {"target_mri_mm": [1.0, 2.0, 3.0]}

    def map_image(self):
        import nibabel as nib
        return nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4))


def test_outputs_appear_whole_or_not_at_all(tmp_path, monkeypatch):
    final = tmp_path / "sub-01"

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(outputs, "render_figure", broken)
    with pytest.raises(OSError, match="disk full"):
        outputs.write_outputs(_FakeResult(), final)
    assert list(tmp_path.iterdir()) == []                   # no folder, no .partial leftovers
    final.mkdir()
    (final / "target.json").write_text('{"old": true}')
    with pytest.raises(OSError):
        outputs.write_outputs(_FakeResult(), final)
    assert json.loads((final / "target.json").read_text()) == {"old": True}   # the old result untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub-01"]
    outputs.write_error(final, "the run is too short:\n40 volumes")
    assert sorted(p.name for p in final.iterdir()) == ["error.txt"]
    assert (final / "error.txt").read_text() == "the run is too short: 40 volumes\n"


def _lr_result(flip: bool) -> SimpleNamespace:
    """A map with a blue cluster at the target (mri x = -30, patient's left) and a red blob at
    x = +30 (right), on a 3 mm grid stored RAS, or LAS (voxel x reversed) when ``flip``."""
    shape = (50, 50, 50)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = [-73.5, -73.5, -73.5]
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = ijk * 3.0 + affine[:3, 3]
    r = np.full(len(xyz), np.nan)
    left = np.linalg.norm(xyz - [-30, 0, 0], axis=1) < 8
    right = np.linalg.norm(xyz - [30, 0, 0], axis=1) < 8
    r[left], r[right] = -0.8, 0.8
    search = (left | right).reshape(shape)
    maps = [r.reshape(shape), search, left.reshape(shape)]
    if flip:
        maps = [m[::-1] for m in maps]
        affine = affine @ np.array([[-1, 0, 0, shape[0] - 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], float)
    return SimpleNamespace(target_mri_mm=np.array([-30.0, 0, 0]), target_mni_mm=np.array([-30.0, 0, 0]),
                           correlation_map=maps[0], search_mask=maps[1], cluster_mask=maps[2], space_from_voxel=affine,
                           space=Frame.MRI, correlation_at_target=-0.8, cluster_voxels=int(left.sum()),
                           stability_mm=1.0, warnings=[])


@pytest.mark.safety(hazard="left-right", control="the connectivity figure draws the patient's left on the "
                    "left of the axial and coronal panels, labelled L/R, whatever the run's voxel order")
@pytest.mark.parametrize("flip", [False, True])
def test_figure_keeps_the_patients_left_on_the_left(tmp_path, flip):
    from matplotlib.image import imread

    path = outputs.render_figure(_lr_result(flip), tmp_path / "figure.png")
    rgb = imread(str(path))[..., :3]
    height, width = rgb.shape[:2]
    axial = rgb[:, : int(0.31 * width)]                       # the first panel
    red = axial[..., 0] - axial[..., 2] > 0.15              # RdBu_r: r > 0 red, r < 0 blue
    blue = axial[..., 2] - axial[..., 0] > 0.15
    assert red.sum() > 50 and blue.sum() > 50
    red_x = np.nonzero(red)[1].mean()
    blue_x = np.nonzero(blue)[1].mean()
    assert blue_x < red_x, "the left cluster (blue) must be drawn left of the right blob (red)"
