"""Lab Streaming Layer markers as pulses: stimulus software that pushes a marker per TMS pulse.

Programs that drive the stimulator (PsychoPy, MATLAB toolboxes, the MagVenture/Magstim bridges
some labs use) often announce each pulse as an LSL marker. :class:`LslMarkerSource` opens the
marker stream chosen by name/type (``lsl:TMS-markers?match=pulse``), and every marker - or only
those whose text equals ``match`` - becomes a :class:`~tmsnav.hardware.stimulators.base.PulseEvent`.

Time of a pulse: the marker's LSL time stamp (the sender's stamp, which may be earlier than the
push when the sender stamps the trigger itself), put on ``time.monotonic_ns()`` as
:mod:`.lsl_streams` explains - never the time the marker happened to arrive. ``detail`` keeps
the marker text and its arrival time, so the delay of the sender is visible.

Refused with their reason: no or several matching streams, a regular-rate stream (an EMG or EEG
stream chosen by mistake carries samples, not pulses); a stream that goes away (the sending
program closed) is a fatal problem. Markers with other text are counted, the first one said.
"""

from __future__ import annotations

import time

import pylsl
from pylsl.util import LostError

from .common import ProblemCallback, PulseSourceError, ThreadedSource
from .lsl_streams import LslClock, StreamChoice, open_inlet, resolve_one

__all__ = ["LslMarkerSource"]

_PULL_SLICE_S = 0.05


class LslMarkerSource(ThreadedSource):
    """Pulses from an LSL marker stream; ``match`` (exact text of the marker's first channel) filters."""

    def __init__(self, name: str | None = None, *, stream_type: str | None = None, source_id: str | None = None,
                 match: str | None = None, resolve_timeout_s: float = 3.0,
                 on_problem: ProblemCallback | None = None) -> None:
        super().__init__(on_problem=on_problem)
        self.choice = StreamChoice(name or None, stream_type or None, source_id or None)
        self.choice.predicate()                      # refuses quotes now, not at start
        self.match = match
        self.resolve_timeout_s = float(resolve_timeout_s)
        self.name = "lsl"
        self.clock: LslClock | None = None
        self.clock_sync = False
        self._inlet: pylsl.StreamInlet | None = None
        self._stream_name = name or ""

    def describe(self) -> str:
        which = f", markers {self.match!r} only" if self.match is not None else ""
        return f"{self.choice.describe()}{which}"

    def _open(self) -> None:
        info = resolve_one(self.choice, self.resolve_timeout_s)
        if info.nominal_srate() != pylsl.IRREGULAR_RATE:
            raise PulseSourceError(
                f"the LSL stream {info.name()!r} (type {info.type()}) is a regular {info.nominal_srate():g} Hz stream "
                f"of samples, not a marker stream: choose the stream that sends one marker per pulse")
        self._stream_name = info.name()
        self.clock = LslClock()
        self._inlet, self.clock_sync = open_inlet(info, self.resolve_timeout_s)

    def _close(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            inlet.close_stream()

    def _run(self) -> None:
        inlet, clock = self._inlet, self.clock
        assert inlet is not None and clock is not None, "_open() runs before the reader starts"
        while not self._stop_event.is_set():
            sample, stamp = inlet.pull_sample(timeout=_PULL_SLICE_S)
            if sample is None or stamp is None:
                continue
            arrived_ns = time.monotonic_ns()
            text = str(sample[0]).strip() if len(sample) else ""
            if self.match is not None and text != self.match:
                self._ignore("other marker", f"LSL marker {text!r} on {self._stream_name!r} is not {self.match!r}: "
                                             f"not counted as a pulse")
                continue
            self._emit(clock.to_monotonic_ns(stamp), {"marker": text, "arrived_ns": arrived_ns})

    def _failure_message(self, exc: Exception) -> str:
        if isinstance(exc, LostError):
            return (f"the LSL stream {self._stream_name!r} went away (the program sending it closed or the network "
                    f"dropped): pulses are no longer seen; start the source again when it is back")
        return f"the LSL marker stream {self._stream_name!r} stopped: {exc}"
