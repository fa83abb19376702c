"""OpenIGTLink wire format: 58-byte header, CRC-64, TRANSFORM / POSITION / STATUS bodies.

Follows the OpenIGTLink protocol documents (openigtlink/OpenIGTLink ``Documents/Protocol/header.md``,
``transform.md``, ``position.md``, ``status.md``). All numbers are
big-endian. Header: uint16 version, char[12] type, char[20] device name, uint64 timestamp (upper
32 bits seconds since 1970, lower 32 bits fraction of a second in 2^-32 units), uint64 body size,
uint64 CRC-64/ECMA-182 of the body (polynomial 0x42F0E1EBA9EA3693, not reflected, init 0, no final
XOR; check value of "123456789" = 0x6C40DF5F0B497347). Header version 2 (protocol v3) bodies start
with a 12-byte extended header and end with key/value metadata; version 1 has neither.
TRANSFORM = 12 float32 in column-major order (R11 R21 R31 R12 ... TX TY TZ, mm): 106 bytes in all.
POSITION = X Y Z (mm) then quaternion OX OY OZ W (scalar last).
"""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import ProtocolError

__all__ = [
    "HEADER_SIZE", "IgtlHeader", "IgtlMessage", "crc64", "pack_message", "parse_header", "unpack_body",
    "pack_transform", "unpack_transform", "unpack_position", "pack_status", "unpack_status",
    "timestamp_to_igtl", "igtl_to_timestamp", "MAX_BODY_SIZE",
]

HEADER_SIZE = 58
MAX_BODY_SIZE = 256 * 1024 * 1024  # anything larger is a corrupt header, not an image
_HEADER = struct.Struct(">H12s20sQQQ")
_EXT_HEADER = struct.Struct(">HHII")
_POLY = 0x42F0E1EBA9EA3693
_MASK64 = 0xFFFFFFFFFFFFFFFF


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 56
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) & _MASK64 if crc & (1 << 63) else (crc << 1) & _MASK64
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC-64/ECMA-182 (MSB first, init 0, no final XOR), table driven."""
    table = _TABLE
    for b in data:
        crc = table[((crc >> 56) ^ b) & 0xFF] ^ ((crc << 8) & _MASK64)
    return crc


def timestamp_to_igtl(t_s: float) -> int:
    """Seconds since 1970 -> 32.32 fixed point. The fraction is built bit by bit from halvings of
    10^9 ns, as in the reference library, so that our bytes match other implementations'."""
    if not math.isfinite(t_s) or t_s < 0:
        raise ValueError(f"OpenIGTLink timestamp must be >= 0 seconds, got {t_s}")
    seconds = int(t_s)
    nanoseconds = int((t_s - seconds) * 1e9)
    fraction, step = 0, 1_000_000_000
    for bit in range(31, -1, -1):
        step = (step + 1) >> 1
        if nanoseconds >= step:
            fraction |= 1 << bit
            nanoseconds -= step
    return (seconds & 0xFFFFFFFF) << 32 | fraction


def igtl_to_timestamp(value: int) -> float:
    seconds, fraction = value >> 32, value & 0xFFFFFFFF
    nanoseconds, step = 0, 1_000_000_000
    for bit in range(31, -1, -1):
        step = (step + 1) >> 1
        if fraction & (1 << bit):
            nanoseconds += step
    return seconds + nanoseconds * 1e-9


@dataclass(frozen=True)
class IgtlHeader:
    version: int
    type_name: str
    device_name: str
    timestamp_s: float
    body_size: int
    crc: int


@dataclass(frozen=True)
class IgtlMessage:
    """A received message: header fields, content (without extended header / metadata), metadata."""

    header: IgtlHeader
    content: bytes
    metadata: dict[str, str] = field(default_factory=dict)
    crc_ok: bool = True

    @property
    def type_name(self) -> str:
        return self.header.type_name

    @property
    def device_name(self) -> str:
        return self.header.device_name


def _name_field(text: str, size: int, what: str) -> bytes:
    raw = text.encode("ascii", errors="strict") if text.isascii() else b""
    if not raw or len(raw) > size or b"\0" in raw:
        raise ValueError(f"OpenIGTLink {what} must be 1-{size} ASCII characters, got {text!r}")
    return raw


def pack_message(type_name: str, device_name: str, content: bytes, timestamp_s: float | None = None,
                 header_version: int = 1, metadata: dict[str, str] | None = None, message_id: int = 0) -> bytes:
    """Whole message bytes: header + body (+ extended header and metadata for version 2)."""
    type_raw = _name_field(type_name, 12, "message type")
    device_raw = _name_field(device_name, 20, "device name")
    if header_version == 1:
        if metadata:
            raise ValueError("metadata needs header version 2")
        body = bytes(content)
    elif header_version == 2:
        meta_header, meta_body = bytearray(struct.pack(">H", len(metadata or {}))), bytearray()
        for key, value in (metadata or {}).items():
            k, v = key.encode("utf-8"), value.encode("utf-8")
            meta_header += struct.pack(">HHI", len(k), 3 if value.isascii() else 106, len(v))
            meta_body += k + v
        body = (_EXT_HEADER.pack(12, len(meta_header), len(meta_body), message_id) + bytes(content)
                + bytes(meta_header) + bytes(meta_body))
    else:
        raise ValueError(f"OpenIGTLink header version must be 1 or 2, got {header_version}")
    stamp = timestamp_to_igtl(time.time() if timestamp_s is None else timestamp_s)
    return _HEADER.pack(header_version, type_raw, device_raw, stamp, len(body), crc64(body)) + body


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace").strip()


def parse_header(data: bytes) -> IgtlHeader:
    """Parse 58 header bytes; raises ProtocolError for a header no peer would send."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"OpenIGTLink header needs {HEADER_SIZE} bytes, got {len(data)}")
    version, type_raw, device_raw, stamp, size, crc = _HEADER.unpack_from(data)
    type_name = _text(type_raw)
    if version not in (1, 2) or not type_name or size > MAX_BODY_SIZE:
        raise ProtocolError(f"unreadable OpenIGTLink header (version {version}, type {type_raw!r}, "
                            f"body size {size})")
    return IgtlHeader(version, type_name, _text(device_raw), igtl_to_timestamp(stamp), size, crc)


def unpack_body(header: IgtlHeader, body: bytes) -> IgtlMessage:
    """Split a body into content and metadata; checks the CRC (``crc_ok``)."""
    crc_ok = crc64(body) == header.crc
    if header.version == 1:
        return IgtlMessage(header, bytes(body), {}, crc_ok)
    if len(body) < _EXT_HEADER.size:
        raise ProtocolError("OpenIGTLink v2 body shorter than its extended header")
    ext_size, meta_header_size, meta_size, _message_id = _EXT_HEADER.unpack_from(body)
    end = len(body) - meta_header_size - meta_size
    if ext_size < _EXT_HEADER.size or end < ext_size:
        raise ProtocolError("OpenIGTLink v2 extended header sizes do not fit the body")
    metadata: dict[str, str] = {}
    if meta_header_size >= 2:
        count = struct.unpack_from(">H", body, end)[0]
        pos = end + meta_header_size
        for k in range(count):
            key_size, _encoding, value_size = struct.unpack_from(">HHI", body, end + 2 + 8 * k)
            key = body[pos:pos + key_size].decode("utf-8", errors="replace")
            value = body[pos + key_size:pos + key_size + value_size].decode("utf-8", errors="replace")
            metadata[key] = value
            pos += key_size + value_size
    return IgtlMessage(header, bytes(body[ext_size:end]), metadata, crc_ok)


def pack_transform(device_name: str, matrix: np.ndarray, timestamp_s: float | None = None,
                   header_version: int = 1, metadata: dict[str, str] | None = None) -> bytes:
    """TRANSFORM message for a 4x4 (mm)."""
    m = np.asarray(matrix, dtype=float)
    if m.shape != (4, 4):
        raise ValueError(f"a TRANSFORM needs a 4x4 matrix, got shape {m.shape}")
    values = [m[r, c] for c in range(4) for r in range(3)]
    return pack_message("TRANSFORM", device_name, struct.pack(">12f", *values), timestamp_s, header_version,
                        metadata)


def unpack_transform(content: bytes) -> np.ndarray:
    if len(content) != 48:
        raise ProtocolError(f"TRANSFORM body must be 48 bytes, got {len(content)}")
    v = struct.unpack(">12f", content)
    m = np.eye(4)
    for c in range(4):
        m[0:3, c] = v[3 * c:3 * c + 3]
    return m


def unpack_position(content: bytes) -> np.ndarray:
    """POSITION (28 bytes: X Y Z, OX OY OZ W) -> 4x4."""
    if len(content) != 28:
        raise ProtocolError(f"POSITION body must be 28 bytes, got {len(content)}")
    x, y, z, qx, qy, qz, w = struct.unpack(">7f", content)
    n = math.sqrt(qx * qx + qy * qy + qz * qz + w * w)
    if not math.isfinite(n) or n < 1e-6:
        raise ProtocolError("POSITION quaternion is zero or not finite")
    qx, qy, qz, w = qx / n, qy / n, qz / n, w / n
    m = np.eye(4)
    m[:3, :3] = [[1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - w * qz), 2 * (qx * qz + w * qy)],
                 [2 * (qx * qy + w * qz), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - w * qx)],
                 [2 * (qx * qz - w * qy), 2 * (qy * qz + w * qx), 1 - 2 * (qx * qx + qy * qy)]]
    m[:3, 3] = (x, y, z)
    return m


def pack_status(device_name: str, code: int, error_name: str = "", message: str = "", sub_code: int = 0,
                timestamp_s: float | None = None) -> bytes:
    content = struct.pack(">Hq20s", code, sub_code, error_name.encode("ascii")[:20]) + message.encode() + b"\0"
    return pack_message("STATUS", device_name, content, timestamp_s)


def unpack_status(content: bytes) -> tuple[int, str, str]:
    """STATUS -> (code, error name, message). Code 1 = OK."""
    if len(content) < 30:
        raise ProtocolError(f"STATUS body must be at least 30 bytes, got {len(content)}")
    code, _sub, name = struct.unpack_from(">Hq20s", content)
    return code, _text(name), content[30:].split(b"\0", 1)[0].decode("utf-8", errors="replace")
