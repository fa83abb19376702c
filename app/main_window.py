"""The main window: 3-D head view + axial/coronal/sagittal slices sharing one cursor,
panels in a side dock, file menu, status bar with a cancellable progress bar."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .app_state import AppState
from .chairside_tabs import ScrollingTabs
from .cursor_readout import CursorReadout
from .job_runner import JobRunner
from .loading import LoadedHead, load_head, load_sample_head
from .panels.display_panel import DisplayPanel
from .panels.planning_panel import PlanningPanel, mni_cursor_text
from .panels.registration_panel import RegistrationPanel
from .panels.tracker_panel import TrackerPanel
from .slice_view import Marker, SliceView
from .tracking_bridge import TrackingBridge
from .tracking_display import TrackingDisplay
from .view3d import HeadView3D
from .workers import Job

log = logging.getLogger(__name__)

__all__ = ["MainWindow"]

NIFTI_FILTER = "MRI images (*.nii *.nii.gz *.mgz *.dcm);;All files (*)"


class MainWindow(QtWidgets.QMainWindow):
    headLoaded = QtCore.Signal(object)      # LoadedHead
    loadFailed = QtCore.Signal(str)
    cursorChanged = QtCore.Signal(object)   # np.ndarray (3,) mri mm

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("tmsnav")
        self.resize(1500, 950)
        self.state = AppState(self)
        self.head: LoadedHead | None = None
        self.cursor_mri = np.zeros(3)
        self.last_error: str | None = None
        self._error_box: QtWidgets.QMessageBox | None = None
        self._marker_layers: dict[str, list[Marker]] = {}
        #: Ask Save / Discard / Cancel when closing with unsaved work. The ``tmsnav`` command
        #: turns it on for interactive use; scripted windows (tests, --screenshot) close freely.
        self.confirm_unsaved_close = False
        self._close_confirmed = False
        self._unsaved_box: QtWidgets.QMessageBox | None = None
        self._dialog: QtWidgets.QDialog | None = None     # an import question being asked

        self.view3d = HeadView3D()
        self.slices = {name: SliceView(name) for name in ("axial", "coronal", "sagittal")}
        grid = self.view_grid = QtWidgets.QGridLayout()
        grid.setSpacing(2)
        grid.addWidget(self.view3d, 0, 0)
        grid.addWidget(self.slices["axial"], 0, 1)
        grid.addWidget(self.slices["coronal"], 1, 0)
        grid.addWidget(self.slices["sagittal"], 1, 1)
        for i in range(2):
            grid.setColumnStretch(i, 1)
            grid.setRowStretch(i, 1)
        central = QtWidgets.QWidget()
        central.setLayout(grid)
        self.setCentralWidget(central)

        self.panels = ScrollingTabs()      # each tab scrolls: nothing cut on a 768-pixel screen
        self.panels.setObjectName("panels")
        self.display_panel = DisplayPanel()
        self.panels.addTab(self.display_panel, "Display")
        self.tracking = TrackingBridge(self.state, self)
        self.tracker_panel = TrackerPanel()
        self.panels.addTab(self.tracker_panel, "Tracker")
        self.planning_panel = PlanningPanel(self)
        self.plan_tabs = self.panels.add_group("Plan")   # targets by rule, from fMRI, from EEG
        self.plan_tabs.addTab(self.planning_panel, "Targets")
        from .connectivity.panel import ConnectivityPanel

        self.connectivity_panel = ConnectivityPanel(self)
        self.plan_tabs.addTab(self.connectivity_panel, "fMRI")
        self.registration_panel = RegistrationPanel(self)
        self.panels.addTab(self.registration_panel, "Registration")
        dock = QtWidgets.QDockWidget("Workflow", self)
        dock.setObjectName("workflow_dock")
        dock.setWidget(self.panels)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self._dock = dock

        self._build_status_bar()
        self._build_menus()
        self._connect()
        from .panels.guidance_panel import GuidancePanel
        from .session_controller import SessionController

        self.guidance_panel = GuidancePanel(self)
        self.panels.addTab(self.guidance_panel, "Navigate")
        from .treatment.panel import TreatmentPanel

        self.treatment_panel = TreatmentPanel(self)
        self.panels.addTab(self.treatment_panel, "Treatment")
        from .eeg.panel import QeegPanel

        self.qeeg_panel = QeegPanel(self)
        self.plan_tabs.addTab(self.qeeg_panel, "qEEG")
        self.sessions = SessionController(self, self.file_menu)
        from .records.wiring import install_records

        self.records = install_records(self)     # File > Patients…, "Records:" status, previous pulses
        from .records.exchange_actions import ExchangeActions

        self.exchange = ExchangeActions(self, self.file_menu, course_source=self.records.course_source)
        from .brain_loading import BrainController

        self.brains = BrainController(self)
        from .chairside_layout import ChairsideLayout, WindowParts

        self.chairside = ChairsideLayout(WindowParts(   # View > Large chairside layout, side panel fit
            self, self.view_grid, self.slices, self.guidance_panel, self.state, self.view_menu,
            self._dock, self.panels))
        from .preferences_dialog import install_preferences

        self.preferences = install_preferences(self, self.edit_menu)   # Edit > Preferences… (clinic.json)

    # ----- construction -------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = QtWidgets.QStatusBar(self)   # built here, not by statusBar(): a Qt-made bar's
        self.setStatusBar(bar)             # wrapper was once recycled as a QSurface (CI, stop 20)
        self.problem_label = QtWidgets.QLabel("")
        self.problem_label.setObjectName("problem_label")
        self.problem_label.setStyleSheet("color: white; background: #b00020; padding: 2px 6px;")
        self.problem_label.setWordWrap(True)
        self.problem_label.hide()
        bar.addWidget(self.problem_label, 2)
        self.cursor_label = CursorReadout("no image")    # drops whole parts when narrow, never cut
        self.cursor_label.setObjectName("cursor_label")
        self.cursor_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.cursor_label, 1)
        self.phase_label = QtWidgets.QLabel("")
        self.phase_label.setObjectName("sim_phase")
        self.phase_label.setStyleSheet("color: #1565c0")
        bar.addPermanentWidget(self.phase_label)
        self.jobs = JobRunner(bar, self)        # long work off the GUI thread, progress + Cancel
        self.jobs.failed.connect(self._on_job_failed)
        self.jobs.refused.connect(self.show_error)
        self.progress = self.jobs.progress
        self.progress_label = self.jobs.progress_label
        self.cancel_button = self.jobs.cancel_button

    def _menu(self, title: str) -> QtWidgets.QMenu:
        """A menu built from Python and kept by the window (see _build_status_bar)."""
        menu = QtWidgets.QMenu(title, self._menu_bar)   # a child of the bar, as addMenu(str) made
        self._menu_bar.addMenu(menu)
        return menu

    def _build_menus(self) -> None:
        self._menu_bar = QtWidgets.QMenuBar(self)
        self.setMenuBar(self._menu_bar)
        m = self._menu("&File")
        self.file_menu = m
        self._action(m, "&Open MRI image…", self.choose_image, QtGui.QKeySequence.StandardKey.Open)
        self._action(m, "Open &DICOM folder…", self.choose_dicom_folder, "Ctrl+Shift+O")
        self._action(m, "Open &sample head", self.open_sample_head, "Ctrl+Shift+S")
        self._action(m, "Open sample &fMRI run", lambda: self.connectivity_panel.open_sample_run())
        self._action(m, "Open sample &EEG", lambda: self.qeeg_panel.open_sample_eeg())
        self._action(m, "Load &brain surface…", lambda: self.brains.choose_file(), "Ctrl+B")
        m.addSeparator()
        self._action(m, "Save &screenshot…", self.choose_screenshot, "Ctrl+P")
        m.addSeparator()
        self._action(m, "&Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)
        e = self._menu("&Edit")
        self.edit_menu = e
        stack = self.planning_panel.undo_stack
        # Actions built here, not by QUndoStack.createUndoAction: the wrapper PySide6 returns for
        # that C++-created action can be a stale one of another type (seen once in CI as a
        # QSurface with no setShortcut); an action constructed from Python always has its own.
        self.undo_action = self._action(e, "&Undo", stack.undo, QtGui.QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(e, "&Redo", stack.redo, QtGui.QKeySequence.StandardKey.Redo)
        self.undo_action.setEnabled(stack.canUndo())
        self.redo_action.setEnabled(stack.canRedo())
        stack.canUndoChanged.connect(self.undo_action.setEnabled)
        stack.canRedoChanged.connect(self.redo_action.setEnabled)
        stack.undoTextChanged.connect(lambda t: self.undo_action.setText(f"&Undo {t}".strip()))
        stack.redoTextChanged.connect(lambda t: self.redo_action.setText(f"&Redo {t}".strip()))
        v = self.view_menu = self._menu("&View")
        for name, key in (("front", "Ctrl+1"), ("left", "Ctrl+2"), ("right", "Ctrl+3"), ("top", "Ctrl+4")):
            self._action(v, f"View from {name}", lambda _=False, n=name: self.view3d.view_from(n), key)
        h = self._menu("&Help")
        self._action(h, "Open &log folder", self.open_log_folder)
        self._action(h, "&About tmsnav", self.show_about)

    def _action(self, menu: QtWidgets.QMenu, text: str, slot, shortcut=None) -> QtGui.QAction:
        act = QtGui.QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QtGui.QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _connect(self) -> None:
        for view in self.slices.values():
            view.cursorPicked.connect(self.set_cursor)
            view.windowChanged.connect(self._window_from_slice)
            view.planeModeChanged.connect(self._set_plane_mode)
        self.view3d.cursorPicked.connect(self.set_cursor)
        dp = self.display_panel
        dp.scalpOpacityChanged.connect(self.view3d.set_scalp_opacity)
        dp.brainVisibleChanged.connect(self.view3d.set_brain_visible)
        dp.windowChanged.connect(self._set_window)
        dp.radiologicalChanged.connect(self._set_radiological)
        dp.viewPresetRequested.connect(self.view3d.view_from)
        self.state.problem.connect(self.show_problem)
        self.state.navigationBlockChanged.connect(self.view3d.set_banner)
        tp = self.tracker_panel
        tp.connectRequested.connect(self.connect_tracker)
        tp.disconnectRequested.connect(self.tracking.stop)
        tp.rolesChanged.connect(lambda roles: self.tracking.roles.update(roles))
        tp.recordRequested.connect(self.record_tracking)
        self.tracking.updated.connect(tp.show_snapshot)
        self.tracking.updated.connect(lambda snap: self.phase_label.setText(
            f"Simulated technician: {snap.phase}" if snap.phase else ""))
        self.tracking_display = TrackingDisplay(self)

    # ----- opening images -----------------------------------------------------------------
    def choose_image(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open MRI image", "", NIFTI_FILTER)
        if path:
            self.open_image(path)

    def choose_dicom_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open DICOM series folder")
        if path:
            self.open_image(path)

    def open_image(self, path: str | Path, affine_choice: str | None = None,
                   series_uid: str | None = None) -> None:
        from .logging_setup import add_identifying_path

        add_identifying_path(path)       # a DICOM folder is often named after the patient
        name = Path(path).name
        self.jobs.run(lambda progress, cancel: load_head(path, affine_choice=affine_choice,
                                                     series_uid=series_uid, progress=progress,
                                                     cancel=cancel),
                  f"Opening {name}", self._on_head_loaded, context=("image", path))

    def open_sample_head(self) -> None:
        self.jobs.run(load_sample_head, "Opening the sample head", self._on_head_loaded,
                  context=("sample", None))

    @property
    def job(self) -> Job | None:
        """The running background job (:class:`tmsnav.app.job_runner.JobRunner`), if any."""
        return self.jobs.job

    def cancel_job(self) -> None:
        self.jobs.cancel()

    def wait_for_job(self, timeout_ms: int = 120_000) -> bool:
        """Block (processing events) until the running job ends; for CLI and tests."""
        return self.jobs.wait(timeout_ms)

    def _on_job_failed(self, title: str, message: str, job: Job) -> None:
        from tmsnav.navigation.imaging.dicom_series import MultipleSeries
        from tmsnav.navigation.imaging.volume import OrientationAmbiguous

        from .import_dialogs import ask_affine_choice, ask_series

        context = job.context if isinstance(job.context, tuple) else None
        if context and context[0] == "image":
            path = context[1]
            if isinstance(job.exception, OrientationAmbiguous):
                self._dialog = ask_affine_choice(self, job.exception,
                                                 lambda choice: self.open_image(path, affine_choice=choice))
                return
            if isinstance(job.exception, MultipleSeries):
                self._dialog = ask_series(self, job.exception,
                                          lambda uid: self.open_image(path, series_uid=uid))
                return
        self.show_error(title.replace("Opening", "Cannot open"), message)
        if context and context[0] in ("image", "sample"):
            self.loadFailed.emit(message)  # only loading jobs: --screenshot exits non-zero on them

    def _on_head_loaded(self, head: LoadedHead) -> None:
        self.head = head
        volume = head.volume
        level, width = volume.default_window()
        grid = volume.display_grid()
        for view in self.slices.values():
            view.set_grid(grid, level, width)
        self.display_panel.set_window(level, width)
        self.view3d.set_surfaces(head.scalp, head.brain)
        centre = np.asarray(grid.display_to_mri((np.asarray(grid.data.shape) - 1) / 2.0))
        self.set_cursor(centre)
        self.setWindowTitle(f"tmsnav — {volume.name}")
        for problem in volume.report.warnings:
            self.statusBar().showMessage(f"Warning: {problem.message}", 15000)
        self.state.set_head(head)
        self.headLoaded.emit(head)
        if volume.report.needs_confirmation:
            from .import_dialogs import ask_orientation_confirmation

            self.state.set_navigation_block("ORIENTATION NOT CONFIRMED: navigation disabled")
            self._dialog = ask_orientation_confirmation(self, volume, self._orientation_answer)

    def _orientation_answer(self, flip_lr: bool | None) -> None:
        if flip_lr is None or self.head is None:
            return
        reason = "user checked a known marker on screen"
        self.head.volume = self.head.volume.with_orientation_confirmed(reason, flip_lr=flip_lr)
        if flip_lr:  # the surfaces were built in the old world: rebuild everything from the volume
            for mesh in (self.head.scalp, self.head.brain):
                if mesh is not None:
                    mesh.points[:, 0] *= -1.0
                    mesh.flip_faces(inplace=True)  # a mirror reverses winding; keep normals outward
                    if "Normals" in mesh.point_data:
                        mesh.point_data["Normals"][:, 0] *= -1.0
        self.state.set_navigation_block("")
        self._on_head_loaded(self.head)

    # ----- tracker ------------------------------------------------------------------------
    def connect_tracker_spec(self, spec: str) -> None:
        """``--tracker`` on the command line: 'sim', 'ndi:/dev/ttyUSB0', ... (tmsnav.hardware.config)."""
        from tmsnav.hardware.config import TrackerConfig

        try:
            cfg = TrackerConfig.parse(spec)
        except ValueError as exc:
            self.show_error("Tracker", str(exc))
            return
        self.tracker_panel.set_config(cfg)
        if cfg.kind == "sim" and self.job is not None:
            # the simulated patient is built from the head: connect once it is loaded
            self.headLoaded.connect(lambda _h, c=cfg: self.connect_tracker(c),
                                    QtCore.Qt.ConnectionType.SingleShotConnection)
        else:
            self.connect_tracker(cfg)

    def connect_tracker(self, cfg) -> None:
        from tmsnav.hardware.config import tracker_factory

        from .sim_head import head_geometry_for

        try:
            head = head_geometry_for(self.state.head, self.state.targets) if cfg.kind == "sim" else None
            factory = tracker_factory(cfg, head=head)
        except (ValueError, OSError) as exc:
            self.show_error("Cannot connect the tracker", str(exc))
            return
        self.tracking.start(factory, cfg.describe())  # the status bar follows its state

    def record_tracking(self, path: str) -> None:
        """Start (path) or stop ("") recording the tracker stream."""
        from tmsnav.hardware.errors import TrackerError

        if not path:
            frames = self.tracking.stop_recording()
            self.statusBar().showMessage(f"Recording stopped: {frames} frames written", 8000)
            self.tracker_panel.record_button.setChecked(False)
            return
        try:
            self.tracking.start_recording(path)
        except TrackerError as exc:
            self.tracker_panel.record_button.setChecked(False)
            self.show_error("Cannot record", str(exc))
            return
        self.tracker_panel.record_button.setChecked(True)
        self.statusBar().showMessage(f"Recording tracking to {path}", 8000)

    # ----- cursor and display -------------------------------------------------------------
    def set_cursor(self, mri_mm) -> None:
        self.cursor_mri = np.asarray(mri_mm, float).reshape(3)
        for view in self.slices.values():
            view.set_cursor(self.cursor_mri)
        self.view3d.set_cursor(self.cursor_mri)
        self._update_cursor_label()
        self.cursorChanged.emit(self.cursor_mri.copy())

    def _update_cursor_label(self) -> None:
        if self.head is None:
            return
        x, y, z = self.cursor_mri
        ijk = self.head.volume.mri_to_voxel(self.cursor_mri)
        value = self.head.volume.value_at(self.cursor_mri, order=0)
        value_text = "outside" if not np.isfinite(value) else f"{value:g}"
        self.cursor_label.set_parts(
            [f"mri RAS ({x:+.1f}, {y:+.1f}, {z:+.1f}) mm", f"voxel ({ijk[0]:.0f}, {ijk[1]:.0f}, {ijk[2]:.0f})",
             f"value {value_text}", mni_cursor_text(self.state.mni, self.cursor_mri).strip()],
            drop_order=[1, 2])

    def set_markers(self, layer: str, markers: list[Marker]) -> None:
        """Named marker layers (fiducials, targets, pointer tip) drawn on every slice."""
        markers = list(markers)
        if self._marker_layers.get(layer) == markers:
            return  # unchanged: no repaint (the tracking display calls this every tick)
        self._marker_layers[layer] = markers
        merged = [m for ms in self._marker_layers.values() for m in ms]
        for view in self.slices.values():
            view.set_markers(merged)

    def _set_plane_mode(self, mode: str) -> None:
        for view in self.slices.values():
            view.set_plane_mode(mode)

    def _set_radiological(self, on: bool) -> None:
        for view in self.slices.values():
            view.set_radiological(on)

    def _set_window(self, level: float, width: float) -> None:
        for view in self.slices.values():
            view.set_window(level, width)

    def _window_from_slice(self, level: float, width: float) -> None:
        self._set_window(level, width)
        self.display_panel.set_window(level, width)

    # ----- messages, screenshots ----------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        """A window-modal message box that does not block the event loop (tracking keeps running)."""
        log.error("%s: %s", title, message)
        self.last_error = message
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Critical, title, message,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setObjectName("error_box")
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.open()
        self._error_box = box

    def show_problem(self, text: str) -> None:
        """A persistent, non-modal warning (e.g. the disk is full); empty text clears it."""
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))

    def choose_screenshot(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save screenshot", "tmsnav.png", "PNG (*.png)")
        if path:
            self.save_screenshot(path)

    def save_screenshot(self, path: str | Path) -> bool:
        self.view3d.render_now()
        QtWidgets.QApplication.processEvents()
        return self.grab().save(str(path), "PNG")

    def about_text(self) -> str:
        from .about import about_text

        return about_text()

    def show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About tmsnav", self.about_text())

    def open_log_folder(self) -> bool:
        """Show the log folder in the system file manager (Explorer, Finder, ...)."""
        from .logging_setup import current_log_file

        log_file = current_log_file()
        if log_file is None:
            self.show_error("No log file", "The log file could not be opened; the log goes to the "
                            "terminal only (see the warning printed at start).")
            return False
        url = QtCore.QUrl.fromLocalFile(str(log_file.parent))
        if not QtGui.QDesktopServices.openUrl(url):
            self.show_error("Cannot open the log folder",
                            f"No file manager answered. The log folder is {log_file.parent}")
            return False
        return True

    def ask_unsaved_before_close(self) -> QtWidgets.QMessageBox:
        """Save / Discard / Cancel, non-blocking (:mod:`tmsnav.app.unsaved_close`)."""
        from .unsaved_close import ask_unsaved_before_close

        self._unsaved_box = ask_unsaved_before_close(self, self.sessions.save_or_create,
                                                     self._close_after_confirmation)
        return self._unsaved_box

    def _close_after_confirmation(self) -> None:
        self._close_confirmed = True
        QtCore.QTimer.singleShot(0, self.close)

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.chairside.fit_side_panel()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self.confirm_unsaved_close and self.state.unsaved and not self._close_confirmed:
            event.ignore()                  # ask first; the answer closes the window or not
            self.ask_unsaved_before_close()
            return
        self.treatment_panel.shutdown()   # disarm and close the stimulator first
        self.tracking.stop()
        self.records.shutdown()
        self.jobs.stop(5000)
        self.view3d.close_plotter()
        super().closeEvent(event)
