"""The brain surface of the open head: from the template once an MNI transform exists, or from a
file the user chooses (File > Load brain surface, Display panel). Work runs on the worker thread
through ``MainWindow._run`` (progress bar, Cancel); every brain is checked against the scalp
before it is shown (``navigation.brain_sources.check_brain_in_scalp``), and where it came from is
shown in the Display panel and as a legend in the 3-D view.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from navigation.brain_sources import check_brain_in_scalp, describe_brain, load_brain
from navigation.progress import scaled
from navigation.surfaces import SurfaceError
from navigation.template_brain import provenance_of, template_brain_surface, template_transform_of

__all__ = ["BrainController", "BRAIN_FILE_FILTER", "legend_for"]

BRAIN_FILE_FILTER = ("Brain surfaces and masks (*.pial *.white *.gii *.gii.gz *.stl *.vtk *.vtp *.ply *.obj "
                     "*.msh *.nii *.nii.gz *.mgz *.mgh);;All files (*)")
SKULL_STRIPPED_BLOCK = "SKULL-STRIPPED IMAGE: no scalp, navigation disabled"


def legend_for(brain) -> str:
    """Short 3-D view legend naming the brain's source."""
    if brain is None or brain.n_points == 0:
        return ""
    text = provenance_of(brain)
    if text.startswith("approximate, from the template"):
        return "Brain: approximate, from the template (MNI152)"
    if not text:
        return "Brain surface"
    return "Brain: " + (text if len(text) <= 70 else text[:67] + "…")


class BrainController(QtCore.QObject):
    """Keeps ``state.head.brain`` and its display in step with the MNI transform and user files."""

    brainChanged = QtCore.Signal(object)   # pv.PolyData | None

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.last_check = None
        self._pending = None
        self.state.headChanged.connect(self._head_changed)
        self.state.mniChanged.connect(self._mni_changed)
        window.display_panel.loadBrainRequested.connect(self.choose_file)
        window.display_panel.templateBrainRequested.connect(self.from_template)

    # ----- showing ------------------------------------------------------------------------
    def _show(self, head) -> None:
        brain = None if head is None else head.brain
        if head is None:
            text = "No image"
        elif brain is None:
            text = ("No brain surface: no cortex point, depth or e-field. Make an approximate one "
                    "from the template (runs the MNI registration) or load this patient's own.")
        else:
            text = "Brain surface: " + describe_brain(brain)
        tip = "" if self.last_check is None else self.last_check.summary()
        self.window.display_panel.show_brain(text, tip)
        self.window.view3d.set_brain_legend(legend_for(brain))

    def _head_changed(self, head) -> None:
        self.last_check = None
        self._show(head)
        if head is not None and getattr(head, "skull_stripped", False):
            self.state.set_navigation_block(SKULL_STRIPPED_BLOCK)

    def _set_brain(self, head, result) -> None:
        brain, check = result
        if head is not self.state.head:
            return   # another image was opened meanwhile
        head.brain = brain
        self.last_check = check
        self.window.view3d.set_surfaces(head.scalp, brain, reset_camera=False)
        planning = getattr(self.window, "planning_panel", None)
        if planning is not None:
            planning.geometry_cache = None   # the next plan uses the new brain
        self._show(head)
        where = "" if check is None else f" ({check.summary()})"
        self.window.statusBar().showMessage(f"Brain surface: {describe_brain(brain)}{where}", 15000)
        self.brainChanged.emit(brain)

    # ----- running jobs -------------------------------------------------------------------
    def _when_idle(self, start) -> None:
        """Start ``start`` now, or as soon as the running job has ended (the MNI registration's
        result arrives while its job is still the window's current one, and its ``finished``
        signal may already be queued, so this polls the window on the GUI thread)."""
        self._pending = start
        self._start_pending()

    @QtCore.Slot()
    def _start_pending(self) -> None:
        if self._pending is None:
            return
        if self.window.job is not None:
            QtCore.QTimer.singleShot(20, self, self._start_pending)
            return
        start, self._pending = self._pending, None
        start()

    # ----- the template route -------------------------------------------------------------
    def _mni_changed(self, registration) -> None:
        head = self.state.head
        if registration is None or head is None or getattr(head, "skull_stripped", False):
            return
        if head.brain is not None and template_transform_of(head.brain) is None:
            return   # the patient's own brain (a file) wins over the template
        matrix = registration.mri_from_mni.matrix
        current = template_transform_of(head.brain)
        if current is not None and np.allclose(current, matrix, atol=1e-6):
            return
        self._when_idle(lambda: self._start_template(head, registration))

    def from_template(self) -> None:
        head = self.state.head
        if head is None:
            self.window.show_error("Brain surface", "Load an MRI first (File > Open).")
            return
        if getattr(head, "skull_stripped", False):
            self.window.show_error("Brain surface", "This skull-stripped image is its own brain surface.")
            return
        if self.state.mni is None:
            self.window.planning_panel.register_mni()   # the brain follows its result
        else:
            self._start_template(head, self.state.mni)

    def _start_template(self, head, registration) -> None:
        if head is not self.state.head or self.state.mni is not registration:
            return
        scalp = head.scalp

        def job(progress=None, cancel=None):
            brain = template_brain_surface(registration.mri_from_mni, progress=scaled(progress, 0.0, 0.9),
                                           cancel=cancel)
            try:
                check = None if scalp is None else check_brain_in_scalp(brain, scalp)
            except SurfaceError as exc:
                raise SurfaceError(f"The template brain placed by this MNI registration does not fit "
                                   f"this head, so the registration is probably wrong (run it again or "
                                   f"load the patient's own brain surface). {exc}") from exc
            return brain, check

        self.window._run(job, "Brain surface from the template", lambda r: self._set_brain(head, r))

    # ----- files --------------------------------------------------------------------------
    def choose_file(self) -> None:
        if self.state.head is None:
            self.window.show_error("Brain surface", "Load an MRI first (File > Open).")
            return
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self.window, "Load brain surface (choose lh.pial and rh.pial together)", "", BRAIN_FILE_FILTER)
        if paths:
            self.load_files(paths)

    def load_files(self, paths: list[str | Path]) -> None:
        """Read, check against the scalp and show a brain surface (worker thread)."""
        head = self.state.head
        if head is None:
            self.window.show_error("Brain surface", "Load an MRI first (File > Open).")
            return
        volume, scalp = head.volume, head.scalp
        files = [Path(p) for p in paths]

        def job(progress=None, cancel=None):
            brain = load_brain(files, volume, progress=scaled(progress, 0.0, 0.9), cancel=cancel)
            check = None if scalp is None else check_brain_in_scalp(brain, scalp)
            return brain, check

        self.window._run(job, "Loading the brain surface", lambda r: self._set_brain(head, r))
