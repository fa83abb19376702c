"""MagPro serial framing: ``0xFE, LEN, payload[LEN], CRC8(payload), 0xFF`` in both directions.

The MagVenture MagPro host interface (MagVenture, "MagPro remote control via COM2" serial
protocol description, as quoted by several independent open host libraries; not checked on a
physical unit here) frames every message the same way: a start byte 0xFE, the payload length,
the payload (its first byte is the message id), a CRC-8/MAXIM of the payload and an end byte
0xFF. CRC-8/MAXIM (Dallas 1-Wire) is polynomial 0x31 reflected (0x8C), init 0, no final XOR; its
catalogue check value is CRC8(b"123456789") == 0xA1 (Williams, "A painless guide to CRC error
detection algorithms", 1993; the reveng CRC catalogue).

Why a scanner and not fixed-length reads: the unit pushes frames on its own (a pulse delivered,
the amplitude turned on the front panel, enable/disable), so a reply may arrive after an
unsolicited frame, and a noisy or half-plugged cable adds garbage. :class:`FrameScanner` looks for
0xFE, checks LEN, CRC and 0xFF, and on any mismatch skips one byte and searches again, counting
what it skipped. A frame is never split on a value: 0xFE/0xFF can occur inside payloads.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["START", "END", "MAX_PAYLOAD", "crc8_maxim", "encode_frame", "FrameScanner", "ScannerCounters",
           "FrameError", "decode_frame"]

START = 0xFE
END = 0xFF
#: Longest payload accepted. The longest documented message is the status-2 reply (15 bytes);
#: a larger LEN is garbage, and refusing it early stops one stray 0xFE from holding back the
#: frames behind it while the scanner waits for bytes that will never come.
MAX_PAYLOAD = 32


class FrameError(ValueError):
    """Bytes that are not one well-formed MagPro frame (the message says which check failed)."""


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc8_maxim(data: bytes | bytearray | memoryview) -> int:
    """CRC-8/MAXIM of ``data`` (reflected 0x31, init 0, no final XOR). Frames are at most a few
    dozen bytes, so a 256-entry table in Python costs microseconds; no library needed."""
    crc = 0
    for byte in bytes(data):
        crc = _TABLE[crc ^ byte]
    return crc


def encode_frame(payload: bytes | bytearray | list[int]) -> bytes:
    """The frame on the wire for ``payload`` (message id first)."""
    body = bytes(payload)
    if not 1 <= len(body) <= MAX_PAYLOAD:
        raise ValueError(f"a MagPro payload has 1..{MAX_PAYLOAD} bytes, got {len(body)}")
    return bytes([START, len(body)]) + body + bytes([crc8_maxim(body), END])


def decode_frame(frame: bytes) -> bytes:
    """The payload of exactly one frame; :class:`FrameError` names the failed check."""
    if len(frame) < 5 or frame[0] != START:
        raise FrameError("not a MagPro frame: it must start with 0xFE and hold at least 5 bytes")
    n = frame[1]
    if n < 1 or n > MAX_PAYLOAD or len(frame) != n + 4:
        raise FrameError(f"length byte {n} does not match the {len(frame)}-byte frame")
    if frame[-1] != END:
        raise FrameError(f"frame ends with 0x{frame[-1]:02X}, not 0xFF")
    payload = frame[2:2 + n]
    if crc8_maxim(payload) != frame[2 + n]:
        raise FrameError(f"CRC 0x{frame[2 + n]:02X} does not match the payload (0x{crc8_maxim(payload):02X})")
    return bytes(payload)


@dataclass
class ScannerCounters:
    frames: int = 0
    skipped_bytes: int = 0
    resyncs: int = 0            # contiguous runs of skipped bytes
    rejected_candidates: int = 0  # a 0xFE whose LEN, CRC or end byte did not check


class FrameScanner:
    """Feed bytes as they arrive, take out payloads of valid frames in order."""

    def __init__(self, max_buffer: int = 1 << 16) -> None:
        self.counters = ScannerCounters()
        self._buf = bytearray()
        self._skipping = False
        self._max_buffer = max_buffer

    def feed(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > self._max_buffer:   # nobody is taking frames out: keep the newest bytes
            self._skip(len(self._buf) - self._max_buffer)

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _skip(self, n: int) -> None:
        if n <= 0:
            return
        del self._buf[:n]
        self.counters.skipped_bytes += n
        if not self._skipping:
            self.counters.resyncs += 1
            self._skipping = True

    def _complete_at(self, i: int) -> int:
        """Length of a valid frame starting at ``i``; 0 if none (yet), -1 if it cannot be one."""
        buf = self._buf
        if i + 2 > len(buf):
            return 0
        n = buf[i + 1]
        if n < 1 or n > MAX_PAYLOAD:
            return -1
        total = n + 4
        if i + total > len(buf):
            return 0
        if buf[i + total - 1] != END or crc8_maxim(buf[i + 2:i + 2 + n]) != buf[i + 2 + n]:
            return -1
        return total

    def next_payload(self) -> bytes | None:
        """The payload of the next valid frame, or None when more bytes are needed."""
        while True:
            i = self._buf.find(START)
            if i < 0:
                self._skip(len(self._buf))
                return None
            self._skip(i)
            total = self._complete_at(0)
            if total < 0:
                self.counters.rejected_candidates += 1
                self._skip(1)
                continue
            if total == 0:
                # Incomplete: a stray 0xFE with a plausible LEN would otherwise hold back a good
                # frame already received behind it. A complete valid frame further on means this
                # candidate is garbage (a real frame's own bytes pass CRC and 0xFF by chance
                # with probability 1/65536).
                j = self._buf.find(START, 1)
                while j > 0:
                    if self._complete_at(j) > 0:
                        self.counters.rejected_candidates += 1
                        self._skip(j)
                        break
                    j = self._buf.find(START, j + 1)
                else:
                    return None
                continue
            payload = bytes(self._buf[2:total - 2])
            del self._buf[:total]
            self._skipping = False
            self.counters.frames += 1
            return payload

    def payloads(self) -> list[bytes]:
        """Every complete payload now buffered."""
        out = []
        while (p := self.next_payload()) is not None:
            out.append(p)
        return out
