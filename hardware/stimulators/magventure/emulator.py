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

import errno
import os
import select
import socket
import threading
import time
from typing import Any, Callable

from ...emulator_serving import PtyOrTcpServer
from .unit import MagProUnit, ReceivedCommand

__all__ = ["MagProEmulator", "MAGPRO_BAUD"]

MAGPRO_BAUD = 38400


def _host_baud(fd: int) -> int | None:
    """The baud rate the host set on the pty (POSIX only; None when unknown)."""
    import termios

    try:
        speed = termios.tcgetattr(fd)[5]
    except (termios.error, OSError, TypeError):
        return None
    for baud in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400):
        if getattr(termios, f"B{baud}", None) == speed:
            return baud
    return None


class MagProEmulator(PtyOrTcpServer):
    """A MagPro on a pty or TCP port. ``unit_kwargs`` go to :class:`MagProUnit` (e.g. ``clock``,
    ``recharge_s``, ``didt_per_pct``, ``amplitude_limit``, ``model``)."""

    def __init__(self, unit: MagProUnit | None = None, **unit_kwargs: Any) -> None:
        self.unit = unit if unit is not None else MagProUnit(**unit_kwargs)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._silent = False
        self._interleave: Callable[[MagProUnit], bytes] | None = None
        self.path: str | None = None
        self.port: int | None = None
        self.bytes_in = 0
        self.bytes_out = 0

    # ----- life cycle -------------------------------------------------------------------------------

    def _thread_name(self) -> str:
        return "magpro-emulator"

    def stop(self) -> None:
        """Stop serving and release the pty/socket. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        with self._lock:
            for name in ("_master", "_slave"):
                fd = getattr(self, name)
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                    setattr(self, name, None)
            for name in ("_conn", "_listener"):
                sock = getattr(self, name)
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass
                    setattr(self, name, None)

    unplug = stop   # pulling the cable: the host's port fails on its next read or write

    def __enter__(self) -> "MagProEmulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

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
            master = self._master
            if master is None:
                return
            try:
                readable, _, _ = select.select([master], [], [], self._wait_s())
            except (OSError, ValueError):
                return
            data = b""
            if readable:
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    pass
                except OSError as exc:   # EIO: the host closed the slave; keep serving
                    if exc.errno != errno.EIO:
                        return
                    time.sleep(0.01)
            self._handle(data, _host_baud(master) if data else None)

    def _run_tcp(self) -> None:
        while not self._stop.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                if not select.select([listener], [], [], 0.05)[0]:
                    continue
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conn = conn
            while not self._stop.is_set():
                try:
                    readable, _, _ = select.select([conn], [], [], self._wait_s())
                    data = conn.recv(4096) if readable else b""
                except (OSError, ValueError):
                    break
                if readable and not data:
                    break   # host closed the connection
                self._handle(data, None)
            with self._lock:
                if self._conn is conn:
                    self._conn = None
            try:
                conn.close()
            except OSError:
                pass
