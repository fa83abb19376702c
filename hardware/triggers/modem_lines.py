"""A serial port's modem-status input (CTS, DSR, RI or CD) wired to the stimulator's trigger-out.

The stimulator's trigger-out gives one TTL pulse per stimulus. Wired (through an RS-232 level
shifter, since RS-232 inputs expect +/-3..15 V) to a modem-status input of a serial port, each
pulse is an edge on that line; pyserial exposes the four inputs as the ``cts``, ``dsr``, ``ri``
and ``cd`` properties (each a ``TIOCMGET`` on POSIX, ``GetCommModemStatus`` on Windows).

How edges are found: the line is POLLED at ``poll_hz`` (default 1000 Hz, i.e. every 1 ms) and
each read goes through :class:`EdgeDetector`. Consequences the user must know (docs/treatment.md):

* a pulse is stamped with the time of the read that first saw it: 0 to one poll period (plus the
  thread's wake-up delay) after the real edge, never before it;
* a trigger pulse SHORTER than the poll period can fall between two reads and be missed: use the
  edge the unit holds longest, or stretch the pulse (a monostable) to a few ms;
* contact bounce and ringing: after an accepted change the line is ignored for ``debounce_s``
  (default 2 ms); changes inside that window are counted as bounces, not pulses.

The kernel's TIOCMIWAIT (sleep until a modem line changes) would avoid polling on drivers that
support it; it is not used yet. Pseudo-terminals carry no modem lines at all (``TIOCMGET`` fails
with "Inappropriate ioctl"), so the tests drive this module through a scripted object with the
same ``cts/dsr/ri/cd`` properties as a pyserial port, and a real pty is refused with that reason.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

import serial

from .common import ProblemCallback, PulseSourceError, ThreadedSource

__all__ = ["ModemLineSource", "EdgeDetector", "LINES", "EDGES", "ModemLines"]

LINES = {"CTS": "cts", "DSR": "dsr", "RI": "ri", "CD": "cd", "DCD": "cd"}
EDGES = ("rising", "falling", "both")


class ModemLines(Protocol):
    """What the source needs of a port: pyserial's modem-status properties and ``close``."""

    @property
    def cts(self) -> bool: ...
    @property
    def dsr(self) -> bool: ...
    @property
    def ri(self) -> bool: ...
    @property
    def cd(self) -> bool: ...
    def close(self) -> None: ...


class EdgeDetector:
    """Turns level readings ``(level, t_ns)`` into accepted edges, with a debounce lock-out.

    The first reading only sets the level (a line already high at start is no pulse). A change
    from the accepted level is an edge; it is accepted (and, if its direction is ``edge`` or
    ``"both"``, reported) and then every change within ``debounce_ns`` is ignored and counted in
    ``bounces``. After the lock-out the line is compared with the accepted level again, so a
    level that settled differently during the lock-out still gives its edge (late, never lost).
    """

    def __init__(self, edge: str = "rising", debounce_ns: int = 2_000_000) -> None:
        if edge not in EDGES:
            raise ValueError(f"edge must be one of {', '.join(EDGES)}, got {edge!r}")
        if debounce_ns < 0:
            raise ValueError("debounce must not be negative")
        self.edge = edge
        self.debounce_ns = int(debounce_ns)
        self.level: bool | None = None
        self.bounces = 0
        self._raw: bool | None = None
        self._locked_until_ns: int | None = None

    def feed(self, level: bool, t_ns: int) -> bool:
        """One reading; True when it is an accepted edge of the wanted direction."""
        level = bool(level)
        raw_changed = self._raw is not None and level != self._raw
        self._raw = level
        if self.level is None:
            self.level = level
            return False
        if self._locked_until_ns is not None and t_ns < self._locked_until_ns:
            if raw_changed:
                self.bounces += 1
            return False
        if level == self.level:
            return False
        self.level = level
        self._locked_until_ns = t_ns + self.debounce_ns
        return self.edge == "both" or (self.edge == "rising") == level


class ModemLineSource(ThreadedSource):
    """Pulses from edges on one modem-status input of a serial ``port``.

    ``line_factory`` opens the port (default: pyserial); tests pass a scripted object. ``clock``
    stamps the readings (default ``time.monotonic_ns``)."""

    def __init__(self, port: str, line: str = "CTS", *, edge: str = "rising", debounce_s: float = 0.002,
                 poll_hz: float = 1000.0, on_problem: ProblemCallback | None = None,
                 line_factory: Callable[[], ModemLines] | None = None,
                 clock: Callable[[], int] = time.monotonic_ns) -> None:
        super().__init__(on_problem=on_problem)
        key = line.upper()
        if key not in LINES:
            raise ValueError(f"modem line must be one of CTS, DSR, RI, CD, got {line!r}")
        if not 1.0 <= poll_hz <= 10_000.0:
            raise ValueError(f"poll rate must be 1-10000 Hz, got {poll_hz}")
        self.detector = EdgeDetector(edge, round(debounce_s * 1e9))   # validates edge and debounce
        self.port = port
        self.line = "CD" if key == "DCD" else key
        self.edge = edge
        self.debounce_s = float(debounce_s)
        self.poll_hz = float(poll_hz)
        self.name = f"modem:{self.line}"
        self._attribute = LINES[key]
        self._factory = line_factory or self._open_serial
        self._clock = clock
        self._lines: ModemLines | None = None

    def describe(self) -> str:
        return (f"{self.line} of {self.port} ({self.edge}, {self.poll_hz:g} Hz, "
                f"{self.debounce_s * 1e3:g} ms debounce)")

    @property
    def bounces(self) -> int:
        return self.detector.bounces

    def _open_serial(self) -> ModemLines:
        return serial.serial_for_url(self.port, timeout=0)

    def _open(self) -> None:
        self.detector = EdgeDetector(self.edge, round(self.debounce_s * 1e9))
        try:
            self._lines = self._factory()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PulseSourceError(f"cannot open {self.port} to watch its {self.line} line: {exc}") from None
        try:
            self._read()
        except (serial.SerialException, OSError) as exc:
            self._close()
            raise PulseSourceError(
                f"cannot read the {self.line} line of {self.port}: {exc}. This port has no modem-status "
                f"lines (a pseudo-terminal, or a USB adapter that does not report them)") from None

    def _read(self) -> bool:
        assert self._lines is not None, "_open() sets the port first"
        return bool(getattr(self._lines, self._attribute))

    def _close(self) -> None:
        lines, self._lines = self._lines, None
        if lines is not None:
            lines.close()

    def _run(self) -> None:
        period_s = 1.0 / self.poll_hz
        next_poll = time.monotonic()
        while not self._stop_event.is_set():
            level = self._read()
            seen_ns = self._clock()
            bounces = self.detector.bounces
            if self.detector.feed(level, seen_ns):
                self._emit(seen_ns, {"line": self.line, "level": level})
            if self.detector.bounces != bounces:
                self._ignore("bounce", f"the {self.line} line of {self.port} changed again within "
                                       f"{self.debounce_s * 1e3:g} ms of an edge (contact bounce or ringing): "
                                       f"not counted as a pulse", self.detector.bounces - bounces)
            next_poll += period_s
            now = time.monotonic()
            if next_poll < now:           # fell behind (a loaded machine): do not try to catch up
                next_poll = now
            self._stop_event.wait(next_poll - now)

    def _failure_message(self, exc: Exception) -> str:
        return (f"the serial port {self.port} stopped working (unplugged?): {exc}. The {self.line} line is no "
                f"longer watched; reconnect it and start the source again.")
