"""Database password in the keyring: stored per database, never in clinic.json or the log, and no
plain-text fallback when this computer has no keyring."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from keyring.errors import KeyringLocked, NoKeyringError

from tmsnav.navigation.clinic_settings import ClinicSettings, save_settings, settings_path
from tmsnav.navigation.records.credentials import (SERVICE, CredentialsError, KeyringUnavailable,
                                                   PasswordMemory, delete_password, get_password,
                                                   keyring_status, keyring_user, password_for,
                                                   store_password)
from tests.data_factories.keyrings import MemoryKeyring

URL = "postgresql+psycopg://nav@db.clinic:5432/tms"
SECRET = "c0rrect-H0rse!"


class VanishingKeyring(MemoryKeyring):
    """A backend that looked usable but has nothing behind it (keyring raises NoKeyringError)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NoKeyringError("no backend")


class LockedKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("locked")


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_store_get_delete_under_service_and_url_without_password(memory_keyring) -> None:
    assert keyring_status().available
    store_password(URL, SECRET)
    assert memory_keyring.items == {(SERVICE, URL): SECRET}
    assert get_password(URL) == SECRET
    # the same database typed with a password in it still finds the stored one (same user key)
    assert get_password("postgresql+psycopg://nav:other@db.clinic:5432/tms") == SECRET
    assert get_password("postgresql+psycopg://nav@db2.clinic:5432/tms") is None   # another server
    assert get_password("postgresql+psycopg://admin@db.clinic:5432/tms") is None  # another user
    assert delete_password(URL) is True
    assert get_password(URL) is None
    assert delete_password(URL) is False


def test_password_never_in_clinic_json_nor_in_the_log(memory_keyring, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings = ClinicSettings(database_url=URL)
    store_password(settings.database_url, SECRET)
    save_settings(settings, tmp_path)
    assert get_password(ClinicSettings.load(tmp_path).database_url) == SECRET
    assert password_for(URL) == SECRET
    delete_password(URL)
    everything = settings_path(tmp_path).read_text() + caplog.text
    everything += "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert SECRET not in everything
    assert "password stored in the keyring" in caplog.text     # the log does say what happened


def test_no_keyring_refuses_to_store_and_writes_no_file(no_keyring, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    status = keyring_status()
    assert not status.available and "No system keyring" in status.message
    with pytest.raises(KeyringUnavailable, match="asks for it when it connects"):
        store_password(URL, SECRET)
    assert get_password(URL) is None and delete_password(URL) is False
    assert list(tmp_path.rglob("*")) == [], "no plain-text fallback file"


def test_no_keyring_asks_once_and_keeps_the_password_in_memory_only(no_keyring) -> None:
    memory = PasswordMemory()
    asked: list[str] = []

    def ask(description: str) -> str:
        asked.append(description)
        return SECRET

    assert password_for(URL, ask, memory=memory) == SECRET
    assert password_for(URL, ask, memory=memory) == SECRET
    assert asked == ["PostgreSQL database tms on db.clinic:5432 as nav"], "asked once per run"
    assert SECRET not in repr(memory)
    memory.forget(URL)
    assert password_for(URL, lambda _d: None, memory=memory) is None      # cancelled: no password
    assert password_for("sqlite:////x/tmsnav.sqlite3", ask, memory=memory) is None   # SQLite: none
    assert len(asked) == 1


def test_keyring_password_wins_over_asking(memory_keyring) -> None:
    store_password(URL, SECRET)
    assert password_for(URL, lambda _d: pytest.fail("must not ask"), memory=PasswordMemory()) == SECRET


def test_locked_keyring_is_a_clear_message() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        with pytest.raises(CredentialsError, match="refused .* locked") as info:
            store_password(URL, SECRET)
        assert SECRET not in str(info.value)
    finally:
        keyring.set_keyring(previous)


def test_empty_password_and_unreadable_url_are_refused(memory_keyring) -> None:
    with pytest.raises(CredentialsError, match="empty password"):
        store_password(URL, "")
    with pytest.raises(CredentialsError, match="cannot be read"):
        keyring_user("not a url")
    assert memory_keyring.items == {}


def test_no_keyring_error_from_the_backend_is_said_as_no_keyring(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    previous = keyring.get_keyring()
    keyring.set_keyring(VanishingKeyring())
    try:
        with pytest.raises(KeyringUnavailable) as info:
            store_password(URL, SECRET)
        assert "No system keyring" in str(info.value) and SECRET not in str(info.value)
    finally:
        keyring.set_keyring(previous)
    assert list(tmp_path.rglob("*")) == [], "no plain-text fallback file"
