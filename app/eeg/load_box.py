"""The qEEG tab's first group: choose the EEG file and the cleaning settings, then see exactly
what the cleaning threw away.

A clinician must be able to say on which data the measures rest: which channels were dropped
(not EEG, unknown name, flat, noisy, bridged, saturated — each with its reason), which segments
were rejected (start-stop in seconds and why: amplitude, gradient, outside the chosen eyes
condition), and how many seconds of clean data remain. Resting-state qEEG needs at least a few
minutes of artefact-free data (the default minimum is 60 s; see docs/qeeg.md).
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from ..planning.method_forms import compact

__all__ = ["EegLoadBox", "EEG_FILTER", "rejection_lines"]

EEG_FILTER = ("EEG recordings (*.edf *.bdf *.vhdr *.set *.fif *.fif.gz);;"
              "EDF/EDF+ (*.edf);;BDF (*.bdf);;BrainVision (*.vhdr);;EEGLAB (*.set);;FIF (*.fif *.fif.gz);;"
              "All files (*)")

#: (label, value) of the reference choices CleaningParams accepts.
REFERENCES = (("average of all good channels", "average"),
              ("linked ears / mastoids (A1+A2, M1+M2, TP9+TP10)", "linked_ears"))
#: (label, value) of the eyes conditions; "all" uses every segment.
CONDITIONS = (("eyes closed", "eyes_closed"), ("eyes open", "eyes_open"), ("all data", "all"))
#: (label, value) of the line-noise notch; None lets the cleaning detect 50 vs 60 Hz.
NOTCHES = (("detect 50 / 60 Hz", None), ("50 Hz", 50.0), ("60 Hz", 60.0))


def rejection_lines(recording: Any, clean: Any) -> list[str]:
    """What was dropped or rejected, one human line each (shown in the tab and kept for tests)."""
    lines = [f"{clean.clean_duration_s:.0f} s of clean data kept of {recording.duration_s:.0f} s recorded "
             f"({len(clean.channels)} channels, reference: {clean.reference}, "
             f"band {clean.band_hz[0]:g}-{clean.band_hz[1]:g} Hz"
             + (f", notch {clean.notch_hz:g} Hz" if clean.notch_hz else ", no notch") + ")"]
    for name, reason in recording.dropped_channels.items():
        lines.append(f"channel {name} not used: {reason}")
    for name, reason in clean.bad_channels.items():
        lines.append(f"channel {name} rejected: {reason}")
    for start, stop, reason in clean.rejected_segments:
        lines.append(f"segment {start:.1f}-{stop:.1f} s rejected: {reason}")
    for warning in [*recording.warnings, *clean.warnings]:
        lines.append(f"warning: {warning}")
    return lines


class EegLoadBox(QtWidgets.QGroupBox):
    """File choice, cleaning settings and the list of what was rejected."""

    openRequested = QtCore.Signal(str)      # a path the user chose
    reloadRequested = QtCore.Signal()       # the same file with the new settings

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Resting EEG", parent)
        self.setObjectName("qeeg_load_box")
        layout = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.open_button = QtWidgets.QPushButton("Open EEG file…")
        self.open_button.setObjectName("qeeg_open")
        self.open_button.setToolTip("EDF/EDF+, BDF, BrainVision (.vhdr), EEGLAB (.set) or FIF; "
                                    "File > Open sample EEG loads a synthetic recording")
        self.open_button.clicked.connect(self._choose)
        self.reload_button = QtWidgets.QPushButton("Re-clean")
        self.reload_button.setObjectName("qeeg_reload")
        self.reload_button.setToolTip("Clean and measure the same file again with the settings below")
        self.reload_button.setEnabled(False)
        self.reload_button.clicked.connect(self.reloadRequested)
        row.addWidget(self.open_button)
        row.addWidget(self.reload_button)
        layout.addLayout(row)
        self.file_label = QtWidgets.QLabel("No EEG loaded.")
        self.file_label.setObjectName("qeeg_file")
        self.file_label.setWordWrap(True)
        layout.addWidget(self.file_label)

        form = QtWidgets.QFormLayout()
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.addLayout(form)
        self.reference = self._combo("qeeg_reference", REFERENCES)
        form.addRow("Reference", self.reference)
        self.condition = self._combo("qeeg_condition", CONDITIONS)
        self.condition.setToolTip("Used when the file's annotations mark eyes-closed / eyes-open "
                                  "segments; alpha measures (IAF, asymmetry) are read eyes closed")
        form.addRow("Segments", self.condition)
        self.notch = self._combo("qeeg_notch", NOTCHES)
        form.addRow("Line noise", self.notch)
        self.min_clean = QtWidgets.QDoubleSpinBox()
        self.min_clean.setObjectName("qeeg_min_clean")
        self.min_clean.setRange(10.0, 3600.0)
        self.min_clean.setValue(60.0)
        self.min_clean.setSuffix(" s")
        self.min_clean.setMaximumWidth(110)
        self.min_clean.setToolTip("Fewer clean seconds than this is refused: band powers from a "
                                  "short recording are not stable")
        form.addRow("Minimum clean data", self.min_clean)

        self.rejected = QtWidgets.QPlainTextEdit()
        self.rejected.setObjectName("qeeg_rejected")
        self.rejected.setReadOnly(True)
        self.rejected.setMaximumHeight(130)
        self.rejected.setPlaceholderText("What the cleaning rejects (channels, segments) appears here.")
        layout.addWidget(self.rejected)

    @staticmethod
    def _combo(name: str, choices: tuple) -> QtWidgets.QComboBox:
        combo = compact(QtWidgets.QComboBox())
        combo.setObjectName(name)
        for label, value in choices:
            combo.addItem(label, value)
        return combo

    def _choose(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open EEG recording", "", EEG_FILTER)
        if path:
            self.openRequested.emit(path)

    def params_kwargs(self) -> dict[str, Any]:
        """The chosen settings as CleaningParams keyword arguments (no notch given: detected)."""
        notch = self.notch.currentData()
        kwargs: dict[str, Any] = {"reference": self.reference.currentData(),
                                  "condition": self.condition.currentData(),
                                  "min_clean_s": float(self.min_clean.value())}
        if notch is not None:
            kwargs["notch_hz"] = float(notch)
        return kwargs

    def show_result(self, display_name: str, recording: Any, clean: Any) -> list[str]:
        """Show the file and what was rejected; returns the lines shown."""
        self.file_label.setText(f"{display_name}: {recording.file_format}, {len(recording.channels)} EEG "
                                f"channels at {recording.sfreq_hz:g} Hz, {recording.duration_s:.0f} s")
        lines = rejection_lines(recording, clean)
        self.rejected.setPlainText("\n".join(lines))
        self.reload_button.setEnabled(True)
        return lines
