"""The "fMRI" tab: a personalised L-DLPFC target from the patient's resting-state fMRI.

The spot in left DLPFC whose resting activity is most anticorrelated with the subgenual
cingulate (Fox et al. 2012, Biol Psychiatry 72:595), found reproducibly by the cluster step of
Cash et al. 2021 (Hum Brain Mapp 42:4155). The panel only wires widgets to
``tmsnav.navigation.connectivity``: reading the run, the minimal pipeline and the method run as
one job on the window's :class:`~tmsnav.app.job_runner.JobRunner` (progress with stage names,
Cancel); a failure or Cancel leaves the previous result and overlays as they were. "Add as
target" goes through the Planning tab's own path (``_target_ready``): the target is in the
Planning list, on the undo stack, in Navigate and in the session like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.errors import NavigationError

from .compute_job import ConnectivityOutcome, run_connectivity
from .inputs_box import InputsBox
from .overlay_3d import SurfaceMap, clear_surface_map, show_surface_map, surface_normals
from .overlay_box import OverlayBox
from .overlay_slices import LAYER, MapData, MapLayer, OverlaySettings, colour_lut
from .params_box import ParamsBox
from .result_box import ResultBox
from .surface_sampling import sample_on_surface

__all__ = ["ConnectivityPanel", "TARGET_NAME"]

TARGET_NAME = "fMRI sgACC target"
MARKERS = "connectivity"


class ConnectivityPanel(QtWidgets.QScrollArea):
    resultShown = QtCore.Signal(object)     # ConnectivityOutcome

    def __init__(self, window: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectivity_panel")
        self.main = window
        self.state = window.state
        self.outcome: ConnectivityOutcome | None = None
        self.map_data: MapData | None = None
        self.surface_map: SurfaceMap | None = None
        self.sample_truth: Any = None          # set by the sample-run menu item
        self._brain_signal = False
        self._lut = colour_lut()
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.inputs = InputsBox()
        self.params = ParamsBox()
        self.compute_button = QtWidgets.QPushButton("Compute target")
        self.compute_button.setObjectName("fmri_compute")
        self.compute_button.clicked.connect(self.compute)
        self.result_box = ResultBox()
        self.overlay_box = OverlayBox()
        for w in (self.inputs, self.params, self.compute_button, self.result_box, self.overlay_box):
            layout.addWidget(w)
        layout.addStretch(1)
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body.installEventFilter(self)
        self.viewport().installEventFilter(self)   # a scroll bar appearing narrows the viewport
        self.result_box.addRequested.connect(self.add_target)
        self.overlay_box.changed.connect(self._settings_changed)
        self.state.headChanged.connect(self._head_changed)
        self._head_changed(self.state.head)

    # ----- layout: word-wrapped labels need their height for the panel's width --------------
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if (obj is self.widget() and event.type() == QtCore.QEvent.Type.LayoutRequest) or \
                (obj is self.viewport() and event.type() == QtCore.QEvent.Type.Resize):
            QtCore.QTimer.singleShot(0, self._fit_height)
        return super().eventFilter(obj, event)

    def _fit_height(self) -> None:
        """As the Planning tab: QScrollArea sizes its widget from sizeHint, which ignores
        height-for-width, so wrapped evidence lines would be squeezed."""
        body = self.widget()
        layout = body.layout() if body is not None else None
        if body is None or layout is None:
            return
        width = self.viewport().width()
        needed = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
        if needed > 0 and body.minimumHeight() != needed:
            body.setMinimumHeight(needed)

    # ----- head ---------------------------------------------------------------------------
    def _head_changed(self, head: Any) -> None:
        """Another image: the result and its overlays belong to the old one."""
        self.inputs.set_t1(None if head is None else head.volume.name)
        if self.outcome is not None and head is not None and self.outcome.volume is head.volume:
            return
        self.clear_result()

    def clear_result(self) -> None:
        self.outcome, self.map_data, self.surface_map = None, None, None
        self.result_box.clear()
        self.overlay_box.setEnabled(False)
        self._clear_overlays()

    def _clear_overlays(self) -> None:
        clear_surface_map(self.main)
        for view in self.main.slices.values():
            view.set_layer(LAYER, None)
        self.main.set_markers(MARKERS, [])

    # ----- computing ----------------------------------------------------------------------
    def compute(self) -> None:
        head = self.state.head
        title = "Cannot compute the fMRI target"
        try:
            if head is None:
                raise NavigationError("Open the patient's T1 first (File > Open): the target is "
                                      "computed for the open image.")
            choice = self.inputs.choice().checked()
            params = self.params.params()
        except NavigationError as exc:
            self.main.show_error(title, str(exc))
            return
        from ..logging_setup import add_identifying_path

        for path in (choice.path, choice.confounds, choice.sidecar):
            if path:
                add_identifying_path(path)     # folders are often named after the patient
        surface = None
        if head.brain is not None and head.brain.n_points:
            surface = (np.array(head.brain.points, float), surface_normals(head.brain).copy())
        mni = self.state.mni

        def job(progress=None, cancel=None) -> ConnectivityOutcome:
            return run_connectivity(choice, params, head, mni, surface=surface, progress=progress,
                                    cancel=cancel)

        self.main.jobs.run(job, "Computing the fMRI target", self._computed)

    def _computed(self, outcome: ConnectivityOutcome) -> None:
        head = self.state.head
        if head is None or outcome.volume is not head.volume:
            self.main.statusBar().showMessage("Another image was opened while the fMRI target was "
                                              "computed: the result was dropped.", 15000)
            return
        if outcome.mni_is_new and self.state.mni is None:
            self.state.set_mni(outcome.mni)
        self.outcome = outcome
        r = outcome.result
        self.map_data = MapData(r.correlation_map, r.search_mask, r.cluster_mask, outcome.mri_from_voxel,
                                r.target_mri_mm, list(r.split_targets_mri_mm))
        self.surface_map = None
        if head.brain is not None and outcome.surface_r is not None and outcome.surface_cluster is not None \
                and len(outcome.surface_r) == head.brain.n_points:
            self.surface_map = SurfaceMap(head.brain, outcome.surface_r, outcome.surface_cluster)
        self._follow_brain_changes()
        self.result_box.show_result(r, self._sample_lines())
        self.overlay_box.setEnabled(True)
        self.overlay_box.set_limit(self.map_data.r_limit)
        self.draw_overlays(aim_camera=True)
        self.main.set_cursor(np.asarray(r.target_mri_mm, float))
        text = f"fMRI target computed: r = {r.correlation_at_target:+.2f}, moves {r.stability_mm:.1f} mm between halves"
        self.main.statusBar().showMessage(text + (f"; {len(r.warnings)} warning(s)" if r.warnings else ""), 15000)
        self.resultShown.emit(outcome)

    def _follow_brain_changes(self) -> None:
        """Resample the map when the brain surface is replaced under a shown result (e.g. the
        template brain that arrives after the job's MNI registration): the old patch would float
        off the new surface. (Connected here: the window builds its brain controller after the tabs.)"""
        brains = getattr(self.main, "brains", None)
        if brains is not None and not self._brain_signal:
            brains.brainChanged.connect(self._brain_changed)
            self._brain_signal = True

    def _brain_changed(self, brain: Any) -> None:
        o, head = self.outcome, self.state.head
        if o is None or head is None or o.volume is not head.volume or brain is not head.brain:
            return
        self.surface_map = None
        if brain is not None and brain.n_points:
            o.surface_r, o.surface_cluster = sample_on_surface(
                o.result.correlation_map, o.result.cluster_mask, o.mri_from_voxel,
                np.asarray(brain.points, float), surface_normals(brain))
            self.surface_map = SurfaceMap(brain, o.surface_r, o.surface_cluster)
        self.draw_overlays()

    def _sample_lines(self) -> list[str]:
        t, o = self.sample_truth, self.outcome
        if t is None or o is None or not _from_sample(t, o):
            return []
        d = float(np.linalg.norm(np.asarray(o.result.target_mri_mm, float) - np.asarray(t.target_mri_mm, float)))
        return [f"Sample run: {d:.1f} mm from the planted target"]

    # ----- overlays -----------------------------------------------------------------------
    def draw_overlays(self, aim_camera: bool = False) -> None:
        if self.map_data is None:
            return
        settings = self.overlay_box.settings()
        show_surface_map(self.main, self.surface_map, self.map_data, settings, aim_camera=aim_camera)
        layer = MapLayer(self.map_data, settings, self._lut)
        for view in self.main.slices.values():
            view.set_layer(LAYER, layer)
        self.main.set_markers(MARKERS, self.map_data.markers())

    def _settings_changed(self, settings: OverlaySettings) -> None:
        self.draw_overlays()

    # ----- the target ---------------------------------------------------------------------
    def add_target(self) -> None:
        """Put the computed target on this head as a normal tmsnav target (undoable)."""
        from tmsnav.navigation.targeting.planning import unique_name

        from ..planning.method_forms import PlanResult

        outcome, head = self.outcome, self.state.head
        planning = self.main.planning_panel
        try:
            if outcome is None or head is None or outcome.volume is not head.volume:
                raise NavigationError("Compute the fMRI target for the open image first.")
            ctx = planning._context()
            axes = ctx.head_axes_or_none()
        except NavigationError as exc:
            self.main.show_error("Cannot add the fMRI target", str(exc))
            return
        name = unique_name(self.state.targets.names, TARGET_NAME)
        result = outcome.result
        messages = [f"WARNING: {w}" for w in result.warnings]

        def job(progress=None, cancel=None) -> PlanResult:
            target = result.to_target(ctx.geometry.scalp, ctx.geometry.brain, head_axes=axes, name=name)
            return PlanResult(target, messages)

        self.main.jobs.run(job, "Adding target: fMRI", lambda res: planning._target_ready(res, head))

    # ----- the sample run -----------------------------------------------------------------
    def open_sample_run(self, variant: str = "fmriprep", compute: bool = True) -> None:
        """File > Open sample fMRI run (see :mod:`tmsnav.app.connectivity.sample_menu`)."""
        from .sample_menu import open_sample_run

        open_sample_run(self, variant, compute)


def _from_sample(truth: Any, outcome: ConnectivityOutcome) -> bool:
    """Whether the run computed is the sample run written by the menu item (its folder or file)."""
    bold = Path(truth.bold_path).resolve()
    chosen = Path(outcome.choice.path).resolve()
    return bold == chosen or chosen in bold.parents
