"""A Magstim unit on a real pty or a TCP socket, byte for byte, with fault injection.

:class:`MagstimEmulator` runs one :class:`~.unit.MagstimUnit` on a thread. ``serve_pty()`` opens a
pseudo-terminal and returns the slave path to give the driver (or any other host program);
``serve_tcp()`` listens on 127.0.0.1 for a pyserial ``socket://`` URL. A pty carries bytes at any
speed; ``line_rate_bps=9600`` holds each reply for the wire time of the real link (used by
``tmsnav-emulate magstim``), tests leave it off. The unit's timers (arming,
keep-alive, a minute armed unfired, coil cooling) read ``clock``: by default real seconds, in tests
a :class:`~tmsnav.hardware.simulation.clock.ScenarioClock` the test advances, so nothing waits
for wall time.

Faults: ``inject_garbage`` (bytes on the line at once or before the next reply), ``stall``/``resume`` (the unit stops
answering), ``unplug`` (closes the pty master or socket: the host's next read fails like a pulled
cable), ``misreport_power`` (the unit reports another power than it was set to), and the unit's own
state (``unit.set_coil_temperature``, ``unit.coil_present``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Callable

from ...emulator_serving import PtyOrTcpServer
from .unit import MagstimUnit

__all__ = ["MagstimEmulator"]

_IDLE_S = 0.02   # how often the unit's timers run when no byte arrives


class MagstimEmulator(PtyOrTcpServer):
    """A Magstim ``model`` ("200", "bistim", "rapid") serving on a pty or TCP port."""

    def __init__(self, model: str = "200", *, clock: Callable[[], float] | None = None,
                 version: tuple[int, int, int] = (9, 0, 0), unlock_code: str | None = None,
                 heat_per_pulse_c: float = 0.05, line_rate_bps: int | None = None) -> None:
        t0 = time.monotonic()
        self.unit = MagstimUnit(model, clock=clock or (lambda: time.monotonic() - t0),
                                version=version, unlock_code=unlock_code,
                                heat_per_pulse_c=heat_per_pulse_c)
        if line_rate_bps is not None and line_rate_bps <= 0:
            raise ValueError(f"line rate must be positive, got {line_rate_bps}")
        self.line_rate_bps = line_rate_bps
        self.lock = threading.RLock()
        self._init_serving(self.lock)
        self._pending = b""
        self._prefix = b""
        self.ticks = 0

    @property
    def model(self) -> str:
        return self.unit.model


    # ----- life cycle -----------------------------------------------------------------------------
    def _thread_name(self) -> str:
        return f"magstim-emulator-{self.model}"

    # ----- faults ---------------------------------------------------------------------------------
    def inject_garbage(self, data: bytes, *, before_next_reply: bool = False) -> None:
        """Put ``data`` on the line now (line noise, a unit booting), or just before the unit's
        next reply, where a host that reads fixed lengths takes it for the reply."""
        with self.lock:
            if before_next_reply:
                self._prefix += bytes(data)
            else:
                self._pending += bytes(data)

    def stall(self) -> None:
        """The unit stops answering (its timers still run) until :meth:`resume`."""
        with self.lock:
            self.unit.stalled = True

    def resume(self) -> None:
        with self.lock:
            self.unit.stalled = False

    def misreport_power(self, offset_pct: int) -> None:
        """From now on the unit reports its power ``offset_pct`` away from what it holds."""
        with self.lock:
            self.unit.power_report_offset = int(offset_pct)

    def commands(self) -> list[bytes]:
        """Every command frame received so far (without checksum), oldest first."""
        with self.lock:
            return list(self.unit.commands)

    # ----- serving --------------------------------------------------------------------------------
    def _step(self, data: bytes) -> bytes:
        with self.lock:
            out, self._pending = self._pending, b""
            if data:
                self.bytes_in += len(data)
                reply = self.unit.receive(data)
                if reply:
                    out += self._prefix + reply
                    self._prefix = b""
            else:
                self.unit.tick()
            self.ticks += 1
            return out

    def _wire_time(self, received: bytes, reply: bytes) -> None:
        """With ``line_rate_bps`` (9600 on a real unit), hold the reply for the time the command
        and the reply take on the wire at 10 bits a byte, so a host sees a real unit's pace."""
        if self.line_rate_bps:
            self._stop.wait((len(received) + len(reply)) * 10.0 / self.line_rate_bps)

    def _run_pty(self) -> None:
        while not self._stop.is_set():
            data = self._read_pty(_IDLE_S)
            if data is None:
                return
            out = self._step(data)
            master = self._master
            if out and master is not None:
                self._wire_time(data, out)
                try:
                    os.write(master, out)
                    self.bytes_out += len(out)
                except OSError:
                    pass

    def _idle_without_host(self) -> None:
        self._step(b"")

    def _serve_connection(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            data = self._read_conn(conn, _IDLE_S)
            if data is None:
                return
            out = self._step(data)
            if out:
                self._wire_time(data, out)
                try:
                    conn.sendall(out)
                    self.bytes_out += len(out)
                except OSError:
                    return
