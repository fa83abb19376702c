"""The clinic database password: in the operating system's keyring, or in memory, never in a file.

Why: ``clinic.json`` (:mod:`tmsnav.navigation.clinic_settings`) is copied between navigators and
into backups; a password beside it would travel with it. The ``keyring`` library stores it in
the platform's credential store (Windows Credential Manager, macOS Keychain, the Secret Service
of GNOME Keyring / KWallet on Linux; https://pypi.org/project/keyring/), under the service
``"tmsnav"`` and, as user name, the database URL without password (so two clinic servers, or
two users of one server, keep two passwords).

Where no keyring backend exists (a headless Linux without a Secret Service gives keyring's
``fail`` backend, or :class:`keyring.errors.NoKeyringError`), there is deliberately NO plain-text
fallback: :func:`store_password` raises :class:`KeyringUnavailable` with a message saying so,
and the password is asked for when connecting and kept only in this process's memory
(:class:`PasswordMemory`).

Nothing here logs or formats a password; messages name the database by
:func:`~tmsnav.navigation.records.db_url.describe_database_url`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

import keyring
from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

from .db_url import describe_database_url, url_without_password
from .errors import RecordsError

__all__ = ["SERVICE", "CredentialsError", "KeyringUnavailable", "KeyringStatus", "keyring_status",
           "keyring_user", "store_password", "get_password", "delete_password", "PasswordMemory",
           "password_for", "NO_KEYRING_MESSAGE"]

log = logging.getLogger(__name__)

SERVICE = "tmsnav"
NO_KEYRING_MESSAGE = ("No system keyring is available on this computer ({why}). The database "
                      "password is not saved anywhere: tmsnav asks for it when it connects and "
                      "keeps it in memory until it closes. To save it, install and unlock a "
                      "keyring (e.g. GNOME Keyring or KWallet on Linux).")


class CredentialsError(RecordsError):
    """The keyring refused or failed; the message says what to do."""


class KeyringUnavailable(CredentialsError):
    """No keyring backend: the password can only be asked for and kept in memory."""


@dataclass(frozen=True)
class KeyringStatus:
    available: bool
    backend: str            # e.g. "SecretService Keyring", "fail Keyring"
    message: str            # "" when available


def keyring_status() -> KeyringStatus:
    """Is there a usable keyring? ``keyring``'s fail backend (priority 0) and a backend whose
    lookup raises both count as "no" (keyring docs: "Keyring.priority ... 0 = not usable")."""
    try:
        backend = keyring.get_keyring()
    except KeyringError as exc:              # pragma: no cover - get_keyring itself rarely raises
        return KeyringStatus(False, "none", NO_KEYRING_MESSAGE.format(why=type(exc).__name__))
    name = getattr(backend, "name", type(backend).__name__)
    module = type(backend).__module__
    try:
        priority = float(getattr(type(backend), "priority", 1))
    except (TypeError, ValueError, NoKeyringError, RuntimeError):
        priority = 0.0
    if module == "keyring.backends.fail" or priority <= 0:
        return KeyringStatus(False, str(name), NO_KEYRING_MESSAGE.format(why=f"keyring backend: {name}"))
    return KeyringStatus(True, str(name), "")


def keyring_user(url: str) -> str:
    """The keyring's user name for a database URL: the URL without password."""
    user = url_without_password(url)
    if not user:
        raise CredentialsError("This database URL cannot be read, so no password can be kept "
                               "for it; correct the URL first.")
    return user


def _unavailable(exc: Exception | None = None) -> KeyringUnavailable:
    status = keyring_status()
    why = status.message or NO_KEYRING_MESSAGE.format(why=type(exc).__name__ if exc else "unknown")
    return KeyringUnavailable(why)


def store_password(url: str, password: str) -> None:
    """Keep ``password`` for the database ``url`` in the keyring; KeyringUnavailable without one."""
    if not password:
        raise CredentialsError("An empty password is not stored; leave the field empty to keep "
                               "the stored one, or use Forget to remove it.")
    user = keyring_user(url)
    if not keyring_status().available:
        raise _unavailable()
    try:
        keyring.set_password(SERVICE, user, password)
    except NoKeyringError as exc:
        raise _unavailable(exc) from None
    except KeyringError as exc:
        raise CredentialsError(f"The system keyring refused to store the password for "
                               f"{describe_database_url(url)} ({type(exc).__name__}); is it "
                               "locked?") from None
    log.info("database password stored in the keyring for %s", describe_database_url(url))


def get_password(url: str) -> str | None:
    """The stored password for ``url``; None when none is stored or there is no keyring."""
    user = url_without_password(url)
    if not user or not keyring_status().available:
        return None
    try:
        return keyring.get_password(SERVICE, user)
    except KeyringError as exc:
        log.warning("could not read the keyring for %s (%s)", describe_database_url(url),
                    type(exc).__name__)
        return None


def delete_password(url: str) -> bool:
    """Forget the stored password for ``url``; False when there was none (or no keyring)."""
    user = url_without_password(url)
    if not user or not keyring_status().available:
        return False
    try:
        keyring.delete_password(SERVICE, user)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise CredentialsError(f"The system keyring refused to delete the password for "
                               f"{describe_database_url(url)} ({type(exc).__name__}).") from None
    log.info("database password removed from the keyring for %s", describe_database_url(url))
    return True


class PasswordMemory:
    """Passwords typed at connection time without a keyring: this process only, never written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: dict[str, str] = {}

    def get(self, url: str) -> str | None:
        with self._lock:
            return self._by_user.get(url_without_password(url))

    def put(self, url: str, password: str) -> None:
        with self._lock:
            self._by_user[keyring_user(url)] = password

    def forget(self, url: str) -> None:
        with self._lock:
            self._by_user.pop(url_without_password(url), None)

    def __repr__(self) -> str:        # never show the passwords, even in a debugger or a log
        return f"PasswordMemory({len(self._by_user)} kept)"


#: The app's one memory (a typed password serves every connection until the app closes).
MEMORY = PasswordMemory()


def password_for(url: str, ask: Callable[[str], str | None] | None = None, *,
                 memory: PasswordMemory = MEMORY) -> str | None:
    """The password to connect to ``url``: none for SQLite; else the keyring's, else one typed
    earlier in this run, else ``ask(description)`` (kept in memory only). None if not given."""
    if url.strip().startswith("sqlite"):
        return None
    stored = get_password(url)
    if stored:
        return stored
    remembered = memory.get(url)
    if remembered:
        return remembered
    if ask is None:
        return None
    typed = ask(describe_database_url(url))
    if typed:
        memory.put(url, typed)
    return typed or None
