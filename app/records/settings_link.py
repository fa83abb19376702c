"""Where the records windows read the clinic settings: database URL, its password, sessions root.

The URL and the sessions folder come from the clinic settings file (Preferences > Records,
:mod:`tmsnav.navigation.clinic_settings`); the password from the OS keyring
(:mod:`tmsnav.navigation.records.credentials`), never from a file. A navigator without a settings
file uses the embedded defaults: one SQLite file and a sessions folder in the user's data folder.
``TMSNAV_DATABASE_URL`` overrides the URL (tests, a second instance pointed elsewhere).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["database_url", "database_password", "sessions_root"]


def _settings():
    """The clinic settings, or None before they are available (defaults are used then)."""
    from tmsnav.navigation.clinic_settings import load_settings

    try:
        return load_settings()
    except Exception as exc:  # noqa: BLE001 - a broken settings file must not stop the records
        log.warning("clinic settings not readable, using defaults: %s", exc)
        return None


def database_url() -> str:
    override = os.environ.get("TMSNAV_DATABASE_URL", "")
    if override:
        return override
    settings = _settings()
    if settings is not None:
        try:
            return settings.database_url_or_default()
        except Exception as exc:  # noqa: BLE001 - an unusable URL falls back to the embedded file
            log.warning("clinic database URL not usable, using the embedded database: %s", exc)
    from tmsnav.navigation.records.database import default_database_url

    return default_database_url()


def database_password(url: str) -> str | None:
    """The password kept in the OS keyring for ``url``, or typed earlier in this run (None: none
    stored, or no keyring: the server may not need one)."""
    from tmsnav.navigation.records.credentials import password_for

    try:
        return password_for(url)
    except Exception as exc:  # noqa: BLE001 - no keyring is not an error: the server may not need one
        log.warning("no database password from the keyring: %s", exc)
        return None


def sessions_root() -> Path:
    override = os.environ.get("TMSNAV_SESSIONS_ROOT", "")
    if override:
        return Path(override)
    settings = _settings()
    if settings is not None:
        return Path(settings.sessions_root_or_default())
    from tmsnav.navigation.records.today import default_sessions_root

    return default_sessions_root()
