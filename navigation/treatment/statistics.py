"""Session statistics of the pulse log: how many pulses, how many landed on target, how far off.

Definitions (the session summary and docs/treatment.md "Pulse log" state the same):

* ``n``: every pulse the sources reported; ``n_pose_unknown``: pulses without a live coil pose;
  ``n_no_target``: pulses with a pose but no active target (no error can be computed).
* ``fraction_on_target`` = pulses within tolerance / ``n``. A pulse whose pose is unknown is
  *not* counted as on target: nobody can say where it landed, and dropping it from the
  denominator would make a session with tracking trouble look better than it was.
  ``fraction_on_target_of_measured`` divides by the pulses that have an error instead.
* ``median_error_mm`` / ``p95_error_mm``: the position error the Navigate tab shows (distance on
  the scalp, mm) over the pulses that have one; the 95th percentile is numpy's default
  (linear interpolation between order statistics, Hyndman & Fan 1996 definition 7).
* ``per_target``: the same numbers for each target name, in order of first pulse.

Pure functions of plain records (anything with the :class:`PulseRecord` attributes), so the
statistics re-read from a session's event log are computed by the very same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

import numpy as np

__all__ = ["PulseRecord", "PulseStatistics", "pulse_statistics", "NO_TARGET"]

NO_TARGET = "(no target)"


class PulseRecord(Protocol):
    """What the statistics read from a logged pulse."""

    @property
    def target_name(self) -> str | None: ...
    @property
    def position_error_mm(self) -> float | None: ...
    @property
    def angle_error_rad(self) -> float | None: ...
    @property
    def within_tolerance(self) -> bool | None: ...
    @property
    def pose_known(self) -> bool: ...


@dataclass(frozen=True)
class PulseStatistics:
    """Counts and error summary of a set of pulses (see the module docstring for definitions)."""

    n: int
    n_pose_unknown: int
    n_no_target: int
    n_on_target: int
    fraction_on_target: float | None              # of all pulses; None without pulses
    fraction_on_target_of_measured: float | None  # of pulses with an error; None without any
    median_error_mm: float | None
    p95_error_mm: float | None
    max_error_mm: float | None
    median_angle_error_rad: float | None
    per_target: dict[str, "PulseStatistics"] = field(default_factory=dict)

    @property
    def n_measured(self) -> int:
        """Pulses with a position error (pose known and a target active)."""
        return self.n - self.n_pose_unknown - self.n_no_target

    def to_dict(self) -> dict:
        out: dict[str, object] = {"n": self.n, "n_pose_unknown": self.n_pose_unknown, "n_no_target": self.n_no_target,
               "n_on_target": self.n_on_target, "fraction_on_target": self.fraction_on_target,
               "fraction_on_target_of_measured": self.fraction_on_target_of_measured,
               "median_error_mm": self.median_error_mm, "p95_error_mm": self.p95_error_mm,
               "max_error_mm": self.max_error_mm,
               "median_angle_error_rad": self.median_angle_error_rad}
        if self.per_target:
            out["per_target"] = {name: s.to_dict() for name, s in self.per_target.items()}
        return out


def _summary(pulses: list[PulseRecord]) -> PulseStatistics:
    n = len(pulses)
    unknown = sum(1 for p in pulses if not p.pose_known)
    no_target = sum(1 for p in pulses if p.pose_known and p.position_error_mm is None)
    on_target = sum(1 for p in pulses if p.within_tolerance is True)
    errors = np.array([p.position_error_mm for p in pulses if p.position_error_mm is not None], float)
    angles = np.array([p.angle_error_rad for p in pulses if p.angle_error_rad is not None], float)
    measured = len(errors)
    return PulseStatistics(
        n=n, n_pose_unknown=unknown, n_no_target=no_target, n_on_target=on_target,
        fraction_on_target=on_target / n if n else None,
        fraction_on_target_of_measured=on_target / measured if measured else None,
        median_error_mm=float(np.median(errors)) if measured else None,
        p95_error_mm=float(np.percentile(errors, 95)) if measured else None,
        max_error_mm=float(errors.max()) if measured else None,
        median_angle_error_rad=float(np.median(angles)) if len(angles) else None)


def pulse_statistics(pulses: Iterable[PulseRecord]) -> PulseStatistics:
    """Statistics of the whole session and of each target."""
    pulses = list(pulses)
    groups: dict[str, list[PulseRecord]] = {}
    for p in pulses:
        groups.setdefault(p.target_name or NO_TARGET, []).append(p)
    total = _summary(pulses)
    return PulseStatistics(**{**total.__dict__,
                              "per_target": {name: _summary(g) for name, g in groups.items()}})
