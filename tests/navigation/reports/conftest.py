"""Fixtures of the report tests: a Records on a fresh SQLite file, and the 3-session course of
report_course_builder.py built in its own database (once per module)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from report_course_builder import BuiltCourse, build_course  # noqa: E402

from tmsnav.navigation.records.database import Database  # noqa: E402
from tmsnav.navigation.records.repository import Records  # noqa: E402


@pytest.fixture
def records(tmp_path: Path) -> Iterator[Records]:
    db = Database.open(f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    yield Records(db)
    db.close()


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltCourse]:
    """Built once per test module: the report tests only read it."""
    root = tmp_path_factory.mktemp("course")
    db = Database.open(f"sqlite:///{root / 'clinic.sqlite3'}")
    yield build_course(Records(db), root / "sessions")
    db.close()
