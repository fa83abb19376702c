"""Where the EEG electrodes are on this head: template positions, or the cap digitised with the
tracked pointer, saved / read as BIDS files.

The technician touches each electrode of the cap in the listed order with the pointer tip and
holds still 1 s; the touch goes through the accepted head registration into the MRI and is judged
by :class:`tmsnav.navigation.eeg.digitisation.ElectrodeDigitisation` (no registration, off the
scalp, still on the previous electrode, a skipped or swapped electrode: refused with the cause).
The capture machinery is the fiducial step's, reused, not copied: pointer tips paired with the
head reference in the same camera frame (:meth:`tmsnav.app.registration.context.WorkflowContext.
paired_tip` / ``paired_history``), the hold-still detector (:class:`tmsnav.navigation.
registration.sampling.HoldStillDetector`) with its re-arm after a capture, and the short-gap
tolerance (:class:`~tmsnav.navigation.registration.sampling.TrackingGap`). As in the fiducial
step, whatever the tip rests on when digitising starts is not taken: it must move first.

The next electrode is the large pink sphere on the 3-D head; captured ones are green, interpolated
orange, refused red, still to touch light grey (at their template position moved with the cap).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.eeg.bids_electrodes import intended_for, read_for_head, write_bids_electrodes
from tmsnav.navigation.eeg.digitisation import (CAPTURED, INTERPOLATED, PENDING, REFUSED,
                                                DigitisationError, ElectrodeDigitisation)
from tmsnav.navigation.eeg.electrodes import TEN_TWENTY_19, place_electrodes
from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.registration.sampling import HoldStillDetector, TrackingGap
from tmsnav.navigation.targeting.worker_mesh import worker_safe_surface

from ..registration.base import MessageLabel, compact_table
from .scalp_view import clear_electrodes, show_electrodes

__all__ = ["DigitiseElectrodesBox", "SETS"]

#: (label, key) of the electrode sets; "recording" = the loaded EEG's channels.
SETS = (("10-20 (19 electrodes)", "10-20"), ("the recording's channels", "recording"),
        ("10-10 (61 electrodes)", "10-10"))
AVERAGE_MAX_OFFSET_MM = 2.0        # use the held mean only if it agrees with the capture sample
_TEN_TEN_EXTRA = ("Fpz", "AF7", "AF3", "AFz", "AF4", "AF8", "F5", "F1", "F2", "F6", "FT7", "FC5",
                  "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "FT8", "C5", "C1", "C2", "C6", "TP7",
                  "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "TP8", "P5", "P1", "P2", "P6",
                  "PO7", "PO3", "POz", "PO4", "PO8", "Oz")
_STATUS_WORD = {PENDING: "to touch", CAPTURED: "captured", INTERPOLATED: "interpolated",
                REFUSED: "refused"}


def _placement_job(scalp, fiducials, names):
    """Off the GUI thread: landmarks and positions (0.3-0.5 s on the sample head). Returns
    (PlacedElectrodes, "") or (None, the reason) so the box shows the reason itself.
    ``scalp`` must be a :func:`~tmsnav.navigation.targeting.worker_mesh.worker_safe_surface`:
    a VTK closest-cell query on a worker while the GUI renders can deadlock."""
    from tmsnav.navigation.targeting.planning import landmarks_from

    def run(progress=None, cancel=None):
        try:
            choice = landmarks_from(fiducials, scalp)
            return place_electrodes(scalp, choice.landmarks, names), " ".join(choice.notes)
        except NavigationError as exc:
            return None, str(exc)
    return run


class DigitiseElectrodesBox(QtWidgets.QGroupBox):
    """Electrode positions for the qEEG maps: template, or digitised with the pointer."""

    positionsChanged = QtCore.Signal(object)     # dict name -> mri mm (captured + interpolated)

    def __init__(self, window, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Electrode positions on this head", parent)
        self.setObjectName("eeg_digitise_box")
        self.window_ = window
        self.channels: list[str] = []
        self.template: dict[str, np.ndarray] = {}
        self.digitisation: ElectrodeDigitisation | None = None
        self.digitising = False
        layout = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Electrodes:"))
        self.set_choice = QtWidgets.QComboBox()
        self.set_choice.setObjectName("eeg_electrode_set")
        for label, key in SETS:
            self.set_choice.addItem(label, key)
        row.addWidget(self.set_choice, 1)
        layout.addLayout(row)
        row = QtWidgets.QHBoxLayout()
        self.template_button = QtWidgets.QPushButton("Template positions")
        self.template_button.setObjectName("eeg_template_positions")
        self.template_button.setToolTip("10-10 construction on this scalp, 10-05 template for other names")
        self.template_button.clicked.connect(lambda: self.start(digitise=False))
        self.start_button = QtWidgets.QPushButton("Digitise with the pointer")
        self.start_button.setObjectName("eeg_digitise_start")
        self.start_button.clicked.connect(lambda: self.start(digitise=True))
        row.addWidget(self.template_button)
        row.addWidget(self.start_button)
        layout.addLayout(row)
        self.instruction = QtWidgets.QLabel("")
        self.instruction.setObjectName("eeg_digitise_instruction")
        self.instruction.setWordWrap(True)
        self.instruction.setStyleSheet("font-size: 14pt; font-weight: bold; color: #ad1457;")
        layout.addWidget(self.instruction)
        self.hold_bar = QtWidgets.QProgressBar()
        self.hold_bar.setObjectName("eeg_digitise_hold")
        self.hold_bar.setRange(0, 1000)
        self.hold_bar.setFormat("holding still %p%")
        self.hold_bar.setMaximumHeight(14)
        layout.addWidget(self.hold_bar)
        self.follow = QtWidgets.QCheckBox("Turn the 3-D view to the electrode to touch")
        self.follow.setObjectName("eeg_digitise_follow")
        self.follow.setChecked(True)
        layout.addWidget(self.follow)
        self._looked_at: str | None = None
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setObjectName("eeg_electrode_table")
        self.table.setHorizontalHeaderLabels(["Electrode", "Status", "Detail"])
        compact_table(self.table)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setMinimumHeight(160)
        layout.addWidget(self.table)
        row = QtWidgets.QHBoxLayout()
        self.capture_button = QtWidgets.QPushButton("Capture now")
        self.capture_button.setObjectName("eeg_digitise_capture")
        self.capture_button.clicked.connect(lambda: self.capture())
        self.redo_button = QtWidgets.QPushButton("Redo selected")
        self.redo_button.setObjectName("eeg_digitise_redo")
        self.redo_button.clicked.connect(self.redo_selected)
        self.interpolate_button = QtWidgets.QPushButton("Interpolate the rest")
        self.interpolate_button.setObjectName("eeg_digitise_interpolate")
        self.interpolate_button.clicked.connect(self.interpolate)
        for b in (self.capture_button, self.redo_button, self.interpolate_button):
            row.addWidget(b)
        layout.addLayout(row)
        row = QtWidgets.QHBoxLayout()
        self.save_button = QtWidgets.QPushButton("Save BIDS…")
        self.save_button.setObjectName("eeg_bids_save")
        self.save_button.clicked.connect(self._choose_save)
        self.load_button = QtWidgets.QPushButton("Load BIDS…")
        self.load_button.setObjectName("eeg_bids_load")
        self.load_button.clicked.connect(self._choose_load)
        row.addWidget(self.save_button)
        row.addWidget(self.load_button)
        layout.addLayout(row)
        self.message = MessageLabel("eeg_digitise_message")
        layout.addWidget(self.message)
        self.detector = HoldStillDetector()
        self._gap = TrackingGap()
        self._arm_after_move = True
        self._last_ns = 0
        window.tracking.updated.connect(self.on_snapshot)
        window.state.headChanged.connect(lambda _h: self.reset())
        window.state.registrationChanged.connect(self._registration_changed)
        self.reset()

    # ----- set-up ---------------------------------------------------------------------------
    def set_channels(self, channels: list[str]) -> None:
        """The loaded recording's channel names (canonical); chosen as the set when given."""
        self.channels = list(channels)
        if self.channels:
            self.set_choice.setCurrentIndex(self.set_choice.findData("recording"))

    def names(self) -> list[str]:
        key = self.set_choice.currentData()
        if key == "recording":
            if not self.channels:
                raise NavigationError("no EEG recording is loaded: choose 10-20 or open the EEG first")
            return list(self.channels)
        return list(TEN_TWENTY_19) + (list(_TEN_TEN_EXTRA) if key == "10-10" else [])

    def reset(self) -> None:
        """A new head: every position of the old one is void."""
        self.template, self.digitisation, self.digitising = {}, None, False
        self._discard_armed = False
        self.table.setRowCount(0)
        self.instruction.setText("")
        self.hold_bar.setValue(0)
        self.message.show_message("")
        if self.window_.state.head is not None:
            clear_electrodes(self.window_)
        self._update_buttons()

    def start(self, digitise: bool) -> None:
        """Compute the template positions of the chosen set on this head (off the GUI thread),
        then show them (``digitise`` False) or start asking for touches."""
        head = self.window_.state.head
        if head is None or head.scalp is None:
            self.message.show_message("Open the patient's T1 (with its scalp) first.", "error")
            return
        try:
            names = self.names()
        except NavigationError as exc:
            self.message.show_message(str(exc), "error")
            return
        touched = self.digitisation.captured() if self.digitisation is not None else []
        if touched and not self._discard_armed:
            self._discard_armed = True
            self.message.show_message(f"{len(touched)} electrodes are digitised: Save BIDS… to keep "
                                      "them, or press again to start over.", "warn")
            return
        self._discard_armed = False
        self.message.show_message("Placing the electrodes on this head…", "info")
        surface = worker_safe_surface(head.scalp)          # numpy queries only, on the worker
        self.window_.jobs.run(_placement_job(surface, head.fiducials_mm, names),
                              "Electrode positions",
                              lambda result: self._placed(result, digitise, head, surface))

    def _placed(self, result: tuple[Any, str], digitise: bool, head, surface) -> None:
        placed, note = result
        if head is not self.window_.state.head:       # another head was opened meanwhile
            return
        if placed is None or not placed.positions_mm:
            why = note if placed is None else "none of " + ", ".join(placed.unknown) + \
                " is a 10-20/10-10/10-05 electrode name"
            self.message.show_message(f"No electrode positions: {why}", "error")
            return
        self.template = dict(placed.positions_mm)
        self.digitisation = ElectrodeDigitisation(list(self.template), self.template, surface)
        self.digitising = digitise
        lines = []
        if placed.unknown:
            lines.append("No position for " + ", ".join(placed.unknown) + " (not 10-20/10-10/10-05 names).")
        if placed.renamed:
            lines.append("Renamed " + ", ".join(f"{a} → {b}" for a, b in placed.renamed.items()) + ".")
        if note:
            lines.append(note)
        self.message.show_message(" ".join(lines), "warn" if lines else "info")
        if digitise:
            self.detector.reset()
            self._arm_after_move = True
            self._last_ns = time.monotonic_ns()
        self.refresh()
        self.positionsChanged.emit(self.positions_mm())

    def _registration_changed(self, _result) -> None:
        """A new head registration: touched electrodes go through it again (see
        :meth:`ElectrodeDigitisation.remap`), and the user is told."""
        dig, reg = self.digitisation, self.window_.state.mri_from_reference
        if dig is None or reg is None or not self.digitising:
            return
        moved = dig.remap(reg)
        if moved:
            self.message.show_message(
                f"The head registration changed: the {len(moved)} touched electrodes were re-mapped "
                "through the new one. If the head reference moved on the head since they were "
                "touched, digitise them again.", "warn")
            self.refresh()
            self.positionsChanged.emit(self.positions_mm())

    # ----- what the qEEG panel uses ----------------------------------------------------------
    def positions_mm(self) -> dict[str, np.ndarray]:
        """Digitised + interpolated positions when any electrode was digitised, else the
        template positions (mri mm)."""
        if self.digitisation is not None and self.digitising:
            known = self.digitisation.positions_mm()
            if known:
                return known
        return {n: p.copy() for n, p in self.template.items()}

    # ----- the list and the 3-D view ----------------------------------------------------------
    def refresh(self) -> None:
        dig = self.digitisation
        rows = [dig.rows[n] for n in dig.order] if dig is not None else []
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            name = row.name
            items = (name, self._word(row.status), row.reason)
            for col, text in enumerate(items):
                self.table.setItem(i, col, QtWidgets.QTableWidgetItem(text))
        self._show_instruction()
        self._update_buttons()
        self._draw()

    def _word(self, status: str) -> str:
        """The list's word for a row: "template" for positions shown without digitising."""
        return _STATUS_WORD[status] if self.digitising else "template"

    def _show_instruction(self) -> None:
        dig = self.digitisation
        if dig is None or not self.digitising:
            self.instruction.setText("")
        elif dig.current is None:
            self.instruction.setText("Every electrode has a position. Select one and Redo to touch "
                                     "it again.")
        else:
            reg = "" if self.window_.state.registration_verified else \
                " (the registration is not verified on the scalp yet)"
            self.instruction.setText(f"Touch {dig.current} with the pointer tip and hold still{reg}.")

    def _update_buttons(self) -> None:
        active = self.digitisation is not None and self.digitising
        self.hold_bar.setVisible(active)
        self.follow.setVisible(active)
        self.capture_button.setEnabled(active)
        self.redo_button.setEnabled(active)
        self.interpolate_button.setEnabled(active)
        self.save_button.setEnabled(bool(self.positions_mm()))

    def _draw(self) -> None:
        dig = self.digitisation
        if dig is None or self.window_.state.head is None:
            return
        shown, status = {}, {}
        for name in dig.order:
            row = dig.rows[name]
            if row.position_mm is not None:
                shown[name] = row.position_mm
            else:
                shown[name] = dig.predicted(name) if self.digitising else dig.expected[name]
            status[name] = self._word(row.status)
        show_electrodes(self.window_, shown, dig.current if self.digitising else None, status)
        if self.digitising and self.follow.isChecked() and dig.current is not None \
                and dig.current != self._looked_at:
            self._look_at(shown[dig.current])
        self._looked_at = dig.current if self.digitising else None

    def _look_at(self, point_mm: np.ndarray) -> None:
        """Camera outside the head along the centre->electrode line, top of the head up: the
        pink sphere faces the user whichever side of the head it is on."""
        head = self.window_.state.head
        centre = np.asarray(head.scalp.points, float).mean(axis=0)
        out = np.asarray(point_mm, float) - centre
        out /= max(float(np.linalg.norm(out)), 1e-9)
        up = np.array([0.0, 0.0, 1.0]) if abs(out[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
        plotter = self.window_.view3d.plotter
        plotter.camera_position = [tuple(point_mm + 450.0 * out), tuple(centre), tuple(up)]
        self.window_.view3d.request_render()

    # ----- capture --------------------------------------------------------------------------
    def _context(self):
        panel = getattr(self.window_, "registration_panel", None)
        return getattr(panel, "ctx", None)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Shown again (tab switched back): like entering the fiducial step, what the tip rests
        on now is not taken, and the hold starts over."""
        super().showEvent(event)
        self.detector.reset()
        self._arm_after_move = True
        self._last_ns = time.monotonic_ns()

    def on_snapshot(self, _snap) -> None:
        """A tracking update: feed the hold-still detector; capture when the tip held still."""
        dig, ctx = self.digitisation, self._context()
        if not self.digitising or dig is None or dig.current is None or ctx is None \
                or not self.isVisible():
            return
        point, why = ctx.paired_tip("reference")
        if self._gap.too_long(point is not None, time.monotonic()):
            self.detector.reset()
        if point is not None:
            if self._arm_after_move:                 # what the tip rests on now is not asked
                self.detector.mark_captured(point)
                self._arm_after_move = False
            for t_ns, tip in ctx.paired_history("reference", self._last_ns):
                self.detector.add(t_ns / 1e9, tip)
                self._last_ns = t_ns
        hold = self.detector.state()
        if hold.still and point is not None:
            self.capture(auto=True)
            hold = self.detector.state()
        self.hold_bar.setValue(int(1000 * hold.held_s / self.detector.window_s) if hold.armed else 0)
        if point is None:
            self.hold_bar.setFormat(why[:60])
        else:
            self.hold_bar.setFormat("holding still %p%")

    def capture(self, auto: bool = False) -> bool:
        """Capture the asked electrode now (button, or ``auto`` after a still hold)."""
        dig, ctx = self.digitisation, self._context()
        if dig is None or not self.digitising or ctx is None:
            return False
        point, why = ctx.paired_tip("reference")
        if point is None:
            self.message.show_message(f"Capture refused: {why}", "error")
            return True
        if self.detector.state().still:
            held = self.detector.held_point()
            if held is not None and np.linalg.norm(held - point) < AVERAGE_MAX_OFFSET_MM:
                point = held
        outcome = dig.capture(point, self.window_.state.mri_from_reference)
        self.detector.mark_captured(point)         # the tip must move before the next try
        if outcome.ok:
            self.message.show_message(outcome.message, "ok")
            self.positionsChanged.emit(self.positions_mm())
        else:
            self.message.show_message(outcome.message, "warn" if auto else "error")
        self.refresh()
        return True

    def _selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        dig = self.digitisation
        if dig is None or not rows or rows[0].row() >= len(dig.order):
            return None
        return dig.order[rows[0].row()]

    def select(self, name: str) -> None:
        if self.digitisation is not None and name in self.digitisation.order:
            self.table.selectRow(self.digitisation.order.index(name))

    def redo_selected(self) -> None:
        name = self._selected()
        if name is None or self.digitisation is None:
            self.message.show_message("Select the electrode to redo in the list.", "info")
            return
        self.digitisation.redo(name)
        self.detector.reset()
        self.message.show_message(f"{name}: touch it again.", "info")
        self.refresh()
        self.positionsChanged.emit(self.positions_mm())

    def interpolate(self) -> None:
        if self.digitisation is None:
            return
        try:
            filled = self.digitisation.interpolate_missing()
        except DigitisationError as exc:
            self.message.show_message(str(exc), "error")
            return
        self.message.show_message(f"Interpolated {len(filled)}: {', '.join(filled)}." if filled
                                  else "Nothing to interpolate.", "info")
        self.refresh()
        self.positionsChanged.emit(self.positions_mm())

    # ----- files ----------------------------------------------------------------------------
    def _choose_save(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for the BIDS electrode files")
        if folder:
            self.save_bids(Path(folder) / "sub-01_space-Other")

    def _choose_load(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "BIDS electrodes file", "",
                                                        "BIDS electrodes (*_electrodes.tsv)")
        if path:
            self.load_bids(path)

    def save_bids(self, stem: str | Path) -> Path | None:
        dig = self.digitisation
        if dig is not None and self.digitising and dig.positions_mm():
            positions: dict[str, Any] = {n: dig.rows[n].position_mm for n in dig.order}
            placement = dig.placement()
        else:
            positions = dict(self.template)
            placement = {n: "template" for n in positions}
        if not any(p is not None for p in positions.values()):
            self.message.show_message("No electrode positions to save yet.", "error")
            return None
        try:
            tsv, _ = write_bids_electrodes(stem, positions, placement=placement,
                                           intended_for=intended_for(getattr(getattr(
                                               self.window_.state.head, "volume", None), "source", None)))
        except (OSError, NavigationError) as exc:
            self.message.show_message(f"Not saved: {exc}", "error")
            return None
        self.message.show_message(f"Saved {tsv.name} and its coordsystem.json.", "ok")
        return tsv

    def load_bids(self, path: str | Path) -> bool:
        """Read a BIDS electrodes file of this patient; refused when its electrodes are not on
        this head's scalp (another patient's file, or another coordinate frame)."""
        head = self.window_.state.head
        if head is None or head.scalp is None:
            self.message.show_message("Open the patient's T1 (with its scalp) first.", "error")
            return False
        try:
            read, renamed = read_for_head(path, head.scalp)
        except NavigationError as exc:
            self.message.show_message(f"Not loaded: {exc}.", "error")
            return False
        expected = {**self.template, **read.positions_mm}
        names = list(read.positions_mm) + [n for n in read.missing if n in self.template]
        self.digitisation = ElectrodeDigitisation(names, expected, head.scalp)
        for name, p in read.positions_mm.items():
            how = read.placement.get(name, "digitised")
            self.digitisation.restore(name, p, how != "digitised",
                                      f"{how}, read from {Path(path).name}")
        self.digitising = True
        changed = [f"{a} → {b}" for a, b in renamed.items()]
        self.message.show_message(f"Loaded {len(read.positions_mm)} electrode positions"
                                  + (f"; without a position: {', '.join(read.missing)}" if read.missing else "")
                                  + (f"; renamed {', '.join(changed)}" if changed else "") + ".", "ok")
        self.refresh()
        self.positionsChanged.emit(self.positions_mm())
        return True
