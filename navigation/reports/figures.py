"""The report figures as PNG bytes, sized for an A4 page (17 cm wide) and readable in grey.

Drawn with ``matplotlib.figure.Figure`` + ``FigureCanvasAgg``, never pyplot, so a report written
on the app's worker thread touches no GUI backend. Each figure is drawn once and the same PNG goes
into the HTML (base64) and the PDF.

* :func:`session_error_png`: the position error of each pulse in delivery order with the
  tolerance, and the histogram of the errors with the tolerance marked. A long session is thinned
  for drawing (every k-th on-target pulse, *every* off-target pulse kept), so the figure costs the
  same for 300 or 30 000 pulses and no miss disappears from the picture; the statistics beside it
  are always computed on every pulse.
* :func:`course_trend_png`: per session the median and 95th percentile pulse error, the distance
  of the session's median pulse position from the target (how far the coil drifted between
  days), and the registration error.

Colours are the colour-blind-safe Okabe-Ito pair (blue on target, vermillion off target) and the
markers differ too (dot / cross), so a black-and-white print still tells them apart.
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .model import PulseSeries, SessionRow, SpreadRow

__all__ = ["session_error_png", "course_trend_png", "thin_for_plot", "MAX_PLOTTED_ON_TARGET",
           "FIGURE_WIDTH_IN", "DPI"]

FIGURE_WIDTH_IN = 6.7               # 17 cm: the text width of an A4 page with 2 cm margins
DPI = 150                           # sharp on paper, ~100 kB per figure
MAX_PLOTTED_ON_TARGET = 2500        # on-target points drawn at most (off-target ones: all)
ON_COLOUR, OFF_COLOUR, LINE_COLOUR = "#0072B2", "#D55E00", "#333333"
TITLE_PT, LABEL_PT, TICK_PT, LEGEND_PT = 9.5, 8.5, 7.5, 7.5


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _style(ax: Axes) -> None:
    """Font sizes set on the axes themselves: rcParams are global and the GUI thread may be drawing."""
    ax.title.set_fontsize(TITLE_PT)
    ax.xaxis.label.set_fontsize(LABEL_PT)
    ax.yaxis.label.set_fontsize(LABEL_PT)
    ax.tick_params(labelsize=TICK_PT)
    ax.grid(True, lw=0.3, color="#cccccc")


def _new_figure(height_in: float) -> Figure:
    fig = Figure(figsize=(FIGURE_WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def thin_for_plot(series: PulseSeries, max_on_target: int = MAX_PLOTTED_ON_TARGET) -> np.ndarray:
    """Indices into ``series`` to draw: every pulse with an error that is not on target, and at
    most ``max_on_target`` evenly spaced on-target pulses (always the first and the last)."""
    has = np.isfinite(series.error_mm)
    on = np.flatnonzero(has & series.within)
    off = np.flatnonzero(has & ~series.within)
    if len(on) > max_on_target:
        on = on[np.unique(np.linspace(0, len(on) - 1, max_on_target).round().astype(int))]
    return np.sort(np.concatenate([on, off]))


def session_error_png(series: PulseSeries, tolerance_mm: float) -> bytes | None:
    """Per-pulse error over the session (left) and its histogram (right); None without any error."""
    has = np.isfinite(series.error_mm)
    if not has.any():
        return None
    fig = _new_figure(2.6)
    grid = fig.add_gridspec(1, 3)
    ax = fig.add_subplot(grid[0, :2])
    keep = thin_for_plot(series)
    idx, err, within = series.index[keep], series.error_mm[keep], series.within[keep]
    ax.plot(idx[within], err[within], ".", ms=2.5, color=ON_COLOUR, label="on target")
    ax.plot(idx[~within], err[~within], "x", ms=3.5, mew=0.9, color=OFF_COLOUR, label="off target")
    ax.axhline(tolerance_mm, color=LINE_COLOUR, ls="--", lw=1.0, label=f"tolerance {tolerance_mm:g} mm")
    unknown = series.index[~has]
    if len(unknown):
        ax.plot(unknown, np.zeros(len(unknown)), "|", ms=6, color="#999999",
                label=f"no error ({len(unknown)} pulses)")
    ax.set_xlabel("pulse number")
    ax.set_ylabel("position error on the scalp (mm)")
    thinned = int(has.sum()) - len(keep)
    ax.set_title("Error of each pulse" + (f" ({thinned} on-target pulses not drawn)" if thinned else ""))
    ax.set_ylim(0, max(float(np.nanmax(err)) if len(err) else 0.0, tolerance_mm) * 1.4)   # room for the legend
    _style(ax)
    ax.legend(loc="upper right", frameon=True, framealpha=0.9, ncol=2, fontsize=LEGEND_PT)

    hx = fig.add_subplot(grid[0, 2])
    errors = series.error_mm[has]
    top = max(float(np.percentile(errors, 99.5)), tolerance_mm) * 1.15
    bins = [float(b) for b in np.linspace(0.0, top, 30)]
    hx.hist(np.clip(errors, 0, top), bins=bins, color="#9ecae1", edgecolor=LINE_COLOUR, lw=0.4)
    hx.axvline(tolerance_mm, color=LINE_COLOUR, ls="--", lw=1.0)
    hx.set_xlabel("position error (mm)")
    hx.set_ylabel("pulses")
    hx.set_title("Distribution")
    _style(hx)
    return _png(fig)


def course_trend_png(sessions: Sequence[SessionRow], spread: Sequence[SpreadRow],
                     tolerance_mm: float | None = None) -> bytes | None:
    """Three panels over the session numbers; None without any session."""
    if not sessions:
        return None
    fig = _new_figure(5.4)
    axes = fig.subplots(3, 1, sharex=True)
    num = np.array([s.number for s in sessions], float)

    def col(values: Sequence[float | None]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], float)

    med, p95 = col([s.median_error_mm for s in sessions]), col([s.p95_error_mm for s in sessions])
    a = axes[0]
    a.plot(num, med, "o-", color=ON_COLOUR, ms=4, lw=1.2, label="median")
    a.plot(num, p95, "s--", color=OFF_COLOUR, ms=3.5, lw=1.0, label="95th percentile")
    if tolerance_mm is not None:
        a.axhline(tolerance_mm, color=LINE_COLOUR, ls=":", lw=1.0, label=f"tolerance {tolerance_mm:g} mm")
    a.set_ylabel("pulse error (mm)")
    a.set_title("Pulse position error per session")
    a.set_ylim(0, max(float(np.nanmax(np.r_[p95, med, 0.0])), tolerance_mm or 0.0, 1.0) * 1.4)
    a.legend(loc="upper left", ncol=3, fontsize=LEGEND_PT)

    b = axes[1]
    by_number = {r.number: r.distance_mm for r in spread}
    dist = col([by_number.get(int(n)) for n in num])
    known = np.isfinite(dist)
    b.bar(num[known], dist[known], width=0.6, color="#9ecae1", edgecolor=LINE_COLOUR, lw=0.5)
    b.set_ylabel("distance (mm)")
    b.set_title("Median pulse position of the session: distance from the target")

    c = axes[2]
    c.plot(num, col([s.registration_error_mm for s in sessions]), "d-", color="#009E73", ms=4, lw=1.2)
    c.set_ylabel("error (mm)")
    c.set_title("Registration error")
    c.set_xlabel("session")
    for ax in axes[1:]:
        top = ax.get_ylim()[1]
        ax.set_ylim(0, top if np.isfinite(top) and top > 0 else 1.0)
    for ax in axes:
        _style(ax)
    if len(num) <= 40:
        axes[2].set_xticks(num)
    return _png(fig)
