"""The clinic database URL as the settings keep it: checked, canonical, and never with a password.

Two kinds of database are supported (docs/settings.md, docs/records.md):

* ``sqlite:///ABSOLUTE/PATH/tmsnav.sqlite3`` - one file, for a single navigator. A relative path
  would depend on the folder the app was started from, and ``sqlite://`` (in memory) would lose
  the record at exit, so both are refused.
* ``postgresql+psycopg://USER@HOST[:PORT]/DATABASE[?sslmode=...]`` (or ``USER@/DATABASE?host=
  /run/postgresql`` for a Unix socket on this computer) - one server shared by every
  navigator of a clinic, through the psycopg 3 driver tmsnav installs. ``postgresql://`` and
  ``postgres://`` are accepted and written with ``+psycopg``; other drivers are refused (they are
  not installed).

Why no password in the URL: the URL is stored in ``clinic.json``, which clinics copy from one
navigator to the next and which backups and support e-mails carry around. The password goes to
the operating system's keyring instead (:mod:`tmsnav.navigation.records.credentials`). Every
message here is written without echoing the text typed, because that text may hold a password.

The parsing is SQLAlchemy's own (:func:`sqlalchemy.engine.make_url`), so what passes here is
exactly what :func:`sqlalchemy.create_engine` will read.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import NavigationError

__all__ = ["DatabaseUrlError", "PASSWORD_REFUSED", "EXAMPLE_POSTGRES", "EXAMPLE_SQLITE",
           "parse_database_url", "url_without_password", "describe_database_url"]

EXAMPLE_SQLITE = "sqlite:////home/navigator/tmsnav/tmsnav.sqlite3"
EXAMPLE_POSTGRES = "postgresql+psycopg://tmsnav@db.clinic.local:5432/tmsnav"
PASSWORD_REFUSED = ("The database URL contains a password. Remove it from the URL (write it as "
                    f"{EXAMPLE_POSTGRES}) and type the password in the Password field instead: "
                    "tmsnav keeps it in the system keyring, never in the settings file.")
_POSTGRES_NAMES = ("postgresql", "postgres", "postgresql+psycopg")
_PASSWORD_QUERY_KEYS = ("password", "passwd", "pwd")


class DatabaseUrlError(NavigationError, ValueError):
    """The database URL cannot be used; the message says why and shows a correct example."""


def _is_absolute(path: str) -> bool:
    return PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute()


def _check_sqlite(url: URL) -> URL:
    db = url.database or ""
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        raise DatabaseUrlError("An in-memory SQLite database would lose the clinic record when "
                               f"tmsnav closes. Give a file, e.g. {EXAMPLE_SQLITE}")
    if not _is_absolute(db):
        raise DatabaseUrlError("The SQLite database path must be a full path (it would otherwise "
                               "depend on the folder tmsnav was started from): sqlite:/// followed "
                               f"by the full path, e.g. {EXAMPLE_SQLITE}")
    if url.host or url.username or url.port:
        raise DatabaseUrlError("A SQLite URL names a file only: three slashes, then the full path, "
                               f"e.g. {EXAMPLE_SQLITE}")
    return url.set(drivername="sqlite")


def _server(url: URL) -> str:
    """The server: the host part, or ``?host=`` (a Unix-socket folder, libpq's convention)."""
    query_host = url.query.get("host")
    if isinstance(query_host, tuple):
        query_host = query_host[0] if query_host else None
    return url.host or query_host or ""


def _check_postgres(url: URL) -> URL:
    missing = [what for what, value in (("user name", url.username), ("server name", _server(url)),
                                        ("database name", url.database)) if not value]
    if missing:
        raise DatabaseUrlError(f"The PostgreSQL URL has no {' and no '.join(missing)}: write "
                               f"postgresql+psycopg://USER@SERVER:PORT/DATABASE, e.g. {EXAMPLE_POSTGRES}")
    if url.port is not None and not 0 < url.port < 65536:
        raise DatabaseUrlError(f"The port {url.port} is not a TCP port (1-65535; PostgreSQL "
                               "listens on 5432 unless set otherwise).")
    return url.set(drivername="postgresql+psycopg")


def parse_database_url(text: str) -> str:
    """``text`` checked and written canonically; ``""`` for an empty text (= the embedded default).

    Raises :class:`DatabaseUrlError` (whose message never repeats ``text``) for a password in the
    URL, an unsupported database or driver, a relative or in-memory SQLite path, or a PostgreSQL
    URL without user, server or database.
    """
    text = (text or "").strip()
    if not text:
        return ""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise DatabaseUrlError("This is not a database URL. Write sqlite:/// followed by the full "
                               f"path of a file ({EXAMPLE_SQLITE}) or "
                               f"postgresql+psycopg://USER@SERVER:PORT/DATABASE ({EXAMPLE_POSTGRES}); "
                               "a port must be a number.") from None
    if url.password is not None or any(k.lower() in _PASSWORD_QUERY_KEYS for k in url.query):
        raise DatabaseUrlError(PASSWORD_REFUSED)
    if url.drivername in ("sqlite", "sqlite+pysqlite"):
        url = _check_sqlite(url)
    elif url.drivername in _POSTGRES_NAMES:
        url = _check_postgres(url)
    elif url.drivername.startswith("postgresql+"):
        raise DatabaseUrlError(f"tmsnav talks to PostgreSQL through the psycopg (version 3) driver "
                               f"only: write postgresql+psycopg://..., e.g. {EXAMPLE_POSTGRES}")
    else:
        raise DatabaseUrlError("Only SQLite (one navigator) and PostgreSQL (a clinic server) are "
                               f"supported: e.g. {EXAMPLE_SQLITE} or {EXAMPLE_POSTGRES}")
    if url.drivername == "sqlite":       # the path as typed (render_as_string escapes "C:")
        return f"sqlite:///{url.database}"
    return url.render_as_string(hide_password=False)


def _without_password(url: URL) -> URL:
    """A new URL without password. (``URL.set(password=None)`` does NOT remove it: ``set``
    skips None values, a trap the tests guard.)"""
    query = {k: v for k, v in url.query.items() if k.lower() not in _PASSWORD_QUERY_KEYS}
    return URL.create(url.drivername, username=url.username, password=None, host=url.host,
                      port=url.port, database=url.database, query=query)


def url_without_password(url: str) -> str:
    """``url`` with any password removed (the keyring's user name for that database).

    A URL that cannot be parsed is returned as ``""`` rather than echoed, since it may hold a
    password in a form the parser did not recognise."""
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        return ""
    if parsed.drivername.startswith("sqlite"):
        return f"sqlite:///{parsed.database or ''}"
    return _without_password(parsed).render_as_string(hide_password=False)


def describe_database_url(url: str) -> str:
    """A short human description for messages: "SQLite file /x/y.sqlite3" or
    "PostgreSQL database tmsnav on db.clinic.local:5432 as tmsnav" (never a password)."""
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        return "an unreadable database URL"
    if parsed.drivername.startswith("sqlite"):
        return f"SQLite file {parsed.database}"
    port = parsed.port or parsed.query.get("port") or 5432
    return f"PostgreSQL database {parsed.database} on {_server(parsed)}:{port} as {parsed.username}"
