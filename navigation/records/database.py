"""Opening the clinic database: the embedded SQLite file or a clinic's PostgreSQL server.

Why one class for both: a single navigator needs no set-up (SQLite in the user's data folder),
while a clinic points every treatment room at one PostgreSQL server; the repository code above
is the same. On open the schema is brought to the newest Alembic revision this version knows
(automatic upgrade), and a database written by a newer tmsnav is refused (NewerSchemaError)
instead of being half-understood.

* SQLite: WAL journal (readers do not block the writer), foreign keys on, every transaction
  ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing with
  "database is locked" when a read transaction tries to become a write one (the SQLAlchemy
  pysqlite "serializable isolation / savepoints" recipe).
* PostgreSQL via psycopg 3 with ``connect_timeout`` (an unreachable server fails in seconds, not
  minutes) and pre-ping (a server restarted mid-session is reconnected on the next call);
  migrations run under an advisory lock so two navigators opening a fresh database at once do
  not both create the tables.
* Connection failures become DatabaseUnavailable naming host and database, never the password.
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterator

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from .errors import DatabaseUnavailable, NewerSchemaError, RecordsError

__all__ = ["Database", "default_database_url", "head_revision", "alembic_config", "MIGRATIONS_DIR"]

# Found through the package, as the assets are (tests/test_packaging.py): a wheel and the editable
# checkout both resolve it, and Alembic wants a real folder of revision files.
MIGRATIONS_DIR = Path(str(files(__package__).joinpath("migrations")))
_MIGRATION_LOCK_KEY = 0x746D736E6176  # "tmsnav": pg_advisory_xact_lock key while migrating
_SQLITE_BUSY_TIMEOUT_S = 30.0
log = logging.getLogger(__name__)
# Alembic says "Context impl SQLiteImpl" and "Will assume non-transactional DDL" at INFO on every
# open: noise in the user's log. An upgrade is logged below, by revision.
logging.getLogger("alembic").setLevel(logging.WARNING)


def _fold(text: str | None) -> str | None:
    """Case-folding for case-insensitive search on SQLite (registered as ``tmsnav_fold``)."""
    return None if text is None else text.casefold()


def default_database_url() -> str:
    """The embedded database: ``<user data dir>/tmsnav.sqlite3`` (platformdirs, per OS)."""
    folder = Path(platformdirs.user_data_dir("tmsnav"))
    return f"sqlite:///{folder / 'tmsnav.sqlite3'}"


def alembic_config() -> Config:
    """Alembic configuration without an ini file: the scripts in this package, our models."""
    from .models import Base
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["target_metadata"] = Base.metadata
    return config


def head_revision() -> str:
    """The newest schema revision this version of tmsnav knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _normalise_url(url: str, password: str | None) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise RecordsError(f"Not a database URL: expected sqlite:///path or "
                           f"postgresql://user@host/database ({err})") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise RecordsError(f"Unsupported database {backend!r}: tmsnav works with SQLite (one "
                           "navigator) or PostgreSQL (a clinic).")
    if password is not None:
        parsed = parsed.set(password=password)
    return parsed


class Database:
    """An open clinic database. Thread-safe: each :meth:`session` is a fresh ORM session."""

    def __init__(self, engine: Engine, url: URL) -> None:
        """Use :meth:`open`."""
        self._engine = engine
        self._url = url
        self._password = url.password
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.url_for_display: str = url.render_as_string(hide_password=True)

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, password: str | None = None, upgrade: bool = True,
             connect_timeout_s: float = 5.0, durable_commits: bool = True) -> "Database":
        """Connect, create the SQLite file if needed and bring the schema to head.

        ``durable_commits=False`` is for a connection that writes only what it can write again
        from the session folder: the records sync, whose watermark moves in the same transaction
        as the rows it indexed. Its commits then skip the flush to disk (SQLite WAL with
        ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``): a power cut may undo its
        last commits, never half of one, and the next indexing redoes them. The flush it skips
        competed with the event log's own fsync of each pulse (benchmarks/records.py). Anything
        typed by a person (patients, outcomes) goes through a durable connection.

        Raises DatabaseUnavailable (cannot connect), NewerSchemaError (written by a newer
        tmsnav) or RecordsError (an older schema with ``upgrade=False``, not a database)."""
        parsed = _normalise_url(url, password)
        if parsed.get_backend_name() == "sqlite":
            engine = cls._sqlite_engine(parsed, durable_commits)
        else:
            # keepalives: a server lost mid-query (network cut) is noticed in about 25 s
            # instead of the operating system's two hours (libpq connection parameters)
            engine = create_engine(parsed, pool_pre_ping=True,
                                   connect_args={"connect_timeout": max(2, math.ceil(connect_timeout_s)),
                                                 "keepalives": 1, "keepalives_idle": 10,
                                                 "keepalives_interval": 5, "keepalives_count": 3,
                                                 **({} if durable_commits
                                                    else {"options": "-c synchronous_commit=off"})})
        db = cls(engine, parsed)
        try:
            db._migrate(upgrade)
        except BaseException:
            engine.dispose()
            raise
        return db

    @staticmethod
    def _sqlite_engine(parsed: URL, durable_commits: bool = True) -> Engine:
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise DatabaseUnavailable(f"Cannot create the folder of the database file "
                                          f"{database}: {err.strerror or err}") from None
        engine = create_engine(parsed, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S,
                                                     "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None       # we emit BEGIN ourselves (below)
            # SQLite's lower() folds ASCII only: searching "ülker" must find "ÜLKER"
            dbapi_connection.create_function("tmsnav_fold", 1, _fold, deterministic=True)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if database and database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
                if not durable_commits:
                    cursor.execute("PRAGMA synchronous=NORMAL")   # see Database.open
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    def _migrate(self, upgrade: bool) -> None:
        config = alembic_config()
        script = ScriptDirectory.from_config(config)
        head = script.get_current_head() or ""
        known = {rev.revision for rev in script.walk_revisions()}
        try:
            with self._engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                       {"key": _MIGRATION_LOCK_KEY})
                current = MigrationContext.configure(connection).get_current_revision()
                if current is not None and current not in known:
                    raise NewerSchemaError(current, head)
                if current == head:
                    return
                if not upgrade and current is None:
                    raise RecordsError(f"The database {self.url_for_display} has no tmsnav tables "
                                       f"yet (schema none; this tmsnav needs {head}); they are "
                                       "created when tmsnav opens it with upgrade enabled.")
                if not upgrade:
                    raise RecordsError(f"The database {self.url_for_display} has schema "
                                       f"{current}; this tmsnav needs {head}. Open it "
                                       "with upgrade enabled (back it up first).")
                config.attributes["connection"] = connection
                log.info("upgrading the database %s from schema %s to %s", self.url_for_display,
                         current or "none", head)
                command.upgrade(config, "head")
        except (exc.OperationalError, exc.InterfaceError) as err:
            raise self.unavailable(err) from None
        except exc.DatabaseError as err:
            raise RecordsError(f"{self.url_for_display} is not a usable tmsnav database: "
                               f"{self._reason(err)}") from None

    # -- use -----------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session committed on success, rolled back on error. A lost or unreachable
        server raises DatabaseUnavailable (the caller keeps its data and retries later)."""
        orm_session = self._sessions()
        try:
            yield orm_session
            orm_session.commit()
        except (exc.OperationalError, exc.InterfaceError) as err:
            self._quiet_rollback(orm_session)
            raise self.unavailable(err) from None
        except BaseException:
            self._quiet_rollback(orm_session)
            raise
        finally:
            orm_session.close()

    def schema_revision(self) -> str:
        """The Alembic revision the database is at (e.g. ``"0002"``)."""
        try:
            with self._engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision() or ""
        except (exc.OperationalError, exc.InterfaceError) as err:
            raise self.unavailable(err) from None

    def backup(self, destination: str | Path) -> Path:
        """Copy an SQLite database to ``destination`` while it is in use (SQLite's online backup
        API: a consistent snapshot even with writers; https://www.sqlite.org/backup.html). A
        PostgreSQL database is backed up with ``pg_dump`` by its administrator instead."""
        if self.dialect != "sqlite":
            raise RecordsError("Back up a PostgreSQL clinic database with pg_dump on the server "
                               "(docs/records.md); tmsnav copies only its own SQLite file.")
        target = Path(destination)
        if target.exists():
            raise RecordsError(f"{target} exists; choose a new file for the backup.")
        import sqlite3

        raw = self._engine.raw_connection()
        try:
            source = raw.driver_connection
            assert isinstance(source, sqlite3.Connection)
            out = sqlite3.connect(target)
            try:
                source.backup(out)
            finally:
                out.close()
        except (sqlite3.Error, OSError) as err:
            target.unlink(missing_ok=True)
            raise RecordsError(f"Backup to {target} failed: {err}") from None
        finally:
            raw.close()
        return target

    def close(self) -> None:
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url_for_display})"

    # -- messages ------------------------------------------------------------------------------
    @property
    def where(self) -> str:
        """Host and database for messages, e.g. ``"db.clinic.local:5432, database tmsnav"``."""
        url = self._url
        if url.get_backend_name() == "sqlite":
            return f"file {url.database}"
        host = url.host or str(url.query.get("host") or "localhost")
        port = url.port or url.query.get("port") or 5432
        return f"server {host}:{port}, database {url.database}"

    def _reason(self, err: BaseException) -> str:
        orig = getattr(err, "orig", None) or err
        lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
        reason = lines[0] if lines else type(orig).__name__
        if self._password:
            reason = reason.replace(self._password, "***")
        return reason

    def unavailable(self, err: BaseException) -> DatabaseUnavailable:
        """The user-facing error for a connection failure ``err`` (password scrubbed)."""
        if self.dialect == "sqlite":
            return DatabaseUnavailable(f"The clinic database ({self.where}) cannot be used right "
                                       f"now: {self._reason(err)}")
        return DatabaseUnavailable(f"Cannot reach the clinic database ({self.where}): "
                                   f"{self._reason(err)}. Pulses are kept in the session folder "
                                   "and sent when the server is back.")

    @staticmethod
    def _quiet_rollback(orm_session: Session) -> None:
        try:
            orm_session.rollback()
        except exc.SQLAlchemyError:
            pass
