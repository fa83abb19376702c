"""BIDS electrodes.tsv + coordsystem.json: exact round trip, n/a, units (m / cm / mm) converted by
the declared unit, and the usual mistakes refused with their cause."""

import json

import numpy as np
import pytest

from tmsnav.navigation.eeg.bids_electrodes import (COORDINATE_DESCRIPTION, BidsElectrodeError,
                                                   read_bids_electrodes, write_bids_electrodes)

RNG = np.random.default_rng(7)
POSITIONS = {"Fp1": np.array([-29.437, 83.917, -6.99]), "F3": np.array([-50.2438, 53.1112, 42.192]),
             "Cz": np.array([0.4009, -9.167, 100.244]), "O2": np.array([29.4134, -112.449, 8.839]),
             "T8": RNG.normal(0, 40, 3) + [80.0, -10.0, 0.0]}


def _write_raw(tmp_path, rows, units, system="Other", header="name\tx\ty\tz\ttype"):
    tsv = tmp_path / "sub-01_electrodes.tsv"
    tsv.write_text(header + "\n" + "\n".join("\t".join(r) for r in rows) + "\n")
    (tmp_path / "sub-01_coordsystem.json").write_text(json.dumps(
        {"EEGCoordinateSystem": system, "EEGCoordinateUnits": units}))
    return tsv


def test_round_trip_is_exact_with_n_a_types_and_placement(tmp_path):
    positions = dict(POSITIONS, Pz=None)
    tsv, coord = write_bids_electrodes(tmp_path / "sub-01_ses-1_space-Other", positions,
                                       placement={"Fp1": "digitised", "F3": "interpolated"},
                                       materials={"Cz": "Ag/AgCl"}, intended_for="anat/sub-01_T1w.nii.gz")
    assert tsv.name == "sub-01_ses-1_space-Other_electrodes.tsv"
    lines = tsv.read_text().splitlines()
    assert lines[0].split("\t") == ["name", "x", "y", "z", "type", "material", "placement"]
    assert "Pz\tn/a\tn/a\tn/a\tEEG\tn/a\tn/a" in lines
    meta = json.loads(coord.read_text())
    assert meta == {"EEGCoordinateSystem": "Other", "EEGCoordinateUnits": "mm",
                    "EEGCoordinateSystemDescription": COORDINATE_DESCRIPTION,
                    "IntendedFor": "anat/sub-01_T1w.nii.gz"}
    back = read_bids_electrodes(tsv)
    assert list(back.positions_mm) == list(POSITIONS) and back.missing == ["Pz"]
    for name, p in POSITIONS.items():
        assert np.array_equal(back.positions_mm[name], p), name      # bit-exact floats
    assert back.placement == {"Fp1": "digitised", "F3": "interpolated"}
    assert back.materials == {"Cz": "Ag/AgCl"} and back.types["F3"] == "EEG"
    assert back.units == "mm" and back.intended_for == "anat/sub-01_T1w.nii.gz"
    assert (tmp_path / "sub-01_ses-1_space-Other_electrodes.json").is_file()   # column described


@pytest.mark.safety(hazard="units",
                    control=("BIDS electrode files in metres or centimetres are converted by their "
                             "declared unit; a unit that does not fit a head is refused"))
@pytest.mark.parametrize("unit,scale", [("m", 1e-3), ("cm", 0.1), ("mm", 1.0)])
def test_files_in_metres_and_centimetres_are_read_in_mm(tmp_path, unit, scale):
    rows = [[n, *(repr(float(v) * scale) for v in p), "EEG"] for n, p in POSITIONS.items()]
    back = read_bids_electrodes(_write_raw(tmp_path, rows, unit))
    for name, p in POSITIONS.items():
        np.testing.assert_allclose(back.positions_mm[name], p, rtol=1e-12, atol=1e-9)


def test_a_unit_mix_up_is_refused_with_the_likely_unit(tmp_path):
    """Metres declared as mm (MNE's native unit written with the wrong label): the electrodes
    would span 0.2 mm. Refused, naming metres."""
    rows = [[n, *(repr(float(v) / 1000) for v in p), "EEG"] for n, p in POSITIONS.items()]
    with pytest.raises(BidsElectrodeError, match=r"span 0\.\d+ mm, not a head .* if they are in m\. "):
        read_bids_electrodes(_write_raw(tmp_path, rows, "mm"))
    rows = [[n, *(repr(float(v)) for v in p), "EEG"] for n, p in POSITIONS.items()]
    with pytest.raises(BidsElectrodeError, match="if they are in mm"):
        read_bids_electrodes(_write_raw(tmp_path, rows, "m"))      # mm declared as metres


def test_a_byte_order_mark_from_a_spreadsheet_is_not_part_of_the_header(tmp_path):
    rows = [[n, *(repr(float(v)) for v in p), "EEG"] for n, p in POSITIONS.items()]
    tsv = _write_raw(tmp_path, rows, "mm")
    tsv.write_bytes(b"\xef\xbb\xbf" + tsv.read_bytes())
    assert list(read_bids_electrodes(tsv).positions_mm) == list(POSITIONS)


def test_unknown_units_need_the_user_to_say_which(tmp_path):
    rows = [[n, *(repr(float(v)) for v in p), "EEG"] for n, p in POSITIONS.items()]
    tsv = _write_raw(tmp_path, rows, "n/a")
    with pytest.raises(BidsElectrodeError, match="EEGCoordinateUnits is 'n/a'"):
        read_bids_electrodes(tsv)
    assert read_bids_electrodes(tsv, units="mm").units == "mm"
    (tmp_path / "sub-01_coordsystem.json").unlink()
    with pytest.raises(BidsElectrodeError, match="coordsystem.json is missing"):
        read_bids_electrodes(tsv)


def test_positions_in_another_coordinate_system_are_refused(tmp_path):
    rows = [[n, *(repr(float(v)) for v in p), "EEG"] for n, p in POSITIONS.items()]
    with pytest.raises(BidsElectrodeError, match="'CapTrak' coordinate system"):
        read_bids_electrodes(_write_raw(tmp_path, rows, "mm", system="CapTrak"))
    assert read_bids_electrodes(_write_raw(tmp_path, rows, "mm", system="ScanRAS")).positions_mm


@pytest.mark.parametrize("rows,header,message", [
    ([["F3", "1", "2"]], "name\tx\ty\tz", "3 cells, the header has 4"),
    ([["F3", "1", "two", "3"]], "name\tx\ty\tz", "y = 'two'"),
    ([["F3", "1", "n/a", "3"]], "name\tx\ty\tz", "only some coordinates"),
    ([["F3", "1", "2", "3"], ["F3", "4", "5", "6"]], "name\tx\ty\tz", "listed twice"),
    ([["F3", "1", "2", "3"]], "name\tx\ty", "lacks the column"),
    ([["F3 1 2 3"]], "name x y z", "lacks the column"),             # spaces instead of tabs
])
def test_damaged_tables_are_refused(tmp_path, rows, header, message):
    with pytest.raises(BidsElectrodeError, match=message):
        read_bids_electrodes(_write_raw(tmp_path, rows, "mm", header=header))


def test_a_file_for_this_head_gets_canonical_names_and_another_head_is_refused(tmp_path):
    from tmsnav.navigation.eeg.bids_electrodes import read_for_head
    from tmsnav.navigation.eeg.electrodes import place_electrodes
    from tests.navigation.eeg.eeg_heads import phantom_head, sample_head

    _scalp, surf, lm, tt = sample_head()
    pos = place_electrodes(surf, lm, ["Fp1", "T7", "P8", "Cz"], ten_twenty=tt).positions_mm
    old = {"FP1": pos["Fp1"], "T3": pos["T7"], "T6": pos["P8"], "Cz": pos["Cz"], "T4": None}
    tsv, _ = write_bids_electrodes(tmp_path / "sub-01", old)
    read, renamed = read_for_head(tsv, surf)
    assert renamed == {"FP1": "Fp1", "T3": "T7", "T6": "P8", "T4": "T8"}
    assert set(read.positions_mm) == {"Fp1", "T7", "P8", "Cz"} and read.missing == ["T8"]
    # the same file on the phantom (another head): refused with the distance
    with pytest.raises(BidsElectrodeError, match=r"mm \(median\) from this head's scalp"):
        read_for_head(tsv, phantom_head()[1])


def test_intended_for_names_only_a_bids_t1():
    from tmsnav.navigation.eeg.bids_electrodes import intended_for

    assert intended_for("/data/sub-07/anat/sub-07_T1w.nii.gz") == "anat/sub-07_T1w.nii.gz"
    assert intended_for("/data/Jane_Doe_1961_T1.nii.gz") is None      # never a patient's name
    assert intended_for(None) is None
