"""The keep-alive that stops a Magstim leaving remote control or disarming itself.

Magstim's host-interface bulletin: under remote control the unit must receive a command that
returns its status at least every 10 s in standby and every 1 s while armed, or it drops out of
remote control and disarms; the manufacturer recommends one every 500 ms. :class:`KeepAlive`
calls ``poll`` (the driver's status read) on its own thread at that interval.

Why a separate, small class: the rule is about *time between commands*, so it must run whatever
the GUI thread is doing, and the driver's other commands (set power, fire) share the line through
the driver's lock. A poll that finds the link gone stops the keep-alive and reports once through
``on_failure`` (the driver then marks the link lost and tries to disarm); other errors (one garbled
reply) are counted and the keep-alive carries on.
"""

from __future__ import annotations

import threading
from typing import Callable

from ..base import StimulatorError, StimulatorLinkLost

__all__ = ["KeepAlive", "KEEPALIVE_INTERVAL_S"]

KEEPALIVE_INTERVAL_S = 0.5


class KeepAlive:
    """Calls ``poll()`` every ``interval_s`` on a daemon thread until stopped or the link is lost.

    Thread-safe: ``start``/``stop`` may be called from any thread, ``stop`` also from inside
    ``poll`` or ``on_failure``; both are idempotent."""

    def __init__(self, poll: Callable[[], object], *, interval_s: float = KEEPALIVE_INTERVAL_S,
                 on_failure: Callable[[StimulatorLinkLost], None] | None = None,
                 name: str = "magstim-keepalive") -> None:
        if not 0.0 < interval_s <= 1.0:
            raise ValueError(f"a Magstim keep-alive interval must be in (0, 1] s (the unit "
                             f"disarms after 1 s armed without a command); got {interval_s}")
        self._poll = poll
        self.interval_s = float(interval_s)
        self._on_failure = on_failure
        self._name = name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0
        self.errors = 0
        self.last_error: StimulatorError | None = None

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name=self._name,
                                            daemon=True)
            self._thread.start()

    def stop(self, wait: bool = True) -> None:
        """Stop polling; ``wait=False`` when the caller holds a lock the poll may be waiting for."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval_s):
            try:
                self._poll()
                self.polls += 1
            except StimulatorLinkLost as exc:
                self.last_error = exc
                stop.set()
                if self._on_failure is not None:
                    self._on_failure(exc)
                return
            except StimulatorError as exc:   # a garbled reply: the next poll tries again
                self.errors += 1
                self.last_error = exc
