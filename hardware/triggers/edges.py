"""Edges of a polled digital line, with a debounce lock-out and, where the driver counts them, the
transitions that happened between two reads.

Why counted transitions: a line read every millisecond misses a trigger pulse narrower than that
(both of its edges fall between two reads, so both reads see the same level). The Linux serial
core counts every modem-status change in the UART interrupt (``TIOCGICOUNT``; see
:mod:`.modem_counts`), so a poll that sees "2 changes, same level" still knows a pulse went by.
Without a counter only the level is compared and such a pulse is lost (docs/treatment.md says so).

Bounces: after an accepted change the line is locked for ``debounce_ns``. Changes inside the lock
are counted when it ends: all of them are bounces, except one if the line ended the lock at the
other level - that one is the pulse's other edge (a pulse narrower than the debounce), taken late
but never lost and never called a bounce.
"""

from __future__ import annotations

__all__ = ["EdgeDetector", "EDGES"]

EDGES = ("rising", "falling", "both")


class EdgeDetector:
    """Turns readings ``(level, t_ns[, transitions since the last read])`` into accepted edges.

    The first reading only sets the level (a line already high at start is no pulse). At most one
    pulse is reported per reading: extra transitions beyond one pulse's two edges within a single
    poll period are bounces (no TMS pulse train is that fast at a 1 kHz poll)."""

    def __init__(self, edge: str = "rising", debounce_ns: int = 2_000_000) -> None:
        if edge not in EDGES:
            raise ValueError(f"edge must be one of {', '.join(EDGES)}, got {edge!r}")
        if debounce_ns < 0:
            raise ValueError("debounce must not be negative")
        self.edge = edge
        self.debounce_ns = int(debounce_ns)
        self.level: bool | None = None      # the accepted level
        self.bounces = 0
        self._raw: bool | None = None       # the level of the last reading
        self._locked_until_ns: int | None = None
        self._lock_changes = 0

    def feed(self, level: bool, t_ns: int, transitions: int | None = None) -> bool:
        """One reading; True when it holds an accepted edge of the wanted direction.

        ``transitions``: changes the driver counted since the previous reading (None: no counter,
        the level alone decides). A count whose parity contradicts the levels gets one more."""
        level = bool(level)
        previous, self._raw = self._raw, level
        if self.level is None or previous is None:
            self.level = level
            return False
        flipped = level != previous
        changes = int(flipped) if transitions is None else max(0, int(transitions))
        if (changes % 2 == 1) != flipped:
            changes += 1
        if self._locked_until_ns is not None:
            if t_ns < self._locked_until_ns:
                self._lock_changes += changes
                return False
            late = previous != self.level          # the lock ended away from the accepted level
            self.bounces += self._lock_changes - int(late)
            self._lock_changes = 0
            self._locked_until_ns = None
            changes += int(late)                   # counted from the accepted level
        if changes == 0:
            return False
        first_rising = not self.level
        first_wanted = self.edge == "both" or (self.edge == "rising") == first_rising
        self.bounces += max(0, changes - (2 if first_wanted else 3))
        self.level = level
        self._locked_until_ns = t_ns + self.debounce_ns
        return first_wanted or changes >= 2
