"""A footswitch or keyboard key as a pulse source: pure logic fed with key events by the app.

USB footswitches enumerate as keyboards and send one configurable key (``F8``, ``B``,
``PageDown``...). The app forwards every key press and release to :meth:`KeySource.key_event`
from an application-wide event filter, so the key works whichever widget has the focus (but not
while another program has it). That filter lives in ``app/treatment`` (Qt stays in ``app/``): on
every key press or release it calls ``key_event(<the key's name as QKeySequence writes it>,
pressed=..., auto_repeat=...)`` and lets the key go on to do what it did.

What is suppressed (and why): the keyboard's auto-repeat while the switch is held, and a second
press without a release in between (an application-wide filter sees one key event once per widget
it propagates to) are "key held" repeats; a press sooner than ``min_interval_s`` after the last
accepted one (a switch that bounces, a double tap) is "too soon" and said once. Other keys are not
the pulse key and are ignored without a word.

Timing: the pulse time is ``time.monotonic_ns()`` when the app forwards the event, i.e. after the
GUI thread's event-loop delay (up to tens of ms while it draws). Good enough to log a manually
fired pulse, not for pulse-locked EMG; use a TTL source for that.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from ..stimulators.base import PulseCallback, PulseEvent, PulseSource
from .common import ProblemCallback, SourceProblem, SourceStats

__all__ = ["KeySource", "normalise_key"]

log = logging.getLogger(__name__)

_ALIASES = {"pgdown": "pagedown", "pgdn": "pagedown", "pgup": "pageup", "return": "enter", "esc": "escape",
            "del": "delete", "ins": "insert", "spacebar": "space", " ": "space"}


def normalise_key(name: str) -> str:
    """A key name compared without case, blanks or Qt/X11 spelling differences (``PgDown`` = ``Page Down``)."""
    if name == " ":
        return "space"
    key = "".join(name.split()).casefold()
    return _ALIASES.get(key, key)


class KeySource(PulseSource):
    """Pulses from presses of ``key``; events come from the app's thread through :meth:`key_event`."""

    def __init__(self, key: str = "F8", *, min_interval_s: float = 0.2, on_problem: ProblemCallback | None = None,
                 clock: Callable[[], int] = time.monotonic_ns) -> None:
        if not normalise_key(key):
            raise ValueError("the pulse key needs a name, e.g. F8, B or PageDown")
        if min_interval_s < 0:
            raise ValueError("the minimum interval must not be negative")
        self.key = key
        self.min_interval_s = float(min_interval_s)
        self.name = "key"
        self.stats = SourceStats()
        self._wanted = normalise_key(key)
        self._on_problem = on_problem
        self._clock = clock
        self._callback: PulseCallback | None = None
        self._held = False
        self._last_ns: int | None = None
        self._sequence = 0
        self._said_too_soon = False
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"key {self.key} (presses at least {self.min_interval_s * 1e3:g} ms apart)"

    def start(self, callback: PulseCallback) -> None:
        """Start taking presses. Never raises: nothing to open."""
        with self._lock:
            self._callback = callback
            self.stats = SourceStats()
            self._held = False
            self._last_ns = None
            self._sequence = 0
            self._said_too_soon = False

    def stop(self) -> None:
        """Stop taking presses. Idempotent, never raises."""
        with self._lock:
            self._callback = None
            self._held = False

    @property
    def running(self) -> bool:
        return self._callback is not None

    def set_problem_callback(self, callback: ProblemCallback | None) -> None:
        self._on_problem = callback

    def key_event(self, key: str, *, pressed: bool = True, auto_repeat: bool = False,
                  time_ns: int | None = None) -> PulseEvent | None:
        """One key press or release as the app saw it; returns the pulse it made, if any.

        The callback runs on the caller's thread before this returns."""
        if normalise_key(key) != self._wanted:
            return None
        now = self._clock() if time_ns is None else int(time_ns)
        too_soon_ms: float | None = None
        with self._lock:
            callback = self._callback
            if callback is None:
                return None
            if not pressed:
                if not auto_repeat:
                    self._held = False
                return None
            if auto_repeat or self._held:
                self.stats.ignored["key held"] = self.stats.ignored.get("key held", 0) + 1
                return None
            self._held = True
            if self._last_ns is not None and now - self._last_ns < self.min_interval_s * 1e9:
                self.stats.ignored["too soon"] = self.stats.ignored.get("too soon", 0) + 1
                if not self._said_too_soon:
                    self._said_too_soon = True
                    too_soon_ms = (now - self._last_ns) / 1e6
                event = None
            else:
                self._last_ns = now
                self._sequence += 1
                self.stats.pulses += 1
                event = PulseEvent(host_time_ns=now, source=self.name, sequence=self._sequence,
                                   detail={"key": self.key})
        if too_soon_ms is not None and self._on_problem is not None:
            self._on_problem(SourceProblem(
                self.name, f"a press of {self.key} {too_soon_ms:.0f} ms after the last pulse was ignored (presses "
                           f"closer than {self.min_interval_s * 1e3:g} ms are taken as a bouncing switch or a "
                           f"double tap)", False, now))
        if event is not None:
            try:
                callback(event)
            except Exception as exc:  # noqa: BLE001 - the key filter runs in the GUI's event loop
                log.exception("handing key pulse %d over", event.sequence)
                self.stats.ignored["not delivered"] = self.stats.ignored.get("not delivered", 0) + 1
                if self._on_problem is not None:
                    self._on_problem(SourceProblem(self.name, f"pulse {event.sequence} from the key could not be "
                                                              f"logged: {exc}", False, now))
        return event
