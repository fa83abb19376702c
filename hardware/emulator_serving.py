"""Serving an emulated device on a pseudo-terminal or a TCP port: the part every emulator shares.

The Polhemus tracker and the Magstim and MagVenture stimulator emulators differ in what they
say, not in how they are reached: a raw-mode pty whose slave path a driver opens like a serial
port, or one TCP host at a time (``socket://`` URLs, as pyserial opens them). Each emulator keeps
its own reader loops (``_run_pty``, ``_run_tcp``) and its own stop/close; this mixin opens the
endpoint and starts the one serving thread.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, Callable

__all__ = ["PtyOrTcpServer"]


class PtyOrTcpServer:
    """Mixin: ``serve_pty()`` / ``serve_tcp()`` / ``url`` for an emulator that sets, in its
    ``__init__``, ``path = port = None``, ``_thread = None``, ``_stop = threading.Event()`` and the
    ``_master``/``_slave``/``_listener`` slots, and defines ``_run_pty`` and ``_run_tcp``."""

    path: str | None
    port: int | None
    _thread: threading.Thread | None
    _stop: threading.Event
    _master: int | None
    _slave: int | None
    _listener: Any
    _run_pty: Callable[[], None]
    _run_tcp: Callable[[], None]

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
