"""BX binary tracking reply: encode (emulator) and decode (driver), all little-endian.

Layout (NDI API guide; ndicapi ``ndiBXHelper``): header ``C4 A5`` (0xA5C4), uint16 body length,
uint16 CRC-16/ARC of those 4 bytes; body = uint8 handle count, per handle uint8 handle + uint8
status (01 valid / 02 missing / 04 disabled); valid -> 8 x float32 (q0 qx qy qz, tx ty tz mm,
RMS mm); valid and missing -> uint32 port status + uint32 frame number; disabled -> nothing more;
[option 1000: uint8 stray count, ceil(n/8) out-of-volume bytes, n x 3 float32]; uint16 system
status. Trailer: uint16 CRC-16/ARC of the body. Total on the wire = body length + 8.
"""

from __future__ import annotations

import struct

from ..errors import ProtocolError
from .commands import CrcMismatch
from .crc import crc16_arc
from .replies import (BX_STATE_CODES, REPLY_PASSIVE_STRAY, HandleReport,
                      HandleState, StrayMarker, TrackingFrame, check_reply_options)

__all__ = ["BX_START", "BX_HEADER_SIZE", "encode_bx", "decode_bx", "bx_header_length"]

BX_START = b"\xc4\xa5"
BX_HEADER_SIZE = 6
_STATES_BY_CODE = {code: state for state, code in BX_STATE_CODES.items()}
_HEADER = struct.Struct("<HHH")
_POSE = struct.Struct("<8f")
_STATUS_FRAME = struct.Struct("<II")
_XYZ = struct.Struct("<3f")


def encode_bx(frame: TrackingFrame, *, options: int = 0x0801) -> bytes:
    """Bytes of a whole BX reply (header, body, body CRC) for ``frame``."""
    check_reply_options(options)
    body = bytearray([len(frame.handles)])
    for report in frame.handles:
        if report.state not in BX_STATE_CODES:
            raise ValueError(f"handle {report.handle:02X}: BX cannot express {report.state.value}")
        body += bytes([report.handle, BX_STATE_CODES[report.state]])
        if report.state is HandleState.DISABLED:
            continue
        if report.state is HandleState.VALID:
            q, t, rms = report.quaternion, report.translation_mm, report.rms_mm
            if q is None or t is None or rms is None:
                raise ValueError(f"handle {report.handle:02X}: a VALID report needs a pose and its RMS")
            body += _POSE.pack(*q, *t, rms)
        if report.port_status is None or report.frame_number is None:
            raise ValueError(f"handle {report.handle:02X}: BX needs a port status and a frame number")
        body += _STATUS_FRAME.pack(report.port_status & 0xFFFFFFFF,
                                   report.frame_number & 0xFFFFFFFF)
    if options & REPLY_PASSIVE_STRAY:
        strays = frame.strays
        if len(strays) > 255:
            raise ValueError("BX can report at most 255 stray markers")
        bits = sum(1 << i for i, m in enumerate(strays) if m.out_of_volume)
        body.append(len(strays))
        body += bits.to_bytes((len(strays) + 7) // 8, "little")
        for marker in strays:
            body += _XYZ.pack(*marker.position_mm)
    body += struct.pack("<H", frame.system_status & 0xFFFF)
    if len(body) > 0xFFFF:
        raise ValueError("BX body longer than 65535 bytes")
    head = struct.pack("<HH", 0xA5C4, len(body))
    head += struct.pack("<H", crc16_arc(head))
    return head + bytes(body) + struct.pack("<H", crc16_arc(body))


def bx_header_length(header: bytes) -> int:
    """Body length from a 6-byte BX header, after checking start bytes and header CRC."""
    if len(header) < BX_HEADER_SIZE:
        raise ProtocolError(f"BX header needs 6 bytes, got {len(header)}")
    start, length, header_crc = _HEADER.unpack_from(header)
    if start != 0xA5C4:
        raise ProtocolError(f"BX reply does not start with C4 A5: {bytes(header[:2]).hex(' ')}")
    actual = crc16_arc(header[:4])
    if actual != header_crc:
        raise CrcMismatch(f"BX header CRC mismatch: sent {header_crc:04X}, computed {actual:04X}")
    return length


def decode_bx(reply: bytes, *, options: int = 0x0801) -> TrackingFrame:
    """Decode one complete BX reply (exactly ``length + 8`` bytes) sent for ``BX:<options>``.

    Raises :class:`CrcMismatch` for a header or body CRC failure and ``ProtocolError`` for any
    other inconsistency; nothing from such a reply may be used.
    """
    check_reply_options(options)
    length = bx_header_length(reply)
    if len(reply) != length + 8:
        raise ProtocolError(f"BX reply is {len(reply)} bytes, header says {length + 8}")
    body = memoryview(reply)[BX_HEADER_SIZE:BX_HEADER_SIZE + length]
    (body_crc,) = struct.unpack_from("<H", reply, BX_HEADER_SIZE + length)
    actual = crc16_arc(body)
    if actual != body_crc:
        raise CrcMismatch(f"BX body CRC mismatch: sent {body_crc:04X}, computed {actual:04X}")
    try:
        return _parse_body(body, options)
    except struct.error as exc:
        raise ProtocolError(f"BX body shorter than its content ({length} bytes)") from exc


def _parse_body(body: memoryview, options: int) -> TrackingFrame:
    count = body[0]
    pos = 1
    handles = []
    for _ in range(count):
        handle, code = body[pos], body[pos + 1]
        pos += 2
        state = _STATES_BY_CODE.get(code)
        if state is None:
            raise ProtocolError(f"BX handle {handle:02X} has unknown status byte 0x{code:02X}")
        if state is HandleState.DISABLED:
            handles.append(HandleReport(handle, state))
            continue
        quaternion = translation = rms = None
        if state is HandleState.VALID:
            q0, qx, qy, qz, tx, ty, tz, rms = _POSE.unpack_from(body, pos)
            quaternion, translation = (q0, qx, qy, qz), (tx, ty, tz)
            pos += _POSE.size
        port_status, frame_number = _STATUS_FRAME.unpack_from(body, pos)
        pos += _STATUS_FRAME.size
        handles.append(HandleReport(handle, state, quaternion, translation, rms,
                                    port_status, frame_number))
    strays: list[StrayMarker] = []
    if options & REPLY_PASSIVE_STRAY:
        n = body[pos]
        pos += 1
        n_bits = (n + 7) // 8
        bits = int.from_bytes(bytes(body[pos:pos + n_bits]), "little")
        pos += n_bits
        for i in range(n):
            strays.append(StrayMarker(_XYZ.unpack_from(body, pos), bool(bits >> i & 1)))
            pos += _XYZ.size
    (system_status,) = struct.unpack_from("<H", body, pos)
    pos += 2
    if pos != len(body):
        raise ProtocolError(f"BX body has {len(body) - pos} unexplained trailing bytes")
    return TrackingFrame(tuple(handles), system_status, tuple(strays))

