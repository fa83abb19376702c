"""Shared pieces of the MagPro tests: a collector that waits for conditions (never for time) and a
manual clock that drives the emulated unit."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")

#: generous: a loaded 2-core machine; the waits end as soon as the condition holds
WAIT_S = 10.0


class Collector(Generic[T]):
    """A callback target that records items and lets the test wait until a condition on them holds."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._cond = threading.Condition()

    def __call__(self, item: T) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[T]], bool], timeout_s: float = WAIT_S) -> list[T]:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.items), timeout_s), f"condition not met: {self.items}"
            return list(self.items)

    def wait_count(self, n: int, timeout_s: float = WAIT_S) -> list[T]:
        return self.wait_for(lambda items: len(items) >= n, timeout_s)


class ManualClock:
    """The unit's clock, advanced by the test (recharge time, train pacing)."""

    def __init__(self, t0: float = 1000.0) -> None:
        self.t = t0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds
