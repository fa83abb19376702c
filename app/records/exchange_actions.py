"""File menu entries to exchange targets, pulses and whole courses with other tools.

``ExchangeActions(window, menu)`` adds to ``menu`` (default: the File menu):

* **Import targets…** — a Brainsight .txt, Localite InstrumentMarker .xml or SimNIBS .mat,
  recognised by its content (:func:`tmsnav.navigation.exchange.detect.sniff`, not the file
  name). Each target is checked against the open head (:mod:`...exchange.scalp_fit`): a cortical
  point is moved out along its axis to the scalp, a target off this head or facing away is named
  in a warning. Added in one undoable step (Edit > Undo removes them all) and written to the
  session like any target edit.
* **Export targets…** — the format is the file type chosen in the save dialog.
* **Export pulses…** — the open session's logged pulses as Brainsight samples (with the targets)
  or Localite TriggerMarkers.
* **Import pulses…** / **Clear imported pulses** — another navigator's recorded pulses drawn
  on this head, display only (:mod:`.pulse_import`).
* **Export course as BIDS…** — needs the course: ``course_source()`` returns ``(records,
  course_uid)`` or None (then a message says to open a course first); runs off the GUI thread.

Every failure is a message box with the exchange module's own words, never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.exchange import bids, brainsight, localite, simnibs
from tmsnav.navigation.exchange.common import ExchangeData
from tmsnav.navigation.exchange.detect import FORMAT_LABELS, describe, sniff
from tmsnav.navigation.exchange.errors import ExchangeError
from tmsnav.navigation.exchange.scalp_fit import fit_to_scalp
from tmsnav.navigation.session.event_log import read_events
from tmsnav.navigation.targeting.targets import TargetSet
from tmsnav.navigation.treatment.pulse_log import LoggedPulse, pulses_from_events

__all__ = ["ExchangeActions", "install_exchange", "open_course", "TARGET_FILTERS", "PULSE_FILTERS"]

log = logging.getLogger(__name__)

TARGET_FILTERS = {"Brainsight text export (*.txt)": "brainsight",
                  "Localite InstrumentMarkers (*.xml)": "localite",
                  "SimNIBS matsimnibs (*.mat)": "simnibs"}
PULSE_FILTERS = {"Brainsight samples (*.txt)": "brainsight",
                 "Localite TriggerMarkers (*.xml)": "localite"}
_SUFFIX = {"brainsight": ".txt", "localite": ".xml", "simnibs": ".mat"}
_READERS: dict[str, Callable[[Path], ExchangeData]] = {
    "brainsight": brainsight.read_brainsight,
    "localite-instrument": localite.read_instrument_markers,
    "simnibs-mat": simnibs.read_matsimnibs}
CourseSource = Callable[[], "tuple[Any, str] | None"]


class ExchangeActions(QtCore.QObject):
    """The File menu actions; the methods taking a path are what the dialogs call."""

    def __init__(self, window, menu: QtWidgets.QMenu | None = None, *,
                 course_source: CourseSource | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.course_source = course_source
        self.last_message = ""
        self.last_box: QtWidgets.QMessageBox | None = None
        menu = menu if menu is not None else window.file_menu
        before = next((a for a in menu.actions() if a.text().startswith("Save &screenshot")), None)
        self.actions: dict[str, QtGui.QAction] = {}
        for key, text, slot in (("import", "&Import targets…", self.choose_import),
                                ("export", "E&xport targets…", self.choose_export_targets),
                                ("pulses", "Export &pulses…", self.choose_export_pulses),
                                ("bids", "Export course as &BIDS…", self.choose_export_bids)):
            act = QtGui.QAction(text, window)
            act.setObjectName(f"exchange_{key}")
            act.triggered.connect(slot)
            if before is not None:
                menu.insertAction(before, act)
            else:
                menu.addAction(act)
            self.actions[key] = act
        from .pulse_import import PulseImport

        self.pulse_import = PulseImport(window, menu, self, self.actions["export"])   # after Import targets
        if before is not None:
            menu.insertSeparator(before)

    # ----- messages ---------------------------------------------------------------------------
    def _box(self, icon: QtWidgets.QMessageBox.Icon, title: str, text: str) -> None:
        self.last_message = text
        box = QtWidgets.QMessageBox(icon, title, text, QtWidgets.QMessageBox.StandardButton.Ok,
                                    self.window)
        box.setObjectName("exchange_box")
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_box = box

    def _error(self, title: str, exc: BaseException | str) -> None:
        log.info("%s: %s", title, exc)
        self._box(QtWidgets.QMessageBox.Icon.Critical, title, str(exc))

    def _info(self, title: str, text: str, warn: bool = False) -> None:
        icon = QtWidgets.QMessageBox.Icon.Warning if warn else QtWidgets.QMessageBox.Icon.Information
        self._box(icon, title, text)

    # ----- import -----------------------------------------------------------------------------
    def choose_import(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Import targets", "", "Targets (*.txt *.xml *.mat);;All files (*)")
        if path:
            self.import_targets(path)

    def import_targets(self, path: str | Path) -> int:
        """Read, check against the head, add in one undoable step; returns how many were added."""
        path = Path(path)
        try:
            kind = sniff(path)
            if kind == "localite-trigger":
                raise ExchangeError(f"{path.name} is a Localite TriggerMarker file: it holds "
                                    "recorded pulses, not targets. Choose an InstrumentMarker file")
            if kind not in _READERS:
                raise ExchangeError(f"{path.name} is not a target file tmsnav can read (a "
                                    f"{FORMAT_LABELS['brainsight']}, "
                                    f"{FORMAT_LABELS['localite-instrument']} or "
                                    f"{FORMAT_LABELS['simnibs-mat']}): it is {describe(path)}.")
            data = _READERS[kind](path)
        except NavigationError as exc:
            self._error("Cannot import targets", exc)
            return 0
        state = self.window.state
        head = getattr(state, "head", None)
        scalp = getattr(head, "scalp", None)
        warnings: list[str] = []
        notes = list(data.notes)
        if kind == "brainsight":
            mismatch = brainsight.space_mismatch(data.coordinate_system, *self._t1())
            if mismatch is not None:
                warnings.append(mismatch)
        from tmsnav.app.planning.target_undo import TargetEdit, snapshot
        before = snapshot(state.targets)
        added = []
        for t in data.targets:
            if scalp is not None and scalp.n_points:
                fit = fit_to_scalp(t, scalp)
                t = fit.target
                if fit.kind == "moved-to-scalp":
                    notes.append(fit.message)
                elif fit.kind != "on-scalp":
                    warnings.append(fit.message)
            name, n = t.name, 2
            while name in state.targets:
                name, n = f"{t.name} ({n})", n + 1
            if name != t.name:
                notes.append(f"{t.name!r} already exists: imported as {name!r}")
                t = t.with_changes(name=name)
            state.targets.add(t)
            added.append(t.name)
        if not added:
            self._error("Cannot import targets", f"{path.name} holds no target")
            return 0
        state.targets.select(added[0])
        reason = f"imported {len(added)} target(s) from {FORMAT_LABELS[kind]} {path.name}"
        state.targets_edited(reason)
        planning = getattr(self.window, "planning_panel", None)
        if planning is not None:
            planning.undo_stack.push(TargetEdit(state, before, reason))
        text = (f"Imported {', '.join(added)} from {path.name} ({FORMAT_LABELS[kind]}, "
                f"{data.coordinate_system or 'no coordinate system stated'}).")
        if scalp is None:
            text += "\nNo head is open: the targets could not be checked against a scalp."
        if notes:
            text += "\n\n" + "\n".join(f"• {n}" for n in notes)
        if warnings:
            text += "\n\nCheck before use:\n" + "\n".join(f"• {w}" for w in warnings)
        self._info("Targets imported", text, warn=bool(warnings))
        return len(added)

    def _t1(self) -> tuple[Path | None, str]:
        """The open T1's file and the header transform tmsnav uses (for Brainsight's labels)."""
        volume = getattr(getattr(self.window.state, "head", None), "volume", None)
        if volume is None:
            return None, ""
        return volume.source, str(volume.affine_source)

    # ----- export targets ---------------------------------------------------------------------
    def choose_export_targets(self) -> None:
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Export targets", "targets.txt", ";;".join(TARGET_FILTERS))
        if path:
            self.export_targets(path, TARGET_FILTERS.get(chosen, "brainsight"))

    def export_targets(self, path: str | Path, fmt: str) -> Path | None:
        targets: TargetSet = self.window.state.targets
        if not len(targets):
            self._error("Nothing to export", "There are no targets yet: plan or import one first.")
            return None
        path = _with_suffix(Path(path), _SUFFIX[fmt])
        try:
            if fmt == "brainsight":
                space = brainsight.coordinate_system_for(*self._t1())
                out = brainsight.write_brainsight(path, targets, coordinate_system=space)
            elif fmt == "localite":
                out = localite.write_instrument_markers(path, targets)
            else:
                out = simnibs.write_matsimnibs(path, targets)
        except NavigationError as exc:
            self._error("Cannot export targets", exc)
            return None
        self.window.statusBar().showMessage(f"Exported {len(targets)} target(s) to {out.name}",
                                            10000)
        self.last_message = f"exported {out}"
        return out

    # ----- export pulses ----------------------------------------------------------------------
    def session_pulses(self) -> list[LoggedPulse] | None:
        session = getattr(self.window.state, "session", None)
        if session is None:
            return None
        return pulses_from_events(read_events(session.events.path).events)

    def choose_export_pulses(self) -> None:
        if not self._pulses_or_message():
            return
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Export pulses", "pulses.txt", ";;".join(PULSE_FILTERS))
        if path:
            self.export_pulses(path, PULSE_FILTERS.get(chosen, "brainsight"))

    def _pulses_or_message(self) -> list[LoggedPulse]:
        pulses = self.session_pulses()
        if pulses is None:
            self._error("No session", "Open or start a session first: pulses are exported from "
                                      "the open session.")
            return []
        if not pulses:
            self._error("No pulses", "The open session has no logged pulse yet.")
        return pulses

    def export_pulses(self, path: str | Path, fmt: str) -> Path | None:
        pulses = self._pulses_or_message()
        if not pulses:
            return None
        path = _with_suffix(Path(path), _SUFFIX[fmt])
        try:
            if fmt == "brainsight":
                out = brainsight.write_brainsight(path, self.window.state.targets, pulses,
                                                  coordinate_system=brainsight.coordinate_system_for(
                                                      *self._t1()))
            else:
                out = localite.write_trigger_markers(path, pulses)
        except NavigationError as exc:
            self._error("Cannot export pulses", exc)
            return None
        self.window.statusBar().showMessage(f"Exported {len(pulses)} pulses to {out.name}", 10000)
        self.last_message = f"exported {out}"
        return out

    # ----- export course as BIDS -----------------------------------------------------------
    def choose_export_bids(self) -> None:
        if self._course() is None:
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window,
                                                            "Folder for the BIDS export")
        if folder:
            self.export_bids(folder)

    def _course(self) -> tuple[Any, str] | None:
        course = None if self.course_source is None else self.course_source()
        if course is None:
            self._error("No course", "Open a patient's course first (File > Patients…): the BIDS "
                                     "export writes a whole course.")
        return course

    def export_bids(self, parent_folder: str | Path) -> Any:
        """Start the export into ``<parent_folder>/tmsnav-course-<uid8>-bids`` on a worker
        thread; returns the job (None when refused)."""
        course = self._course()
        if course is None:
            return None
        records, uid = course
        out = Path(parent_folder) / f"tmsnav-course-{uid[:8]}-bids"
        notes: list[str] = []

        def work(progress=None, cancel=None):
            return bids.export_course_bids(records, uid, out, notes=notes, progress=progress,
                                           cancel=cancel)

        def done(path: Path) -> None:
            text = f"The course was exported to {path}."
            if notes:
                text += "\n\n" + "\n".join(f"• {n}" for n in notes)
            self._info("Course exported", text)

        return self.window.jobs.run(work, "Export course as BIDS", done)


def _with_suffix(path: Path, suffix: str) -> Path:
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)


def open_course(window) -> tuple[Any, str] | None:
    """(records, course uid) of the open session's course, or None: no database open
    (``window.records.controller.records``) or the open session belongs to no course."""
    ui = getattr(window, "records", None)
    records = getattr(getattr(ui, "controller", None), "records", None)
    session = getattr(window.state, "session", None)
    uid = getattr(getattr(session, "record", None), "course_uid", "") if session else ""
    if records is None or not uid:
        return None
    return records, uid


def install_exchange(window) -> ExchangeActions:
    """The one line for ``MainWindow.__init__``: the File menu entries, the course taken from
    the open session (:func:`open_course`)."""
    return ExchangeActions(window, window.file_menu, course_source=lambda: open_course(window))
