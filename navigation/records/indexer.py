"""Index a session folder into the clinic database: the folder is the record, the row its index.

``events.jsonl`` is append-only and every line is fsynced before the program goes on, so the
folder is always the complete record of a sitting; the database is brought up to it from the
session row's watermark (``events_synced_seq``, the last event sequence number already indexed).
One indexing run:

1. reads the complete lines of ``events.jsonl`` (a torn last line waits or is skipped and
   counted, an unknown event kind is skipped and counted: never fatal);
2. upserts the session row: course link, number and operator from ``session.json`` (falling back
   to the last good autosave, then to the ``session_created`` event), navigator = the host that
   created the folder, registration and its error, calibrations, the latest motor threshold, the
   intensity, notes, open/closed;
3. in ONE transaction: adds the pulses and adverse events logged after the watermark (idempotent
   on (session, pulse number) and (session, event seq)), sets the pulse summary
   (:func:`tmsnav.navigation.treatment.statistics.pulse_statistics` over every pulse read, the
   numbers the session report shows) and advances the watermark. A crash or an outage between
   runs therefore never leaves pulses counted but missing, or present but not counted.

Pulse numbers in the database are the pulse's position in the session's log (1, 2, ...), which
is what :class:`~tmsnav.navigation.treatment.pulse_log.PulseLog` writes as ``index`` within one
run of the program; after the program is restarted on the same session a new pulse log counts
from 1 again, and the log position keeps those later pulses distinct instead of colliding.
"""

from __future__ import annotations

import json
import math
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import insert, select

from ..errors import NavigationError
from ..session.event_log import Event
from ..session.recovery import last_good_autosave
from ..session.store import SessionError, SessionRecord, _read_record
from ..treatment.pulse_log import EVENT_KIND as PULSE_KIND
from ..treatment.statistics import pulse_statistics
from .errors import RecordsError
from .models import AdverseEvent, Pulse, SessionRow
from .repository_base import utc_now_iso

if TYPE_CHECKING:
    from .infos import CourseInfo
    from .repository import Records

__all__ = ["index_session_folder", "IndexResult", "FolderReader", "IndexedPulse", "pulse_row",
           "KNOWN_EVENT_KINDS"]

KNOWN_EVENT_KINDS = frozenset({
    "session_created", "image_set", "registration", "calibration", "targets_changed",
    "coil_position", "coil_verification", "registration_verified", PULSE_KIND, "mep",
    "motor_hotspot", "motor_threshold", "treatment_summary", "autosave_restored",
    "adverse_event", "session_note", "session_closed"})


@dataclass(frozen=True)
class IndexResult:
    """What one indexing run did."""

    session_uid: str
    course_uid: str
    number: int
    pulses_added: int
    adverse_events_added: int
    events_indexed: int                  # events after the previous watermark
    synced_seq: int                      # the watermark now (-1: no event yet)
    pulses_total: int                    # pulses in the folder = in the database
    skipped_lines: int                   # torn or corrupt lines, malformed pulse records
    unknown_kinds: tuple[str, ...]       # event kinds this version does not index


@dataclass(frozen=True, slots=True)
class IndexedPulse:
    """One pulse event as a database row (plus what :func:`pulse_statistics` reads).

    Parsed straight from the event's JSON fields (the ones ``LoggedPulse.to_event_data`` writes),
    without building a frame-checked Transform per pulse: the pose was checked when it was
    logged, and the sync thread must not hold the interpreter long while pulses are being logged
    (a 3000-pulse session parses in milliseconds instead of about a second). The statistics'
    fields are plain slots because the summary is recomputed over every pulse at each batch.
    """

    seq: int                               # the event's sequence number in the log
    row: dict[str, Any]                    # Pulse columns except session_id
    index: int
    target_name: str | None
    position_error_mm: float | None
    angle_error_rad: float | None
    within_tolerance: bool | None
    pose_known: bool


def _opt_float(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{key} is not finite")
    return out


def pulse_row(seq: int, number: int, data: dict[str, Any]) -> IndexedPulse:
    """A pulse event's fields as a row numbered ``number``; KeyError/TypeError/ValueError when the
    record is malformed (the fields of ``LoggedPulse.to_event_data``)."""
    matrix = data["mri_from_hotspot"]
    x = y = z = None
    if matrix is not None:
        if (not isinstance(matrix, list) or len(matrix) != 4
                or any(not isinstance(r, list) or len(r) != 4 for r in matrix)):
            raise ValueError("mri_from_hotspot is not a 4x4 matrix")
        matrix = [[float(v) for v in r] for r in matrix]
        if not all(math.isfinite(v) for r in matrix for v in r):
            raise ValueError("mri_from_hotspot is not finite")
        x, y, z = matrix[0][3], matrix[1][3], matrix[2][3]
    within = data.get("within_tolerance")
    sequence = data.get("sequence")
    target = data.get("target_name")
    row = {"index": number, "wall_time_utc": str(data["wall_time_iso"]),
           "host_time_ns": int(data["host_time_ns"]), "source": str(data["source"]),
           "sequence": None if sequence is None else int(sequence),
           "output_pct_mso": _opt_float(data, "output_pct_mso"),
           "didt_a_per_us": _opt_float(data, "didt_a_per_us"), "x_mm": x, "y_mm": y, "z_mm": z,
           "mri_from_hotspot": matrix, "pose_reason": str(data.get("pose_reason") or ""),
           "target_name": None if target is None else str(target),
           "position_error_mm": _opt_float(data, "position_error_mm"),
           "angle_error_rad": _opt_float(data, "angle_error_rad"),
           "depth_error_mm": _opt_float(data, "depth_error_mm"),
           "twist_error_rad": _opt_float(data, "twist_error_rad"),
           "within_tolerance": None if within is None else bool(within)}
    return IndexedPulse(seq, row, number, row["target_name"], row["position_error_mm"],
                        row["angle_error_rad"], row["within_tolerance"], matrix is not None)


class FolderReader:
    """Reads ``events.jsonl`` incrementally (from the byte offset reached) and keeps what the
    session row is built from; one per folder, reused by :class:`.sync.RecordsSync` so a long
    session is not re-parsed at every batch."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "events.jsonl"
        self._reset()

    def _reset(self) -> None:
        self.offset = 0
        self.last_seq = -1
        self.pulses: list[IndexedPulse] = []
        self.adverse: list[Event] = []
        self.notes: list[Event] = []
        self.created: dict[str, Any] = {}
        self.motor_threshold_pct: float | None = None
        self.closed_utc: str | None = None
        self.skipped = 0
        self.unknown: set[str] = set()
        self.course: CourseInfo | None = None       # cached by the indexer
        self.folder_checked = False                   # _refuse_a_copy passed
        self.sent: tuple[tuple[str, str, dict[str, Any]], int] | None = None   # last upsert, number

    def read_new(self) -> int:
        """Parse the complete lines added since the last call; returns how many events."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        if size < self.offset:                 # replaced by a shorter file: start over
            self._reset()
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n")
        if end < 0:
            return 0                           # nothing complete yet (a line being written)
        self.offset += end + 1
        n = 0
        for raw in data[:end].split(b"\n"):
            if not raw.strip():
                continue
            event = _parse(raw)
            if event is None:
                self.skipped += 1
                continue
            n += 1
            self._take(event)
        return n

    def _take(self, event: Event) -> None:
        self.last_seq = event.seq          # file order, as EventLog continues its numbering
        kind, data = event.kind, event.data
        if kind == PULSE_KIND:
            try:
                # the pulse's number in the database = its position in the log (module docstring)
                self.pulses.append(pulse_row(event.seq, len(self.pulses) + 1, data))
            except (KeyError, TypeError, ValueError):
                self.skipped += 1
        elif kind == "adverse_event":
            if str(data.get("description") or "").strip():
                self.adverse.append(event)
            else:
                self.skipped += 1
        elif kind == "session_note":
            self.notes.append(event)
        elif kind == "session_created":
            self.created = dict(data)
        elif kind == "motor_threshold":
            value = data.get("threshold_pct")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
                self.motor_threshold_pct = float(value)
        elif kind == "session_closed":
            self.closed_utc = event.time_utc
        elif kind not in KNOWN_EVENT_KINDS:
            self.unknown.add(kind)


def _parse(raw: bytes) -> Event | None:
    """One line as :func:`tmsnav.navigation.session.event_log.read_events` parses it."""
    try:
        obj = json.loads(raw.decode("utf-8"))
        return Event(int(obj.pop("seq")), str(obj.pop("kind")), str(obj.pop("time_utc")),
                     int(obj.pop("monotonic_ns")), obj)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return None


def _session_record(folder: Path) -> SessionRecord | None:
    """session.json, else its last good autosave (a hand-damaged file must not stop indexing)."""
    try:
        return _read_record(folder / "session.json")
    except SessionError:
        autosave = last_good_autosave(folder)
        if autosave is None:
            return None
        try:
            return _read_record(autosave)
        except SessionError:
            return None


def registration_error_mm(registration: dict | None, target_name: str) -> float | None:
    """The registration's error figure for the course view: the predicted 95 % error bound at the
    course's target when the registration computed one (what the Register tab shows), else the
    RMS residual of the method used (ICP when refined, else the fiducials' FRE)."""
    if not isinstance(registration, dict):
        return None
    predicted = registration.get("predicted_error_mm")
    if isinstance(predicted, dict) and isinstance(predicted.get(target_name), (int, float)):
        return float(predicted[target_name])
    for key in ("icp_rms_mm", "fre_rms_mm") if registration.get("method") == "fiducials+icp" \
            else ("fre_rms_mm",):
        value = registration.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _intensity_pct_mso(pulses: list[IndexedPulse], mt_pct: float | None,
                       course: "CourseInfo") -> float | None:
    """What was given: the median output the stimulator reported for the pulses; without such
    reports, the prescription (course % of the session's motor threshold, capped at 100)."""
    reported = [p.row["output_pct_mso"] for p in pulses if p.row["output_pct_mso"] is not None]
    if reported:
        return float(np.median(reported))
    if mt_pct is None:
        return None
    from ..treatment.dose import treatment_output
    try:
        return float(treatment_output(mt_pct, course.protocol.intensity_pct_rmt).output_pct_mso)
    except NavigationError:
        return None


def _notes(record: SessionRecord | None, notes: list[Event]) -> str:
    lines = [record.notes.strip()] if record is not None and record.notes.strip() else []
    lines += [f"{e.time_utc[:16].replace('T', ' ')} UTC  {e.data.get('text', '')}" for e in notes]
    return "\n".join(lines)


def _refuse_a_copy(records: "Records", session_uid: str, folder: Path) -> None:
    """A session indexed from one folder is not indexed from a copy of it as well: both would
    claim the same pulse numbers and the copy's later pulses would be silently dropped. A folder
    that was moved (the old one is gone) is followed."""
    from .errors import NotFoundError

    try:
        known = records.session(session_uid).folder
    except NotFoundError:
        return
    if not known or Path(known) == folder.resolve():
        return
    other = Path(known) / "session.json"
    try:
        same = other.exists() and _read_record(other).session_id == session_uid
    except SessionError:
        same = True                          # damaged, but there: still the original
    if same:
        raise RecordsError(f"This session is recorded from another folder ({known}); {folder} is a "
                           "copy of it and is not added to the clinic record a second time. Record "
                           "in the original folder, or start today's session anew.")


def index_session_folder(records: "Records", folder: str | Path, *,
                         reader: FolderReader | None = None) -> IndexResult:
    """Bring the database up to the session folder (from the row's watermark on; idempotent).

    Raises RecordsError when the folder belongs to no course or its course is not in this
    database, DatabaseUnavailable when the database cannot be reached (nothing is lost: the next
    run sends it all)."""
    folder = Path(folder)
    reader = reader if reader is not None else FolderReader(folder)
    reader.read_new()
    record = _session_record(folder)
    created = reader.created
    course_uid = (record.course_uid if record is not None and record.course_uid
                  else str(created.get("course_uid") or ""))
    session_uid = record.session_id if record is not None else str(created.get("session_id") or "")
    if not course_uid or not session_uid:
        raise RecordsError(f"The session in {folder.name} belongs to no course of treatment: it "
                           "is kept in its folder only (start sessions of a course with "
                           "'Today's session').")
    course = reader.course
    if course is None or course.uid != course_uid:
        course = reader.course = records.course(course_uid)   # NotFoundError: another database's
    number = record.session_number if record is not None else None
    if number is None and isinstance(created.get("session_number"), int):
        number = int(created["session_number"])
    fields: dict[str, Any] = {
        "number": number,
        "started_utc": record.created_utc if record is not None else None,
        "ended_utc": reader.closed_utc, "status": "closed" if reader.closed_utc else "open",
        "operator": (record.operator if record is not None else "") or str(created.get("operator") or ""),
        "navigator": str(created.get("navigator") or socket.gethostname()),
        "folder": str(folder.resolve()),
        "motor_threshold_pct_mso": reader.motor_threshold_pct,
        "intensity_pct_mso": _intensity_pct_mso(reader.pulses, reader.motor_threshold_pct, course),
        "notes": _notes(record, reader.notes)}
    if record is not None:
        fields.update(registration=record.registration, calibrations=record.calibrations or None,
                      registration_error_mm=registration_error_mm(record.registration,
                                                                  course.protocol.target_name))
    fields = {k: v for k, v in fields.items() if v is not None or k in (
        "ended_utc", "motor_threshold_pct_mso", "intensity_pct_mso")}
    if not reader.folder_checked:
        _refuse_a_copy(records, session_uid, folder)
        reader.folder_checked = True
    sent = reader.sent
    if sent is None or sent[0] != (session_uid, course_uid, fields):
        # the session's fields changed (or first run): one transaction more; while pulses
        # stream they rarely do, and each batch is then the pulse transaction alone
        info = records.upsert_session(session_uid, course_uid, **fields)
        sent = reader.sent = ((session_uid, course_uid, fields), info.number)
    try:
        return _commit_batch(records, session_uid, course_uid, sent[1], reader)
    except Exception:
        reader.sent = None                     # whatever went wrong, send the fields again next time
        raise


def _commit_batch(records: "Records", session_uid: str, course_uid: str, number: int,
                  reader: FolderReader) -> IndexResult:
    """Pulses, adverse events, pulse summary and watermark in one transaction."""
    stats = pulse_statistics(reader.pulses)
    with records.database.session() as s:
        query = select(SessionRow).where(SessionRow.uid == session_uid)
        if s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()     # one indexer of a session at a time
        row = s.scalars(query).one()
        watermark = row.events_synced_seq
        new_pulses = [p for p in reader.pulses if p.seq > watermark]
        added = 0
        if new_pulses:
            lo, hi = new_pulses[0].index, new_pulses[-1].index
            have = set(s.scalars(select(Pulse.index).where(Pulse.session_id == row.id,
                                                           Pulse.index.between(lo, hi))))
            rows = [{**p.row, "session_id": row.id} for p in new_pulses if p.index not in have]
            if rows:
                s.execute(insert(Pulse), rows)
            added = len(rows)
        adverse_added = 0
        new_adverse = [e for e in reader.adverse if e.seq > watermark]
        if new_adverse:
            have = set(s.scalars(select(AdverseEvent.seq).where(AdverseEvent.session_id == row.id)))
            for e in new_adverse:
                if e.seq in have:
                    continue
                s.add(AdverseEvent(session_id=row.id, seq=e.seq, time_utc=e.time_utc,
                                   description=str(e.data.get("description", "")).strip(),
                                   severity=str(e.data.get("severity") or ""),
                                   action=str(e.data.get("action") or "")))
                adverse_added += 1
        row.pulses_total = stats.n
        row.pulses_with_pose = stats.n - stats.n_pose_unknown
        row.pulses_on_target = stats.n_on_target
        row.median_error_mm = stats.median_error_mm
        row.p95_error_mm = stats.p95_error_mm
        row.events_synced_seq = max(watermark, reader.last_seq)
        row.updated_utc = utc_now_iso()
        events_indexed = max(0, reader.last_seq - watermark)
        synced = row.events_synced_seq
    return IndexResult(session_uid=session_uid, course_uid=course_uid, number=number,
                       pulses_added=added, adverse_events_added=adverse_added,
                       events_indexed=events_indexed, synced_seq=synced,
                       pulses_total=stats.n, skipped_lines=reader.skipped,
                       unknown_kinds=tuple(sorted(reader.unknown)))
