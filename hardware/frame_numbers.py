"""Device frame numbers: the one plausibility rule for every tracker and for acquisition.

A tracker stamps each measurement with a frame counter (NDI: a uint32 at the camera's
illuminator rate, the same for every tool of one camera frame; Polhemus Liberty/Patriot: the
frame count of output item 9). The counter tells dropped frames from a slow host: a step of
``n > 1`` means ``n - 1`` frames were never read; a step of 0 is the same frame polled again
(normal when polling faster than the device, and the signature of a frozen stream).

A step backwards, or forwards further than the host time elapsed since the last accepted frame
can explain (:func:`allowed_step`), is implausible: a parsing glitch such as PlusLib issue #244
(16767 -> 4294967170). Such a frame is rejected; only after three consistent frames in the new
numbering is it adopted as a restarted counter. Unsigned 32-bit wrap-around (4294967295 -> 0)
is a normal step of 1.

The NDI driver, the Polhemus driver and :class:`tmsnav.hardware.acquisition.core.Acquisition` all judge
frame numbers with :class:`FrameNumberCheck`; only the rate they pass differs (see there).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FrameNumberCheck", "FrameVerdict", "allowed_step", "frame_step", "WRAP"]

#: Device frame counters are unsigned 32-bit.
WRAP = 1 << 32
#: Consistent implausible frames needed before a new numbering is believed (a restarted counter).
RESTART_CONFIRMATIONS = 3


def frame_step(number: int, previous: int) -> int:
    """Forward distance from ``previous`` to ``number`` on a uint32 counter (wrap-around aware;
    a step backwards comes out as a huge forward step)."""
    return (number - previous) % WRAP


def allowed_step(elapsed_ns: int, rate_hz: float) -> float:
    """Largest forward step ``elapsed_ns`` of host time explains for a counter at ``rate_hz``.

    Twice the expected count (host receive stamps jitter by up to a poll period, and a device
    may count somewhat faster than its nominal rate) plus a quarter of a second of frames plus
    two (a host that stamps one reply late and the next one early). A parsing glitch or a
    backwards step is off by millions, so the margin costs nothing in detection.
    """
    return 2.0 * rate_hz * max(elapsed_ns, 0) / 1e9 + 0.25 * rate_hz + 2.0


@dataclass(frozen=True)
class FrameVerdict:
    """What one frame number means: frames ``dropped`` before it, a ``duplicate`` of the last
    one, or an ``invalid_reason`` (reject the frame); all default = a normal next frame."""

    dropped: int = 0
    duplicate: bool = False
    invalid_reason: str | None = None


class FrameNumberCheck:
    """Judges each device frame number against the last accepted one (see the module doc).

    ``rate_hz`` in :meth:`check` is the fastest rate the device's counter may run at: the
    connected device's nominal rate for acquisition and Polhemus; for NDI a fixed 500 Hz,
    because the configured rate can be wrong (a 250 Hz Vega XT configured as 60 Hz).
    """

    def __init__(self, confirmations: int = RESTART_CONFIRMATIONS) -> None:
        self.confirmations = confirmations
        self.last: int | None = None
        self._last_ns = 0
        self._candidate: int | None = None
        self._candidate_ns = 0
        self._count = 0

    def is_repeat(self, number: int) -> bool:
        """The same device frame as the last accepted (or the last rejected) one."""
        return number == self.last or number == self._candidate

    def check(self, number: int, now_ns: int, rate_hz: float) -> FrameVerdict:
        """The verdict on ``number`` received at host time ``now_ns``; updates the state."""
        if self.last is None:
            self.last, self._last_ns = number, now_ns
            return FrameVerdict()
        step = frame_step(number, self.last)
        if step == 0:
            return FrameVerdict(duplicate=True)
        if step <= allowed_step(now_ns - self._last_ns, rate_hz):
            self.last, self._last_ns, self._candidate = number, now_ns, None
            return FrameVerdict(dropped=step - 1)
        # Implausible: maybe a restarted counter; adopt it only once it proves consistent.
        if self._candidate is not None and 0 < frame_step(number, self._candidate) <= \
                allowed_step(now_ns - self._candidate_ns, rate_hz):
            self._count += 1
        else:
            self._count = 1
        self._candidate, self._candidate_ns = number, now_ns
        if self._count >= self.confirmations:
            self.last, self._last_ns, self._candidate = number, now_ns, None
            return FrameVerdict()
        return FrameVerdict(invalid_reason=f"implausible frame number {number} after "
                                           f"{self.last}; frame rejected")
