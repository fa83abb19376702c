"""The job runner: one job at a time (a second is refused with a message, not queued), progress
reaches the bar, Cancel stops the work, and the result arrives on the GUI thread."""

from __future__ import annotations

import threading

from PySide6 import QtCore, QtWidgets

from tmsnav.app.job_runner import JobRunner
from tmsnav.navigation.errors import NavigationError


def _runner(qtbot) -> tuple[JobRunner, QtWidgets.QMainWindow]:
    win = QtWidgets.QMainWindow()
    qtbot.addWidget(win)
    return JobRunner(win.statusBar(), win), win


def test_a_second_job_is_refused_while_one_runs_and_the_first_finishes(qtbot):
    runner, _win = _runner(qtbot)
    release = threading.Event()
    results: list[object] = []
    refusals: list[tuple[str, str]] = []
    runner.refused.connect(lambda t, m: refusals.append((t, m)))

    def first(progress=None, cancel=None):
        progress(0.5, "half way")
        release.wait(30)
        return "first", threading.current_thread() is threading.main_thread()

    assert runner.run(first, "First", results.append) is not None
    assert runner.run(lambda progress=None, cancel=None: "second", "Second", results.append) is None
    assert refusals and refusals[0][0] == "Busy" and "still running" in refusals[0][1]
    qtbot.waitUntil(lambda: runner.progress.value() == 500, timeout=10_000)
    release.set()
    assert runner.wait(30_000)
    assert results == [("first", False)]        # ran off the GUI thread; second never ran
    assert not runner.progress.isVisibleTo(runner.progress.parentWidget())


def test_cancel_stops_the_job_and_says_so(qtbot):
    runner, win = _runner(qtbot)
    started = threading.Event()
    results: list[object] = []

    def endless(progress=None, cancel=None):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            QtCore.QThread.msleep(5)

    runner.run(endless, "Endless", results.append)
    assert started.wait(30)
    runner.cancel_button.click()
    assert runner.wait(30_000) and results == []
    qtbot.waitUntil(lambda: "Endless: cancelled" in win.statusBar().currentMessage(), timeout=5000)


def test_a_failure_reaches_the_owner_with_its_title_and_words(qtbot):
    runner, _win = _runner(qtbot)
    failures: list[tuple[str, str]] = []
    runner.failed.connect(lambda title, msg, job: failures.append((title, msg)))

    def broken(progress=None, cancel=None):
        raise NavigationError("the file has no voxels")

    runner.run(broken, "Opening scan", lambda _r: None)
    assert runner.wait(30_000)
    assert failures == [("Opening scan", "the file has no voxels")]

