"""Serving an emulated device on a pseudo-terminal or a TCP port: the part every emulator shares.

The Polhemus tracker and the Magstim and MagVenture stimulator emulators differ in what they
say, not in how they are reached: a raw-mode pty whose slave path a driver opens like a serial
port, or one TCP host at a time (``socket://`` URLs, as pyserial opens them). This mixin opens the
endpoint, runs the one serving thread, accepts TCP hosts one after the other, waits for a host's
bytes on either transport (a host closing its side of the pty is not the end: it may reopen it),
and stops and closes everything. Each emulator keeps what it does with the bytes: its own
``_run_pty`` loop and ``_serve_connection`` (the TCP host's loop).
"""

from __future__ import annotations

import errno
import functools
import os
import select
import socket
import threading
from typing import Callable, TypeVar

__all__ = ["PtyOrTcpServer"]

_Server = TypeVar("_Server", bound="PtyOrTcpServer")

_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


@functools.cache
def _termios_speeds() -> dict[int, int]:
    """termios speed code -> baud. POSIX only: imported here, in pty mode, so that importing an
    emulator works everywhere."""
    import termios

    return {getattr(termios, f"B{b}"): b for b in _RATES if hasattr(termios, f"B{b}")}


class PtyOrTcpServer:
    """Mixin: ``serve_pty()`` / ``serve_tcp()`` / ``url`` / ``stop()`` for an emulator that calls
    :meth:`_init_serving` in its ``__init__`` and defines ``_run_pty`` (the pty loop, reading with
    :meth:`_read_pty`) and ``_serve_connection`` (one TCP host, reading with :meth:`_read_conn`)."""

    path: str | None
    port: int | None
    bytes_in: int
    bytes_out: int
    _io_lock: threading.RLock
    _thread: threading.Thread | None
    _stop: threading.Event
    _master: int | None
    _slave: int | None
    _listener: socket.socket | None
    _conn: socket.socket | None
    _run_pty: Callable[[], None]
    _serve_connection: Callable[[socket.socket], None]

    def _init_serving(self, lock: threading.RLock | None = None) -> None:
        """Not serving yet; ``lock`` guards the transport (the emulator's own lock, if it has one)."""
        self._io_lock = lock if lock is not None else threading.RLock()
        self._stop = threading.Event()
        self._thread = None
        self._master = self._slave = None
        self._listener = self._conn = None
        self.path = None
        self.port = None
        self.bytes_in = self.bytes_out = 0

    def _thread_name(self) -> str:
        """Name of the serving thread (seen in logs and thread dumps)."""
        return f"{type(self).__name__.lower()}"

    @property
    def url(self) -> str:
        """What to pass to the driver as ``port``: the pty path or a ``socket://`` URL."""
        if self.path is not None:
            return self.path
        if self.port is not None:
            return f"socket://127.0.0.1:{self.port}"
        raise RuntimeError("emulator is not serving; call serve_pty() or serve_tcp() first")

    def serve_pty(self) -> str:
        """Open a pseudo-terminal, serve on its master; return the slave path (e.g. /dev/pts/3)."""
        self._require_idle()
        import tty        # POSIX only (pty mode)

        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        self._start(self._run_pty)
        return self.path

    def serve_tcp(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Listen on ``host:port`` (0 = any free port); return the port. One host at a time."""
        self._require_idle()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._start(self._run_tcp)
        return self.port

    def _require_idle(self) -> None:
        if self._thread is not None:
            raise RuntimeError("emulator is already serving")

    def _start(self, target: Callable[[], None]) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=target, name=self._thread_name(), daemon=True)
        self._thread.start()

    # ----- stopping -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop serving and release the pty/socket. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        self._close_transport()

    def unplug(self) -> None:
        """Pull the cable: the pty vanishes (or the TCP host is dropped); the host's next read or
        write fails."""
        self.stop()

    def _close_transport(self) -> None:
        with self._io_lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._master = self._slave = None
            for sock in (self._conn, self._listener):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass
            self._conn = self._listener = None

    def __enter__(self: _Server) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- reading the host's bytes ---------------------------------------------------------------
    def _read_pty(self, timeout_s: float) -> bytes | None:
        """Wait up to ``timeout_s`` for the host's bytes on the pty: the bytes, ``b""`` when none
        came (or the host closed its side, EIO: it may open it again), None when serving ends."""
        master = self._master
        if master is None:
            return None
        try:
            readable, _, _ = select.select([master], [], [], timeout_s)
        except (OSError, ValueError):
            return None
        if not readable:
            return b""
        try:
            return os.read(master, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno != errno.EIO:
                return None
            self._stop.wait(0.01)
            return b""

    def _host_baud_pty(self) -> int | None:
        """The baud rate the host set on its side of the pty (a device at another rate sees only
        framing errors); None when unknown or not on a pty."""
        import termios    # pty mode only

        master = self._master
        if master is None:
            return None
        try:
            speed = termios.tcgetattr(master)[5]
        except (termios.error, TypeError, OSError):
            return None
        return _termios_speeds().get(speed)

    def _read_conn(self, conn: socket.socket, timeout_s: float) -> bytes | None:
        """Wait up to ``timeout_s`` for the TCP host's bytes: the bytes, ``b""`` when none came,
        None when the host closed the connection or it failed."""
        try:
            readable, _, _ = select.select([conn], [], [], timeout_s)
            data = conn.recv(4096) if readable else b""
        except (OSError, ValueError):
            return None
        if readable and not data:
            return None
        return data

    def _idle_without_host(self) -> None:
        """Called while no TCP host is connected (about every 20 ms): the unit's own timers."""

    def _run_tcp(self) -> None:
        """One TCP host at a time, each served by ``_serve_connection`` until it goes."""
        while not self._stop.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                if not select.select([listener], [], [], 0.02)[0]:
                    self._idle_without_host()
                    continue
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._io_lock:
                self._conn = conn
            self._serve_connection(conn)
            with self._io_lock:
                if self._conn is conn:
                    self._conn = None
            try:
                conn.close()
            except OSError:
                pass
