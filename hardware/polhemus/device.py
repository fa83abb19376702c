"""Transport-free model of a Polhemus unit: command bytes in, reply and stream bytes out.

Time is passed in (seconds since power-up), so the model is deterministic and testable without
threads; :mod:`.emulator` puts it on a pty or a TCP socket, :mod:`.commands` parses the commands.
Streaming: FASTRAK 120 Hz shared by the active stations (one station record per 1/120 s slot, in
station order); Liberty 240 Hz and Patriot 60 Hz with every frame carrying all active sensors and
one shared frame count. Frame k falls at k / rate on the device clock; a slot the serial line
cannot carry at the unit's baud rate (10 bits per byte) is skipped, as on the real wire.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .commands import FastrakCommands, LibertyCommands
from .liberty import encode_liberty_record
from .orientation import mm_per_unit
from .records import DEFAULT_RATE_HZ, FASTRAK_DEFAULT_LIST, LIBERTY_DEFAULT_LIST, MAX_STATIONS, RecordFormat
from .records import SensorSample, encode_fastrak_record

__all__ = ["PolhemusDevice", "DEFAULT_RATE_HZ", "MAX_STATIONS", "PoseSource"]

log = logging.getLogger(__name__)


PoseSource = Callable[[float], "dict[str, np.ndarray | None]"] | Any


@dataclass
class _Station:
    fmt: RecordFormat
    active: bool = True
    present: bool = True
    status: str | None = None        # forced FASTRAK status character (fault injection)
    error: int | None = None         # forced Liberty/Patriot error byte
    pose_mm: np.ndarray = field(default_factory=lambda: np.eye(4))
    hemisphere: tuple[float, float, float] = (1.0, 0.0, 0.0)


class PolhemusDevice(FastrakCommands, LibertyCommands):
    """State machine of one unit. ``receive`` and ``due_output`` return the bytes to send."""

    def __init__(self, model: str = "fastrak", *, stations: tuple[int, ...] = (1,), rate_hz: float | None = None,
                 pose_source: PoseSource | None = None, station_tools: dict[int, str] | None = None,
                 noise_mm: float = 0.0, noise_deg: float = 0.0, seed: int = 0, baud: int = 115200) -> None:
        if model not in DEFAULT_RATE_HZ:
            raise ValueError(f"unknown Polhemus model {model!r}; use fastrak, liberty or patriot")
        bad = [s for s in stations if not 1 <= s <= MAX_STATIONS[model]]
        if bad or not stations:
            raise ValueError(f"{model} stations must be within 1..{MAX_STATIONS[model]}, got {list(stations)}")
        self.model = model
        self.rate_hz = float(rate_hz or DEFAULT_RATE_HZ[model])
        self.plugged = tuple(sorted(set(stations)))
        self.pose_source = pose_source
        self.station_tools = dict(station_tools or {1: "reference", 2: "pointer", 3: "coil", 4: "tool4"})
        self.noise_mm, self.noise_deg = float(noise_mm), float(noise_deg)
        self._rng = np.random.default_rng(seed)
        self.baud = int(baud)
        self._pose_source_failed = False
        self.records_sent = 0
        self.slots_skipped = 0
        self.power_up()

    # ----- state ---------------------------------------------------------------------------------
    def power_up(self) -> None:
        """Power-on defaults (also ^Y): inches, not streaming, default output lists."""
        fastrak = self.model == "fastrak"
        self.units = "inch"
        self.binary = not fastrak  # Liberty/Patriot: binary only in this emulator
        self.continuous = False
        self.xoff = False
        items = FASTRAK_DEFAULT_LIST if fastrak else LIBERTY_DEFAULT_LIST
        self.stations = {s: _Station(RecordFormat(self.model, items, self.binary)) for s in self.plugged}
        self._inbuf = bytearray()
        self._next_slot_s: float | None = None
        self._slot_index = 0
        self._line_free_s = 0.0
        self._stalled_until = -1.0
        self._garbage = bytearray()

    def active_stations(self) -> list[int]:
        return [s for s, st in sorted(self.stations.items()) if st.active and st.present]

    # ----- fault injection -----------------------------------------------------------------------
    def stall(self, now_s: float, duration_s: float | None) -> None:
        """Stop answering and streaming until ``now_s + duration_s`` (forever when None)."""
        self._stalled_until = math.inf if duration_s is None else now_s + duration_s

    def resume(self) -> None:
        self._stalled_until = -1.0

    def inject_garbage(self, data: bytes) -> None:
        self._garbage += data

    def set_station_status(self, station: int, status: str | int | None) -> None:
        st = self._station(station)
        if status is None:
            st.status, st.error = None, None
        elif isinstance(status, str):
            if len(status) != 1 or not 0x20 <= ord(status) <= 0x7E:
                raise ValueError(f"status must be one printable character, got {status!r}")
            st.status, st.error = status, ord(status) if status != " " else 0
        else:
            st.status, st.error = chr(status) if 0x20 <= status <= 0x7E else "?", int(status) & 0xFF

    def set_station_present(self, station: int, present: bool) -> None:
        self._station(station).present = bool(present)

    def set_station_pose(self, station: int, tracker_from_sensor_mm: np.ndarray) -> None:
        m = np.asarray(tracker_from_sensor_mm, dtype=float)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise ValueError("station pose must be a finite 4x4 matrix in mm")
        self._station(station).pose_mm = m.copy()

    def _station(self, station: int) -> _Station:
        if station not in self.stations:
            raise ValueError(f"station {station} has no sensor plugged in (plugged: {list(self.plugged)})")
        return self.stations[station]

    # ----- measurement -----------------------------------------------------------------------------
    def _poses(self, now_s: float) -> dict[str, np.ndarray | None]:
        src = self.pose_source
        if src is None:
            return {}
        fn = getattr(src, "poses_at", src)
        try:
            return dict(fn(now_s))
        except Exception:  # noqa: BLE001 - a broken scenario must not kill the emulator thread
            if not self._pose_source_failed:
                log.exception("Polhemus emulator: pose source failed at t=%.3f s; stations flagged "
                              "out of range", now_s)
            self._pose_source_failed = True
            return {}

    def _sample(self, station: int, frame: int, poses: dict[str, np.ndarray | None]) -> tuple[SensorSample, bool]:
        st = self.stations[station]
        in_range = True
        if self.pose_source is not None:
            pose = poses.get(self.station_tools.get(station, ""))
            if pose is None:
                in_range = False  # keep the last pose, flag the record
            else:
                st.pose_mm = np.asarray(pose, dtype=float)
        position_mm = st.pose_mm[:3, 3].copy()
        rot = st.pose_mm[:3, :3].copy()
        if self.noise_mm > 0:
            position_mm += self._rng.normal(0.0, self.noise_mm, 3)
        if self.noise_deg > 0:
            axis = self._rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            angle = math.radians(self._rng.normal(0.0, self.noise_deg))
            k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
            rot = (np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k) @ rot
        position_in_units = position_mm / mm_per_unit(self.units)
        timestamp_ms = int(frame * 1000.0 / self.rate_hz)  # Liberty: ms = frame count x 1000/240
        sample = SensorSample(tuple(position_in_units), rot, timestamp_ms & 0xFFFFFFFF, frame & 0xFFFFFFFF)
        return sample, in_range

    def _record(self, station: int, frame: int, poses: dict, command: int) -> bytes:
        st = self.stations[station]
        sample, in_range = self._sample(station, frame, poses)
        self.records_sent += 1
        if self.model == "fastrak":
            status = st.status if st.status is not None else (" " if in_range else "x")
            return encode_fastrak_record(station, status, st.fmt, sample, self.units)
        error = st.error if st.error is not None else (0 if in_range else 1)
        return encode_liberty_record(st.fmt, station, command, error, sample)

    def _all_records(self, now_s: float, command: int, frame: int | None = None) -> bytes:
        """One record per active sensor; ``frame`` defaults to the last completed device frame."""
        poses = self._poses(now_s)
        frame = int(math.floor(now_s * self.rate_hz)) if frame is None else frame
        return b"".join(self._record(s, frame, poses, command) for s in self.active_stations())

    def _start_stream(self, now_s: float) -> None:
        """Streaming follows the device's own frame grid (frame k at k / rate)."""
        self.continuous = True
        self._next_slot_s = math.ceil(now_s * self.rate_hz) / self.rate_hz

    # ----- streaming ---------------------------------------------------------------------------------
    def next_due_s(self) -> float | None:
        if self._garbage:
            return 0.0
        return self._next_slot_s if self.continuous else None

    def due_output(self, now_s: float, host_baud: int | None = None) -> bytes:
        """Bytes the unit sends on its own by ``now_s`` (stream records, injected garbage)."""
        out = bytearray(self._garbage)
        self._garbage.clear()
        if now_s < self._stalled_until:
            if self.continuous:
                self._start_stream(now_s)
            return self._wire(bytes(out), host_baud)
        if self.continuous and self._next_slot_s is not None:
            period = 1.0 / self.rate_hz
            if now_s - self._next_slot_s > 0.1:  # we were descheduled: skip, never burst
                missed = int((now_s - self._next_slot_s) / period)
                self.slots_skipped += missed
                self._slot_index += missed
                self._next_slot_s += missed * period
            while self._next_slot_s <= now_s:
                out += self._slot(self._next_slot_s)
                self._next_slot_s += period
        return self._wire(bytes(out), host_baud)

    def _slot(self, slot_s: float) -> bytes:
        if self.xoff or self._line_free_s > slot_s + 1.0 / self.rate_hz:
            self.slots_skipped += 1  # XOFF, or the serial line is still busy at this baud rate
            self._slot_index += 1
            return b""
        if self.model == "fastrak":
            active = [s for s, st in sorted(self.stations.items()) if st.active]
            if not active:
                return b""
            station = active[self._slot_index % len(active)]
            self._slot_index += 1
            if not self.stations[station].present:
                return b""  # the slot stays, the unplugged receiver sends nothing
            data = self._record(station, round(slot_s * self.rate_hz), self._poses(slot_s), ord("C"))
        else:
            data = self._all_records(slot_s, ord("C"), round(slot_s * self.rate_hz))
        self._line_free_s = max(self._line_free_s, slot_s) + len(data) * 10.0 / self.baud
        return data

    def _wire(self, data: bytes, host_baud: int | None) -> bytes:
        """What the host reads: garbled when its baud rate differs from the unit's."""
        if not data or host_baud is None or host_baud == self.baud:
            return data
        out = bytearray()
        for i, b in enumerate(data):
            if host_baud > self.baud:  # host samples a slow signal: long runs of low bits, framing errors
                out += bytes((b & 0x80, (b * 7 + 0x40) & 0xF8 | 0x80))
            elif i % 2 == 0:           # host too slow: it sees about half the bytes, mangled
                out.append((b * 13 + 0x5B) & 0xFF)
        return bytes(out)

    # ----- commands ----------------------------------------------------------------------------------
    def receive(self, data: bytes, now_s: float, host_baud: int | None = None) -> bytes:
        """Process host bytes; return the immediate reply bytes."""
        if now_s < self._stalled_until:
            return b""
        if host_baud is not None and host_baud != self.baud:
            # the unit reads junk and answers with a command error, at its own rate
            return self._wire(self._fastrak_error(b"?", -99) if self.model == "fastrak"
                              else self._liberty_error(0), host_baud)
        self._inbuf += data
        out = bytearray()
        handler = self._next_fastrak if self.model == "fastrak" else self._next_liberty
        while self._inbuf:
            reply = handler(now_s)
            if reply is None:
                break
            out += reply
        return bytes(out)
