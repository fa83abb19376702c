"""The brain surface of the open head: from the template once an MNI transform exists, or from a
file the user chooses (File > Load brain surface, Display panel). Every brain is checked against
the scalp before it is shown (``tmsnav.navigation.surfaces.brain_sources.check_brain_in_scalp``), and where it
came from is shown in the Display panel and as a legend in the 3-D view.

Threads: a file the user chooses loads through ``MainWindow._run`` (progress bar, Cancel). The
template brain that *follows* an MNI registration is made on a plain background thread instead
(about 1 s, or a cache read): it starts by itself, so it must never make the user's next action
fail with "another operation is still running", and a plain thread (not a QThread) lets the
window close while it runs. Its result comes back through a queued Qt signal. That thread runs
numpy only (no VTK off the GUI thread while it renders); the template's one VTK step runs once in a
child process that fills the disk cache.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.surfaces.brain_sources import (check_brain_arrays, check_brain_in_scalp, describe_brain,
                                                      load_brain, scalp_arrays)
from tmsnav.navigation.progress import scaled
from tmsnav.navigation.surfaces.extract import SurfaceError
from tmsnav.navigation.surfaces.template_brain import (cached_template_arrays, place_template, provenance_of,
                                                       template_brain_from_arrays, template_cache_path,
                                                       template_transform_of, write_template_mesh)

from .workers import user_message

__all__ = ["BrainController", "BRAIN_FILE_FILTER", "legend_for"]

log = logging.getLogger(__name__)
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="template-brain")

BRAIN_FILE_FILTER = ("Brain surfaces and masks (*.pial *.white *.gii *.gii.gz *.stl *.vtk *.vtp *.ply *.obj "
                     "*.msh *.nii *.nii.gz *.mgz *.mgh);;All files (*)")
SKULL_STRIPPED_BLOCK = "NO SCALP: navigation off"   # short: the banner font is large


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
    _templateDone = QtCore.Signal(object, object, object, bool)   # head, (brain, check) | None, error, asked

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.last_check = None
        self.template_running = False
        self._blocked = False
        self._templateDone.connect(self._template_done, QtCore.Qt.ConnectionType.QueuedConnection)
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
        self.window.display_panel.template_brain.setEnabled(
            head is not None and not getattr(head, "skull_stripped", False))
        self.window.view3d.set_brain_legend(legend_for(brain))

    def _head_changed(self, head) -> None:
        self.last_check = None
        self._show(head)
        if head is not None and getattr(head, "skull_stripped", False):
            self.state.set_navigation_block(SKULL_STRIPPED_BLOCK)
            self._blocked = True
        elif self._blocked:
            self._blocked = False
            if self.window.view3d.banner == SKULL_STRIPPED_BLOCK:
                self.state.set_navigation_block("")   # the next image has a scalp: lift our banner

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
        self._start_template(head, registration)

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
            self._start_template(head, self.state.mni, asked=True)

    def _start_template(self, head, registration, asked: bool = False) -> None:
        """Make the template brain for ``registration`` on the background thread. ``asked``: the
        user pressed the button (then it may replace a brain loaded from a file).

        The background thread runs numpy only: VTK filters on a worker thread while the GUI
        thread renders can deadlock (seen as a frozen window in 1 run of 3). The one VTK step,
        contouring the template in MNI space, runs once ever in a child process that fills the
        disk cache; placing that mesh on this head and checking it against the scalp is numpy,
        and the PolyData is made back on the GUI thread."""
        scalp = None if head.scalp is None else scalp_arrays(head.scalp)   # copied here, on the GUI thread
        matrix = registration.mri_from_mni.matrix.copy()
        self.template_running = True
        self.window.display_panel.show_brain("Making the brain surface from the template…")
        self.window.statusBar().showMessage("Making the brain surface from the template…", 10000)

        def work() -> None:
            try:
                arrays = cached_template_arrays()
                if arrays is None:
                    path = template_cache_path()
                    try:
                        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
                            child.submit(write_template_mesh, path).result()
                    except OSError as exc:
                        raise SurfaceError("the template brain could not be written to the cache folder "
                                           f"{path.parent} (full or read-only disk?): {exc}") from exc
                    arrays = cached_template_arrays()
                if arrays is None:
                    raise SurfaceError("the template brain written to the cache folder could not be read "
                                       "back (full or damaged disk?)")
                placed = place_template(arrays, matrix)
                try:
                    check = None if scalp is None else check_brain_arrays(placed["points"], placed["faces"], *scalp)
                except SurfaceError as exc:
                    raise SurfaceError(
                        "The template brain placed by this MNI registration does not fit this head, "
                        "so the registration is probably wrong (run it again or load the patient's "
                        f"own brain surface). {exc}") from exc
                result, error = (placed, check), ""
            except Exception as exc:  # noqa: BLE001 - every failure reaches the user as text
                log.exception("template brain failed")
                result, error = None, user_message(exc)
            try:
                self._templateDone.emit(head, result, error, asked)
            except RuntimeError:   # the window was closed meanwhile
                pass

        _EXECUTOR.submit(work)

    def _template_done(self, head, result, error: str, asked: bool) -> None:
        self.template_running = False
        if head is not self.state.head:
            return
        if error:
            self._show(head)
            self.window.show_error("Brain surface from the template", error)
            return
        if not asked and head.brain is not None and template_transform_of(head.brain) is None:
            self._show(head)   # the patient's own brain was loaded meanwhile: it wins
            return
        placed, check = result
        brain = template_brain_from_arrays(placed)
        matrix = template_transform_of(brain)
        mni = self.state.mni
        if mni is None or matrix is None or not np.allclose(matrix, mni.mri_from_mni.matrix, atol=1e-6):
            self._show(head)   # the MNI transform changed meanwhile: its own brain is on its way
            return
        self._set_brain(head, (brain, check))

    # ----- files --------------------------------------------------------------------------
    def choose_file(self) -> None:
        if self.state.head is None:
            self.window.show_error("Brain surface", "Load an MRI first (File > Open).")
            return
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self.window, "Load brain surface (choose lh.pial and rh.pial together)", "", BRAIN_FILE_FILTER)
        if paths:
            self.load_files(paths)

    def load_files(self, paths: Sequence[str | Path]) -> None:
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

        self.window.jobs.run(job, "Loading the brain surface", lambda r: self._set_brain(head, r))
