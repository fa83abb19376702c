"""Seed temporal SNR and the warning thresholds, on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.navigation.connectivity.params import ConnectivityParams
from tmsnav.navigation.connectivity.quality import quality_warnings, seed_tsnr

OK = dict(tsnr=80.0, mean_fd_mm=0.1, scrubbed_fraction=0.02, kept_minutes=8.0, n_kept=240,
          stability_mm=1.0, halves_missing=0, n_constant=0, n_search=1000)


def test_tsnr_is_the_median_voxel_mean_over_detrended_sd():
    rng = np.random.default_rng(0)
    t = 400
    noise = rng.standard_normal((t, 3))
    noise /= noise.std(axis=0, ddof=1)
    drift = np.linspace(0, 50, t)[:, None]                    # removed by the detrend
    raw = np.array([100.0, 200.0, 300.0]) + 10.0 * noise + drift
    kept = np.ones(t, bool)
    # per voxel: mean (100, 200, 300) + 25 (the drift's mean), SD 10 -> tSNR 12.5, 22.5, 32.5
    assert seed_tsnr(raw, kept) == pytest.approx(22.5, rel=0.02)
    assert np.isnan(seed_tsnr(raw - raw.mean(axis=0), kept))       # a demeaned run


def test_no_warning_on_good_numbers():
    assert quality_warnings(ConnectivityParams(), **OK) == []


@pytest.mark.parametrize("change, needle", [
    (dict(tsnr=15.0), "low temporal SNR (15, below 20)"),
    (dict(tsnr=float("nan")), "cannot be measured"),
    (dict(mean_fd_mm=0.3), "mean framewise displacement 0.30 mm (above 0.25 mm)"),
    (dict(scrubbed_fraction=0.25), "25 % of the volumes were scrubbed"),
    (dict(kept_minutes=4.0, n_kept=120), "only 4.0 minutes (120 volumes)"),
    (dict(stability_mm=3.5), "moves 3.5 mm between the first and second half"),
    (dict(halves_missing=1, stability_mm=float("nan")), "stability cannot be measured"),
    (dict(n_constant=4), "4 of 1000 search-region voxels never change"),
])
def test_each_threshold(change, needle):
    warnings = quality_warnings(ConnectivityParams(), **{**OK, **change})
    assert len(warnings) == 1 and needle in warnings[0], warnings


def test_loosening_the_fd_limit_says_the_input_stage_already_dropped_volumes():
    """A plausible mistake: the input stage scrubbed at 0.5 mm, the user sets 1.0 mm here and
    believes those volumes are used again. The warning says how many were not."""
    from types import SimpleNamespace

    from tmsnav.navigation.connectivity.quality import input_scrub_warning

    fd = np.array([np.nan, 0.1, 0.7, 0.2, 0.9, 1.4, 0.1])
    prepared = SimpleNamespace(framewise_displacement_mm=fd, kept_volumes=np.nan_to_num(fd) <= 0.5)
    assert input_scrub_warning(prepared, ConnectivityParams()) == []               # 0.5: same limit
    assert input_scrub_warning(prepared, ConnectivityParams(fd_threshold_mm=0.3)) == []   # tighter
    (warning,) = input_scrub_warning(prepared, ConnectivityParams(fd_threshold_mm=1.0))
    assert warning.startswith("2 volumes with framewise displacement within the 1 mm limit")
