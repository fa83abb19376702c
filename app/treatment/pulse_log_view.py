"""Live view of the pulse log: position error per pulse with the tolerance line, and counters.

Why a painted widget and not matplotlib: it redraws in well under a millisecond for thousands of
points on the GUI thread, so a 1 Hz rTMS train (or a 10 Hz one) never delays a click.

The plot: x = pulse number, y = distance on the scalp to the target (mm, the Navigate tab's
"Distance on scalp"), green dots within tolerance, red outside, grey ticks on the x axis for
pulses whose pose is unknown (coil not tracked, stale pose: never drawn as an error they do not
have). The dashed line is the tolerance the pulses were judged with.
Counters: pulses, % on target (of all pulses: a pulse without a known pose is not on target),
median and 95th percentile of the error, pose unknown.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.treatment.pulse_log import LoggedPulse
from tmsnav.navigation.treatment.statistics import PulseStatistics, pulse_statistics

__all__ = ["ErrorPlot", "PulseLogView", "counter_texts"]

GREEN, RED, GREY = QtGui.QColor("#2e7d32"), QtGui.QColor("#c62828"), QtGui.QColor("#757575")
DASH = "—"


def counter_texts(st: PulseStatistics) -> dict[str, str]:
    """The counters as shown (also used by the chairside view and the summary)."""
    def mm(v: float | None) -> str:
        return DASH if v is None else f"{v:.1f} mm"

    return {"pulses": str(st.n),
            "on_target": DASH if st.fraction_on_target is None else f"{100 * st.fraction_on_target:.0f} %",
            "median": mm(st.median_error_mm), "p95": mm(st.p95_error_mm),
            "unknown": str(st.n_pose_unknown)}


class ErrorPlot(QtWidgets.QWidget):
    """Position error per pulse, tolerance line, pose-unknown ticks."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pulse_error_plot")
        self.setMinimumHeight(140)
        self.index = np.zeros(0)
        self.error = np.zeros(0)
        self.on = np.zeros(0, bool)
        self.unknown = np.zeros(0)
        self.tolerance_mm = 3.0
        self.n = 0

    def set_pulses(self, pulses: list[LoggedPulse], tolerance_mm: float) -> None:
        measured = [p for p in pulses if p.position_error_mm is not None]
        self.index = np.array([p.index for p in measured], float)
        self.error = np.array([p.position_error_mm for p in measured], float)
        self.on = np.array([bool(p.within_tolerance) for p in measured], bool)
        self.unknown = np.array([p.index for p in pulses if not p.pose_known], float)
        self.tolerance_mm = float(tolerance_mm)
        self.n = len(pulses)
        self.update()

    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:  # noqa: N802
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor("white"))
        fm = p.fontMetrics()
        left, right, top, bottom = fm.horizontalAdvance("00.0") + 8, 8, 8, fm.height() + 8
        w, h = max(1, self.width() - left - right), max(1, self.height() - top - bottom)
        y_max = max(2.0 * self.tolerance_mm, float(self.error.max()) * 1.1 if self.error.size else 0.0)
        x_max = max(10, self.n)

        def xy(i: float, e: float) -> QtCore.QPointF:
            return QtCore.QPointF(left + (i - 0.5) / x_max * w, top + h - min(e, y_max) / y_max * h)

        p.setPen(QtGui.QPen(GREY, 1))
        p.drawRect(left, top, w, h)
        for frac in (0.0, 0.5, 1.0):
            y = top + h - frac * h
            p.drawText(QtCore.QRectF(0, y - fm.height() / 2, left - 4, fm.height()),
                       int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter),
                       f"{frac * y_max:.1f}")
        p.drawText(QtCore.QRectF(left, top + h + 2, w, fm.height()), int(QtCore.Qt.AlignmentFlag.AlignCenter),
                   f"pulse (1 – {x_max}); error on the scalp, mm")
        tol_y = xy(1, self.tolerance_mm).y()
        pen = QtGui.QPen(QtGui.QColor("#1565c0"), 1.5, QtCore.Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(QtCore.QPointF(left, tol_y), QtCore.QPointF(left + w, tol_y))
        radius = 3.0 if len(self.error) < 500 else 1.5
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        for colour, mask in ((GREEN, self.on), (RED, ~self.on)):
            p.setBrush(colour)
            for i, e in zip(self.index[mask], self.error[mask]):
                p.drawEllipse(xy(i, e), radius, radius)
        p.setPen(QtGui.QPen(GREY, 2))
        for i in self.unknown:
            x = xy(i, 0).x()
            p.drawLine(QtCore.QPointF(x, top + h), QtCore.QPointF(x, top + h - 8))
        p.end()


class PulseLogView(QtWidgets.QGroupBox):
    """Counters and the error plot; :meth:`show_pulses` after each logged pulse."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Pulses", parent)
        self.setObjectName("pulse_log_view")
        layout = QtWidgets.QVBoxLayout(self)
        grid = QtWidgets.QGridLayout()
        self.values: dict[str, QtWidgets.QLabel] = {}
        for i, (key, label) in enumerate((("pulses", "Pulses"), ("on_target", "On target"),
                                          ("median", "Median error"), ("p95", "95th percentile"),
                                          ("unknown", "Pose unknown"))):
            name = QtWidgets.QLabel(label)
            value = QtWidgets.QLabel(DASH)
            value.setObjectName(f"pulse_count_{key}")
            value.setStyleSheet("font-size: 16px; font-weight: bold")
            grid.addWidget(name, i // 3 * 2, i % 3)
            grid.addWidget(value, i // 3 * 2 + 1, i % 3)
            self.values[key] = value
        layout.addLayout(grid)
        self.plot = ErrorPlot()
        layout.addWidget(self.plot, 1)
        self.last_pulse = QtWidgets.QLabel("No pulse yet.")
        self.last_pulse.setObjectName("last_pulse")
        self.last_pulse.setWordWrap(True)
        layout.addWidget(self.last_pulse)
        self.statistics: PulseStatistics | None = None

    def show_pulses(self, pulses: list[LoggedPulse], tolerance_mm: float) -> PulseStatistics:
        st = pulse_statistics(pulses)
        self.statistics = st
        for key, text in counter_texts(st).items():
            self.values[key].setText(text)
        self.plot.set_pulses(pulses, tolerance_mm)
        if pulses:
            self.last_pulse.setText(describe_pulse(pulses[-1]))
        return st


def describe_pulse(pulse: LoggedPulse) -> str:
    """One line about a logged pulse, as the user reads it."""
    output = "" if pulse.output_pct_mso is None else f" at {pulse.output_pct_mso:.0f} % MSO"
    didt = "" if pulse.didt_a_per_us is None else f", dI/dt {pulse.didt_a_per_us:.0f} A/µs"
    if not pulse.pose_known:
        where = f"pose unknown ({pulse.pose_reason})"
    elif pulse.position_error_mm is None:
        where = "no target active" if pulse.target_name is None else pulse.pose_reason or "no error"
    else:
        verdict = "on target" if pulse.within_tolerance else "OFF TARGET"
        where = (f"{pulse.position_error_mm:.1f} mm, {np.rad2deg(pulse.angle_error_rad or 0.0):.1f}° "
                 f"from {pulse.target_name}: {verdict}")
    return f"Pulse {pulse.index} ({pulse.source}{output}{didt}): {where}"
