"""Cleaning rejects the planted artefacts and (almost) nothing else, keeps the chosen condition,
filters and references as it says, keeps left left, and refuses too little clean data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.signal import welch

from tmsnav.navigation.errors import Cancelled
from tmsnav.navigation.eeg.cleaning import CleaningParams, clean_eeg
from tmsnav.navigation.eeg.readers import EegInputError, read_eeg
from tmsnav.navigation.eeg.sample_eeg import write_sample_eeg
from tmsnav.navigation.progress import CancelToken


@pytest.fixture(scope="module", params=[0, 7])
def sample(request, tmp_path_factory):
    truth = write_sample_eeg(tmp_path_factory.mktemp("eeg") / "s.edf", minutes=5, seed=request.param)
    return truth, read_eeg(truth.path)


def _overlaps(a, b, spans):
    return any(x < b and y > a for x, y, *_ in spans)


def test_every_planted_artefact_is_rejected_and_few_clean_epochs(sample):
    truth, rec = sample
    _check_planted_artefacts(truth, clean_eeg(rec, CleaningParams(condition="all")))


@pytest.mark.parametrize("sfreq", [128, 500])
def test_planted_artefacts_at_other_sampling_rates(tmp_path, sfreq):
    """The windows, the gradient and the muscle band are in seconds and Hz, not samples: the same
    artefacts are found at the lowest rate tmsnav accepts and at a common research rate."""
    truth = write_sample_eeg(tmp_path / "s.edf", minutes=4, seed=3, sfreq_hz=sfreq)
    clean = clean_eeg(read_eeg(truth.path), CleaningParams(condition="all"))
    assert clean.sfreq_hz == sfreq and clean.epochs_v.shape[2] == 2 * sfreq
    _check_planted_artefacts(truth, clean)


def _check_planted_artefacts(truth, clean):
    artefact_rejects = [s for s in clean.rejected_segments
                        if s[2].startswith(("amplitude", "muscle", "gradient"))]
    edges = [r for r in clean.rejected_segments if r[2].startswith("filter edge")]
    for a, b in truth.blinks:                    # the blink's core (±2 sigma) is never kept
        if _overlaps(a, b, edges):
            continue                             # in the filter edge: not an epoch anyway
        assert _overlaps(a + 0.07, b - 0.07, artefact_rejects), (a, b)
        assert not any(s < b - 0.07 and s + 2 > a + 0.07 for s in clean.epoch_starts_s)
        assert any(r[2].startswith("amplitude") and r[2].split(" at ")[1][:3] in ("Fp1", "Fp2")
                   for r in artefact_rejects if r[0] < b and r[1] > a)
    for a, b, side in truth.muscle_bursts:
        # the burst (its tapered first and last 50 ms aside) is in no kept epoch
        assert not any(s < b - 0.05 and s + 2 > a + 0.05 for s in clean.epoch_starts_s), (a, b)
        assert _overlaps(a, b, artefact_rejects)
        reasons = [r[2] for r in artefact_rejects if r[0] < b and r[1] > a]
        if not _overlaps(a - 2, b + 2, [(x - 0.2, y + 0.2) for x, y in truth.blinks]):
            # named at the burst's site: as muscle, or as amplitude when the burst is that large
            assert any(r.startswith(("muscle", "amplitude")) and f" at {side} " in r
                       for r in reasons), reasons
    planted = truth.blinks + [(a, b) for a, b, _ in truth.muscle_bursts]
    falsely = [r for r in artefact_rejects if not _overlaps(r[0], r[1], planted)]
    truly_clean = len(clean.epoch_starts_s) + len(falsely)
    assert len(falsely) < 0.10 * truly_clean, falsely
    assert clean.clean_duration_s == pytest.approx(2.0 * len(clean.epoch_starts_s))


def test_default_keeps_only_eyes_closed_blocks(sample):
    truth, rec = sample
    clean = clean_eeg(rec)
    assert clean.condition == "eyes_closed"
    for s in clean.epoch_starts_s:
        assert any(a <= s and s + 2 <= b for a, b in truth.conditions["eyes_closed"])
    outside = [r for r in clean.rejected_segments if r[2] == "outside eyes-closed"]
    assert [(a, b) for a, b, _ in outside] == truth.conditions["eyes_open"]
    assert clean.epochs_v.shape == (len(clean.epoch_starts_s), 19, 512)
    assert clean.channels == truth.channels and clean.bad_channels == {}
    assert 60 <= clean.clean_duration_s <= 180


def test_filtered_average_referenced_volts(sample):
    truth, rec = sample
    clean = clean_eeg(rec)
    x = clean.epochs_v
    assert np.abs(x.sum(axis=1)).max() < 1e-12                  # average reference
    assert 1e-6 < np.median(x.std(axis=2)) < 1e-4               # volts
    f, p = welch(x[:, clean.channels.index("O1")], fs=256, nperseg=512, axis=-1)
    p = p.mean(axis=0)
    assert p[f == 50][0] < 1e-3 * p[f == 10][0]                 # line removed, alpha kept
    assert "line noise: 50 Hz detected" in " ".join(clean.steps)
    assert clean.notch_hz == 50 and clean.band_hz == (1.0, 45.0)


def test_dc_offset_and_slow_drift_are_filtered_not_rejected(sample):
    """DC-coupled amplifiers record offsets of millivolts and sweat adds slow drifts of hundreds of
    µV: the 1 Hz high-pass removes both, so neither rejects epochs nor reaches the spectra."""
    truth, rec = sample
    t = np.arange(rec.data_v.shape[1]) / 256
    offsets = np.linspace(-20e-3, 20e-3, 19)[:, None]
    drift = 300e-6 * np.sin(2 * np.pi * 0.05 * t)[None, :]
    drifting = dataclasses.replace(rec, data_v=rec.data_v + offsets + drift, physical_range_v={})
    plain, moved = clean_eeg(rec), clean_eeg(drifting)
    assert np.array_equal(plain.epoch_starts_s, moved.epoch_starts_s)
    assert np.abs(moved.epochs_v - plain.epochs_v).max() < 2e-6     # 300 µV drift down to < 2 µV


def test_left_stays_left(sample):
    """The cleaned F3 is F3's signal (not F4's): correlate each cleaned channel with the raw ones."""
    truth, rec = sample
    clean = clean_eeg(rec)
    s0 = int(clean.epoch_starts_s[0] * 256)
    for name in ("F3", "F4", "T7", "T8", "O1", "O2"):
        got = clean.epochs_v[0, clean.channels.index(name)]
        corr = {c: abs(np.corrcoef(got, rec.channel(c)[s0:s0 + 512])[0, 1]) for c in rec.channels}
        assert max(corr, key=corr.get) == name


def test_sixty_hz_line_is_detected(tmp_path):
    truth = write_sample_eeg(tmp_path / "us.edf", minutes=3, seed=2, line_hz=60.0)
    clean = clean_eeg(read_eeg(truth.path), CleaningParams(condition="all"))
    assert clean.notch_hz == 60.0
    assert any(s.startswith("line noise: 60 Hz detected") for s in clean.steps)


def test_too_little_clean_data_says_how_much(tmp_path):
    truth = write_sample_eeg(tmp_path / "short.edf", minutes=2, seed=1)   # 60 s closed, then open
    with pytest.raises(EegInputError) as err:
        clean_eeg(read_eeg(truth.path))
    msg = str(err.value)
    assert "of clean eyes-closed EEG" in msg and "at least 60 s are needed" in msg
    assert msg.startswith("only ") and "epochs of 2 s" in msg


def test_condition_that_the_file_does_not_mark_is_refused(sample):
    truth, rec = sample
    only_open = dataclasses.replace(rec, conditions={"eyes_open": truth.conditions["eyes_open"]})
    with pytest.raises(EegInputError, match="no eyes-closed blocks .* choose that condition"):
        clean_eeg(only_open)


def test_no_markers_uses_everything_and_warns(sample):
    truth, rec = sample
    clean = clean_eeg(dataclasses.replace(rec, conditions={}, annotations=[]))
    assert any("no eyes-closed / eyes-open markers" in w for w in clean.warnings)
    assert clean.epoch_starts_s.max() > truth.conditions["eyes_open"][0][0]


def test_linked_ears_needs_ear_channels(sample):
    truth, rec = sample
    with pytest.raises(EegInputError, match="linked-ears reference needs A1 and A2"):
        clean_eeg(rec, CleaningParams(reference="linked_ears"))


def test_linked_ears_with_a1_a2(sample):
    truth, rec = sample
    rng = np.random.default_rng(0)
    ears = rng.normal(0, 4e-6, (2, rec.data_v.shape[1]))
    with_ears = dataclasses.replace(rec, data_v=np.vstack([rec.data_v, ears]),
                                    channels=rec.channels + ["A1", "A2"])
    lin = clean_eeg(with_ears, CleaningParams(reference="linked_ears"))
    avg = clean_eeg(with_ears)
    assert lin.channels == avg.channels == truth.channels           # ears are not scalp sites
    assert any("linked-ears reference (A1+A2)/2" in s for s in lin.steps)
    # linked ears minus average reference differs by one common signal per sample
    diff = lin.epochs_v[0] - avg.epochs_v[0]
    assert np.allclose(diff, diff[0], atol=1e-12)
    assert np.abs(lin.epochs_v[0].sum(axis=0)).max() > 1e-7          # not an average reference


def test_gradient_pop_is_rejected(sample):
    """A one-sample electrode pop of 250 µV: under the amplitude limit once low-passed, caught by
    the gradient criterion on the recorded samples."""
    truth, rec = sample
    data = rec.data_v.copy()
    t_pop = truth.conditions["eyes_closed"][1][0] + 20.3
    i = int(t_pop * 256)
    data[rec.channels.index("C3"), i] += 250e-6
    clean = clean_eeg(dataclasses.replace(rec, data_v=data))
    hit = [r for r in clean.rejected_segments if r[0] <= t_pop < r[1]]
    assert hit and hit[0][2].startswith("gradient") and " at C3 " in hit[0][2]


def test_cancel_stops_and_progress_is_reported(sample):
    truth, rec = sample
    seen = []
    token = CancelToken()

    def progress(fraction, message):
        seen.append(fraction)
        if fraction > 0.3:
            token.cancel()

    with pytest.raises(Cancelled):
        clean_eeg(rec, progress=progress, cancel=token)
    assert seen and seen == sorted(seen)


@pytest.mark.parametrize("kwargs, needle", [
    ({"condition": "closed"}, "unknown condition"), ({"reference": "Cz"}, "unknown reference"),
    ({"band_hz": (1.0, 200.0)}, "below the Nyquist"), ({"notch_hz": 150.0}, "above the Nyquist")])
def test_bad_parameters(sample, kwargs, needle):
    truth, rec = sample
    with pytest.raises(EegInputError, match=needle):
        clean_eeg(rec, CleaningParams(**kwargs))


def test_a_band_reaching_over_the_line_gets_a_notch(sample):
    """With a 1-70 Hz band the 50 Hz line is inside it: a separate notch filter removes it."""
    truth, rec = sample
    clean = clean_eeg(rec, CleaningParams(band_hz=(1.0, 70.0)))
    assert "notch 50 Hz" in clean.steps
    f, p = welch(clean.epochs_v[:, clean.channels.index("Cz")], fs=256, nperseg=512, axis=-1)
    p = p.mean(axis=0)
    assert p[f == 50][0] < 0.5 * p[(f == 48) | (f == 52)].mean()       # unfiltered: ~30x above


def test_missing_values_are_refused(sample):
    truth, rec = sample
    data = rec.data_v.copy()
    data[3, 1000:1010] = np.nan
    with pytest.raises(EegInputError, match="missing values"):
        clean_eeg(dataclasses.replace(rec, data_v=data))


def test_linked_ears_with_a_dead_ear_is_refused(sample):
    truth, rec = sample
    ears = np.vstack([np.random.default_rng(1).normal(0, 4e-6, rec.data_v.shape[1]),
                      np.zeros(rec.data_v.shape[1])])
    with_ears = dataclasses.replace(rec, data_v=np.vstack([rec.data_v, ears]),
                                    channels=rec.channels + ["A1", "A2"])
    with pytest.raises(EegInputError, match="linked-ears reference: A2 is bad .flat"):
        clean_eeg(with_ears, CleaningParams(reference="linked_ears"))


def test_average_of_few_channels_is_warned(sample):
    truth, rec = sample
    keep = [rec.channels.index(c) for c in ("Fp1", "Fp2", "F3", "F4", "Fz", "C3", "C4", "Cz",
                                            "P3", "P4", "Pz", "O1", "O2")]
    few = dataclasses.replace(rec, data_v=rec.data_v[keep], channels=[rec.channels[i] for i in keep])
    clean = clean_eeg(few)
    assert any("average reference over only 13 channels" in w for w in clean.warnings)
    assert not any("average reference over only" in w for w in clean_eeg(rec).warnings)


def test_spans_the_file_marks_bad_and_data_joins_are_rejected(sample, tmp_path):
    """Someone already marked a movement as BAD_ in MNE, and EEGLAB joined two cut pieces at a
    'boundary': epochs over either are not used, with the file's own words as the reason."""
    truth, rec = sample
    block = truth.conditions["eyes_closed"][1]
    t_bad, t_join = block[0] + 10.0, block[0] + 40.3
    marked = dataclasses.replace(rec, annotations=rec.annotations + [
        (t_bad, 3.0, "BAD_movement"), (t_join, 0.0, "boundary")])
    clean = clean_eeg(marked)
    for s in clean.epoch_starts_s:
        assert not (s < t_bad + 3.0 and s + 2 > t_bad)
        assert not (s <= t_join < s + 2)
    reasons = [r[2] for r in clean.rejected_segments]
    assert "marked bad in the file (BAD_movement)" in reasons
    assert "discontinuity in the file (boundary)" in reasons
    n_marked = sum(1 for r in reasons if r.startswith(("marked bad", "discontinuity")))
    assert n_marked >= 3 and f"marked in the file {n_marked})" in clean.steps[-1]
