"""A scenario clock the caller controls: pause the simulated technician, skip to a phase, play.

Without it a :class:`~tmsnav.hardware.simulation.tracker.SimulatedTracker` plays its scenario in
step with its device frames, so a GUI test has to follow the technician in real time: it waits
up to a whole loop for a phase to come round, and it fails on a loaded machine when the GUI is
slower than the scripted hand ("GUI too slow"). With a :class:`ScenarioClock` the frames still
come at the device rate on the host clock (fresh, numbered, noisy, as the app expects), but
*what the tools do* follows the clock's scenario time, which the test sets:

* ``jump_to(scenario, "touching nasion")`` then ``pause()``: the tip holds on the nasion for as
  long as the app needs to capture it, however slow the machine;
* ``play(speed, until_s=...)``: the technician moves on at ``speed`` x real time, and stops at
  ``until_s`` (e.g. the end of a phase) if the app is slower than expected.

Thread-safe: the acquisition thread reads it while the test thread changes it.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from .scenarios import Scenario

__all__ = ["ScenarioClock"]


class ScenarioClock:
    """Scenario time in seconds, paused or running at ``speed`` x ``source`` time."""

    def __init__(self, start_s: float = 0.0, *, speed: float = 0.0,
                 source: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._base_s = float(start_s)
        self._ref = source()
        self._speed = 0.0
        self._until_s = math.inf
        self._check_speed(speed)
        self._speed = float(speed)

    @staticmethod
    def _check_speed(speed: float) -> None:
        if not 0.0 <= speed <= 100.0:
            raise ValueError(f"scenario clock speed must be 0-100 x real time, got {speed}")

    def _now_locked(self) -> float:
        t = self._base_s + self._speed * (self._source() - self._ref)
        return min(t, max(self._until_s, self._base_s))

    def __call__(self) -> float:
        return self.now_s()

    def now_s(self) -> float:
        with self._lock:
            return self._now_locked()

    @property
    def running(self) -> bool:
        with self._lock:
            return self._speed > 0 and self._now_locked() < self._until_s

    def _rebase(self, t_s: float, speed: float, until_s: float) -> None:
        self._base_s, self._ref = float(t_s), self._source()
        self._speed, self._until_s = float(speed), float(until_s)

    def pause(self) -> float:
        """Stop scenario time where it is; returns it."""
        with self._lock:
            now = self._now_locked()
            self._rebase(now, 0.0, math.inf)
            return now

    def play(self, speed: float = 1.0, until_s: float | None = None) -> None:
        """Run scenario time from where it is at ``speed`` x real time, holding at ``until_s``."""
        self._check_speed(speed)
        with self._lock:
            self._rebase(self._now_locked(), speed, math.inf if until_s is None else until_s)

    def set(self, t_s: float) -> None:
        """Put scenario time at ``t_s`` (keeps playing or paused as before, no hold point)."""
        if not math.isfinite(t_s) or t_s < 0:
            raise ValueError(f"scenario time must be finite and >= 0, got {t_s}")
        with self._lock:
            self._rebase(t_s, self._speed, math.inf)

    def advance(self, dt_s: float) -> None:
        """Move scenario time forward by ``dt_s`` (a paused clock stays paused)."""
        if not dt_s >= 0:
            raise ValueError(f"advance needs dt_s >= 0, got {dt_s}")
        self.set(self.now_s() + dt_s)

    def jump_to(self, scenario: Scenario, phase: str, offset_s: float = 0.0,
                occurrence: int = 0) -> tuple[float, float]:
        """Put scenario time ``offset_s`` into the ``occurrence``-th ``phase`` of ``scenario``
        (ValueError naming the phases if it has none); returns that phase's (start, end)."""
        start, end = scenario.window(phase, occurrence)
        if not 0.0 <= offset_s < end - start:
            raise ValueError(f"offset {offset_s} s is outside phase {phase!r} "
                             f"({end - start:.2f} s long)")
        self.set(start + offset_s)
        return start, end
