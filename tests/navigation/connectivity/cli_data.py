"""Shared set-up of the CLI / batch / end-to-end tests: a private user cache (the MNI registration
of the sample T1 is computed once there, never read from or written to the tester's home) and a
way to run ``tmsnav-target`` in-process with its output captured."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tmsnav.navigation import target_cli


@pytest.fixture(scope="session")
def private_cache(tmp_path_factory):
    """XDG_CACHE_HOME for this test session (inherited by spawned workers and Dask workers)."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@dataclass
class CliRun:
    code: int
    out: str
    err: str


def run_cli(capsys, *argv: object) -> CliRun:
    capsys.readouterr()
    code = target_cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


def target_json(folder: Path) -> dict:
    return json.loads((Path(folder) / "target.json").read_text(encoding="utf-8"))


def one_clear_line(err: str) -> str:
    """The stderr of a refused input: exactly one line, no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "File \"" not in err
    return lines[0]
