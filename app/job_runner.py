"""One background job at a time, with its progress in the status bar and a Cancel button.

Every long task of the window and its panels (opening an image, MNI registration, adding a
target, the e-field, loading a brain) goes through :meth:`JobRunner.run`: the work runs on a
:class:`tmsnav.app.workers.Job` thread, the GUI thread only shows progress, so a click keeps
answering. One job at a time, because two jobs writing the same head (say, a new image while a
target is being planned on the old one) would leave the plan on the wrong image; a second
request is refused with a message instead of queued.

Panels receive the runner itself, not the main window: they need "run this off the GUI thread",
nothing else of the window (and importing the window would tie them into an import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtWidgets

from .job_progress import ProgressText
from .workers import Job

__all__ = ["JobRunner"]


class JobRunner(QtCore.QObject):
    #: (title, user message, job) when a job fails; the owner decides what to show.
    failed = QtCore.Signal(str, str, object)
    #: ("Busy" message) when a job is asked for while another runs.
    refused = QtCore.Signal(str, str)

    def __init__(self, status_bar: QtWidgets.QStatusBar, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.job: Job | None = None
        self._status_bar = status_bar
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p%")
        self.progress.setMaximumWidth(120)
        self.progress_label = ProgressText()    # "title: step" on one line (the bar shows %)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        for w in self._widgets():
            w.hide()
            status_bar.addPermanentWidget(w)

    def _widgets(self) -> tuple[QtWidgets.QWidget, ...]:
        return (self.progress_label, self.progress, self.cancel_button)

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.isRunning()

    def run(self, fn: Callable[..., Any], title: str, on_success: Callable[[Any], object],
            context: object = None) -> Job | None:
        """Start ``fn(progress=..., cancel=...)`` on a worker thread; ``on_success(result)`` runs
        on the GUI thread. Returns the job, or None (and emits ``refused``) when one is running."""
        if self.busy:
            self.refused.emit("Busy", "Another operation is still running; wait or cancel it first.")
            return None
        job = Job(fn, name=title, parent=self)
        job.context = context
        job.signals.progress.connect(self._on_progress)
        job.signals.succeeded.connect(on_success)
        job.signals.failed.connect(lambda msg: self.failed.emit(title, msg, job))
        job.signals.cancelled.connect(
            lambda: self._status_bar.showMessage(f"{title}: cancelled", 5000))
        job.signals.finished.connect(self._on_finished)
        self.job = job
        self.progress_label.set_title(title)
        self.progress.setValue(0)
        for w in self._widgets():
            w.show()
        job.start()
        return job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def stop(self, timeout_ms: int = 5000) -> None:
        """Cancel and wait (window closing): no worker thread may outlive its window."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait(timeout_ms)

    def wait(self, timeout_ms: int = 120_000) -> bool:
        """Block (processing events) until the running job ends; for the CLI and tests."""
        timer = QtCore.QElapsedTimer()
        timer.start()
        while self.job is not None and timer.elapsed() < timeout_ms:
            QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            QtCore.QThread.msleep(5)
        return self.job is None

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress_label.set_step(message)

    def _on_finished(self) -> None:
        for w in self._widgets():
            w.hide()
        if self.job is not None:
            self.job.wait()
        self.job = None
