"""A serial port's modem-status input (CTS, DSR, RI or CD) wired to the stimulator's trigger-out.

The stimulator's trigger-out gives one TTL pulse per stimulus. Wired (through an RS-232 level
shifter, since RS-232 inputs expect +/-3..15 V) to a modem-status input of a serial port, each
pulse is an edge on that line; pyserial exposes the four inputs as the ``cts``, ``dsr``, ``ri``
and ``cd`` properties (each a ``TIOCMGET`` on POSIX, ``GetCommModemStatus`` on Windows).

How edges are found: the line is POLLED at ``poll_hz`` (default 1000 Hz, i.e. every 1 ms) and
each read goes through :class:`~.edges.EdgeDetector`. Consequences the user must know
(docs/treatment.md):

* a pulse is stamped with the time of the read that first saw it: 0 to one poll period (plus the
  thread's wake-up delay) after the real edge, never before it;
* where the kernel counts the line's changes (Linux, CTS/DSR/CD on a UART: :mod:`.modem_counts`)
  each read also takes the count, so a trigger pulse SHORTER than the poll period is still seen
  (``counting`` is True, ``describe()`` says "counts changes"). Without a counter such a pulse can
  fall between two reads and be missed: stretch it (a monostable) to a few ms;
* contact bounce and ringing: after an accepted change the line is ignored for ``debounce_s``
  (default 2 ms); changes inside that window are counted as bounces, not pulses.

The count is read BEFORE the level, so a change between the two shows in the level first; it is
credited once and taken off the next count (no phantom pulse). The kernel's TIOCMIWAIT (sleep
until a line changes) is not used. Pseudo-terminals carry no modem lines at all (``TIOCMGET``
fails with "Inappropriate ioctl"), so the tests drive this module through a scripted object with
the same ``cts/dsr/ri/cd`` properties (and ``transitions()``) as the port, and a real pty is
refused with that reason.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

import serial

from .common import ProblemCallback, PulseSourceError, ThreadedSource
from .edges import EDGES, EdgeDetector
from .modem_counts import counting_port

__all__ = ["ModemLineSource", "EdgeDetector", "LINES", "EDGES", "ModemLines"]

LINES = {"CTS": "cts", "DSR": "dsr", "RI": "ri", "CD": "cd", "DCD": "cd"}


class ModemLines(Protocol):
    """What the source needs of a port: pyserial's modem-status properties and ``close``; an
    optional ``transitions(attribute) -> int`` (changes counted since opening) enables counting."""

    @property
    def cts(self) -> bool: ...
    @property
    def dsr(self) -> bool: ...
    @property
    def ri(self) -> bool: ...
    @property
    def cd(self) -> bool: ...
    def close(self) -> None: ...


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
        self.counting = False
        self._count = 0
        self._credit = 0

    def describe(self) -> str:
        how = "counts changes" if self.counting else f"{self.poll_hz:g} Hz"
        return f"{self.line} of {self.port} ({self.edge}, {how}, {self.debounce_s * 1e3:g} ms debounce)"

    @property
    def bounces(self) -> int:
        return self.detector.bounces

    def _open_serial(self) -> ModemLines:
        port = serial.serial_for_url(self.port, timeout=0)
        return counting_port(port, self._attribute) or port

    def _open(self) -> None:
        self.detector = EdgeDetector(self.edge, round(self.debounce_s * 1e9))
        try:
            self._lines = self._factory()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PulseSourceError(f"cannot open {self.port} to watch its {self.line} line: {exc}") from None
        self.counting, self._credit = False, 0
        counter = getattr(self._lines, "transitions", None)
        if callable(counter):
            try:
                self._count = int(counter(self._attribute))
                self.counting = True
            except (OSError, ValueError):
                self.counting = False
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

    def _changes(self) -> int:
        """Changes counted since the last read, less the one the last read already took from the
        level (it reaches the counter by this read; a credit never outlives it, so a driver that
        counts late or not at all cannot make it swallow later pulses)."""
        assert self._lines is not None
        count = int(self._lines.transitions(self._attribute))   # type: ignore[attr-defined]
        new, self._count = max(0, count - self._count), count
        used, self._credit = min(new, self._credit), 0
        return new - used

    def _close(self) -> None:
        lines, self._lines = self._lines, None
        if lines is not None:
            lines.close()

    def _run(self) -> None:
        period_s = 1.0 / self.poll_hz
        next_poll = time.monotonic()
        previous: bool | None = None
        while not self._stop_event.is_set():
            changes = self._changes() if self.counting else None       # the count first, then the level
            level = self._read()
            seen_ns = self._clock()
            if changes is not None and previous is not None and (changes % 2 == 1) != (level != previous):
                changes += 1                  # a change after the count: seen now, credited off the next count
                self._credit += 1
            previous = level
            bounces = self.detector.bounces
            if self.detector.feed(level, seen_ns, changes):
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
