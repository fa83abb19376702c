"""Choose and start the pulse sources: where "a pulse happened now" comes from.

The connected stimulator's own pulse reports (MagPro message 2 with the realised dI/dt, foot pedal
and trigger-input pulses included; a Magstim fired from tmsnav) always count while it is
connected. Other sources cover units that report nothing over serial, or pulses fired from
the unit itself (docs/treatment.md, "Pulse sources"):

* TTL-to-serial adapter: one byte per trigger-out edge (:mod:`tmsnav.hardware.triggers.ttl_serial`);
* a modem-status line (CTS/DSR/RI/CD) of a serial port wired to the trigger-out
  (:mod:`tmsnav.hardware.triggers.modem_lines`);
* Lab Streaming Layer markers (:mod:`tmsnav.hardware.triggers.lsl_markers`);
* a footswitch or key (:mod:`tmsnav.hardware.triggers.key_source`): an application-wide event
  filter forwards every key press to it, whatever widget has the focus.

Starting a source opens a device or resolves a stream (seconds for LSL), so it runs on a worker
thread; problems the source reports (ignored bytes, a pulled adapter) are shown in the box.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.hardware.stimulators.base import PulseCallback, PulseSource, StimulatorError
from tmsnav.hardware.triggers.common import SourceProblem
from tmsnav.hardware.triggers.config import PulseSourceConfig

__all__ = ["PulseSourcesBox", "PulseKeyFilter", "SOURCE_KINDS", "make_source"]

log = logging.getLogger(__name__)

#: (key, label, what the text field means)
SOURCE_KINDS = (("ttl", "TTL-to-serial adapter", "port, e.g. /dev/ttyUSB0?byte=0x01&baud=115200"),
                ("modem", "Serial modem line", "port:LINE, e.g. /dev/ttyS0:CTS?edge=rising"),
                ("lsl", "LSL marker stream", "stream name, e.g. TMS-markers?match=pulse"),
                ("key", "Footswitch / key", "key, e.g. F8?min_interval_ms=200"))


class PulseKeyFilter(QtCore.QObject):
    """Application-wide: forwards every key press/release to a KeySource; never eats the key."""

    def __init__(self, source, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if event.type() in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease):
            key_event = event if isinstance(event, QtGui.QKeyEvent) else None
            if key_event is not None:
                self.source.key_event(QtGui.QKeySequence(key_event.key()).toString(),
                                      pressed=event.type() == QtCore.QEvent.Type.KeyPress,
                                      auto_repeat=key_event.isAutoRepeat())
        return False


def make_source(kind: str, text: str, on_problem: Callable[[SourceProblem], None]) -> PulseSource:
    """A pulse source of ``kind`` from the text field (the rest of a pulse-source spec, options
    after ``?``: :mod:`tmsnav.hardware.triggers.config`); ValueError with the reason and an example."""
    text = text.strip()
    cfg = PulseSourceConfig.parse(f"{kind}:{text}" if text else kind)
    return cfg.make(on_problem)


class PulseSourcesBox(QtWidgets.QGroupBox):
    """``sink(event)`` receives every pulse on its source's thread (the pulse recorder)."""

    problem = QtCore.Signal(object)            # SourceProblem, queued to the GUI thread
    _started = QtCore.Signal(object, str)      # (source, "" or why it did not start)

    def __init__(self, sink: PulseCallback, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Pulse sources", parent)
        self.setObjectName("pulse_sources_box")
        self.sink = sink
        self.sources: list[PulseSource] = []
        self.key_filter: PulseKeyFilter | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulse-source-start")
        layout = QtWidgets.QVBoxLayout(self)
        self.stimulator_note = QtWidgets.QLabel("The connected stimulator's own pulse reports are always logged.")
        self.stimulator_note.setWordWrap(True)
        layout.addWidget(self.stimulator_note)
        row = QtWidgets.QHBoxLayout()
        self.kind = QtWidgets.QComboBox()
        self.kind.setObjectName("pulse_source_kind")
        for key, label, _hint in SOURCE_KINDS:
            self.kind.addItem(label, key)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.detail = QtWidgets.QLineEdit()
        self.detail.setObjectName("pulse_source_detail")
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setObjectName("pulse_source_start")
        self.start_button.clicked.connect(self.start_clicked)
        row.addWidget(self.kind)
        row.addWidget(self.detail, 1)
        row.addWidget(self.start_button)
        layout.addLayout(row)
        self.running = QtWidgets.QListWidget()
        self.running.setObjectName("pulse_sources_running")
        self.running.setMaximumHeight(70)
        layout.addWidget(self.running)
        self.stop_button = QtWidgets.QPushButton("Stop selected source")
        self.stop_button.clicked.connect(self.stop_selected)
        layout.addWidget(self.stop_button)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("pulse_source_message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.problem.connect(self._show_problem)
        self._started.connect(self._source_started)
        self._kind_changed()

    def _kind_changed(self) -> None:
        hint = SOURCE_KINDS[self.kind.currentIndex()][2]
        self.detail.setPlaceholderText(hint)
        if self.kind.currentData() == "key" and not self.detail.text():
            self.detail.setText("F8")

    def start_clicked(self) -> None:
        self.start_source(str(self.kind.currentData()), self.detail.text())

    def start_source(self, kind: str, text: str) -> None:
        """Build and start one source (off the GUI thread); the list shows it when it runs."""
        try:
            source = make_source(kind, text, self.problem.emit)
        except ValueError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"Starting {source.name}…")

        def start() -> None:
            try:
                source.start(self.sink)
            except (StimulatorError, OSError, ValueError) as exc:
                self._started.emit(source, str(exc))
            else:
                self._started.emit(source, "")

        self._executor.submit(start)

    def _source_started(self, source: PulseSource, error: str) -> None:
        if error:
            self.message.setText(f"{source.name} did not start: {error}")
            return
        self.sources.append(source)
        describe = getattr(source, "describe", None)
        text = describe() if callable(describe) else source.name
        self.running.addItem(text)
        self.message.setText(f"Running: {text}")
        if hasattr(source, "key_event"):
            self._install_key_filter(source)

    def _install_key_filter(self, source) -> None:
        app = QtWidgets.QApplication.instance()
        if app is None:
            return
        self._remove_key_filter()
        self.key_filter = PulseKeyFilter(source, self)
        app.installEventFilter(self.key_filter)

    def _remove_key_filter(self) -> None:
        app = QtWidgets.QApplication.instance()
        if self.key_filter is not None and app is not None:
            app.removeEventFilter(self.key_filter)
        self.key_filter = None

    def stop_selected(self) -> None:
        row = self.running.currentRow()
        if row < 0:
            return
        self._stop(row)

    def _stop(self, row: int) -> None:
        source = self.sources.pop(row)
        self.running.takeItem(row)
        if self.key_filter is not None and self.key_filter.source is source:
            self._remove_key_filter()
        source.stop()
        self.message.setText(f"Stopped {source.name}.")

    def _show_problem(self, problem: SourceProblem) -> None:
        prefix = "STOPPED: " if problem.fatal else ""
        self.message.setText(f"{prefix}{problem.source}: {problem.message}")
        if problem.fatal:
            self.message.setStyleSheet("color: #b00020; font-weight: bold")

    def shutdown(self) -> None:
        while self.sources:
            self._stop(0)
        self._executor.shutdown(wait=True)
