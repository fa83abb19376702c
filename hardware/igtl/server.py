"""``PoseStreamer``: an OpenIGTLink server that streams tmsnav poses (TRANSFORM messages) to viewers.

3D Slicer connects to it as an OpenIGTLinkIF *client* and shows each device name as a linear
transform node (``CoilToTracker``, ``PointerToTracker``, or MRI-space names such as ``CoilToMRI``
that the app passes in). Only valid poses go out: ``None``, non-finite, non-rigid or mis-shaped
matrices are skipped and counted (TRANSFORM has no "invalid" flag, and Slicer's watchdog turns a
transform that stops updating into a warning).

One thread runs a ``selectors`` loop: it accepts any number of clients, discards what they send and
writes each client's queue. ``send()`` only appends to the queues, so a slow viewer never blocks
the caller; a client whose queue exceeds ``max_queue_bytes`` loses its oldest unsent messages.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from tmsnav.navigation.transforms import is_rigid

from ..frames import ToolFrame
from .protocol import pack_transform

__all__ = ["PoseStreamer", "StreamerStats"]

log = logging.getLogger(__name__)


@dataclass
class StreamerStats:
    messages_queued: int = 0
    skipped_invalid: int = 0
    messages_dropped: int = 0
    clients_accepted: int = 0
    clients_closed: int = 0


@dataclass
class _Client:
    sock: socket.socket
    queue: deque = field(default_factory=deque)
    queued_bytes: int = 0
    offset: int = 0  # bytes of queue[0] already sent


class PoseStreamer:
    """OpenIGTLink TRANSFORM server. ``port=0`` picks a free port (read ``.port`` after ``start``)."""

    def __init__(self, port: int = 18944, *, host: str = "127.0.0.1", header_version: int = 1,
                 max_queue_bytes: int = 1 << 20) -> None:
        if header_version not in (1, 2):
            raise ValueError("header_version must be 1 or 2")
        self.host = host
        self._requested_port = int(port)
        self.header_version = header_version
        self.max_queue_bytes = int(max_queue_bytes)
        self.stats = StreamerStats()
        self._lock = threading.Lock()
        self._clients: dict[int, _Client] = {}
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.port: int | None = None

    # ----- life cycle ----------------------------------------------------------------------------
    def start(self) -> int:
        """Bind, listen and start serving; returns the port. Idempotent."""
        if self._thread is not None:
            assert self.port is not None
            return self.port
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self._requested_port))
        except OSError as exc:
            listener.close()
            raise OSError(exc.errno, f"cannot serve OpenIGTLink on {self.host}:{self._requested_port}: "
                                     f"{exc.strerror} (is another server, e.g. PLUS, using this port?)") from exc
        listener.listen(8)
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"igtl-streamer-{self.port}", daemon=True)
        self._thread.start()
        log.info("OpenIGTLink pose streamer on %s:%d", self.host, self.port)
        return self.port

    def close(self) -> None:
        """Disconnect the clients and stop listening. Idempotent."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake()
        self._thread.join(timeout=2.0)
        self._thread = None
        with self._lock:
            for client in self._clients.values():
                client.sock.close()
            self._clients.clear()
        for sock in (self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        if self._selector is not None:
            self._selector.close()
        self._listener = self._wake_r = self._wake_w = None
        self._selector = None

    stop = close

    def __enter__(self) -> "PoseStreamer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client_count(self) -> int:
        with self._lock:
            return len(self._clients)

    # ----- sending -----------------------------------------------------------------------------------
    def send(self, name: str, matrix_4x4: np.ndarray | None, timestamp: float | None = None) -> int:
        """Queue a TRANSFORM ``name`` (e.g. "CoilToTracker") for every client; returns how many.

        ``timestamp`` is seconds since 1970 (default: now). Invalid poses are not sent (returns 0).
        """
        if not _valid_pose(matrix_4x4):
            self.stats.skipped_invalid += 1
            return 0
        data = pack_transform(name, np.asarray(matrix_4x4, dtype=float), timestamp, self.header_version)
        with self._lock:
            for client in self._clients.values():
                client.queue.append(data)
                client.queued_bytes += len(data)
                while client.queued_bytes > self.max_queue_bytes and len(client.queue) > 1:
                    index = 1 if client.offset else 0  # never cut the message being written
                    client.queued_bytes -= len(client.queue[index])
                    del client.queue[index]
                    self.stats.messages_dropped += 1
            n = len(self._clients)
        if n:
            self.stats.messages_queued += n
            self._wake()
        return n

    def send_frames(self, frames: Iterable[ToolFrame], device_names: dict[str, str] | None = None,
                    timestamp: float | None = None) -> int:
        """Send the trackable frames; ``device_names`` maps tool -> device name (default "<Tool>ToTracker")."""
        sent = 0
        for f in frames:
            if not f.is_trackable:
                self.stats.skipped_invalid += 1
                continue
            name = (device_names or {}).get(f.tool) or f"{f.tool[:1].upper()}{f.tool[1:]}ToTracker"
            sent += self.send(name, f.tracker_from_tool, timestamp) > 0
        return sent

    def _wake(self) -> None:
        w = self._wake_w
        if w is not None:
            try:
                w.send(b"\0")
            except OSError:
                pass

    # ----- server thread -------------------------------------------------------------------------------
    def _run(self) -> None:
        sel = self._selector
        assert sel is not None
        while not self._stopping.is_set():
            with self._lock:
                for fd, client in self._clients.items():
                    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.queue else 0)
                    sel.modify(client.sock, events, fd)
            try:
                ready = sel.select(timeout=0.5)
            except (OSError, ValueError):
                return
            for key, events in ready:
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    try:
                        self._wake_r.recv(4096)  # type: ignore[union-attr]
                    except OSError:
                        pass
                else:
                    self._service(key.data, events)

    def _accept(self) -> None:
        try:
            sock, addr = self._listener.accept()  # type: ignore[union-attr]
        except OSError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._clients[sock.fileno()] = _Client(sock)
            self._selector.register(sock, selectors.EVENT_READ, sock.fileno())  # type: ignore[union-attr]
        self.stats.clients_accepted += 1
        log.info("OpenIGTLink viewer connected from %s:%d", *addr[:2])

    def _drop(self, fd: int) -> None:
        with self._lock:
            client = self._clients.pop(fd, None)
            if client is None:
                return
            try:
                self._selector.unregister(client.sock)  # type: ignore[union-attr]
            except (KeyError, ValueError):
                pass
        client.sock.close()
        self.stats.clients_closed += 1

    def _service(self, fd: int, events: int) -> None:
        with self._lock:
            client = self._clients.get(fd)
        if client is None:
            return
        if events & selectors.EVENT_READ:
            try:
                data = client.sock.recv(65536)  # viewers may send their own messages: not used
            except BlockingIOError:
                data = b"\0"
            except OSError:
                data = b""
            if not data:
                self._drop(fd)
                return
        n = 0
        if events & selectors.EVENT_WRITE:
            with self._lock:
                while client.queue:
                    head = client.queue[0]
                    try:
                        n = client.sock.send(memoryview(head)[client.offset:])
                    except BlockingIOError:
                        break
                    except OSError:
                        client.queue.clear()
                        n = -1
                        break
                    client.offset += n
                    if client.offset < len(head):
                        break
                    client.queue.popleft()
                    client.queued_bytes -= len(head)
                    client.offset = 0
            if n < 0:
                self._drop(fd)


def _valid_pose(m: np.ndarray | None) -> bool:
    """A finite rigid 4x4 (``tmsnav.navigation.transforms.is_rigid``, the project's one tolerance)."""
    return m is not None and np.shape(m) == (4, 4) and is_rigid(m)
