"""An unreachable or vanishing database server: DatabaseUnavailable with a message that names the
host and never the password, within the connect timeout, and a reconnect once the server is back."""

from __future__ import annotations

import socket
import traceback
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import PgServer, PgUnavailable, skip_or_fail, start_postgres

from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.errors import DatabaseUnavailable
from tmsnav.navigation.records.repository import Records

PASSWORD = "Sup3r-s3cret-pw"


def test_refused_connection_names_host_not_password() -> None:
    with socket.socket() as probe:            # a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://clinic:{PASSWORD}@127.0.0.1:{port}/tmsnav"
    with pytest.raises(DatabaseUnavailable) as caught:
        Database.open(url)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "tmsnav" in message
    assert PASSWORD not in message and PASSWORD not in repr(caught.value)


def test_password_from_keyring_is_masked_in_display_and_errors() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DatabaseUnavailable) as caught:
        Database.open(f"postgresql://clinic@127.0.0.1:{port}/tmsnav", password=PASSWORD)
    shown = "".join(traceback.format_exception(caught.value))     # what a log would print
    assert "127.0.0.1" in shown and PASSWORD not in shown


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung or firewalled server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_a_silent_server_fails_within_the_connect_timeout(silent_server: int) -> None:
    """Without connect_timeout libpq would wait forever here and the GUI would hang."""
    outcome: list[BaseException] = []

    def connect() -> None:
        try:
            Database.open(f"postgresql://clinic:{PASSWORD}@127.0.0.1:{silent_server}/tmsnav",
                          connect_timeout_s=2)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome.append(exc)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout=120)                  # a hang guard, not a speed assertion
    assert not worker.is_alive(), "Database.open hung on a silent server"
    assert len(outcome) == 1 and isinstance(outcome[0], DatabaseUnavailable), outcome
    assert "timeout" in str(outcome[0]).lower() and PASSWORD not in str(outcome[0])


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[PgServer]:
    """A server of this test's own, which the test stops and restarts."""
    try:
        server = start_postgres(tmp_path)
    except PgUnavailable as err:
        skip_or_fail(err)
    yield server
    server.stop()


def test_server_going_away_mid_session_then_back(own_server: PgServer) -> None:
    db = Database.open(own_server.url)
    records = Records(db)
    records.add_patient("P001")
    own_server.stop(remove=False)
    with pytest.raises(DatabaseUnavailable, match="Cannot reach the clinic database"):
        records.add_patient("P002")
    with pytest.raises(DatabaseUnavailable):
        records.find_patients("")
    own_server.start()
    assert [p.pseudonym for p in records.find_patients("")] == ["P001"]   # reconnected
    records.add_patient("P002")
    assert len(records.find_patients("p0")) == 2
    db.close()


def test_sqlite_file_in_a_folder_that_cannot_be_made(tmp_path: Path) -> None:
    """A database URL under a path that is a file (a typo in Preferences): a clear message."""
    blocker = tmp_path / "records"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseUnavailable, match="Cannot create the folder"):
        Database.open(f"sqlite:///{blocker / 'tmsnav.sqlite3'}")
