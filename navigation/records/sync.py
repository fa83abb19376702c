"""Keep the clinic database up to date with the session being recorded, without ever blocking it.

The session folder is the queue. Every event is fsynced to ``events.jsonl`` before anything else
happens; the sync only wakes a background thread (no Qt: the GUI polls :meth:`RecordsSync.status`
or listens through :meth:`RecordsSync.add_status_listener`). That thread indexes the folder from
the session row's watermark (:func:`.indexer.index_session_folder`). When the database cannot be
reached (a PostgreSQL server restarting, the network cable of a treatment room pulled) the
thread says so and retries with exponential backoff; the events wait on disk, and every one is
sent when the database returns, by the very same indexing. Nothing is kept only in memory, so a
crash while offline loses nothing either: indexing the folder later catches the database up.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

from ..errors import NavigationError
from ..session.event_log import Event
from ..session.store import Session
from .errors import DatabaseUnavailable
from .indexer import FolderReader, IndexResult, index_session_folder

if TYPE_CHECKING:
    from .repository import Records

__all__ = ["RecordsSync", "SyncStatus", "SyncState"]

log = logging.getLogger(__name__)

SyncState = Literal["synced", "pending", "offline", "error"]


@dataclass(frozen=True)
class SyncStatus:
    """What the GUI shows about the database link of the open session."""

    state: SyncState
    pending_events: int          # events in the folder not yet in the database
    message: str                 # one sentence for the status bar
    since_utc: str | None        # offline / error since (UTC ISO), None otherwise


def _local_hhmm(utc_iso: str) -> str:
    return datetime.fromisoformat(utc_iso).astimezone().strftime("%H:%M")


class RecordsSync:
    """Indexes one session folder into the database in the background.

    ``connect`` returns the :class:`Records` to write to (it may raise DatabaseUnavailable: then
    it is called again at the next retry; ``close_on_stop``: close its database in :meth:`stop`,
    when ``connect`` opens one for this sync alone). ``retry_s`` is the first wait after a failure, doubled
    at each further failure up to ``max_retry_s``; ``batch_s`` is the least time between two
    indexing runs while events stream in (a 10 Hz train becomes one transaction per batch).
    """

    def __init__(self, connect: Callable[[], "Records"], session: Session, *, retry_s: float = 2.0,
                 max_retry_s: float = 60.0, batch_s: float = 0.5, close_on_stop: bool = False) -> None:
        self._connect = connect
        self.close_on_stop = close_on_stop      # the Records came from ``connect`` for this sync only
        self.session = session
        self.folder = Path(session.folder)
        self.retry_s = float(retry_s)
        self.max_retry_s = float(max_retry_s)
        self.batch_s = float(batch_s)
        self._cond = threading.Condition()
        self._attempt_lock = threading.Lock()   # one indexing run at a time (stop() may run one too)
        self._dirty = True
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._records: Records | None = None
        self._reader = FolderReader(self.folder)
        self._synced_seq = -1
        self._status = SyncStatus("pending", self._on_disk(), "Connecting to the clinic database…",
                                  None)
        self._status_listeners: list[Callable[[SyncStatus], None]] = []
        self._detail = ""
        self.last_result: IndexResult | None = None
        self.runs = 0                 # indexing attempts (tests wait on it)

    # ----- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Listen to the session's event log and start the thread (idempotent)."""
        if self._thread is not None:
            return
        self._stopping = False
        self.session.events.add_listener(self._on_event)
        self._thread = threading.Thread(target=self._run, name="records-sync", daemon=True)
        self._thread.start()
        self.notify()

    def stop(self, timeout_s: float = 10.0, *, final_sync: bool = True) -> SyncStatus:
        """Stop listening; with ``final_sync`` try once more to send what is waiting (bounded by
        the database's connect timeout). Whatever is not sent stays in the folder."""
        self.session.events.remove_listener(self._on_event)
        thread, self._thread = self._thread, None
        if thread is not None:
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            thread.join(timeout_s)
        if final_sync and self.pending_events() > 0:
            self._attempt()
        if self.close_on_stop and self._records is not None:
            records, self._records = self._records, None
            records.database.close()
        return self.status()

    def notify(self, event: Event | None = None) -> None:
        """New events are on disk (cheap: wakes the thread; called on the appending thread)."""
        with self._cond:
            self._dirty = True
            self._cond.notify_all()

    _on_event = notify

    # ----- status -----------------------------------------------------------------------------
    def status(self) -> SyncStatus:
        status = self._status
        pending = self.pending_events()
        if status.state == "synced" and pending > 0:
            return SyncStatus("pending", pending, self._message("pending", pending, None, ""), None)
        if status.pending_events != pending and status.state in ("offline", "error"):
            return SyncStatus(status.state, pending, self._message(status.state, pending,
                                                                   status.since_utc, self._detail),
                              status.since_utc)
        return status

    def add_status_listener(self, callback: Callable[[SyncStatus], None]) -> None:
        """``callback(status)`` on the sync thread whenever the state changes (marshal to the GUI)."""
        self._status_listeners.append(callback)

    def pending_events(self) -> int:
        return max(0, self._on_disk() - 1 - self._synced_seq)

    def _on_disk(self) -> int:
        return self.session.events.next_seq

    # ----- the thread -------------------------------------------------------------------------
    def _run(self) -> None:
        delay = 0.0
        last_run = -1e9
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    if delay > 0:                           # offline / error: wait for the retry
                        due = last_run + delay
                    elif self._dirty:
                        due = last_run + self.batch_s
                    else:
                        self._cond.wait()
                        continue
                    if now >= due:
                        break
                    self._cond.wait(due - now)
                if self._stopping:
                    return
                self._dirty = False
            last_run = time.monotonic()
            ok = self._attempt()
            if ok:
                delay = 0.0
            else:
                delay = self.retry_s if delay == 0 else min(delay * 2.0, self.max_retry_s)

    def _attempt(self) -> bool:
        """One indexing run; True when the database took everything read."""
        with self._attempt_lock:
            return self._attempt_locked()

    def _attempt_locked(self) -> bool:
        self.runs += 1
        try:
            if self._records is None:
                self._records = self._connect()
            result = index_session_folder(self._records, self.folder, reader=self._reader)
        except DatabaseUnavailable as exc:
            self._fail("offline", str(exc))
            return False
        except NavigationError as exc:
            self._fail("error", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - the thread must live on; the folder keeps everything
            log.exception("indexing the session into the database failed")
            self._fail("error", f"{type(exc).__name__}: {exc}")
            return False
        self.last_result = result
        self._synced_seq = max(self._synced_seq, result.synced_seq)
        pending = self.pending_events()
        state: SyncState = "synced" if pending == 0 else "pending"
        self._set(SyncStatus(state, pending, self._message(state, pending, None, ""), None))
        if pending:
            self.notify()                                  # more arrived while indexing
        return True

    def _fail(self, state: SyncState, detail: str) -> None:
        previous = self._status
        since = (previous.since_utc if previous.state == state and previous.since_utc
                 else datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self._detail = detail
        pending = self.pending_events()
        self._set(SyncStatus(state, pending, self._message(state, pending, since, detail), since))

    @staticmethod
    def _message(state: SyncState, pending: int, since: str | None, detail: str) -> str:
        if state == "synced":
            return "Synced with the clinic database."
        if state == "pending":
            return f"{pending} events being sent to the clinic database."
        when = _local_hhmm(since) if since else "now"
        wait = (f"{pending} events wait in the session folder; they will be sent when it returns."
                if pending else "Nothing is waiting: the session folder keeps recording.")
        if state == "offline":
            return f"Database unreachable since {when} – {wait}"
        return f"Cannot write this session to the database since {when} ({detail}) – {wait}"

    def _set(self, status: SyncStatus) -> None:
        changed = (status.state, status.pending_events) != (self._status.state,
                                                             self._status.pending_events)
        self._status = status
        if status.state in ("offline", "error") and changed:
            log.warning("records sync: %s", status.message)
        if changed:
            for callback in list(self._status_listeners):
                try:
                    callback(status)
                except Exception:  # noqa: BLE001
                    log.exception("sync status listener failed")
