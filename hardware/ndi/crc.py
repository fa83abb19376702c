"""CRC-16/ARC, the checksum of every NDI Combined API command and reply.

Polynomial x^16 + x^15 + x^2 + 1 (0x8005, reflected 0xA001), initial value 0, reflected input
and output, no final XOR; check value CRC("123456789") = 0xBB3D. NDI's API guide computes it with
a table-free parity trick; a 256-entry table gives the same numbers. Every BX reply is checked on
every poll, so the C implementation in ``crcmod`` (already installed for pyigtl) is used when it
loads: 0.7 us instead of 11 us for a 4-tool frame; the table stays as the fallback and the test
oracle.
"""

from __future__ import annotations

__all__ = ["crc16_arc", "crc16_hex", "crc16_arc_table"]


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc16_arc_table(data: bytes | bytearray | memoryview | str, crc: int = 0) -> int:
    """Pure-Python CRC-16/ARC (table driven)."""
    if isinstance(data, str):
        data = data.encode("ascii")
    table = _TABLE
    for byte in bytes(data):
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


try:
    from crcmod.predefined import mkPredefinedCrcFun

    _crc16_c = mkPredefinedCrcFun("crc-16")  # crcmod's "crc-16" is CRC-16/ARC (0x8005 reflected)
    if _crc16_c(b"123456789") != 0xBB3D:  # never trust a name: check the standard check value
        _crc16_c = None
except ImportError:  # crcmod missing: the table version is correct, just slower
    _crc16_c = None


def crc16_arc(data: bytes | bytearray | memoryview | str, crc: int = 0) -> int:
    """CRC-16/ARC of ``data`` (str is encoded as ASCII), optionally continuing from ``crc``."""
    if _crc16_c is None:
        return crc16_arc_table(data, crc)
    if isinstance(data, str):
        data = data.encode("ascii")
    return _crc16_c(bytes(data), crc)


def crc16_hex(data: bytes | bytearray | memoryview | str) -> str:
    """The CRC as NDI writes it in ASCII: four upper-case hex digits (``INIT:`` -> ``E3A5``)."""
    return f"{crc16_arc(data):04X}"
