"""IAF from the aperiodic-corrected spectrum vs the plain peak pick, on planted peaks.

The synthetic channels' spectra are known exactly (1/f^slope background + a Gaussian alpha peak
centred on the planted IAF; tmsnav.navigation.eeg.synthetic). Five posterior channels,
independent noise, 3 minutes.
"""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.navigation.eeg.synthetic import ChannelSpec, Peak, make_clean
from tmsnav.navigation.eeg.iaf import individual_alpha_frequency
from tmsnav.navigation.eeg.measures import compute_measures
from tmsnav.navigation.eeg.spectra import epoch_psd

POSTERIOR = ("O1", "O2", "Pz", "P3", "P4")


def planted(iaf: float, slope: float, alpha_v2: float = 5e-12, sd: float = 0.8, seconds: float = 180.0,
            seed: int = 0, condition: str = "eyes_closed", extra: tuple[str, ...] = ()):
    specs = {c: ChannelSpec(slope=slope, peaks=[Peak(iaf, alpha_v2, sd)]) for c in POSTERIOR}
    specs.update({c: ChannelSpec(slope=slope) for c in extra})
    clean = make_clean(specs, duration_s=seconds, seed=seed, condition=condition)
    f, p = epoch_psd(clean.epochs_v, clean.sfreq_hz)
    return individual_alpha_frequency(f, p, clean.channels, condition)


@pytest.mark.slow
@pytest.mark.parametrize("slope", [1.0, 2.0, 2.5])
def test_planted_iaf_found_within_a_quarter_hz_at_0p1_hz_steps(slope):
    errors = []
    for k, iaf in enumerate(np.arange(8.0, 12.01, 0.1 if slope == 2.0 else 0.5)):
        r = planted(float(iaf), slope, seed=k + int(10 * slope))
        errors.append(r.iaf_hz - iaf)
    assert np.max(np.abs(errors)) <= 0.25, np.round(errors, 3)
    assert abs(np.mean(errors)) < 0.05                    # no bias


def test_plain_peak_pick_is_biased_low_by_the_1_over_f_slope_and_the_corrected_iaf_is_not():
    """A weak, broad alpha peak (as in drowsy or older patients) on a steep background."""
    pick, ours = {}, {}
    for slope in (1.0, 2.5):
        r = [planted(iaf, slope, alpha_v2=3e-12, sd=1.0, seed=k) for k, iaf in enumerate((9.0, 10.0, 11.0))]
        pick[slope] = np.mean([x.peak_pick_hz - iaf for x, iaf in zip(r, (9.0, 10.0, 11.0))])
        ours[slope] = np.mean([x.iaf_hz - iaf for x, iaf in zip(r, (9.0, 10.0, 11.0))])
    assert pick[2.5] < -1.0                      # read far too low on the steep background
    assert pick[2.5] < pick[1.0] - 0.5           # and the bias grows with the slope
    assert abs(ours[1.0]) < 0.1 and abs(ours[2.5]) < 0.1


def test_both_values_are_reported_per_channel_and_in_the_json():
    from tmsnav.navigation.eeg.synthetic import clean_from_signals  # noqa: F401 (same helpers)
    specs = {c: ChannelSpec(slope=1.5, peaks=[Peak(10.2, 5e-12, 0.8)]) for c in POSTERIOR + ("F3", "F4", "Cz")}
    m = compute_measures(make_clean(specs, duration_s=120))
    d = m.to_json_dict()
    assert abs(d["iaf_hz"] - 10.2) <= 0.25 and d["iaf_peak_pick_hz"] is not None
    assert [c["channel"] for c in d["iaf_per_channel"]] == ["O1", "O2", "Pz", "P3", "P4"]
    assert all(c["aperiodic_exponent"] == pytest.approx(1.5, abs=0.25) for c in d["iaf_per_channel"])
    assert "FOOOF" in d["iaf_method"]


@pytest.mark.parametrize("seconds, seed", [(60, 0), (120, 1), (120, 2), (300, 3)])
def test_no_alpha_peak_gives_no_iaf_and_says_why(seconds, seed):
    """Noise bumps on a pure 1/f background are not taken for alpha (FOOOF alone finds some)."""
    specs = {c: ChannelSpec(slope=1.5) for c in POSTERIOR}
    clean = make_clean(specs, duration_s=seconds, seed=seed)
    f, p = epoch_psd(clean.epochs_v, clean.sfreq_hz)
    r = individual_alpha_frequency(f, p, clean.channels)
    assert r.iaf_hz is None
    assert r.peak_pick_hz is not None               # the plain pick always "finds" something: the flaw
    assert any("no alpha peak" in w for w in r.warnings)


def test_a_weak_real_alpha_peak_is_still_found_with_one_minute_of_data():
    specs = {c: ChannelSpec(slope=2.0, peaks=[Peak(10.0, 1.5e-12, 1.0)]) for c in POSTERIOR}
    clean = make_clean(specs, duration_s=60, seed=5)
    f, p = epoch_psd(clean.epochs_v, clean.sfreq_hz)
    r = individual_alpha_frequency(f, p, clean.channels)
    assert r.iaf_hz is not None and abs(r.iaf_hz - 10.0) <= 0.25


def test_no_posterior_channel_gives_no_iaf_with_the_channels_named():
    f = np.arange(0, 128.25, 0.25)
    r = individual_alpha_frequency(f, np.ones((2, f.size)), ["F3", "F4"])
    assert r.iaf_hz is None and "O1, O2" in r.warnings[0]


def test_eyes_open_data_are_flagged():
    r = planted(10.0, 1.5, seconds=120, condition="eyes_open")
    assert r.iaf_hz is not None
    assert any("eyes-open" in w and "eyes-closed rest is preferred" in w for w in r.warnings)
