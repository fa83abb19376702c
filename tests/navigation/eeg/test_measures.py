"""Band powers, FAA, TBR and z-scores against computations written here, and against physics.

Two independent references: (1) ``scipy.signal.welch`` on the same epochs with the band integral
done by adaptive quadrature of the interpolated PSD (not the module's trapezoid), and (2)
sinusoids of known amplitude, whose power is A²/2 whatever the spectral method.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, signal

from tmsnav.navigation.eeg.synthetic import ChannelSpec, Peak, clean_from_signals, make_clean
from tmsnav.navigation.eeg.measures import compute_measures
from tmsnav.navigation.eeg.spectra import Bands, BandError, band_power, epoch_psd

FS = 256.0
CH19 = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
        "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]


def reference_band_power(clean, ch: str, lo: float, hi: float) -> float:
    """Independent: scipy's Welch per epoch, then quadrature of the linearly interpolated PSD."""
    i = clean.channels.index(ch)
    f, p = signal.welch(clean.epochs_v[:, i, :], fs=FS, window="hann", nperseg=clean.epochs_v.shape[2],
                        noverlap=0, nfft=int(4 * FS), axis=-1)
    psd = p.mean(axis=0)
    value, _ = integrate.quad(lambda x: np.interp(x, f, psd), lo, hi, limit=400, points=f[(f > lo) & (f < hi)][:300])
    return float(value)


@pytest.fixture(scope="module")
def nineteen() -> object:
    rng = np.random.default_rng(3)
    specs = {}
    for ch in CH19:
        peaks = [Peak(rng.uniform(9, 11), rng.uniform(2, 20) * 1e-12, 0.8),
                 Peak(6.0, rng.uniform(1, 8) * 1e-12, 0.7), Peak(18.0, rng.uniform(0.5, 3) * 1e-12, 1.5)]
        specs[ch] = ChannelSpec(slope=rng.uniform(1.0, 2.0), aperiodic_at_10hz_v2_per_hz=rng.uniform(0.5, 2) * 1e-12,
                                peaks=peaks)
    return make_clean(specs, duration_s=120, seed=4)


def test_band_powers_equal_an_independent_scipy_welch_within_1_percent(nineteen):
    m = compute_measures(nineteen)
    for ch in CH19:
        for band, (lo, hi) in m.bands_hz.items():
            ref = reference_band_power(nineteen, ch, lo, hi)
            assert m.band_power_abs[ch][band] == pytest.approx(ref, rel=0.01), (ch, band)
        total = reference_band_power(nineteen, ch, 1.0, 45.0)
        assert m.band_power_rel[ch]["alpha"] == pytest.approx(reference_band_power(nineteen, ch, 8, 13) / total,
                                                              rel=0.01)
        # µV² helper: 1e12 times the V² value
        assert m.band_power_abs_uv2[ch]["theta"] == pytest.approx(1e12 * m.band_power_abs[ch]["theta"])


def test_faa_equals_independent_computation_and_has_the_planted_sign(nineteen):
    m = compute_measures(nineteen)
    ref = np.log(reference_band_power(nineteen, "F4", 8, 13)) - np.log(reference_band_power(nineteen, "F3", 8, 13))
    assert m.faa_f4_f3 == pytest.approx(ref, rel=0.01, abs=1e-3)
    ref87 = np.log(reference_band_power(nineteen, "F8", 8, 13)) - np.log(reference_band_power(nineteen, "F7", 8, 13))
    assert m.faa_f8_f7 == pytest.approx(ref87, rel=0.01, abs=1e-3)


def sinusoids(amplitudes: dict[str, list[tuple[float, float]]], seconds: float = 120.0,
              noise_v: float = 0.2e-6) -> object:
    """Channels made of sinusoids (freq Hz, amplitude V) + a little white noise."""
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * FS)) / FS
    data = np.stack([sum((a * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for f, a in waves), np.zeros_like(t))
                     + rng.normal(0, noise_v, t.size) for waves in amplitudes.values()])
    return clean_from_signals(data, list(amplitudes), FS)


def test_a_sinusoid_has_band_power_amplitude_squared_over_two():
    a = 20e-6
    m = compute_measures(sinusoids({"O1": [(10.3, a)], "O2": [(10.3, a / 2)], "Cz": [(6.2, a)]}))
    noise_band = 0.2e-6 ** 2 / (FS / 2) * 5.0          # white noise's share of 5 Hz of band
    assert m.band_power_abs["O1"]["alpha"] - noise_band == pytest.approx(a ** 2 / 2, rel=0.01)
    assert m.band_power_abs["O2"]["alpha"] - noise_band == pytest.approx(a ** 2 / 8, rel=0.01)
    assert m.band_power_abs_uv2["O1"]["alpha"] == pytest.approx(200.0, rel=0.01)     # (20 µV)² / 2
    assert m.band_power_abs["Cz"]["theta"] == pytest.approx(a ** 2 / 2, rel=0.01)


def test_planted_asymmetry_sign_and_size_and_a_left_right_mixup_flips_it():
    """F3 alpha twice the amplitude of F4 -> FAA = ln(1/4) = -1.386: less left activity."""
    waves = {"F3": [(10.0, 20e-6)], "F4": [(10.0, 10e-6)], "F7": [(10.0, 10e-6)], "F8": [(10.0, 15e-6)],
             "Cz": [(6.0, 10e-6), (17.0, 5e-6)], "Fz": [(6.0, 10e-6), (25.0, 5e-6)]}
    m = compute_measures(sinusoids(waves))
    assert m.faa_f4_f3 == pytest.approx(np.log(0.25), abs=0.01)
    assert m.faa_f8_f7 == pytest.approx(np.log(2.25), abs=0.01)
    swapped = dict(waves)
    swapped["F3"], swapped["F4"] = waves["F4"], waves["F3"]
    assert compute_measures(sinusoids(swapped)).faa_f4_f3 == pytest.approx(-np.log(0.25), abs=0.01)


def test_theta_beta_ratio_band_edges_are_reported_and_change_the_value():
    waves = {"Cz": [(6.0, 12e-6), (17.0, 4e-6)], "Fz": [(6.0, 12e-6), (25.0, 4e-6)], "O1": [(10.0, 5e-6)]}
    low_beta = compute_measures(sinusoids(waves, noise_v=0.05e-6))
    assert low_beta.tbr_cz == pytest.approx(9.0, rel=0.01)           # (12/4)²
    assert low_beta.tbr_band_hz == {"theta": (4.0, 8.0), "beta": (13.0, 21.0)}
    assert low_beta.tbr_fz > 100                                      # 25 Hz beta is outside 13-21 Hz
    broad = compute_measures(sinusoids(waves, noise_v=0.05e-6), tbr_beta_hz=(13.0, 30.0))
    assert broad.tbr_fz == pytest.approx(9.0, rel=0.01)
    assert broad.to_json_dict()["tbr_band_hz"] == {"theta": [4.0, 8.0], "beta": [13.0, 30.0]}


def test_within_subject_zscores_are_across_channels_per_band(nineteen):
    m = compute_measures(nineteen)
    for band in m.bands_hz:
        z = np.array([m.zscores[ch][band] for ch in CH19])
        assert z.mean() == pytest.approx(0.0, abs=1e-9)
        assert z.std(ddof=1) == pytest.approx(1.0)
    rel_theta = {ch: m.band_power_rel[ch]["theta"] for ch in CH19}
    assert max(m.zscores, key=lambda ch: m.zscores[ch]["theta"]) == max(rel_theta, key=rel_theta.get)


def test_consecutive_bands_add_up_to_the_total_and_edges_between_bins_are_interpolated():
    f = np.arange(0, 128.25, 0.25)
    psd = 1.0 / np.maximum(f, 0.25)
    parts = sum(band_power(f, psd, lo, hi) for _, lo, hi in Bands().ranges_hz)
    assert parts == pytest.approx(band_power(f, psd, 1.0, 45.0), rel=1e-12)
    # an edge between bins: the integral of the interpolated PSD, not the nearest bins
    flat = np.ones_like(f)
    assert band_power(f, flat, 8.1, 12.9) == pytest.approx(4.8, rel=1e-12)


def test_missing_or_rejected_frontal_channel_gives_no_faa_with_the_reason(nineteen):
    keep = [c for c in CH19 if c != "F3"]
    clean = clean_from_signals(np.concatenate(list(nineteen.epochs_v[:, [CH19.index(c) for c in keep]]), axis=1),
                               keep, FS)
    clean.bad_channels = {"F3": "flat"}
    m = compute_measures(clean)
    assert m.faa_f4_f3 is None
    assert any("no FAA F4/F3" in w and "F3 rejected: flat" in w for w in m.warnings)
    assert m.faa_f8_f7 is not None


@pytest.mark.parametrize("text, message", [("alpha=13-8", "not a range"), ("gamma=30-80", "outside"),
                                           ("alpha", "name=low-high"), ("a=1-4,a=4-8", "twice")])
def test_impossible_bands_are_refused_with_their_cause(text, message):
    with pytest.raises(BandError, match=message):
        Bands.parse(text)


def test_custom_bands_are_used_and_faa_keeps_its_conventional_band(nineteen):
    m = compute_measures(nineteen, Bands.parse("low_alpha=8-10,high_alpha=10-12"))
    assert set(m.band_power_abs["O1"]) == {"low_alpha", "high_alpha"}
    default = compute_measures(nineteen)
    assert m.faa_f4_f3 == pytest.approx(default.faa_f4_f3)


def test_epoch_psd_refuses_no_epochs():
    from tmsnav.navigation.errors import NavigationError
    with pytest.raises(NavigationError, match="no clean epochs"):
        epoch_psd(np.zeros((0, 19, 512)), FS)


def test_sample_edf_planted_findings(tmp_path):
    """E1's sample recording: IAF within 0.25 Hz, FAA negative and near its planted value, theta excess."""
    from tmsnav.navigation.eeg.cleaning import clean_eeg
    from tmsnav.navigation.eeg.readers import read_eeg
    from tmsnav.navigation.eeg.sample_eeg import write_sample_eeg

    truth = write_sample_eeg(tmp_path / "sample.edf", minutes=5.0, iaf_hz=10.4)
    m = compute_measures(clean_eeg(read_eeg(truth.path)))
    assert abs(m.iaf_hz - 10.4) <= 0.25
    assert m.faa_f4_f3 < 0 and m.faa_f4_f3 == pytest.approx(truth.expected_faa_f4_f3, abs=0.15)
    assert m.faa_f8_f7 < 0
    assert m.tbr_cz > m.tbr_fz * 0.8 and m.tbr_cz == pytest.approx(truth.expected_tbr_cz["13-21"], rel=0.15)
    assert m.zscores["Cz"]["theta"] > 1.5


@pytest.mark.parametrize("fs", [128.0, 500.0, 1000.0])
def test_sampling_rate_does_not_change_the_measures(fs):
    """The same signals (sinusoids + noise) at other sampling rates: same powers, same IAF grid."""
    rng = np.random.default_rng(8)

    def at(rate: float):
        t = np.arange(int(120 * rate)) / rate
        names = ["F3", "F4", "Cz", "Fz", "O1", "O2", "Pz"]
        amp = {"F3": 12e-6, "F4": 8e-6, "Cz": 6e-6, "Fz": 6e-6, "O1": 20e-6, "O2": 20e-6, "Pz": 15e-6}
        data = np.stack([amp[n] * np.sin(2 * np.pi * 10.3 * t) + 4e-6 * np.sin(2 * np.pi * 6.1 * t)
                         + 2e-6 * np.sin(2 * np.pi * 17.2 * t) for n in names])
        data += rng.normal(0, 0.3e-6, data.shape) * np.sqrt(rate / 256.0)     # same noise density
        return compute_measures(clean_from_signals(data, names, rate))

    ref, other = at(256.0), at(fs)
    assert np.allclose(other.freqs_hz[:181], ref.freqs_hz[:181])              # 0.25 Hz grid at every rate
    for ch in ref.channels:
        for band in ("theta", "alpha", "beta"):
            assert other.band_power_abs[ch][band] == pytest.approx(ref.band_power_abs[ch][band], rel=0.01)
    assert other.faa_f4_f3 == pytest.approx(np.log((8 / 12) ** 2), abs=0.01)
    assert other.tbr_cz == pytest.approx(ref.tbr_cz, rel=0.01)


def test_data_in_microvolts_passed_as_volts_is_flagged(nineteen):
    from tmsnav.navigation.eeg.cleaning import CleanEeg
    import dataclasses

    wrong = dataclasses.replace(nineteen, epochs_v=nineteen.epochs_v * 1e6)
    m = compute_measures(wrong)
    assert any("implausible EEG amplitude" in w and "units" in w for w in m.warnings)
    assert not any("implausible" in w for w in compute_measures(nineteen).warnings)
    assert isinstance(wrong, CleanEeg)
