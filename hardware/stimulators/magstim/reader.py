"""Reading one Magstim reply off a line that may carry noise.

The protocol has no start byte and no length field (:mod:`.protocol`): a host knows where a reply
starts only because it echoes the command character, and how long it is only from the command.
So the reader skips bytes until that echo (or a lone ``?``, the unit's "unknown command"), reads
the command's reply length, and checks the checksum. Two ambiguities of the protocol are resolved
here, each the cautious way:

* a ``?`` is the unit's answer only when silence follows it (the unit sends nothing after it); a
  ``?`` followed by more bytes was noise;
* ``<cmd>?`` / ``<cmd>S`` are error replies only when their checksum holds (a status byte can be
  ``0x3F`` or ``0x53`` too); otherwise the full reply is read.

Silence until the deadline is a lost link (:class:`StimulatorLinkLost`); a reply that does not
check is :class:`~.protocol.MagstimReplyError` (the caller may ask again).
"""

from __future__ import annotations

import time

from ..base import StimulatorLinkLost
from . import protocol as p
from .link import MagstimLink

__all__ = ["read_reply", "drain", "shown"]

LONE_REPLY_S = 0.03    # silence after a '?' that makes it the unit's "unknown command"
QUIET_S = 0.05         # silence that ends a garbled reply before the command is sent again
MAX_NOISE = 64


def shown(body: bytes) -> str:
    """A command as messages show it: never the Rapid²'s unlock code (a per-unit secret)."""
    if body[:1] == b"Q" and body != p.ENABLE_REMOTE:
        return "'Q' + unlock code"
    return repr(body.decode("latin-1"))


def read_reply(link: MagstimLink, body: bytes, model: str, version: tuple[int, int, int],
               timeout_s: float, unit_name: str) -> tuple[bytes, int]:
    """The reply to ``body`` (normal or error) and how many noise bytes were skipped before it.
    ``unit_name`` (e.g. "the Magstim 200² on /dev/ttyUSB0") is for the messages."""
    echo = body[:1]
    expected = p.reply_length(body, model, version)
    deadline = time.monotonic() + timeout_s
    reply, skipped, pending = b"", 0, b""

    def more(n: int) -> bytes:
        nonlocal pending
        data, pending = pending[:n], pending[n:]
        while len(data) < n:
            chunk = link.read(n - len(data), deadline)
            if not chunk:
                raise StimulatorLinkLost(
                    f"no reply from {unit_name} within {timeout_s:g} s (to {shown(body)}): is it "
                    f"switched on, in remote mode and cabled to the main unit at 9600 baud?")
            data += chunk
        return data

    while not reply:                       # skip line noise up to the echo or a lone '?'
        first = more(1)
        if first == echo:
            reply = first
            continue
        if first == b"?":                  # a real '?' reply is followed by silence
            follow = pending or link.read(1, time.monotonic() + LONE_REPLY_S)
            if not follow:
                return b"?", skipped
            pending = pending or follow
        skipped += 1
        if skipped > MAX_NOISE:
            raise p.MagstimReplyError(f"no reply to {shown(body)} in {MAX_NOISE} bytes of noise")
    reply += more(1)
    if reply[1:2] in (b"?", b"S"):
        candidate = reply + more(1)
        if p.frame_ok(candidate):
            return candidate, skipped
        reply = candidate
    if expected is None:                   # version: NUL-terminated, then the checksum
        while not reply.endswith(b"\x00"):
            reply += more(1)
            if len(reply) > 32:
                raise p.MagstimReplyError("version reply without its terminating NUL")
        return reply + more(1), skipped
    if len(reply) < expected:
        reply += more(expected - len(reply))
    if not p.frame_ok(reply[:expected]):
        raise p.MagstimReplyError(f"reply {reply!r} to {shown(body)} fails its checksum")
    return reply[:expected], skipped


def drain(link: MagstimLink) -> int:
    """Wait for the rest of a garbled reply to pass (at most 1 s), so that its tail is not taken
    for the start of the next reply; returns the bytes dropped."""
    dropped = 0
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        data = link.read(64, time.monotonic() + QUIET_S)
        if not data:
            break
        dropped += len(data)
    return dropped
