"""The qEEG tab: a clinic's resting EEG in, its measures and spectra on screen, the chosen measure
painted on the patient's 3-D scalp, and the rule table's suggestion out as a tmsnav target.

The tab wires widgets to ``tmsnav.navigation.eeg``: reading, cleaning, the measures, the
suggestion and the electrode placement run as one job on the window's
:class:`~tmsnav.app.job_runner.JobRunner` (progress bar, Cancel, the window keeps answering). A
bad file fails that job and the window shows its message; the tab keeps the previous result.
"Add as target" goes through the Planning tab's undo stack, so Edit > Undo removes it and the
session records it like any other target.

It is decision support: every suggestion shows its reasons with numbers and its citations, and
the clinician confirms (docs/qeeg.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.errors import NavigationError

from ..planning.context import HeadGeometry
from ..window_protocols import PlanningWindow
from .analysis import (ElectrodeInput, Electrodes, QeegResult, analyse_eeg, place_on_head,
                       write_sample_eeg)
from .digitise_box import DigitiseElectrodesBox
from .load_box import EegLoadBox
from .measures_box import MeasuresBox, bar_title, measure_values
from .plots import CMAP, EegPlots, colour_limits
from .suggestion_box import SuggestionBox

__all__ = ["QeegPanel", "QeegWindow"]


class QeegWindow(PlanningWindow, Protocol):
    """The window parts the qEEG tab uses: the planning parts plus the Planning tab (its undo
    stack and the landmarks the user set there)."""

    @property
    def planning_panel(self) -> Any: ...


class QeegPanel(QtWidgets.QScrollArea):
    resultShown = QtCore.Signal(object)     # QeegResult
    targetAdded = QtCore.Signal(object)     # Target
    mapShown = QtCore.Signal(str)           # the measure key painted on the head

    def __init__(self, window: QeegWindow, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("qeeg_panel")
        self.main = window
        self.state = window.state
        self.result: QeegResult | None = None
        self.electrodes: Electrodes | None = None
        self.path: Path | None = None
        self._geometry: HeadGeometry | None = None
        self.last_map: np.ndarray | None = None    # per-vertex values last painted
        self._look_from_top = False                 # turn the 3-D view to "top" at the next map
        self._electrodes_drawn: tuple[Electrodes, str | None] | None = None   # drawn, highlight

        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.load_box = EegLoadBox()
        self.measures_box = MeasuresBox()
        self.plots = EegPlots()
        self.suggestion_box = SuggestionBox()
        self.electrode_source = QtWidgets.QLabel("No electrode positions yet.")
        self.electrode_source.setObjectName("qeeg_electrode_source")
        self.electrode_source.setWordWrap(True)
        self.digitise_box = DigitiseElectrodesBox(window)   # template, pointer or BIDS file
        for w in (self.load_box, self.suggestion_box, self.measures_box, self.plots,
                  self.electrode_source, self.digitise_box):
            layout.addWidget(w)
        layout.addStretch(1)
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.load_box.openRequested.connect(self.load_file)
        self.load_box.reloadRequested.connect(self.reload)
        self.measures_box.measureChosen.connect(self.paint_measure)
        self.digitise_box.positionsChanged.connect(self._positions_from_box)
        self.suggestion_box.addRequested.connect(self.add_suggestion_target)
        self.state.headChanged.connect(self._head_changed)

    # ----- loading ------------------------------------------------------------------------
    def _electrode_input(self) -> ElectrodeInput | None:
        """Template placement inputs, or None without a head (or with user-given electrodes)."""
        if self.electrodes is not None and self.electrodes.source != "template":
            return None
        try:
            geo = self.head_geometry()
        except NavigationError:
            return None
        return ElectrodeInput(geo, dict(self.main.planning_panel.landmark_overrides))

    def head_geometry(self) -> HeadGeometry:
        """The open head's worker-safe scalp/brain (built once per head, on the GUI thread)."""
        head = self.state.head
        if self._geometry is None or self._geometry.head is not head:
            self._geometry = HeadGeometry(head)    # raises "load an MRI ... first"
        return self._geometry

    def load_file(self, path: str | Path) -> None:
        """Read, clean and measure ``path`` in a job; shows the result or the file's problem."""
        from ..logging_setup import add_identifying_path

        add_identifying_path(path)        # EEG files are often named after the patient
        path = Path(path)
        params = self.load_box.params_kwargs()
        inputs = self._electrode_input()
        name = path.name
        self.main.jobs.run(lambda progress, cancel: analyse_eeg(path, name, params, inputs, progress, cancel),
                           f"Opening EEG {name}", lambda r: self._result_ready(r, path),
                           context=("eeg", str(path)))

    def reload(self) -> None:
        if self.path is not None:
            self.load_file(self.path)

    def open_sample_eeg(self) -> None:
        """File > Open sample EEG: write the synthetic recording to the user cache, then load it."""
        params = self.load_box.params_kwargs()
        inputs = self._electrode_input()

        def job(progress, cancel) -> tuple[QeegResult, Path]:
            path = write_sample_eeg(progress, cancel)
            return analyse_eeg(path, "sample EEG (synthetic)", params, inputs, progress, cancel), path

        self.main.jobs.run(job, "Opening the sample EEG", lambda rp: self._result_ready(*rp),
                           context=("eeg", "sample"))

    def _result_ready(self, result: QeegResult, path: Path) -> None:
        self.result = result
        self.path = path
        self._look_from_top = True
        self._electrodes_drawn = None
        lines = self.load_box.show_result(result.display_name, result.recording, result.clean)
        if result.electrodes is not None and result.electrodes.head is self.state.head:
            self.electrodes = result.electrodes
        self._show_electrode_source(result.electrode_problem)
        self.suggestion_box.show_suggestions(result.suggestions)
        self.digitise_box.set_channels(list(result.recording.channels))
        self.plots.set_measures(result.measures)
        self.measures_box.show_measures(result.measures)     # paints the chosen measure
        self.main.statusBar().showMessage(f"qEEG: {lines[0]}", 15000)
        self.resultShown.emit(result)

    # ----- electrodes ---------------------------------------------------------------------
    def _show_electrode_source(self, problem: str = "") -> None:
        e = self.electrodes
        if e is not None and e.head is self.state.head:
            self._source_text(f"Map electrodes: {e.note}")
        else:
            self._source_text(problem or "No electrode positions on this head yet: press Template "
                              "positions below (or digitise the cap).", problem=True)

    def _source_text(self, text: str, problem: bool = False) -> None:
        self.electrode_source.setText(text)
        self.electrode_source.setStyleSheet("color: #b00020" if problem else "")

    def _positions_from_box(self, positions: dict[str, np.ndarray]) -> None:
        """The electrode box placed, digitised or loaded positions: use them from now on."""
        dig = self.digitise_box.digitisation
        touched = dig is not None and bool(dig.captured())
        how = "digitised with the pointer or read from a BIDS file" if touched else \
            "template positions on this head"
        self.set_electrodes(Electrodes(dict(positions), "digitised" if touched else "template",
                                       f"{len(positions)} electrodes, {how} (electrode box below)",
                                       self.state.head, from_box=True))

    def set_electrodes(self, electrodes: Electrodes) -> None:
        """Use these positions (template, digitised or from a file) for the map and the targets."""
        if electrodes.head is not self.state.head:
            return   # placed on a head that is no longer open
        self.electrodes = electrodes
        self._show_electrode_source()
        key = self.measures_box.current_key()
        if key and self.result is not None:
            self.paint_measure(key)

    def _head_changed(self, head: Any) -> None:
        self._geometry = None
        if self.electrodes is not None and self.electrodes.head is not head:
            self.electrodes = None
        self.last_map = None
        self._electrodes_drawn = None
        self._clear_map()
        self._show_electrode_source()
        if self.result is not None and head is not None:
            self._place_for_new_head(tries=100)

    def _place_for_new_head(self, tries: int) -> None:
        """A head opened after the EEG: place the template electrodes on it so the map appears,
        once the job that opened the head has ended (it is still finishing when the head
        arrives; the runner takes one job at a time)."""
        if self.result is None or self.electrodes is not None or tries <= 0:
            return
        if self.main.jobs.job is not None:
            QtCore.QTimer.singleShot(50, lambda: self._place_for_new_head(tries - 1))
            return
        inputs = self._electrode_input()
        if inputs is None:
            return
        names = list(self.result.recording.channels)

        def job(progress: Any = None, cancel: Any = None) -> tuple[Electrodes | None, str]:
            try:
                return place_on_head(inputs, names, progress, cancel), ""
            except NavigationError as exc:
                return None, str(exc)

        self.main.jobs.run(job, "Placing the electrodes on this head", self._placed_for_new_head)

    def _placed_for_new_head(self, result: tuple[Electrodes | None, str]) -> None:
        electrodes, problem = result
        if electrodes is None:
            self._show_electrode_source(f"No template electrode positions on this head: {problem} "
                                        "Digitise the electrodes or load a BIDS electrodes file.")
            return
        self.set_electrodes(electrodes)

    # ----- the map ------------------------------------------------------------------------
    def _clear_map(self) -> None:
        from .scalp_view import clear_scalp_map

        clear_scalp_map(self.main)

    def paint_measure(self, key: str) -> None:
        """Draw ``key`` as the topomap and, with electrodes on this head, on the 3-D scalp."""
        if self.result is None:
            return
        values, unit = measure_values(self.result.measures, key)
        label = self.measures_box.chooser.currentText() or key
        clim = colour_limits(values)
        self.plots.draw_topomap(values, label, unit, clim)
        head = self.state.head
        e = self.electrodes
        if head is None or head.scalp is None or e is None or e.head is not head:
            return
        from tmsnav.navigation.eeg.scalp_map import scalp_map

        from .scalp_view import show_electrodes, show_scalp_map

        known = {ch: e.positions_mm[ch] for ch in values if ch in e.positions_mm}
        if len(known) < 3:
            self._source_text("Fewer than 3 measured channels have a position on this head: no "
                              "scalp map.", problem=True)
            return
        try:
            per_vertex = scalp_map(np.asarray(head.scalp.points, float), known,
                                   {ch: values[ch] for ch in known})
            show_scalp_map(self.main, per_vertex, bar_title(key), cmap=CMAP, clim=clim)
        except NavigationError as exc:
            self._source_text(f"No scalp map: {exc}", problem=True)
            return
        self.last_map = per_vertex
        sites = [s.site for s in self.result.suggestions]
        highlight = sites[0] if sites else None
        drawn = self._electrodes_drawn
        # the electrode box draws its own positions (status colours); redrawing unchanged labels
        # would cost ~80 ms on every measure switch
        if not e.from_box and (drawn is None or drawn[0] is not e or drawn[1] != highlight):
            show_electrodes(self.main, e.positions_mm, highlight=highlight)
            self._electrodes_drawn = (e, highlight)
        if self._look_from_top:     # a new recording: seen from above, like the topomap
            self._look_from_top = False
            self.main.view3d.view_from("top")
        self.mapShown.emit(key)

    # ----- suggestion -> target -----------------------------------------------------------
    def add_suggestion_target(self, index: int) -> None:
        """Put suggestion ``index`` on this head as a target (source "qeeg"), undoable."""
        from tmsnav.navigation.targeting.planning import head_axes_from, unique_name

        from .target_job import suggestion_target

        if self.result is None or not 0 <= index < len(self.result.suggestions):
            return
        s = self.result.suggestions[index]
        title = f"Cannot add {s.site} as a target"
        try:
            geo = self.head_geometry()
            if geo.brain is None:
                raise NavigationError("A qEEG target needs the brain (cortex) surface to find the "
                                      "cortical point beneath the electrode, and this head has none. "
                                      "Load one (File > Load brain surface) or register to MNI for "
                                      "the template brain.")
            e = self.electrodes
            if e is None or e.head is not self.state.head or s.site not in e.positions_mm:
                raise NavigationError(f"Electrode {s.site} has no position on this head: place the "
                                      "template electrodes, digitise them or load an electrodes file.")
            axes = head_axes_from(geo.fiducials, self.main.planning_panel.landmark_overrides)
        except NavigationError as exc:
            self.main.show_error(title, str(exc))
            return
        name = unique_name(self.state.targets.names, f"qEEG {s.site}")
        point = np.array(e.positions_mm[s.site], float)
        head = self.state.head
        self.main.jobs.run(lambda progress, cancel: suggestion_target(s, name, point, geo, axes, progress, cancel),
                           f"Adding target: qEEG {s.site}", lambda t: self._target_ready(t, head))

    def _target_ready(self, target: Any, head: Any) -> None:
        from ..planning.target_undo import TargetEdit, snapshot

        if head is not self.state.head:
            return    # another image was opened meanwhile: the target belongs to the old one
        before = snapshot(self.state.targets)
        try:
            self.state.targets.add(target)
        except NavigationError as exc:
            self.main.show_error("Cannot add the target", str(exc))
            return
        self.state.targets.select(target.name)
        reason = f"added {target.name} ({target.source})"
        self.state.targets_edited(reason)
        self.main.planning_panel.undo_stack.push(TargetEdit(self.state, before, f"added {target.name}"))
        self.main.statusBar().showMessage(f"Added {target.name}: {target.notes}", 15000)
        self.targetAdded.emit(target)
