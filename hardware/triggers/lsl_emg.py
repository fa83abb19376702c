"""An EMG stream over Lab Streaming Layer, kept in a ring buffer so MEPs can be cut around pulses.

EMG amplifiers used for motor-evoked potentials (and their vendors' LSL apps) stream a regular
rate of samples. :class:`LslEmgBuffer` keeps the last ``capacity_s`` seconds of ONE channel in
volts, each sample with its LSL time stamp put on ``time.monotonic_ns()`` (see
:mod:`.lsl_streams`), the clock of the pulse events. :meth:`LslEmgBuffer.trace_around` then
returns the samples from ``before_s`` before to ``after_s`` after a pulse, ready for a
peak-to-peak measurement in the post-pulse window (15-50 ms for hand muscles; Rossini et al. 2015,
Clin Neurophysiol 126:1071).

Units: MEP amplitudes are judged against 50 uV, so a micro-volt stream read as volts would be a
10^6 mistake. The unit comes from the stream's own channel description (XDF/LSL meta-data
``desc/channels/channel/unit``); if the stream does not say it the user must (``unit="uV"``),
and a stated unit that contradicts the stream's is refused.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import pylsl
from pylsl.util import LostError

from .common import ProblemCallback, PulseSourceError, SourceProblem
from .lsl_streams import LslClock, StreamChoice, open_inlet, resolve_one

__all__ = ["LslEmgBuffer", "EmgTrace", "volts_per_unit"]

log = logging.getLogger(__name__)

_PULL_SLICE_S = 0.05
_UNITS = {"v": 1.0, "volt": 1.0, "volts": 1.0, "mv": 1e-3, "millivolt": 1e-3, "millivolts": 1e-3,
          "uv": 1e-6, "µv": 1e-6, "μv": 1e-6, "microvolt": 1e-6, "microvolts": 1e-6, "nv": 1e-9,
          "nanovolt": 1e-9, "nanovolts": 1e-9}


def volts_per_unit(unit: str) -> float:
    """How many volts one unit is (``"uV"`` -> 1e-6); ValueError for anything that is not a voltage."""
    key = unit.strip().casefold()
    if key not in _UNITS:
        raise ValueError(f"{unit!r} is not a voltage unit (V, mV, uV or nV)")
    return _UNITS[key]


@dataclass(frozen=True)
class EmgTrace:
    """Samples around one pulse. ``pulse_offset_s``: the pulse's time after the first sample."""

    values_v: np.ndarray          # (n,) volts
    times_ns: np.ndarray          # (n,) time.monotonic_ns of each sample
    sfreq_hz: float               # the stream's nominal rate
    pulse_time_ns: int
    pulse_offset_s: float
    channel: str
    missing_samples: int          # samples the nominal rate says should be there but never came

    @property
    def complete(self) -> bool:
        return self.missing_samples == 0


class LslEmgBuffer:
    """The last ``capacity_s`` seconds of one EMG channel from an LSL stream (a reader thread fills it)."""

    def __init__(self, name: str | None = None, *, stream_type: str | None = None, source_id: str | None = None,
                 channel: int | str = 0, unit: str | None = None, capacity_s: float = 60.0,
                 resolve_timeout_s: float = 3.0, on_problem: ProblemCallback | None = None) -> None:
        self.choice = StreamChoice(name or None, stream_type or None, source_id or None)
        self.choice.predicate()
        if unit is not None:
            volts_per_unit(unit)
        if capacity_s <= 0:
            raise ValueError("the EMG buffer must keep a positive number of seconds")
        self.channel_choice = channel
        self.unit_setting = unit
        self.capacity_s = float(capacity_s)
        self.resolve_timeout_s = float(resolve_timeout_s)
        self.on_problem = on_problem
        self.clock: LslClock | None = None
        self.sfreq_hz = 0.0
        self.channel_label = ""
        self.scale_v = 1.0
        self.error: str | None = None
        self._inlet: pylsl.StreamInlet | None = None
        self._index = 0
        self._times = np.zeros(0, dtype=np.int64)
        self._values = np.zeros(0)
        self._count = 0                       # samples ever written
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream_name = name or ""

    # ----- life cycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Find and open the stream (raises :class:`PulseSourceError` with the reason), then buffer."""
        self.stop()
        info = resolve_one(self.choice, self.resolve_timeout_s)
        self._stream_name = info.name()
        if info.nominal_srate() == pylsl.IRREGULAR_RATE or info.channel_format() == pylsl.cf_string:
            raise PulseSourceError(f"the LSL stream {info.name()!r} (type {info.type()}) is a marker stream, not "
                                   f"EMG samples: choose the amplifier's stream")
        self.clock = LslClock()
        inlet, _ = open_inlet(info, self.resolve_timeout_s, max_buflen_s=max(30, round(self.capacity_s)))
        try:     # the channel description comes with the full header, which only the inlet fetches
            labels, units = _channel_meta(inlet.info(self.resolve_timeout_s))
            self._index, self.channel_label = _pick_channel(self.channel_choice, labels, info.name())
            self.scale_v = _scale(self.unit_setting, units[self._index], info.name(), self.channel_label)
        except Exception:
            inlet.close_stream()
            raise
        self._inlet = inlet
        self.sfreq_hz = float(info.nominal_srate())
        size = int(math.ceil(self.capacity_s * self.sfreq_hz * 1.25)) + 16     # room for a fast clock
        with self._cond:
            self._times = np.zeros(size, dtype=np.int64)
            self._values = np.zeros(size)
            self._count = 0
        self.error = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="emg-lsl", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading; the buffered samples stay readable. Idempotent, never raises."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2.0)
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                inlet.close_stream()
            except Exception as exc:  # noqa: BLE001 - stop() never raises
                log.debug("closing the EMG inlet: %s", exc)
        with self._cond:
            self._cond.notify_all()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ----- reading ------------------------------------------------------------------------------------
    @property
    def latest_time_ns(self) -> int | None:
        with self._cond:
            if self._count == 0:
                return None
            return int(self._times[(self._count - 1) % len(self._times)])

    def trace_around(self, time_ns: int, before_s: float, after_s: float) -> EmgTrace | None:
        """Samples from ``before_s`` before to ``after_s`` after ``time_ns``; None while the samples up to
        ``time_ns + after_s`` have not all arrived; ValueError when the start is older than the buffer."""
        if before_s < 0 or after_s < 0:
            raise ValueError("before_s and after_s must not be negative")
        start = int(time_ns - before_s * 1e9)
        end = int(time_ns + after_s * 1e9)
        with self._cond:
            n = min(self._count, len(self._times))
            if n == 0 or int(self._times[(self._count - 1) % len(self._times)]) < end:
                return None
            order = (np.arange(self._count - n, self._count)) % len(self._times)
            times = self._times[order]
            values = self._values[order]
        if times[0] > start:
            raise ValueError(f"the EMG buffer has no samples from {before_s * 1e3:g} ms before this pulse: they are "
                             f"older than the {self.capacity_s:g} s it keeps, or it started after them")
        keep = (times >= start) & (times <= end)
        times, values = times[keep], values[keep] * self.scale_v
        expected = int(math.floor((end - start) * self.sfreq_hz / 1e9))
        missing = max(0, expected - len(times))
        if len(times) == 0:
            return None
        return EmgTrace(values_v=values, times_ns=times, sfreq_hz=self.sfreq_hz, pulse_time_ns=int(time_ns),
                        pulse_offset_s=(int(time_ns) - int(times[0])) / 1e9, channel=self.channel_label,
                        missing_samples=missing)

    def wait_trace_around(self, time_ns: int, before_s: float, after_s: float, timeout_s: float) -> EmgTrace | None:
        """:meth:`trace_around`, waiting up to ``timeout_s`` for the samples after the pulse to arrive."""
        deadline = time.monotonic() + timeout_s
        while True:
            trace = self.trace_around(time_ns, before_s, after_s)
            left = deadline - time.monotonic()
            if trace is not None or left <= 0 or not self.running:
                return trace
            with self._cond:
                self._cond.wait(min(left, 0.1))

    # ----- the reader thread --------------------------------------------------------------------------
    def _run(self) -> None:
        inlet, clock = self._inlet, self.clock
        assert inlet is not None and clock is not None
        try:
            while not self._stop.is_set():
                samples, stamps = inlet.pull_chunk(timeout=_PULL_SLICE_S)
                if stamps:
                    self._store(np.asarray(samples, dtype=float)[:, self._index], np.asarray(stamps, dtype=float),
                                clock)
        except Exception as exc:  # noqa: BLE001 - a failing stream ends the buffer, said once
            if self._stop.is_set():
                return
            if isinstance(exc, LostError):
                self.error = (f"the EMG stream {self._stream_name!r} went away (the amplifier's program closed or the "
                              f"network dropped): MEPs cannot be read until it is started again")
            else:
                self.error = f"the EMG stream {self._stream_name!r} stopped: {exc}"
            log.warning("%s", self.error)
            if self.on_problem is not None:
                self.on_problem(SourceProblem("emg", self.error, True, time.monotonic_ns()))
        finally:
            with self._cond:
                self._cond.notify_all()

    def _store(self, values: np.ndarray, stamps_s: np.ndarray, clock: LslClock) -> None:
        times = np.round(stamps_s * 1e9).astype(np.int64) + clock.offset_ns
        with self._cond:
            size = len(self._times)
            if len(times) > size:
                times, values = times[-size:], values[-size:]
            slots = (self._count + np.arange(len(times))) % size
            self._times[slots] = times
            self._values[slots] = values
            self._count += len(times)
            self._cond.notify_all()


def _channel_meta(info: pylsl.StreamInfo) -> tuple[list[str], list[str | None]]:
    """Channel labels and units from the stream's description (empty when it gives none)."""
    n = info.channel_count()
    labels = [f"channel {i + 1}" for i in range(n)]
    units: list[str | None] = [None] * n
    channel = info.desc().child("channels").child("channel")
    i = 0
    while not channel.empty() and i < n:
        label = channel.child_value("label")
        unit = channel.child_value("unit")
        if label:
            labels[i] = label
        units[i] = unit or None
        channel = channel.next_sibling()
        i += 1
    return labels, units


def _pick_channel(choice: int | str, labels: list[str], stream: str) -> tuple[int, str]:
    if isinstance(choice, int) or str(choice).isdigit():
        index = int(choice)
        if not 0 <= index < len(labels):
            raise PulseSourceError(f"the EMG stream {stream!r} has {len(labels)} channels; channel {index} "
                                   f"(counted from 0) does not exist")
        return index, labels[index]
    folded = [label.casefold() for label in labels]
    if str(choice).casefold() not in folded:
        raise PulseSourceError(f"the EMG stream {stream!r} has no channel {choice!r}; it has {', '.join(labels)}")
    index = folded.index(str(choice).casefold())
    return index, labels[index]


def _scale(setting: str | None, stream_unit: str | None, stream: str, channel: str) -> float:
    if stream_unit is not None:
        try:
            stream_scale = volts_per_unit(stream_unit)
        except ValueError:
            raise PulseSourceError(f"channel {channel} of the EMG stream {stream!r} is in {stream_unit!r}, not a "
                                   f"voltage: is it the EMG channel?") from None
        if setting is not None and volts_per_unit(setting) != stream_scale:
            raise PulseSourceError(f"the EMG stream {stream!r} says channel {channel} is in {stream_unit}, but the "
                                   f"settings say {setting}: correct the setting (an MEP would be off by "
                                   f"{stream_scale / volts_per_unit(setting):g} times)")
        return stream_scale
    if setting is None:
        raise PulseSourceError(f"the EMG stream {stream!r} does not say the unit of channel {channel}: state it "
                               f"(uV, mV or V) so MEP amplitudes are not off by a factor of 1000 or more")
    return volts_per_unit(setting)
