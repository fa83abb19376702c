"""When to poll an NDI camera: track the start of its frames on the host clock.

A BX/TX poll returns the camera's *current* frame (NDI Combined API guide, BX), so a frame the
host does not poll for while it is current is lost for good. The old rule polled "0.7 and then
1.05 periods after the last new frame *arrived*", which puts each poll at a phase that depends
on when the previous reply arrived: a late reply (scheduler, GIL, a busy emulator) shifted the
next poll late too, and the margin before the following frame began shrank to a few
milliseconds. At 60 Hz on a loaded 2-core machine with the app running that lost 3-6 % of frames.

Here every poll bounds the frame's start exactly, whatever the delays: a poll sent at ``s`` that
returns frame ``n`` was evaluated after ``s``, so frame ``n + 1`` starts after ``s``; a reply
received at ``r`` carrying frame ``n`` means frame ``n`` started before ``r``. The estimate is
the prediction from the device clock (last start + frames x period), clamped into those bounds,
so late replies do not move it. It starts at the earliest consistent time and is raised by
repeated frames (a poll that came too early), so it settles just before the true frame start.
The next poll goes ``MARGIN`` of a period after the predicted start, leaving ~0.9 of a period for
the host to be late before a frame is missed (the old rule left 0.3-0.7). Pure arithmetic on
times passed in: testable without clocks.
"""

from __future__ import annotations

__all__ = ["FramePhase", "MARGIN"]

#: Poll this fraction of a period after the predicted frame start (absorbs the estimate's error).
MARGIN = 0.1
_WRAP = 1 << 32


class FramePhase:
    """Estimated host time at which the camera's latest frame began, and the poll schedule."""

    def __init__(self, nominal_period_s: float) -> None:
        if not nominal_period_s > 0:
            raise ValueError("the nominal period must be positive")
        self.nominal_period_s = float(nominal_period_s)
        self.measured_period_s = float(nominal_period_s)   # follows the device's real rate
        self.start_s: float | None = None     # estimated start of frame `number`
        self.number: int | None = None
        self._after_s = float("-inf")         # frame number+1 starts after this time
        self._first_seen_s = 0.0              # host time frame `number` was first received

    @property
    def period_s(self) -> float:
        """The poll period: the nominal one, or shorter if the camera runs faster (a 250 Hz Vega
        configured as 60 Hz must not be polled at 60 Hz)."""
        return min(self.nominal_period_s, self.measured_period_s)

    def next_poll_s(self) -> float | None:
        """When to poll for the frame after ``number`` (None before the first frame)."""
        if self.start_s is None:
            return None
        return self.start_s + (1.0 + MARGIN) * self.period_s

    def repoll_s(self, now_s: float) -> float:
        """After a repeated frame: poll again at the predicted time, or soon (a tenth of a
        period) if that has passed, so a late camera is still polled often enough."""
        due = self.next_poll_s()
        soonest = now_s + MARGIN * self.period_s
        return soonest if due is None else max(soonest, due)

    def repeat(self, sent_s: float) -> None:
        """A poll sent at ``sent_s`` returned frame ``number`` again: the next starts later."""
        self._after_s = max(self._after_s, sent_s)
        if self.start_s is not None:   # frame number+1 starts after sent_s, so number after sent_s - P
            self.start_s = max(self.start_s, sent_s - self.period_s)

    def new_frame(self, number: int | None, sent_s: float, received_s: float) -> None:
        """A poll sent at ``sent_s`` returned a new frame ``number``, its reply received at
        ``received_s``."""
        if number is None:             # no tool reports a frame number: pace by arrival
            self.start_s, self.number = received_s, None
            return
        steps = None if self.number is None else (number - self.number) % _WRAP
        if steps is None or not 0 < steps < 1000:   # first frame, or the counter jumped
            # The earliest start consistent with this poll (frame number+1 starts after sent_s).
            # Erring early costs a repeated poll, which raises the estimate; erring late would
            # never be corrected (polls after the estimate only ever confirm it) and would leave
            # too little margin for good.
            self.start_s = min(sent_s - self.period_s, received_s)
            self.number, self._first_seen_s, self._after_s = number, received_s, sent_s
            return
        period = (received_s - self._first_seen_s) / steps   # arrival spacing: a noisy sample
        if period > 0:
            self.measured_period_s += 0.1 * (period - self.measured_period_s)
        assert self.start_s is not None
        predicted = self.start_s + steps * self.period_s
        lower = self._after_s + (steps - 1) * self.period_s   # frame number+1 started after _after_s
        self.start_s = min(max(predicted, lower), received_s)
        self.number, self._first_seen_s, self._after_s = number, received_s, sent_s
