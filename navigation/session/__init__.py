"""Sessions on disk: versioned ``session.json`` (atomic writes), append-only ``events.jsonl``,
rotated autosaves with restore."""

from .atomic import SaveError, atomic_write_json
from .event_log import Event, EventLog, read_events
from .store import (FORMAT_VERSION, DamagedSessionError, ImageRecord, Session, SessionError,
                    SessionRecord)

__all__ = ["Session", "SessionRecord", "ImageRecord", "SessionError", "DamagedSessionError",
           "SaveError", "EventLog", "Event", "read_events", "atomic_write_json", "FORMAT_VERSION"]
