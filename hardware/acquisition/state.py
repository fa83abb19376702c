"""Bookkeeping for :mod:`tmsnav.hardware.acquisition.core`: counters, staleness limit, frame-number checks.

Frame numbers are judged by :class:`tmsnav.hardware.frame_numbers.FrameNumberCheck` (the rule shared
with the drivers: dropped, duplicate, implausible); :class:`BatchFrameCheck` adds what only a
whole ``read_frames`` batch can show: its tools must carry one device frame number.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from ..errors import TrackerError
from ..frame_numbers import FrameNumberCheck, FrameVerdict
from ..frames import ToolFrame, ToolStatus

__all__ = ["AcquisitionStats", "BatchFrameCheck", "FrameVerdict", "staleness_limit_ns",
           "disconnected_frames", "measured_together", "describe_error", "call_quietly", "measured_rate_hz"]

log = logging.getLogger("tmsnav.hardware.acquisition")


def staleness_limit_ns(rate_hz: float, periods: float = 3.0, max_s: float = 0.1) -> int:
    """Age beyond which a pose is stale: ``periods`` device periods, capped at ``max_s``."""
    return int(min(periods / rate_hz, max_s) * 1e9)


def measured_together(frames: list[ToolFrame], max_frame_gap: int, rate_hz: float) -> bool:
    """True when the frames come from one device frame: frame numbers at most ``max_frame_gap``
    apart, or (devices without frame numbers) receive times within one device period."""
    numbers = [f.frame_number for f in frames if f.frame_number is not None]
    if len(numbers) == len(frames):
        return not numbers or max(numbers) - min(numbers) <= max_frame_gap
    times = [f.host_time_ns for f in frames]
    return max(times) - min(times) <= 1e9 / rate_hz


def disconnected_frames(tools: Iterable[str], now_ns: int) -> list[ToolFrame]:
    """One DISCONNECTED frame (no pose) per tool, stamped ``now_ns``."""
    return [ToolFrame(tool, None, ToolStatus.DISCONNECTED, host_time_ns=now_ns)
            for tool in sorted(tools)]


@dataclass
class AcquisitionStats:
    """Counters since the Acquisition was created (``rate_hz`` is per tool, last second).

    ``frames_received``: device frames read (one per ``read_frames`` batch); ``dropped``: device
    frames never seen (frame-number gaps); ``duplicates``: the same device frame read again;
    ``invalid``: frames rejected (bad frame number, read errors such as CRC failures);
    ``errors``: every error seen; ``reconnects``: connection attempts after the first.
    ``device_model``: the model the driver reports (``Tracker.device_model``) and
    ``link_warning``: why the link cannot carry every frame and what to do
    (``Tracker.link_warning``), both of the current connection, "" when unknown or fine;
    ``link_rate_hz``: the frames per second that link carries (``Tracker.link_rate_hz``, 0: all).
    """

    frames_received: int = 0
    dropped: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: int = 0
    callback_errors: int = 0
    reconnects: int = 0
    last_error: str = ""
    device_model: str = ""
    link_warning: str = ""
    link_rate_hz: float = 0.0
    rate_hz: dict[str, float] = field(default_factory=dict)

    def copy(self, **changes: object) -> "AcquisitionStats":
        changes.setdefault("rate_hz", dict(self.rate_hz))
        return replace(self, **changes)  # type: ignore[arg-type]


class BatchFrameCheck:
    """The frame-number verdict on one ``read_frames`` batch (all tools of one device frame)."""

    def __init__(self) -> None:
        self.numbers = FrameNumberCheck()

    def check(self, frames: list[ToolFrame], now_ns: int, rate_hz: float) -> FrameVerdict:
        numbers = {f.frame_number for f in frames if f.frame_number is not None}
        if not numbers:
            return FrameVerdict()
        if max(numbers) - min(numbers) > 1:
            return FrameVerdict(invalid_reason=f"tools of one reply carry frame numbers "
                                               f"{min(numbers)}..{max(numbers)}")
        return self.numbers.check(max(numbers), now_ns, rate_hz)


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, TrackerError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def call_quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - closing a vanished port must not raise
        log.debug("ignored while closing: %s", describe_error(exc))


def measured_rate_hz(hist: deque[ToolFrame], now_ns: int, window_s: float = 1.0) -> float:
    """Frames per second of one tool over the last ``window_s`` (0 if fewer than 2 frames)."""
    cutoff = now_ns - int(window_s * 1e9)
    newest = oldest = None
    count = 0
    for f in reversed(hist):
        if f.host_time_ns < cutoff:
            break
        if f.status is ToolStatus.DISCONNECTED:
            continue
        newest = f.host_time_ns if newest is None else newest
        oldest = f.host_time_ns
        count += 1
    if count < 2 or newest is None or oldest is None or newest <= oldest:
        return 0.0
    return (count - 1) / ((newest - oldest) / 1e9)
