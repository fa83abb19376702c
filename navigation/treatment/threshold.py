"""Resting motor threshold (RMT): the relative-frequency method and adaptive threshold hunting.

Both methods take one pulse at a time: ask :meth:`next_intensity` (None when done), give the
pulse, and :meth:`record` the intensity and the MEP (peak-to-peak µV). A response is an MEP of at
least 50 µV in a relaxed muscle: a pulse flagged as pre-activated
(:mod:`tmsnav.navigation.treatment.mep`) is recorded with ``preactivated=True``, counts as given
(``pulses_used``) but not as an answer, and the same output is asked again. Both report
``threshold_pct`` and ``pulses_used``.

**Relative frequency** (:class:`RelativeFrequencyThreshold`): the IFCN definition - the lowest
output (% MSO) at which at least 5 of 10 consecutive pulses give MEPs >= 50 µV in the relaxed
muscle (Rossini PM, et al. Clin Neurophysiol 2015;126:1071-1107, doi
10.1016/j.clinph.2015.02.001). Stepping procedure used here (written down because the definition
leaves it open): start at a suprathreshold output (e.g. the hotspot-search output); at each output
give up to 10 pulses, stopping early once the outcome is certain (a 5th response passes, a 6th
non-response fails: the remaining pulses cannot change it); after a pass go down by ``step_pct``
(2 % MSO), after a fail with no pass yet go up by ``step_pct``; once a pass and a fail lie
``step_pct`` apart, test the outputs between them in 1 % steps. The threshold is the lowest
passing output whose next 1 % lower output failed.

**Adaptive threshold hunting** (:class:`AdaptiveThreshold`): maximum-likelihood PEST (Awiszus F.
TMS and threshold hunting. Suppl Clin Neurophysiol 2003;56:13-23), the method of the freely
available MTAT 2.0 tool. The probability of a response at output ``x`` for a threshold ``t`` is
modelled as a cumulative Gaussian whose spread is proportional to the threshold,
``P = Phi((x - t) / (0.07 t))`` (the 0.07 ratio as secondary sources describe MTAT's model; not checked against the
paper's text here - it is a parameter, ``spread``). After every pulse the likelihood of all answers
so far is evaluated on a 0.1 % grid of candidate thresholds and the next pulse is given at the
maximum-likelihood threshold (the middle of the maximum when it is flat). To make the estimate
defined from the first pulse, two assumed answers are added as in PEST practice: a response at the
top and none at the bottom of the search range. Awiszus reported estimates comparable to the
relative-frequency method in about 10-20 pulses. Stopping rule used here: at least ``min_pulses``
(10) and then stop as soon as the likelihood-ratio interval (candidates whose likelihood is within
a factor ``exp(-2)`` of the maximum, about a 95 % interval) is narrower than ``stop_width_pct``, or
at ``max_pulses`` (20). Measured accuracy on simulated subjects: docs/treatment.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.treatment.mep import check_amplitude_uv

__all__ = ["RelativeFrequencyThreshold", "AdaptiveThreshold", "ThresholdResult", "RESPONSE_UV",
           "AWISZUS_SPREAD"]

RESPONSE_UV = 50.0
AWISZUS_SPREAD = 0.07   # response-probability spread as a fraction of the threshold (Awiszus 2003)


@dataclass(frozen=True)
class ThresholdResult:
    """What is written to the event log (kind "motor_threshold")."""

    method: str
    threshold_pct: int | None
    pulses_used: int
    message: str

    def to_dict(self) -> dict:
        return {"method": self.method, "threshold_pct": self.threshold_pct,
                "pulses_used": self.pulses_used, "message": self.message}


def _check_pulse(intensity_pct: float, mep_uv: float, expected: int | None) -> int:
    if not (isinstance(intensity_pct, (int, float, np.integer, np.floating)) and np.isfinite(intensity_pct)):
        raise NavigationError(f"stimulator output must be a number, got {intensity_pct!r}")
    level = int(round(float(intensity_pct)))
    if not 0 <= level <= 100:
        raise NavigationError(f"stimulator output must be 0-100 % MSO, got {intensity_pct}")
    check_amplitude_uv(mep_uv)
    if expected is not None and level != expected:
        raise NavigationError(f"the pulse was given at {level} % MSO but the method asked for "
                              f"{expected} %: set the stimulator to {expected} % and repeat")
    return level


class _ThresholdHunt:
    """What both methods do with each pulse before their own rule: the checks, the pulse count,
    a pulse into a contracted muscle left out, the answer kept in ``history``."""

    done: bool
    _level: int
    pulses_used: int
    history: list[tuple[int, float, bool]]      # answered pulses: output, MEP, response
    left_out: list[tuple[int, float]]           # pre-activated pulses (counted as given)
    last_message: str

    def next_intensity(self) -> int | None:
        return None if self.done else self._level

    def _answer(self, intensity_pct: float, mep_uv: float, preactivated: bool) -> tuple[int, bool] | None:
        """``(level, response)`` of one pulse, or None when it was left out (asked again)."""
        if self.done:
            raise NavigationError("the threshold is already determined; start a new measurement")
        level = _check_pulse(intensity_pct, mep_uv, self._level)
        self.pulses_used += 1
        self.last_message = ""
        if preactivated:
            self.left_out.append((level, float(mep_uv)))
            self.last_message = (f"pulse at {level} % MSO left out: the muscle was not at rest; ask the "
                                 "patient to relax and give it again")
            return None
        hit = mep_uv >= RESPONSE_UV
        self.history.append((level, float(mep_uv), hit))
        return level, hit


class RelativeFrequencyThreshold(_ThresholdHunt):
    """IFCN relative-frequency RMT (>= 5 of 10 MEPs >= 50 µV); see the module docstring."""

    PULSES_PER_LEVEL = 10
    NEEDED = 5

    def __init__(self, start_pct: int = 60, step_pct: int = 2, *, min_pct: int = 1,
                 max_pct: int = 100) -> None:
        if not (1 <= min_pct < max_pct <= 100 and min_pct <= start_pct <= max_pct):
            raise NavigationError(f"start output {start_pct} % must lie within {min_pct}-{max_pct} % MSO")
        if not 1 <= step_pct <= 10:
            raise NavigationError(f"the step must be 1-10 % MSO, got {step_pct}")
        self.step_pct, self.min_pct, self.max_pct = int(step_pct), int(min_pct), int(max_pct)
        self._level = int(start_pct)
        self._hits = 0
        self._misses = 0
        self._passed: set[int] = set()
        self._failed: set[int] = set()
        self.pulses_used = 0
        self.threshold_pct: int | None = None
        self.done = False
        self.message = ""
        self.history: list[tuple[int, float, bool]] = []   # answered pulses: output, MEP, response
        self.left_out: list[tuple[int, float]] = []        # pre-activated pulses (counted as given)
        self.last_message = ""

    def record(self, intensity_pct: float, mep_uv: float, *, preactivated: bool = False) -> None:
        """One pulse. A pre-activated one counts as given but not as an answer (asked again)."""
        answer = self._answer(intensity_pct, mep_uv, preactivated)
        if answer is None:
            return
        level, hit = answer
        self._hits += hit
        self._misses += not hit
        if self._hits >= self.NEEDED:
            self._passed.add(level)
        elif self._misses > self.PULSES_PER_LEVEL - self.NEEDED:
            self._failed.add(level)
        else:
            return
        self._hits = self._misses = 0
        self._advance()

    def _advance(self) -> None:
        if not self._passed:
            top = max(self._failed)
            if top >= self.max_pct:
                self._finish(None, f"fewer than 5 of 10 MEPs >= 50 µV even at {self.max_pct} % MSO: "
                                   "check the EMG electrodes, the coil position and that the muscle is "
                                   "the one recorded")
                return
            self._level = min(top + self.step_pct, self.max_pct)
            return
        low = min(self._passed)
        below = [f for f in self._failed if f < low]
        top_fail = max(below) if below else None
        if top_fail == low - 1:
            self._finish(low, f"{low} % MSO: lowest output with at least 5 of 10 MEPs >= 50 µV")
            return
        if low <= self.min_pct:
            self._finish(low, f"responses down to the lowest allowed output {self.min_pct} % MSO")
            return
        nxt = low - self.step_pct
        if top_fail is not None and nxt <= top_fail:
            nxt = low - 1
        self._level = max(nxt, self.min_pct)

    def _finish(self, threshold: int | None, message: str) -> None:
        self.threshold_pct, self.done, self.message = threshold, True, message

    def result(self) -> ThresholdResult:
        return ThresholdResult("relative-frequency (Rossini et al. 2015)", self.threshold_pct,
                               self.pulses_used, self.message if self.done else "not finished")


class AdaptiveThreshold(_ThresholdHunt):
    """Maximum-likelihood threshold hunting (Awiszus 2003 ML-PEST); see the module docstring."""

    def __init__(self, start_pct: int = 45, *, low_pct: float = 20.0, high_pct: float = 100.0,
                 min_pulses: int = 10, max_pulses: int = 20, stop_width_pct: float = 5.0,
                 spread: float = AWISZUS_SPREAD) -> None:
        if not 0 < low_pct < high_pct <= 100 or not low_pct <= start_pct <= high_pct:
            raise NavigationError(f"the search range {low_pct}-{high_pct} % MSO must hold the start "
                                  f"output {start_pct} %")
        if not 1 <= min_pulses <= max_pulses:
            raise NavigationError("need 1 <= min_pulses <= max_pulses")
        self.grid = np.arange(low_pct, high_pct + 1e-9, 0.1)
        self.spread = float(spread)
        self.min_pulses, self.max_pulses = int(min_pulses), int(max_pulses)
        self.stop_width_pct = float(stop_width_pct)
        self.low_pct, self.high_pct = float(low_pct), float(high_pct)
        self._loglik = np.zeros_like(self.grid)
        # PEST's assumed answers: a response at the top, none at the bottom of the range
        self._add(self.high_pct, True)
        self._add(self.low_pct, False)
        self._level = int(start_pct)
        self.pulses_used = 0
        self.done = False
        self.threshold_pct: int | None = None
        self.message = ""
        self.history: list[tuple[int, float, bool]] = []   # answered pulses: output, MEP, response
        self.left_out: list[tuple[int, float]] = []        # pre-activated pulses (counted as given)
        self.last_message = ""

    def _add(self, x: float, hit: bool) -> None:
        z = (x - self.grid) / (self.spread * self.grid)
        self._loglik += log_ndtr(z) if hit else log_ndtr(-z)

    def estimate_pct(self) -> float:
        """Current maximum-likelihood threshold (middle of the maximum's plateau)."""
        best = self._loglik.max()
        at_max = self.grid[self._loglik >= best - 1e-9]
        return float(0.5 * (at_max[0] + at_max[-1]))

    def interval_pct(self) -> tuple[float, float]:
        """Likelihood-ratio interval: candidates within exp(-2) of the maximum (about 95 %)."""
        inside = self.grid[self._loglik >= self._loglik.max() - 2.0]
        return float(inside[0]), float(inside[-1])

    def record(self, intensity_pct: float, mep_uv: float, *, preactivated: bool = False) -> None:
        """One pulse. A pre-activated one counts as given but not as an answer (asked again)."""
        answer = self._answer(intensity_pct, mep_uv, preactivated)
        if answer is None:
            return
        level, hit = answer
        self._add(level, hit)
        est = self.estimate_pct()
        lo, hi = self.interval_pct()
        answers = len(self.history)
        if answers >= self.max_pulses or (answers >= self.min_pulses and hi - lo <= self.stop_width_pct):
            self.threshold_pct = int(math.floor(est + 0.5))
            self.done = True
            self.message = (f"{self.threshold_pct} % MSO after {self.pulses_used} pulses "
                            + (f"({len(self.left_out)} left out, muscle not at rest) " if self.left_out else "")
                            + f"(likelihood interval {lo:.0f}-{hi:.0f} %)")
            if self.threshold_pct >= self.high_pct - 1:
                self.message += (": at the top of the search range, check the EMG and coil; the "
                                 "threshold may be higher than the stimulator can reach")
            elif self.threshold_pct <= self.low_pct + 1:
                self.message += (f": at the bottom of the search range ({self.low_pct:g} % MSO); the "
                                 "threshold may be lower: repeat with a lower range")
            return
        self._level = int(min(max(math.floor(est + 0.5), self.low_pct), self.high_pct))

    def result(self) -> ThresholdResult:
        return ThresholdResult("adaptive threshold hunting, ML-PEST (Awiszus 2003)", self.threshold_pct,
                               self.pulses_used, self.message if self.done else "not finished")
