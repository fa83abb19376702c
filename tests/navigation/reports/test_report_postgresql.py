"""The reports from a clinic PostgreSQL server say exactly what they say from the SQLite file.

The same course (same seed) is built in both; the sessions table, the coil spread, the pulse
statistics and the alert of the two reports must be identical, text for text (only ids and the
generation time differ). Skipped without PostgreSQL's binaries, except under CI (pg_server.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from report_course_builder import build_course

from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.repository import Records
from tmsnav.navigation.reports import write_course_report, write_session_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "records"))
from pg_server import PgUnavailable, skip_or_fail, start_postgres  # noqa: E402


@pytest.fixture(scope="module")
def pg_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Records]:
    try:
        server = start_postgres(tmp_path_factory.mktemp("pg"))
    except PgUnavailable as err:
        skip_or_fail(err)
    try:
        with psycopg.connect(host=str(server.folder), port=5433, user="tmsnav", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute('CREATE DATABASE "reports"')
        db = Database.open(server.url_for("reports"))
        try:
            yield Records(db)
        finally:
            db.close()
    finally:
        server.stop()


def _tables(html: str) -> list[str]:
    """The report's tables and alert as text, with ids and times blanked."""
    parts = re.findall(r"<table.*?</table>|<div class=\"alert\".*?</div>", html, flags=re.S)
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", p)) for p in parts]
    return [re.sub(r"\b[0-9a-f]{8}\b|\d\d:\d\d UTC", "#", t) for t in text]


def test_postgresql_and_sqlite_reports_agree(pg_records: Records, records: Records, tmp_path: Path) -> None:
    pg = build_course(pg_records, tmp_path / "pg-sessions")
    lite = build_course(records, tmp_path / "sqlite-sessions")
    out_pg, out_lite = tmp_path / "pg", tmp_path / "lite"
    out_pg.mkdir()
    out_lite.mkdir()
    course_pg = write_course_report(pg_records, pg.course_uid, out_pg)
    course_lite = write_course_report(records, lite.course_uid, out_lite)
    a, b = (_tables(f.html.read_text(encoding="utf-8")) for f in (course_pg, course_lite))
    assert len(a) >= 6 and a == b
    session_pg = write_session_report(pg_records, pg.session_uids[1], out_pg)
    session_lite = write_session_report(records, lite.session_uids[1], out_lite)
    a, b = (_tables(f.html.read_text(encoding="utf-8")) for f in (session_pg, session_lite))
    assert a == b
    assert course_pg.pdf.stat().st_size > 10_000 and session_pg.pdf.stat().st_size > 10_000
