"""The byte link to an NDI device: a serial port, USB-serial adapter, pty or ``socket://`` URL.

A thin layer over pyserial that (1) turns every pyserial/OS failure into :class:`ConnectionLost`
naming the port, so a vanished USB adapter or closed socket never escapes as a bare traceback;
(2) reads with a short fixed timeout so callers keep their own deadlines (portable: no select on
Windows handles); (3) sends the serial break the device needs for a reset. A pseudo-terminal
cannot carry a break, so on a pty the link also writes the NUL byte a UART receives for a break
(the convention :mod:`.emulator` understands). A ``socket://`` link (a Vega over Ethernet) has no
break and no baud rate.
"""

from __future__ import annotations

import os
import select
import socket
import stat
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import serial

from ..errors import ConnectionLost, TrackerConnectionError

__all__ = ["SerialLink", "connection_error"]

_READ_SLICE_S = 0.01
_PTY_SLAVE_MAJORS = range(136, 144)   # Linux Unix98 pty slaves (admin-guide/devices.txt)


def _os_errors() -> tuple[type[BaseException], ...]:
    """What a vanished port raises. tcflush on a pty whose master is gone raises termios.error,
    which is no OSError; termios is never imported here (Windows has none): if pyserial's POSIX
    backend loaded it, it is in sys.modules. Evaluated only when an exception is being matched."""
    termios = sys.modules.get("termios")
    base: tuple[type[BaseException], ...] = (serial.SerialException, OSError)
    return base + (termios.error,) if termios is not None else base


def _is_pty(port: str) -> bool:
    if not sys.platform.startswith("linux") or "://" in port:
        return False
    try:
        info = os.stat(port)
    except OSError:
        return False
    return stat.S_ISCHR(info.st_mode) and os.major(info.st_rdev) in _PTY_SLAVE_MAJORS


class _TcpPort:
    """``socket://host:port`` with the few pyserial calls SerialLink uses. pyserial's own socket
    handler reports ``in_waiting`` as 0/1, which makes reading a reply byte by byte (~1 ms)."""

    baudrate = 0

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if not parts.hostname or parts.port is None:
            raise ValueError(f"expected socket://host:port, got {url!r}")
        self._sock = socket.create_connection((parts.hostname, parts.port), timeout=2.0)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.settimeout(None)

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def read_some(self, wait_s: float) -> bytes:
        ready, _, _ = select.select([self._sock], [], [], wait_s)
        if not ready:
            return b""
        data = self._sock.recv(65536)
        if not data:
            raise ConnectionResetError("the device closed the connection")
        return data

    def reset_input_buffer(self) -> None:
        while select.select([self._sock], [], [], 0)[0]:
            if not self._sock.recv(65536):
                raise ConnectionResetError("the device closed the connection")

    def close(self) -> None:
        self._sock.close()


class SerialLink:
    """One open connection. Every method raises ConnectionLost once the device is gone."""

    def __init__(self, port: str, *, baud: int = 9600) -> None:
        self.port = port
        self.is_socket = port.startswith("socket://")
        self.is_pty = _is_pty(port)
        self._serial: Any  # a pyserial port, or _TcpPort with the calls used on a socket
        try:
            if self.is_socket:
                self._serial = _TcpPort(port)
            else:
                self._serial = serial.serial_for_url(port, baudrate=baud, bytesize=8, parity="N",
                                                     stopbits=1, timeout=_READ_SLICE_S,
                                                     write_timeout=2.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise connection_error(_open_failure_text(port, exc), port) from None

    def _lost(self, exc: BaseException) -> ConnectionLost:
        return ConnectionLost(f"lost the connection to the NDI device on {self.port}: {exc}")

    def write(self, data: bytes) -> None:
        try:
            fd = getattr(self._serial, "fd", None)
            if fd is None:
                self._serial.write(data)
            else:  # commands are a few bytes: the kernel takes them in one write
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            if not self.is_socket:
                self._serial.flush()
        except _os_errors() as exc:
            raise self._lost(exc) from None

    def read_available(self, wait_s: float) -> bytes:
        """Bytes received within about ``wait_s`` (returns as soon as anything arrives)."""
        deadline = time.monotonic() + max(0.0, wait_s)
        try:
            if self.is_socket:
                return self._serial.read_some(max(0.0, wait_s))
            fd = getattr(self._serial, "fd", None)
            if fd is not None:
                # POSIX serial or pty: one select + one read, instead of pyserial's read(1),
                # in_waiting and read(n) (five system calls and a timeout object per call).
                ready, _, _ = select.select([fd], [], [], max(0.0, wait_s))
                if not ready:
                    return b""
                data = os.read(fd, 4096)
                if not data:  # readable but empty: the other end has gone (as pyserial treats it)
                    raise self._lost(OSError("device reports readiness to read but returned no data"))
                return data
            while True:
                data = self._serial.read(1)
                if data:
                    waiting = self._serial.in_waiting
                    return data + self._serial.read(waiting) if waiting else data
                if time.monotonic() >= deadline:
                    return b""
        except _os_errors() as exc:
            raise self._lost(exc) from None

    def flush_input(self) -> None:
        """Discard unread bytes: leftovers of an earlier reply are garbage (ndicapi does this)."""
        try:
            self._serial.reset_input_buffer()
        except _os_errors() as exc:
            raise self._lost(exc) from None

    def set_baud(self, baud: int) -> None:
        if self.is_socket:
            return
        try:
            self._serial.baudrate = baud
        except (serial.SerialException, OSError, ValueError) as exc:
            raise self._lost(exc) from None

    @property
    def baud(self) -> int:
        return int(self._serial.baudrate)

    def send_break(self) -> None:
        """Serial break (reset request); a no-op on a socket, a NUL byte on a pty."""
        if self.is_socket:
            return
        try:
            self._serial.send_break(0.25)
            if self.is_pty:
                self._serial.write(b"\x00")
        except _os_errors() as exc:
            raise self._lost(exc) from None

    def close(self) -> None:
        """Release the port; never raises (the port may already be gone)."""
        try:
            self._serial.close()
        except Exception:  # noqa: BLE001 - a vanished device may fail in any way on close
            pass


def connection_error(message: str, port: str) -> TrackerConnectionError:
    """A TrackerConnectionError whose message already names the port (no duplicate suffix)."""
    error = TrackerConnectionError(message)
    error.port = port
    return error


def _open_failure_text(port: str, exc: BaseException) -> str:
    text = str(exc)
    if "Permission denied" in text or isinstance(exc, PermissionError):
        hint = "no permission: on Linux add your user to the 'dialout' group and log in again"
    elif "No such file" in text or "could not open port" in text.lower():
        hint = "no such port: is the cable or USB adapter plugged in, and is the name right?"
    elif isinstance(exc, (ConnectionRefusedError, socket.timeout, socket.gaierror)) \
            or "Connection refused" in text or "timed out" in text:
        hint = "nothing accepted the connection: check the tracker's IP address, port and power"
    else:
        hint = text
    return f"cannot open {port}: {hint}"
