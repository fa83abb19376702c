"""Byte-exact MagPro emulator on a real pty or a TCP socket, with the faults a clinic meets.

``MagProEmulator`` puts one :class:`~.unit.MagProUnit` on a thread. ``serve_pty()`` opens a
pseudo-terminal and returns the slave path for the driver (or any host program); ``serve_tcp()``
listens on 127.0.0.1 for a pyserial ``socket://`` URL. On a pty the emulator reads the baud rate
the host set on the slave (they share the termios): a host not at 38400 bps gets no answer, as
with a real unit whose UART sees framing errors.

The test (or ``tmsnav-emulate magventure``) plays the front panel and the patient side from
another thread: :meth:`foot_pedal`, :meth:`turn_amplitude`, :meth:`press_enable`, :meth:`mep`,
:meth:`set_coil_temperature`; their pushed frames go out at once. Faults: :meth:`inject_garbage`,
:meth:`stall`/:meth:`resume` (the unit goes silent), a malformed command hangs the unit until
:meth:`restart`, :meth:`unplug` (the pty or socket closes: the host's next read fails like a
pulled USB-serial adapter).
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, Callable

from ...emulator_serving import PtyOrTcpServer
from .unit import MagProUnit, ReceivedCommand

__all__ = ["MagProEmulator", "MAGPRO_BAUD"]

MAGPRO_BAUD = 38400


class MagProEmulator(PtyOrTcpServer):
    """A MagPro on a pty or TCP port. ``unit_kwargs`` go to :class:`MagProUnit` (e.g. ``clock``,
    ``recharge_s``, ``didt_per_pct``, ``amplitude_limit``, ``model``)."""

    def __init__(self, unit: MagProUnit | None = None, **unit_kwargs: Any) -> None:
        self.unit = unit if unit is not None else MagProUnit(**unit_kwargs)
        self._lock = threading.RLock()
        self._init_serving(self._lock)
        self._silent = False
        self._interleave: Callable[[MagProUnit], bytes] | None = None

    # ----- life cycle -------------------------------------------------------------------------------

    def _thread_name(self) -> str:
        return "magpro-emulator"

    # ----- the front panel, the patient side and faults (any thread) ------------------------------------
    def foot_pedal(self) -> bool:
        """Press the foot pedal; True when the unit delivered (and reported) a pulse."""
        return self._push(lambda u: u.foot_pedal())

    def start_train(self) -> bool:
        """The unit's own train start (enabled units only); pulses follow on the unit's clock."""
        return self._push(lambda u: u.start_train())

    def turn_amplitude(self, a_pct: int, b_pct: int | None = None) -> None:
        self._push(lambda u: u.turn_amplitude(a_pct, b_pct))

    def press_enable(self, enabled: bool) -> None:
        self._push(lambda u: u.press_enable(enabled))

    def set_coil_temperature(self, celsius: int) -> None:
        self._push(lambda u: u.set_coil_temperature(celsius))

    def set_page(self, page: int) -> None:
        self._push(lambda u: u.set_page(page))

    def mep(self, max_uv: int, min_uv: int, max_time_us: int) -> None:
        """The unit's MEP page measured a response (pushes message 4)."""
        self._push(lambda u: u.mep(max_uv, min_uv, max_time_us))

    def inject_garbage(self, data: bytes) -> None:
        """Bytes on the line now (e.g. between frames, or with 0xFE and a plausible length)."""
        with self._lock:
            self._send(data)

    def stall(self) -> None:
        """The unit goes silent: no answers and no pushed frames until :meth:`resume`."""
        with self._lock:
            self._silent = True

    def resume(self) -> None:
        with self._lock:
            self._silent = False

    def restart(self) -> None:
        """Power-cycle the unit (clears the hang a malformed command causes)."""
        with self._lock:
            self.unit.restart()

    def interleave_next_reply(self, action: Callable[[MagProUnit], bytes]) -> None:
        """Something happens on the unit while it handles the next command: the frames ``action``
        makes (e.g. ``lambda u: u.foot_pedal() + u.turn_amplitude(70)``) go out just before that
        command's own answer, as when the pedal is pressed just as the command arrives: the answer
        then already reflects it (the unit handles one thing after the other)."""
        with self._lock:
            self._interleave = action

    @property
    def received(self) -> list[ReceivedCommand]:
        """Every command the unit accepted, in order (a copy)."""
        with self._lock:
            return list(self.unit.received)

    def _push(self, action: Callable[[MagProUnit], bytes]) -> bool:
        with self._lock:
            out = action(self.unit)
            if out and not self._silent:
                self._send(out)
        return bool(out)

    def _send(self, data: bytes) -> None:
        """Write to the host; a host that does not read loses bytes (its buffer overflows)."""
        if self._master is not None:
            view = memoryview(data)
            while view:
                try:
                    n = os.write(self._master, view)
                except OSError:
                    return
                self.bytes_out += n
                view = view[n:]
        elif self._conn is not None:
            try:
                self._conn.sendall(data)
                self.bytes_out += len(data)
            except OSError:
                pass

    def _handle(self, data: bytes, baud: int | None) -> None:
        with self._lock:
            if data:
                self.bytes_in += len(data)
                if self._silent:
                    return   # a silent unit takes nothing in either
                if baud is not None and baud != MAGPRO_BAUD:
                    return   # framing errors on the unit's UART: nothing it understands
                before = b""
                if self._interleave is not None and self.unit.has_command(data):
                    before, self._interleave = self._interleave(self.unit), None
                out = before + self.unit.receive(data)
            else:
                out = b""
            out += self.unit.due_output()
            if out and not self._silent:
                self._send(out)

    def _wait_s(self) -> float:
        due = self.unit.next_due_s()
        return 0.05 if due is None else min(0.05, max(0.0, due - self.unit.clock()))

    # ----- transports -----------------------------------------------------------------------------------
    def _run_pty(self) -> None:
        while not self._stop.is_set():
            data = self._read_pty(self._wait_s())
            if data is None:
                return
            self._handle(data, self._host_baud_pty() if data else None)

    def _serve_connection(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            data = self._read_conn(conn, self._wait_s())
            if data is None:
                return
            self._handle(data, None)
