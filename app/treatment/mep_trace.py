"""MEPs from an EMG stream over Lab Streaming Layer: the trace around each pulse, its peak-to-peak
amplitude in the post-pulse window, and a plot of the trace with the window marked.

Why the trace is shown: a number alone hides what the clinician must see - a stimulus artefact
running into the window, a muscle that was not at rest, a noisy electrode. The plot marks the
pulse (t = 0), the measuring window (15-50 ms by default, Rossini et al. 2015, Clin Neurophysiol
126:1071) and the pre-pulse stretch used for the relaxation check.

:class:`EmgMepReader` owns one :class:`~tmsnav.hardware.triggers.lsl_emg.LslEmgBuffer` (its reader
thread buffers the samples). A pulse is queued with its ``time.monotonic_ns()``; a 20 ms GUI timer
asks the buffer for the trace once the samples up to the window's end have arrived (never a
blocking wait on the GUI thread), measures it with
:func:`tmsnav.navigation.treatment.mep.measure_mep` and emits :attr:`EmgMepReader.measured`. A
pulse whose samples never come (stream stalled) is dropped after ``timeout_s`` with a message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.hardware.triggers.common import PulseSourceError
from tmsnav.hardware.triggers.lsl_emg import EmgTrace, LslEmgBuffer
from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.treatment.mep import DEFAULT_BASELINE_S, DEFAULT_WINDOW_S, MepMeasurement, measure_mep

__all__ = ["MepTracePlot", "EmgMepReader", "EmgMep", "BEFORE_S", "AFTER_S"]

BEFORE_S = 0.110          # covers the -100..-5 ms relaxation check
AFTER_S = 0.060           # covers the 15-50 ms window


@dataclass(frozen=True)
class EmgMep:
    """One pulse's EMG: the trace, its measurement and the pulse's output (None if unknown)."""

    trace: EmgTrace
    measurement: MepMeasurement
    output_pct: float | None


class MepTracePlot(QtWidgets.QWidget):
    """The last EMG trace (µV against ms from the pulse), window shaded, amplitude written."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mep_trace")
        self.setMinimumHeight(110)
        self.t_ms = np.zeros(0)
        self.uv = np.zeros(0)
        self.window_ms = (DEFAULT_WINDOW_S[0] * 1e3, DEFAULT_WINDOW_S[1] * 1e3)
        self.caption = "no EMG trace yet"

    def set_trace(self, values_v: np.ndarray, sfreq_hz: float, pulse_offset_s: float,
                  window_s: tuple[float, float], caption: str) -> None:
        v = np.asarray(values_v, float)
        self.t_ms = (np.arange(v.size) / float(sfreq_hz) - float(pulse_offset_s)) * 1e3
        self.uv = v * 1e6
        self.window_ms = (window_s[0] * 1e3, window_s[1] * 1e3)
        self.caption = caption
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), QtGui.QColor("#fafafa"))
        left, right, top, bottom = 8, 8, 18, 18
        w, h = self.width() - left - right, self.height() - top - bottom
        p.setPen(QtGui.QColor("#333"))
        p.drawText(left, 13, self.caption)
        if self.t_ms.size < 2 or w < 10 or h < 10:
            return
        t0, t1 = float(self.t_ms[0]), float(self.t_ms[-1])
        inside = (self.t_ms >= self.window_ms[0] - 5) | (self.t_ms < -5)    # scale away from the artefact
        lo, hi = float(np.min(self.uv[inside])), float(np.max(self.uv[inside]))
        pad = max(0.1 * (hi - lo), 5.0)
        lo, hi = lo - pad, hi + pad

        def x(t: float) -> float:
            return left + (t - t0) / (t1 - t0) * w

        def y(u: float) -> float:
            return top + (hi - min(max(u, lo), hi)) / (hi - lo) * h

        p.fillRect(QtCore.QRectF(x(self.window_ms[0]), top, x(self.window_ms[1]) - x(self.window_ms[0]), h),
                   QtGui.QColor(255, 193, 7, 70))
        p.setPen(QtGui.QPen(QtGui.QColor("#b00020"), 1, QtCore.Qt.PenStyle.DashLine))
        p.drawLine(QtCore.QPointF(x(0.0), top), QtCore.QPointF(x(0.0), top + h))
        p.setPen(QtGui.QPen(QtGui.QColor("#1565c0"), 1.2))
        path = QtGui.QPainterPath(QtCore.QPointF(x(float(self.t_ms[0])), y(float(self.uv[0]))))
        for t, u in zip(self.t_ms[1:], self.uv[1:]):
            path.lineTo(x(float(t)), y(float(u)))
        p.drawPath(path)
        p.setPen(QtGui.QColor("#555"))
        p.drawText(left, self.height() - 4, f"{t0:.0f} ms")
        p.drawText(int(x(0.0)) + 3, self.height() - 4, "pulse")
        p.drawText(int(x(self.window_ms[0])), top + 12,
                   f"{self.window_ms[0]:.0f}-{self.window_ms[1]:.0f} ms")
        p.drawText(self.width() - right - 50, self.height() - 4, f"{t1:.0f} ms")


class EmgMepReader(QtCore.QObject):
    """Cuts the trace around each queued pulse from an LSL EMG stream and measures its MEP."""

    measured = QtCore.Signal(object)     # EmgMep
    problem = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None, *, timeout_s: float = 2.0,
                 window_s: tuple[float, float] = DEFAULT_WINDOW_S) -> None:
        super().__init__(parent)
        self.buffer: LslEmgBuffer | None = None
        self.timeout_s = float(timeout_s)
        self.window_s = window_s
        self._pending: list[tuple[int, float | None, float]] = []   # (pulse ns, output, queued at)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._poll)

    @staticmethod
    def open_buffer(name: str, unit: str | None, channel: int | str = 0,
                    resolve_timeout_s: float = 3.0) -> LslEmgBuffer:
        """Find the stream and start buffering it (raises PulseSourceError / ValueError with the
        reason). Blocks up to ``resolve_timeout_s`` while LSL looks for the stream: call it on a
        worker thread, then :meth:`attach` the result on the GUI thread."""
        buf = LslEmgBuffer(name or None, stream_type=None if name else "EMG", channel=channel,
                           unit=unit or None, capacity_s=30.0, resolve_timeout_s=resolve_timeout_s)
        buf.start()
        return buf

    def attach(self, buf: LslEmgBuffer) -> str:
        """Use ``buf`` from now on (the previous stream is closed); returns a summary."""
        self.close()
        self.buffer = buf
        return f"{buf.channel_label} at {buf.sfreq_hz:g} Hz (scale {buf.scale_v:g} V per unit)"

    def close(self) -> None:
        self._timer.stop()
        self._pending.clear()
        buf, self.buffer = self.buffer, None
        if buf is not None:
            buf.stop()

    @property
    def connected(self) -> bool:
        return self.buffer is not None and self.buffer.running

    def queue_pulse(self, time_ns: int, output_pct: float | None) -> None:
        if self.buffer is None:
            raise PulseSourceError("connect the EMG stream first")
        self._pending.append((int(time_ns), output_pct, time.monotonic()))
        self._timer.start()

    def _poll(self) -> None:
        buf = self.buffer
        if buf is None:
            self._timer.stop()
            return
        keep: list[tuple[int, float | None, float]] = []
        for time_ns, output, queued in self._pending:
            try:
                trace = buf.trace_around(time_ns, BEFORE_S, AFTER_S)
            except ValueError as exc:
                self.problem.emit(f"MEP not measured: {exc}")
                continue
            if trace is None:
                if buf.error is not None:
                    self.problem.emit(f"MEP not measured: {buf.error}")
                elif time.monotonic() - queued > self.timeout_s:
                    self.problem.emit(f"MEP not measured: the EMG samples after the pulse did not arrive "
                                      f"within {self.timeout_s:g} s (is the amplifier still streaming?)")
                else:
                    keep.append((time_ns, output, queued))
                continue
            if not trace.complete:
                self.problem.emit(f"MEP not measured: {trace.missing_samples} EMG samples around the pulse never "
                                  "arrived (a gap in the stream); a trace with a gap could hide the MEP's peak")
                continue
            try:
                m = measure_mep(trace.values_v, trace.sfreq_hz, trace.pulse_offset_s, self.window_s,
                                baseline_s=DEFAULT_BASELINE_S)
            except NavigationError as exc:
                self.problem.emit(f"MEP not measured: {exc}")
                continue
            self.measured.emit(EmgMep(trace, m, output))
        self._pending = keep
        if not keep:
            self._timer.stop()
