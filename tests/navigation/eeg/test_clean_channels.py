"""Bad channels: flat, saturated, noisy and bridged electrodes are found and named with their
reason, left out of the average reference, and a recording that loses every frontal or every
posterior channel is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tmsnav.navigation.eeg.cleaning import clean_eeg
from tmsnav.navigation.eeg.edf_writer import write_edf
from tmsnav.navigation.eeg.readers import EegInputError, read_eeg
from tmsnav.navigation.eeg.sample_eeg import write_sample_eeg


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    truth = write_sample_eeg(tmp_path_factory.mktemp("eeg") / "s.edf", minutes=4, seed=5)
    return read_eeg(truth.path)


def _with(rec, **changes):
    data = rec.data_v.copy()
    for name, fn in changes.items():
        i = rec.channels.index(name)
        data[i] = fn(data[i])
    return dataclasses.replace(rec, data_v=data)


def _bad(rec) -> dict[str, str]:
    clean = clean_eeg(rec)
    for name in clean.bad_channels:
        assert name not in clean.channels
    assert np.abs(clean.epochs_v.sum(axis=1)).max() < 1e-12          # average of the good ones
    return clean.bad_channels


def test_sample_has_no_bad_channels_on_other_seeds(tmp_path):
    for seed in (11, 12):
        truth = write_sample_eeg(tmp_path / f"{seed}.edf", minutes=3, seed=seed)
        assert clean_eeg(read_eeg(truth.path)).bad_channels == {}


def test_flat_channels(rec):
    held = lambda x: np.repeat(x[::8], 8)[: x.size]          # noqa: E731 - sample-and-hold input
    bad = _bad(_with(rec, F7=lambda x: np.zeros_like(x), C4=lambda x: x * 0 + 3e-6, P3=held))
    assert bad["F7"].startswith("flat (SD 0.00 µV")
    assert bad["C4"].startswith("flat")
    assert bad["P3"].startswith("flat (88 % of samples repeat the previous value)")
    assert len(bad) == 3


def test_saturated_channel_through_an_edf_clipped_by_its_range(tmp_path, rec):
    """The writer clips like an amplifier: T8 recorded 20x too large into a ±200 µV range."""
    uv = rec.data_v * 1e6
    uv[rec.channels.index("T8")] *= 20
    pmin = [-1000.0] * 19
    pmax = [1000.0] * 19
    pmin[rec.channels.index("T8")], pmax[rec.channels.index("T8")] = -200.0, 200.0
    ann = [(a, 0.0, "EC") for a, _ in rec.conditions["eyes_closed"]] + \
          [(a, 0.0, "EO") for a, _ in rec.conditions["eyes_open"]]
    p = write_edf(tmp_path / "clip.edf", uv, 256, rec.channels, physical_min=pmin,
                  physical_max=pmax, annotations=ann)
    clipped = read_eeg(p)
    assert clipped.physical_range_v["T8"] == pytest.approx((-200e-6, 200e-6))
    bad = _bad(clipped)
    assert list(bad) == ["T8"]
    assert "saturated" in bad["T8"] and "clipped at the file's range -200/+200 µV" in bad["T8"]


def test_saturated_without_a_declared_range(rec):
    top = 60e-6
    bad = _bad(dataclasses.replace(_with(rec, O2=lambda x: np.clip(4 * x, -top, top)),
                                   physical_range_v={}))
    assert bad == {"O2": bad["O2"]} and "clipped at its own extreme value" in bad["O2"]


def test_noisy_channels(rec):
    t = np.arange(rec.data_v.shape[1]) / 256
    bad = _bad(_with(rec, Pz=lambda x: 8 * x, C3=lambda x: x + 40e-6 * np.sin(2 * np.pi * 50 * t)))
    assert bad["Pz"].startswith("noisy (amplitude")
    assert bad["C3"].startswith("noisy (high-frequency / line noise")
    assert len(bad) == 2


def test_bridged_neighbours(rec):
    """Gel between F3 and C3: both record (nearly) their mean."""
    f3, c3 = rec.channel("F3"), rec.channel("C3")
    mean = 0.5 * (f3 + c3)
    noise = np.random.default_rng(0).normal(0, 0.2e-6, (2, f3.size))
    bad = _bad(_with(rec, F3=lambda x: mean + noise[0], C3=lambda x: mean + noise[1]))
    assert bad == {"F3": "bridged with C3", "C3": "bridged with F3"}


def test_all_frontal_channels_lost_is_refused(rec):
    frontal = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8"]
    dead = _with(rec, **{c: (lambda x: np.zeros_like(x)) for c in frontal})
    with pytest.raises(EegInputError, match="all frontal channels are bad") as err:
        clean_eeg(dead)
    assert "F3: flat" in str(err.value) and "F4: flat" in str(err.value)


def test_all_posterior_channels_lost_is_refused(rec):
    posterior = ["P7", "P3", "Pz", "P4", "P8", "O1", "O2"]
    dead = _with(rec, **{c: (lambda x: np.zeros_like(x)) for c in posterior})
    with pytest.raises(EegInputError, match="all posterior .individual alpha frequency. channels"):
        clean_eeg(dead)


def test_a_few_bad_channels_are_listed_in_the_steps(rec):
    clean = clean_eeg(_with(rec, F8=lambda x: np.zeros_like(x)))
    assert any(s.startswith("bad channels: F8 flat") for s in clean.steps)
    assert any(s == "average reference over 18 channels" for s in clean.steps)
