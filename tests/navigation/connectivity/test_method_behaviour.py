"""The method on runs with a known answer: the planted cluster is found, and every warning fires
on data made to trigger it and not on clean data."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import pyvista as pv

from tmsnav.navigation.connectivity.method import (ConnectivityParams, NoClusterError,
                                                   compute_connectivity)
from tmsnav.navigation.targeting.literature import get

from tests.navigation.connectivity.synthetic_runs import make_run, prepared_from

CLEAN = dict(n_volumes=240, seed=2, noise=0.7)


def _run_and_result(**kw):
    run = make_run(**{**CLEAN, **kw})
    return run, compute_connectivity(prepared_from(run))


@pytest.fixture(scope="module")
def clean():
    return _run_and_result()


def test_cluster_method_finds_the_planted_cluster_with_no_warning(clean):
    run, res = clean
    assert np.linalg.norm(res.target_mni_mm - run.planted_mni) < 3.0
    assert res.target_mni_mm[0] < 0                      # left DLPFC
    assert res.correlation_at_target < -0.5
    assert res.cluster_voxels > 20
    assert res.cluster_volume_mm3 == pytest.approx(res.cluster_voxels * 27.0)
    assert res.p_value <= 0.05
    assert res.stability_mm < 3.0
    assert len(res.split_targets_mri_mm) == 2 and len(res.block_distances_mm) == 3
    assert res.warnings == []
    assert res.cluster_mask.sum() == res.cluster_voxels
    assert not np.any(res.cluster_mask & ~res.search_mask)
    assert np.all(res.correlation_map[res.cluster_mask] < 0)


def test_peak_method_lands_in_the_planted_cluster():
    run = make_run(**CLEAN)
    res = compute_connectivity(prepared_from(run), ConnectivityParams(method="peak"))
    assert res.cluster_voxels == 1
    assert np.linalg.norm(res.target_mni_mm - run.planted_mni) < 9.0   # the planted radius
    assert res.correlation_at_target == pytest.approx(np.nanmin(res.correlation_map))


def test_no_anticorrelation_means_no_cluster_survives():
    run = make_run(**{**CLEAN, "coupling": 0.0})
    with pytest.raises(NoClusterError, match="no cluster survives.*p = "):
        compute_connectivity(prepared_from(run))


@pytest.mark.parametrize("kw, needle", [
    (dict(seed_baseline=60.0), "low temporal SNR"),
    (dict(motion_mm=0.065), "mean framewise displacement"),
    (dict(spikes=40), "were scrubbed for motion"),
    (dict(unstable=True), "between the first and second half"),
    (dict(n_volumes=120), "minutes (120 volumes)"),
])
def test_each_warning_fires_on_data_made_to_trigger_it(kw, needle):
    _, res = _run_and_result(**kw)
    assert any(needle in w for w in res.warnings), res.warnings


def test_constant_voxels_are_left_out_and_counted(clean):
    run, _ = clean
    data = run.data.copy()
    search_vox = np.argwhere(clean[1].search_mask)[:7]
    data[tuple(search_vox.T)] = 1000.0
    res = compute_connectivity(prepared_from(run, data=data))
    assert np.all(np.isnan(res.correlation_map[tuple(search_vox.T)]))
    assert any(w.startswith("7 of ") and "never change" in w for w in res.warnings)


def test_outputs_json_nifti_and_target(clean, tmp_path):
    run, res = clean
    d = json.loads(json.dumps(res.to_json_dict()))
    assert d["target_mri_mm"] == pytest.approx(list(res.target_mri_mm))
    assert d["target_mni_mm"] == pytest.approx(list(res.target_mni_mm))
    for key in ("correlation", "cluster_voxels", "stability_mm", "warnings", "params", "version",
                "pipeline", "steps"):
        assert key in d
    assert ConnectivityParams.from_dict(d["params"]) == res.params
    path = tmp_path / "map.nii.gz"
    nib.save(res.map_image(), path)
    back = nib.load(path)
    assert np.allclose(back.affine, run.affine)
    assert int(back.header["sform_code"]) == 4               # MNI
    m = np.asarray(back.dataobj)
    np.testing.assert_array_equal(np.isnan(m), ~res.search_mask)
    fox, f3 = get("fox2012").mni_mm, get("avg_f3").mni_mm
    assert res.distance_to_mni_mm(fox) == pytest.approx(np.linalg.norm(res.target_mni_mm - fox))
    scalp = pv.ParametricEllipsoid(80, 92, 76).translate((0, 15, 15), inplace=False).triangulate()
    target = res.to_target(scalp)
    assert target.source == "connectivity"
    np.testing.assert_allclose(target.cortex_point_mm, res.target_mri_mm)
    assert 5.0 < target.depth_mm < 40.0
    assert target.normal @ (res.target_mri_mm - target.scalp_point_mm) > 0      # into the head
    why = target.evidence.why
    assert f"r = {res.correlation_at_target:.2f}" in why and f"cluster {res.cluster_voxels} voxels" in why
    assert f"{res.distance_to_mni_mm(fox):.0f} mm from the Fox 2012 group target" in why
    assert f"{res.distance_to_mni_mm(f3):.0f} mm from the average F3 site" in why
    assert "Cash" in target.evidence.citation and "Fox" in target.evidence.citation


def test_progress_and_cancel(clean):
    from tmsnav.navigation.errors import Cancelled
    from tmsnav.navigation.progress import CancelToken

    run, _ = clean
    seen: list[float] = []
    token = CancelToken()

    def progress(f, msg):
        seen.append(f)
        if len(seen) == 3:
            token.cancel()
    with pytest.raises(Cancelled):
        compute_connectivity(prepared_from(run), progress=progress, cancel=token)
    calls = []
    with pytest.raises(Cancelled):
        compute_connectivity(prepared_from(run), cancel=lambda: calls.append(1) or len(calls) > 2)
    assert seen == sorted(seen)
