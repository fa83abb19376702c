"""Record a ToolFrame stream to a file and play it back as a tracker (bug reports, tests, demos).

Format: JSON lines, UTF-8. Line 1 is a versioned header::

    {"format": "tmsnav-tracking-recording", "version": 1, "device_kind": "NDI Combined API",
     "tools": ["reference", "pointer", "coil"], "nominal_rate_hz": 60.0,
     "created_utc": "2026-11-26T01:02:03Z", "notes": ""}

then one line per device frame: ``{"f": [<frame>, ...]}`` with, per tool, ``tool``, ``s``
(ToolStatus value), ``t`` (host receive time in ns since the recording's first frame), and when
known ``fn`` (device frame number), ``dt`` (device time s), ``q`` (RMS quality mm), ``ps``
(port status) and ``m`` (the top three rows of ``tracker_from_tool``, 12 numbers, mm; absent
when the tool has no pose). Floats are written with Python's shortest round-trip repr, so a
replay reproduces the poses bit for bit. Each line is flushed as it is written and the file is
fsynced at least every ``fsync_interval_s``, so a crash loses at most the last line(s).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

import numpy as np

from ..errors import ConnectionLost, ProtocolError, TrackerError
from ..frames import ToolFrame, ToolStatus
from ..tracker import ToolInfo, Tracker

__all__ = ["RECORDING_FORMAT", "RECORDING_VERSION", "RecordingError", "RecordingHeader",
           "TrackingRecorder", "ReplayTracker", "read_recording"]

RECORDING_FORMAT = "tmsnav-tracking-recording"
RECORDING_VERSION = 1


class RecordingError(ProtocolError):
    """A recording that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class RecordingHeader:
    device_kind: str
    tools: tuple[str, ...]
    nominal_rate_hz: float
    created_utc: str = ""
    notes: str = ""
    version: int = RECORDING_VERSION

    def to_json(self) -> str:
        return json.dumps({"format": RECORDING_FORMAT, "version": self.version,
                           "device_kind": self.device_kind, "tools": list(self.tools),
                           "nominal_rate_hz": self.nominal_rate_hz,
                           "created_utc": self.created_utc, "notes": self.notes})


def _frame_record(frame: ToolFrame, t0_ns: int) -> dict[str, Any]:
    rec: dict[str, Any] = {"tool": frame.tool, "s": frame.status.value,
                           "t": int(frame.host_time_ns - t0_ns)}
    if frame.frame_number is not None:
        rec["fn"] = int(frame.frame_number)
    if frame.device_time_s is not None:
        rec["dt"] = float(frame.device_time_s)
    if frame.quality_rms_mm is not None:
        rec["q"] = float(frame.quality_rms_mm)
    if frame.port_status is not None:
        rec["ps"] = int(frame.port_status)
    if frame.tracker_from_tool is not None:
        rec["m"] = [float(v) for v in frame.tracker_from_tool[:3].reshape(-1)]
    return rec


class TrackingRecorder:
    """Append device frames to a recording file. Thread-safe; usable as an Acquisition subscriber:
    ``acquisition.subscribe(recorder.write)``. Refuses to overwrite an existing file unless told."""

    def __init__(self, path: str | Path, *, device_kind: str, tools: Sequence[str],
                 nominal_rate_hz: float, notes: str = "", overwrite: bool = False,
                 fsync_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.header = RecordingHeader(device_kind, tuple(tools), float(nominal_rate_hz), created, notes)
        try:
            self._file = open(self.path, "w" if overwrite else "x", encoding="utf-8")
        except FileExistsError:
            raise RecordingError(f"recording {self.path} already exists; choose another name") from None
        except OSError as exc:
            raise RecordingError(f"cannot create recording {self.path}: {exc.strerror or exc}") from None
        self._lock = threading.Lock()
        self._t0_ns: int | None = None
        self._fsync_interval_s = float(fsync_interval_s)
        self._last_sync = time.monotonic()
        self.frames_written = 0
        self._write_line(self.header.to_json(), sync=True)

    @classmethod
    def for_tracker(cls, path: str | Path, tracker: Tracker, **kwargs: Any) -> "TrackingRecorder":
        """A recorder whose header describes ``tracker`` (call after ``tracker.connect()``)."""
        return cls(path, device_kind=tracker.kind, tools=[t.name for t in tracker.tools()],
                   nominal_rate_hz=tracker.nominal_rate_hz, **kwargs)

    def _write_line(self, text: str, sync: bool = False) -> None:
        try:
            self._file.write(text + "\n")
            self._file.flush()
            if sync or time.monotonic() - self._last_sync >= self._fsync_interval_s:
                os.fsync(self._file.fileno())
                self._last_sync = time.monotonic()
        except OSError as exc:
            raise RecordingError(f"cannot write recording {self.path}: {exc.strerror or exc}") from None

    def write(self, frames: Sequence[ToolFrame]) -> None:
        """Append one device frame (the frames ``read_frames`` returned together)."""
        if not frames:
            return
        with self._lock:
            if self._file.closed:
                raise RecordingError(f"recording {self.path} is closed")
            if self._t0_ns is None:
                self._t0_ns = min(f.host_time_ns for f in frames)
            line = {"f": [_frame_record(f, self._t0_ns) for f in frames]}
            self._write_line(json.dumps(line, separators=(",", ":")))
            self.frames_written += 1

    def close(self) -> None:
        """Flush, fsync and close. Idempotent."""
        with self._lock:
            if self._file.closed:
                return
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError:
                pass
            self._file.close()

    def __enter__(self) -> "TrackingRecorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- reading ------------------------------------------------------------------------------------

def _parse_header(text: str, where: str) -> RecordingHeader:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        raise RecordingError(f"{where}: not a tmsnav tracking recording (header is not JSON)") from None
    if not isinstance(obj, dict) or obj.get("format") != RECORDING_FORMAT:
        raise RecordingError(f"{where}: not a tmsnav tracking recording "
                             f"(expected format {RECORDING_FORMAT!r})")
    version = obj.get("version")
    if not isinstance(version, int) or version < 1:
        raise RecordingError(f"{where}: invalid format version {version!r}")
    if version > RECORDING_VERSION:
        raise RecordingError(f"{where}: format version {version} is newer than this tmsnav "
                             f"reads ({RECORDING_VERSION}); update tmsnav")
    try:
        tools = tuple(str(t) for t in obj["tools"])
        rate = float(obj["nominal_rate_hz"])
        kind = str(obj["device_kind"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{where}: header lacks a valid {exc}") from None
    if not tools or not (0 < rate < 10000):
        raise RecordingError(f"{where}: header needs at least one tool and a positive rate")
    return RecordingHeader(kind, tools, rate, str(obj.get("created_utc", "")),
                           str(obj.get("notes", "")), version)


def _parse_frames(text: str, where: str, replay_ns: int | None = None) -> tuple[list[ToolFrame], int]:
    """Frames of one data line and the line's recorded time (ns since the first frame)."""
    if not text.endswith("\n"):
        raise RecordingError(f"{where}: truncated line (the recording was cut off mid-write)")
    try:
        obj = json.loads(text)
        records = obj["f"]
        if not isinstance(records, list) or not records:
            raise TypeError("empty frame list")
        frames, times = [], []
        for rec in records:
            m = rec.get("m")
            pose = None
            if m is not None:
                values = [float(v) for v in m]
                if len(values) != 12 or not all(math.isfinite(v) for v in values):
                    raise ValueError("a pose needs 12 finite numbers")
                pose = np.vstack([np.reshape(values, (3, 4)), [0.0, 0.0, 0.0, 1.0]])
            t = int(rec["t"])
            times.append(t)
            fn, dt, q, ps = rec.get("fn"), rec.get("dt"), rec.get("q"), rec.get("ps")
            frames.append(ToolFrame(str(rec["tool"]), pose, ToolStatus(rec["s"]),
                                    None if q is None else float(q),
                                    None if fn is None else int(fn),
                                    None if dt is None else float(dt),
                                    t if replay_ns is None else replay_ns,
                                    None if ps is None else int(ps)))
    except json.JSONDecodeError as exc:
        raise RecordingError(f"{where}: corrupt line (not valid JSON: {exc.msg})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordingError(f"{where}: corrupt frame record ({exc})") from None
    return frames, min(times)


def read_recording(path: str | Path) -> tuple[RecordingHeader, list[list[ToolFrame]]]:
    """Read and check a whole recording. ``host_time_ns`` of each frame = ns since the first."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="\n") as f:
            lines = f.readlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"cannot read recording {path}: {exc}") from None
    if not lines:
        raise RecordingError(f"{path.name} line 1: empty file, not a tmsnav tracking recording")
    header = _parse_header(lines[0], f"{path.name} line 1")
    batches = [_parse_frames(text, f"{path.name} line {i}")[0]
               for i, text in enumerate(lines[1:], start=2) if text.strip()]
    return header, batches


class ReplayTracker(Tracker):
    """Play a recording back as a :class:`Tracker`.

    ``realtime=True`` keeps the recorded spacing (divided by ``speed``), otherwise frames come as
    fast as they are read. Frames get fresh ``host_time_ns`` stamps on ``clock_ns``; device frame
    numbers are kept (shifted on each pass when ``loop``, so they keep increasing). At the end
    ``read_frames`` raises ConnectionLost("end of recording ...") unless ``loop``. A corrupt line
    raises RecordingError naming the line.
    """

    def __init__(self, path: str | Path, *, realtime: bool = True, speed: float = 1.0,
                 loop: bool = False, clock_ns: Callable[[], int] = time.monotonic_ns,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not speed > 0:
            raise ValueError(f"replay speed must be positive, got {speed}")
        self.path = Path(path)
        self.realtime, self.speed, self.loop = realtime, float(speed), loop
        self._clock_ns, self._sleep = clock_ns, sleep
        self.header: RecordingHeader | None = None
        self._file: TextIO | None = None
        self._line_no = 1
        self._data_start = 0
        self._t0_ns = 0
        self._pending: tuple[str, int] | None = None
        self._pass = 0
        self._pass_offset_ns = 0
        self._fn_offset = 0
        self._last_t = 0
        self._max_fn: int | None = None
        self._min_fn: int | None = None
        self.kind = "Replay"

    @property
    def nominal_rate_hz(self) -> float:
        return self.header.nominal_rate_hz if self.header else 60.0

    def connect(self) -> None:
        if self._file is not None:
            return
        try:
            self._file = open(self.path, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise TrackerError(f"cannot open recording {self.path}: {exc.strerror or exc}") from None
        first = self._file.readline()
        if not first:
            self.close()
            raise RecordingError(f"{self.path.name} line 1: empty file, not a tmsnav tracking recording")
        try:
            self.header = _parse_header(first, f"{self.path.name} line 1")
        except RecordingError:
            self.close()
            raise
        self.kind = f"Replay of {self.header.device_kind}"
        self._data_start = self._file.tell()

    def tools(self) -> list[ToolInfo]:
        if self.header is None:
            raise TrackerError("call connect() first")
        return [ToolInfo(name, name, "recorded") for name in self.header.tools]

    def start(self) -> None:
        if self._file is None:
            raise TrackerError("call connect() before start()")
        self._file.seek(self._data_start)
        self._line_no, self._pass, self._pass_offset_ns, self._fn_offset = 1, 0, 0, 0
        self._pending = None
        self._t0_ns = self._clock_ns()

    def _next_line(self) -> tuple[str, int] | None:
        assert self._file is not None, "connect() first"
        while True:
            text = self._file.readline()
            if not text:
                return None
            self._line_no += 1
            if text.strip():
                return text, self._line_no

    def read_frames(self, timeout_s: float = 0.5) -> list[ToolFrame]:
        if self._file is None:
            raise ConnectionLost(f"recording {self.path.name} is closed")
        if self._pending is None:
            self._pending = self._next_line()
            if self._pending is None:
                if not self.loop:
                    raise ConnectionLost(f"end of recording {self.path.name}")
                self._rewind()
                self._pending = self._next_line()
                if self._pending is None:
                    raise ConnectionLost(f"recording {self.path.name} has no frames")
        text, line_no = self._pending
        frames, t_rec = _parse_frames(text, f"{self.path.name} line {line_no}", replay_ns=0)
        t_rel = self._pass_offset_ns + t_rec
        if self.realtime:
            due = self._t0_ns + int(t_rel / self.speed)
            wait_s = (due - self._clock_ns()) / 1e9
            if wait_s > timeout_s:
                self._sleep(timeout_s)
                return []
            if wait_s > 0:
                self._sleep(wait_s)
        self._pending = None
        self._last_t = t_rec
        now = self._clock_ns()
        out = []
        for f in frames:
            fn = None if f.frame_number is None else f.frame_number + self._fn_offset
            if f.frame_number is not None:
                self._max_fn = f.frame_number if self._max_fn is None else max(self._max_fn, f.frame_number)
                self._min_fn = f.frame_number if self._min_fn is None else min(self._min_fn, f.frame_number)
            out.append(ToolFrame(f.tool, f.tracker_from_tool, f.status, f.quality_rms_mm, fn,
                                 f.device_time_s, now, f.port_status))
        return out

    def _rewind(self) -> None:
        period_ns = int(1e9 / self.nominal_rate_hz)
        self._pass += 1
        self._pass_offset_ns += self._last_t + period_ns
        if self._max_fn is not None and self._min_fn is not None:
            self._fn_offset += self._max_fn - self._min_fn + 1
        assert self._file is not None, "connect() first"
        self._file.seek(self._data_start)
        self._line_no = 1

    def stop(self) -> None:
        self._pending = None

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
