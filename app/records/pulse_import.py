"""File > Import pulses…: another navigator's recorded pulses drawn around the target.

When a course moves between a Brainsight or Localite system and tmsnav, the clinician wants to
see where the other system's pulses landed on this patient's head before placing today's coil.
This reads a Brainsight text export (its samples) or a Localite TriggerMarker file
(:func:`tmsnav.navigation.exchange.pulse_summary.read_pulse_file`) on the window's job runner, so
a file of thousands of pulses never freezes the window, and draws the pulses' hotspot positions
in the 3-D view as their own overlay: one magenta, square markers (the course's previous
sessions are round dots coloured per session, :mod:`.previous_pulses`), with a legend line
"Imported: 412 pulses from Brainsight (file.txt), median 3.2 mm from <active target>".

Checks before drawing, with the same care as Import targets: no MRI open -> a message; a file
that holds no pulses (targets only, SimNIBS, anything else) or none with a known pose -> a
message naming what the file is; a Brainsight file labelled with another space than the open
T1's (:func:`...brainsight.space_mismatch`) or pulses that do not sit on this head's scalp
(:func:`...pulse_summary.off_head_warning`) -> a warning the user must answer ("Show anyway" or
Cancel). The pulses belong to the MRI they were drawn on: opening another image clears them;
File > Clear imported pulses removes them. Display only: they never enter the session or the
course record.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.exchange import brainsight
from tmsnav.navigation.exchange.pulse_summary import (PulseFile, PulseSummary, legend_line,
                                                      off_head_warning, read_pulse_file,
                                                      scalp_distances, summarize)

from .pulse_overlay import draw_cloud, even_subsample, legend_actor, rgb

__all__ = ["PulseImport", "COLOUR", "OVERLAY", "LEGEND", "MAX_DRAWN"]

log = logging.getLogger(__name__)

#: Not in the previous-pulses palette (Tableau 10) nor its grey: told apart at a glance.
COLOUR = "#ff3df2"
OVERLAY, LEGEND = "imported_pulses", "imported_pulses_legend"
#: Points drawn at most (evenly subsampled; the counts and distances use every pulse).
MAX_DRAWN = 3000


class PulseImport(QtCore.QObject):
    """The two File menu actions and the overlay; ``messages`` is the :class:`ExchangeActions`
    whose message boxes (and ``last_message``) the import uses."""

    shown = QtCore.Signal(int)                 # points drawn (0: cleared)

    def __init__(self, window, menu: QtWidgets.QMenu, messages: Any,
                 before: QtGui.QAction | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.messages = messages
        self.pulse_file: PulseFile | None = None
        self.summary: PulseSummary | None = None
        self.warnings: list[str] = []
        self.n_points = 0
        self.confirm_box: QtWidgets.QMessageBox | None = None
        self.show_anyway: QtWidgets.QPushButton | None = None
        self.import_action = QtGui.QAction("Import p&ulses…", window)
        self.import_action.setObjectName("exchange_import_pulses")
        self.import_action.setToolTip("Show where another navigator's recorded pulses landed on "
                                      "this head (display only)")
        self.import_action.triggered.connect(self.choose)
        self.clear_action = QtGui.QAction("Clear imported pulses", window)
        self.clear_action.setObjectName("exchange_clear_pulses")
        self.clear_action.setEnabled(False)
        self.clear_action.triggered.connect(self.clear)
        for act in (self.import_action, self.clear_action):
            if before is not None:
                menu.insertAction(before, act)
            else:
                menu.addAction(act)
        window.state.headChanged.connect(lambda _head: self.clear())
        window.state.targetsChanged.connect(self._refresh)

    # ----- import -----------------------------------------------------------------------------
    def _head(self) -> Any:
        head = getattr(self.window.state, "head", None)
        if head is None:
            self.messages._error("No MRI open", "Open the patient's MRI first: imported pulses "
                                                "are drawn on the head they were recorded on.")
        return head

    def choose(self) -> None:
        if self._head() is None:
            return
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Import pulses", "",
            "Brainsight samples or Localite TriggerMarkers (*.txt *.xml);;All files (*)")
        if path:
            self.import_pulses(path)

    def import_pulses(self, path: str | Path) -> Any:
        """Read ``path`` on the window's job runner; the checks and the drawing follow on the GUI
        thread. Returns the job (None when refused at once)."""
        from ..logging_setup import add_identifying_path

        head = self._head()
        if head is None:
            return None
        path = Path(path)
        add_identifying_path(path)                 # file names may carry a patient's name
        scalp = getattr(head, "scalp", None)
        vertices = (np.array(scalp.points, float, copy=True) if scalp is not None
                    else np.zeros((0, 3)))

        def work(progress=None, cancel=None):
            if progress is not None:
                progress(0.05, "reading the file")
            try:
                pulses = read_pulse_file(path)
            except (NavigationError, OSError) as exc:
                return exc
            if progress is not None:
                progress(0.9, "checking against the scalp")
            posed = summarize(pulses.samples).positions
            return pulses, scalp_distances(posed, vertices) if len(vertices) else None

        return self.window.jobs.run(work, "Reading pulses",
                                    lambda result: self._read(result, head))

    def _read(self, result: Any, head: Any) -> None:
        if isinstance(result, BaseException):
            self.messages._error("Cannot import pulses", result)
            return
        if head is not getattr(self.window.state, "head", None):
            self.messages._error("Cannot import pulses", "Another image was opened while the "
                                 "file was read: import the pulses again on this image.")
            return
        pulses, distances = result
        warnings = []
        if pulses.format == "brainsight":
            volume = getattr(head, "volume", None)
            if volume is not None:
                mismatch = brainsight.space_mismatch(pulses.coordinate_system, volume.source,
                                                     str(volume.affine_source))
                if mismatch is not None:
                    warnings.append(mismatch.replace("Check the targets", "check the pulses"))
        if distances is not None:
            off = off_head_warning(distances, pulses.path.name)
            if off is not None:
                warnings.append(off)
        if not warnings:
            self._accept(pulses, [])
            return
        self._confirm(pulses, warnings)

    def _confirm(self, pulses: PulseFile, warnings: list[str]) -> None:
        """Ask before drawing pulses that may not belong to this MRI (window-modal, not blocking)."""
        space = pulses.coordinate_system or "no coordinate system stated"
        text = (f"{pulses.path.name} ({pulses.source_name}, {space}) may not belong to this MRI:\n"
                + "\n".join(f"• {w}" for w in warnings)
                + "\n\nPulses drawn in the wrong place look like a coil placed wrongly. Show them "
                  "anyway?")
        self.messages.last_message = text
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Check the imported pulses",
                                    text, QtWidgets.QMessageBox.StandardButton.Cancel, self.window)
        box.setObjectName("pulse_import_confirm")
        show = QtWidgets.QPushButton("Show anyway")
        box.addButton(show, QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: QtWidgets.QAbstractButton) -> None:
            self.confirm_box = self.show_anyway = None
            if button is show:
                self._accept(pulses, warnings)
            else:
                self.messages.last_message = f"import of {pulses.path.name} cancelled"
                self.window.statusBar().showMessage("Import pulses: cancelled", 5000)

        box.buttonClicked.connect(answered)
        box.open()
        self.confirm_box, self.show_anyway = box, show

    def _accept(self, pulses: PulseFile, warnings: list[str]) -> None:
        self.pulse_file, self.warnings = pulses, warnings
        self._refresh()
        s = self.summary
        assert s is not None
        text = legend_line(s, pulses.source_name, pulses.path.name) + "."
        if s.p95_mm is not None:
            text += f" 95% of them within {s.p95_mm:.1f} mm."
        text += (f"\n{s.n_with_pose} of {s.n_samples} pulses have a coil position"
                 + (f"; {s.n_without_pose} without one (coil not tracked) are not drawn."
                    if s.n_without_pose else "."))
        if len(s.per_target) > 1 or (s.per_target and s.n_with_pose != sum(s.per_target.values())):
            text += "\nPer target: " + ", ".join(f"{k} {v}" for k, v in s.per_target.items())
        elif s.per_target:
            text += f"\nAll at the file's target {next(iter(s.per_target))!r}."
        text += (f"\nCoordinate system: {pulses.coordinate_system or 'not stated'}."
                 "\nDisplay only: they are not added to the session or the course record.")
        if pulses.notes:
            text += "\n\n" + "\n".join(f"• {n}" for n in pulses.notes)
        if warnings:
            text += "\n\nShown although:\n" + "\n".join(f"• {w}" for w in warnings)
        self.messages._info("Pulses imported", text, warn=bool(warnings))

    # ----- drawing ----------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Recompute the distances to the (possibly new) active target and redraw."""
        if self.pulse_file is None:
            return
        target = self.window.state.targets.active
        self.summary = summarize(self.pulse_file.samples,
                                 None if target is None else target.scalp_point_mm,
                                 "" if target is None else target.name)
        self.draw()

    def legend_text(self) -> str:
        if self.pulse_file is None or self.summary is None:
            return ""
        return legend_line(self.summary, self.pulse_file.source_name, self.pulse_file.path.name)

    def draw(self) -> None:
        view = self.window.view3d
        if self.summary is None or not len(self.summary.positions):
            self.n_points = draw_cloud(view, OVERLAY, LEGEND, None, None)
        else:
            points = even_subsample(self.summary.positions, MAX_DRAWN)
            colours = np.tile(np.array(rgb(COLOUR), np.uint8), (len(points), 1))
            assert self.pulse_file is not None
            # short lines: a VTK legend scales its text to the box, and the full line (file and
            # target names) came out unreadably small; the Navigate tab and the message have it
            drawn = f" ({len(points)} drawn)" if len(points) < len(self.summary.positions) else ""
            median = self.summary.median_mm
            lines = (f"Imported, {self.pulse_file.source_name}: {self.summary.n_with_pose} pulses{drawn}\n"
                     + ("no active target" if median is None else f"median {median:.1f} mm from the target"))
            box = legend_actor([(lines, COLOUR)], left=0.01, top=0.97, width=0.52,
                               line_height=0.11, square=True)
            self.n_points = draw_cloud(view, OVERLAY, LEGEND, points, colours, box,
                                       spheres=False, point_size=7)
        self.clear_action.setEnabled(self.n_points > 0)
        self.shown.emit(self.n_points)

    def clear(self) -> None:
        """Remove the imported pulses (File > Clear imported pulses; a new image)."""
        if self.pulse_file is None and not self.n_points:
            return
        self.pulse_file, self.summary, self.warnings = None, None, []
        self.draw()
