"""Request/reply over an NDI link: one command out, one validated reply back.

Before each command the input is flushed (ndicapi: anything unread is garbage from an earlier,
failed exchange). A reply must start before the deadline and, once started, keep arriving: a gap
longer than ``interbyte_timeout_s`` means it was truncated. Corrupt or truncated replies are
counted in :class:`NDIStats` and never parsed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from ..errors import DeviceError, ProtocolError, TrackerError
from .commands import describe_error, encode_command, error_code_of
from .framing import Reply, ReplyScanner
from .transport import SerialLink

__all__ = ["NDIStats", "NoReply", "CommandChannel"]


@dataclass
class NDIStats:
    """Counters a technician can read to judge the link (also useful in benchmarks)."""

    polls: int = 0                  # BX/TX commands sent
    frames_ok: int = 0              # device frames returned by read_frames
    repeated_frames: int = 0        # replies with an already-seen frame number (fast polling)
    frames_dropped: int = 0         # replies lost to a bad CRC, truncation or bad structure
    crc_errors: int = 0             # CRC failures (header, body or ASCII reply)
    truncated_replies: int = 0      # replies that stopped arriving half-way
    bytes_discarded: int = 0        # noise skipped while resynchronising
    timeouts: int = 0               # read_frames calls that ended with no new frame
    frozen_timeouts: int = 0        # ... while the device answered with a frozen frame number
    frame_number_anomalies: int = 0  # frame numbers that went backwards or jumped implausibly

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class NoReply(TrackerError):
    """Nothing came back before the deadline."""


class CommandChannel:
    """Commands and replies on one :class:`SerialLink`."""

    def __init__(self, link: SerialLink, stats: NDIStats, *, timeout_s: float,
                 interbyte_timeout_s: float) -> None:
        self.link = link
        self.stats = stats
        self.timeout_s = timeout_s
        self.interbyte_timeout_s = interbyte_timeout_s
        self.scanner = ReplyScanner()
        self.last_reply_ns = 0

    def exchange(self, command: bytes, deadline: float, *, binary: bool,
                 tracking: bool = False) -> Reply | None:
        """Send ``command`` and return its reply, None if it was corrupt or truncated (counted;
        a tracking reply lost this way also counts as a dropped frame).

        Raises NoReply when nothing arrives before ``deadline``; ConnectionLost if the link dies.
        """
        self.link.flush_input()
        self.scanner.clear()
        self.link.write(command)
        last_byte: float | None = None
        discarded, crc_failures = self.scanner.discarded, self.scanner.crc_failures
        try:
            while True:
                reply = self.scanner.next_bx() if binary else self.scanner.next_ascii()
                if reply is not None:
                    if reply.kind == "corrupt":
                        self.stats.frames_dropped += int(tracking)
                        return None
                    return reply
                now = time.monotonic()
                limit = deadline if last_byte is None else \
                    min(deadline, last_byte + self.interbyte_timeout_s)
                if now >= limit:
                    if last_byte is None:
                        raise NoReply(f"no reply to {command[:-1].decode('ascii', 'replace')}")
                    self.stats.truncated_replies += 1
                    self.stats.frames_dropped += int(tracking)
                    return None
                data = self.link.read_available(limit - now)
                if data:
                    last_byte = time.monotonic()
                    self.last_reply_ns = time.monotonic_ns()
                    self.scanner.feed(data)
        finally:
            self.stats.bytes_discarded += self.scanner.discarded - discarded
            self.stats.crc_errors += self.scanner.crc_failures - crc_failures

    def command(self, name: str, params: str = "", *, timeout_s: float | None = None,
                retries: int = 1) -> str:
        """Send ``NAME:params`` and return the reply payload (CRC checked and removed).

        Corrupt replies are retried ``retries`` times (only use retries for commands that can
        safely run twice). Raises DeviceError for ``ERRORxx`` (with NDI's meaning), NoReply on
        silence and ProtocolError when the replies stay corrupt.
        """
        wire = encode_command(name, params)
        for _ in range(retries + 1):
            deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
            reply = self.exchange(wire, deadline, binary=False)
            if reply is None:
                continue
            code = error_code_of(reply.payload)
            if code is not None:
                sent = f"{name}:{params}" if params else name
                raise DeviceError(code, describe_error(code), sent)
            return reply.payload
        raise ProtocolError(f"the NDI device on {self.link.port} kept sending corrupt replies to "
                            f"{name}: check the cable, the baud rate and electrical noise")

    def wait_for_text(self, timeout_s: float) -> bytes:
        """Raw bytes up to and including a CR (or whatever came) within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        received = bytearray()
        while time.monotonic() < deadline and not received.endswith(b"\r"):
            received += self.link.read_available(deadline - time.monotonic())
        return bytes(received)
