"""Byte-exact Polhemus emulator on a real pty or a TCP socket, with fault injection.

``PolhemusEmulator`` runs one :class:`~.device.PolhemusDevice` on a thread. ``serve_pty()`` opens a
pseudo-terminal (``os.openpty``) and returns the slave path to hand to the driver (or to a terminal
program); ``serve_tcp()`` listens on 127.0.0.1 and returns the port for a pyserial
``socket://127.0.0.1:<port>`` URL. On a pty the emulator reads the baud rate the host set on the
slave (it shares the termios), so a host at the wrong baud rate really sees garbage.

Faults: ``inject_garbage``, ``stall``/``resume``, ``unplug`` (closes the pty master or the socket:
the host's next read fails like a pulled USB cable), ``set_station_status`` (e.g. ``'x'`` =
receiver out of motion box), ``set_station_present(st, False)`` (a receiver pulled out),
``set_baud`` (the unit's rate). Reading the master after the host closed the slave raises EIO:
that is the host going away, not an error; the emulator keeps serving.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np

from ..emulator_serving import PtyOrTcpServer
from .device import PolhemusDevice, PoseSource

__all__ = ["PolhemusEmulator"]

class PolhemusEmulator(PtyOrTcpServer):
    """A FASTRAK, Liberty or Patriot on a pty or TCP port.

    ``pose_source``: an object with ``poses_at(t_s) -> {tool: 4x4 tracker_from_tool mm | None}``
    (e.g. a :mod:`tmsnav.hardware.simulation.tracker` scenario) or a function of ``t_s``; ``station_tools`` maps
    station -> tool name in it (default 1 reference, 2 pointer, 3 coil). Without a pose source,
    poses come from :meth:`set_station_pose`. A ``None`` pose makes the record flag the station
    out of range (FASTRAK status ``'x'``, Liberty error byte 1) with the last pose.
    """

    def __init__(self, model: str = "fastrak", *, stations: tuple[int, ...] | list[int] = (1,),
                 rate_hz: float | None = None, pose_source: PoseSource | None = None,
                 station_tools: dict[int, str] | None = None, noise_mm: float = 0.0,
                 noise_deg: float = 0.0, seed: int = 0, baud: int = 115200) -> None:
        self.device = PolhemusDevice(model, stations=tuple(stations), rate_hz=rate_hz, pose_source=pose_source,
                                     station_tools=station_tools, noise_mm=noise_mm, noise_deg=noise_deg,
                                     seed=seed, baud=baud)
        self._lock = threading.RLock()
        self._init_serving(self._lock)
        self._t0 = time.monotonic()
        self.bytes_dropped = 0

    # ----- life cycle ----------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.device.model


    def now_s(self) -> float:
        """Seconds since the emulated unit was powered up (its clock for frame counts and poses)."""
        return time.monotonic() - self._t0

    def _thread_name(self) -> str:
        return f"polhemus-emulator-{self.model}"

    # ----- fault injection -----------------------------------------------------------------------
    def inject_garbage(self, n_bytes: int = 64, seed: int | None = None, data: bytes | None = None) -> None:
        """Send ``n_bytes`` random bytes (or ``data``) between records at the next opportunity."""
        if data is None:
            data = np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()
        with self._lock:
            self.device.inject_garbage(data)

    def stall(self, duration_s: float | None = None) -> None:
        """The unit hangs: no answers, no stream, until ``duration_s`` passed or :meth:`resume`."""
        with self._lock:
            self.device.stall(self.now_s(), duration_s)

    def resume(self) -> None:
        with self._lock:
            self.device.resume()

    def set_station_status(self, station: int, status: str | int | None) -> None:
        """Force a station's status character (FASTRAK, e.g. ``'x'``) or error byte (Liberty); None clears."""
        with self._lock:
            self.device.set_station_status(station, status)

    def set_station_present(self, station: int, present: bool) -> None:
        """Plug (True) or pull (False) a station's receiver: a pulled one sends no records."""
        with self._lock:
            self.device.set_station_present(station, present)

    def set_station_pose(self, station: int, tracker_from_sensor_mm: np.ndarray) -> None:
        """Static pose of a station in mm (used when there is no pose source)."""
        with self._lock:
            self.device.set_station_pose(station, tracker_from_sensor_mm)

    def set_baud(self, baud: int) -> None:
        """The unit's own baud rate (as if set by its DIP switches)."""
        with self._lock:
            self.device.baud = int(baud)

    # ----- pty loop -----------------------------------------------------------------------------------
    def _write_fd(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                self.bytes_dropped += len(view)  # host not reading: its buffer overflows
                return
            except OSError:
                return
            self.bytes_out += n
            view = view[n:]

    def _timeout(self) -> float:
        with self._lock:
            due = self.device.next_due_s()
        if due is None:
            return 0.05
        return min(0.05, max(0.0, due - self.now_s()))

    def _run_pty(self) -> None:
        while not self._stop.is_set():
            data = self._read_pty(self._timeout())
            if data is None:
                return
            out = b""
            if data:
                self.bytes_in += len(data)
                with self._lock:
                    out = self.device.receive(data, self.now_s(), self._host_baud_pty())
            with self._lock:
                out += self.device.due_output(self.now_s(), self._host_baud_pty())
            if out and self._master is not None:
                self._write_fd(self._master, out)

    # ----- TCP ----------------------------------------------------------------------------------------
    def _serve_connection(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            data = self._read_conn(conn, self._timeout())
            if data is None:
                return
            out = b""
            if data:
                self.bytes_in += len(data)
                with self._lock:
                    out = self.device.receive(data, self.now_s(), None)
            with self._lock:
                out += self.device.due_output(self.now_s(), None)
            if out:
                try:
                    conn.sendall(out)
                    self.bytes_out += len(out)
                except OSError:
                    return
