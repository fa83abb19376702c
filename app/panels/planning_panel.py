"""Planning tab: MNI registration, targets added by every method, the target list with its
evidence and distances, and the e-field at the active target with the handle-angle optimiser.

The panel wires widgets to ``tmsnav.navigation.targeting``: every computation over the scalp, the
registration and the field runs on the worker thread through the window's
:class:`~tmsnav.app.job_runner.JobRunner` (progress bar, Cancel); every change to the targets
goes through ``AppState.targets_edited`` so the session records it.

Adding, renaming and deleting a target and applying the best handle angle go on an undo stack
(``undo_stack``, Edit > Undo / Ctrl+Z): each command keeps the whole target list before and
after (targets are immutable, so the snapshot keeps every target with its evidence), and undo
or redo is written to the session like any other edit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvista as pv
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.mni_registration import cached_register_to_mni
from tmsnav.navigation.targeting.planning import (coil_windings_for, cortical_normal, field_for_target,
                                                  find_fiducial, mri_to_mni, orientation_for_target,
                                                  with_handle_angle)
from tmsnav.navigation.targeting.efield import EfieldResult
from tmsnav.navigation.targeting.orientation import OrientationResult
from tmsnav.navigation.targeting.targets import Target, TargetSet

from ..planning.add_target_box import AddTargetBox
from ..planning.context import LANDMARK_NAMES, HeadGeometry, PlanContext
from ..planning.efield_box import EfieldBox
from ..planning.efield_view import clear_field_map, show_field_map
from ..planning.method_forms import ManualForm, PlanResult
from ..planning.mni_box import MniBox, mni_cursor_text
from ..planning.target_display import TargetDrawer
from ..planning.target_list import TargetListBox
from ..planning.target_undo import TargetEdit, snapshot

from ..window_protocols import PlanningWindow

__all__ = ["PlanningPanel", "mni_cursor_text", "TargetEdit"]


class PlanningPanel(QtWidgets.QScrollArea):
    targetAdded = QtCore.Signal(object)     # Target
    fieldShown = QtCore.Signal(object)      # EfieldResult

    def __init__(self, window: PlanningWindow, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planning_panel")
        # "main", not "window": QWidget.window() is a method every widget has
        self.main = window
        self.state = window.state
        self.geometry_cache: HeadGeometry | None = None
        self.field_geometry: HeadGeometry | None = None   # the geometry self.field was computed on
        self.landmark_overrides: dict[str, np.ndarray] = {}
        self.estimated_landmarks: dict[str, np.ndarray] = {}
        self.field: tuple[Target, EfieldResult, OrientationResult | None] | None = None
        self.field_mesh: pv.PolyData | None = None   # the drawn map (point data: |E|)
        self.last_messages: list[str] = []
        self.drawer = TargetDrawer(window)
        self.undo_stack = QtGui.QUndoStack(self)

        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.mni_box = MniBox()
        self.add_box = AddTargetBox()
        self.list_box = TargetListBox()
        self.efield_box = EfieldBox()
        for box in (self.mni_box, self.add_box, self.list_box, self.efield_box):
            layout.addWidget(box)
        layout.addStretch(1)
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body.installEventFilter(self)
        self.viewport().installEventFilter(self)   # a scroll bar appearing narrows the viewport
        self.add_box.forms["manual"].installEventFilter(self)   # shown: refresh its cursor text

        self.mni_box.registerRequested.connect(self.register_mni)
        self.add_box.addRequested.connect(self.add_target)
        self.add_box.landmarks.setRequested.connect(self.set_landmark_from_cursor)
        self.add_box.landmarks.clearRequested.connect(self.clear_landmarks)
        self.list_box.targetClicked.connect(self.go_to_target)
        self.list_box.activateRequested.connect(self.activate_target)
        self.list_box.renameRequested.connect(self._ask_rename)
        self.list_box.deleteRequested.connect(self._ask_delete)
        self.list_box.measureRequested.connect(self.measure_along_scalp)
        self.efield_box.computeRequested.connect(self.compute_field)
        self.efield_box.applyAngleRequested.connect(self.apply_best_angle)
        self.efield_box.mapVisibleChanged.connect(self._map_visible)
        self.state.headChanged.connect(self._head_changed)
        self.state.targetsChanged.connect(self._targets_changed)
        self.state.mniChanged.connect(self._mni_changed)
        self.state.calibrationChanged.connect(self._coil_changed)
        window.cursorChanged.connect(self._cursor_changed)
        self._coil_changed("coil")
        self._targets_changed()

    # ----- layout: word-wrapped labels need their height for the panel's width --------------
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if obj is self.add_box.forms["manual"] and event.type() == QtCore.QEvent.Type.Show:
            self._cursor_changed()
        if (obj is self.widget() and event.type() == QtCore.QEvent.Type.LayoutRequest) or \
                (obj is self.viewport() and event.type() == QtCore.QEvent.Type.Resize):
            QtCore.QTimer.singleShot(0, self._fit_height)
        return super().eventFilter(obj, event)

    def _fit_height(self) -> None:
        """QScrollArea sizes its widget from sizeHint, which ignores height-for-width: wrapped
        labels would be squeezed. Give the body the height its layout needs at this width."""
        body = self.widget()
        layout = body.layout() if body is not None else None
        if body is None or layout is None:
            return
        width = self.viewport().width()
        needed = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
        if needed > 0 and body.minimumHeight() != needed:
            body.setMinimumHeight(needed)

    # ----- context ------------------------------------------------------------------------
    def _context(self) -> PlanContext:
        if self.geometry_cache is None:
            self.geometry_cache = HeadGeometry(self.state.head)   # raises "load an MRI first"
        mni = self.state.mni.mri_from_mni if self.state.mni is not None else None
        return PlanContext(self.geometry_cache, np.array(self.main.cursor_mri, float), mni,
                           dict(self.landmark_overrides), tuple(self.state.targets.names))

    def _fail(self, title: str, exc: Exception) -> None:
        self.main.show_error(title, str(exc))

    def _run(self, fn, title: str, on_success) -> None:
        self.main.jobs.run(fn, title, on_success)

    # ----- MNI ----------------------------------------------------------------------------
    def register_mni(self) -> None:
        head = self.state.head
        if head is None:
            self.main.show_error("MNI registration", "Load an MRI first (File > Open).")
            return
        volume = head.volume

        def done(reg) -> None:
            if self.state.head is not None and self.state.head.volume is volume:
                self.state.set_mni(reg)

        self._run(lambda progress, cancel: cached_register_to_mni(volume, progress=progress, cancel=cancel),
                  "MNI registration", done)

    def _mni_changed(self, reg) -> None:
        self.mni_box.show_registration(reg)
        if self.state.head is not None:
            self.main.set_cursor(self.main.cursor_mri)   # refresh the status-bar MNI text
        self._cursor_changed(self.main.cursor_mri)

    def _cursor_changed(self, mri_mm: Any = None) -> None:
        """The manual form's cursor readout; only while that form is on screen (each change of
        a label re-lays out the whole panel, ~10 ms under software rendering, on every click
        in a view). The form's Show event brings it up to date."""
        form = self.add_box.forms["manual"]
        if not isinstance(form, ManualForm) or not form.isVisible():
            return
        mri = np.asarray(self.main.cursor_mri if mri_mm is None else mri_mm, float)
        reg = self.state.mni
        form.show_cursor(mri, None if reg is None else mri_to_mni(reg.mri_from_mni, mri))

    # ----- head ---------------------------------------------------------------------------
    def _head_changed(self, head) -> None:
        self.undo_stack.clear()              # edits of another image's targets
        self.geometry_cache = None
        self.landmark_overrides.clear()
        self.estimated_landmarks.clear()
        self.field = None
        clear_field_map(self.main)
        self.efield_box.clear()
        self.mni_box.show_registration(self.state.mni)
        self._show_landmarks()
        self._targets_changed()

    def _show_landmarks(self) -> None:
        head = self.state.head
        fiducials: dict[str, np.ndarray] = dict(head.fiducials_mm or {}) if head is not None else {}
        self.add_box.landmarks.show_landmarks(fiducials, self.landmark_overrides, self.estimated_landmarks)
        points = {}
        for name in LANDMARK_NAMES:   # the one each method will use: cursor, image, estimate
            for candidate in (self.landmark_overrides.get(name), find_fiducial(fiducials, name),
                              self.estimated_landmarks.get(name)):
                if candidate is not None:
                    points[name] = candidate
                    break
        self.drawer.draw_landmarks(points)

    def set_landmark_from_cursor(self, name: str) -> None:
        if self.state.head is None:
            self.main.show_error("Landmarks", "Load an MRI first (File > Open).")
            return
        self.landmark_overrides[name] = np.array(self.main.cursor_mri, float)
        self.estimated_landmarks.pop(name, None)
        self._show_landmarks()

    def clear_landmarks(self) -> None:
        self.landmark_overrides.clear()
        self.estimated_landmarks.clear()
        self._show_landmarks()

    # ----- adding targets -----------------------------------------------------------------
    def add_target(self) -> None:
        form = self.add_box.current_form
        try:
            job = form.build(self._context(), self.add_box.name.text())
        except NavigationError as exc:
            self._fail(f"Cannot add a {form.title} target", exc)
            return
        head = self.state.head
        self._run(job, f"Adding target: {form.title}", lambda result: self._target_ready(result, head))

    def _target_ready(self, result: PlanResult, head=None) -> None:
        if head is not None and head is not self.state.head:
            return   # another image was opened meanwhile: the target belongs to the old one
        t = result.target
        before = snapshot(self.state.targets)
        try:
            self.state.targets.add(t)
        except NavigationError as exc:
            self._fail("Cannot add the target", exc)
            return
        self.state.targets.select(t.name)
        if result.landmarks is not None:
            self.estimated_landmarks = {n: getattr(result.landmarks.landmarks, n)
                                        for n, origin in result.landmarks.origin.items()
                                        if origin == "estimated"}
            self._show_landmarks()
        self.add_box.name.clear()
        self.state.targets_edited(f"added {t.name} ({t.source})")
        self.undo_stack.push(TargetEdit(self.state, before, f"added {t.name}"))
        self.list_box.select(t.name)
        self.last_messages = list(result.messages)
        text = f"Added {t.name}" + (": " + "; ".join(result.messages) if result.messages else "")
        self.main.statusBar().showMessage(text, 15000)
        if any("WARNING" in m for m in result.messages):
            box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Check this target",
                                        text, QtWidgets.QMessageBox.StandardButton.Ok, self.window())
            box.setObjectName("planning_warning")
            box.open()
            self._warning_box = box
        self.targetAdded.emit(t)

    # ----- the list -----------------------------------------------------------------------
    def _targets_changed(self) -> None:
        targets = self.state.targets
        active = targets.active
        self.list_box.show_targets(targets)
        self.drawer.draw_targets(targets)
        if self.field is not None and active is not self.field[0]:
            self.field = None
            clear_field_map(self.main)
            self.efield_box.clear("" if active is None else
                                  f"The active target is now {active.name}: press Compute for its field.")
        self.efield_box.show_active(None if active is None else active.name, computed=self.field is not None)

    def go_to_target(self, name: str) -> None:
        """Move the cursor to the target (cortex point, else entry), unless it is there: a click
        on a row selects it on press and comes back here on release, and every cursor move
        repaints all four views."""
        if name in self.state.targets:
            t = self.state.targets[name]
            point = t.cortex_point_mm if t.cortex_point_mm is not None else t.scalp_point_mm
            if not np.allclose(self.main.cursor_mri, point, atol=1e-6):
                self.main.set_cursor(point)

    def activate_target(self, name: str) -> None:
        """Make ``name`` the active target (selecting its row does this): guidance, the "why"
        box and the e-field follow it, the cursor goes to it and the session records it."""
        if name not in self.state.targets:
            return
        active = self.state.targets.active
        if active is None or active.name != name:
            self.state.targets.select(name)
            self.state.targets_edited(f"active target: {name}")
        self.go_to_target(name)

    def rename_target(self, old: str, new: str) -> bool:
        before = snapshot(self.state.targets)
        try:
            self.state.targets.rename(old, new)
        except NavigationError as exc:
            self._fail("Cannot rename the target", exc)
            return False
        self.state.targets_edited(f"renamed {old} to {new.strip()}")
        self.undo_stack.push(TargetEdit(self.state, before, f"renamed {old} to {new.strip()}"))
        self.list_box.select(new.strip())
        return True

    def _undoable(self, reason: str, change) -> None:
        """Apply ``change()`` to ``state.targets`` and push it on the undo stack."""
        before = snapshot(self.state.targets)
        change()
        self.state.targets_edited(reason)
        self.undo_stack.push(TargetEdit(self.state, before, reason))

    def delete_target(self, name: str) -> None:
        """Delete a target (Edit > Undo brings it back with its evidence)."""
        self._undoable(f"deleted {name}", lambda: self.state.targets.remove(name))

    def _ask_rename(self, name: str) -> None:
        new, ok = QtWidgets.QInputDialog.getText(self, "Rename target", "New name:", text=name)
        if ok and new.strip() and new.strip() != name:
            self.rename_target(name, new)

    def _ask_delete(self, name: str) -> None:
        answer = QtWidgets.QMessageBox.question(self, "Delete target", f"Delete the target {name!r}? "
                                                "(The session log keeps a record.)")
        if answer == QtWidgets.QMessageBox.StandardButton.Yes:
            self.delete_target(name)

    def measure_along_scalp(self) -> None:
        try:
            ctx = self._context()
        except NavigationError as exc:
            self._fail("Distances", exc)
            return
        snapshot = TargetSet.from_dict(self.state.targets.to_dict())

        def job(progress=None, cancel=None):
            return snapshot.distance_table(ctx.geometry.scalp)

        self._run(job, "Measuring along the scalp", lambda rows: self.list_box.show_distances(
            {(r["a"], r["b"]): r["scalp_arc_mm"] for r in rows}))

    # ----- e-field ------------------------------------------------------------------------
    def _coil_changed(self, which: str) -> None:
        if which != "coil":
            return
        d = self.state.coil_definition
        self.efield_box.set_coil(getattr(d, "name", None) or "generic 70 mm figure-8")
        self.efield_box.coil.setToolTip("" if d is not None else "assets/coils/generic-fig8-70.json: "
                                        "choose and calibrate your coil to use its windings")

    def compute_field(self) -> None:
        target = self.state.targets.active
        try:
            if target is None:
                raise NavigationError("Add a target and make it active first.")
            ctx = self._context()
            geo = ctx.geometry
            if geo.brain is None:
                raise NavigationError("The field map needs a brain (cortex) surface; this image has none.")
            windings = coil_windings_for(self.state.coil_definition)
        except NavigationError as exc:
            self._fail("Cannot compute the field", exc)
            return
        output = self.efield_box.output.value()
        didt100 = self.efield_box.didt_at_100_percent_A_per_s
        along_normal = self.efield_box.objective.currentData() == "normal"

        def job(progress=None, cancel=None):
            scalp_points = geo.scalp_points
            field = field_for_target(target, geo.brain_points, geo.brain_faces, scalp_points, windings,
                                     stimulator_output_percent=output,
                                     didt_at_100_percent_A_per_s=didt100)
            if cancel is not None:
                cancel.raise_if_cancelled()
            orient = None
            if target.cortex_point_mm is not None:
                direction = cortical_normal(geo.brain, target.cortex_point_mm) if along_normal else None
                orient = orientation_for_target(target, scalp_points, windings,
                                                didt_A_per_s=field.didt_A_per_s, direction=direction)
            return target, field, orient, geo

        self._run(job, "Computing the e-field", self._field_ready)

    def _field_ready(self, result: tuple[Target, EfieldResult, OrientationResult | None, HeadGeometry]) -> None:
        target, field, orient, geo = result
        if self.state.targets.active is not target:
            return   # the target changed while computing: the result no longer applies
        if self.geometry_cache is not geo:
            # the brain surface changed while computing (e.g. the template brain of a new MNI
            # registration arrived): a map on the old brain would be drawn on the wrong surface
            self.main.statusBar().showMessage(
                "The brain surface changed while the e-field was computed: press Compute again.", 15000)
            return
        self.field = (target, field, orient)
        self.field_geometry = geo
        self.efield_box.show_result(target.name, field, target.depth_mm, orient)
        if self.efield_box.show_map.isChecked() and geo.brain_polydata is not None:
            self.field_mesh = show_field_map(self.main, geo.brain_polydata, field,
                                             target, self.state.coil_definition)
        self.fieldShown.emit(field)

    def _map_visible(self, on: bool) -> None:
        if not on:
            clear_field_map(self.main)
        elif self.field is not None and self.field_geometry is not None \
                and self.field_geometry is self.geometry_cache and self.field_geometry.brain_polydata is not None:
            target, field, _ = self.field
            self.field_mesh = show_field_map(self.main, self.field_geometry.brain_polydata, field,
                                             target, self.state.coil_definition, aim_camera=False)

    def apply_best_angle(self) -> None:
        if self.field is None:
            return
        target, _, orient = self.field
        if orient is None or target.name not in self.state.targets:
            return
        turned = with_handle_angle(target, orient.best_angle_rad)
        self._undoable(f"handle angle of {target.name} turned "
                       f"{np.rad2deg(orient.best_angle_rad):+.1f} deg for the strongest field",
                       lambda: self.state.targets.replace(turned))
        self.efield_box.note_angle_applied(np.rad2deg(orient.best_angle_rad))
        self.compute_field()
