"""Correcting outcome assessments in the course view (app/records/outcome_corrections.py): select a
row -> Correct… (the entry form filled in, a reason required) or Entered in error… (reason and
confirmation); the original is kept and shown greyed with Show corrections; a PHQ-9 item 9 = 2
corrected to 0 clears the red banner; refusals (no reason, nothing changed, a row corrected
meanwhile by another room) are messages, never tracebacks.

With TMSNAV_SCREENSHOT_DIR set, outcome-correction.png (the dialog with its reason) and
course-view-corrections.png (Show corrections) are kept there (docs/images)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.records.infos import CourseProtocol

from tests.app.test_records_gui import WAIT_MS, make_window

pytestmark = pytest.mark.gui

ITEMS_WRONG = [2, 2, 1, 2, 1, 1, 2, 1, 2]          # item 9 typed as 2: the red banner
ITEMS_RIGHT = [2, 2, 1, 2, 1, 1, 2, 1, 0]


@pytest.fixture
def course_view(qtbot, tmp_path, monkeypatch):
    """A patient with a course and three assessments, shown in File > Patients…"""
    w = make_window(qtbot, tmp_path, monkeypatch)
    controller = w.records.controller
    assert controller.wait_open(WAIT_MS), controller.error
    records = controller.records
    records.add_patient("P-0300")
    uid = records.add_course("P-0300", CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30)).uid
    records.add_outcome(uid, "PHQ-9", "2026-11-20", items=[3, 3, 2, 2, 2, 2, 2, 2, 0], timepoint="baseline",
                        rater="rk")
    records.add_outcome(uid, "PHQ-9", "2026-12-01", items=ITEMS_WRONG, timepoint="week 2", rater="rk")
    records.add_outcome(uid, "MADRS", "2026-12-01", total=28, timepoint="week 2", rater="rk")
    patients = w.records.show_patients()
    patients.resize(1280, 900)
    qtbot.waitUntil(lambda: patients.select_patient("P-0300"), timeout=WAIT_MS)
    view = patients.view
    qtbot.waitUntil(lambda: view.data is not None and view.outcomes.rowCount() == 3, timeout=WAIT_MS)
    view.operator.setText("Dr Amsel")
    yield w, patients, view, uid
    w.close()


def _select(view, scale: str, day: str) -> None:
    table = view.outcomes
    for r in range(table.rowCount()):
        if (table.item(r, 0).text(), table.item(r, 2).text()) == (day, scale):
            table.selectRow(r)
            return
    raise AssertionError(f"no row {scale} {day}")


def _rows(view) -> list[tuple[str, ...]]:
    t = view.outcomes
    return [tuple(t.item(r, c).text() for c in range(t.columnCount())) for r in range(t.rowCount())]


def _reload(qtbot, patients, view, rows: int) -> None:
    patients.controller.worker.wait_idle(WAIT_MS)
    qtbot.waitUntil(lambda: view.outcomes.rowCount() == rows and not patients.controller.worker.pending,
                    timeout=WAIT_MS)


def test_correct_item9_clears_the_banner_and_keeps_the_original(course_view, qtbot, tmp_path) -> None:
    w, patients, view, uid = course_view
    bar = view.corrections
    records = patients.controller.records
    assert view.banner.is_alert and "item 9" in view.banner.text()
    assert not bar.correct_button.isEnabled() and not bar.retract_button.isEnabled()   # nothing selected
    _select(view, "PHQ-9", "2026-12-01")
    assert bar.correct_button.isEnabled() and bar.retract_button.isEnabled()
    qtbot.mouseClick(bar.correct_button, QtCore.Qt.MouseButton.LeftButton)
    dialog = patients.actions_.corrections.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    # filled in with the entry; the corrector defaults to the course view's operator
    assert [s.value() for s in dialog.spins] == ITEMS_WRONG
    assert (dialog.date.date().toString("yyyy-MM-dd"), dialog.timepoint.currentText(), dialog.rater.text(),
            dialog.by.text()) == ("2026-12-01", "week 2", "rk", "Dr Amsel")
    # refused in the dialog: no reason, then nothing changed
    dialog.try_accept()
    assert dialog.isVisible() and "Give the reason for the correction" in dialog.message.text()
    dialog.reason.setText("item 9 read from the wrong line; the form says 0")
    dialog.try_accept()
    assert dialog.isVisible() and "Nothing is changed yet" in dialog.message.text()
    dialog.spins[8].setValue(0)
    assert "Total 12" in dialog.live.text() and dialog.message.text() == ""     # the old refusal is gone
    dialog.resize(640, 640)
    _screenshot(dialog, tmp_path, "outcome-correction.png")
    dialog.try_accept()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not view.banner.is_alert, timeout=WAIT_MS)     # cleared by the correction
    _reload(qtbot, patients, view, 3)
    assert ("2026-12-01", "week 2", "PHQ-9", "12", "moderate", "rk") in _rows(view)
    every = records.outcomes(uid, include_retracted=True)
    (original,) = [o for o in every if o.retracted]
    assert (original.items, original.retracted_by, original.retraction_reason) == (
        tuple(ITEMS_WRONG), "Dr Amsel", "item 9 read from the wrong line; the form says 0")
    # Show corrections: the original comes back greyed, "corrected", the reason in its tooltip
    bar.show_box.setChecked(True)
    _reload(qtbot, patients, view, 4)
    (row,) = [r for r in range(view.outcomes.rowCount()) if view.outcomes.item(r, 4).text() == "corrected"]
    item = view.outcomes.item(row, 3)
    assert item.text() == "14" and item.font().strikeOut()
    assert "Dr Amsel: item 9 read from the wrong line" in item.toolTip()
    view.outcomes.selectRow(row)
    assert not bar.correct_button.isEnabled() and "already corrected" in bar.correct_button.toolTip()
    _screenshot(patients, tmp_path, "course-view-corrections.png")
    assert not view.banner.is_alert                       # the greyed row never counts
    bar.show_box.setChecked(False)
    assert view.outcomes.rowCount() == 3
    # the course report (Course report button): no alert, the amendment with the original item 9
    actions = patients.actions_
    actions.report_dir, actions.open_when_done = tmp_path / "reports", False
    qtbot.mouseClick(view.course_report_button, QtCore.Qt.MouseButton.LeftButton)
    assert w.wait_for_job(120_000)
    qtbot.waitUntil(lambda: actions.last_report is not None, timeout=WAIT_MS)
    html = actions.last_report.html.read_text(encoding="utf-8")
    amendments = html[html.index("<h2>Amendments</h2>"):]
    assert "item 9 (thoughts of death or self-harm) = 2" in amendments and "Dr Amsel" in amendments
    assert 'class="alert"' not in html


def test_entered_in_error_asks_reason_and_confirmation(course_view, qtbot) -> None:
    w, patients, view, uid = course_view
    bar = view.corrections
    _select(view, "MADRS", "2026-12-01")
    qtbot.mouseClick(bar.retract_button, QtCore.Qt.MouseButton.LeftButton)
    dialog = patients.actions_.corrections.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert not dialog.warning.isVisible()            # a totals-only MADRS: no suicide item known
    dialog.confirm.click()
    assert dialog.isVisible() and "Give the reason" in dialog.message.text()
    dialog.reason.setText("typed on the wrong patient's course")
    dialog.confirm.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    _reload(qtbot, patients, view, 2)
    assert [r[2] for r in _rows(view)] == ["PHQ-9", "PHQ-9"]
    bar.show_box.setChecked(True)
    _reload(qtbot, patients, view, 3)
    (row,) = [r for r in _rows(view) if r[2] == "MADRS"]
    assert row[4] == "entered in error"
    # cancel leaves everything as it was
    _select(view, "PHQ-9", "2026-11-20")
    qtbot.mouseClick(bar.retract_button, QtCore.Qt.MouseButton.LeftButton)
    dialog = patients.actions_.corrections.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    dialog.reject()
    patients.controller.worker.wait_idle(WAIT_MS)
    assert len(patients.controller.records.outcomes(uid)) == 2


@pytest.mark.safety(hazard="suicide-risk",
                    control="marking an entry whose item 9 alerts as entered in error warns before it is done")
def test_retracting_an_item9_entry_warns_first(course_view, qtbot) -> None:
    _w, patients, view, _uid = course_view
    _select(view, "PHQ-9", "2026-12-01")
    dialog = patients.actions_.corrections.retract(view.corrections.selected())
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.warning.isVisible() and "item 9 (thoughts of death or self-harm) = 2" in dialog.warning.text()
    dialog.reject()


def test_a_refusal_from_the_database_is_a_message(course_view, qtbot) -> None:
    """Another room corrected the entry while this view still listed it: the database refuses,
    the user reads why, and the view then shows the current entry."""
    w, patients, view, uid = course_view
    records = patients.controller.records
    _select(view, "PHQ-9", "2026-12-01")
    stale = view.corrections.selected()
    records.correct_outcome(stale.uid, by="J. Tech", reason="item 9 was 0", items=ITEMS_RIGHT)   # room 2
    dialog = patients.actions_.corrections.correct(stale)
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    dialog.reason.setText("item 9 was 0")
    dialog.spins[8].setValue(1)
    dialog.try_accept()
    alert = dialog.alert_dialog                      # item 9 = 1 still alerts: acknowledged first
    qtbot.waitUntil(lambda: alert is not None and alert.isVisible(), timeout=WAIT_MS)
    alert.seen.setChecked(True)
    alert.name.setText("Dr Amsel")
    alert.ack_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "already corrected" in (getattr(w, "last_error", "") or ""), timeout=WAIT_MS)
    assert "by J. Tech; correct the current entry" in w.last_error
    assert [o.total for o in records.outcomes(uid) if o.scale == "PHQ-9"] == [18, 12]


def test_a_correction_that_raises_the_alert_is_acknowledged_and_noted(course_view, qtbot) -> None:
    """Correcting the baseline's item 9 from 0 to 1 (the form was misread the other way): the alert
    dialog must be acknowledged before the correction is saved, and who acknowledged it goes into the
    course notes (no session of the course is open)."""
    _w, patients, view, uid = course_view
    records = patients.controller.records
    _select(view, "PHQ-9", "2026-11-20")
    qtbot.mouseClick(view.corrections.correct_button, QtCore.Qt.MouseButton.LeftButton)
    dialog = patients.actions_.corrections.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    dialog.reason.setText("item 9 is 1 on the form")
    dialog.spins[8].setValue(1)
    dialog.try_accept()
    alert = dialog.alert_dialog
    qtbot.waitUntil(lambda: alert is not None and alert.isVisible(), timeout=WAIT_MS)
    alert.reject()                                   # not acknowledged: nothing saved
    assert dialog.isVisible() and "must be acknowledged" in dialog.message.text()
    patients.controller.worker.wait_idle(WAIT_MS)
    assert len(records.outcomes(uid, include_retracted=True)) == 3
    dialog.try_accept()
    alert = dialog.alert_dialog
    qtbot.waitUntil(lambda: alert.isVisible(), timeout=WAIT_MS)
    alert.seen.setChecked(True)
    alert.name.setText("Dr Amsel")
    alert.ack_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(records.outcomes(uid, include_retracted=True)) == 4, timeout=WAIT_MS)
    assert "Safety alert (PHQ-9 of 2026-11-20, corrected entry) acknowledged by Dr Amsel" in records.course(uid).notes


def test_no_database_is_a_message(course_view, qtbot) -> None:
    w, patients, view, _uid = course_view
    _select(view, "PHQ-9", "2026-11-20")
    outcome = view.corrections.selected()
    controller = patients.controller
    controller.records, saved = None, controller.records
    controller.error = "server db.clinic.local:5432 is not answering"
    try:
        patients.actions_.corrections._save_retraction(outcome, "Dr Amsel", "duplicate")
        assert "not open" in w.last_error and "not answering" in w.last_error
    finally:
        controller.records, controller.error = saved, ""


def _screenshot(widget: QtWidgets.QWidget, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("TMSNAV_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    QtWidgets.QApplication.processEvents()
    assert widget.grab().save(str(folder / name))
    assert (folder / name).stat().st_size > 10_000


def test_a_reload_with_the_same_entries_keeps_the_selection_and_asks_nothing(course_view, qtbot) -> None:
    """The course view reloads every 3 s while a session is open: the row the user selected to
    correct must stay selected, and Show corrections must not ask the database again each time."""
    w, patients, view, uid = course_view
    bar = view.corrections
    bar.show_box.setChecked(True)
    _reload(qtbot, patients, view, 3)
    _select(view, "MADRS", "2026-12-01")
    asked: list[str] = []
    bar.everyRequested.connect(asked.append)
    patients.reload_course()                               # what the live timer does
    patients.controller.worker.wait_idle(WAIT_MS)
    qtbot.waitUntil(lambda: not patients.controller.worker.pending, timeout=WAIT_MS)
    rows = view.outcomes.selectionModel().selectedRows()
    assert [view.outcomes.item(r.row(), 2).text() for r in rows] == ["MADRS"]
    assert bar.retract_button.isEnabled() and asked == []
    # a changed entry (saved elsewhere) is shown and asked for again
    patients.controller.records.add_outcome(uid, "PHQ-9", "2026-12-03", total=9, items=[None] * 8 + [0])
    patients.reload_course()
    qtbot.waitUntil(lambda: view.outcomes.rowCount() == 4, timeout=WAIT_MS)
    assert asked == [uid]
