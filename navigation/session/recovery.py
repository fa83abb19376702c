"""Open a session whose ``session.json`` is damaged from its last good autosave.

A hand edit (a missing quote, a deleted field) or a disk fault can leave ``session.json``
unreadable. :meth:`Session.open <tmsnav.navigation.session.store.Session.open>` then raises
:class:`DamagedSessionError` carrying the newest autosave that parses; :func:`open_from_autosave`
opens the session from it. The damaged file is never deleted: it is copied aside first as
``session.json.damaged-<UTC stamp>`` (so whoever edited it can still recover their edit), and only
then is ``session.json`` replaced atomically with the autosave's content. The event log is not
touched (it is append-only and separate), so every logged pulse stays; the recovery itself is
logged as ``autosave_restored`` with the name of the kept damaged file.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from .atomic import atomic_write_json, describe_os_error
from .store import DamagedSessionError, Session, SessionError, _newest_readable_autosave, _read_record

__all__ = ["DamagedSessionError", "last_good_autosave", "open_from_autosave", "keep_damaged_copy",
           "describe"]


def last_good_autosave(folder: str | Path) -> Path | None:
    """The newest autosave of a session folder that parses as a session (None if none does)."""
    return _newest_readable_autosave(Path(folder) / "autosave")


def keep_damaged_copy(path: Path) -> Path:
    """Copy ``path`` to ``<name>.damaged-<UTC stamp>`` beside it (fsynced); returns the copy."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    try:
        shutil.copy2(path, target)
        with open(target, "rb") as f:
            os.fsync(f.fileno())
    except OSError as exc:
        raise SessionError(f"Could not keep a copy of the damaged {path.name} "
                           f"({describe_os_error(exc)}); nothing was changed.") from exc
    return target


def open_from_autosave(folder: str | Path, autosave: Path | None = None) -> Session:
    """Open the session of ``folder`` from ``autosave`` (default: :func:`last_good_autosave`).

    ``session.json`` is kept aside as ``session.json.damaged-<stamp>`` and then replaced by the
    autosave's content; raises :class:`SessionError` when there is no readable autosave (nothing
    is changed then).
    """
    folder = Path(folder)
    autosave = autosave if autosave is not None else last_good_autosave(folder)
    if autosave is None:
        raise SessionError(f"{folder} has no readable autosave to recover from. The damaged "
                           "session.json is unchanged; it can be repaired by hand (it is JSON).")
    record = _read_record(Path(autosave))            # SessionError if this one is damaged too
    path = folder / "session.json"
    kept = keep_damaged_copy(path) if path.exists() else None
    atomic_write_json(path, record.to_dict())
    session = Session(folder, record)
    session.events.append("autosave_restored", file=Path(autosave).name,
                          damaged_kept_as=None if kept is None else kept.name,
                          reason="session.json could not be read")
    return session


def describe(error: DamagedSessionError) -> str:
    """The message with what the user can do, for a dialog."""
    if error.autosave is None:
        return str(error)
    try:
        saved = json.loads(error.autosave.read_text(encoding="utf-8")).get("modified_utc", "")
    except (OSError, ValueError, AttributeError):
        saved = ""
    when = f" saved {saved[:19].replace('T', ' ')} UTC" if saved else ""
    return (f"{error} Opening the autosave{when} loses only the changes made after it; the event "
            "log (pulses, registrations, notes) is complete either way.")
