"""The streamed method equals a whole-image nilearn computation written here independently.

The reference loads the whole 4-D run as one NIfTI image, builds its own masks with numpy
(voxel centres within the radii), extracts in float64 with nilearn's maskers (NiftiSpheresMasker for the
seed, NiftiMasker for the search region; both smooth the whole image with ``smooth_array`` and
clean with ``signal.clean``) and correlates with ``np.corrcoef``. The censoring pattern avoids
mirror pairs (volumes p and T-1-p both censored), where nilearn 0.14.1 leaves spikes in
(see test_cleaning.py)."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pytest
from nilearn.maskers import NiftiMasker, NiftiSpheresMasker

from tmsnav.navigation.connectivity.method import compute_connectivity
from tmsnav.navigation.connectivity.params import ConnectivityParams

from tests.navigation.connectivity.synthetic_runs import make_run, prepared_from

CENSORED = [0, 1, 40, 41, 77, 110]


def _reference(run, kept, params):
    """Whole-image nilearn pipeline: (seed time course, r at each search voxel in C order)."""
    img = nib.Nifti1Image(run.data.astype(np.float64), run.affine)   # nilearn keeps float64
    shape = run.data.shape[:3]
    ijk = np.stack(np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"), -1).reshape(-1, 3)
    xyz = (ijk @ run.affine[:3, :3].T + run.affine[:3, 3]).reshape(shape + (3,))
    near = np.zeros(shape, bool)
    for c in params.search_centres_mni_mm:
        near |= np.linalg.norm(xyz - np.array(c), axis=-1) <= params.search_radius_mm
    search = near & run.brain & (run.gm >= params.gm_threshold)
    raw = run.data
    tissue = [raw[m].mean(axis=0, dtype=np.float64) for m in (run.brain, run.wm, run.csf)]
    motion = run.confounds
    deriv = np.vstack([np.zeros((1, 6)), np.diff(motion, axis=0)])
    conf = np.column_stack([motion, deriv] + tissue)
    clean_args = dict(smoothing_fwhm=params.smoothing_fwhm_mm, detrend=True, standardize=None,
                      high_pass=params.band_hz[0], low_pass=params.band_hz[1], t_r=run.tr)
    sample_mask = np.nonzero(kept)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        brain_img = nib.Nifti1Image(run.brain.astype(np.int8), run.affine)
        seed = NiftiSpheresMasker([params.seed_mni_mm], radius=params.seed_radius_mm, mask_img=brain_img,
                                  **clean_args).fit_transform(img, confounds=conf, sample_mask=sample_mask)[:, 0]
        masker = NiftiMasker(mask_img=nib.Nifti1Image(search.astype(np.int8), run.affine), **clean_args)
        vox = masker.fit_transform(img, confounds=conf, sample_mask=sample_mask)
    r = np.array([np.corrcoef(seed, vox[:, j])[0, 1] for j in range(vox.shape[1])])
    return seed, r, search


@pytest.fixture(scope="module")
def run():
    return make_run(160, seed=11)


def _prepared(run):
    prepared = prepared_from(run)
    kept = np.ones(run.data.shape[3], bool)
    kept[CENSORED] = False
    assert not np.any(~kept & ~kept[::-1]), "the pattern must avoid nilearn's mirror-pair bug"
    prepared.kept_volumes = kept
    return prepared, kept


def test_seed_and_map_equal_whole_image_nilearn(run):
    params = ConnectivityParams(null_surrogates=19, alpha=1.0)
    prepared, kept = _prepared(run)
    result = compute_connectivity(prepared, params)
    seed, r, search = _reference(run, kept, params)
    assert np.array_equal(result.search_mask, search)
    assert result.n_volumes_used == kept.sum() == len(seed)
    scale = np.abs(seed).max()
    np.testing.assert_allclose(result.seed_time_course / scale, seed / scale, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.correlation_map[search], r, rtol=0, atol=1e-6)
    assert np.all(np.isnan(result.correlation_map[~search]))


@pytest.mark.parametrize("method", ["cluster", "peak"])
def test_chunk_size_does_not_change_results(run, method):
    params = ConnectivityParams(null_surrogates=19, alpha=1.0, method=method)
    prepared, _ = _prepared(run)
    results = [compute_connectivity(prepared, params, chunk_volumes=c) for c in (1, 7, run.data.shape[3])]
    for other in results[1:]:
        np.testing.assert_allclose(other.seed_time_course, results[0].seed_time_course, rtol=0, atol=1e-12)
        np.testing.assert_allclose(other.correlation_map, results[0].correlation_map, rtol=0, atol=1e-12,
                                   equal_nan=True)
        np.testing.assert_array_equal(other.target_mri_mm, results[0].target_mri_mm)
        assert other.stability_mm == results[0].stability_mm or np.isnan(other.stability_mm)


def test_given_tissue_columns_equal_computed_ones(run):
    """fMRIPrep's global_signal/white_matter/csf columns and the streamed means are the same
    numbers when computed from the same masks (the streamed path is not a different model)."""
    params = ConnectivityParams(null_surrogates=19, alpha=1.0)
    a = compute_connectivity(prepared_from(run), params)
    b = compute_connectivity(prepared_from(run, tissue_columns=True), params)
    np.testing.assert_allclose(a.correlation_map, b.correlation_map, atol=1e-9, equal_nan=True)
    assert any("computed from the masks" in s for s in a.steps)
    assert not any("computed from the masks" in s for s in b.steps)
