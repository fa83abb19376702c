"""The outcome entry dialog, the safety alert dialog and the course view's banner and plot
(app/records/outcome_entry.py, safety_alert.py, outcome_plot.py).

With TMSNAV_SCREENSHOT_DIR set, the screenshots (outcome-entry.png, safety-alert.png,
outcome-banner-plot.png) are kept there (docs/images)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from tmsnav.app.records.outcome_entry import OutcomeEntryDialog
from tmsnav.app.records.outcome_plot import OutcomePlot
from tmsnav.app.records.safety_alert import SafetyAlertDialog, SafetyBanner

FIXED_NOW = dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.timezone.utc)
TODAY = dt.date(2026, 12, 5)


@dataclass(frozen=True)
class Outcome:
    scale: str
    assessed_on: str
    total: int
    items: tuple[int | None, ...] | None = None
    uid: str = ""
    timepoint: str = ""
    entered_utc: str = ""


def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("TMSNAV_SCREENSHOT_DIR", tmp_path))


def make_dialog(qtbot, scale: str = "PHQ-9") -> OutcomeEntryDialog:
    dialog = OutcomeEntryDialog(None, scale=scale, rater="Dr A", today=TODAY, acknowledger="Dr A",
                                now=lambda: FIXED_NOW)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def set_items(dialog: OutcomeEntryDialog, values) -> None:
    for spin, v in zip(dialog.spins, values):
        spin.setValue(v)


def test_item_by_item_live_total_band_and_values(qtbot, tmp_path) -> None:
    dialog = make_dialog(qtbot, "QIDS-SR16")
    assert [s.maximum() for s in dialog.spins] == [3] * 16
    set_items(dialog, [1, 3, 0, 2, 2, 0, 1, 3, 0, 1, 2, 0, 1, 2, 0])   # 15 of 16
    assert "15 of 16 items entered; missing: 16" in dialog.live.text()
    dialog.spins[15].setValue(3)
    assert "Total 17" in dialog.live.text() and "severe" in dialog.live.text()
    dialog.timepoint.setCurrentText("week 2")
    dialog.grab().save(str(shots(tmp_path) / "outcome-entry.png"))
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.save_button.click()
    v = dialog.result_values()
    assert (v.scale, v.assessed_on, v.timepoint, v.rater, v.total) == ("QIDS-SR16", "2026-12-05", "week 2", "Dr A", 17)
    assert v.items == [1, 3, 0, 2, 2, 0, 1, 3, 0, 1, 2, 0, 1, 2, 0, 3]
    assert v.acknowledgement is None


def test_hdrs_spin_boxes_have_each_items_range(qtbot) -> None:
    dialog = make_dialog(qtbot, "HDRS-17")
    assert [s.maximum() for s in dialog.spins] == [4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 4, 2, 2, 2, 4, 2, 2]
    dialog.spins[3].setValue(5)                     # the spin box itself cannot exceed 2
    assert dialog.spins[3].value() == 2
    dialog.scale.setCurrentIndex(dialog.scale.findData("MADRS"))
    assert len(dialog.spins) == 10 and dialog.spins[0].maximum() == 6


def test_missing_items_refused_naming_them(qtbot) -> None:
    dialog = make_dialog(qtbot)
    set_items(dialog, [1, 1, -1, 1, 1, 1, 1, 1, -1])
    dialog.save_button.click()
    assert dialog.result() != QtWidgets.QDialog.DialogCode.Accepted and dialog.isVisible()
    assert "items 3 (sleep), 9 (thoughts of death or self-harm) missing" in dialog.message.text()
    with pytest.raises(RuntimeError):
        dialog.result_values()


@pytest.mark.safety(hazard="suicide-risk",
                    control="entering item 9 above 0 opens an alert that is saved only with a name and a tick")
def test_item9_with_total_one_raises_the_alert_that_must_be_acknowledged(qtbot, tmp_path) -> None:
    dialog = make_dialog(qtbot)
    set_items(dialog, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert "Total 1" in dialog.live.text() and "safety alert will be raised" in dialog.live.text()
    dialog.save_button.click()
    alert = dialog.alert_dialog
    assert alert is not None and alert.isModal() and alert.isVisible()
    assert "item 9" in alert.findChild(QtWidgets.QLabel, "safety_alert_text").text()
    assert not alert.ack_button.isEnabled()         # needs the tick
    alert.grab().save(str(shots(tmp_path) / "safety-alert.png"))
    # going back does not save
    alert.reject()
    assert not dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    assert "must be acknowledged" in dialog.message.text()
    # second try: acknowledge
    dialog.save_button.click()
    alert = dialog.alert_dialog
    alert.name.setText("")
    alert.seen.setChecked(True)
    assert not alert.ack_button.isEnabled()         # needs a name too
    alert.name.setText("Dr B")
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        alert.ack_button.click()
    v = dialog.result_values()
    assert v.total == 1 and v.items == [0] * 8 + [1]
    assert v.acknowledgement is not None
    assert (v.acknowledgement.by, v.acknowledgement.at_utc) == ("Dr B", "2026-12-05T09:30:00+00:00")
    assert "item 9" in v.acknowledgement.messages[0]


def test_totals_only_phq9_asks_for_item9(qtbot, tmp_path) -> None:
    dialog = make_dialog(qtbot)
    dialog.by_total.setChecked(True)
    note = dialog.safety_note.text()
    assert "cannot show PHQ-9 item 9" in note and dialog.safety_note.isVisible()
    dialog.total.setValue(3)
    dialog.save_button.click()
    assert "Choose PHQ-9 item 9" in dialog.message.text()
    dialog.grab().save(str(shots(tmp_path) / "outcome-entry-total.png"))
    assert dialog.result() != QtWidgets.QDialog.DialogCode.Accepted
    # item 9 = 2 with a total of 3: alert
    dialog.safety.setCurrentIndex(dialog.safety.findData(2))
    dialog.save_button.click()
    assert dialog.alert_dialog is not None and dialog.alert_dialog.isVisible()
    dialog.alert_dialog.seen.setChecked(True)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.alert_dialog.ack_button.click()
    v = dialog.result_values()
    assert v.total == 3 and v.items == [None] * 8 + [2] and not v.score.complete


def test_totals_only_with_item9_not_asked_on_purpose(qtbot) -> None:
    dialog = make_dialog(qtbot)
    dialog.by_total.setChecked(True)
    dialog.total.setValue(12)
    dialog.safety.setCurrentIndex(dialog.safety.findData("unknown"))
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.save_button.click()
    v = dialog.result_values()
    assert v.items is None and v.total == 12 and v.score.band == "moderate"


def test_totals_only_needs_a_total_and_items_within_it(qtbot) -> None:
    dialog = make_dialog(qtbot)
    dialog.by_total.setChecked(True)
    dialog.safety.setCurrentIndex(dialog.safety.findData(0))
    dialog.save_button.click()
    assert "Enter the PHQ-9 total (0-27)" in dialog.message.text()
    dialog.total.setValue(2)
    dialog.safety.setCurrentIndex(dialog.safety.findData(3))
    dialog.save_button.click()
    assert "lower than the known items" in dialog.message.text()
    assert dialog.alert_dialog is None


def test_future_date_refused(qtbot) -> None:
    dialog = make_dialog(qtbot)
    assert dialog.date.maximumDate() == QtCore.QDate(2026, 12, 5)
    dialog._today = dt.date(2026, 12, 1)            # the day changed while the dialog was open
    set_items(dialog, [1] * 9)
    dialog.save_button.click()
    assert "in the future" in dialog.message.text()


def test_alert_dialog_records_who_and_when(qtbot) -> None:
    alert = SafetyAlertDialog(["PHQ-9 item 9 is 1"], acknowledger="nurse", now=lambda: FIXED_NOW)
    qtbot.addWidget(alert)
    alert.show()
    alert.seen.setChecked(True)
    with qtbot.waitSignal(alert.accepted, timeout=5000):
        alert.ack_button.click()
    assert alert.acknowledgement.by == "nurse" and alert.acknowledgement.at_utc.startswith("2026-12-05T09:30")


def phq(day: str, total: int, item9: int | None) -> Outcome:
    items = None if item9 is None else tuple([min(3, max(0, total - item9 - 3 * k)) for k in range(8)] + [item9])
    return Outcome("PHQ-9", day, total, items)


def test_banner_red_until_a_newer_assessment_clears_it_and_plot(qtbot, tmp_path) -> None:
    holder = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(holder)
    banner = SafetyBanner()
    plot = OutcomePlot()
    layout.addWidget(banner)
    layout.addWidget(plot)
    qtbot.addWidget(holder)
    holder.resize(900, 520)
    holder.show()
    qtbot.waitExposed(holder)
    assert not banner.isVisible()
    course = [phq("2026-11-02", 20, 0), Outcome("HDRS-17", "2026-11-02", 24), phq("2026-11-16", 9, 0),
              Outcome("HDRS-17", "2026-11-20", 12), phq("2026-11-30", 1, 1)]
    banner.set_outcomes(course)
    plot.set_outcomes(course)
    assert banner.isVisible() and banner.is_alert
    assert "SAFETY ALERT" in banner.text() and "PHQ-9 item 9" in banner.text() and "2026-11-30" in banner.text()
    assert "b00020" in banner.styleSheet()
    assert banner.height() < 140                         # a banner, not half the view
    holder.grab().save(str(shots(tmp_path) / "outcome-banner-plot.png"))
    img = plot.canvas.grab().toImage()
    assert img.width() > 300 and plot.message == ""
    # a newer totals-only PHQ-9 does not clear it
    banner.set_outcomes(course + [phq("2026-12-03", 0, None)])
    assert banner.is_alert
    # a newer PHQ-9 with item 9 = 0 does
    banner.set_outcomes(course + [phq("2026-12-04", 2, 0)])
    assert not banner.is_alert and "SAFETY ALERT" not in banner.text()
    assert "HDRS-17 item 3" in banner.text()            # amber: the HDRS totals did not record item 3
    banner.set_outcomes([phq("2026-11-02", 20, 0), phq("2026-12-04", 2, 0)])
    assert not banner.isVisible()
    # latest entered as a total without item 9 and no alert: the amber note
    banner.set_outcomes([phq("2026-12-04", 2, None)])
    assert banner.isVisible() and not banner.is_alert and "item 9" in banner.text()


def test_plot_draws_bands_and_survives_a_bad_row(qtbot) -> None:
    plot = OutcomePlot()
    qtbot.addWidget(plot)
    plot.resize(700, 320)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_outcomes([phq("2026-11-02", 20, 0), phq("2026-11-20", 8, 0)])
    assert len(plot.figure.axes) == 1 and plot.figure.axes[0].get_title().startswith("PHQ-9")
    plot.canvas.draw()
    rgba = np.asarray(plot.canvas.buffer_rgba())
    assert (np.abs(rgba[..., :3].astype(int) - [0xE3, 0xF2, 0xE1]).max(axis=-1) < 3).any()   # minimal band
    plot.set_outcomes([Outcome("PHQ-9", "2026-11-02", 40)])
    assert "outside 0-27" in plot.message


def test_plot_redraws_only_when_the_assessments_change(qtbot) -> None:
    """The course view reloads every 3 s during a session; an unchanged course must not cost the
    GUI thread a matplotlib redraw each time (it stalled the Navigate view sharing the thread)."""
    plot = OutcomePlot()
    qtbot.addWidget(plot)
    course = [phq("2026-11-02", 20, 0), phq("2026-11-20", 8, 0)]
    plot.set_outcomes(course)
    drawn = plot.draws
    plot.set_outcomes(list(course))                       # the same rows, read again
    assert plot.draws == drawn
    plot.set_outcomes(course + [phq("2026-11-27", 6, 0)])  # a new assessment redraws
    assert plot.draws == drawn + 1
    assert plot.figure.axes[0].get_title().startswith("PHQ-9")
    plot.set_outcomes([Outcome("PHQ-9", "2026-11-02", 40)])
    assert "outside 0-27" in plot.message
    plot.set_outcomes([Outcome("PHQ-9", "2026-11-02", 40)])  # still refused, message kept
    assert "outside 0-27" in plot.message
