"""Find NDI replies in a byte stream that may carry line noise: resynchronise, never guess.

BX replies are found by their ``C4 A5`` start and header CRC and sized from the header (binary
floats may contain CR or LF, so never split on newlines). ASCII replies end at CR and must pass
their CRC. A reader in BX mode also accepts an ASCII ``ERRORxx`` reply in place of a BX frame
(ndicapi does the same). Whatever does not validate is discarded and counted; nothing from a
failed candidate is ever returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProtocolError
from .bx import BX_HEADER_SIZE, BX_START, bx_header_length
from .commands import CrcMismatch, parse_ascii_reply

__all__ = ["Reply", "ReplyScanner"]

_ERROR = b"ERROR"


@dataclass(frozen=True)
class Reply:
    """One candidate reply: ``kind`` is ``"bx"`` (raw frame bytes, body CRC not yet checked),
    ``"ascii"`` (validated payload text) or ``"corrupt"`` (``detail`` says why)."""

    kind: str
    raw: bytes = b""
    payload: str = ""
    detail: str = ""


class ReplyScanner:
    """Accumulates received bytes and hands out replies. Counts discarded bytes and bad CRCs."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.discarded = 0
        self.crc_failures = 0

    def clear(self) -> None:
        self.buffer.clear()

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def _drop(self, n: int) -> None:
        self.discarded += n
        del self.buffer[:n]

    # ------------------------------------------------------------------ BX mode
    def next_bx(self) -> Reply | None:
        """Next BX frame or ASCII error reply; None while more bytes are needed."""
        buf = self.buffer
        while True:
            starts = [i for i in (buf.find(BX_START), buf.find(_ERROR)) if i >= 0]
            if not starts:
                keep = 4 if buf.endswith((b"\xc4", b"E", b"ER", b"ERR", b"ERRO")) else 0
                self._drop(max(0, len(buf) - keep))
                return None
            self._drop(min(starts))
            if buf.startswith(_ERROR):
                end = buf.find(b"\r")
                if end < 0:
                    return None
                chunk = bytes(buf[:end + 1])
                try:
                    payload = parse_ascii_reply(chunk)
                except ProtocolError:
                    self.crc_failures += 1
                    self._drop(len(_ERROR))
                    continue
                del buf[:end + 1]
                return Reply("ascii", chunk, payload)
            if len(buf) < BX_HEADER_SIZE:
                return None
            try:
                length = bx_header_length(bytes(buf[:BX_HEADER_SIZE]))
            except CrcMismatch:
                self.crc_failures += 1
                self._drop(len(BX_START))
                continue
            total = length + 8
            if len(buf) < total:
                return None
            raw = bytes(buf[:total])
            del buf[:total]
            return Reply("bx", raw)

    # ------------------------------------------------------------------ ASCII mode
    def next_ascii(self) -> Reply | None:
        """Next CR-terminated reply whose CRC checks out; ``corrupt`` if none can be found in it."""
        buf = self.buffer
        end = buf.find(b"\r")
        if end < 0:
            return None
        chunk = bytes(buf[:end + 1])
        del buf[:end + 1]
        # Noise before a reply usually holds bytes a reply never contains: try after each.
        starts = [0] + [i + 1 for i, b in enumerate(chunk[:-1])
                        if (b < 0x20 and b != 0x0A) or b > 0x7E]
        for start in starts:
            try:
                payload = parse_ascii_reply(chunk[start:])
            except ProtocolError:
                continue
            self.discarded += start
            return Reply("ascii", chunk[start:], payload)
        self.crc_failures += 1
        self.discarded += len(chunk)
        return Reply("corrupt", chunk, detail="reply failed its CRC check")

    @property
    def pending(self) -> int:
        return len(self.buffer)
