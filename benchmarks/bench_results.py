"""The end every benchmark shares: each goal with OK / MISSED, and the flat results file.

Imported by the benchmark scripts (``python benchmarks/<name>.py`` puts this folder on the path);
not a benchmark itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

__all__ = ["print_goals", "write_results"]


def print_goals(results: Mapping[str, object], goals: Mapping[str, tuple[str, float]]) -> None:
    """One line per goal present in ``results``: ``goal <name> < 5.0: 3.84 OK`` (or MISSED)."""
    for name, (op, goal) in goals.items():
        if name in results:
            value = float(results[name])  # type: ignore[arg-type]
            ok = value < goal if op == "<" else value >= goal
            print(f"goal {name} {op} {goal}: {value:,.2f} {'OK' if ok else 'MISSED'}")


def write_results(path: Path, results: Mapping[str, object], root: Path, digits: int = 3) -> None:
    """``path`` as flat JSON, floats rounded to ``digits``; prints where it went (relative to ``root``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: round(v, digits) if isinstance(v, float) else v
                                for k, v in results.items()}, indent=2) + "\n")
    print(f"wrote {path.relative_to(root)}")
