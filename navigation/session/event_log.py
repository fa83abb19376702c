"""Append-only event log (``events.jsonl``): every pulse, registration and target change.

One JSON object per line with a sequence number, wall-clock time (for the report) and monotonic
time (for intervals). Each line is flushed and fsynced before ``append`` returns, so a crash loses
nothing already logged; a line cut by a crash is skipped (and counted) when reading.
When the disk fails (full, read-only) events wait in memory and are retried on the next append;
``pending`` tells the GUI to show a persistent warning while navigation continues.
Listeners (:meth:`EventLog.add_listener`, e.g. the database sync) hear of each event after it is
written, on the appending thread; a listener's failure never loses or blocks the event.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from .atomic import describe_os_error

__all__ = ["EventLog", "Event", "read_events", "ReadResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    time_utc: str
    monotonic_ns: int
    data: dict


@dataclass
class ReadResult:
    events: list[Event]
    skipped_lines: int


def _json_safe(value):
    """numpy scalars/arrays to plain JSON types."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class EventLog:
    """Thread-safe appender. ``fsync_each=False`` batches fsyncs to at most one per second."""

    def __init__(self, path: str | Path, *, fsync_each: bool = True) -> None:
        self.path = Path(path)
        self.fsync_each = fsync_each
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._last_sync = 0.0
        self.last_error: str | None = None
        self._listeners: list[Callable[[Event], None]] = []
        existing = read_events(self.path).events if self.path.exists() else []
        self._seq = existing[-1].seq + 1 if existing else 0
        self._ensure_line_boundary()

    def _ensure_line_boundary(self) -> None:
        """If a crash cut the last line, start the next event on a fresh line."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                self._pending.append("")  # an empty line that closes the torn one

    @property
    def pending(self) -> int:
        """Events not yet on disk (non-zero only after a disk error)."""
        return len([p for p in self._pending if p])

    @property
    def next_seq(self) -> int:
        """The sequence number the next event will get (events so far = ``next_seq``)."""
        with self._lock:
            return self._seq

    def add_listener(self, callback: Callable[[Event], None]) -> None:
        """``callback(event)`` after each append (on the appending thread, after the write).

        Keep it short (e.g. wake a worker thread): it runs inside ``append``."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Event], None]) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def append(self, kind: str, **data) -> Event:
        data = _json_safe(data)
        with self._lock:                 # numbered and written in one step: threads append at once
            event = Event(self._seq, kind, datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                          time.monotonic_ns(), data)
            line = json.dumps({"seq": event.seq, "kind": kind, "time_utc": event.time_utc,
                               "monotonic_ns": event.monotonic_ns, **event.data}, allow_nan=False)
            self._seq += 1
            self._pending.append(line)
            self._flush_locked()
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - the event is on disk; a listener must not undo that
                log.exception("event listener failed")
        return event

    def flush(self) -> bool:
        """Retry writing pending events; True when nothing is pending."""
        with self._lock:
            self._flush_locked(force_sync=True)
            return not self._pending

    def _flush_locked(self, force_sync: bool = False) -> None:
        if not self._pending:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write("".join(p + "\n" for p in self._pending))
                f.flush()
                now = time.monotonic()
                if self.fsync_each or force_sync or now - self._last_sync >= 1.0:
                    os.fsync(f.fileno())
                    self._last_sync = now
            self._pending.clear()
            self.last_error = None
        except OSError as exc:
            self.last_error = (f"Events are not being saved to {self.path}: {describe_os_error(exc)}. "
                               f"{self.pending} event(s) are kept in memory and will be written when "
                               f"the disk is usable again.")


def _iter_lines(path: Path) -> Iterator[str]:
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        yield from f


def read_events(path: str | Path) -> ReadResult:
    """All complete events; torn or corrupt lines are skipped and counted, never fatal."""
    events: list[Event] = []
    skipped = 0
    path = Path(path)
    if not path.exists():
        return ReadResult([], 0)
    for line in _iter_lines(path):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
            events.append(Event(int(obj.pop("seq")), str(obj.pop("kind")), str(obj.pop("time_utc")),
                                int(obj.pop("monotonic_ns")), obj))
        except (ValueError, KeyError, TypeError):
            skipped += 1
    return ReadResult(events, skipped)
