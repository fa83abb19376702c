"""The report figures as PNG bytes, sized for an A4 page (17 cm wide) and readable in grey.

Drawn with ``matplotlib.figure.Figure`` + ``FigureCanvasAgg``, never pyplot, so a report written
on the app's worker thread touches no GUI backend. Each figure is drawn once and the same PNG goes
into the HTML (base64) and the PDF.

* :func:`session_error_png`: the position error of each pulse in delivery order with the
  tolerance, and the histogram of the errors with the tolerance marked. A long session is thinned
  for drawing (every k-th on-target pulse, *every* off-target pulse kept), so the figure costs the
  same for 300 or 30 000 pulses and no miss disappears from the picture; the statistics beside it
  are always computed on every pulse.
* :func:`course_trend_png`: per session the median and 95th percentile pulse error against the
  tolerance each session was judged against (:mod:`.tolerance`), the distance of the session's
  median pulse position from the target (how far the coil drifted between days), and the
  registration error. :func:`draw_course_trend` draws it into any Figure: the course view's
  accuracy plot (``app/records/accuracy_plot.py``) uses it on its Qt canvas.

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
from .tolerance import CourseTolerance, above_tolerance

__all__ = ["session_error_png", "course_trend_png", "draw_course_trend", "thin_for_plot", "MAX_PLOTTED_ON_TARGET",
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


def _column(values: Sequence[float | None]) -> np.ndarray:
    """Floats with NaN for a missing value: matplotlib leaves a gap there, never a zero."""
    return np.array([np.nan if v is None else v for v in values], float)


def _tolerance_line(ax: Axes, num: np.ndarray, tolerance: CourseTolerance) -> None:
    """One dotted line when every session used the same tolerance, else each session's own as a
    dotted step (no step at a session without pulses: it was judged against nothing)."""
    single = tolerance.single_mm
    if single is not None:
        ax.axhline(single, color=LINE_COLOUR, ls=":", lw=1.0, label=f"tolerance {single:g} mm", gid="tolerance")
        return
    values = np.array([v if t else np.nan for v, t in zip(tolerance.values, tolerance.treated)], float)
    ax.step(num, values, where="mid", color=LINE_COLOUR, ls=":", lw=1.0, label="tolerance of each session",
            gid="tolerance")


def draw_course_trend(fig: Figure, sessions: Sequence[SessionRow], tolerance: CourseTolerance,
                      spread: Sequence[SpreadRow] | None = None, *, highlight: int | None = None,
                      side_by_side: bool = False) -> list[Axes]:
    """The course's accuracy over the session numbers, drawn into ``fig`` (cleared first): the
    median and 95th-percentile pulse error with the tolerance (a "!" over each session whose
    median is above its tolerance, as in the report's sessions table), the distance of the
    session's median pulse position from the target (only with ``spread``), and the registration
    error. A session without pulses (or without a known value) is a gap, never a zero.

    One function for the course report's PNG (panels stacked) and the course view's canvas
    (``side_by_side``), so both show the same thing; ``highlight`` shades one session number."""
    fig.clear()
    if not sessions:
        fig.text(0.5, 0.5, "No session recorded yet.", ha="center", va="center", color="#666666")
        return []
    n_panels = 3 if spread is not None else 2
    axes = list(fig.subplots(1, n_panels, sharex=True, width_ratios=[3] + [2] * (n_panels - 1)) if side_by_side
                else fig.subplots(n_panels, 1, sharex=True))
    num = np.array([s.number for s in sessions], float)
    med, p95 = _column([s.median_error_mm for s in sessions]), _column([s.p95_error_mm for s in sessions])
    a = axes[0]
    a.plot(num, med, "o-", color=ON_COLOUR, ms=4, lw=1.2, label="median", gid="median")
    a.plot(num, p95, "s--", color=OFF_COLOUR, ms=3.5, lw=1.0, label="95th percentile", gid="p95")
    _tolerance_line(a, num, tolerance)
    for n, m in zip(num, med):
        if above_tolerance(float(m), tolerance.for_session(int(n))):
            a.annotate("!", (n, m), xytext=(6, 0), textcoords="offset points", ha="left", va="center",
                       fontsize=LABEL_PT + 1, fontweight="bold", color="#000000", gid="above")
    a.set_ylabel("pulse error (mm)")
    top = max(float(np.nanmax(np.r_[p95, med, 0.0])), max(tolerance.values, default=0.0), 1.0)
    if side_by_side:        # a short panel on screen: the legend above it, where the title would be
        a.set_ylim(0, top * 1.15)
        a.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3, fontsize=LEGEND_PT, frameon=False,
                 borderaxespad=0.2)
    else:
        a.set_title("Pulse position error per session (!: median above the tolerance)")
        a.set_ylim(0, top * 1.4)                                # room for the legend
        a.legend(loc="upper left", ncol=3, fontsize=LEGEND_PT)

    if spread is not None:
        b = axes[1]
        by_number = {r.number: r.distance_mm for r in spread}
        dist = _column([by_number.get(int(n)) for n in num])
        known = np.isfinite(dist)
        b.bar(num[known], dist[known], width=0.6, color="#9ecae1", edgecolor=LINE_COLOUR, lw=0.5, gid="distance")
        b.set_ylabel("distance (mm)")
        b.set_title("Median pulse position of the session: distance from the target")

    c = axes[-1]
    c.plot(num, _column([s.registration_error_mm for s in sessions]), "d-", color="#009E73", ms=4, lw=1.2,
           gid="registration")
    c.set_ylabel("error (mm)")
    c.set_title("Registration error")
    for ax in axes[1:]:
        top = ax.get_ylim()[1]
        ax.set_ylim(0, top * 1.1 if np.isfinite(top) and top > 0 else 1.0)     # no marker on the frame
    for ax in axes:
        _style(ax)
        if highlight is not None and highlight in num:
            ax.axvspan(highlight - 0.45, highlight + 0.45, color="#f0e442", alpha=0.35, lw=0, zorder=0,
                       gid="highlight")
    for ax in (axes if side_by_side else axes[-1:]):
        ax.set_xlabel("session")
    if len(num) <= 40:
        axes[-1].set_xticks(num)
    axes[-1].set_xlim(float(num.min()) - 0.6, float(num.max()) + 0.6)
    return axes


def course_trend_png(sessions: Sequence[SessionRow], spread: Sequence[SpreadRow],
                     tolerance: CourseTolerance) -> bytes | None:
    """The course report's trend (:func:`draw_course_trend`, three panels stacked); None without
    any session."""
    if not sessions:
        return None
    fig = _new_figure(5.4)
    draw_course_trend(fig, sessions, tolerance, spread)
    return _png(fig)
