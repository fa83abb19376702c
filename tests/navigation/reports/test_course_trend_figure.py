"""draw_course_trend on hand-made session rows: what is drawn is the rows' numbers, a session
without pulses is a gap (NaN, never 0), the tolerance is one line or each session's own as a step,
"!" marks exactly the sessions whose median is above their own tolerance, the shading follows the
selected session. The report (panels stacked, with the distance panel) and the course view (side
by side, no distance) get the same error and registration data from the one function."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from tmsnav.navigation.reports.figures import course_trend_png, draw_course_trend
from tmsnav.navigation.reports.model import SessionRow, SpreadRow
from tmsnav.navigation.reports.tolerance import DEFAULT_TOLERANCE_MM, course_tolerance


def row(number: int, median: float | None, p95: float | None, reg: float | None, tol: float | None,
        pulses: int = 300) -> SessionRow:
    return SessionRow(number, f"2026-12-{number:02d}T09:00:00+00:00", "", pulses if median is not None else 0,
                      pulses, pulses, median, p95, reg, None, None, "closed", tolerance_mm=tol)


ROWS = (row(1, 1.0, 1.8, 0.9, 2.0), row(2, 2.4, 3.9, 1.1, 2.0), row(3, None, None, 1.0, None),
        row(4, 3.1, 4.4, None, 4.0), row(5, 0.8, 1.5, 0.8, 2.0))
SPREAD = (SpreadRow(1, 300, (0.0, 0.0, 0.0), 0.7), SpreadRow(2, 300, (0.0, 0.0, 0.0), 2.2),
          SpreadRow(4, 300, (0.0, 0.0, 0.0), 3.0), SpreadRow(5, 300, (0.0, 0.0, 0.0), 0.5))


def _by_gid(ax, gid: str):
    found = [a for a in (*ax.get_lines(), *ax.patches, *ax.texts) if a.get_gid() == gid]
    return found


def test_rows_are_drawn_with_gaps_step_tolerance_and_marks() -> None:
    tol = course_tolerance(ROWS)
    assert tol.single_mm is None and tol.values == (2.0, 2.0, DEFAULT_TOLERANCE_MM, 4.0, 2.0)
    fig = Figure()
    errors, distance, registration = draw_course_trend(fig, ROWS, tol, SPREAD)
    median = _by_gid(errors, "median")[0]
    assert list(median.get_xdata()) == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(median.get_ydata(), [1.0, 2.4, math.nan, 3.1, 0.8])
    np.testing.assert_array_equal(_by_gid(errors, "p95")[0].get_ydata(), [1.8, 3.9, math.nan, 4.4, 1.5])
    np.testing.assert_array_equal(_by_gid(registration, "registration")[0].get_ydata(),
                                  [0.9, 1.1, 1.0, math.nan, 0.8])
    step = _by_gid(errors, "tolerance")[0]                       # session 3 has no pulses: no tolerance step
    np.testing.assert_array_equal(step.get_ydata(), [2.0, 2.0, math.nan, 4.0, 2.0])
    assert step.get_drawstyle() == "steps-mid" and step.get_label() == "tolerance of each session"
    # session 2 (2.4 > 2.0) is above; session 4 (3.1) is within its own 4 mm though above the others' 2 mm
    assert [t.xy[0] for t in _by_gid(errors, "above")] == [2]
    bars = _by_gid(distance, "distance")
    assert sorted((round(b.get_x() + b.get_width() / 2), b.get_height()) for b in bars) == \
        [(1, 0.7), (2, 2.2), (4, 3.0), (5, 0.5)]                 # no bar for the session without pulses
    assert not _by_gid(errors, "highlight")


def test_one_tolerance_is_one_line_at_that_value_and_the_view_highlights_the_selection() -> None:
    rows = tuple(row(k, 0.5 * k, 0.8 * k, 1.0, 2.5) for k in (1, 2, 3, 4))
    tol = course_tolerance(rows)
    fig = Figure()
    axes = draw_course_trend(fig, rows, tol, highlight=3, side_by_side=True)
    assert len(axes) == 2                                       # no distance panel without the spread
    line = _by_gid(axes[0], "tolerance")[0]
    assert set(line.get_ydata()) == {2.5} and line.get_label() == "tolerance 2.5 mm"
    assert [t.xy[0] for t in _by_gid(axes[0], "above")] == []  # 2.0 mm at most: never above 2.5
    for ax in axes:
        (span,) = _by_gid(ax, "highlight")
        assert span.get_x() < 3 < span.get_x() + span.get_width()
    draw_course_trend(fig, rows, tol, highlight=9, side_by_side=True)   # a number not shown: no shading
    assert not any(_by_gid(ax, "highlight") for ax in fig.axes)


def test_nothing_to_draw_and_the_report_png() -> None:
    fig = Figure()
    assert draw_course_trend(fig, (), course_tolerance(())) == []
    assert [t.get_text() for t in fig.texts] == ["No session recorded yet."]
    assert course_trend_png((), (), course_tolerance(())) is None
    png = course_trend_png(ROWS, SPREAD, course_tolerance(ROWS))
    assert png is not None
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    assert grey.shape[1] == pytest.approx(6.7 * 150, abs=2) and (grey < 128).mean() > 0.01
