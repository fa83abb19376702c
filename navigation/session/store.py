"""A treatment session on disk: a folder with ``session.json``, ``events.jsonl`` and autosaves.

``session.json`` is versioned (``format_version`` + ``software_version``, as NaviNIBS does) and holds
the patient id, the images by path and sha256, calibrations, the registration, targets and the
MNI transform. It is always written atomically. Autosaves go to ``autosave/`` with a timestamp,
are rotated, and one newer than ``session.json`` is offered for restore on the next open.

A sitting of a course of treatment also names its course (``course_uid``), its number in the
course and the operator; files written before those fields existed open with them empty. A
``session.json`` that does not parse raises :class:`DamagedSessionError` carrying the newest
autosave that does (``recovery.py`` opens from it and keeps the damaged file aside).
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import atomic_write_json
from .errors import DamagedSessionError, SessionError
from .event_log import Event, EventLog

if TYPE_CHECKING:
    from .lock import SessionLock

__all__ = ["Session", "SessionRecord", "ImageRecord", "SessionError", "DamagedSessionError",
           "FORMAT_VERSION", "SOFTWARE_VERSION", "ADVERSE_SEVERITIES"]

FORMAT_VERSION = 1
SOFTWARE_VERSION = "0.1.0"
AUTOSAVE_KEEP = 10
_PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


# Adverse-event severity, the usual three-level clinical grading (mild: no intervention; moderate:
# some intervention or the session changed; severe: the session stopped or medical care needed),
# as in TMS safety reporting (Rossi et al. 2021, Clin Neurophysiol 132:269-306).
ADVERSE_SEVERITIES = ("mild", "moderate", "severe")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class ImageRecord:
    role: str                      # "T1", "fMRI", ...
    path: str
    sha256: str
    affine_source: str = ""
    orientation_confirmed: bool = True


@dataclass
class SessionRecord:
    patient_id: str
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_utc: str = field(default_factory=_now)
    modified_utc: str = field(default_factory=_now)
    images: list[ImageRecord] = field(default_factory=list)
    calibrations: dict = field(default_factory=dict)   # "pointer", "coil" -> JSON dicts
    registration: dict | None = None
    targets: dict | None = None
    mni: dict | None = None
    notes: str = ""
    course_uid: str = ""               # the course this sitting belongs to ("" = none)
    session_number: int | None = None  # its number in the course (1, 2, ...)
    operator: str = ""                 # who ran the sitting

    def to_dict(self) -> dict:
        d = asdict(self)
        return {"format_version": FORMAT_VERSION, "software_version": SOFTWARE_VERSION, **d}

    @classmethod
    def from_dict(cls, d: dict, source: str = "session file") -> "SessionRecord":
        version = d.get("format_version")
        if not isinstance(version, int):
            raise SessionError(f"{source} is not a tmsnav session (no format_version).")
        if version > FORMAT_VERSION:
            raise _NewerFormatError(
                f"{source} was saved by a newer tmsnav ({d.get('software_version', '?')}, format "
                f"{version}); this version reads format {FORMAT_VERSION}. Update tmsnav to open it.")
        try:
            images = [ImageRecord(**im) for im in d.get("images", [])]
            for key in ("registration", "targets", "mni"):
                if d.get(key) is not None and not isinstance(d[key], dict):
                    raise TypeError(f"'{key}' must be an object, not {type(d[key]).__name__}")
            number = d.get("session_number")
            if number is not None and (isinstance(number, bool) or not isinstance(number, int)
                                       or number < 1):
                raise TypeError(f"'session_number' must be a whole number from 1, not {number!r}")
            return cls(patient_id=str(d["patient_id"]), session_id=str(d["session_id"]),
                       created_utc=str(d["created_utc"]), modified_utc=str(d["modified_utc"]),
                       images=images, calibrations=dict(d.get("calibrations") or {}),
                       registration=d.get("registration"), targets=d.get("targets"),
                       mni=d.get("mni"), notes=str(d.get("notes", "")),
                       course_uid=str(d.get("course_uid") or ""), session_number=number,
                       operator=str(d.get("operator") or ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise SessionError(f"{source} is damaged or incomplete ({exc}).") from exc


class Session:
    """Open or create with :meth:`create` / :meth:`open`; mutate ``record``; call :meth:`save`."""

    def __init__(self, folder: Path, record: SessionRecord) -> None:
        self.folder = folder
        self.record = record
        self.events = EventLog(folder / "events.jsonl")
        self.lock: SessionLock | None = None     # held while this program writes here (lock.py)

    # ----- lifecycle ----------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, patient_id: str, *, course_uid: str = "",
               session_number: int | None = None, operator: str = "",
               session_id: str | None = None) -> "Session":
        if not _PATIENT_ID.match(patient_id or ""):
            raise SessionError("Patient ID must be 1-64 letters, digits, spaces, '.', '_' or '-' "
                               "and start with a letter or digit.")
        folder = Path(folder)
        if (folder / "session.json").exists():
            raise SessionError(f"{folder} already holds a session; open it instead.")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SessionError(f"Cannot create session folder {folder}: {exc.strerror}.") from exc
        record = SessionRecord(patient_id=patient_id, course_uid=course_uid,
                               session_number=session_number, operator=operator)
        if session_id:                     # the uid the clinic database already knows it by
            record.session_id = session_id
        session = cls(folder, record)
        session.save()
        extra = {"course_uid": course_uid, "session_number": session_number,
                 "operator": operator} if course_uid else {}
        session.events.append("session_created", patient_id=patient_id,
                              session_id=session.record.session_id,
                              navigator=socket.gethostname(), **extra)
        return session

    @classmethod
    def open(cls, folder: str | Path) -> "Session":
        """Raises DamagedSessionError (with the last good autosave) when session.json does not
        parse, SessionError when it is missing or written by a newer tmsnav."""
        folder = Path(folder)
        path = folder / "session.json"
        if not path.exists():
            raise SessionError(f"No session.json in {folder}.")
        try:
            record = _read_record(path)
        except SessionError as exc:
            if isinstance(exc, _NewerFormatError) or isinstance(exc.__cause__, OSError):
                raise                      # not damage: a newer format, or unreadable (permissions)
            autosave = _newest_readable_autosave(folder / "autosave")
            offer = (f" The last good autosave ({autosave.name}) can be opened instead; the "
                     "damaged file is then kept beside it." if autosave is not None else
                     " No readable autosave exists in this folder.")
            raise DamagedSessionError(f"{exc}{offer}", path, autosave) from exc
        return cls(folder, record)

    def release_lock(self) -> None:
        """Let another program write this session (closing it); idempotent."""
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.release()

    @property
    def path(self) -> Path:
        return self.folder / "session.json"

    def save(self) -> None:
        """Atomic save; raises SaveError (a NavigationError) with the reason and the old file intact."""
        self.record.modified_utc = _now()
        atomic_write_json(self.path, self.record.to_dict())

    # ----- autosave -----------------------------------------------------------------------
    @property
    def autosave_dir(self) -> Path:
        return self.folder / "autosave"

    def autosave(self) -> Path:
        self.autosave_dir.mkdir(exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        path = self.autosave_dir / f"session-{stamp}.json"
        atomic_write_json(path, {**self.record.to_dict(), "modified_utc": _now()})
        for old in self.autosaves()[AUTOSAVE_KEEP:]:
            old.unlink(missing_ok=True)
        return path

    def autosaves(self) -> list[Path]:
        """Newest first."""
        if not self.autosave_dir.exists():
            return []
        return sorted(self.autosave_dir.glob("session-*.json"), reverse=True)

    def newer_autosave(self) -> Path | None:
        """An autosave with changes newer than session.json (offer "restore unsaved changes?")."""
        for path in self.autosaves():
            try:
                rec = _read_record(path)
            except SessionError:
                continue  # a damaged autosave is skipped, never fatal
            if rec.modified_utc > self.record.modified_utc and _content(rec) != _content(self.record):
                return path
            break
        return None

    def restore_autosave(self, path: Path) -> None:
        self.record = _read_record(path)
        self.events.append("autosave_restored", file=path.name)

    # ----- domain helpers -----------------------------------------------------------------
    def set_image(self, role: str, path: str | Path, sha256: str, affine_source: str = "",
                  orientation_confirmed: bool = True) -> None:
        self.record.images = [im for im in self.record.images if im.role != role]
        self.record.images.append(ImageRecord(role, str(path), sha256, affine_source,
                                              orientation_confirmed))
        self.events.append("image_set", role=role, path=str(path), sha256=sha256)

    def image(self, role: str) -> ImageRecord | None:
        return next((im for im in self.record.images if im.role == role), None)

    def check_image(self, role: str, sha256: str) -> str | None:
        """A warning when the image on disk is not the one this session was planned on."""
        rec = self.image(role)
        if rec is not None and rec.sha256 != sha256:
            return (f"The {role} image differs from the one this session was planned on "
                    f"({rec.path}). Targets and registration may not apply.")
        return None

    def set_registration(self, registration: dict) -> None:
        self.record.registration = registration
        self.events.append("registration", **{k: registration[k] for k in registration
                                               if k in ("method", "fre_rms_mm", "icp_rms_mm",
                                                        "mri_from_reference", "accepted")})

    def set_calibration(self, tool: str, calibration: dict) -> None:
        self.record.calibrations[tool] = calibration
        self.events.append("calibration", tool=tool, **{k: v for k, v in calibration.items()
                                                        if k.endswith("_mm") or k == "method"})

    def set_targets(self, targets: dict, reason: str = "") -> None:
        self.record.targets = targets
        self.events.append("targets_changed", reason=reason,
                           names=[t.get("name") for t in targets.get("targets", [])])

    # ----- clinical record of the sitting (indexed into the course database) --------------
    def add_adverse_event(self, description: str, severity: str, action: str = "") -> Event:
        """An adverse event (headache, scalp pain, syncope, seizure, ...), logged at once.

        ``severity`` is one of :data:`ADVERSE_SEVERITIES`; ``action`` what was done about it."""
        description = (description or "").strip()
        if not description:
            raise SessionError("Describe the adverse event (e.g. 'headache after the session').")
        if severity not in ADVERSE_SEVERITIES:
            raise SessionError(f"Severity must be one of {', '.join(ADVERSE_SEVERITIES)}, "
                               f"not {severity!r}.")
        return self.events.append("adverse_event", description=description, severity=severity,
                                  action=(action or "").strip())

    def add_note(self, text: str) -> Event:
        """A timestamped note of the sitting (the session report lists them in order)."""
        text = (text or "").strip()
        if not text:
            raise SessionError("The note is empty.")
        return self.events.append("session_note", text=text)

    def close_session(self, reason: str = "") -> Event:
        """Mark the sitting finished (the course view shows it closed); the folder stays readable
        and later events are still recorded (e.g. a late note)."""
        return self.events.append("session_closed", reason=(reason or "").strip())


class _NewerFormatError(SessionError):
    """Written by a newer tmsnav: not damage, so no autosave is offered in its place."""


def _newest_readable_autosave(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("session-*.json"), reverse=True):
        try:
            _read_record(path)
        except SessionError:
            continue
        return path
    return None


def _content(record: SessionRecord) -> dict:
    d = record.to_dict()
    d.pop("modified_utc")
    return d


def _read_record(path: Path) -> SessionRecord:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SessionError(f"Cannot read {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise SessionError(f"{path} is not valid JSON (damaged file?): {exc}.") from exc
    if not isinstance(data, dict):
        raise SessionError(f"{path} is not a tmsnav session.")
    return SessionRecord.from_dict(data, source=str(path))
