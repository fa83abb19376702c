"""The kernel's count of modem-status changes on a serial port (Linux ``TIOCGICOUNT``).

The Linux serial core increments a counter for CTS, DSR and DCD on every change the UART reports
(``struct serial_icounter_struct`` in ``linux/serial.h``, filled by ``uart_get_icount``), so a
poller that reads the counter never loses a pulse narrower than its poll period. RI is left out:
the kernel counts only its trailing edge ("TERI"), not every change. USB-serial drivers fill the
counter from their status packets, so a pulse shorter than one packet period is lost there
anyway. Elsewhere (pseudo-terminals, Windows, macOS) the call fails and :func:`counting_port`
returns None: the source then compares levels only and says so in ``describe()``.

Not checked on physical serial hardware (docs/treatment.md).
"""

from __future__ import annotations

import struct
import sys
from typing import Any

__all__ = ["counting_port", "CountingPort", "COUNTED_LINES", "TIOCGICOUNT"]

TIOCGICOUNT = 0x545D                    # asm-generic/ioctls.h (x86, arm, arm64, riscv)
#: cts, dsr, rng, dcd, rx, tx, frame, overrun, parity, brk, buf_overrun, reserved[9]
_ICOUNT = struct.Struct("20i")
_FIELD = {"cts": 0, "dsr": 1, "cd": 3}
COUNTED_LINES = frozenset(_FIELD)


class CountingPort:
    """A pyserial port plus :meth:`transitions`; the ``cts/dsr/ri/cd`` levels pass through."""

    def __init__(self, port: Any) -> None:
        self.port = port

    @property
    def cts(self) -> bool:
        return bool(self.port.cts)

    @property
    def dsr(self) -> bool:
        return bool(self.port.dsr)

    @property
    def ri(self) -> bool:
        return bool(self.port.ri)

    @property
    def cd(self) -> bool:
        return bool(self.port.cd)

    def transitions(self, line: str) -> int:
        """Changes of ``line`` ("cts", "dsr" or "cd") counted since the port was opened (raises OSError)."""
        import fcntl

        raw = fcntl.ioctl(self.port.fileno(), TIOCGICOUNT, bytes(_ICOUNT.size))
        return int(_ICOUNT.unpack(raw)[_FIELD[line]])

    def close(self) -> None:
        self.port.close()


def counting_port(port: Any, line: str) -> CountingPort | None:
    """``port`` wrapped with its change counter when the kernel keeps one for ``line``; else None."""
    if not sys.platform.startswith("linux") or line not in COUNTED_LINES or not hasattr(port, "fileno"):
        return None
    wrapped = CountingPort(port)
    try:
        wrapped.transitions(line)
    except (OSError, ValueError):
        return None
    return wrapped
