"""docs/safety.md and README's safety list are generated from the tests' safety markers and must
match them: adding, removing or rewording a marker without regenerating fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("safety_list", ROOT / "docs" / "tools" / "safety_list.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return _tool()


@pytest.fixture(scope="module")
def records(tool):
    return tool.collect()


def test_safety_page_and_readme_match_the_markers(tool, records):
    for path, expected in tool.expected_files(records).items():
        assert path.read_text(encoding="utf-8") == expected, \
            f"{path.name} is out of date: run python docs/tools/safety_list.py"


def test_dropping_a_marker_would_be_noticed(tool, records):
    fewer = [r for r in records if r["test"] != records[0]["test"]]
    changed = tool.expected_files(fewer)
    assert any(path.read_text(encoding="utf-8") != text for path, text in changed.items())


def test_every_hazard_has_marked_tests_or_names_where_they_are(tool, records):
    marked = {r["hazard"] for r in records}
    for key, (title, hazard, pending) in tool.HAZARDS.items():
        assert key in marked or pending, f"hazard {title!r} has no test"
    assert len(records) >= 40


@pytest.mark.parametrize("bad", [
    {"test": "t.py::x", "hazard": "left_right", "control": "typo in the key", "args": []},
    {"test": "t.py::x", "hazard": "units", "control": "  ", "args": []},
    {"test": "t.py::x", "hazard": None, "control": None, "args": ["units", "positional"]},
])
def test_malformed_markers_are_refused(tool, bad):
    with pytest.raises(ValueError, match="t.py::x"):
        tool.check_records([bad])
