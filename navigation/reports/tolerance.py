"""Which position tolerance each session of a course was judged against, and which sessions
missed it.

The clinic database keeps every pulse with the on-target verdict it was logged with, but not the
tolerance behind that verdict: the Navigate tab's distance box can change from one day to the
next. The tolerance the clinician accepted at the end of a sitting is in the session folder's
event log, in the last ``treatment_summary`` event (``app/treatment/summary.py`` writes it with
the statistics the dialog showed). The course view and the course report read it from there, so
the line drawn over a course's error trend is the one each day was really judged against, and a
day whose folder is not on this computer falls back to the Navigate default *with a note* instead
of silently.

Reading is cheap enough for the course view's refresh every few seconds: a session's log is
scanned for the summary line only (no JSON decoding of the pulse lines), and the answer is kept
per (file, size, modification time), so a closed session's log is read once (measured: 30 logs
of 3000 pulses, 2 MB each, 64 ms the first time, 0.4 ms after).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

from ..treatment.pulse_log import navigate_tolerance

__all__ = ["DEFAULT_TOLERANCE_MM", "PLAUSIBLE_TOLERANCE_MM", "SUMMARY_KIND", "session_tolerance_mm",
           "CourseTolerance", "course_tolerance", "above_tolerance", "plausible_tolerance"]

DEFAULT_TOLERANCE_MM = navigate_tolerance().distance_mm
#: The Navigate tab's distance box range (app/panels/guidance_panel.py): a recorded value outside
#: it was not written by tmsnav in mm (metres or centimetres from another tool) and is not used.
PLAUSIBLE_TOLERANCE_MM = (0.5, 20.0)
SUMMARY_KIND = "treatment_summary"
_NEEDLE = b'"' + SUMMARY_KIND.encode() + b'"'


@lru_cache(maxsize=512)
def _summary_tolerance(path: str, _size: int, _mtime_ns: int) -> float | None:
    found: float | None = None
    with open(path, "rb") as f:
        for line in f:
            if _NEEDLE not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue                     # a line cut by a crash: the log reader skips it too
            if isinstance(event, dict) and event.get("kind") == SUMMARY_KIND:
                value = event.get("tolerance_mm")
                try:
                    found = float(value) if value is not None else None
                except (TypeError, ValueError):
                    found = None
    return found if found is not None and math.isfinite(found) else None


def session_tolerance_mm(folder: str | Path | None) -> float | None:
    """The tolerance (mm) of the session's last end-of-treatment summary, as recorded; None when
    the folder or its log is not on this computer, cannot be read, or has no summary."""
    if not folder:
        return None
    path = Path(folder) / "events.jsonl"
    try:
        st = path.stat()
        return _summary_tolerance(str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return None


class _Row(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def pulses(self) -> int: ...
    @property
    def tolerance_mm(self) -> float | None: ...


def plausible_tolerance(value: float | None) -> bool:
    """A tolerance tmsnav could have written: within the Navigate tab's range, in mm."""
    return value is not None and PLAUSIBLE_TOLERANCE_MM[0] <= value <= PLAUSIBLE_TOLERANCE_MM[1]


def _numbers(numbers: Sequence[int]) -> str:
    text = ", ".join(str(n) for n in numbers)
    return ("session " if len(numbers) == 1 else "sessions ") + text


@dataclass(frozen=True)
class CourseTolerance:
    """Per session (in the order given): the number, whether it delivered pulses, and the
    tolerance it recorded (None: not recorded or implausible)."""

    numbers: tuple[int, ...]
    treated: tuple[bool, ...]
    recorded: tuple[float | None, ...]
    implausible: tuple[tuple[int, float], ...] = ()

    @property
    def values(self) -> tuple[float, ...]:
        """The tolerance each session is judged against: its own, else the Navigate default."""
        return tuple(DEFAULT_TOLERANCE_MM if v is None else v for v in self.recorded)

    @property
    def unknown(self) -> tuple[int, ...]:
        """Sessions with pulses whose tolerance was not recorded (or not usable)."""
        return tuple(n for n, t, v in zip(self.numbers, self.treated, self.recorded) if t and v is None)

    @property
    def single_mm(self) -> float | None:
        """The one tolerance of every session with pulses (default for the unknown ones); None
        when they differ. A course without pulses has the default."""
        used = {v for v, t in zip(self.values, self.treated) if t}
        if not used:
            return DEFAULT_TOLERANCE_MM
        return used.pop() if len(used) == 1 else None

    def for_session(self, number: int) -> float:
        return dict(zip(self.numbers, self.values)).get(number, DEFAULT_TOLERANCE_MM)

    def caveats(self) -> list[str]:
        """What the reader must know about the tolerance line and the marks."""
        out = []
        for number, value in self.implausible:
            out.append(f"Session {number} recorded a tolerance of {value:g} mm, outside the Navigate range "
                       f"{PLAUSIBLE_TOLERANCE_MM[0]:g}-{PLAUSIBLE_TOLERANCE_MM[1]:g} mm (another unit?): it is not "
                       "used.")
        if self.unknown:
            some = len(self.unknown) < sum(self.treated)
            out.append(f"The tolerance of {_numbers(self.unknown)} was not recorded on this computer (no "
                       f"end-of-treatment summary, or the session folder is elsewhere): the line and the marks use "
                       f"the Navigate default, {DEFAULT_TOLERANCE_MM:g} mm{' for them' if some else ''}; each pulse "
                       "keeps the on-target verdict it was logged with.")
        if len({v for v, t in zip(self.recorded, self.treated) if t and v is not None}) > 1:
            out.append("The sessions were judged against different tolerances ("
                       + "; ".join(f"{label}: {_numbers(ns)}" for label, ns in self._groups())
                       + "): the trend draws each session's own tolerance as a step line.")
        return out

    def _groups(self) -> list[tuple[str, list[int]]]:
        """Sessions with pulses by the tolerance they are judged against ("3 mm (default)" when
        not recorded), smallest first."""
        groups: dict[tuple[float, bool], list[int]] = {}
        for n, t, v in zip(self.numbers, self.treated, self.recorded):
            if t:
                groups.setdefault((DEFAULT_TOLERANCE_MM if v is None else v, v is None), []).append(n)
        return [(f"{value:g} mm" + (", the default" if default else ""), ns)
                for (value, default), ns in sorted(groups.items())]

    def summary(self) -> str:
        """One line: "2.5 mm (recorded by every session)", "3 mm (Navigate default: ...)" or per session."""
        single = self.single_mm
        if single is None:
            return "per session: " + "; ".join(f"{label} ({_numbers(ns)})" for label, ns in self._groups())
        if not any(self.treated):
            return f"{single:g} mm (Navigate default; no session has pulses yet)"
        if not self.unknown:
            return f"{single:g} mm (recorded by every session)"
        if len(self.unknown) == sum(self.treated):
            return f"{single:g} mm (Navigate default: no session recorded its tolerance here)"
        return f"{single:g} mm (the Navigate default for {_numbers(self.unknown)}, not recorded)"


def course_tolerance(rows: Sequence[_Row]) -> CourseTolerance:
    """From session rows carrying ``number``, ``pulses`` and the recorded ``tolerance_mm``."""
    recorded: list[float | None] = []
    implausible = []
    for r in rows:
        v = r.tolerance_mm
        if v is not None and not plausible_tolerance(v):
            implausible.append((r.number, float(v)))
            v = None
        recorded.append(v)
    return CourseTolerance(tuple(r.number for r in rows), tuple(r.pulses > 0 for r in rows), tuple(recorded),
                           tuple(implausible))


def above_tolerance(median_mm: float | None, tolerance_mm: float) -> bool:
    """A session whose median pulse error is above its tolerance: half its pulses or more missed.
    Unknown (no pulse with an error) is not above."""
    return median_mm is not None and math.isfinite(median_mm) and median_mm > tolerance_mm
