"""Motor hotspot and threshold box (Treatment tab): the grid on the scalp, an MEP per pulse, the
amplitude map, the "Motor hotspot" target, the resting motor threshold and the treatment dose.

Workflow (docs/treatment.md, "Hotspot and threshold in the app"):

1. **Lay grid**: rows x columns of sites walked along the scalp around the M1 hand knob mapped
   from MNI (Mayka et al. 2006, NeuroImage 31:1453; needs Plan > MNI registration) or around the
   active target (:class:`tmsnav.navigation.treatment.motor_map.MotorGrid`). Built on the worker
   thread. The sites are drawn on the scalp, the current one ringed; "Aim Navigate here" makes
   the current site the active target, so the Navigate tab guides the coil onto it.
2. **MEPs**: each pulse's peak-to-peak amplitude, typed, measured from an EMG LSL stream (trace
   shown with its window, :mod:`.mep_trace`), or taken from a MagVenture MagPro's own MEP
   message. They go either to the current grid site or to the threshold procedure. A pulse
   into a contracted muscle is refused with the reason (Rossini et al. 2015), and so is a map MEP
   whose tracked coil was more than half the spacing off the current site. "Remove last" takes
   back a mistyped MEP.
3. **Hotspot**: the amplitude-weighted centre of gravity (Wassermann et al. 1992) becomes the
   target "Motor hotspot" with its evidence and warnings; Edit > Undo removes it again.
4. **Threshold and dose**: :class:`.threshold_box.ThresholdBox`.

Results go to the session's event log (kinds "mep", "mep_removed", "motor_hotspot",
"motor_threshold"). Call :meth:`MotorBox.shutdown` when the tab closes (stops the EMG reader).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6 import QtCore, QtWidgets

from tmsnav.hardware.stimulators.base import PulseEvent
from tmsnav.hardware.triggers.common import PulseSourceError
from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.targets import Target
from tmsnav.navigation.treatment.motor_map import MotorGrid
from tmsnav.navigation.treatment.threshold import ThresholdResult

from .mep_trace import EmgMep, EmgMepReader, MepTracePlot
from .motor_map_view import clear_motor_map, show_motor_map
from .motor_targets import HOTSPOT_NAME, aim_at_site, coil_off_site, dose_depths, set_hotspot_target
from .threshold_box import ThresholdBox

__all__ = ["MotorBox", "HOTSPOT_NAME", "SOURCES", "CENTRES"]

log = logging.getLogger(__name__)

SOURCES = (("typed", "Typed"), ("emg", "EMG (LSL)"), ("magventure", "MagPro MEP page"))
CENTRES = (("left", "Left M1 (right hand)"), ("right", "Right M1 (left hand)"), ("active", "Active target"))


class MotorBox(QtWidgets.QGroupBox):
    """See the module docstring. ``window`` is the main window (state, view3d, jobs, planning);
    ``bridge`` the Treatment tab's stimulator bridge (pulses and the MagPro's MEPs) and
    ``recorder`` its :class:`~.pulse_recorder.PulseRecorder` (every logged pulse from any source -
    TTL, modem line, LSL marker, key - is cut from the EMG stream; the coil pose at a pulse), e.g.
    ``panel.add_section(MotorBox(window, bridge=panel.stimulator.bridge, recorder=panel.recorder))``."""

    mapChanged = QtCore.Signal()
    hotspotMade = QtCore.Signal(object)        # Target

    def __init__(self, window: Any, parent: QtWidgets.QWidget | None = None, *, bridge: Any = None,
                 recorder: Any = None) -> None:
        super().__init__("Motor hotspot and threshold", parent)
        self.setObjectName("motor_box")
        self.main = window
        self.state = window.state
        self.grid: MotorGrid | None = None
        self.current: str | None = None
        self.message = ""
        self._last_pulse_output: float | None = None
        self._last_pulse_time_ns: int | None = None
        self._map_history: list[str] = []          # site of each map MEP, for "Remove last"
        self.reader = EmgMepReader(self)
        self.reader.measured.connect(self._emg_measured)
        self.reader.problem.connect(self._say)
        layout = QtWidgets.QVBoxLayout(self)

        form = QtWidgets.QFormLayout()
        self.centre_combo = QtWidgets.QComboBox()
        for key, label in CENTRES:
            self.centre_combo.addItem(label, key)
        form.addRow("Grid around", self.centre_combo)
        size = QtWidgets.QHBoxLayout()
        self.rows_spin, self.cols_spin = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for spin in (self.rows_spin, self.cols_spin):
            spin.setRange(1, 9)
            spin.setValue(5)
        self.spacing_spin = QtWidgets.QDoubleSpinBox()
        self.spacing_spin.setRange(3.0, 30.0)
        self.spacing_spin.setValue(10.0)
        self.spacing_spin.setSuffix(" mm")
        for w in (self.rows_spin, QtWidgets.QLabel("x"), self.cols_spin, self.spacing_spin):
            size.addWidget(w)
        form.addRow("Grid", size)
        self.lay_button = QtWidgets.QPushButton("Lay grid")
        self.lay_button.clicked.connect(self.lay_grid)
        form.addRow(self.lay_button)
        layout.addLayout(form)

        self.site_table = QtWidgets.QTableWidget(0, 3)
        self.site_table.setObjectName("motor_sites")
        self.site_table.setHorizontalHeaderLabels(["Site", "Pulses", "MEP (µV)"])
        self.site_table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.site_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.site_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.site_table.setMaximumHeight(160)
        self.site_table.verticalHeader().setVisible(False)
        self.site_table.horizontalHeader().setStretchLastSection(True)
        self.site_table.itemSelectionChanged.connect(self._row_selected)
        layout.addWidget(self.site_table)
        row = QtWidgets.QHBoxLayout()
        self.aim_button = QtWidgets.QPushButton("Aim Navigate here")
        self.aim_button.clicked.connect(self.aim_at_current)
        self.per_site_spin = QtWidgets.QSpinBox()
        self.per_site_spin.setRange(1, 20)
        self.per_site_spin.setValue(3)
        self.per_site_spin.setPrefix("next site after ")
        self.per_site_spin.setSuffix(" pulses")
        row.addWidget(self.aim_button)
        row.addWidget(self.per_site_spin)
        layout.addLayout(row)
        self.follow_check = QtWidgets.QCheckBox("Navigate follows the site")
        self.follow_check.setToolTip("Once Navigate aims at a grid site, the box's next site becomes the "
                                     "active target")
        self.follow_check.setChecked(True)
        follow = QtWidgets.QHBoxLayout()
        follow.addWidget(self.follow_check, 1)
        layout.addLayout(follow)

        mep = QtWidgets.QFormLayout()
        self.target_combo = QtWidgets.QComboBox()
        self.target_combo.addItem("grid site (map)", "map")
        self.target_combo.addItem("threshold", "threshold")
        mep.addRow("MEPs go to", self.target_combo)
        self.source_combo = QtWidgets.QComboBox()
        for key, label in SOURCES:
            self.source_combo.addItem(label, key)
        mep.addRow("MEP from", self.source_combo)
        typed = QtWidgets.QHBoxLayout()
        self.typed_spin = QtWidgets.QDoubleSpinBox()
        self.typed_spin.setRange(0.0, 20000.0)
        self.typed_spin.setDecimals(0)
        self.typed_spin.setSuffix(" µV")
        self.typed_button = QtWidgets.QPushButton("Record")
        self.typed_button.clicked.connect(lambda: self.record_typed(self.typed_spin.value()))
        self.remove_button = QtWidgets.QPushButton("Remove last MEP")
        self.remove_button.setToolTip("Take back the last MEP of the map or the threshold (a typing mistake)")
        self.remove_button.clicked.connect(self.remove_last)
        typed.addWidget(self.typed_spin, 1)
        typed.addWidget(self.typed_button)
        follow.addWidget(self.remove_button)
        mep.addRow("Typed", typed)
        self.stream_edit = QtWidgets.QLineEdit()
        self.stream_edit.setPlaceholderText("LSL stream name (empty: type EMG)")
        self.unit_combo = QtWidgets.QComboBox()
        self.unit_combo.addItems(["from stream", "uV", "mV", "V"])
        self.unit_combo.setToolTip("The EMG channel's unit; only needed when the stream does not say it")
        self.emg_button = QtWidgets.QPushButton("Connect EMG")
        self.emg_button.clicked.connect(self.connect_emg)
        mep.addRow("EMG stream", self.stream_edit)
        emg = QtWidgets.QHBoxLayout()
        emg.addWidget(self.unit_combo, 1)
        emg.addWidget(self.emg_button)
        mep.addRow("Unit", emg)
        layout.addLayout(mep)
        self.trace = MepTracePlot()
        layout.addWidget(self.trace)

        self.hotspot_button = QtWidgets.QPushButton("Make 'Motor hotspot' target")
        self.hotspot_button.clicked.connect(self.make_hotspot)
        layout.addWidget(self.hotspot_button)
        self.status_label = QtWidgets.QLabel("Lay a grid to start the motor map.")
        self.status_label.setObjectName("motor_status")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.threshold = ThresholdBox()
        self.threshold.finished.connect(self._threshold_finished)
        layout.addWidget(self.threshold)
        self.state.headChanged.connect(self._head_changed)
        self.state.targetsChanged.connect(self._targets_changed)
        window.jobs.failed.connect(self._job_failed)
        self.recorder = recorder
        if recorder is not None:
            recorder.pulseLogged.connect(self.on_logged_pulse)
        if bridge is not None:
            self.connect_stimulator(bridge)
        self._update_buttons()

    def _say(self, text: str) -> None:
        self.message = text
        self.status_label.setText(text)

    def _update_buttons(self) -> None:
        has = self.grid is not None
        self.aim_button.setEnabled(has and self.current is not None)
        self.hotspot_button.setEnabled(has)

    # ----- the grid ------------------------------------------------------------------------------
    def lay_grid(self) -> None:
        """Build the grid on the worker thread (walking 25 sites over the scalp takes a moment)."""
        try:
            ctx = self.main.planning_panel._context()      # scalp/brain lookups + the user's landmarks
            axes = ctx.head_axes_or_none()
        except NavigationError as exc:
            self._say(f"Cannot lay the grid: {exc}")
            return
        if axes is None:
            self._say("Cannot lay the grid: the head's nasion, LPA and RPA are needed to know anterior "
                      "and left/right (Plan > Targets > Landmarks)")
            return
        centre_key = self.centre_combo.currentData()
        options = {"rows": self.rows_spin.value(), "cols": self.cols_spin.value(),
                   "spacing_mm": self.spacing_spin.value(), "brain_mesh": ctx.geometry.brain}
        scalp = ctx.geometry.scalp
        if centre_key == "active":
            centre = self.state.targets.active
            if centre is None:
                self._say("Cannot lay the grid: no active target (choose one in Plan > Targets)")
                return

            def job(progress=None, cancel=None) -> MotorGrid:
                return MotorGrid(centre, scalp, axes, **options)
        else:
            if ctx.mri_from_mni is None:
                self._say("Cannot lay the grid around the hand knob: register the head to MNI first "
                          "(Plan > Targets > MNI registration), or lay it around the active target")
                return
            mri_from_mni = ctx.mri_from_mni

            def job(progress=None, cancel=None) -> MotorGrid:
                return MotorGrid.around_hand_knob(mri_from_mni, scalp, axes, hemisphere=centre_key, **options)
        head = self.state.head
        self._say("Laying the grid on the scalp…")
        if self.main.jobs.run(job, "Motor grid", lambda grid: self._grid_ready(grid, head)) is None:
            self._say("Cannot lay the grid now: another operation is running; wait for it or cancel it")

    def _grid_ready(self, grid: MotorGrid, head: Any) -> None:
        if head is not self.state.head:
            return
        replaced = 0 if self.grid is None else sum(len(s.amplitudes_uv) for s in self.grid.sites)
        self.grid = grid
        self._map_history.clear()
        self.site_table.setRowCount(len(grid.sites))
        for i, s in enumerate(grid.sites):
            self.site_table.setItem(i, 0, QtWidgets.QTableWidgetItem(s.label))
        self._fill_table()
        self._say(f"Grid of {len(grid.sites)} sites, {grid.spacing_mm:g} mm apart along the scalp, on the "
                  f"{grid.side} hemisphere. Stimulate each site and record its MEPs."
                  + (f" The previous map ({replaced} MEPs) was replaced; its MEPs are in the session's "
                     "event log." if replaced else ""))
        self.set_current(grid.sites[len(grid.sites) // 2].label)

    def _job_failed(self, title: str, message: str, _job: Any = None) -> None:
        if title == "Motor grid":           # the window shows the error box; the box says it too
            self._say(f"Cannot lay the grid: {message}")
        elif title == "EMG stream":
            self._say(f"EMG stream not connected: {message}")

    def _fill_table(self) -> None:
        if self.grid is None:
            return
        for i, s in enumerate(self.grid.sites):
            amp = self.grid.site_amplitude_uv(s)
            self.site_table.setItem(i, 1, QtWidgets.QTableWidgetItem(str(len(s.amplitudes_uv))))
            self.site_table.setItem(i, 2, QtWidgets.QTableWidgetItem("" if amp is None else f"{amp:.0f}"))

    def set_current(self, label: str) -> None:
        """Make ``label`` the site whose MEPs are being recorded (ringed in the 3-D view)."""
        if self.grid is None:
            return
        site = self.grid.site(label)
        self.current = site.label
        index = self.grid.sites.index(site)
        if self.site_table.currentRow() != index:
            self.site_table.selectRow(index)
        self._redraw()
        self._update_buttons()
        active = self.state.targets.active     # already guiding to a grid site: move on with the box
        if self.follow_check.isChecked() and active is not None and active.source == "motor-grid" \
                and active.name != site.target.name:
            self.aim_at_current()

    def _row_selected(self) -> None:
        rows = self.site_table.selectionModel().selectedRows()
        if self.grid is not None and rows and rows[0].row() < len(self.grid.sites):
            label = self.grid.sites[rows[0].row()].label
            if label != self.current:
                self.set_current(label)

    def _redraw(self) -> None:
        if self.grid is not None:
            head = self.state.head
            show_motor_map(self.main, self.grid, self.current, None if head is None else head.brain)
            self.mapChanged.emit()

    def _head_changed(self, _head: Any) -> None:
        self.grid, self.current = None, None
        self._map_history.clear()
        self.site_table.setRowCount(0)
        self.reader.close()
        clear_motor_map(self.main)
        self._say("Lay a grid to start the motor map.")
        self._update_buttons()

    def aim_at_current(self) -> None:
        """The current site becomes the active target (the Navigate tab guides to it). Undoable."""
        if self.grid is not None and self.current is not None:
            aim_at_site(self.main, self.grid.site(self.current).target, self.current)

    # ----- MEPs ----------------------------------------------------------------------------------
    def record_typed(self, amplitude_uv: float) -> bool:
        """A typed peak-to-peak MEP (µV) for the current site or the threshold."""
        return self.record_mep(amplitude_uv, None, preactivated=False, source="typed")

    def record_mep(self, amplitude_uv: float, output_pct: float | None, *, preactivated: bool,
                   source: str = "", pulse_time_ns: int | None = None) -> bool:
        """Route one MEP to the map or the threshold; False (and the reason shown) when refused.
        Each recorded MEP is written to the session's event log (kind "mep"). A map MEP whose
        coil pose at the pulse (``pulse_time_ns``; now for a typed one) is known and more than
        half the spacing from the current site is refused: it belongs to another site."""
        to = str(self.target_combo.currentData())
        try:
            if to == "threshold":
                if preactivated:
                    raise NavigationError("this MEP was given into a contracted muscle: it is left out of "
                                          "the resting threshold; ask the patient to relax and repeat")
                asked = self.threshold.next_intensity()
                self.threshold.record(output_pct, amplitude_uv)
                self._log_event("mep", {"to": "threshold", "amplitude_uv": float(amplitude_uv), "source": source,
                                        "output_pct": asked if output_pct is None else output_pct})
                self._say(f"Threshold pulse recorded: {amplitude_uv:.0f} µV.")
                return True
            if self.grid is None or self.current is None:
                raise NavigationError("lay the grid first")
            self._check_coil_on_site(pulse_time_ns)
            self.grid.record(self.current, amplitude_uv, preactivated=preactivated)
        except NavigationError as exc:
            self._say(f"MEP not recorded: {exc}")
            return False
        self._map_history.append(self.current)
        self._log_event("mep", {"to": "map", "site": self.current, "amplitude_uv": float(amplitude_uv),
                                "output_pct": output_pct, "source": source})
        site = self.grid.site(self.current)
        self._fill_table()
        text = f"Site {site.label}: {amplitude_uv:.0f} µV ({len(site.amplitudes_uv)} pulses)."
        if len(site.amplitudes_uv) >= self.per_site_spin.value():
            index = self.grid.sites.index(site)
            if index + 1 < len(self.grid.sites):
                nxt = self.grid.sites[index + 1].label
                text += f" Next site: {nxt}."
                self.set_current(nxt)
            else:
                text += " Last site done: make the hotspot target."
                self._redraw()
        else:
            self._redraw()
        self._say(text)
        return True

    def _check_coil_on_site(self, pulse_time_ns: int | None) -> None:
        recorder = self.recorder or getattr(getattr(self.main, "treatment_panel", None), "recorder", None)
        if self.grid is not None and self.current is not None:
            reason = coil_off_site(getattr(recorder, "history", None), self.grid, self.current, pulse_time_ns)
            if reason is not None:
                raise NavigationError(reason)

    def remove_last(self) -> None:
        """Take back the last MEP of the map or the threshold (whichever MEPs go to now): a
        mistyped amplitude must not stay in the hotspot or the threshold."""
        try:
            if self.target_combo.currentData() == "threshold":
                self.threshold.remove_last()
                self._log_event("mep_removed", {"to": "threshold"})
                self._say("Last threshold pulse removed.")
                return
            if self.grid is None or not self._map_history:
                raise NavigationError("no MEP of the map to remove")
        except NavigationError as exc:
            self._say(f"Nothing removed: {exc}")
            return
        label = self._map_history.pop()
        amplitude = self.grid.site(label).amplitudes_uv.pop()
        self._log_event("mep_removed", {"to": "map", "site": label, "amplitude_uv": amplitude})
        self._fill_table()
        self.set_current(label)
        self._say(f"Removed the last MEP of site {label} ({amplitude:.0f} µV); site {label} is current again.")

    def connect_stimulator(self, bridge: Any) -> None:
        """Follow a :class:`~tmsnav.app.treatment.stimulator_bridge.StimulatorBridge`: each pulse is
        cut from the EMG stream (when that is the source) and the MagPro's MEPs are taken."""
        bridge.pulseSeen.connect(self.on_pulse)
        bridge.mepSeen.connect(self.on_device_mep)

    def on_pulse(self, event: PulseEvent) -> None:
        self._last_pulse_output = event.output_pct_mso
        self._last_pulse_time_ns = event.host_time_ns
        if self.source_combo.currentData() == "emg" and self.recorder is None:   # else on_logged_pulse
            try:
                self.reader.queue_pulse(event.host_time_ns, event.output_pct_mso)
            except PulseSourceError as exc:
                self._say(f"MEP not measured: {exc}")

    def on_logged_pulse(self, pulse: Any) -> None:
        """A pulse the recorder logged, from any source: cut its MEP from the EMG stream."""
        if self.source_combo.currentData() == "emg":
            try:
                self.reader.queue_pulse(pulse.host_time_ns, pulse.output_pct_mso)
            except PulseSourceError as exc:
                self._say(f"MEP not measured: {exc}")

    def on_device_mep(self, mep: Any) -> None:
        """The MagPro's MEP page measurement (message 4), following the pulse it belongs to."""
        if self.source_combo.currentData() != "magventure":
            return
        self.record_mep(float(mep.peak_to_peak_uv), self._last_pulse_output, preactivated=False,
                        source="magventure-mep", pulse_time_ns=self._last_pulse_time_ns)

    def connect_emg(self) -> None:
        """Find the EMG stream on the worker thread (LSL may look for it for a few seconds)."""
        unit_text = self.unit_combo.currentText()
        name, unit = self.stream_edit.text().strip(), None if unit_text.startswith("from ") else unit_text

        def job(progress=None, cancel=None) -> Any:
            return EmgMepReader.open_buffer(name, unit)

        self._say("Looking for the EMG stream…")
        if self.main.jobs.run(job, "EMG stream", self._emg_ready) is None:
            self._say("EMG stream not connected: another operation is running; wait for it or cancel it")

    def _emg_ready(self, buf: Any) -> None:
        summary = self.reader.attach(buf)
        self.source_combo.setCurrentIndex(self.source_combo.findData("emg"))
        self._say(f"EMG stream connected: {summary}.")

    def _emg_measured(self, emg: EmgMep) -> None:
        m = emg.measurement
        caption = f"{emg.trace.channel}: {m.amplitude_uv:.0f} µV peak-to-peak, first peak {m.peak_latency_ms:.0f} ms"
        if m.preactivated:
            caption += " (NOT AT REST)"
        self.trace.set_trace(emg.trace.values_v, emg.trace.sfreq_hz, emg.trace.pulse_offset_s,
                             self.reader.window_s, caption)
        if self.record_mep(m.amplitude_uv, emg.output_pct, preactivated=m.preactivated,
                           source=f"emg:{emg.trace.channel}", pulse_time_ns=emg.trace.pulse_time_ns) \
                and m.message:
            self._say(self.message + " " + m.message)

    # ----- results -------------------------------------------------------------------------------
    def make_hotspot(self) -> Target | None:
        """The map's CoG becomes the target "Motor hotspot" (replacing an older one; undoable)."""
        if self.grid is None:
            return None
        try:
            target = self.grid.to_hotspot_target(HOTSPOT_NAME)
            event = self.grid.hotspot_event()
        except NavigationError as exc:
            self._say(f"No hotspot: {exc}")
            return None
        set_hotspot_target(self.main, target)
        self._log_event("motor_hotspot", event)
        warnings = self.grid.warnings()
        self._say(f"'{HOTSPOT_NAME}' target made from the map's centre of gravity."
                  + (" Warning: " + " ".join(warnings) if warnings else ""))
        self.hotspotMade.emit(target)
        return target

    def _targets_changed(self) -> None:
        self.threshold.set_depths(*dose_depths(self.state.targets))

    def _threshold_finished(self, result: ThresholdResult) -> None:
        self._log_event("motor_threshold", result.to_dict())

    def _log_event(self, kind: str, data: dict) -> None:
        session = self.state.session
        if session is None:
            return
        try:
            session.events.append(kind, **data)
        except (NavigationError, OSError) as exc:
            log.error("could not write %s to the session: %s", kind, exc)
            self._say(f"Could not write to the session: {exc}")

    def shutdown(self) -> None:
        self.reader.close()
