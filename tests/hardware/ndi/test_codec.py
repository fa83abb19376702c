"""NDI wire codec: CRC vectors, command framing, BX/TX/PHSR round trips, worked byte examples.

Known values are the worked examples of docs/hardware-ndi.md (each recomputed with two CRC
algorithms) and the standard CRC-16/ARC check value.
"""

import math

import numpy as np
import pytest

from tmsnav.hardware.errors import ProtocolError
from tmsnav.hardware.ndi.bx import decode_bx, encode_bx
from tmsnav.hardware.ndi.commands import (CommandError, CrcMismatch, comm_parameters, describe_error,
                                          encode_command, error_code_of, frame_ascii_reply,
                                          parse_ascii_reply, parse_command)
from tmsnav.hardware.ndi.crc import crc16_arc, crc16_hex
from tmsnav.hardware.ndi.replies import (HandleReport, HandleState, StrayMarker, TrackingFrame,
                                         decode_phsr, encode_phsr, matrix_to_quaternion, pose_matrix,
                                         quaternion_to_matrix)
from tmsnav.hardware.ndi.tx import decode_tx, encode_tx, format_transform

NOTES_CRC_TABLE = {
    "RESET": "BE6F", "OKAY": "A896", "INIT:": "E3A5", "VER:0": "65EE", "TSTART:": "5423",
    "TSTOP:": "2C14", "COMM:50000": "0048", "PHSR:01": "E03E", "PHSR:02": "E17E",
    "PHSR:03": "21BF", "PINIT:01": "31EA", "PENA:01D": "6D3B", "PHRQ:*********1****": "A4C1",
    "BX:0801": "00EC", "TX:0801": "C19B", "GETINFO:Features.Firmware.Version": "0492",
    "ERROR01": "6BC2",
}

# The notes' worked BX example: handle 01 valid, identity, T=(10.5,-20.25,300), RMS 0.1234,
# port status 0x31, frame 1000, system status 0.
WORKED_BX = bytes.fromhex(
    "c4a52d003043" "01" "0101" "0000803f000000000000000000000000"
    "00002841 0000a2c1 00009643 24b9fc3d".replace(" ", "") + "31000000" "e8030000" "0000" "d427")
WORKED_REPORT = HandleReport(1, HandleState.VALID, (1.0, 0.0, 0.0, 0.0), (10.5, -20.25, 300.0),
                             0.1234, 0x31, 1000)


def test_crc_check_value_and_every_worked_value_in_the_notes():
    assert crc16_arc(b"123456789") == 0xBB3D
    for text, expected in NOTES_CRC_TABLE.items():
        assert crc16_hex(text) == expected, text


def test_crc_of_data_plus_its_le_crc_is_zero():
    body = WORKED_BX[6:-2]
    assert crc16_arc(body + crc16_arc(body).to_bytes(2, "little")) == 0


def test_command_encoding_matches_wire_bytes():
    assert encode_command("INIT") == b"INIT:E3A5\r"
    assert encode_command("VER", "0") == b"VER:065EE\r"
    assert encode_command("BX", "0801") == b"BX:080100EC\r"
    assert encode_command("TX", "0801") == b"TX:0801C19B\r"
    assert encode_command("COMM", comm_parameters(115200)) == b"COMM:500000048\r"
    assert encode_command("INIT", with_crc=False) == b"INIT\r"
    assert comm_parameters(230400) == "A0000" and comm_parameters(9600) == "00000"
    with pytest.raises(ValueError, match="115200"):
        comm_parameters(12345)


def test_parse_command_checks_crc_and_accepts_lower_case_handles():
    parsed = parse_command(b"PINIT:0c" + crc16_hex("PINIT:0c").encode())
    assert parsed.name == "PINIT" and parsed.params == "0c" and parsed.had_crc
    assert parse_command(b"INIT").params == "" and not parse_command(b"INIT").had_crc
    assert parse_command(b"PENA 01D").params == "01D"
    with pytest.raises(CommandError) as err:
        parse_command(b"INIT:E3A6")
    assert err.value.code == 0x04
    with pytest.raises(CommandError) as err:
        parse_command(b"INIT:")
    assert err.value.code == 0x04
    with pytest.raises(CommandError) as err:
        parse_command(b"\x00\xff")
    assert err.value.code == 0x01


def test_ascii_reply_framing_and_errors_in_words():
    assert frame_ascii_reply("OKAY") == b"OKAYA896\r"
    assert frame_ascii_reply("ERROR01") == b"ERROR016BC2\r"
    assert parse_ascii_reply(b"RESETBE6F\r") == "RESET"
    with pytest.raises(CrcMismatch):
        parse_ascii_reply(b"OKAYA897\r")
    with pytest.raises(ProtocolError):
        parse_ascii_reply(b"OK\r")
    assert error_code_of("ERROR40") == 0x40 and error_code_of("OKAY") is None
    assert "tool definition" in describe_error(0x40)
    assert "not initialised" in describe_error(0x10)
    assert "current mode" in describe_error(0x0C)
    assert "unknown" in describe_error(0x9E)


def test_worked_bx_example_round_trips_byte_for_byte():
    frame = decode_bx(WORKED_BX)
    (report,) = frame.handles
    assert report.state is HandleState.VALID and report.handle == 1
    assert report.translation_mm == (10.5, -20.25, 300.0)
    assert report.rms_mm == pytest.approx(0.1234, abs=1e-7)
    assert (report.port_status, report.frame_number, frame.system_status) == (0x31, 1000, 0)
    assert encode_bx(frame) == WORKED_BX
    assert encode_bx(TrackingFrame((WORKED_REPORT,))) == WORKED_BX


def test_every_single_bit_flip_of_a_bx_reply_is_rejected():
    for bit in range(len(WORKED_BX) * 8):
        damaged = bytearray(WORKED_BX)
        damaged[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ProtocolError):
            decode_bx(bytes(damaged))


def test_bx_missing_and_disabled_blocks_have_the_documented_sizes():
    frame = TrackingFrame((
        HandleReport(1, HandleState.VALID, (1, 0, 0, 0), (0, 0, -1500), 0.1, 0x31, 7),
        HandleReport(2, HandleState.MISSING, port_status=0x31, frame_number=7),
        HandleReport(3, HandleState.DISABLED),
    ), system_status=0x0002)
    data = encode_bx(frame)
    body_len = 1 + (2 + 32 + 8) + (2 + 8) + 2 + 2
    assert len(data) == body_len + 8 and int.from_bytes(data[2:4], "little") == body_len
    decoded = decode_bx(data)
    assert [h.state for h in decoded.handles] == [HandleState.VALID, HandleState.MISSING,
                                                  HandleState.DISABLED]
    assert decoded.handles[1].quaternion is None and decoded.handles[2].frame_number is None
    assert decoded.system_status == 2 and decoded.frame_number == 7


def test_worked_tx_transform_field():
    assert format_transform((1, 0, 0, 0), (10.5, -20.25, 300.0), 0.1234) == \
        "+10000+00000+00000+00000+001050-002025+030000+01234"


def test_tx_reply_layout_and_crc():
    frame = TrackingFrame((WORKED_REPORT, HandleReport(2, HandleState.MISSING, port_status=0x31,
                                                       frame_number=1000),
                           HandleReport(3, HandleState.DISABLED)), system_status=0)
    data = encode_tx(frame)
    payload = ("03" "01+10000+00000+00000+00000+001050-002025+030000+01234" "00000031" "000003E8\n"
               "02MISSING" "00000031" "000003E8\n" "03DISABLED\n" "0000")
    assert data == payload.encode() + crc16_hex(payload).encode() + b"\r"
    assert b"\r" not in data[:-1]
    assert decode_tx(data) == frame
    with pytest.raises(CrcMismatch):
        decode_tx(data[:10] + b"7" + data[11:])


def test_tx_accepts_unoccupied_with_and_without_status():
    payload = "0201UNOCCUPIED\n02UNOCCUPIED0000000000000010\n0000"
    frame = decode_tx(frame_ascii_reply(payload))
    assert [h.state for h in frame.handles] == [HandleState.UNOCCUPIED] * 2
    assert frame.handles[1].frame_number == 0x10


def _random_frame(rng: np.random.Generator, with_strays: bool) -> TrackingFrame:
    reports = []
    for handle in rng.choice(np.arange(1, 256), size=int(rng.integers(0, 6)), replace=False):
        state = [HandleState.VALID, HandleState.MISSING, HandleState.DISABLED][rng.integers(3)]
        frame_number = int(rng.integers(0, 2**32))
        status = int(rng.integers(0, 256))
        if state is HandleState.VALID:
            q = rng.normal(size=4)
            q /= np.linalg.norm(q)
            translation = tuple(rng.uniform(-3000, 3000, 3))
            reports.append(HandleReport(int(handle), state, tuple(q), translation,
                                        float(rng.uniform(0, 2)), status, frame_number))
        elif state is HandleState.MISSING:
            reports.append(HandleReport(int(handle), state, port_status=status,
                                        frame_number=frame_number))
        else:
            reports.append(HandleReport(int(handle), state))
    strays = tuple(StrayMarker(tuple(rng.uniform(-2000, 2000, 3)), bool(rng.integers(2)))
                   for _ in range(int(rng.integers(0, 12)))) if with_strays else ()
    return TrackingFrame(tuple(reports), int(rng.integers(0, 2**16)), strays)


@pytest.mark.parametrize("seed", range(40))
def test_bx_and_tx_round_trip_random_frames(seed):
    rng = np.random.default_rng(seed)
    with_strays = bool(seed % 2)
    options = 0x1801 if with_strays else 0x0801
    frame = _random_frame(rng, with_strays)
    bx = encode_bx(frame, options=options)
    back = decode_bx(bx, options=options)
    assert encode_bx(back, options=options) == bx
    for a, b in zip(frame.handles, back.handles):
        assert (a.handle, a.state, a.port_status, a.frame_number) == \
            (b.handle, b.state, b.port_status, b.frame_number)
        if a.state is HandleState.VALID:
            np.testing.assert_allclose(b.translation_mm, a.translation_mm, rtol=1e-6)
            np.testing.assert_allclose(b.quaternion, a.quaternion, atol=1e-7)
    assert len(back.strays) == len(frame.strays)
    assert [s.out_of_volume for s in back.strays] == [s.out_of_volume for s in frame.strays]
    tx = encode_tx(frame, options=options)
    back_tx = decode_tx(tx, options=options)
    assert encode_tx(back_tx, options=options) == tx
    for a, b in zip(frame.handles, back_tx.handles):
        if a.state is HandleState.VALID:
            np.testing.assert_allclose(b.translation_mm, a.translation_mm, atol=0.005 + 1e-9)
            np.testing.assert_allclose(b.quaternion, a.quaternion, atol=0.5e-4 + 1e-12)
    for a, b in zip(frame.strays, back_tx.strays):
        np.testing.assert_allclose(b.position_mm, a.position_mm, atol=0.005 + 1e-9)


def test_unsupported_reply_options_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="0002"):
        encode_bx(TrackingFrame(()), options=0x0003)
    with pytest.raises(ValueError, match="0001"):
        decode_tx(frame_ascii_reply("000000"), options=0x0800)


def test_phsr_round_trip():
    entries = [(0x01, 0x031), (0x0A, 0x001), (0xFF, 0xFFF)]
    payload = encode_phsr(entries)
    assert payload == "0301031" "0A001" "FFFFF"
    assert decode_phsr(payload) == entries
    assert decode_phsr("00") == []
    with pytest.raises(ProtocolError):
        decode_phsr("0201031")


def test_quaternion_q0_first_rotates_x_onto_y_for_plus_90_about_z():
    half = math.sqrt(0.5)
    rotation = quaternion_to_matrix((half, 0.0, 0.0, half))
    np.testing.assert_allclose(rotation @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(rotation @ [0, 1, 0], [-1, 0, 0], atol=1e-12)
    tracker_from_tool = pose_matrix((half, 0.0, 0.0, half), (10.0, -20.0, 30.0))
    np.testing.assert_allclose(tracker_from_tool @ [1, 0, 0, 1], [10, -19, 30, 1], atol=1e-12)
    with pytest.raises(ProtocolError):
        quaternion_to_matrix((0.0, 0.0, 0.0, 0.0))


@pytest.mark.parametrize("seed", range(10))
def test_matrix_quaternion_round_trip(seed):
    rng = np.random.default_rng(100 + seed)
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    q *= np.sign(q[0])
    rotation = quaternion_to_matrix(q)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(matrix_to_quaternion(rotation), q, atol=1e-12)


def test_fast_crc_agrees_with_the_table_on_random_data_and_continuation():
    from tmsnav.hardware.ndi.crc import crc16_arc, crc16_arc_table

    rng = np.random.default_rng(11)
    for n in (0, 1, 7, 64, 179, 1000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc16_arc(data) == crc16_arc_table(data)
        half = n // 2
        assert crc16_arc(data[half:], crc16_arc(data[:half])) == crc16_arc_table(data)
