"""Liberty / Patriot binary records: 8-byte header + float32/uint32/int32 payload (little-endian).

Header (polhemus_ros_driver ``liberty_protocol.h``; vrpn ``vrpn_Tracker_Liberty.C``): ``LY``
(Liberty) or ``PA`` (Patriot), station (1-based byte), code of the command that produced the
record (``'C'`` 67 continuous, ``'P'`` 80 single record, 21 the ^U station map), error byte (0 = no
error), reserved byte, uint16 payload size. The payload follows the station's output list
(item table in :mod:`.records`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .records import _FLOAT, _LIBERTY_ITEMS, LIBERTY_HEADER_SIZE, LIBERTY_MAGIC, PolhemusRecord, RecordError
from .records import RecordFormat, SensorSample, _check_plausible, _sample_values, check_separator

__all__ = ["LibertyHeader", "encode_liberty_header", "decode_liberty_header", "encode_liberty_record",
           "decode_liberty_record"]


@dataclass(frozen=True)
class LibertyHeader:
    model: str
    station: int
    command: int
    error: int
    payload_size: int


def encode_liberty_header(model: str, station: int, command: int, error: int, payload_size: int) -> bytes:
    return LIBERTY_MAGIC[model] + struct.pack("<BBBBH", station, command, error, 0, payload_size)


def decode_liberty_header(data: bytes) -> LibertyHeader:
    if len(data) < LIBERTY_HEADER_SIZE:
        raise RecordError("short Liberty header")
    magic = bytes(data[:2])
    model = {b"LY": "liberty", b"PA": "patriot"}.get(magic)
    if model is None:
        raise RecordError(f"bad Liberty/Patriot magic {magic!r}")
    station, command, error, _reserved, size = struct.unpack_from("<BBBBH", data, 2)
    return LibertyHeader(model, station, command, error, size)


def encode_liberty_record(fmt: RecordFormat, station: int, command: int, error: int,
                          sample: SensorSample) -> bytes:
    """Liberty/Patriot binary record (header + payload) for one station."""
    values = _sample_values(sample)
    payload = bytearray()
    for item in fmt.items:
        spec = _LIBERTY_ITEMS[item]
        if spec.kind == "space":
            payload += b" "
        elif spec.kind == "crlf":
            payload += b"\r\n"
        elif spec.kind == "u32":
            payload += struct.pack("<I", int(values[spec.key][0]) & 0xFFFFFFFF)
        elif spec.kind == "i32":
            payload += struct.pack("<i", int(values[spec.key][0]))
        else:
            for v in values[spec.key]:
                payload += _FLOAT.pack(v)
    return encode_liberty_header(fmt.model, station, command, error, len(payload)) + bytes(payload)


def decode_liberty_record(data: bytes, fmt: RecordFormat) -> PolhemusRecord:
    """Parse one Liberty/Patriot data record (header + payload); raises RecordError if invalid."""
    header = decode_liberty_header(data)
    if header.model != fmt.model:
        raise RecordError(f"record is from a {header.model}, expected {fmt.model}")
    if header.payload_size != fmt.payload_size or len(data) != fmt.length:
        raise RecordError(f"payload is {header.payload_size} bytes, output list needs {fmt.payload_size}")
    pos = LIBERTY_HEADER_SIZE
    values: dict[str, tuple[float, ...]] = {}
    for item in fmt.items:
        spec = _LIBERTY_ITEMS[item]
        size = fmt.item_size(item)
        chunk = data[pos:pos + size]
        pos += size
        if check_separator(spec.kind, chunk):
            continue
        if spec.kind in ("u32", "i32"):
            values[spec.key] = (float(struct.unpack("<I" if spec.kind == "u32" else "<i", chunk)[0]),)
        else:
            vals = tuple(_FLOAT.unpack_from(chunk, 4 * k)[0] for k in range(spec.count))
            _check_plausible(spec.key, vals)
            values[spec.key] = vals
    return PolhemusRecord(station=header.station, status=chr(header.error), values=values,
                          command=header.command)
