"""Shared fixtures of the Magstim tests: an emulator on a real pty with a clock the test holds, and
waits on conditions (never on wall time)."""

from __future__ import annotations

import time
from typing import Callable

import pytest

from tmsnav.hardware.simulation.clock import ScenarioClock
from tmsnav.hardware.stimulators.magstim.driver import MagstimDriver
from tmsnav.hardware.stimulators.magstim.emulator import MagstimEmulator

FAST_KEEPALIVE_S = 0.05   # the driver's keep-alive in tests; the unit's clock is the test's anyway


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Wait until ``condition()`` holds (a loaded machine may be slow; nothing asserts speed)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def advance_with_keepalive(clock: ScenarioClock, emulator: MagstimEmulator, seconds: float,
                           step_s: float = 0.25) -> None:
    """Move the unit's clock on by ``seconds`` in ``step_s`` steps, letting at least one
    keep-alive command land after each step (so gaps between commands are <= ``step_s`` of the
    unit's time)."""
    left = seconds
    while left > 1e-9:
        dt = min(step_s, left)
        clock.advance(dt)
        seen = len(emulator.commands())
        wait_for(lambda: len(emulator.commands()) > seen, "a keep-alive command")
        left -= dt


class Bench:
    """Emulators and drivers made by one test, all closed at the end."""

    def __init__(self) -> None:
        self.clock = ScenarioClock()
        self.emulators: list[MagstimEmulator] = []
        self.drivers: list[MagstimDriver] = []

    def emulator(self, model: str = "200", **kw) -> MagstimEmulator:
        em = MagstimEmulator(model, clock=self.clock, **kw)
        self.emulators.append(em)
        return em

    def driver(self, port: str, **kw) -> MagstimDriver:
        kw.setdefault("keepalive_interval_s", FAST_KEEPALIVE_S)
        kw.setdefault("timeout_s", 2.0)      # a loaded machine may be slow to answer
        kw.setdefault("clock", self.clock)   # the unit's power changes are timed on its clock
        drv = MagstimDriver(port, **kw)
        self.drivers.append(drv)
        return drv

    def close(self) -> None:
        for drv in self.drivers:
            drv.close()
        for em in self.emulators:
            em.stop()


@pytest.fixture
def bench():
    b = Bench()
    yield b
    b.close()
