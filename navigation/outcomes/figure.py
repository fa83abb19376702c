"""The outcome plot: each scale over the course, its severity bands shaded, the baseline and the
50 % (response) line, the remission cut-off, and suicide-item alerts marked in red.

One drawing function serves both the course view (app/records/outcome_plot.py puts the figure on a
Qt canvas) and the reports (:func:`outcome_figure_png`, Agg only: no pyplot, no GUI backend).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, DateFormatter, date2num
from matplotlib.figure import Figure

from .alerts import assessment_alert
from .scales import scale_definition
from .trajectory import Trajectory, course_trajectory

__all__ = ["draw_outcomes", "outcome_figure_png", "BAND_COLOURS"]

# Light fills from "none" to "most severe" (readable on paper in grey too: increasing darkness).
BAND_COLOURS = ("#e3f2e1", "#f4f3d6", "#fbe5c8", "#f8d2c4", "#f0b9b9")
LINE_COLOUR = "#1f4e79"
ALERT_COLOUR = "#c00000"


def _grid(n: int) -> tuple[int, int]:
    return {1: (1, 1), 2: (1, 2), 3: (1, 3), 4: (2, 2)}.get(n, (2, 3))


def _draw_scale(ax: Axes, traj: Trajectory) -> None:
    defn = scale_definition(traj.scale)
    colours = BAND_COLOURS[-len(defn.bands):] if len(defn.bands) < len(BAND_COLOURS) else BAND_COLOURS
    if len(defn.bands) == 4:
        colours = (BAND_COLOURS[0], BAND_COLOURS[1], BAND_COLOURS[2], BAND_COLOURS[4])
    for band, colour in zip(defn.bands, colours):
        ax.axhspan(band.low - 0.5 if band.low else 0, band.high + 0.5, color=colour, zorder=0, linewidth=0)
        ax.text(0.01, (band.low + band.high) / 2, band.label, transform=ax.get_yaxis_transform(),
                fontsize=6.5, va="center", ha="left", color="#666666", zorder=1)
    dates = traj.dates
    xs_all = [float(date2num(d)) for d in dates]
    ax.plot(xs_all, traj.totals, "-o", color=LINE_COLOUR, markersize=4, linewidth=1.6, zorder=3, label="total")
    ax.axhline(traj.baseline_total, color="#444444", linestyle="--", linewidth=1, zorder=2, label="baseline")
    if traj.baseline_total > 0:
        ax.axhline(traj.response_total, color="#2e7d32", linestyle=":", linewidth=1.4, zorder=2,
                   label="50 % of baseline (response)")
    ax.axhline(defn.remission_max + 0.5, color="#6a1b9a", linestyle="-.", linewidth=0.9, zorder=2,
               label="remission cut-off")
    alert_points = [(float(date2num(a.assessed_on)), a.total) for a in traj.assessments
                    if assessment_alert(a) is not None]
    if alert_points:
        xs, ys = zip(*alert_points)
        ax.plot(xs, ys, "^", color=ALERT_COLOUR, markersize=9, zorder=4, label="suicide-item alert")
    ax.set_ylim(0, defn.max_total)
    ax.set_ylabel("total")
    status = []
    if traj.percent_change is not None and len(dates) > 1:
        status.append(f"{traj.percent_change:+.0f} %")
    if traj.response:
        status.append("response")
    if traj.remission:
        status.append("remission")
    # three short lines: two panels side by side in the course view leave ~30 characters each
    ax.set_title(f"{traj.scale}\nbaseline {traj.baseline_total}, latest {traj.latest_total}"
                 + (f"\n{', '.join(status)}" if status else ""), fontsize=8)
    locator = AutoDateLocator(minticks=2, maxticks=5)
    ax.xaxis_date()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(DateFormatter("%d %b\n%Y"))
    ax.tick_params(labelsize=7)
    if len(dates) == 1:
        ax.set_xlim(xs_all[0] - 3.0, xs_all[0] + 3.0)          # date2num counts days


def draw_outcomes(figure: Figure, outcomes: Iterable[Any]) -> None:
    """Clear ``figure`` and draw one panel per scale present in ``outcomes`` (OutcomeInfo-like)."""
    figure.clear()
    trajectories = course_trajectory(outcomes)
    if not trajectories:
        ax = figure.add_subplot(1, 1, 1)
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No outcome assessments in this course yet", ha="center", va="center",
                fontsize=11, color="#555555", transform=ax.transAxes)
        return
    rows, cols = _grid(len(trajectories))
    handles: dict[str, Any] = {}
    for k, traj in enumerate(trajectories.values()):
        ax = figure.add_subplot(rows, cols, k + 1)
        _draw_scale(ax, traj)
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    # at most three entries a row: five in one row ran off a 700-pixel-wide course view
    ncol = min(len(handles), 3)
    legend_rows = -(-len(handles) // ncol) if handles else 0
    figure.legend(list(handles.values()), list(handles), loc="lower center", ncol=max(ncol, 1), fontsize=7,
                  frameon=False)
    # a layout engine (not a one-off tight_layout) so a resized Qt canvas is laid out again
    figure.set_layout_engine("tight", pad=0.6, w_pad=1.5, rect=(0, 0.02 + 0.05 * legend_rows, 1, 1))


def outcome_figure_png(outcomes: Iterable[Any], *, width_px: int = 900, height_px: int = 420,
                       dpi: int = 100) -> bytes:
    """The outcome plot as PNG bytes (Agg canvas, no pyplot: safe off the GUI thread)."""
    if width_px < 100 or height_px < 100:
        raise ValueError(f"outcome figure of {width_px}x{height_px} px is too small (at least 100x100)")
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    draw_outcomes(figure, list(outcomes))
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
