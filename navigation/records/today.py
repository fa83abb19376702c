"""Today's session of a course: a new session folder that reuses the course's plan.

A course is treated in many sittings on the same plan. What does not change between sittings is
reused: the T1 image (by path and sha256, so a different file is flagged), the targets, the MNI
transform and the coil and pointer calibrations. What does change is never reused: the head
registration (the reference marker is re-attached to the head every sitting, so yesterday's
``mri_from_reference`` says nothing about today), hence the registration check, and the motor
threshold, which is re-measured when the protocol asks for it.

Folder names carry the date, the first 8 hex digits of the course's random uid and the session
number (``2026-12-05_c1a2b3c4_s03``): never the pseudonym or any other patient identifier, since
folder names end up in backups, logs and support e-mails.
"""

from __future__ import annotations

import socket
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from ..errors import NavigationError
from ..session.lock import SessionLock
from ..session.store import Session, SessionError
from .errors import RecordsError

if TYPE_CHECKING:
    from .infos import CourseInfo, CourseProtocol
    from .repository import Records

__all__ = ["start_todays_session", "plan_course_from_session", "default_sessions_root",
           "session_folder_name"]

_STARTABLE = ("planned", "active")


def default_sessions_root() -> Path:
    """``<user data dir>/sessions`` (platformdirs: e.g. ``~/.local/share/tmsnav/sessions``)."""
    return Path(platformdirs.user_data_dir("tmsnav")) / "sessions"


def session_folder_name(course_uid: str, number: int, day: str | None = None) -> str:
    """``<YYYY-MM-DD>_<course uid, 8 hex>_s<NN>``: no patient identifier (module docstring)."""
    day = day or datetime.now().date().isoformat()        # the clinic's local date
    return f"{day}_{course_uid[:8]}_s{number:02d}"


def _unused_folder(root: Path, name: str) -> Path:
    folder, n = root / name, 1
    while folder.exists():
        n += 1
        folder = root / f"{name}-{n}"
    return folder


def _check_startable(course: "CourseInfo") -> None:
    if course.status not in _STARTABLE:
        raise RecordsError(f"This course is {course.status}: no new session can be started on it. "
                           "Set it active again in the course view if treatment resumes.")
    if not course.mri_path or not course.targets:
        raise RecordsError("This course has no plan yet (MRI and targets): plan it from a planning "
                           "session first (New course from the current plan).")


def start_todays_session(records: "Records", course_uid: str, sessions_root: str | Path,
                         operator: str) -> Session:
    """Create, register and lock today's session of the course; the head is NOT registered.

    The returned session holds its folder lock (``session.lock``; release it with
    ``session.release_lock()`` when closing). Raises RecordsError (course not startable, database
    unreachable) or SessionError (folder not writable); after a failure nothing is locked.
    """
    operator = (operator or "").strip()
    if not operator:
        raise RecordsError("Enter the operator's name (who runs this session): it goes into the "
                           "session record and the report.")
    course = records.course(course_uid)
    _check_startable(course)
    uid = uuid.uuid4().hex
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    # The row first: the database decides the number atomically (two rooms never share one).
    info = records.upsert_session(uid, course_uid, number=records.next_session_number(course_uid),
                                  started_utc=now, operator=operator, navigator=socket.gethostname(),
                                  status="open")
    root = Path(sessions_root)
    lock: SessionLock | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        folder = _unused_folder(root, session_folder_name(course_uid, info.number))
        folder.mkdir()
        lock = SessionLock.acquire(folder)
        session = Session.create(folder, course.pseudonym, course_uid=course_uid,
                                 session_number=info.number, operator=operator, session_id=uid)
        _copy_plan(session, course)
        session.save()
    except (OSError, NavigationError) as exc:
        if lock is not None:
            lock.release()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        try:
            records.upsert_session(uid, course_uid, status="closed", ended_utc=now,
                                   notes=f"Not started: the session folder could not be made "
                                         f"({reason}).")
        except RecordsError:
            pass                               # the folder error below is what the user needs
        if isinstance(exc, NavigationError):
            raise
        raise SessionError(f"Cannot create today's session folder in {root}: {reason}.") from exc
    session.lock = lock
    records.upsert_session(uid, course_uid, folder=str(folder.resolve()))
    return session


def _copy_plan(session: Session, course: "CourseInfo") -> None:
    """The course's plan into the new session, each step logged as it would be by hand."""
    session.set_image("T1", course.mri_path, course.mri_sha256)
    if course.targets:
        session.set_targets(dict(course.targets), reason="course plan")
    if course.mri_from_mni:
        session.record.mni = {"mri_from_mni": dict(course.mri_from_mni)}
    if course.coil_calibration or course.coil_model_id:
        coil = dict(course.coil_calibration or {})
        coil.setdefault("model_id", course.coil_model_id)
        session.set_calibration("coil", coil)
    if course.pointer_calibration:
        session.set_calibration("pointer", dict(course.pointer_calibration))


def plan_course_from_session(records: "Records", pseudonym: str, session: Session,
                             protocol: "CourseProtocol") -> "CourseInfo":
    """A new course whose plan (MRI, targets, MNI transform, calibrations) is the planning
    session's. Refused when the session is another patient's, has no T1, or lacks the
    protocol's target."""
    rec = session.record
    if rec.patient_id != pseudonym:
        raise RecordsError(f"The open session is of patient {rec.patient_id!r}, not {pseudonym!r}: "
                           "a course is planned only on its own patient's images.")
    t1 = session.image("T1")
    if t1 is None:
        raise RecordsError("The planning session has no T1 image: open the patient's MRI first.")
    names = [str(t.get("name")) for t in (rec.targets or {}).get("targets", [])]
    if protocol.target_name not in names:
        listed = ", ".join(names) if names else "none"
        raise RecordsError(f"The protocol's target {protocol.target_name!r} is not among the "
                           f"session's targets ({listed}): plan it first or pick one of them.")
    coil = rec.calibrations.get("coil") or None
    mni = (rec.mni or {}).get("mri_from_mni")
    return records.add_course(pseudonym, protocol, targets=rec.targets, mri_path=t1.path,
                              mri_sha256=t1.sha256, mri_from_mni=mni,
                              coil_model_id=str((coil or {}).get("model_id") or ""),
                              coil_calibration=coil,
                              pointer_calibration=rec.calibrations.get("pointer") or None,
                              plan_folder=str(Path(session.folder).resolve()))
