"""The wrong file given to a reader: refused with the format expected and what the file is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from tmsnav.navigation.exchange.brainsight import read_brainsight
from tmsnav.navigation.exchange.detect import describe, sniff
from tmsnav.navigation.exchange.errors import ExchangeError
from tmsnav.navigation.exchange.localite import read_instrument_markers, read_trigger_markers
from tmsnav.navigation.exchange.simnibs import read_matsimnibs

SAMPLES = Path(__file__).parent / "samples"


def test_sniff_knows_every_sample(tmp_path):
    assert sniff(SAMPLES / "brainsight_left_m1_crlf_bom.txt") == "brainsight"
    assert sniff(SAMPLES / "localite_instrument_left_m1.xml") == "localite-instrument"
    assert sniff(SAMPLES / "localite_trigger_two_pulses.xml") == "localite-trigger"
    scipy.io.savemat(tmp_path / "m.mat", {"matsimnibs": np.eye(4)})
    assert sniff(tmp_path / "m.mat") == "simnibs-mat"


def _files(tmp_path: Path) -> dict[str, Path]:
    files = {"empty": tmp_path / "empty.txt", "csv": tmp_path / "targets.csv",
             "binary": tmp_path / "blob.bin", "nifti": tmp_path / "t1.nii.gz",
             "other-xml": tmp_path / "EntryTarget.xml", "json": tmp_path / "session.json",
             "hdf5": tmp_path / "v73.mat"}
    files["empty"].write_bytes(b"")
    files["csv"].write_text("name,x,y,z\nF3,-35,40,50\n")
    files["binary"].write_bytes(bytes(range(256)))
    files["nifti"].write_bytes(b"\x1f\x8b\x08\x00" + bytes(60))
    files["other-xml"].write_text('<?xml version="1.0"?>\n<EntryTargetList><a/></EntryTargetList>')
    files["json"].write_text('{"schema": 3}')
    files["hdf5"].write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    return files


@pytest.mark.parametrize("kind,words", [
    ("empty", "an empty file"), ("csv", "comma-separated table with the columns name, x, y, z"),
    ("binary", "a binary file"), ("nifti", "gzip"), ("other-xml", "<EntryTargetList>"),
    ("json", "JSON"), ("hdf5", "v7.3")])
@pytest.mark.parametrize("reader,expected", [
    (read_brainsight, "Brainsight text export"),
    (read_instrument_markers, "Localite InstrumentMarker"),
    (read_trigger_markers, "Localite TriggerMarker"),
    (read_matsimnibs, "SimNIBS coil position")])
def test_wrong_files_name_expected_and_found(tmp_path, kind, words, reader, expected):
    path = _files(tmp_path)[kind]
    with pytest.raises(ExchangeError) as err:
        reader(path)
    assert expected in str(err.value) and words in str(err.value)


def test_vendor_files_given_to_the_wrong_reader(tmp_path):
    with pytest.raises(ExchangeError, match="not a Brainsight.*Localite InstrumentMarker"):
        read_brainsight(SAMPLES / "localite_instrument_left_m1.xml")
    with pytest.raises(ExchangeError, match="not a Localite InstrumentMarker.*TriggerMarker"):
        read_instrument_markers(SAMPLES / "localite_trigger_two_pulses.xml")
    with pytest.raises(ExchangeError, match="not a SimNIBS.*Brainsight"):
        read_matsimnibs(SAMPLES / "brainsight_left_m1_crlf_bom.txt")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ExchangeError, match="does not exist"):
        read_brainsight(tmp_path / "nope.txt")
    with pytest.raises(ExchangeError, match="folder"):
        read_brainsight(tmp_path)


def test_mat_without_positions_lists_its_variables(tmp_path):
    scipy.io.savemat(tmp_path / "other.mat", {"volume": np.zeros((2, 2)), "labels": "abc"})
    with pytest.raises(ExchangeError, match="variables: .*volume"):
        read_matsimnibs(tmp_path / "other.mat")


def test_brainsight_without_targets_or_samples(tmp_path):
    (tmp_path / "e.txt").write_text("# Version: 14\n# Coordinate system: NIfTI:Scanner\n"
                                    "# Target Name\tLoc. X\tLoc. Y\tLoc. Z\n")
    with pytest.raises(ExchangeError, match="without any target or sample"):
        read_brainsight(tmp_path / "e.txt")
    (tmp_path / "n.txt").write_text("# Version: 14\n# Target Name\tLoc. X\tLoc. Y\tLoc. Z\n"
                                    "A\t1\t2\t3\n")
    with pytest.raises(ExchangeError, match="coordinate system"):
        read_brainsight(tmp_path / "n.txt")


def test_describe_plain_text(tmp_path):
    (tmp_path / "notes.txt").write_text("hello world\n")
    assert "starting with 'hello world'" in describe(tmp_path / "notes.txt")


def test_brainsight_target_without_orientation_says_so(tmp_path):
    (tmp_path / "p.txt").write_text("# Version: 12\n# Coordinate system: NIfTI:Scanner\n"
                                    "# Target Name\tLoc. X\tLoc. Y\tLoc. Z\nF3\t-35\t40\t50\n")
    with pytest.raises(ExchangeError, match="position but no coil orientation"):
        read_brainsight(tmp_path / "p.txt")
