"""The preferences and the clinic database: Test connection, the password asked when connecting,
and reopening the records after the database settings change.

* :func:`check_connection` backs the Records tab's **Test connection** (run on a worker thread).
* :class:`RecordsLink` listens to the records controller (:mod:`tmsnav.app.records.controller`):
  when the PostgreSQL server refuses for want of the right password (none in the keyring, none
  typed in this run, or a wrong one), it asks for one; the answer is kept in memory only
  (:data:`tmsnav.navigation.records.credentials.MEMORY`: no plain-text file, even without a
  keyring) and the records are opened again with it. After **Save** in Preferences it reopens
  the records when the database URL changed or the records are not open (a password was just
  typed for a server that refused).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.clinic_settings import ClinicSettings
from tmsnav.navigation.records import credentials
from tmsnav.navigation.records.db_url import describe_database_url

__all__ = ["check_connection", "RecordsLink"]

log = logging.getLogger(__name__)


def check_connection(url: str, password: str | None) -> tuple[str, str]:
    """Open the database once (no schema change) and close it: ("ok" | "warn" | "error", text).

    Runs on a worker thread. "warn": the server answered but its schema is older or empty
    (tmsnav brings it up to date when it opens it for real)."""
    from tmsnav.navigation.records.database import Database, head_revision
    from tmsnav.navigation.records.errors import DatabaseUnavailable, NewerSchemaError, RecordsError

    where = describe_database_url(url)
    try:
        db = Database.open(url, password=password, upgrade=False, connect_timeout_s=5.0)
    except (DatabaseUnavailable, NewerSchemaError) as exc:
        return "error", str(exc)
    except RecordsError as exc:
        return "warn", (f"Reached {where}, but its tables are not this version's ({exc}). tmsnav "
                        "creates or upgrades them the first time it opens it.")
    except Exception as exc:  # noqa: BLE001 - any driver problem is a result to show, not a crash
        log.warning("test connection to %s failed: %s", where, type(exc).__name__)
        return "error", f"Cannot connect to {where}: {type(exc).__name__}."
    try:
        revision = db.schema_revision()
    finally:
        db.close()
    return "ok", f"Connected to {where} (schema {revision}, this tmsnav knows {head_revision()})."


def _records_url() -> str:
    from .records.settings_link import database_url

    return database_url()


class RecordsLink(QtCore.QObject):
    """Asks for a missing database password and reopens the records after a settings change."""

    def __init__(self, window: Any, preferences: Any) -> None:
        super().__init__(preferences)
        self.window = window
        self.prompt: QtWidgets.QInputDialog | None = None
        self.asked = 0
        self._url = preferences.settings.database_url
        self.records = getattr(getattr(window, "records", None), "controller", None)
        if self.records is not None:
            self.records.openFailed.connect(self.open_failed)
        preferences.settingsChanged.connect(self.settings_changed)

    def open_failed(self, message: str) -> None:
        url = _records_url()
        if not url.startswith("postgresql"):
            return
        if "password" not in message.lower():
            return     # not reached, or refused for another reason: a password would not help
        self.ask(url, message)

    def ask(self, url: str, why: str) -> QtWidgets.QInputDialog:
        """A non-blocking password prompt (the window keeps running, tracking included)."""
        status = credentials.keyring_status()
        where = ("Without a system keyring it is kept in memory until tmsnav closes, never in a "
                 "file." if not status.available else
                 "To have it remembered, type it in Edit > Preferences > Records (system keyring).")
        dialog = QtWidgets.QInputDialog(self.window)
        dialog.setObjectName("database_password_prompt")
        dialog.setWindowTitle("Clinic database password")
        dialog.setLabelText(f"{why}\n\nPassword for the {describe_database_url(url)}. {where}")
        dialog.setTextEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dialog.textValueSelected.connect(lambda text: self._typed(url, text))
        if self.prompt is not None:
            self.prompt.close()
        self.prompt = dialog
        self.asked += 1
        dialog.open()
        return dialog

    def _typed(self, url: str, text: str) -> None:
        if not text or self.records is None:
            return
        credentials.MEMORY.put(url, text)
        log.info("database password typed for %s (kept in memory)", describe_database_url(url))
        self.records.open(url, text)

    def settings_changed(self, new: ClinicSettings) -> None:
        changed = new.database_url != self._url
        self._url = new.database_url
        if self.records is not None and (changed or self.records.records is None):
            self.records.open()
