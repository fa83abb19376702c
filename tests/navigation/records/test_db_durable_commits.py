"""Only the records sync's connection skips the flush per commit (Database.open durable_commits).

A person's entries (patients, outcomes) must survive a power cut once saved; the sync writes only
what the session folder holds and re-indexes from its watermark, so its commits may skip the
fsync that competed with the event log's fsync of each pulse."""

from __future__ import annotations

from sqlalchemy import text

from tmsnav.navigation.records.database import Database


def _setting(db: Database) -> str:
    with db.session() as session:
        if session.get_bind().dialect.name == "sqlite":
            level = int(session.execute(text("PRAGMA synchronous")).scalar())
            return {0: "off", 1: "normal", 2: "full", 3: "extra"}[level]
        return str(session.execute(text("SHOW synchronous_commit")).scalar())


def test_default_connection_flushes_every_commit_and_the_sync_connection_does_not(db_url: str) -> None:
    durable = Database.open(db_url)
    relaxed = Database.open(db_url, durable_commits=False)
    try:
        assert _setting(durable) in ("full", "on")
        assert _setting(relaxed) in ("normal", "off")
    finally:
        durable.close()
        relaxed.close()
