"""A TTL-to-serial trigger adapter: a small USB box that sends one byte for each TTL edge.

Wire the stimulator's trigger-out (one TTL pulse per stimulus) to the adapter's input; the
adapter shows up as a serial port and sends a byte (its "pulse byte", set in the adapter's own
configuration) for every edge. Adapters differ: state the byte(s) and the baud rate in the spec
(``ttl:/dev/ttyUSB0?byte=0x01&baud=115200``); the defaults are 0x01 at 115200 bps.

Time of a pulse: ``time.monotonic_ns()`` taken as soon as the read returns the byte. The read
blocks for ONE byte (so it returns when the first byte arrives), then takes whatever else is
already waiting; bytes that arrive together in one read share that time (at 115200 bps a byte
takes 87 us on the wire, so two pulses fall in one read only when they are closer than the
reader's wake-up). TTL jitter itself is microseconds; the USB adapter adds its own latency
(typically 1 ms with FTDI's default latency timer), which is the same for every pulse.

A byte that is not a pulse byte (a wrong baud rate, a different adapter, noise on the line) is
never taken as a pulse: it is counted in ``stats.ignored["unexpected byte"]`` and the first one
is said with its value, so a mis-set adapter is visible instead of giving a silent pulse count
of zero. A pulled adapter makes the read fail: the source says so (fatal) and stops.
"""

from __future__ import annotations

import time
from typing import Iterable

import serial

from .common import ProblemCallback, PulseSourceError, ThreadedSource

__all__ = ["TtlSerialSource", "DEFAULT_PULSE_BYTES", "DEFAULT_BAUD"]

DEFAULT_PULSE_BYTES = (0x01,)
DEFAULT_BAUD = 115200
_READ_SLICE_S = 0.05        # how often the reader looks at the stop flag while no byte comes


class TtlSerialSource(ThreadedSource):
    """Pulses from a TTL-to-serial adapter on ``port`` (device path, ``COM3`` or a pyserial URL)."""

    def __init__(self, port: str, *, pulse_bytes: Iterable[int] = DEFAULT_PULSE_BYTES, baud: int = DEFAULT_BAUD,
                 on_problem: ProblemCallback | None = None) -> None:
        super().__init__(on_problem=on_problem)
        values = tuple(int(b) for b in pulse_bytes)
        if not values or any(not 0 <= b <= 255 for b in values):
            raise ValueError(f"pulse bytes must be 0-255 (e.g. 0x01), got {list(values)}")
        if baud <= 0:
            raise ValueError(f"baud rate must be positive, got {baud}")
        self.port = port
        self.pulse_bytes = frozenset(values)
        self.baud = int(baud)
        self.name = "ttl-serial"
        self._serial: serial.SerialBase | None = None

    def describe(self) -> str:
        wanted = ", ".join(f"0x{b:02X}" for b in sorted(self.pulse_bytes))
        return f"TTL adapter on {self.port} (byte {wanted}, {self.baud} bps)"

    def _open(self) -> None:
        try:
            self._serial = serial.serial_for_url(self.port, baudrate=self.baud, timeout=_READ_SLICE_S)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PulseSourceError(f"cannot open the trigger adapter on {self.port}: {exc}") from None
        self._serial.reset_input_buffer()      # bytes from before start are not pulses of this session

    def _close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            port.close()

    def _run(self) -> None:
        port = self._serial
        assert port is not None, "_open() runs before the reader starts"
        while not self._stop_event.is_set():
            first = port.read(1)
            if not first:
                continue
            seen_ns = time.monotonic_ns()
            waiting = port.in_waiting
            data = first + (port.read(waiting) if waiting else b"")
            self._take(data, seen_ns)

    def _take(self, data: bytes, seen_ns: int) -> None:
        for value in data:
            if value in self.pulse_bytes:
                self._emit(seen_ns, {"byte": value})
            else:
                wanted = ", ".join(f"0x{b:02X}" for b in sorted(self.pulse_bytes))
                self._ignore("unexpected byte",
                             f"the trigger adapter on {self.port} sent byte 0x{value:02X}, not the pulse byte "
                             f"{wanted}: not counted as a pulse. Check the adapter's pulse byte and the baud rate "
                             f"({self.baud} bps).")

    def _failure_message(self, exc: Exception) -> str:
        return (f"the trigger adapter on {self.port} stopped working (unplugged?): {exc}. "
                f"Pulses are no longer seen; reconnect it and start the source again.")
