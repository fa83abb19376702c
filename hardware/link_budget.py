"""Can the serial link carry the tracker's stream? The check and the message a user can act on.

A UART sends 10 bits per byte (8N1: start bit, 8 data bits, stop bit), so a stream of ``B`` bytes
per device frame at ``R`` frames per second needs ``10 * B * R`` baud. When it needs more than the
link has, the device (Polhemus Liberty manual, "Output rates and baud rates"; NDI API guide,
"Communication speed") cannot send every frame: frames are skipped at the source and no host-side
change recovers them. The driver states this once at connect as a plain sentence
(``Tracker.link_warning``) that the GUI shows with its remedy, instead of a log line nobody reads.
A TCP socket, USB-native link or pseudo-terminal has no baud limit, so it is not checked.
"""

from __future__ import annotations

import math

__all__ = ["BITS_PER_BYTE", "needed_baud", "link_warning", "carried_rate_hz"]

BITS_PER_BYTE = 10  # 8N1
#: standard rates a user can choose, smallest first (the remedy names the first that suffices)
_STANDARD_BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


def needed_baud(bytes_per_frame: float, rate_hz: float) -> float:
    """Bits per second a stream of ``bytes_per_frame`` at ``rate_hz`` puts on an 8N1 line."""
    return BITS_PER_BYTE * float(bytes_per_frame) * float(rate_hz)


def carried_rate_hz(bytes_per_frame: float, rate_hz: float, baud: int) -> float:
    """Frames per second that reach the host: ``rate_hz``, or fewer when ``baud`` cannot carry
    them all. The acquisition judges staleness against this rate: against the nominal one, a
    Liberty at 240 Hz over 115200 baud (frames ~12 ms apart, limit 3 x 4.2 ms) would flicker stale
    between two frames that arrived as fast as the link allows."""
    if baud <= 0 or rate_hz <= 0 or bytes_per_frame <= 0:
        return float(rate_hz)
    return min(float(rate_hz), baud / (BITS_PER_BYTE * float(bytes_per_frame)))


def link_warning(device: str, bytes_per_frame: float, rate_hz: float, baud: int,
                 what: str = "") -> str:
    """``""`` when ``baud`` carries the stream, else one sentence with the cause and the remedy.

    ``what`` says what makes up a frame (e.g. ``"3 stations x 46-byte records"``).
    Example: "Polhemus Liberty at 240 Hz needs 331200 baud (3 stations x 46-byte records); the link
    is 115200 baud, so only about 35 % of frames (83 Hz) get through: lower the rate to 83 Hz or
    less, send fewer tools, or connect by USB or at 460800 baud".
    """
    if baud <= 0 or rate_hz <= 0 or bytes_per_frame <= 0:
        return ""
    need = needed_baud(bytes_per_frame, rate_hz)
    if need <= baud:
        return ""
    share = baud / need
    max_rate = math.floor(baud / (BITS_PER_BYTE * bytes_per_frame))
    faster = next((b for b in _STANDARD_BAUDS if b >= need), None)
    remedy_link = f"connect by USB or at {faster} baud" if faster else "connect by USB or Ethernet"
    detail = f" ({what})" if what else ""
    return (f"{device} at {rate_hz:g} Hz needs {need:.0f} baud{detail}; the link is {baud} baud, "
            f"so only about {100 * share:.0f} % of frames ({share * rate_hz:.0f} Hz) get through: "
            f"lower the rate to {max_rate} Hz or less, send fewer tools, or {remedy_link}")
