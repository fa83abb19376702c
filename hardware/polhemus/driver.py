"""Polhemus FASTRAK / Liberty / Patriot serial driver: records in, ``ToolFrame`` (mm) out.

Set-up (:mod:`.configure`) stops any stream, checks the unit answers at this baud rate (FASTRAK ``S``
status record, Liberty/Patriot ^U0 station map), sets binary/ASCII, units, stations and the output
list, then reads the settings back (FASTRAK ``S`` flags: a unit left in inches while we expect cm
is refused, never silently scaled).

Frames: FASTRAK time-multiplexes its 120 Hz over the active stations and sends one record per
station in station order; a *frame* here is one cycle (station numbers rising). FASTRAK has no
frame counter, so ``frame_number`` counts cycles on the host and drops cannot be seen from it.
Liberty/Patriot records carry the device frame count (item 9): ``frame_number`` is that count and
gaps are counted in ``stats.frames_dropped`` (continuous mode).

Status (FASTRAK manual, BIT codes): status character ``' '`` -> OK; ``'x'`` (receiver out of motion
box), ``'y'`` (Euler angles outside the allowed envelope), ``'u'`` (compensation point outside the
mapped bounds) -> OUT_OF_VOLUME, pose kept but not trackable; any other character -> INVALID, no
pose. Liberty/Patriot: error byte 0 (or an ASCII space, which vrpn treats as no error) -> OK,
anything else -> INVALID, no pose. A configured station with no record in a cycle -> MISSING.

Errors: no answer / garbage at connect -> ``TrackerConnectionError`` naming the port; unplug while
running -> ``ConnectionLost``; unsyncable bytes -> skipped and counted (``stats``), never raised.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import serial

from ..errors import ConnectionLost, TrackerConnectionError, TrackerError
from ..frame_numbers import FrameNumberCheck
from ..frames import ToolFrame, ToolStatus
from ..link_budget import carried_rate_hz, link_warning
from ..tracker import ToolInfo, Tracker
from .configure import SerialLink, configure_fastrak, configure_liberty
from .orientation import MM_PER_CM, MM_PER_INCH
from .reader import RecordReader
from .records import DEFAULT_RATE_HZ, MAX_STATIONS, PolhemusRecord, RecordError, RecordFormat, rotation_of

__all__ = ["PolhemusTracker", "PolhemusStats", "default_output_list", "DEFAULT_STATION_NAMES"]

log = logging.getLogger(__name__)

_OUT_OF_RANGE_CODES = frozenset("xyu")
_KIND = {"fastrak": "Polhemus FASTRAK", "liberty": "Polhemus Liberty", "patriot": "Polhemus Patriot"}
#: Tool names of stations without a ``station_names`` entry: the app's roles in the documented
#: order (docs/hardware-polhemus-igtl.md), so receivers plugged in as 1 head reference, 2 pointer,
#: 3 coil are tracked without naming them; further stations are ``station<N>``.
DEFAULT_STATION_NAMES = {1: "reference", 2: "pointer", 3: "coil"}


def default_output_list(model: str, orientation: str = "quaternion") -> tuple[int, ...]:
    """Output list the driver asks for: position + orientation (+ timestamp, frame count on Liberty)."""
    if orientation not in ("quaternion", "euler"):
        raise ValueError(f"orientation must be 'quaternion' or 'euler', got {orientation!r}")
    if model == "fastrak":
        return (2, 11, 1) if orientation == "quaternion" else (2, 4, 1)
    return (8, 9, 2, 7, 1) if orientation == "quaternion" else (8, 9, 2, 4, 1)


@dataclass
class PolhemusStats:
    """Counters for diagnostics; ``protocol_errors`` = resynchronisations on garbage."""

    frames: int = 0
    records: int = 0
    protocol_errors: int = 0
    skipped_bytes: int = 0
    rejected_records: int = 0
    frames_dropped: int = 0
    frame_count_anomalies: int = 0
    timeouts: int = 0
    status_warnings: int = 0
    unexpected_stations: int = 0
    backlog_dropped_bytes: int = 0  # old bytes skipped because the host fell behind


class PolhemusTracker(Tracker):
    """Driver for a FASTRAK (RS-232) or a Liberty/Patriot (RS-232, binary records).

    ``port`` is a device path (``/dev/ttyUSB0``, ``COM3``) or any pyserial URL
    (``socket://127.0.0.1:5000``). ``stations=None`` uses every station the unit reports.
    ``station_names`` maps station -> tool name; stations it does not name get
    :data:`DEFAULT_STATION_NAMES` (1 reference, 2 pointer, 3 coil), then ``station<N>``.
    """

    def __init__(self, port: str, *, model: str = "fastrak", baud: int = 115200,
                 stations: list[int] | None = None, binary: bool = True, units: str = "cm",
                 mode: str = "continuous", station_names: dict[int, str] | None = None,
                 timeout_s: float = 1.0, orientation: str = "quaternion",
                 output_list: tuple[int, ...] | None = None, command_gap_s: float = 0.005) -> None:
        if model not in _KIND:
            raise ValueError(f"unknown Polhemus model {model!r}; use 'fastrak', 'liberty' or 'patriot'")
        if units not in ("cm", "inch"):
            raise ValueError(f"units must be 'cm' or 'inch', got {units!r}")
        if mode not in ("continuous", "poll"):
            raise ValueError(f"mode must be 'continuous' or 'poll', got {mode!r}")
        if model != "fastrak" and not binary:
            raise ValueError(f"{_KIND[model]}: only binary output is supported (binary=True)")
        if stations is not None:
            bad = [s for s in stations if not 1 <= int(s) <= MAX_STATIONS[model]]
            if bad or not stations:
                raise ValueError(f"{_KIND[model]} stations must be within 1..{MAX_STATIONS[model]}, got {stations}")
        items = tuple(output_list) if output_list is not None else default_output_list(model, orientation)
        fmt = RecordFormat(model, items, binary)  # raises ValueError on unsupported items
        if "position" not in fmt.keys or not fmt.keys & {"quaternion", "euler", "dircos_x"}:
            raise ValueError(f"output list {items} needs a position item and an orientation item")
        self.port = port
        self.model = model
        self.baud = int(baud)
        self.requested_stations = None if stations is None else sorted({int(s) for s in stations})
        self.binary = binary
        self.units = units
        self.mode = mode
        self.station_names = dict(station_names or {})
        self.timeout_s = float(timeout_s)
        self.record_format = fmt
        self.command_gap_s = float(command_gap_s)
        self.kind = _KIND[model]
        self.device_model = model
        self.link_warning = ""
        self.stations: list[int] = []
        self._link: SerialLink | None = None
        self._reader: RecordReader | None = None
        self._pending: PolhemusRecord | None = None
        self._streaming = False
        self._started = False
        self._cycle = 0
        self._frame_counts = FrameNumberCheck()
        self._skip_to_cycle_start = 0
        self._stats = PolhemusStats()

    # ----- Tracker API ------------------------------------------------------------------------------
    @property
    def nominal_rate_hz(self) -> float:
        rate = DEFAULT_RATE_HZ[self.model]
        if self.model == "fastrak":  # 120 Hz shared by the active stations
            return rate / max(1, len(self.stations or self.requested_stations or [1]))
        return rate

    def line_load_bits_per_s(self) -> float:
        """Serial bits per second the stream needs (10 bits per byte, 8N1)."""
        per_frame = len(self.stations or [1]) * self.record_format.length * 10.0
        if self.model == "fastrak":  # one station record per 1/120 s slot
            return self.record_format.length * 10.0 * DEFAULT_RATE_HZ["fastrak"]
        return per_frame * DEFAULT_RATE_HZ[self.model]

    @property
    def stats(self) -> PolhemusStats:
        s = PolhemusStats(**vars(self._stats))
        if self._reader is not None:
            c = self._reader.counters
            s.records, s.protocol_errors = c.records, c.resyncs
            s.skipped_bytes, s.rejected_records = c.skipped_bytes, c.rejected_candidates
        return s

    def connect(self) -> None:
        if self._link is not None:
            return
        try:
            port = serial.serial_for_url(self.port, baudrate=self.baud, timeout=0.02, write_timeout=1.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TrackerConnectionError(f"cannot open the {self.kind} serial port: {exc}", self.port) from exc
        self._link = SerialLink(port, self.port, self.kind, self.command_gap_s)
        try:
            if self.model == "fastrak":
                self.stations = configure_fastrak(self._link, self.record_format, self.units,
                                                  self.requested_stations, self.timeout_s)
            else:
                self.stations = configure_liberty(self._link, self.record_format, self.units,
                                                  self.requested_stations, self.timeout_s)
        except ConnectionLost as exc:
            self._close_link()
            raise TrackerConnectionError(f"{self.kind} went away during set-up: {exc}", self.port) from exc
        except TrackerConnectionError:
            self._close_link()
            raise
        formats = {s: self.record_format for s in self.stations}
        self._reader = RecordReader(self.model, formats, self.units)
        self._check_link()
        if self.link_warning:
            log.warning("%s on %s: %s", self.kind, self.port, self.link_warning)
        log.info("%s on %s: stations %s, %s, %s, list %s", self.kind, self.port, self.stations,
                 "binary" if self.binary else "ASCII", self.units, self.record_format.items)

    def tools(self) -> list[ToolInfo]:
        return [ToolInfo(self._name(s), f"station {s}", f"{self.kind} station {s}") for s in self.stations]

    def _name(self, station: int) -> str:
        if station in self.station_names:
            return self.station_names[station]
        default = DEFAULT_STATION_NAMES.get(station)
        if default is None or default in self.station_names.values():
            return f"station{station}"   # never two stations with one name
        return default

    def _check_link(self) -> None:
        """Set ``link_warning`` (the link-budget sentence, "" when the baud rate carries the
        stream) and ``link_rate_hz`` (the frames per second the link carries when it is the limit)."""
        self.link_warning, self.link_rate_hz = "", 0.0
        if self.port.startswith("socket://"):
            return
        n = len(self.stations or [1])
        length = self.record_format.length
        if self.model == "fastrak":  # one station record per 1/120 s slot, shared by the stations
            size, rate, what = length, DEFAULT_RATE_HZ["fastrak"], f"one {length}-byte record per 1/120 s slot"
        else:
            size, rate = n * length, DEFAULT_RATE_HZ[self.model]
            what = f"{n} station{'s' if n != 1 else ''} x {length}-byte records"
        self.link_warning = link_warning(self.kind, size, rate, self.baud, what)
        if self.link_warning:
            self.link_rate_hz = carried_rate_hz(size, rate, self.baud)

    def start(self) -> None:
        link = self._require_link()
        if self._reader is not None:
            self._reader.clear()
        self._pending = None
        self._frame_counts = FrameNumberCheck()
        if self.mode == "continuous" and not self._streaming:
            link.write(b"C" if self.model == "fastrak" else b"C\r")
            self._streaming = True
        self._started = True

    def read_frames(self, timeout_s: float = 0.5) -> list[ToolFrame]:
        """One device frame: a ToolFrame per station, or ``[]`` if nothing arrived within the timeout."""
        link = self._require_link()
        if not self._started:
            raise TrackerError(f"{self.kind}: call start() before read_frames()")
        deadline = time.monotonic() + timeout_s
        if self.mode == "poll":
            link.reset_input()
            assert self._reader is not None
            self._reader.clear()
            self._pending = None
            link.write(b"P")
        records = self._collect_cycle(deadline)
        if not records:
            self._stats.timeouts += 1
            return []
        return self._frames_from(records)

    def stop(self) -> None:
        self._started = False
        if self._link is None or not self._streaming:
            self._streaming = False
            return
        self._streaming = False
        try:
            self._link.write(b"c" if self.model == "fastrak" else b"p")
            self._link.drain(quiet_s=0.03, max_s=0.3)
        except (ConnectionLost, TrackerConnectionError) as exc:
            log.info("%s: could not stop the stream on %s: %s", self.kind, self.port, exc)

    def close(self) -> None:
        if self._link is None:
            return
        try:
            self.stop()
        finally:
            self._close_link()

    def _close_link(self) -> None:
        link, self._link = self._link, None
        self._streaming = self._started = False
        if link is not None:
            link.close()

    def _require_link(self) -> SerialLink:
        if self._link is None:
            raise TrackerError(f"{self.kind} on {self.port} is not connected; call connect() first")
        return self._link

    # ----- frames ------------------------------------------------------------------------------------
    def _next_record(self, deadline: float) -> PolhemusRecord | None:
        pending, self._pending = self._pending, None
        if pending is not None:
            return pending
        assert self._reader is not None and self._link is not None
        while True:
            rec = self._reader.next_record()
            if rec is not None:
                return rec
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._reader.feed(self._link.read_some(min(remaining, 0.05)))

    def _trim_backlog(self) -> None:
        """Keep latency bounded: if the host fell behind, drop all but the newest ~2 cycles of bytes.

        Otherwise a backlog would be decoded (and time-stamped) as if it were live.
        """
        assert self._link is not None and self._reader is not None
        cycle_bytes = len(self.stations) * self.record_format.length
        bytes_per_s = self.line_load_bits_per_s() / 10.0
        backlog = self._link.read_backlog()
        if self._reader.buffered + len(backlog) <= max(4 * cycle_bytes, 0.1 * bytes_per_s):  # <= 100 ms
            self._reader.feed(backlog)
            return
        keep = bytes(backlog[-3 * cycle_bytes:])
        self._stats.backlog_dropped_bytes += self._reader.buffered + len(backlog) - len(keep)
        self._reader.clear()
        self._reader.feed(keep)
        self._pending = None
        self._skip_to_cycle_start = len(self.stations)

    def _collect_cycle(self, deadline: float) -> dict[int, PolhemusRecord]:
        records: dict[int, PolhemusRecord] = {}
        wanted = set(self.stations)
        last_station = 0
        frame_count: int | None = None
        if self.mode == "continuous":
            self._trim_backlog()
        while True:
            rec = self._next_record(deadline)
            if rec is None:
                return records
            if rec.station not in wanted:
                self._stats.unexpected_stations += 1
                continue
            if self._skip_to_cycle_start:  # after a trim: start at a cycle's first station
                if rec.station != self.stations[0]:
                    self._skip_to_cycle_start -= 1
                    continue
                self._skip_to_cycle_start = 0
            if self.model == "fastrak":
                starts_new = rec.station <= last_station
            else:
                starts_new = rec.station in records or (frame_count is not None and rec.frame_count != frame_count)
            if records and starts_new:
                self._pending = rec
                return records
            records[rec.station] = rec
            last_station, frame_count = rec.station, rec.frame_count
            if records.keys() == wanted:
                return records
            if len(records) == 1 and self.mode == "poll":  # the rest follows back to back
                grace = 0.02 + 3 * len(wanted) * self.record_format.length * 10.0 / self.baud
                deadline = min(deadline, time.monotonic() + grace)

    def _frames_from(self, records: dict[int, PolhemusRecord]) -> list[ToolFrame]:
        host_time_ns = time.monotonic_ns()
        self._cycle += 1
        self._stats.frames += 1
        first = records[min(records)]
        frame_number = self._cycle
        if first.frame_count is not None:
            frame_number = first.frame_count
            if self.mode == "continuous":  # polled, the device counts on between polls
                verdict = self._frame_counts.check(frame_number, host_time_ns, self.nominal_rate_hz)
                self._stats.frames_dropped += verdict.dropped
                if verdict.duplicate or verdict.invalid_reason:
                    self._stats.frame_count_anomalies += 1
        device_time_s = None if first.timestamp_ms is None else first.timestamp_ms / 1000.0
        frames = []
        for station in self.stations:
            rec = records.get(station)
            name = self._name(station)
            if rec is None:
                frames.append(ToolFrame(name, None, ToolStatus.MISSING, frame_number=frame_number,
                                        device_time_s=device_time_s, host_time_ns=host_time_ns))
                continue
            status, keep_pose = self._status_of(rec)
            pose = self._pose_mm(rec) if keep_pose else None
            if status is not ToolStatus.OK:
                self._stats.status_warnings += 1
            frames.append(ToolFrame(name, pose, status, frame_number=frame_number, device_time_s=device_time_s,
                                    host_time_ns=host_time_ns, port_status=ord(rec.status)))
        return frames

    def _status_of(self, rec: PolhemusRecord) -> tuple[ToolStatus, bool]:
        if self.model == "fastrak":
            if rec.status == " ":
                return ToolStatus.OK, True
            if rec.status in _OUT_OF_RANGE_CODES:
                return ToolStatus.OUT_OF_VOLUME, True
            return ToolStatus.INVALID, False
        if rec.status in ("\x00", " "):
            return ToolStatus.OK, True
        return ToolStatus.INVALID, False

    def _pose_mm(self, rec: PolhemusRecord) -> np.ndarray | None:
        try:
            rotation = rotation_of(rec)
        except (RecordError, ValueError):
            return None
        tracker_from_tool = np.eye(4)
        tracker_from_tool[:3, :3] = rotation
        if self.units == "inch":
            position_inch = np.asarray(rec.values["position"], dtype=float)
            tracker_from_tool[:3, 3] = position_inch * MM_PER_INCH
        else:
            position_cm = np.asarray(rec.values["position"], dtype=float)
            tracker_from_tool[:3, 3] = position_cm * MM_PER_CM
        return tracker_from_tool
