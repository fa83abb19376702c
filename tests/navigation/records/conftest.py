"""Database fixtures: ``postgres_url`` (a throwaway PostgreSQL server for the whole test run),
``pg_database_url`` (a fresh, empty database per test), ``db_url`` (each test on SQLite and on
PostgreSQL) and ``records`` (a Records on ``db_url``).

Without PostgreSQL's binaries the PostgreSQL cases are skipped with the reason, except under CI
(``CI=true``), where a missing server must fail rather than silently test SQLite only.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from pg_server import PgServer, PgUnavailable, skip_or_fail, start_postgres  # noqa: E402

from tmsnav.navigation.records.database import Database  # noqa: E402
from tmsnav.navigation.records.repository import Records  # noqa: E402

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    try:
        server = start_postgres(tmp_path_factory.mktemp("pg"))
    except PgUnavailable as err:
        skip_or_fail(err)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(pg_server: PgServer) -> str:
    """URL of the running test server's maintenance database (create databases from it)."""
    return pg_server.url


def _admin(server: PgServer) -> psycopg.Connection:
    return psycopg.connect(host=str(server.folder), port=5433, user="tmsnav", dbname="postgres",
                           autocommit=True)


@pytest.fixture
def pg_database_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh empty database on the test server for one test; dropped afterwards."""
    name = f"t{os.getpid()}_{next(_counter)}"
    with _admin(pg_server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.url_for(name)
    with _admin(pg_server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded SQLite file and on a PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return str(request.getfixturevalue("pg_database_url"))


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database.open(db_url)
    yield db
    db.close()


@pytest.fixture
def records(database: Database) -> Records:
    return Records(database)
