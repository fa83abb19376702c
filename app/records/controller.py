"""The app's link to the clinic record: the database, its status, and the sync of the open session.

The database is opened from the clinic settings (Preferences > Records: a SQLite file by default,
or the clinic's PostgreSQL server) on the records worker thread, never on the GUI thread: a server
across the building may take the whole connect timeout to answer. What goes wrong is said in the
status bar and, when the user asked for something, in a message box: a database written by a newer
tmsnav (``NewerSchemaError``: update this navigator), or a server that cannot be reached
(``DatabaseUnavailable``: treatment goes on, the session folder keeps everything and it is sent
when the server returns).

While a session that belongs to a course is open, a :class:`~tmsnav.navigation.records.sync.
RecordsSync` sends its event log to the database in the background; the status bar shows
"Records: synced" or "Records offline: N events wait" from ``RecordsSync.status()``, read by a
timer (a cheap in-memory snapshot: the GUI never waits for the server).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from .db_worker import DbWorker
from .settings_link import database_password, database_url, sessions_root

log = logging.getLogger(__name__)

__all__ = ["RecordsController", "STATUS_MS"]

STATUS_MS = 1000
_STYLE = {"ok": "color: #1b5e20", "wait": "color: #8a5a00; font-weight: bold",
          "bad": "color: white; background: #b00020; padding: 1px 4px"}


class RecordsController(QtCore.QObject):
    """Owns the open :class:`Records` (or why there is none) and the running sync."""

    opened = QtCore.Signal(object)           # Records
    openFailed = QtCore.Signal(str)          # user message
    sessionIndexed = QtCore.Signal(str)      # session uid: its events reached the database

    def __init__(self, window, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.window = window
        self.state = window.state
        self.worker = DbWorker(self)
        self.records: Any = None                 # tmsnav.navigation.records.repository.Records
        self.database: Any = None
        self.error = ""                          # why records is None ("" while opening)
        self.error_exception: BaseException | None = None
        self.sync: Any = None                    # RecordsSync of the open session
        #: Keyword arguments of each RecordsSync (retry_s, max_retry_s, batch_s); its defaults
        #: retry after 2 s, doubling up to a minute. Tests shorten them.
        self.sync_options: dict[str, float] = {}
        self._sync_session: Any = None
        self.label = QtWidgets.QLabel("Records: opening…")
        self.label.setObjectName("records_status")
        self.label.setToolTip("The clinic database (Preferences > Records)")
        window.statusBar().addPermanentWidget(self.label)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(STATUS_MS)
        self.timer.timeout.connect(self.refresh_status)
        self.timer.start()
        self.state.sessionChanged.connect(self._follow_session)

    # ----- opening ------------------------------------------------------------------------------
    def open(self, url: str | None = None, password: str | None = None) -> None:
        """(Re)open the database (settings URL by default) on the worker thread."""
        from tmsnav.navigation.records.database import Database
        from tmsnav.navigation.records.repository import Records

        url = url or database_url()
        if password is None:
            password = database_password(url)
        old, self.records, self.database = self.database, None, None
        self.error, self.error_exception = "", None
        self._show("Records: opening…", "wait")

        def work():
            if old is not None:
                old.close()
            db = Database.open(url, password=password)
            return db, Records(db)

        self.worker.submit(work, self._opened, self._open_failed, name="open the records database")

    def _opened(self, result) -> None:
        self.database, self.records = result
        log.info("records database open: %s", self.database.url_for_display)
        self.refresh_status()
        self.opened.emit(self.records)
        self._follow_session(self.state.session)      # a course session opened meanwhile

    def _open_failed(self, exc: BaseException, message: str) -> None:
        self.error, self.error_exception = message, exc
        self.refresh_status()
        self.openFailed.emit(message)

    def wait_open(self, timeout_ms: int = 30_000) -> bool:
        """Block (processing events) until the open attempt ended; tests and the CLI."""
        self.worker.wait_idle(timeout_ms)
        return self.records is not None

    # ----- calls ----------------------------------------------------------------------------------
    def call(self, fn: Callable[[Any], Any], on_done: Callable[[Any], object] | None = None,
             on_error: Callable[[BaseException, str], object] | None = None, *,
             owner: QtCore.QObject | None = None, name: str = "records call") -> bool:
        """Run ``fn(records)`` on the worker; False (and ``on_error`` at once) when no database is
        open. Errors default to a message box naming what failed."""
        if on_error is None:
            def on_error(_exc: BaseException, message: str) -> None:
                self.window.show_error("Clinic record", message)
        if self.records is None:
            on_error(RuntimeError("no database"), self.not_open_message())
            return False
        records = self.records
        self.worker.submit(lambda: fn(records), on_done, on_error, owner=owner, name=name)
        return True

    def not_open_message(self) -> str:
        if self.error:
            return f"The clinic database is not open: {self.error}"
        return "The clinic database is still opening; try again in a moment."

    # ----- sync of the open session -------------------------------------------------------------
    def _follow_session(self, session) -> None:
        if session is self._sync_session:
            return
        self.stop_sync(then_index=True)
        if session is None or not getattr(session.record, "course_uid", ""):
            return
        if self.records is None:
            return                               # started by _opened once the database is open
        from tmsnav.navigation.records.database import Database
        from tmsnav.navigation.records.repository import Records
        from tmsnav.navigation.records.sync import RecordsSync

        url, password = database_url(), database_password(database_url())

        def connect():
            """The sync's own connection (its thread), opened again after the server returns; it
            writes only what the session folder holds, so its commits need no flush of their own."""
            return Records(Database.open(url, password=password, upgrade=False, durable_commits=False))

        self.sync = RecordsSync(connect, session, close_on_stop=True, **self.sync_options)
        self._sync_session = session
        self.sync.start()
        self.refresh_status()

    def stop_sync(self, then_index: bool = False) -> None:
        """Stop the running sync; ``then_index``: also index the folder once more on the worker
        (closing a session: the course view then shows it complete) and emit ``sessionIndexed``."""
        sync, session = self.sync, self._sync_session
        self.sync, self._sync_session = None, None
        if sync is None:
            return

        def work():
            sync.stop()
            if then_index and self.records is not None:
                from tmsnav.navigation.records.indexer import index_session_folder

                index_session_folder(self.records, Path(session.folder))
            return session.record.session_id

        self.worker.submit(work, self.sessionIndexed.emit, self._index_failed, name="stop the sync")
        self.refresh_status()

    def _index_failed(self, _exc: BaseException, message: str) -> None:
        self._show("Records offline: the session is in its folder and is sent when the database "
                   f"returns ({message})", "wait")

    # ----- status bar -----------------------------------------------------------------------------
    def refresh_status(self) -> None:
        """Timer: the status bar text from the database state and ``RecordsSync.status()``."""
        if self.records is None:
            if self.error:
                self._show("Records: not available", "bad", self.error)
            return
        if self.sync is None:
            self._show("Records: ready", "ok", f"Clinic database {self.database.url_for_display}")
            return
        try:
            st = self.sync.status()
        except Exception as exc:  # noqa: BLE001 - a status read must never break the GUI tick
            self._show("Records: status unknown", "wait", str(exc))
            return
        if st.state == "synced":
            self._show("Records: synced", "ok", st.message)
        elif st.state == "pending":
            self._show(f"Records: sending {st.pending_events} events", "ok", st.message)
        elif st.state == "offline":
            self._show(f"Records offline: {st.pending_events} events wait", "wait", st.message)
        else:
            self._show("Records: sync error", "bad", st.message)

    def _show(self, text: str, kind: str, tip: str = "") -> None:
        if self.label.text() != text:
            self.label.setText(text)
            self.label.setStyleSheet(_STYLE[kind])
        self.label.setToolTip(tip or text)

    def sessions_root(self) -> Path:
        return sessions_root()

    def shutdown(self) -> None:
        """Window closing: stop the sync, finish queued calls, close the database."""
        self.timer.stop()
        sync, self.sync, self._sync_session = self.sync, None, None
        db = self.database

        def work():
            if sync is not None:
                sync.stop()
            if db is not None:
                db.close()

        self.worker.submit(work, name="close the records database")
        self.worker.stop()
        self.records = self.database = None
