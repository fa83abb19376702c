"""NDI passive-tool definition files (.rom): read, upload chunks, and a minimal plausibility check.

NDI does not publish the .rom layout. What this module relies on is the community description
from JHU's sawNDITracker tool converter (read for facts, not copied): 752 bytes, little-endian;
bytes 0-2 ``NDI``; bytes 4-5 a uint16 checksum = sum of every byte from offset 6 on; byte 28 the
marker count (3-20); marker x, y, z float32 from byte 72; manufacturer (12 ASCII) at 580 and part
number (20 ASCII) at 592. The emulator uses :func:`check_tool_definition` to accept plausible ROMs
and answer ERROR40/41 otherwise; the driver leaves content checks to the device (its word is
final) and only refuses files that cannot be a ROM at all.

Upload (ndicapi ``ndiPVWRFromFile``): at most 1024 bytes, zero-padded, sent as 16 ``PVWR``
chunks of 64 bytes at addresses 0000, 0040, ... 03C0.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ToolDefinitionError

__all__ = ["RomRejected", "ROM_SIZE", "UPLOAD_SIZE", "CHUNK_SIZE", "ToolDefinition",
           "build_tool_definition",
           "check_tool_definition", "read_tool_definition", "upload_chunks"]

ROM_SIZE = 752
UPLOAD_SIZE = 1024
CHUNK_SIZE = 64
_MARKERS_AT, _MANUFACTURER_AT, _PART_AT = 72, 580, 592
#: tool main types (byte 15), from the same community description
MAIN_TYPES = {"reference": 1, "pointer": 2, "button box": 3, "user defined": 4}


class RomRejected(ToolDefinitionError):
    """A ROM image a device would refuse; ``code`` is the ERRORxx it would answer (0x40/0x41)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ToolDefinition:
    """What the emulator needs from a ROM: marker geometry and identification."""

    markers_mm: np.ndarray
    part_number: str
    manufacturer: str
    main_type: int


def _checksum(data: bytes) -> int:
    return sum(data[6:]) & 0xFFFF


def build_tool_definition(markers_mm: np.ndarray, *, part_number: str,
                          manufacturer: str = "TMSNAV", main_type: int = 4,
                          max_marker_error_mm: float = 2.0, min_markers: int = 3,
                          max_marker_angle_deg: int = 90) -> bytes:
    """A 752-byte passive-tool definition in the layout above (for tests, demos, the emulator)."""
    markers = np.asarray(markers_mm, dtype=float)
    if markers.ndim != 2 or markers.shape[1] != 3 or not 3 <= len(markers) <= 20:
        raise ValueError(f"a tool needs 3 to 20 markers as an (N, 3) array in mm, "
                         f"got shape {markers.shape}")
    if not 3 <= min_markers <= len(markers):
        raise ValueError("min_markers must be between 3 and the number of markers")
    text = part_number + manufacturer
    if len(part_number) > 20 or len(manufacturer) > 12 or not text.isascii():
        raise ValueError("part number (<= 20) and manufacturer (<= 12) must be short ASCII text")
    data = bytearray(ROM_SIZE)
    data[0:3] = b"NDI"
    data[8] = 1
    data[12] = 2                                     # sub type "undefined"
    data[15] = main_type
    data[20] = 1                                     # sequence number
    data[24] = max_marker_angle_deg
    data[28] = len(markers)
    data[32] = min_markers
    struct.pack_into("<f", data, 36, max_marker_error_mm)
    struct.pack_into(f"<{3 * len(markers)}f", data, _MARKERS_AT, *markers.ravel())
    data[552:552 + len(markers)] = bytes(range(len(markers)))   # firing sequence
    data[572:576] = bytes([31, 31, 31, 31])                      # no LEDs
    data[576] = 9
    data[_MANUFACTURER_AT:_MANUFACTURER_AT + len(manufacturer)] = manufacturer.encode()
    data[_PART_AT:_PART_AT + len(part_number)] = part_number.encode()
    data[612] = 9
    data[613:613 + len(markers)] = bytes([1] * len(markers))     # one face
    data[633:633 + len(markers)] = bytes([1] * len(markers))     # one group
    data[653] = 128
    data[655] = 41                                               # passive sphere
    struct.pack_into("<H", data, 4, _checksum(bytes(data)))
    return bytes(data)


def check_tool_definition(data: bytes) -> ToolDefinition:
    """Parse a ROM image (padding allowed) or raise :class:`RomRejected`.

    Its ``code`` is the ERRORxx a device would send: 0x40 for a bad signature or checksum, 0x41
    for tool characteristics out of range.
    """
    if len(data) < ROM_SIZE or data[0:3] != b"NDI":
        raise RomRejected("not an NDI tool definition (no 'NDI' signature)", 0x40)
    (stored,) = struct.unpack_from("<H", data, 4)
    if stored != _checksum(data):
        raise RomRejected("tool definition checksum does not match its content", 0x40)
    count = data[28]
    if not 3 <= count <= 20 or not 3 <= data[32] <= count:
        raise RomRejected(f"unsupported marker count {count}", 0x41)
    markers = np.array(struct.unpack_from(f"<{3 * count}f", data, _MARKERS_AT)).reshape(count, 3)
    if not np.all(np.isfinite(markers)):
        raise RomRejected("marker coordinates are not finite numbers", 0x40)

    def text(at: int, size: int) -> str:
        return bytes(data[at:at + size]).split(b"\0")[0].decode("ascii", "replace").strip()

    return ToolDefinition(markers, text(_PART_AT, 20), text(_MANUFACTURER_AT, 12), data[15])


def read_tool_definition(path: Path | str) -> bytes:
    """Bytes of a .rom file, or ToolDefinitionError naming the file and what is wrong with it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ToolDefinitionError(f"tool definition file {path} does not exist") from None
    except OSError as exc:
        raise ToolDefinitionError(f"cannot read tool definition file {path}: "
                                  f"{exc.strerror}") from None
    if not data:
        raise ToolDefinitionError(f"tool definition file {path} is empty")
    if len(data) > UPLOAD_SIZE:
        raise ToolDefinitionError(f"tool definition file {path} is {len(data)} bytes; NDI ROMs "
                                  f"are at most {UPLOAD_SIZE} bytes (is this really a .rom?)")
    return data


def upload_chunks(data: bytes) -> list[tuple[int, str]]:
    """The 16 ``(address, 128 hex characters)`` PVWR chunks of a ROM, zero-padded to 1024 bytes."""
    padded = bytes(data[:UPLOAD_SIZE]).ljust(UPLOAD_SIZE, b"\0")
    return [(addr, padded[addr:addr + CHUNK_SIZE].hex().upper())
            for addr in range(0, UPLOAD_SIZE, CHUNK_SIZE)]
