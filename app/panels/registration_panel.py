"""The Registration tab: the technician's step-by-step patient registration.

Seven steps (tool check, pointer pivot, coil, fiducials, scalp points, result, verify) in a list
that shows each one as done, needing a redo, or to do; Back / Next; any step can be opened
again from the list. When a step produces a new output, the steps that depend on it are marked
"needs redo" (a new pointer calibration voids every touched point). A footswitch (most are USB
keyboards) triggers the current step's capture: the key is configurable (default F12) and Space
works too while the panel has keyboard focus. A step is never marked done before the steps it
needs (``PREREQUISITES``: pivot before fiducials, fiducials before the scalp points and the
result, an accepted result before Verify).
"""

from __future__ import annotations

from functools import partial

from PySide6 import QtCore, QtGui, QtWidgets

from ..registration.base import StepWidget
from ..registration.coil_step import CoilStep
from ..registration.context import WorkflowContext
from ..registration.fiducial_step import FiducialStep
from ..registration.overlays import clear_overlays
from ..registration.pivot_step import PivotStep
from ..registration.result_step import ResultStep
from ..registration.scalp_step import ScalpStep
from ..registration.tool_check import ToolCheckStep
from ..registration.verify_step import VerifyStep

__all__ = ["RegistrationPanel", "DEFAULT_CAPTURE_KEY", "DOWNSTREAM", "PREREQUISITES"]

DEFAULT_CAPTURE_KEY = "F12"
SETTINGS_KEY = "registration/capture_key"
STEP_CLASSES = (ToolCheckStep, PivotStep, CoilStep, FiducialStep, ScalpStep, ResultStep,
                VerifyStep)
#: A new output of the key step voids what these steps produced.
DOWNSTREAM = {"tools": (), "pivot": ("fiducials", "scalp", "result", "verify"), "coil": (),
              "fiducials": ("scalp", "result", "verify"), "scalp": ("result", "verify"),
              "result": ("verify",), "verify": ()}
#: A step can be completed only once these steps have their output (checked on the data, e.g. a
#: pointer calibration for the fiducials, an accepted registration for Verify).
PREREQUISITES = {"fiducials": ("pivot",), "scalp": ("fiducials",), "result": ("fiducials",),
                 "verify": ("result",)}
STATUS_LOOK = {"todo": ("", "#757575"), "done": ("✓ done", "#2e7d32"),
               "redo": ("↻ needs redo", "#ef6c00")}


class RegistrationPanel(QtWidgets.QWidget):
    stepChanged = QtCore.Signal(str)

    def __init__(self, window, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("registration_panel")
        self.window_ = window
        self.ctx = WorkflowContext(window)
        self.steps: list[StepWidget] = [cls(self.ctx) for cls in STEP_CLASSES]
        self.status = {s.key: "todo" for s in self.steps}
        self.current_index = -1

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.step_list = QtWidgets.QListWidget()
        self.step_list.setObjectName("registration_steps")
        self.step_list.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.step_list)
        self.stack = QtWidgets.QStackedWidget()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.stack)
        layout.addWidget(scroll, 1)
        self.nav_reason = QtWidgets.QLabel("")
        self.nav_reason.setObjectName("registration_nav_reason")
        self.nav_reason.setWordWrap(True)
        self.nav_reason.setStyleSheet("color: grey")
        layout.addWidget(self.nav_reason)
        nav = QtWidgets.QHBoxLayout()
        self.back_button = QtWidgets.QPushButton("◀ Back")
        self.back_button.setObjectName("registration_back")
        self.back_button.clicked.connect(self.back)
        self.next_button = QtWidgets.QPushButton("Next ▶")
        self.next_button.setObjectName("registration_next")
        self.next_button.clicked.connect(self.next)
        nav.addWidget(self.back_button)
        nav.addWidget(self.next_button)
        layout.addLayout(nav)
        keys = QtWidgets.QHBoxLayout()
        keys.addWidget(QtWidgets.QLabel("Capture key (footswitch):"))
        self.key_edit = QtWidgets.QKeySequenceEdit()
        self.key_edit.setObjectName("registration_capture_key")
        self.key_edit.setMaximumSequenceLength(1)
        self.key_edit.editingFinished.connect(self._key_edited)
        keys.addWidget(self.key_edit, 1)
        layout.addLayout(keys)

        for step in self.steps:
            self.step_list.addItem(QtWidgets.QListWidgetItem(step.title))
            self.stack.addWidget(step)
            step.outputChanged.connect(partial(self._output_changed, step.key))
            step.readyChanged.connect(self._update_nav)
            step.goTo.connect(self.go_to)
        self.step_list.currentRowChanged.connect(self._row_clicked)
        rows = sum(self.step_list.sizeHintForRow(i) for i in range(len(self.steps)))
        self.step_list.setFixedHeight(rows + 2 * self.step_list.frameWidth() + 4)
        self._capture_shortcut = QtGui.QShortcut(self)
        self._capture_shortcut.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        self._capture_shortcut.activated.connect(self.capture)
        self._space_shortcut = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Space), self)
        self._space_shortcut.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._space_shortcut.activated.connect(self.capture)
        saved = QtCore.QSettings("tmsnav", "tmsnav").value(SETTINGS_KEY, DEFAULT_CAPTURE_KEY)
        # QSettings gives back whatever the file holds; a damaged or foreign value is not a key
        self.set_capture_key(saved if isinstance(saved, str) else DEFAULT_CAPTURE_KEY, save=False)
        window.tracking.updated.connect(self._on_snapshot)
        window.state.headChanged.connect(self._head_changed)
        self.go_to("tools")

    # ----- steps --------------------------------------------------------------------------
    def step(self, key: str) -> StepWidget:
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(key)

    @property
    def current(self) -> StepWidget:
        return self.steps[self.current_index]

    def go_to(self, key: str) -> None:
        index = [s.key for s in self.steps].index(key)
        if index == self.current_index:
            self.current.enter()
            self._update_nav()
            return
        if self.current_index >= 0:
            self.current.leave()
        self.current_index = index
        self.stack.setCurrentIndex(index)
        self.step_list.blockSignals(True)
        self.step_list.setCurrentRow(index)
        self.step_list.blockSignals(False)
        self.current.enter()
        self._refresh_list()
        self._update_nav()
        self.stepChanged.emit(key)

    def missing_prerequisite(self, key: str) -> str:
        """Why step ``key`` cannot be completed yet ("" when its prerequisites are met)."""
        for before in PREREQUISITES.get(key, ()):
            step = self.step(before)
            ok, why = step.ready()
            if self.status[before] == "redo" and not ok:
                return f"First redo {step.title}: {why}"
            if not ok:
                return f"First complete {step.title}: {why}"
        return ""

    def _row_clicked(self, row: int) -> None:
        if 0 <= row < len(self.steps):
            self.go_to(self.steps[row].key)

    def next(self) -> None:
        step = self.current
        ok, _why = step.ready()
        if not ok or self.missing_prerequisite(step.key):
            return
        if step.finish() and self.status[step.key] != "done":
            self.status[step.key] = "done"
        if self.current_index + 1 < len(self.steps):
            self.go_to(self.steps[self.current_index + 1].key)
        else:
            self._refresh_list()

    def back(self) -> None:
        if self.current_index > 0:
            self.go_to(self.steps[self.current_index - 1].key)

    def _output_changed(self, key: str, valid: bool) -> None:
        if valid and not self.missing_prerequisite(key):
            self.status[key] = "done"
        elif self.status[key] == "done":
            self.status[key] = "redo"
        for later in DOWNSTREAM[key]:
            if self.status[later] == "done":
                self.status[later] = "redo"
        if key == "pivot" and valid:
            coil = self.step("coil")
            if getattr(coil, "uses_pointer", False) and self.status["coil"] == "done":
                self.status["coil"] = "redo"
            if self.ctx.touched or len(self.ctx.scalp_points):
                self.ctx.clear_touches()       # touched with the old tip offset: void
        self._refresh_list()
        self._update_nav()

    def _refresh_list(self) -> None:
        for i, step in enumerate(self.steps):
            item = self.step_list.item(i)
            text, colour = STATUS_LOOK[self.status[step.key]]
            marker = "▶ " if i == self.current_index else "    "
            item.setText(f"{marker}{step.title}" + (f"   {text}" if text else ""))
            item.setForeground(QtGui.QBrush(QtGui.QColor(colour if text else "#212121")))
            font = item.font()
            font.setBold(i == self.current_index)
            item.setFont(font)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, self.status[step.key])

    def _update_nav(self) -> None:
        ok, why = self.current.ready()
        last = self.current_index == len(self.steps) - 1
        missing = self.missing_prerequisite(self.current.key)
        self.next_button.setEnabled(ok and not last and not missing)
        self.back_button.setEnabled(self.current_index > 0)
        self.nav_reason.setText(missing or ("" if ok or last else why))

    def _head_changed(self, _head) -> None:
        for key in ("fiducials", "scalp", "result", "verify"):
            if self.status[key] == "done":
                self.status[key] = "redo"
        clear_overlays(self.window_)
        self.current.enter()
        self._refresh_list()
        self._update_nav()

    def _on_snapshot(self, snap) -> None:
        step = self.current
        if self.isVisible() or getattr(step, "collecting", False):
            step.on_snapshot(snap)
            if step.key == "tools":
                self._update_nav()

    # ----- footswitch ---------------------------------------------------------------------
    def capture(self) -> None:
        """The capture key / footswitch: the current step decides what it does."""
        self.current.capture()

    @property
    def capture_key(self) -> str:
        return self._capture_shortcut.key().toString()

    def set_capture_key(self, key: str | QtGui.QKeySequence, save: bool = True) -> None:
        seq = QtGui.QKeySequence(key)
        if seq.isEmpty():
            seq = QtGui.QKeySequence(DEFAULT_CAPTURE_KEY)
        self._capture_shortcut.setKey(seq)
        self.key_edit.blockSignals(True)
        self.key_edit.setKeySequence(seq)
        self.key_edit.blockSignals(False)
        if save:
            QtCore.QSettings("tmsnav", "tmsnav").setValue(SETTINGS_KEY, seq.toString())

    def _key_edited(self) -> None:
        self.set_capture_key(self.key_edit.keySequence())
