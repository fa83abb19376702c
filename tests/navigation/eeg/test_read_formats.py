"""The same EEG written by independent writers (edfio, a hand-packed BioSemi BDF, pybv, eeglabio,
MNE's FIF) and by tmsnav's own EDF writer reads back as the same volts, names and conditions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.navigation.eeg import eeg_files as ef
from tmsnav.navigation.eeg.edf_writer import write_edf
from tmsnav.navigation.eeg.readers import EegInputError, read_eeg

SF = 256
ANN = [(2.0, 0.0, "eyes closed"), (10.0, 0.0, "eyes open")]
DATA_UV = ef.eeg_like(19, 20, SF, seed=3)


def _edf_quantum_uv(row: np.ndarray) -> float:
    """The step of a 16-bit EDF channel whose physical range just covers ``row``."""
    return 2.2 * float(np.max(np.abs(row))) / 65535


def _write(kind: str, folder: Path) -> Path:
    labels = ef.TEN_TWENTY
    if kind == "edf_tmsnav":
        return write_edf(folder / "own.edf", DATA_UV, SF, labels, annotations=ANN)
    if kind == "edf_edfio":
        return ef.write_edfio(folder / "edfio.edf", DATA_UV, SF, labels, ANN)
    if kind == "bdf":
        return ef.write_bdf(folder / "rec.bdf", DATA_UV, SF, labels)
    if kind == "brainvision":
        return ef.write_brainvision(folder / "bv", DATA_UV, SF, labels, [(2.0, "EC"), (10.0, "EO")])
    if kind == "eeglab":
        return ef.write_eeglab(folder / "rec.set", DATA_UV, SF, labels, ANN)
    return ef.write_fif(folder / "rec_raw.fif", DATA_UV, SF, labels, ANN)


@pytest.mark.parametrize("kind, fmt", [("edf_tmsnav", "EDF+"), ("edf_edfio", "EDF+"), ("bdf", "BDF"),
                                       ("brainvision", "BrainVision"), ("eeglab", "EEGLAB"),
                                       ("fif", "FIF")])
def test_every_format_reads_the_same_volts(tmp_path, kind, fmt):
    rec = read_eeg(_write(kind, tmp_path))
    assert rec.file_format == fmt
    assert rec.channels == ef.TEN_TWENTY
    assert rec.sfreq_hz == SF
    assert rec.data_v.shape == DATA_UV.shape and rec.data_v.dtype == np.float64
    err_uv = np.abs(rec.data_v * 1e6 - DATA_UV).max(axis=1)
    if kind.startswith("edf"):
        limit = np.array([_edf_quantum_uv(r) for r in DATA_UV])    # half a 16-bit step, and margin
    elif kind == "bdf":
        limit = np.full(19, ef.bdf_quantum_uv())
    else:
        limit = np.full(19, 1e-5 * np.abs(DATA_UV).max())       # float32 storage
    assert np.all(err_uv <= limit), (kind, err_uv.max(), limit.min())
    # volts, not microvolts: a 10 Hz rhythm of 5-20 µV plus background
    assert 3e-6 < np.median(rec.data_v.std(axis=1)) < 5e-5


@pytest.mark.parametrize("kind", ["edf_tmsnav", "edf_edfio", "brainvision", "eeglab", "fif"])
def test_every_format_gives_the_eyes_closed_and_open_blocks(tmp_path, kind):
    rec = read_eeg(_write(kind, tmp_path))
    assert rec.conditions == {"eyes_closed": [(2.0, 10.0)], "eyes_open": [(10.0, 20.0)]}


def test_bdf_status_channel_is_dropped_as_trigger(tmp_path):
    status = np.zeros(DATA_UV.shape[1], dtype=np.int64)
    status[SF * 3:SF * 3 + 10] = 255
    rec = read_eeg(ef.write_bdf(tmp_path / "rec.bdf", DATA_UV, SF, ef.TEN_TWENTY, status=status))
    assert rec.dropped_channels == {"Status": "not EEG (trigger / status)"}
    assert rec.physical_range_v["Cz"] == pytest.approx((-0.262143, 0.262143))


def test_biosemi_numbered_cap_is_not_taken_for_earlobes_or_10_20(tmp_path):
    """BioSemi caps label electrodes A1-A32, B1-B32: A1 is not the left earlobe and B... not a site.
    With no 10-20 label at all the file is refused with the reason; with 10-20 extras (EXG
    renamed to Fp1 ...) only those are used."""
    labels = [f"A{i}" for i in range(1, 11)] + [f"B{i}" for i in range(1, 10)]
    with pytest.raises(EegInputError) as err:
        read_eeg(ef.write_bdf(tmp_path / "bs.bdf", DATA_UV, SF, labels))
    assert "none of the channel names is a 10-20" in str(err.value)
    mixed = labels[:16] + ["Fp1", "Fz", "Cz"]
    rec = read_eeg(ef.write_bdf(tmp_path / "bs2.bdf", DATA_UV, SF, mixed))
    assert rec.channels == ["Fp1", "Fz", "Cz"]
    assert "BioSemi cap position" in rec.dropped_channels["A1"]
    assert "A1" not in rec.channels and "C3" not in rec.channels


def test_brainvision_companion_files_are_pointed_to_the_vhdr(tmp_path):
    vhdr = _write("brainvision", tmp_path)
    for other in (vhdr.with_suffix(".eeg"), vhdr.with_suffix(".vmrk")):
        with pytest.raises(EegInputError, match="open its .vhdr header"):
            read_eeg(other)
