"""Each way a run can be unusable for the method gives its own message, never a bare exception."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tmsnav.navigation.connectivity.method import (ConnectivityError, ConnectivityParams, CoverageError,
                                                   DamagedRunError, compute_connectivity)
from tmsnav.navigation.errors import NavigationError

from tests.navigation.connectivity.synthetic_runs import make_run, prepared_from


@pytest.fixture(scope="module")
def run():
    return make_run(n_volumes=200, seed=2, noise=0.7)


def _crop_z(run, z_lo=None, z_hi=None):
    z = run.affine[2, 2] * np.arange(run.data.shape[2]) + run.affine[2, 3]
    keep = np.ones(len(z), bool)
    if z_lo is not None:
        keep &= z >= z_lo
    if z_hi is not None:
        keep &= z <= z_hi
    k0, k1 = np.nonzero(keep)[0][[0, -1]]
    sl = (slice(None), slice(None), slice(k0, k1 + 1))
    affine = run.affine.copy()
    affine[:3, 3] = run.affine[:3, :3] @ [0, 0, k0] + run.affine[:3, 3]
    cropped = replace(run, data=np.ascontiguousarray(run.data[sl]), affine=affine, brain=run.brain[sl],
                      gm=run.gm[sl], wm=run.wm[sl], csf=run.csf[sl])
    return prepared_from(cropped)


def test_slab_cutting_off_the_sgacc_is_refused_with_the_percentage(run):
    with pytest.raises(CoverageError, match=r"the sgACC seed is only \d+ % inside the run's field of view"):
        compute_connectivity(_crop_z(run, z_lo=-3.0))


def test_slab_clipping_part_of_the_sgacc_warns(run):
    res = compute_connectivity(_crop_z(run, z_lo=-13.0))
    assert 0.5 <= res.seed_fov_coverage < 0.9
    assert any("the sgACC seed is only" in w and "field of view" in w for w in res.warnings)


def test_slab_cutting_off_the_dlpfc_is_refused(run):
    with pytest.raises(CoverageError, match=r"the DLPFC search region is only \d+ %"):
        compute_connectivity(_crop_z(run, z_hi=24.0))


def test_seed_outside_the_brain_mask_is_refused(run):
    p = prepared_from(run)
    brain = p.brain_mask.copy()
    brain[:, :, :24] = False              # a brain mask missing everything below z = 24 mm
    p.brain_mask = brain
    with pytest.raises(CoverageError, match=r"sgACC seed is only \d+ % inside the run's brain mask"):
        compute_connectivity(p)


def test_nan_voxels_inside_the_brain_are_refused_with_their_count(run):
    data = run.data.copy()
    res_mask = compute_connectivity(prepared_from(run), ConnectivityParams(null_surrogates=9, alpha=1.0)).search_mask
    vox = np.argwhere(res_mask)[:5]
    data[tuple(vox.T) + (10,)] = np.nan
    with pytest.raises(DamagedRunError, match="^5 voxels inside the brain mask are NaN"):
        compute_connectivity(prepared_from(run, data=data))


def test_nan_outside_the_brain_is_zeroed_like_nilearn(run):
    data = run.data.copy()
    data[~run.brain] = np.nan
    a = compute_connectivity(prepared_from(run), ConnectivityParams(null_surrogates=9, alpha=1.0))
    b = compute_connectivity(prepared_from(run, data=data), ConnectivityParams(null_surrogates=9, alpha=1.0))
    np.testing.assert_allclose(a.correlation_map, b.correlation_map, atol=1e-12, equal_nan=True)


def test_confounds_without_motion_parameters_are_refused(run):
    p = prepared_from(run)
    p.confound_names = ["a", "b", "c", "d", "e", "f"]
    with pytest.raises(ConnectivityError, match="lack the motion parameters trans_x"):
        compute_connectivity(p)


def test_missing_tissue_signal_without_a_mask_is_refused(run):
    p = prepared_from(run)
    p.csf_mask = None
    with pytest.raises(DamagedRunError, match="no csf column and the run has no csf mask"):
        compute_connectivity(p)


@pytest.mark.parametrize("kw, needle", [
    (dict(method="centroid"), "method must be one of"),
    (dict(band_hz=(0.1, 0.01)), "low < high"),
    (dict(seed_radius_mm=0.0), "seed_radius_mm"),
    (dict(percentile=0.0), "percentile"),
    (dict(seed_mni_mm=(1, 2)), "three MNI coordinates"),
])
def test_bad_parameters_are_refused(kw, needle):
    with pytest.raises(ConnectivityError, match=needle):
        ConnectivityParams(**kw)


def test_params_round_trip_and_unknown_keys():
    p = ConnectivityParams(method="peak", percentile=5.0, seed_radius_mm=8.0)
    assert ConnectivityParams.from_dict(p.to_dict()) == p
    with pytest.raises(ConnectivityError, match="unknown connectivity parameters: radius"):
        ConnectivityParams.from_dict({"radius": 3})
    assert issubclass(ConnectivityError, NavigationError)


def test_tr_in_milliseconds_is_refused(run):
    p = prepared_from(run)
    p.tr_s = 2000.0                      # a header TR in ms read as seconds
    with pytest.raises(ConnectivityError, match="above the Nyquist frequency .* of a 2000 s TR"):
        compute_connectivity(p)


@pytest.mark.safety(hazard="units",
                    control="a run whose affine is in metres (or any grid that does not image the "
                            "MNI seed and search spheres) is refused with the share of the seed imaged, "
                            "never given a target")
def test_grid_in_metres_is_refused(run):
    affine = run.affine.copy()
    affine[:3] /= 1000.0
    with pytest.raises(CoverageError, match=r"sgACC seed is only 0 % inside the run's field of view"):
        compute_connectivity(prepared_from(run, affine=affine))
