"""The running job's words in the status bar: one line, elided with the whole text in the
tooltip, never squeezed into the progress bar (it wrapped into two clipped lines there)."""

import threading

import pytest
from PySide6 import QtCore

from tmsnav.app.job_progress import MIN_PX
from tmsnav.app.main_window import MainWindow

pytestmark = pytest.mark.gui
STEP = "Computing the e-field on 24000 cortex points, handle angle 35 of 72 (the slow part)"


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)])
def test_progress_text_is_one_elided_line_with_the_whole_text_in_its_tooltip(qtbot, size):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    release = threading.Event()

    def job(progress=None, cancel=None):
        progress(0.37, STEP)
        release.wait(30)

    w.jobs.run(job, "Computing the e-field", lambda _r: None)
    label, bar = w.progress_label, w.progress
    try:
        qtbot.waitUntil(lambda: bar.value() == 370 and label.toolTip().endswith(STEP), timeout=10_000)
        qtbot.waitUntil(lambda: label.isVisible() and label.width() >= MIN_PX, timeout=5_000)
        assert bar.format() == "%p%" and bar.text() == "37%"            # no words in the bar
        assert label.toolTip() == f"Computing the e-field: {STEP}"
        fm = label.fontMetrics()
        assert not label.wordWrap() and label.height() < 2 * fm.height()  # one line
        assert fm.horizontalAdvance(label.text()) <= label.width()        # nothing clipped
        assert label.text().startswith("Computing the e-field: Comp")         # the step shows
        if fm.horizontalAdvance(label.toolTip()) > label.width():
            assert label.text().endswith("…")                            # cut visibly, not silently
    finally:
        release.set()
        assert w.wait_for_job(30_000)
    assert not label.isVisible() and not bar.isVisible()
    w.close()


def test_a_new_job_starts_with_its_own_title_only(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.progress_label.set_title("First")
    w.progress_label.set_step("step of the first job")
    w.progress_label.set_title("Second")
    assert w.progress_label.toolTip() == "Second"
    assert QtCore.QSize(w.progress_label.sizeHint()).width() >= MIN_PX
    w.close()
