"""Byte codecs for Polhemus data records, shared by the driver and the emulator.

FASTRAK (FASTRAK manual rev. G "System Data Record"; docs/hardware-polhemus-igtl.md): a 3-byte
ASCII header ``'0'``, station ``'1'..'4'``, status character (space = no error), then the items of
the station's output list. ASCII fields are 7 characters (``Sxxx.xx`` position/angles,
``Sx.xxxx`` direction cosines/quaternion) or 13 characters in extended precision
(``Sx.xxxxxESxx`` + blank). Binary mode (``f``) keeps the 3-byte header and sends float32
little-endian. Items 18/19/20 are 16-bit packed values: two bytes of 7 data bits each, bit 7 set
only on the first byte of the first packed item (the phase/sync bit). Their decode follows the
InterSense IS-900 manual's FASTRAK-compatible description (p. 67): ``raw = (lo << 2) | (hi << 9)``
as int16, full scale +-300 cm (+-118.11 in), +-180 deg, +-1. The Atamai library scales twice as
large; this was not checked on a real FASTRAK.

Liberty/Patriot (polhemus_ros_driver ``liberty_protocol.h``, vrpn ``vrpn_Tracker_Liberty.C``):
8-byte little-endian header ``LY``/``PA``, station (1-based byte), code of the command that made
the record (``'C'`` 67 continuous, ``'P'`` 80 single, 21 station map), error byte, reserved byte,
uint16 payload size; then the items as float32/uint32/int32 LE (codec in :mod:`.liberty`). Only
binary output is supported.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

from ..errors import ProtocolError
from .orientation import euler_deg_from_rotation, quaternion_from_rotation, rotation_from_euler_deg
from .orientation import rotation_from_quaternion

__all__ = [
    "RecordFormat", "PolhemusRecord", "SensorSample", "RecordError", "parse_output_list",
    "encode_fastrak_record", "decode_fastrak_record", "LIBERTY_HEADER_SIZE", "LIBERTY_MAGIC",
    "encode_packed16", "decode_packed16", "PACKED16_SCALE", "rotation_of",
    "FASTRAK_DEFAULT_LIST", "LIBERTY_DEFAULT_LIST", "DEFAULT_RATE_HZ", "MAX_STATIONS",
]

#: Update rate of each model: FASTRAK 120 Hz shared by the stations, Liberty/Patriot per sensor.
DEFAULT_RATE_HZ = {"fastrak": 120.0, "liberty": 240.0, "patriot": 60.0}
MAX_STATIONS = {"fastrak": 4, "liberty": 16, "patriot": 2}
FASTRAK_DEFAULT_LIST = (2, 4, 1)
LIBERTY_DEFAULT_LIST = (2, 4, 1)
LIBERTY_HEADER_SIZE = 8
LIBERTY_MAGIC = {"liberty": b"LY", "patriot": b"PA"}
_FLOAT = struct.Struct("<f")


class RecordError(ProtocolError):
    """A record that does not parse (bad header, bad field, implausible value)."""


@dataclass(frozen=True)
class _Item:
    key: str          # semantic name of the values
    count: int        # number of values
    kind: str         # "space", "crlf", "fixed" (7-char ASCII / float32), "ext" (13-char / float32),
    #                   "packed" (16-bit, 2 bytes each), "u32", "i32"
    decimals: int = 2  # ASCII decimals for "fixed" items


_FASTRAK_ITEMS: dict[int, _Item] = {
    0: _Item("space", 1, "space"), 1: _Item("crlf", 1, "crlf"),
    2: _Item("position", 3, "fixed"), 4: _Item("euler", 3, "fixed"),
    5: _Item("dircos_x", 3, "fixed", 4), 6: _Item("dircos_y", 3, "fixed", 4),
    7: _Item("dircos_z", 3, "fixed", 4), 11: _Item("quaternion", 4, "fixed", 4),
    18: _Item("position", 3, "packed"), 19: _Item("euler", 3, "packed"), 20: _Item("quaternion", 4, "packed"),
    50: _Item("space", 1, "space"), 51: _Item("crlf", 1, "crlf"),
    52: _Item("position", 3, "ext"), 54: _Item("euler", 3, "ext"), 55: _Item("dircos_x", 3, "ext"),
    56: _Item("dircos_y", 3, "ext"), 57: _Item("dircos_z", 3, "ext"), 61: _Item("quaternion", 4, "ext"),
}
_LIBERTY_ITEMS: dict[int, _Item] = {
    0: _Item("space", 1, "space"), 1: _Item("crlf", 1, "crlf"),
    2: _Item("position", 3, "fixed"), 3: _Item("position", 3, "ext"),
    4: _Item("euler", 3, "fixed"), 5: _Item("euler", 3, "ext"), 7: _Item("quaternion", 4, "fixed"),
    8: _Item("timestamp_ms", 1, "u32"), 9: _Item("frame_count", 1, "u32"),
    10: _Item("stylus", 1, "u32"), 11: _Item("distortion", 1, "i32"),
}

#: Device units per count of a 16-bit packed value ("position_cm"/"position_inch", "euler", "quaternion").
PACKED16_SCALE = {
    "position_cm": 300.0 / 32768.0,
    "position_inch": 300.0 / 2.54 / 32768.0,
    "euler": 180.0 / 32768.0,
    "quaternion": 1.0 / 32768.0,
}


def _items_for(model: str) -> dict[int, _Item]:
    return _FASTRAK_ITEMS if model == "fastrak" else _LIBERTY_ITEMS


def parse_output_list(text: str, model: str = "fastrak") -> tuple[int, ...]:
    """``"2,4,1"`` -> ``(2, 4, 1)``; raises ValueError naming an unsupported item."""
    try:
        items = tuple(int(part) for part in text.replace(" ", "").split(",") if part != "")
    except ValueError:
        raise ValueError(f"output list {text!r} must be comma-separated item numbers") from None
    table = _items_for(model)
    for item in items:
        if item not in table:
            raise ValueError(f"output-list item {item} is not supported for {model}; "
                             f"supported: {sorted(table)}")
    if not items:
        raise ValueError("output list is empty")
    return items


@dataclass(frozen=True)
class RecordFormat:
    """What one station's record looks like: model, output list, binary or ASCII."""

    model: str = "fastrak"
    items: tuple[int, ...] = FASTRAK_DEFAULT_LIST
    binary: bool = False
    _sizes: dict[int, int] = field(init=False, repr=False, compare=False)
    _payload: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.model not in ("fastrak", "liberty", "patriot"):
            raise ValueError(f"unknown Polhemus model {self.model!r}")
        if self.model != "fastrak" and not self.binary:
            raise ValueError(f"{self.model} records are only supported in binary mode")
        table = _items_for(self.model)
        for item in self.items:
            if item not in table:
                raise ValueError(f"output-list item {item} is not supported for {self.model}")
        sizes = {item: self._compute_size(item) for item in self.items}
        object.__setattr__(self, "_sizes", sizes)  # records are decoded at up to 240 Hz x 16: cache
        object.__setattr__(self, "_payload", sum(sizes[i] for i in self.items))

    def item_size(self, item: int) -> int:
        return self._sizes[item] if item in self._sizes else self._compute_size(item)

    def _compute_size(self, item: int) -> int:
        spec = _items_for(self.model)[item]
        if spec.kind == "space":
            return 1
        if spec.kind == "crlf":
            return 2
        if spec.kind == "packed":
            return 2 * spec.count
        if spec.kind in ("u32", "i32") or self.binary:
            return 4 * spec.count
        return (7 if spec.kind == "fixed" else 13) * spec.count

    @property
    def header_size(self) -> int:
        return 3 if self.model == "fastrak" else LIBERTY_HEADER_SIZE

    @property
    def payload_size(self) -> int:
        return self._payload

    @property
    def length(self) -> int:
        """Whole record in bytes, header included (47 for the FASTRAK ASCII default)."""
        return self.header_size + self.payload_size

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(_items_for(self.model)[i].key for i in self.items)


@dataclass(frozen=True)
class SensorSample:
    """What the emulator measures for one sensor: position in device units, rotation, counters."""

    position: tuple[float, float, float]
    source_from_sensor: np.ndarray
    timestamp_ms: int = 0
    frame_count: int = 0
    distortion: int = 0


@dataclass(frozen=True)
class PolhemusRecord:
    """One decoded record. ``values['position']`` is in device units (inch or cm)."""

    station: int
    status: str  # FASTRAK status character; for Liberty/Patriot the error byte as chr()
    values: dict[str, tuple[float, ...]] = field(default_factory=dict)
    command: int = 0  # Liberty/Patriot command code of the record

    @property
    def frame_count(self) -> int | None:
        v = self.values.get("frame_count")
        return None if v is None else int(v[0])

    @property
    def timestamp_ms(self) -> int | None:
        v = self.values.get("timestamp_ms")
        return None if v is None else int(v[0])


# ----- 16-bit packed values ------------------------------------------------------------------------
def encode_packed16(value: float, scale: float, sync: bool = False) -> bytes:
    """One value as two 7-bit bytes (low 7 bits first); ``sync`` sets bit 7 of the first byte."""
    count = int(round(value / scale))
    count = max(-32768, min(32764, count))
    code14 = (count >> 2) & 0x3FFF
    lo, hi = code14 & 0x7F, (code14 >> 7) & 0x7F
    return bytes((lo | (0x80 if sync else 0), hi))


def decode_packed16(lo: int, hi: int, scale: float) -> float:
    raw = ((lo & 0x7F) << 2) | ((hi & 0x7F) << 9)
    if raw >= 0x8000:
        raw -= 0x10000
    return raw * scale


def _packed_scale(key: str, units: str) -> float:
    return PACKED16_SCALE[f"position_{units}"] if key == "position" else PACKED16_SCALE[key]


# ----- item values from a sample --------------------------------------------------------------------
def _sample_values(sample: SensorSample) -> dict[str, tuple[float, ...]]:
    rot = np.asarray(sample.source_from_sensor, dtype=float)
    return {
        "position": tuple(float(v) for v in sample.position),
        "euler": euler_deg_from_rotation(rot),
        "dircos_x": tuple(float(v) for v in rot[0]), "dircos_y": tuple(float(v) for v in rot[1]),
        "dircos_z": tuple(float(v) for v in rot[2]),
        "quaternion": quaternion_from_rotation(rot),
        "timestamp_ms": (sample.timestamp_ms,), "frame_count": (sample.frame_count,),
        "stylus": (0,), "distortion": (sample.distortion,),
    }


def _ascii_field(value: float, spec: _Item) -> bytes:
    value = float(value) + 0.0  # no "-0.00"
    if spec.kind == "ext":
        text = f"{value:12.5E} "
    else:
        limit = 10 ** (6 - spec.decimals - 1) - 10 ** -spec.decimals  # 999.99 or 9.9999
        value = round(max(-limit, min(limit, value)), spec.decimals) + 0.0
        text = f"{value:7.{spec.decimals}f}"
    return text.encode("ascii")


def encode_fastrak_record(station: int, status: str, fmt: RecordFormat, sample: SensorSample,
                          units: str) -> bytes:
    """FASTRAK data record bytes for one station (ASCII or binary per ``fmt``)."""
    values = _sample_values(sample)
    out = bytearray(b"0" + str(station).encode("ascii") + status.encode("ascii"))
    first_packed = True
    for item in fmt.items:
        spec = _FASTRAK_ITEMS[item]
        if spec.kind == "space":
            out += b" "
        elif spec.kind == "crlf":
            out += b"\r\n"
        elif spec.kind == "packed":
            scale = _packed_scale(spec.key, units)
            for v in values[spec.key]:
                out += encode_packed16(v, scale, sync=first_packed)
                first_packed = False
        elif fmt.binary:
            for v in values[spec.key]:
                out += _FLOAT.pack(v)
        else:
            for v in values[spec.key]:
                out += _ascii_field(v, spec)
    return bytes(out)


def _parse_ascii(field_bytes: bytes) -> float:
    text = field_bytes.decode("ascii", errors="replace").strip()
    if text.startswith("- "):  # "-  4.00": sign separated from the digits by blanks
        text = "-" + text[1:].strip()
    try:
        value = float(text)
    except ValueError:
        raise RecordError(f"unreadable ASCII field {field_bytes!r}") from None
    if not math.isfinite(value):
        raise RecordError(f"non-finite ASCII field {field_bytes!r}")
    return value


_LIMITS = {"position": 2000.0, "euler": 360.5, "dircos_x": 1.05, "dircos_y": 1.05, "dircos_z": 1.05,
           "quaternion": 1.05}


def check_separator(kind: str, chunk: bytes) -> bool:
    """True when the item is a separator (space, CR LF) and its bytes are right; raises
    RecordError when they are not (the record is out of sync); False for a data item."""
    if kind == "space":
        if chunk != b" ":
            raise RecordError(f"expected a space item, got {chunk!r}")
        return True
    if kind == "crlf":
        if chunk != b"\r\n":
            raise RecordError(f"expected CR LF, got {chunk!r}")
        return True
    return False


def _check_plausible(key: str, vals: tuple[float, ...]) -> None:
    limit = _LIMITS.get(key)
    if limit is None:
        return
    if not all(math.isfinite(v) and abs(v) <= limit for v in vals):
        raise RecordError(f"implausible {key} {vals}")
    if key == "quaternion" and not 0.9 <= math.sqrt(sum(v * v for v in vals)) <= 1.1:
        raise RecordError(f"quaternion {vals} is not unit length")


def decode_fastrak_record(data: bytes, fmt: RecordFormat, units: str) -> PolhemusRecord:
    """Parse one FASTRAK record of exactly ``fmt.length`` bytes; raises RecordError if invalid."""
    if len(data) != fmt.length:
        raise RecordError(f"record is {len(data)} bytes, expected {fmt.length}")
    if data[0:1] != b"0" or not 0x31 <= data[1] <= 0x39 or not 0x20 <= data[2] <= 0x7E:
        raise RecordError(f"bad record header {data[:3]!r}")
    pos = 3
    values: dict[str, tuple[float, ...]] = {}
    first_packed = True
    for item in fmt.items:
        spec = _FASTRAK_ITEMS[item]
        size = fmt.item_size(item)
        chunk = data[pos:pos + size]
        pos += size
        if check_separator(spec.kind, chunk):
            continue
        if spec.kind == "packed":
            if bool(chunk[0] & 0x80) != first_packed or any(b & 0x80 for b in chunk[1:]):
                raise RecordError("16-bit record out of phase (sync bit misplaced)")
            first_packed = False
            scale = _packed_scale(spec.key, units)
            vals = tuple(decode_packed16(chunk[2 * k], chunk[2 * k + 1], scale) for k in range(spec.count))
        elif fmt.binary:
            vals = tuple(_FLOAT.unpack_from(chunk, 4 * k)[0] for k in range(spec.count))
        else:
            width = 7 if spec.kind == "fixed" else 13
            vals = tuple(_parse_ascii(chunk[width * k:width * (k + 1)]) for k in range(spec.count))
        _check_plausible(spec.key, vals)
        values[spec.key] = vals
    return PolhemusRecord(station=data[1] - 0x30, status=chr(data[2]), values=values)


def rotation_of(record: PolhemusRecord) -> np.ndarray:
    """``source_from_sensor`` 3x3 from the best orientation item present (quaternion, cosines, Euler)."""
    v = record.values
    if "quaternion" in v:
        return rotation_from_quaternion(*v["quaternion"])
    if all(k in v for k in ("dircos_x", "dircos_y", "dircos_z")):
        rows = np.array([v["dircos_x"], v["dircos_y"], v["dircos_z"]], dtype=float)
        u, _, vt = np.linalg.svd(rows)  # 4-decimal ASCII cosines are not exactly orthonormal
        if np.linalg.det(u @ vt) < 0:
            raise RecordError("direction cosines describe a reflection, not a rotation")
        return u @ vt
    if "euler" in v:
        return rotation_from_euler_deg(*v["euler"])
    raise RecordError("record has no orientation item (need 4, 11, 5+6+7 or their variants)")
