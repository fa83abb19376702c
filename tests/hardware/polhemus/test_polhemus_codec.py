"""Polhemus record codec, orientation conventions and the resyncing reader (no I/O)."""

import math
import struct

import numpy as np
import pytest

from tmsnav.hardware.polhemus.orientation import (euler_deg_from_rotation, quaternion_from_rotation,
                                                  rotation_from_euler_deg, rotation_from_quaternion)
from tmsnav.hardware.polhemus.reader import RecordReader
from tmsnav.hardware.polhemus.liberty import decode_liberty_record, encode_liberty_header, encode_liberty_record
from tmsnav.hardware.polhemus.records import (PACKED16_SCALE, RecordError, RecordFormat, SensorSample,
                                              decode_fastrak_record, decode_packed16, encode_fastrak_record,
                                              encode_packed16, parse_output_list, rotation_of)

EX, EY, EZ = np.eye(3)


def sample(position, rotation=None, frame=0, timestamp_ms=0):
    return SensorSample(tuple(position), np.eye(3) if rotation is None else rotation, timestamp_ms, frame)


# ----- orientation ------------------------------------------------------------------------------------
def test_azimuth_90_maps_sensor_x_to_source_y():
    r = rotation_from_euler_deg(90, 0, 0)
    np.testing.assert_allclose(r @ EX, EY, atol=1e-12)
    np.testing.assert_allclose(r @ EY, -EX, atol=1e-12)


def test_elevation_90_maps_sensor_x_to_source_minus_z():
    np.testing.assert_allclose(rotation_from_euler_deg(0, 90, 0) @ EX, -EZ, atol=1e-12)


def test_roll_90_maps_sensor_y_to_source_z():
    np.testing.assert_allclose(rotation_from_euler_deg(0, 0, 90) @ EY, EZ, atol=1e-12)


def test_euler_order_is_z_then_y_then_x_intrinsic():
    a, e, r = 30.0, -20.0, 75.0
    rz = rotation_from_euler_deg(a, 0, 0)
    ry = rotation_from_euler_deg(0, e, 0)
    rx = rotation_from_euler_deg(0, 0, r)
    np.testing.assert_allclose(rotation_from_euler_deg(a, e, r), rz @ ry @ rx, atol=1e-12)
    assert not np.allclose(rotation_from_euler_deg(a, e, r), rx @ ry @ rz, atol=1e-3)


def test_euler_and_quaternion_round_trip_random_rotations():
    rng = np.random.default_rng(7)
    for _ in range(200):
        a, e, r = rng.uniform(-179, 179), rng.uniform(-89, 89), rng.uniform(-179, 179)
        m = rotation_from_euler_deg(a, e, r)
        np.testing.assert_allclose(euler_deg_from_rotation(m), (a, e, r), atol=1e-9)
        q = quaternion_from_rotation(m)
        assert q[0] >= 0 and math.isclose(np.linalg.norm(q), 1.0)
        np.testing.assert_allclose(rotation_from_quaternion(*q), m, atol=1e-12)


def test_zero_quaternion_is_refused():
    with pytest.raises(ValueError, match="quaternion"):
        rotation_from_quaternion(0, 0, 0, 0)


# ----- FASTRAK record sizes and bytes -------------------------------------------------------------------
@pytest.mark.parametrize("items,binary,length", [((2, 4, 1), False, 47), ((2, 4, 1), True, 29),
                                                 ((2, 11, 1), False, 54), ((2, 11, 1), True, 33),
                                                 ((2, 0, 4, 1), False, 48), ((52, 61, 51), False, 3 + 39 + 52 + 2),
                                                 ((18, 20, 1), False, 3 + 6 + 8 + 2)])
def test_fastrak_record_lengths(items, binary, length):
    fmt = RecordFormat("fastrak", items, binary)
    assert fmt.length == length
    assert len(encode_fastrak_record(1, " ", fmt, sample((1, 2, 3)), "inch")) == length


def test_fastrak_ascii_default_record_bytes():
    fmt = RecordFormat("fastrak", (2, 4, 1), False)
    rot = rotation_from_euler_deg(10.0, -20.0, 5.0)
    data = encode_fastrak_record(1, " ", fmt, sample((10.0, -4.0, 2.5), rot), "inch")
    assert data == b"01   10.00  -4.00   2.50  10.00 -20.00   5.00\r\n"


def test_fastrak_binary_default_record_bytes():
    fmt = RecordFormat("fastrak", (2, 4, 1), True)
    data = encode_fastrak_record(2, " ", fmt, sample((10.0, -4.0, 2.5)), "cm")
    assert data == b"02 " + struct.pack("<6f", 10.0, -4.0, 2.5, 0.0, 0.0, 0.0) + b"\r\n"


def test_decode_manual_style_ascii_record():
    fmt = RecordFormat("fastrak", (2, 4, 1), False)
    rec = decode_fastrak_record(b"01   12.34  -5.67  20.00  10.00 -20.00   5.00\r\n", fmt, "inch")
    assert rec.station == 1 and rec.status == " "
    np.testing.assert_allclose(rec.values["position"], (12.34, -5.67, 20.0))
    np.testing.assert_allclose(rec.values["euler"], (10.0, -20.0, 5.0))


def test_extended_precision_and_direction_cosines_round_trip():
    rot = rotation_from_euler_deg(33.3, 12.1, -71.7)
    fmt = RecordFormat("fastrak", (52, 55, 56, 57, 51), False)
    rec = decode_fastrak_record(encode_fastrak_record(3, " ", fmt, sample((-123.456, 7.0, 0.001), rot), "cm"),
                                fmt, "cm")
    np.testing.assert_allclose(rec.values["position"], (-123.456, 7.0, 0.001), rtol=1e-5)
    np.testing.assert_allclose(rotation_of(rec), rot, atol=1e-5)


def test_quaternion_item_gives_the_same_rotation_as_euler():
    rot = rotation_from_euler_deg(-120.0, 45.0, 30.0)
    for items in ((2, 11, 1), (2, 4, 1)):
        fmt = RecordFormat("fastrak", items, True)
        rec = decode_fastrak_record(encode_fastrak_record(1, " ", fmt, sample((0, 0, 0), rot), "cm"), fmt, "cm")
        np.testing.assert_allclose(rotation_of(rec), rot, atol=1e-5)


def test_corrupt_records_are_rejected():
    fmt = RecordFormat("fastrak", (2, 4, 1), False)
    good = b"01   12.34  -5.67  20.00  10.00 -20.00   5.00\r\n"
    for bad in (good[:-1] + b"X", b"01   12.3X  -5.67  20.00  10.00 -20.00   5.00\r\n", b"X" + good[1:]):
        with pytest.raises(RecordError):
            decode_fastrak_record(bad, fmt, "inch")
    fmt_b = RecordFormat("fastrak", (2, 4, 1), True)
    nan_record = b"01 " + struct.pack("<6f", float("nan"), 0, 0, 0, 0, 0) + b"\r\n"
    with pytest.raises(RecordError):
        decode_fastrak_record(nan_record, fmt_b, "cm")


def test_unsupported_output_item_is_named():
    with pytest.raises(ValueError, match="item 16"):
        parse_output_list("2,16,1")
    assert parse_output_list("2, 11 ,1") == (2, 11, 1)


# ----- 16-bit packed values -----------------------------------------------------------------------------
def test_packed16_layout_follows_the_is900_decode():
    scale = PACKED16_SCALE["position_cm"]
    assert decode_packed16(0x01, 0x00, scale) == pytest.approx(4 * scale)  # lowest data bit = 4 counts
    assert decode_packed16(0x00, 0x40, scale) == pytest.approx(-300.0)     # full scale -300 cm
    assert decode_packed16(0x7F, 0x3F, scale) == pytest.approx(300.0 - 4 * scale)
    assert encode_packed16(-300.0, scale, sync=True) == bytes((0x80, 0x40))
    assert PACKED16_SCALE["position_inch"] * 2.54 == pytest.approx(PACKED16_SCALE["position_cm"])


def test_packed16_record_round_trip_and_sync_bit():
    rot = rotation_from_euler_deg(40, -30, 100)
    fmt = RecordFormat("fastrak", (18, 20, 1), True)
    data = encode_fastrak_record(1, " ", fmt, sample((50.0, -20.0, 7.5), rot), "cm")
    assert data[3] & 0x80 and not any(b & 0x80 for b in data[4:3 + 14])
    rec = decode_fastrak_record(data, fmt, "cm")
    np.testing.assert_allclose(rec.values["position"], (50.0, -20.0, 7.5), atol=4 * 300 / 32768)
    np.testing.assert_allclose(rotation_of(rec), rot, atol=2e-3)
    shifted = data[:3] + bytes([data[3] & 0x7F, data[4] | 0x80]) + data[5:]
    with pytest.raises(RecordError, match="phase"):
        decode_fastrak_record(shifted, fmt, "cm")


# ----- Liberty / Patriot ----------------------------------------------------------------------------------
def test_liberty_header_bytes_and_payload():
    assert encode_liberty_header("liberty", 1, ord("C"), 0, 34) == b"LY\x01C\x00\x00\x22\x00"
    assert encode_liberty_header("patriot", 2, ord("P"), 0, 26) == b"PA\x02P\x00\x00\x1a\x00"
    fmt = RecordFormat("liberty", (8, 9, 2, 7, 1), True)
    assert fmt.length == 8 + 4 + 4 + 12 + 16 + 2
    data = encode_liberty_record(fmt, 3, ord("C"), 0, sample((1.5, -2.0, 3.25), frame=4242, timestamp_ms=17675))
    assert data[:8] == b"LY\x03C\x00\x00\x26\x00"
    assert struct.unpack_from("<II3f4f", data, 8) == (17675, 4242, 1.5, -2.0, 3.25, 1.0, 0.0, 0.0, 0.0)
    rec = decode_liberty_record(data, fmt)
    assert (rec.station, rec.frame_count, rec.timestamp_ms, rec.command) == (3, 4242, 17675, ord("C"))


def test_liberty_ascii_is_refused():
    with pytest.raises(ValueError, match="binary"):
        RecordFormat("liberty", (2, 4, 1), False)


# ----- reader -----------------------------------------------------------------------------------------------
def _binary_records_with_newline_bytes():
    """Binary FASTRAK records whose float bytes contain 0x0A and 0x0D (a newline splitter breaks here)."""
    fmt = RecordFormat("fastrak", (2, 4, 1), True)
    value = struct.unpack("<f", b"\x0d\x0a\x30\x41")[0]  # bytes CR LF '0' 'A'
    recs = [encode_fastrak_record(s, " ", fmt, sample((value, -value, 1.0)), "cm") for s in (1, 2, 1, 2)]
    assert all(b"\r\n" in r[:-2] for r in recs)
    return fmt, recs, value


def test_reader_never_splits_on_newlines_and_resyncs_after_garbage():
    fmt, recs, value = _binary_records_with_newline_bytes()
    garbage = b"\x00\xff01\r\n0\x13junk0"
    reader = RecordReader("fastrak", {1: fmt, 2: fmt}, "cm")
    stream = recs[0] + garbage + recs[1] + recs[2][:7] + garbage + recs[3]
    got = []
    for i in range(0, len(stream), 5):  # arrive in small, unaligned chunks
        reader.feed(stream[i:i + 5])
        while (rec := reader.next_record()) is not None:
            got.append(rec)
    assert [r.station for r in got] == [1, 2, 2]  # the truncated third record is dropped
    np.testing.assert_allclose(got[0].values["position"], (value, -value, 1.0))
    assert reader.counters.resyncs >= 2
    assert reader.counters.skipped_bytes >= 2 * len(garbage)


def test_reader_resyncs_on_liberty_magic():
    fmt = RecordFormat("liberty", (9, 2, 7, 1), True)
    recs = [encode_liberty_record(fmt, s, ord("C"), 0, sample((s, 0, 0), frame=10)) for s in (1, 2)]
    station_map = encode_liberty_header("liberty", 0, 0x15, 0, 4) + b"\x03\x00\x03\x00"
    reader = RecordReader("liberty", {1: fmt, 2: fmt}, "inch")
    reader.feed(b"LYxx\x01garbage" + recs[0] + station_map + b"L" + recs[1])
    got = [reader.next_record(), reader.next_record(), reader.next_record()]
    assert [r.station for r in got[:2]] == [1, 2] and got[2] is None
    assert reader.counters.other_records == 1 and reader.counters.resyncs >= 2
