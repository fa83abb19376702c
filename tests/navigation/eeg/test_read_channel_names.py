"""Channel labels as EEG systems write them map onto one electrode each, or are dropped with the
reason; old and new names of one electrode never both count, and left never becomes right."""

from __future__ import annotations

import numpy as np
import pytest

from tests.navigation.eeg import eeg_files as ef
from tmsnav.navigation.eeg.channel_names import canonical_channel_name, why_not_mapped
from tmsnav.navigation.eeg.edf_writer import write_edf
from tmsnav.navigation.eeg.readers import EegInputError, read_eeg


@pytest.mark.parametrize("label, name", [
    ("T3", "T7"), ("T4", "T8"), ("T5", "P7"), ("T6", "P8"), ("T7", "T7"), ("P8", "P8"),
    ("EEG Fp1-REF", "Fp1"), ("Fp1-A1", "Fp1"), ("FP1", "Fp1"), ("fp1", "Fp1"),
    ("EEG FP1-LE", "Fp1"), ("Fp1-Ref", "Fp1"), ("EEG T3-REF", "T7"), ("EEG T4-LE", "T8"),
    ("AF3", "AF3"), ("FC3", "FC3"), ("FCZ", "FCz"), ("cpz", "CPz"), ("POL Fz", "Fz"),
    ("EEG Cz-AVG", "Cz"), ("A1", "A1"), ("M2", "M2"), ("TP10", "TP10"), ("Oz-M1", "Oz")])
def test_label_variants_map_to_the_electrode(label, name):
    assert canonical_channel_name(label) == name


@pytest.mark.parametrize("label, reason", [
    ("ECG", "not EEG (ECG)"), ("EKG1", "not EEG (ECG)"), ("EEG ECG-REF", "not EEG (ECG)"),
    ("EOG L", "not EEG (EOG)"), ("VEOG", "not EEG (EOG)"), ("EMG", "not EEG (EMG)"),
    ("Photic", "not EEG (photic / derived)"), ("Status", "not EEG (trigger / status)"),
    ("TRIGGER", "not EEG (trigger / status)"), ("E1", "numbered net channel"),
    ("Chan 3", "unknown electrode name"), ("Fp1-F3", "bipolar derivation"), ("Xyz", "unknown")])
def test_non_eeg_unknown_and_bipolar_labels_are_not_electrodes(label, reason):
    assert canonical_channel_name(label) is None
    assert reason in why_not_mapped(label)


def test_old_temporal_names_keep_their_side(tmp_path):
    """T3 (left) must become T7 (left), T4 (right) T8 (right): a swap here would put a finding on
    the wrong hemisphere. Each channel carries its own signal and is found under its new name."""
    labels = ["EEG Fp1-REF", "EEG Fp2-REF", "EEG F3-REF", "EEG F4-REF", "EEG T3-REF", "EEG T4-REF",
              "EEG T5-REF", "EEG T6-REF", "EEG C3-REF", "EEG C4-REF"]
    data = ef.eeg_like(len(labels), 8, 256, seed=1)
    rec = read_eeg(write_edf(tmp_path / "rec.edf", data, 256, labels))
    assert rec.channels == ["Fp1", "Fp2", "F3", "F4", "T7", "T8", "P7", "P8", "C3", "C4"]
    assert rec.original_names["T7"] == "EEG T3-REF" and rec.original_names["P8"] == "EEG T6-REF"
    for i, name in enumerate(rec.channels):
        assert np.corrcoef(rec.channel(name), data[i])[0, 1] > 0.9999


def test_unknown_and_non_eeg_channels_are_dropped_with_reasons(tmp_path):
    labels = ef.TEN_TWENTY + ["ECG", "E57", "Photic"]
    data = ef.eeg_like(len(labels), 8, 256)
    rec = read_eeg(write_edf(tmp_path / "rec.edf", data, 256, labels))
    assert rec.channels == ef.TEN_TWENTY
    assert rec.dropped_channels["ECG"] == "not EEG (ECG)"
    assert "unknown electrode name" in rec.dropped_channels["E57"]
    assert rec.dropped_channels["Photic"].startswith("not EEG")
    assert any("E57" in w for w in rec.warnings)


def test_old_and_new_name_with_the_same_signal_keeps_one(tmp_path):
    labels = ef.TEN_TWENTY + ["T3"]
    data = ef.eeg_like(19, 8, 256)
    data = np.vstack([data, data[ef.TEN_TWENTY.index("T7")]])
    rec = read_eeg(write_edf(tmp_path / "rec.edf", data, 256, labels))
    assert rec.channels.count("T7") == 1 and len(rec.channels) == 19
    assert rec.dropped_channels["T3"].startswith("duplicate of T7")


def test_old_and_new_name_with_different_signals_is_refused(tmp_path):
    labels = ef.TEN_TWENTY + ["T3"]
    data = ef.eeg_like(20, 8, 256)
    with pytest.raises(EegInputError, match="both name electrode T7") as err:
        read_eeg(write_edf(tmp_path / "rec.edf", data, 256, labels))
    assert "'T7' and 'T3'" in str(err.value)
