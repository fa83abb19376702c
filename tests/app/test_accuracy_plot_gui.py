"""The course view's targeting accuracy plot shows the course's own numbers.

A course in the clinic database (report_course_builder.py: sessions 1-3 logged against a 2.5 mm
tolerance recorded in each folder's end-of-treatment summary, pulses 0.5, 2 and 4 mm from the
target), plus session 4 opened but without pulses and session 5 with pulses again. Opened through
File > Patients... (the course is read on the database worker), the plot must show: the medians,
95th percentiles and registration errors of the database, session 4 as a gap (NaN, never 0), the
tolerance line at the recorded 2.5 mm (not the 3 mm default), a "!" over session 3 only (4 mm >
2.5 mm), and the selected session shaded. A course whose folders are elsewhere falls back to the
default and says so under the plot.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtWidgets

from tmsnav.navigation.reports.tolerance import DEFAULT_TOLERANCE_MM

from tests.app.test_records_gui import WAIT_MS, make_window
from tests.navigation.reports.report_course_builder import PSEUDONYM, TOLERANCE_MM, build_course

pytestmark = pytest.mark.gui


def _add_later_sessions(records, built, root: Path) -> None:
    """Session 4: opened, no pulse. Session 5: session 1's pulses again, its folder holding only the
    end-of-treatment summary with the same tolerance."""
    records.upsert_session("04" + "cd" * 15, built.course_uid, number=4, started_utc="2026-12-04T09:00:00+00:00",
                           operator="J. Tech", status="closed", registration_error_mm=1.3)
    folder = root / "session_05"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text(json.dumps(
        {"seq": 0, "kind": "treatment_summary", "time_utc": "2026-12-05T10:00:00+00:00", "monotonic_ns": 0,
         "tolerance_mm": TOLERANCE_MM, "tolerance_rad": 0.087}) + "\n", encoding="utf-8")
    info = records.upsert_session("05" + "cd" * 15, built.course_uid, number=5,
                                  started_utc="2026-12-05T09:00:00+00:00", operator="J. Tech", status="closed",
                                  folder=str(folder), registration_error_mm=0.7)
    records.add_pulses(info.uid, records.pulses(built.session_uids[0]))


def _open_course(qtbot, w):
    patients = w.records.show_patients()
    qtbot.waitUntil(lambda: patients.patients.count() > 0, timeout=WAIT_MS)
    patients.patients.setCurrentRow(0)
    qtbot.waitUntil(lambda: patients.view.data is not None, timeout=WAIT_MS)
    return patients


def _line(ax, gid: str):
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(lines) == 1, [ln.get_gid() for ln in ax.get_lines()]
    return lines[0]


def _y(values) -> list[float]:
    return [math.nan if v is None else v for v in values]


def test_plot_shows_the_sessions_numbers_the_tolerance_and_a_gap(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch)
    try:
        controller = w.records.controller
        assert controller.wait_open(WAIT_MS), controller.error
        records = controller.records
        built = build_course(records, tmp_path / "course", n_sessions=3, n_pulses=120)
        _add_later_sessions(records, built, tmp_path / "course")
        patients = _open_course(qtbot, w)
        view = patients.view
        assert PSEUDONYM in view.title.text() and len(view.session_rows()) == 5
        plot = view.accuracy
        infos = records.sessions(built.course_uid)
        errors, registration = plot.axes
        x = list(_line(errors, "median").get_xdata())
        assert x == [1, 2, 3, 4, 5]
        np.testing.assert_array_equal(_line(errors, "median").get_ydata(), _y([s.median_error_mm for s in infos]))
        np.testing.assert_array_equal(_line(errors, "p95").get_ydata(), _y([s.p95_error_mm for s in infos]))
        np.testing.assert_array_equal(_line(registration, "registration").get_ydata(),
                                      _y([s.registration_error_mm for s in infos]))
        assert infos[3].pulses_total == 0 and np.isnan(_line(errors, "median").get_ydata()[3])   # a gap, not 0
        assert np.isfinite(_line(errors, "median").get_ydata()[[0, 1, 2, 4]]).all()
        tolerance = _line(errors, "tolerance")
        assert set(tolerance.get_ydata()) == {TOLERANCE_MM} != {DEFAULT_TOLERANCE_MM}
        marks = [t for t in errors.texts if t.get_gid() == "above"]
        assert [t.xy[0] for t in marks] == [3] and all(t.get_text() == "!" for t in marks)
        assert infos[2].median_error_mm > TOLERANCE_MM > max(infos[k].median_error_mm for k in (0, 1, 4))
        assert plot.note.text().startswith("Tolerance 2.5 mm (recorded by every session).")

        # the row selected in the sessions table is shaded in both panels
        view.sessions.selectRow(1)
        QtWidgets.QApplication.processEvents()
        assert plot.highlighted == 2
        for ax in plot.axes:
            spans = [p for p in ax.patches if p.get_gid() == "highlight"]
            assert len(spans) == 1
            x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()
            assert x0 < 2 < x1 and x1 - x0 < 1
        # drawn on screen, not only in the figure: the canvas has the plot's colours
        plot.canvas.draw()
        rgba = np.asarray(plot.canvas.buffer_rgba())
        assert (np.abs(rgba[..., :3].astype(int) - [0x00, 0x72, 0xB2]).sum(axis=-1) < 40).sum() > 50
    finally:
        w.close()


def test_folders_not_on_this_computer_use_the_default_and_say_so(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch)
    try:
        controller = w.records.controller
        assert controller.wait_open(WAIT_MS), controller.error
        build_course(controller.records, tmp_path / "course", n_sessions=2, n_pulses=60, with_folders=False)
        plot = _open_course(qtbot, w).view.accuracy
        assert set(_line(plot.axes[0], "tolerance").get_ydata()) == {DEFAULT_TOLERANCE_MM}
        assert plot.note.text().startswith("Tolerance 3 mm (Navigate default: no session recorded its tolerance here).")
        assert "sessions 1, 2 was not recorded on this computer" in plot.note.toolTip()
    finally:
        w.close()


def test_no_course_and_an_empty_course_draw_no_axes(qtbot):
    from tmsnav.app.records.course_view import CourseView

    view = CourseView()
    qtbot.addWidget(view)
    assert view.accuracy.axes == [] and view.accuracy.note.text() == ""
    assert "No session recorded yet." in [t.get_text() for t in view.accuracy.figure.texts]


def test_an_unchanged_course_is_not_redrawn_and_a_live_session_at_most_every_30_s(qtbot):
    """The course view reloads every 3 s while today's session is open, during treatment; a redraw
    costs the GUI thread 0.1-0.2 s. Unchanged: no redraw. Only the open session's numbers moved:
    one deferred redraw (LIVE_REDRAW_MS). Closed, new session or another course: drawn at once."""
    from types import SimpleNamespace

    from tmsnav.app.records.accuracy_plot import LIVE_REDRAW_MS, AccuracyPlot
    from tmsnav.navigation.reports.model import SessionRow

    def rows(median_3: float, status_3: str = "open") -> tuple[SessionRow, ...]:
        return tuple(SessionRow(k, "", "", 300, 300, 290, m, m + 1.0, 1.0, None, None, s, 3.0)
                     for k, m, s in ((1, 1.0, "closed"), (2, 1.2, "closed"), (3, median_3, status_3)))

    infos = [SimpleNamespace(uid=f"u{k}", number=k) for k in (1, 2, 3)]
    plot = AccuracyPlot()
    qtbot.addWidget(plot)
    start = plot.draws
    plot.set_course(infos, rows(0.5))
    assert plot.draws == start + 1 and not plot.live_timer.isActive()
    plot.set_course(infos, rows(0.5))                                  # the 3-s reload, nothing new
    assert plot.draws == start + 1
    plot.set_course(infos, rows(0.9))                                  # pulses came in
    assert plot.draws == start + 1 and plot.live_timer.isActive()
    assert plot.live_timer.interval() == LIVE_REDRAW_MS >= 10_000
    plot.live_timer.timeout.emit()                                     # the deferred redraw (no waiting)
    median = _line(plot.axes[0], "median").get_ydata()
    assert plot.draws == start + 2 and median[2] == 0.9
    plot.set_course(infos, rows(1.1))
    plot.set_course(infos, rows(1.3, "closed"))                        # the sitting ended: at once
    assert plot.draws == start + 3 and not plot.live_timer.isActive()
    assert _line(plot.axes[0], "median").get_ydata()[2] == 1.3
    other = [SimpleNamespace(uid=f"v{k}", number=k) for k in (1, 2, 3)]
    plot.set_course(other, rows(2.0, "closed"))                        # another course, same shape
    assert plot.draws == start + 4
