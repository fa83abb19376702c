"""Finding one Lab Streaming Layer stream and putting its time stamps on tmsnav's clock.

LSL (Kothe et al., "The Lab Streaming Layer for synchronized multimodal recording", 2024;
https://labstreaminglayer.readthedocs.io) stamps every sample with ``local_clock()`` of the
computer that pushed it. tmsnav's clock is ``time.monotonic_ns()``. Two steps bring a stamp over:

1. another computer's clock -> this computer's LSL clock: LSL's own clock synchronisation
   (``proc_clocksync``: the inlet adds its running offset estimate). A stream pushed on THIS
   computer already uses this clock, so no correction is applied (the estimate would only add
   its noise);
2. this computer's LSL clock -> ``time.monotonic_ns()``: :class:`LslClock` reads both clocks
   back to back and keeps the narrowest of several readings. On Linux both are CLOCK_MONOTONIC,
   so the offset comes out as ~0, with ``uncertainty_ns`` of a few microseconds.

The pylsl wheel ships liblsl, so nothing else needs installing.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

import pylsl

from .common import PulseSourceError

__all__ = ["LslClock", "StreamChoice", "resolve_one", "open_inlet"]


class LslClock:
    """``monotonic_ns = lsl_seconds * 1e9 + offset_ns`` (measured once, at construction)."""

    def __init__(self, readings: int = 25) -> None:
        best: tuple[int, int] | None = None
        for _ in range(max(1, readings)):
            before = time.monotonic_ns()
            lsl_ns = round(pylsl.local_clock() * 1e9)
            after = time.monotonic_ns()
            width = after - before
            if best is None or width < best[0]:
                best = (width, (before + after) // 2 - lsl_ns)
        assert best is not None
        self.uncertainty_ns = best[0] // 2 + 1
        self.offset_ns = best[1]

    def to_monotonic_ns(self, lsl_seconds: float) -> int:
        return round(lsl_seconds * 1e9) + self.offset_ns


@dataclass(frozen=True)
class StreamChoice:
    """Which stream: by ``name``, ``type`` and/or ``source_id`` (at least one)."""

    name: str | None = None
    stream_type: str | None = None
    source_id: str | None = None

    def __post_init__(self) -> None:
        if not (self.name or self.stream_type or self.source_id):
            raise ValueError("an LSL stream is chosen by its name, type or source id; none was given")

    def describe(self) -> str:
        parts = [f"named {self.name!r}" if self.name else "",
                 f"of type {self.stream_type!r}" if self.stream_type else "",
                 f"with source id {self.source_id!r}" if self.source_id else ""]
        return "LSL stream " + " ".join(p for p in parts if p)

    def predicate(self) -> str:
        """An XPath 1.0 predicate for ``pylsl.resolve_bypred``."""
        def quote(text: str) -> str:
            if "'" in text:
                raise ValueError(f"an LSL stream name/type/source id cannot contain a quote: {text!r}")
            return f"'{text}'"
        terms = [f"name={quote(self.name)}" if self.name else "",
                 f"type={quote(self.stream_type)}" if self.stream_type else "",
                 f"source_id={quote(self.source_id)}" if self.source_id else ""]
        return " and ".join(t for t in terms if t)


def resolve_one(choice: StreamChoice, timeout_s: float, *, duplicates_s: float = 0.5) -> pylsl.StreamInfo:
    """The one stream matching ``choice``; :class:`PulseSourceError` when none or several match.

    Returns as soon as one stream answers, after listening ``duplicates_s`` more for a second one
    (two computers running the same stimulus program send two streams of the same name)."""
    found = list(pylsl.resolve_bypred(choice.predicate(), 1, timeout_s))
    if found:
        found += pylsl.resolve_bypred(choice.predicate(), 2, duplicates_s)
    unique = {info.uid(): info for info in found}
    if not unique:
        raise PulseSourceError(f"no {choice.describe()} found on the network within {timeout_s:g} s: is the "
                               f"program that sends it running, and on the same network?")
    if len(unique) > 1:
        where = ", ".join(sorted(f"{i.name()} (type {i.type()}, source id {i.source_id() or 'none'}, on {i.hostname()})"
                                 for i in unique.values()))
        raise PulseSourceError(f"{len(unique)} streams match the {choice.describe()}: {where}. Give the source id "
                               f"(?source_id=...) so the right one is used.")
    return next(iter(unique.values()))


def open_inlet(info: pylsl.StreamInfo, timeout_s: float, *, max_buflen_s: int = 30) -> tuple[pylsl.StreamInlet, bool]:
    """An inlet that raises ``pylsl.LostError`` when the stream goes away (never silently waits
    for it) and corrects other computers' clocks; returns it and whether clock sync is applied."""
    remote = info.hostname() != socket.gethostname()
    flags = pylsl.proc_clocksync if remote else pylsl.proc_none
    inlet = pylsl.StreamInlet(info, max_buflen=max_buflen_s, recover=False, processing_flags=flags)
    try:
        inlet.open_stream(timeout_s)
    except Exception as exc:  # noqa: BLE001 - pylsl raises TimeoutError or LostError; both mean "not reachable"
        raise PulseSourceError(f"found the LSL stream {info.name()!r} on {info.hostname()} but could not open it "
                               f"within {timeout_s:g} s: {exc}") from None
    return inlet, remote
