"""OpenIGTLink codec: the worked 106-byte TRANSFORM, CRC-64, timestamps, v2 metadata, POSITION, STATUS."""

import math
import struct

import numpy as np
import pyigtl
import pytest

from tmsnav.hardware.errors import ProtocolError
from tmsnav.hardware.igtl.protocol import (crc64, igtl_to_timestamp, pack_message, pack_status, pack_transform,
                                           parse_header, timestamp_to_igtl, unpack_body, unpack_position,
                                           unpack_status, unpack_transform)

# OpenIGTLink protocol spec worked example: header v1, device "Tracker", timestamp 0, identity, T = (10.5, -20.25, 300)
WORKED_EXAMPLE = bytes.fromhex(
    "0001" "5452414e53464f524d000000" "547261636b6572" + "00" * 13 + "00" * 8 + "0000000000000030"
    "0169ecc2d6bf80e8"
    "3f800000" "00000000" "00000000" "00000000" "3f800000" "00000000" "00000000" "00000000" "3f800000"
    "41280000" "c1a20000" "43960000")


def random_rigid(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    m = np.eye(4)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                 [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                 [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = rng.uniform(-300, 300, 3)
    return m


def test_crc64_check_value():
    assert crc64(b"123456789") == 0x6C40DF5F0B497347
    assert crc64(b"") == 0


def test_worked_transform_example_byte_for_byte():
    m = np.eye(4)
    m[:3, 3] = [10.5, -20.25, 300.0]
    data = pack_transform("Tracker", m, timestamp_s=0.0)
    assert len(data) == 106
    assert data == WORKED_EXAMPLE
    header = parse_header(data[:58])
    assert (header.version, header.type_name, header.device_name, header.body_size) == (1, "TRANSFORM", "Tracker", 48)
    assert header.crc == 0x0169ECC2D6BF80E8
    msg = unpack_body(header, data[58:])
    assert msg.crc_ok
    np.testing.assert_array_equal(unpack_transform(msg.content), m)


def test_column_major_order_of_the_body():
    m = np.eye(4)
    m[0, 1], m[1, 0] = -1.0, 1.0  # 90 deg about z
    m[0, 0] = m[1, 1] = 0.0
    body = pack_transform("CoilToTracker", m, 0.0)[58:]
    assert struct.unpack(">3f", body[:12]) == (0.0, 1.0, 0.0)  # first column R11 R21 R31


def test_same_bytes_as_pyigtl_for_random_poses_and_times():
    rng = np.random.default_rng(11)
    for _ in range(20):
        m = random_rigid(rng)
        t = float(rng.uniform(0, 2e9))
        ours = pack_transform("StylusToTracker", m, t)
        theirs = pyigtl.TransformMessage(m, timestamp=t, device_name="StylusToTracker").pack()
        assert ours == theirs


def test_header_v2_metadata_round_trip_with_pyigtl():
    m = random_rigid(np.random.default_rng(2))
    msg = pyigtl.TransformMessage(m, timestamp=5.25, device_name="CoilToTracker")
    msg.header_version = 2
    msg.metadata = {"TransformStatus": "OUT_OF_VOLUME", "TransformValid": "false"}
    data = msg.pack()
    assert data == pack_transform("CoilToTracker", m, 5.25, 2, dict(msg.metadata))
    parsed = unpack_body(parse_header(data[:58]), data[58:])
    assert parsed.metadata == {"TransformStatus": "OUT_OF_VOLUME", "TransformValid": "false"}
    np.testing.assert_allclose(unpack_transform(parsed.content), m, atol=1e-4)


def test_timestamp_fixed_point():
    assert timestamp_to_igtl(1.5) == (1 << 32) | 0x80000000
    for t in (0.0, 1.0, 1700000000.25, 123.456789):
        assert igtl_to_timestamp(timestamp_to_igtl(t)) == pytest.approx(t, abs=2e-9)
    with pytest.raises(ValueError):
        timestamp_to_igtl(-1.0)


def test_corrupt_body_fails_the_crc():
    data = bytearray(pack_transform("Tracker", np.eye(4), 0.0))
    data[70] ^= 0x01
    assert not unpack_body(parse_header(bytes(data[:58])), bytes(data[58:])).crc_ok


def test_unreadable_headers_are_refused():
    good = pack_transform("Tracker", np.eye(4), 0.0)
    with pytest.raises(ProtocolError, match="version 7"):
        parse_header(b"\x00\x07" + good[2:58])
    huge = good[:42] + struct.pack(">Q", 1 << 40) + good[50:58]
    with pytest.raises(ProtocolError, match="body size"):
        parse_header(huge)
    with pytest.raises(ValueError, match="device name"):
        pack_transform("ThisDeviceNameIsFarTooLong", np.eye(4))


def test_position_message_is_scalar_last():
    s = math.sqrt(0.5)
    content = struct.pack(">7f", 1.0, 2.0, 3.0, 0.0, 0.0, s, s)  # 90 deg about z, W last
    m = unpack_position(content)
    np.testing.assert_allclose(m[:3, :3] @ [1, 0, 0], [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(m[:3, 3], [1, 2, 3])
    with pytest.raises(ProtocolError):
        unpack_position(content[:12])


def test_status_message_round_trip():
    data = pack_status("CoilToTracker", 16, "NotPresent", "coil cable unplugged", timestamp_s=3.0)
    msg = unpack_body(parse_header(data[:58]), data[58:])
    assert msg.crc_ok and msg.type_name == "STATUS"
    assert unpack_status(msg.content) == (16, "NotPresent", "coil cable unplugged")


def test_v1_refuses_metadata():
    with pytest.raises(ValueError, match="version 2"):
        pack_message("TRANSFORM", "X", b"\0" * 48, 0.0, 1, {"a": "b"})
