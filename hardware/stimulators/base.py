"""What every stimulator driver and pulse source gives the rest of tmsnav.

A driver owns one serial link and is not thread-safe: the app runs it on its own thread (like
the tracker acquisition thread) and talks to it through these types only. Times are
``time.monotonic_ns()`` taken when the bytes (or the line edge) were seen, the same clock as
:class:`tmsnav.hardware.frames.ToolFrame.host_time_ns`, so a pulse can be paired with the coil
pose that was live at that instant.

Safety rules every driver keeps (the manufacturers' alternate-controller rules, restated in
docs/treatment.md): it never arms or fires on its own; every parameter it sets is read back and
compared (:class:`ReadbackMismatch` when it differs); a lost link or a fault is reported at once
(:class:`StimulatorLinkLost`, ``StimulatorStatus.fault``) and the driver tries to disarm where
the device can be told.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["PulseEvent", "StimulatorStatus", "Stimulator", "PulseSource", "PulseCallback",
           "StimulatorError", "StimulatorLinkLost", "ReadbackMismatch", "StimulatorRefused"]


class StimulatorError(Exception):
    """Base of every stimulator problem. ``str(err)`` is meant for the user."""


class StimulatorLinkLost(StimulatorError):
    """The unit stopped answering or the cable/port went away."""


class ReadbackMismatch(StimulatorError):
    """A parameter read back after setting it differs from what was set."""


class StimulatorRefused(StimulatorError):
    """The unit answered that the command is not allowed now (e.g. arming above 40 degC)."""


@dataclass(frozen=True)
class PulseEvent:
    """One delivered pulse as a source reported it.

    ``output_pct_mso`` and ``didt_a_per_us`` are what the DEVICE reported for this pulse (None when
    the source cannot know, e.g. a TTL edge): never the value the host last asked for."""

    host_time_ns: int
    source: str                              # "magventure", "magstim", "ttl-serial", "modem:CTS", "key", "lsl"
    sequence: int                            # per-source counter from 1
    output_pct_mso: float | None = None
    didt_a_per_us: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StimulatorStatus:
    """The unit's state as last read (``host_time_ns`` says when: the GUI greys it when old)."""

    host_time_ns: int
    model: str
    connected: bool
    remote_control: bool
    armed: bool
    ready: bool
    power_a_pct: int | None
    power_b_pct: int | None = None
    coil_temperature_c: float | None = None
    coil_present: bool | None = None
    fault: str | None = None                 # None, or the unit's fault in words

    @classmethod
    def disconnected(cls, model: str, fault: str | None = None) -> "StimulatorStatus":
        return cls(time.monotonic_ns(), model, False, False, False, False, None, fault=fault)


PulseCallback = Callable[[PulseEvent], None]


class Stimulator(ABC):
    """Abstract stimulator driver (Magstim, MagVenture, simulated)."""

    kind: str = "stimulator"

    @abstractmethod
    def connect(self) -> StimulatorStatus:
        """Open the link, take remote control, read the status. Raises StimulatorError."""

    @abstractmethod
    def status(self) -> StimulatorStatus:
        """Read the status now (also what keeps a Magstim in remote control)."""

    @abstractmethod
    def set_power(self, percent: int) -> StimulatorStatus:
        """Set output A (0-100 % MSO), read it back; ReadbackMismatch when it differs."""

    @abstractmethod
    def arm(self) -> StimulatorStatus:
        """Arm/enable. Only ever called from an explicit user action."""

    @abstractmethod
    def disarm(self) -> StimulatorStatus:
        """Disarm/disable. Safe to call in any state; never raises because the link is gone."""

    @abstractmethod
    def fire(self) -> None:
        """Fire one pulse. Only ever called from an explicit user action."""

    @abstractmethod
    def close(self) -> None:
        """Disarm where possible, release remote control, close the port. Idempotent, never raises."""

    def set_pulse_callback(self, callback: PulseCallback | None) -> None:
        """Where delivered pulses the device reports are sent (from the driver's thread)."""
        self._pulse_callback = callback

    def _emit_pulse(self, event: PulseEvent) -> None:
        cb = getattr(self, "_pulse_callback", None)
        if cb is not None:
            cb(event)


class PulseSource(ABC):
    """Anything that says "a pulse happened now": a trigger adapter, a modem line, LSL, a key."""

    name: str = "pulse source"

    @abstractmethod
    def start(self, callback: PulseCallback) -> None:
        """Start delivering :class:`PulseEvent` to ``callback`` (from the source's own thread)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and release the device. Idempotent, never raises."""
