"""Fixed-length record reader that resynchronises on the record header.

Never splits on newlines: binary floats contain 0x0A/0x0D. Each candidate header (``'0'`` + an
expected station digit for FASTRAK, ``LY``/``PA`` for Liberty/Patriot) is followed by exactly the
number of bytes the station's output list implies; the whole record must then decode and pass the
plausibility checks of :mod:`.records`, otherwise the reader skips one byte and searches again
(the Atamai library calls this a "phase error"). Skipped bytes and rejected candidates are counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import LIBERTY_HEADER_SIZE, LIBERTY_MAGIC, PolhemusRecord, RecordError, RecordFormat
from .liberty import decode_liberty_header, decode_liberty_record
from .records import decode_fastrak_record

__all__ = ["RecordReader", "ReaderCounters"]

#: Liberty/Patriot command codes of data records: continuous ('C') and single ('P') output.
LIBERTY_DATA_COMMANDS = (ord("C"), ord("P"))
_MAX_BUFFER = 1 << 16


@dataclass
class ReaderCounters:
    records: int = 0
    skipped_bytes: int = 0
    resyncs: int = 0           # contiguous runs of skipped bytes
    rejected_candidates: int = 0  # header found but the record did not decode
    other_records: int = 0     # valid non-data records (e.g. a Liberty station map) skipped


class RecordReader:
    """Feed bytes, take out decoded records. ``formats`` maps station -> its record format."""

    def __init__(self, model: str, formats: dict[int, RecordFormat], units: str) -> None:
        if not formats:
            raise ValueError("RecordReader needs at least one station format")
        self.model = model
        self.formats = dict(formats)
        self.units = units
        self.counters = ReaderCounters()
        self._buf = bytearray()
        self._skipping = False
        self._station_digits = {ord(str(s)) for s in self.formats if 1 <= s <= 9}

    def feed(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > _MAX_BUFFER:  # a host that stopped reading: keep the newest bytes
            drop = len(self._buf) - _MAX_BUFFER
            self._skip(drop)

    def clear(self) -> None:
        self._buf.clear()
        self._skipping = False

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

    def next_record(self) -> PolhemusRecord | None:
        """The next valid data record, or None when more bytes are needed."""
        if self.model == "fastrak":
            return self._next_fastrak()
        return self._next_liberty()

    def _find_fastrak_header(self) -> int:
        buf = self._buf
        start = 0
        while True:
            i = buf.find(b"0", start)
            if i < 0 or i + 1 >= len(buf):
                return i
            if buf[i + 1] in self._station_digits:
                return i
            start = i + 1

    def _next_fastrak(self) -> PolhemusRecord | None:
        while True:
            i = self._find_fastrak_header()
            if i < 0:
                self._skip(len(self._buf))
                return None
            self._skip(i)
            if len(self._buf) < 2:
                return None
            fmt = self.formats[self._buf[1] - 0x30]
            if len(self._buf) < fmt.length:
                return None
            try:
                record = decode_fastrak_record(bytes(self._buf[:fmt.length]), fmt, self.units)
            except RecordError:
                self.counters.rejected_candidates += 1
                self._skip(1)
                continue
            del self._buf[:fmt.length]
            self._skipping = False
            self.counters.records += 1
            return record

    def _find_liberty_magic(self) -> int:
        found = [i for i in (self._buf.find(m) for m in LIBERTY_MAGIC.values()) if i >= 0]
        if found:
            return min(found)
        # keep a trailing first magic byte: its partner may arrive with the next read
        if self._buf and self._buf[-1:] in (b"L", b"P"):
            return len(self._buf) - 1
        return -1

    def _next_liberty(self) -> PolhemusRecord | None:
        while True:
            i = self._find_liberty_magic()
            if i < 0:
                self._skip(len(self._buf))
                return None
            self._skip(i)
            if len(self._buf) < LIBERTY_HEADER_SIZE:
                return None
            try:
                header = decode_liberty_header(bytes(self._buf[:LIBERTY_HEADER_SIZE]))
            except RecordError:
                self.counters.rejected_candidates += 1
                self._skip(1)
                continue
            fmt = self.formats.get(header.station)
            total = LIBERTY_HEADER_SIZE + header.payload_size
            if header.command not in LIBERTY_DATA_COMMANDS:
                if header.payload_size <= 256 and header.model == self.model:
                    if len(self._buf) < total:
                        return None
                    del self._buf[:total]  # e.g. a station-map answer: valid, but not data
                    self.counters.other_records += 1
                    self._skipping = False
                    continue
                self.counters.rejected_candidates += 1
                self._skip(1)
                continue
            if fmt is None or header.payload_size != fmt.payload_size:
                self.counters.rejected_candidates += 1
                self._skip(1)
                continue
            if len(self._buf) < total:
                return None
            try:
                record = decode_liberty_record(bytes(self._buf[:total]), fmt)
            except RecordError:
                self.counters.rejected_candidates += 1
                self._skip(1)
                continue
            del self._buf[:total]
            self._skipping = False
            self.counters.records += 1
            return record
