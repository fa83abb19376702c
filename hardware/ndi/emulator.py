"""Byte-exact NDI Combined API device emulator on a pseudo-terminal or a TCP socket.

``NDIEmulator`` wraps :class:`.device.EmulatedDevice` (the command state machine) with a transport
and run-time fault injection, so drivers and third-party hosts can be tested with no hardware:

>>> emulator = NDIEmulator()
>>> path = emulator.serve_pty()        # e.g. "/dev/pts/5": open it like a serial port
>>> port = emulator.serve_tcp()        # or: a Vega on socket://127.0.0.1:<port>  (one at a time)

Serial break on a pty: a pseudo-terminal cannot carry a break (``tcsendbreak`` is a no-op there),
so the emulator takes the NUL byte (0x00) a UART delivers when it receives a break as the break
itself. :class:`.transport.SerialLink` writes that byte after ``send_break()`` on a pty only, and
Python code may call :meth:`NDIEmulator.on_break` directly. Baud rate on a pty: the emulator reads
the host's termios speed on the slave side; bytes sent at a rate other than the device's current
one are treated as garbled and ignored, like a real UART would (``simulate_baud``).
"""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from .commands import frame_ascii_reply
from .device import DEFAULT_TOOLS, EmulatedDevice, PoseSource
from .device_pose import DefaultMotion

__all__ = ["NDIEmulator"]

_MAX_LINE = 2048
_STANDARD_RATES = (9600, 19200, 38400, 57600, 115200, 230400, 921600)


class NDIEmulator:
    """An NDI Polaris/Vega/Aurora as seen on the wire. Thread-safe; one transport at a time."""

    def __init__(self, pose_source: PoseSource | None = None, *, model: str = "vega",
                 rate_hz: float | None = None, tools: Sequence[str] = DEFAULT_TOOLS,
                 noise_mm: float = 0.05, noise_rad: float = 3e-4, rms_mm: float = 0.12,
                 seed: int = 0, start_frame: int = 0, simulate_wire_time: bool = False,
                 simulate_baud: bool = True, rom_motion: dict[str, str] | None = None) -> None:
        self.device = EmulatedDevice(pose_source or DefaultMotion(), model=model, rate_hz=rate_hz,
                                     tools=tools, noise_mm=noise_mm, noise_rad=noise_rad,
                                     rms_mm=rms_mm, seed=seed, start_frame=start_frame,
                                     rom_motion=rom_motion)
        self.simulate_wire_time = simulate_wire_time
        self.simulate_baud = simulate_baud
        self._rng = np.random.default_rng(seed + 7919)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._unplug = threading.Event()
        self._unplugged = threading.Event()
        self._thread: threading.Thread | None = None
        self._master_fd: int | None = None
        self._slave_fd: int | None = None
        self._listener: socket.socket | None = None
        self._silent = False
        self._garbage: list[tuple[bytes, bool]] = []
        self._crc_flips = 0
        self._truncations = 0
        self._errors: list[tuple[int, str | None]] = []
        self.replies_sent = 0
        self.pty_path: str | None = None
        self._sink: Callable[[memoryview], int] | None = None
        self._termios_speeds: dict[int, int] = {}

    # ------------------------------------------------------------------ transports
    def serve_pty(self) -> str:
        """Serve on a new pseudo-terminal; returns the slave path to open (e.g. ``/dev/pts/5``)."""
        import termios     # POSIX only: imported here so the TCP transport also works on Windows
        import tty

        self._check_idle()
        self._termios_speeds = {b: getattr(termios, f"B{b}") for b in _STANDARD_RATES
                                if hasattr(termios, f"B{b}")}
        master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[4] = attrs[5] = termios.B9600
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self._master_fd, self._slave_fd = master, slave
        self.pty_path = os.ttyname(slave)
        self._start(self._pty_loop)
        return self.pty_path

    def serve_tcp(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Listen like a Vega's Ethernet port (no break, no COMM); returns the bound TCP port.

        Connections are served one after another, so a probe connect/close and then the real
        connection both work; the device state survives between connections.
        """
        self._check_idle()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1)
        self._listener = listener
        self._start(self._tcp_loop)
        return listener.getsockname()[1]

    def stop(self) -> None:
        """Stop serving and release the pty or socket. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._close_fds()

    def __enter__(self) -> "NDIEmulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults
    def on_break(self) -> None:
        """A serial break arrives: reset to 9600 baud and answer ``RESETBE6F``."""
        self._write(self.device.on_break(), 9600)

    def set_tool_condition(self, tool: str, condition: str) -> None:
        """Condition of ``tool``: one of :data:`.device.TOOL_CONDITIONS` (``"ok"``, ``"missing"``,
        ``"out_of_volume"``, ``"partially_in_volume"``, ``"disabled"``)."""
        self.device.set_condition(tool, condition)

    def set_system_status(self, bits: int) -> None:
        """System status word of the following BX/TX replies (e.g. 0x0002 too much infrared)."""
        self.device.system_status = bits & 0xFFFF

    def stall(self, mode: str = "silent") -> None:
        """``"silent"``: read commands, answer nothing. ``"frozen"``: answer with a frame number
        (and poses) that no longer change."""
        if mode not in ("silent", "frozen"):
            raise ValueError("stall mode must be 'silent' or 'frozen'")
        with self._lock:
            self._silent = mode == "silent"
        self.device.freeze(mode == "frozen")

    def resume(self) -> None:
        """End a stall: answers and frame numbers flow again."""
        with self._lock:
            self._silent = False
        self.device.freeze(False)

    def inject_garbage(self, data: bytes | None = None, *, count: int = 1,
                       replace: bool = False) -> None:
        """Put line noise before (or instead of, ``replace=True``) the next ``count`` replies."""
        with self._lock:
            for _ in range(count):
                noise = data if data is not None else \
                    self._rng.integers(0, 256, 24, dtype=np.uint8).tobytes()
                self._garbage.append((bytes(noise), replace))

    def inject_crc_errors(self, count: int = 1) -> None:
        """Flip one bit in the body of each of the next ``count`` BX/TX replies."""
        with self._lock:
            self._crc_flips += count

    def inject_truncation(self, count: int = 1) -> None:
        """Send only the first half of each of the next ``count`` BX/TX replies."""
        with self._lock:
            self._truncations += count

    def inject_frame_number(self, value: int, *, count: int = 1) -> None:
        """Report ``value`` as the frame number of the next ``count`` BX/TX replies (a counter
        glitch such as PlusLib #244's 16767 -> 4294967170); the true count continues after."""
        self.device.override_frame_numbers(value, count)

    def clear_faults(self) -> None:
        """Forget every pending injected fault (garbage, CRC flips, truncations, errors, frame
        numbers); tool conditions and stalls stay as set."""
        with self._lock:
            self._garbage.clear()
            self._crc_flips = self._truncations = 0
            self._errors.clear()
        self.device.override_frame_numbers(0, 0, replace=True)

    def inject_error(self, code: int, *, command: str | None = None, count: int = 1) -> None:
        """Answer the next ``count`` commands (named ``command``, or any) with ``ERRORxx``."""
        with self._lock:
            self._errors.extend([(code, command.upper() if command else None)] * count)

    def unplug(self) -> None:
        """Pull the cable: close the pty master (host reads then fail with EIO) or the socket."""
        self._unplug.set()
        if self._thread is not None and self._thread.is_alive():
            self._unplugged.wait(timeout=1.0)
        else:
            self._close_fds()

    # ------------------------------------------------------------------ reply path
    def _respond(self, line: bytes) -> bytes | None:
        name = bytes(line[:8]).split(b":")[0].split(b" ")[0].decode("ascii", "replace").upper()
        with self._lock:
            if self._silent:
                self.device.commands.append("<ignored>" + name)
                return None
            injected = next((e for e in self._errors if e[1] in (None, name)), None)
            if injected is not None:
                self._errors.remove(injected)
        reply = (frame_ascii_reply(f"ERROR{injected[0]:02X}") if injected
                 else self.device.handle_line(line))
        with self._lock:
            if name in ("BX", "TX") and reply[:5] != b"ERROR":
                if self._crc_flips:
                    self._crc_flips -= 1
                    damaged = bytearray(reply)
                    at = 8 if name == "BX" else max(2, len(reply) // 2)
                    damaged[at] ^= 0x01
                    reply = bytes(damaged)
                if self._truncations:
                    self._truncations -= 1
                    reply = reply[:len(reply) // 2]
            if self._garbage:
                noise, replace = self._garbage.pop(0)
                reply = noise if replace else noise + reply
        return reply

    def _write(self, data: bytes, baud: int) -> None:
        if self.simulate_wire_time and self._master_fd is not None:
            time.sleep(len(data) * 10.0 / baud)
        with self._write_lock:          # on_break() may come from another thread
            sink = self._sink
            if sink is None:
                return
            view = memoryview(data)
            while view:
                written = sink(view)
                view = view[written:]
            self.replies_sent += 1

    def _feed(self, data: bytes, buffer: bytearray, *, pty: bool) -> None:
        if pty and b"\x00" in data:
            data = data[data.rindex(b"\x00") + 1:]
            buffer.clear()
            self.on_break()
        if pty and self.simulate_baud and not self._baud_matches():
            return
        for byte in data:
            if byte == 0x0D:
                line = bytes(buffer).lstrip(b"\n")
                buffer.clear()
                baud = self.device.baud
                reply = self._respond(line) if len(line) <= _MAX_LINE else \
                    frame_ascii_reply("ERROR02")
                if reply is not None:
                    self._write(reply, baud)
            elif len(buffer) <= _MAX_LINE:
                buffer.append(byte)

    def _baud_matches(self) -> bool:
        import termios

        expected = self._termios_speeds.get(self.device.baud)
        if self._slave_fd is None:
            return True
        try:
            speed = termios.tcgetattr(self._slave_fd)[4]
        except (termios.error, TypeError):
            return True
        if expected is None or speed not in self._termios_speeds.values():
            return True            # a non-standard rate: a pty cannot tell, assume it matches
        return speed == expected

    # ------------------------------------------------------------------ loops
    def _check_idle(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this emulator is already serving; call stop() first")
        self._close_fds()
        self._stop.clear()
        self._unplug.clear()
        self._unplugged.clear()

    def _start(self, target) -> None:
        self._thread = threading.Thread(target=target, name="ndi-emulator", daemon=True)
        self._thread.start()

    def _pump(self, source: int | socket.socket, read: Callable[[], bytes | None], *,
              pty: bool) -> None:
        """The one serve loop of both transports: feed what arrives on ``source`` to the device
        until stopped or unplugged; returns when the peer closes (``read`` gives b""); ``read``
        gives None when there is nothing to read now (a pty with no host on the slave)."""
        buffer = bytearray()
        while not self._stop.is_set() and not self._unplug.is_set():
            ready, _, _ = select.select([source], [], [], 0.02)
            if not ready:
                continue
            data = read()
            if data is None:
                time.sleep(0.01)
                continue
            if not data:
                return
            self._feed(data, buffer, pty=pty)

    def _pty_loop(self) -> None:
        master = self._master_fd
        assert master is not None, "serve_pty() opens the pty before starting this loop"
        self._sink = lambda view: os.write(master, view)

        def read() -> bytes | None:
            try:
                return os.read(master, 4096) or None
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                return None          # no host has the slave open right now

        try:
            self._pump(master, read, pty=True)
        except OSError:
            pass
        finally:
            self._sink = None
            self._close_fds()
            self._unplugged.set()

    def _tcp_loop(self) -> None:
        listener = self._listener
        assert listener is not None, "serve_tcp() opens the listener before starting this loop"
        try:
            while not self._stop.is_set() and not self._unplug.is_set():
                ready, _, _ = select.select([listener], [], [], 0.02)
                if ready:
                    conn, _ = listener.accept()
                    with conn:
                        self._serve_connection(conn)
        except OSError:
            pass
        finally:
            self._sink = None
            self._close_fds()
            self._unplugged.set()

    def _serve_connection(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sink = conn.send
        try:
            self._pump(conn, lambda: conn.recv(4096), pty=False)
        except OSError:
            return
        finally:
            self._sink = None
            if self._unplug.is_set():
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _close_fds(self) -> None:
        for name in ("_master_fd", "_slave_fd"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.close()
