"""A shorter GIL switch interval for as long as a fast tracker is acquired, and no longer.

Why: the GUI thread's Python work holds the GIL for up to the interpreter's switch interval
(5 ms by default) at a time, and a polling driver needs several GIL hand-overs per device frame,
so at 250 Hz half the frames can be skipped (measured in benchmarks/tracking.py, see
docs/hardware-core.md). A 0.5 ms interval fixes that at a small cost in switching overhead.
``sys.setswitchinterval`` is process-wide, so the previous value is restored when tracking stops:
other work in the process (image loading, e-field maps) does not keep paying for it.
"""

from __future__ import annotations

import sys
import threading

__all__ = ["FastSwitchInterval", "FAST_SWITCH_INTERVAL_S"]

#: Interval used while a tracker faster than 100 Hz is acquired (seconds).
FAST_SWITCH_INTERVAL_S = 0.0005


class FastSwitchInterval:
    """Shortens ``sys.setswitchinterval`` for one tracking run and restores it afterwards.

    ``arm()`` (GUI thread, when a run starts) returns a token; ``shorten(token)`` (acquisition
    thread, once the driver says it is fast) applies the short interval only if that run is
    still current; ``restore()`` (when tracking stops) puts the previous value back and voids
    the token, so a driver that finishes connecting after the stop cannot shorten it again.
    """

    def __init__(self, interval_s: float = FAST_SWITCH_INTERVAL_S) -> None:
        self.interval_s = float(interval_s)
        self._lock = threading.Lock()
        self._token = 0
        self._saved: float | None = None

    @property
    def active(self) -> bool:
        """True while the short interval is in force (set by this object)."""
        with self._lock:
            return self._saved is not None

    def arm(self) -> int:
        """A token for a new run (voids every earlier one)."""
        with self._lock:
            self._token += 1
            return self._token

    def shorten(self, token: int) -> bool:
        """Apply the short interval for the run of ``token``; False if that run has ended."""
        with self._lock:
            if token != self._token:
                return False
            if self._saved is None:
                self._saved = sys.getswitchinterval()
            sys.setswitchinterval(self.interval_s)
            return True

    def restore(self) -> None:
        """Put the interval back as it was before ``shorten`` (no-op if never shortened)."""
        with self._lock:
            self._token += 1
            saved, self._saved = self._saved, None
            if saved is not None:
                sys.setswitchinterval(saved)
