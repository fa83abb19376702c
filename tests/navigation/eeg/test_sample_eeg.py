"""The sample EEG: a valid EDF+ (two independent readers agree byte for byte in value), and the
planted findings and artefacts are where its truth says, measured here with plain scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt, welch

from tmsnav.navigation.eeg.readers import read_eeg
from tmsnav.navigation.eeg.sample_eeg import CHANNELS_1020, write_sample_eeg


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("eeg") / "sample.edf"
    return write_sample_eeg(path, minutes=3, seed=4)


def test_mne_and_edfio_read_the_same_file(sample):
    import edfio
    import mne

    raw = mne.io.read_raw_edf(sample.path, preload=True, verbose=False)
    edf = edfio.read_edf(sample.path)
    labels = [s.label for s in edf.signals]
    assert labels == raw.ch_names == [sample.labels[c] for c in CHANNELS_1020] + ["ECG"]
    for i, sig in enumerate(edf.signals):
        assert sig.sampling_frequency == raw.info["sfreq"] == 256
        assert sig.physical_dimension == "uV"
        np.testing.assert_allclose(sig.data * 1e-6, raw.get_data()[i], rtol=0, atol=1e-12)
    ann_edfio = [(a.onset, a.text) for a in edf.annotations]
    ann_mne = [(float(o), d) for o, d in zip(raw.annotations.onset, raw.annotations.description)]
    assert ann_edfio == ann_mne == [(a, d) for a, _, d in sample.annotations]


def test_header_is_anonymous_edf_plus(sample):
    head = sample.path.read_bytes()[:256]
    assert head[:8] == b"0       "
    assert head[8:88].strip() == b"X X X X"                        # EDF+ anonymous patient
    assert head[88:88 + 9] == b"Startdate"
    assert head[192:197] == b"EDF+C"
    assert int(head[236:244]) == 180 and float(head[244:252]) == 1.0


def test_reader_maps_the_old_labels(sample):
    rec = read_eeg(sample.path)
    assert rec.channels == CHANNELS_1020
    assert rec.original_names["T7"] == "EEG T3-REF" and rec.original_names["P8"] == "EEG T6-REF"
    assert rec.dropped_channels == {"ECG": "not EEG (ECG)"}
    assert rec.conditions == sample.conditions
    assert rec.file_format == "EDF+"


def _ec(rec, name):
    x = rec.channel(name)
    parts = [x[int(a * 256) + 256:int(b * 256) - 256] for a, b in rec.conditions["eyes_closed"]]
    return np.concatenate(parts)


def _band(f, p, lo, hi):
    m = (f >= lo) & (f < hi)
    return float(np.trapezoid(p[m], f[m]))


def test_planted_alpha_peak_asymmetry_and_theta(sample):
    rec = read_eeg(sample.path)
    spectra = {ch: welch(_ec(rec, ch), fs=256, nperseg=1024) for ch in ("O1", "F3", "F4", "Cz", "Fp1")}
    f, p_o1 = spectra["O1"]
    m = (f >= 7) & (f <= 14)
    assert abs(f[m][np.argmax(p_o1[m])] - sample.iaf_hz) <= 0.25
    # posterior maximum
    assert _band(f, p_o1, 8, 13) > 3 * _band(*spectra["F3"], 8, 13)
    faa = np.log(_band(*spectra["F4"], 8, 13)) - np.log(_band(*spectra["F3"], 8, 13))
    assert sample.expected_faa_f4_f3 < 0 and faa < 0
    assert faa == pytest.approx(sample.expected_faa_f4_f3, abs=0.2)
    tbr = _band(*spectra["Cz"], 4, 8) / _band(*spectra["Cz"], 13, 21)
    assert tbr == pytest.approx(sample.expected_tbr_cz["13-21"], rel=0.25)
    assert tbr > 3 * (_band(*spectra["O1"], 4, 8) / _band(*spectra["O1"], 13, 21))


def test_planted_artefacts_are_at_the_truth_times(sample):
    rec = read_eeg(sample.path)
    fp1 = rec.channel("Fp1") * 1e6
    assert sample.blinks and all(any(a <= s <= b for a, b in sample.conditions["eyes_open"])
                                 for s, _ in sample.blinks)
    for a, b in sample.blinks:
        seg = fp1[int(a * 256):int(b * 256)]
        assert seg.max() - np.median(fp1) > 150
    sos = butter(4, [60, 90], btype="bandpass", fs=256, output="sos")    # above the 50 Hz line
    for a, b, side in sample.muscle_bursts:
        hf = sosfiltfilt(sos, rec.channel(side))
        typical = np.median(np.abs(hf))
        assert np.median(np.abs(hf[int(a * 256):int(b * 256)])) > 4 * typical


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    a = write_sample_eeg(tmp_path / "a.edf", minutes=1, seed=1)
    b = write_sample_eeg(tmp_path / "b.edf", minutes=1, seed=1)
    c = write_sample_eeg(tmp_path / "c.edf", minutes=1, seed=2)
    assert a.path.read_bytes() == b.path.read_bytes() != c.path.read_bytes()
    assert a.muscle_bursts == b.muscle_bursts != c.muscle_bursts


def test_other_line_frequency_and_iaf(tmp_path):
    s = write_sample_eeg(tmp_path / "us.edf", minutes=2, seed=3, line_hz=60.0, iaf_hz=11.0)
    rec = read_eeg(s.path)
    f, p = welch(_ec(rec, "O2"), fs=256, nperseg=1024)
    m = (f >= 7) & (f <= 14)
    assert abs(f[m][np.argmax(p[m])] - 11.0) <= 0.25
    assert p[np.argmin(np.abs(f - 60))] > 10 * p[np.argmin(np.abs(f - 56))]
