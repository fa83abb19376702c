"""Every file tmsnav cannot use is refused with its cause (never a traceback, never a shorter
recording read silently), and no message carries the folder (it may hold a patient's name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.navigation.eeg import eeg_files as ef
from tmsnav.navigation.eeg.edf_writer import write_edf
from tmsnav.navigation.eeg.readers import EegInputError, read_eeg

SF = 256


def _edf(path: Path, seconds: int = 10, **kw) -> Path:
    return write_edf(path, ef.eeg_like(19, seconds, SF), SF, ef.TEN_TWENTY, **kw)


def _refused(path: Path, *needles: str) -> str:
    with pytest.raises(EegInputError) as err:
        read_eeg(path)
    message = str(err.value)
    for needle in needles:
        assert needle in message, message
    assert str(path.parent) not in message          # no folder (patient names) in messages
    return message


def test_edf_cut_in_the_middle(tmp_path):
    p = _edf(tmp_path / "rec.edf", seconds=40)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2 + 123])      # not on a record boundary
    _refused(p, "is truncated", "header says 40 records", "holds only 19 complete records")


def test_header_that_claims_more_records_than_the_file_holds(tmp_path):
    p = _edf(tmp_path / "rec.edf", seconds=20)
    raw = bytearray(p.read_bytes())
    raw[236:244] = b"60      "
    p.write_bytes(bytes(raw))
    _refused(p, "truncated", "header says 60 records", "only 20 complete records")


def test_header_that_claims_fewer_records_reads_the_file_and_warns(tmp_path):
    """A recorder that did not update the count on stop: every complete record is read (as MNE
    does), and the user is told the header disagreed."""
    p = _edf(tmp_path / "rec.edf", seconds=20)
    raw = bytearray(p.read_bytes())
    raw[236:244] = b"15      "
    p.write_bytes(bytes(raw))
    rec = read_eeg(p)
    assert rec.duration_s == 20
    assert any("holds 20 records but its header says 15" in w for w in rec.warnings)


def test_random_bytes_named_edf(tmp_path):
    p = tmp_path / "rec.edf"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    _refused(p, "is not an EDF file")


def test_edf_header_with_garbage_in_a_number_field(tmp_path):
    p = _edf(tmp_path / "rec.edf")
    raw = bytearray(p.read_bytes())
    raw[244:252] = b"one sec "
    p.write_bytes(bytes(raw))
    _refused(p, "'record duration'", "not a number")


def test_file_shorter_than_a_header(tmp_path):
    p = tmp_path / "rec.edf"
    p.write_bytes(b"0       " + b" " * 90)
    _refused(p, "too short to be an EDF/BDF file")


def test_corrupt_fif(tmp_path):
    p = tmp_path / "rec_raw.fif"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    _refused(p, "could not be read as FIF")


@pytest.mark.parametrize("name", ["rec.csv", "rec.txt", "rec.mat", "rec"])
def test_file_type_we_do_not_read(tmp_path, name):
    p = tmp_path / name
    p.write_text("Fp1,F3\n1,2\n")
    _refused(p, "tmsnav does not read", "EDF/EDF+ (.edf)")


def test_missing_file_and_folder(tmp_path):
    _refused(tmp_path / "absent.edf", "no such file")
    (tmp_path / "sub.edf").mkdir()
    _refused(tmp_path / "sub.edf", "is a folder")


def test_sampling_rate_below_128_hz(tmp_path):
    p = write_edf(tmp_path / "rec.edf", ef.eeg_like(19, 10, 100), 100, ef.TEN_TWENTY)
    _refused(p, "sampling rate 100 Hz is below 128 Hz")


def test_volts_written_as_microvolts(tmp_path):
    """The samples are volts but the header says uV: read as ~1e-11 V, refused with the cause."""
    data_v = ef.eeg_like(19, 10, SF) * 1e-6
    p = write_edf(tmp_path / "rec.edf", data_v, SF, ef.TEN_TWENTY, unit="uV",
                  physical_min=[-0.001] * 19, physical_max=[0.001] * 19)
    msg = _refused(p, "the file's unit is probably wrong; it says µV", "volts stored as microvolts")
    assert "~1e-11 V" in msg


def test_microvolts_written_as_volts(tmp_path):
    """The reverse: microvolt numbers with a 'V' unit read as tens of volts."""
    p = write_edf(tmp_path / "rec.edf", ef.eeg_like(19, 10, SF), SF, ef.TEN_TWENTY, unit="V")
    msg = _refused(p, "the file's unit is probably wrong; it says V", "microvolts stored as volts")
    assert "~1e+01 V" in msg


def test_millivolt_file_with_the_right_unit_is_accepted(tmp_path):
    """Not every unusual unit is wrong: EEG stored in mV with 'mV' in the header is fine."""
    data_uv = ef.eeg_like(19, 10, SF)
    p = write_edf(tmp_path / "rec.edf", data_uv / 1000.0, SF, ef.TEN_TWENTY, unit="mV")
    rec = read_eeg(p)
    assert np.allclose(rec.data_v * 1e6, data_uv, atol=0.05)


def test_no_frontal_channels(tmp_path):
    labels = ["C3", "Cz", "C4", "P3", "Pz", "P4", "O1", "O2"]
    p = write_edf(tmp_path / "rec.edf", ef.eeg_like(8, 10, SF), SF, labels)
    _refused(p, "no frontal channels", "C3, Cz, C4, P3, Pz, P4, O1, O2")


def test_only_unknown_channel_names_are_listed(tmp_path):
    labels = [f"E{i}" for i in range(1, 20)]
    p = write_edf(tmp_path / "rec.edf", ef.eeg_like(19, 10, SF), SF, labels)
    _refused(p, "none of the channel names is a 10-20 / 10-10 electrode name", "E1, E2, E3", "E19")


def test_every_channel_flat(tmp_path):
    p = write_edf(tmp_path / "rec.edf", np.zeros((19, 10 * SF)), SF, ef.TEN_TWENTY,
                  physical_min=[-100.0] * 19, physical_max=[100.0] * 19)
    _refused(p, "every EEG channel is flat")


def _edf_plus_d(path: Path, gap_at_record: int | None) -> Path:
    """An EDF+ whose reserved field says EDF+D; optionally record ``gap_at_record`` restamped 30 s
    later (a pause in the recording)."""
    p = _edf(path, seconds=10, annotations=[(1.0, 0.0, "EC")])
    raw = bytearray(p.read_bytes())
    raw[192:197] = b"EDF+D"
    ns = int(raw[252:256])
    nsamp = [int(raw[256 + ns * 216 + 8 * i: 256 + ns * 216 + 8 * (i + 1)]) for i in range(ns)]
    rec_bytes, ann_off = 2 * sum(nsamp), 2 * sum(nsamp[:-1])
    if gap_at_record is not None:
        start = 256 * (ns + 1) + gap_at_record * rec_bytes + ann_off
        stamp = f"+{gap_at_record + 30}".encode() + b"\x14\x14\x00"
        raw[start:start + 2 * nsamp[-1]] = stamp.ljust(2 * nsamp[-1], b"\x00")
    p.write_bytes(bytes(raw))
    return p


def test_discontinuous_edf_with_a_gap_is_refused(tmp_path):
    """MNE reads EDF+D records back to back: after a pause every later sample and marker would
    sit at the wrong time, so a gap is refused with where it is."""
    _refused(_edf_plus_d(tmp_path / "rec.edf", gap_at_record=6),
             "EDF+D (discontinuous) with a gap: record 7 starts at 36 s instead of 6 s")


def test_discontinuous_edf_without_gaps_reads_with_a_warning(tmp_path):
    rec = read_eeg(_edf_plus_d(tmp_path / "rec.edf", gap_at_record=None))
    assert rec.duration_s == 10
    assert any("marked EDF+D" in w and "without gaps" in w for w in rec.warnings)


def test_patient_fields_of_the_header_go_nowhere(tmp_path):
    """An EDF's patient field carries name, ID and birth date: none of it may reach the recording,
    its warnings or a message (they end up in logs and reports)."""
    p = _edf(tmp_path / "rec.edf", seconds=10)
    raw = bytearray(p.read_bytes())
    raw[8:88] = b"MCH-0234567 F 02-MAY-1951 Jane_Roe".ljust(80)
    raw[88:168] = b"Startdate 02-MAR-2002 EMG561 BK/JOP Sony. MNC R Median Nerve".ljust(80)
    p.write_bytes(bytes(raw))
    rec = read_eeg(p)
    text = repr(rec.__dict__ | {"data_v": None})
    for secret in ("0234567", "Jane", "Roe", "1951", "EMG561"):
        assert secret not in text
    raw[236:244] = b"99      "                       # and a refusal does not quote it either
    p.write_bytes(bytes(raw))
    message = _refused(p, "truncated")
    assert "Jane" not in message and "0234567" not in message


def test_slow_eeg_beside_a_fast_channel_is_refused(tmp_path):
    """EDF gives each signal its own rate: EEG at 100 Hz with an ECG at 256 Hz is read by MNE at
    256 Hz (interpolated), which must not pass the 128 Hz check."""
    import edfio

    eeg = ef.eeg_like(19, 10, 100)
    sigs = [edfio.EdfSignal(row, 100, label=lab, physical_dimension="uV") for row, lab in zip(eeg, ef.TEN_TWENTY)]
    sigs.append(edfio.EdfSignal(np.random.default_rng(0).normal(0, 50, 2560), 256, label="ECG",
                                physical_dimension="uV"))
    p = tmp_path / "mixed.edf"
    edfio.Edf(sigs).write(p)
    _refused(p, "the EEG channels were recorded at 100 Hz", "interpolate them")


def test_eeg_slower_than_another_channel_but_fast_enough_is_read_with_a_warning(tmp_path):
    import edfio

    eeg = ef.eeg_like(19, 10, 200)
    sigs = [edfio.EdfSignal(row, 200, label=lab, physical_dimension="uV") for row, lab in zip(eeg, ef.TEN_TWENTY)]
    sigs.append(edfio.EdfSignal(np.zeros(5000), 500, label="ECG", physical_dimension="uV",
                                physical_range=(-1, 1)))
    p = tmp_path / "mixed.edf"
    edfio.Edf(sigs).write(p)
    rec = read_eeg(p)
    assert rec.sfreq_hz == 500
    assert any("recorded at 200 Hz were interpolated to 500 Hz" in w for w in rec.warnings)


def test_brainvision_with_its_data_file_missing(tmp_path):
    """The .vhdr opens but its .eeg is gone: MNE's error names the missing file with its folder,
    which is often named after the patient; the message keeps only file names."""
    folder = tmp_path / "Roe_Jane_0234567"
    vhdr = ef.write_brainvision(folder, ef.eeg_like(19, 10, SF), SF, ef.TEN_TWENTY)
    vhdr.with_suffix(".eeg").unlink()
    message = _refused(vhdr, "could not be read as BrainVision")
    assert "0234567" not in message and str(tmp_path) not in message
