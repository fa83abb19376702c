"""The database password against a real PostgreSQL server that demands one (scram-sha-256):
Test connection names a missing or wrong password, and a navigator without a keyring is asked
for it when the records connect, then connects with it kept in memory only."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import keyring
import psycopg
import pytest
from keyring.backends import fail

from tmsnav.app.main_window import MainWindow
from tmsnav.app.preferences_connect import check_connection
from tmsnav.navigation.records import credentials

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "navigation" / "records"))
from pg_server import PORT, USER, PgUnavailable, skip_or_fail, start_postgres  # noqa: E402

pytestmark = pytest.mark.gui

PASSWORD = "pg-S3cret-9"


@pytest.fixture(scope="module")
def password_server(tmp_path_factory):
    """A throwaway server whose only way in is the password (pg_hba: scram-sha-256)."""
    try:
        server = start_postgres(tmp_path_factory.mktemp("pgpw"))
    except PgUnavailable as err:
        skip_or_fail(err)
    with psycopg.connect(host=str(server.folder), port=PORT, user=USER, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {USER} PASSWORD '{PASSWORD}'")
        conn.execute("CREATE DATABASE clinic")
    (server.folder / "data" / "pg_hba.conf").write_text("local all all scram-sha-256\n")
    server._run("pg_ctl", "-D", str(server.folder / "data"), "reload")
    deadline = time.monotonic() + 30
    while True:                          # the reload is asynchronous: wait until it holds
        try:
            psycopg.connect(host=str(server.folder), port=PORT, user=USER, dbname="postgres").close()
        except psycopg.OperationalError:
            break
        assert time.monotonic() < deadline, "pg_hba.conf reload did not take effect"
        time.sleep(0.05)
    yield server, server.url_for("clinic")
    server.stop()


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_test_connection_names_a_missing_or_wrong_password(password_server) -> None:
    _server, url = password_server
    state, text = check_connection(url, None)
    assert state == "error" and "password" in text.lower()
    state, text = check_connection(url, "wrong-one")
    assert state == "error" and "password authentication failed" in text
    assert "wrong-one" not in text
    state, text = check_connection(url, PASSWORD)
    assert state in ("ok", "warn") and PASSWORD not in text     # an empty database: "warn"
    assert "clinic" in text


def test_without_keyring_the_password_is_asked_when_connecting(password_server, qtbot, tmp_path,
                                                              monkeypatch, no_keyring, caplog) -> None:
    _server, url = password_server
    caplog.set_level("DEBUG")
    credentials.MEMORY.forget(url)
    monkeypatch.setenv("TMSNAV_DATABASE_URL", url)
    monkeypatch.setenv("TMSNAV_SESSIONS_ROOT", str(tmp_path / "sessions"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    try:
        link = w.preferences.records_link
        qtbot.waitUntil(lambda: link.prompt is not None and link.prompt.isVisible(), timeout=30_000)
        assert "No system keyring" not in link.prompt.labelText()
        assert "kept in memory until tmsnav closes" in link.prompt.labelText()
        assert w.records.controller.records is None
        link.prompt.setTextValue(PASSWORD)
        link.prompt.accept()
        assert w.records.controller.wait_open(30_000), w.records.controller.error
        assert w.records.controller.records is not None
        assert credentials.MEMORY.get(url) == PASSWORD and link.asked == 1
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        config = Path(os.environ["TMSNAV_CONFIG_DIR"])
        files += [p for p in config.rglob("*") if p.is_file()]
        assert all(PASSWORD not in p.read_text(errors="replace") for p in files)
        assert PASSWORD not in caplog.text
    finally:
        w.close()
        credentials.MEMORY.forget(url)
