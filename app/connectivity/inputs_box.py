"""Where the resting-state run comes from: an fMRIPrep / BIDS folder and a participant, or one
BOLD file (with an optional confounds TSV, which marks it as preprocessed, and a JSON sidecar).
The T1 is always the image open in tmsnav: the target must land on the head being navigated."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from .compute_job import InputChoice

__all__ = ["InputsBox", "participants_in"]


def participants_in(folder: str | Path) -> list[str]:
    """BIDS participant labels (``sub-<label>``) in a BIDS folder or its fMRIPrep derivatives."""
    root = Path(folder)
    labels: set[str] = set()
    for base in (root, root / "derivatives" / "fmriprep"):
        if base.is_dir():
            labels.update(p.name[4:] for p in base.glob("sub-*") if p.is_dir())
    return sorted(labels)


class _PathRow(QtWidgets.QWidget):
    """A line edit and a Browse button."""

    changed = QtCore.Signal(str)

    def __init__(self, placeholder: str, browse, name: str) -> None:
        super().__init__()
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QtWidgets.QLineEdit()
        self.edit.setObjectName(name)
        self.edit.setPlaceholderText(placeholder)
        self.edit.textChanged.connect(self.changed)
        self.edit.setMinimumWidth(60)      # a long path must not widen the side panel
        self.edit.textChanged.connect(lambda t: self.edit.setToolTip(t))
        button = QtWidgets.QPushButton("Browse…")
        button.clicked.connect(browse)
        row.addWidget(self.edit, 1)
        row.addWidget(button)

    def text(self) -> str:
        return self.edit.text().strip()


class InputsBox(QtWidgets.QGroupBox):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Resting-state run", parent)
        self.setObjectName("fmri_inputs")
        layout = QtWidgets.QVBoxLayout(self)
        self.t1_label = QtWidgets.QLabel("T1: no image open")
        self.t1_label.setObjectName("fmri_t1")
        self.t1_label.setWordWrap(True)
        layout.addWidget(self.t1_label)
        self.fmriprep_radio = QtWidgets.QRadioButton("fMRIPrep / BIDS folder")
        self.bold_radio = QtWidgets.QRadioButton("BOLD file")
        self.fmriprep_radio.setChecked(True)
        layout.addWidget(self.fmriprep_radio)
        self.folder = _PathRow("fMRIPrep output or BIDS folder", self._browse_folder, "fmri_folder")
        self.participant = QtWidgets.QComboBox()
        self.participant.setObjectName("fmri_participant")
        self.participant.setEditable(True)
        self.participant.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.participant.setMinimumContentsLength(6)
        self.participant.setToolTip("The BIDS participant label (sub-<label>)")
        self.folder.changed.connect(self._fill_participants)
        folder_form = QtWidgets.QFormLayout()
        folder_form.addRow(self.folder)
        folder_form.addRow("Participant", self.participant)
        self.folder_widget = QtWidgets.QWidget()
        self.folder_widget.setLayout(folder_form)
        layout.addWidget(self.folder_widget)
        layout.addWidget(self.bold_radio)
        self.bold = _PathRow("4-D BOLD NIfTI (.nii.gz)", self._browse_bold, "fmri_bold")
        self.confounds = _PathRow("confounds TSV (optional: file is preprocessed)", self._browse_confounds,
                                  "fmri_confounds")
        self.sidecar = _PathRow("JSON sidecar (optional)", self._browse_sidecar, "fmri_sidecar")
        bold_form = QtWidgets.QFormLayout()
        for row in (self.bold, self.confounds, self.sidecar):
            bold_form.addRow(row)
        self.bold_widget = QtWidgets.QWidget()
        self.bold_widget.setLayout(bold_form)
        layout.addWidget(self.bold_widget)
        self.pipeline_note = QtWidgets.QLabel("")
        self.pipeline_note.setObjectName("fmri_pipeline_note")
        self.pipeline_note.setWordWrap(True)
        layout.addWidget(self.pipeline_note)
        self.fmriprep_radio.toggled.connect(self._kind_changed)
        self.confounds.changed.connect(lambda _t: self._kind_changed())
        self._kind_changed()

    def set_t1(self, name: str | None) -> None:
        self.t1_label.setText(f"T1: {name} (the open image)" if name else "T1: no image open (File > Open)")

    def _kind_changed(self) -> None:
        folder = self.fmriprep_radio.isChecked()
        self.folder_widget.setEnabled(folder)
        self.bold_widget.setEnabled(not folder)
        if folder:
            note = "Uses fMRIPrep's preprocessed BOLD (space-T1w preferred) and its confounds."
        elif self.confounds.text():
            note = "Preprocessed BOLD with confounds: no realignment or coregistration is done."
        else:
            note = ("Raw scanner run: tmsnav's MINIMAL pipeline realigns, coregisters to the T1 and "
                    "cleans it (less thorough than fMRIPrep; labelled as such in the result).")
        self.pipeline_note.setText(note)

    def _browse_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "fMRIPrep or BIDS folder")
        if path:
            self.folder.edit.setText(path)

    def _browse_bold(self) -> None:
        self._browse_file(self.bold, "BOLD NIfTI (*.nii *.nii.gz);;All files (*)")

    def _browse_confounds(self) -> None:
        self._browse_file(self.confounds, "Confounds (*.tsv);;All files (*)")

    def _browse_sidecar(self) -> None:
        self._browse_file(self.sidecar, "BIDS sidecar (*.json);;All files (*)")

    def _browse_file(self, row: _PathRow, pattern: str) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Choose a file", "", pattern)
        if path:
            row.edit.setText(path)

    def _fill_participants(self, folder: str) -> None:
        current = self.participant.currentText()
        labels = participants_in(folder) if folder.strip() else []
        self.participant.clear()
        self.participant.addItems(labels)
        if current in labels:
            self.participant.setCurrentText(current)

    def set_choice(self, choice: InputChoice) -> None:
        """Fill the fields (the sample-run menu item; tests)."""
        if choice.kind == "fmriprep":
            self.fmriprep_radio.setChecked(True)
            self.folder.edit.setText(choice.path)
            self.participant.setCurrentText(choice.participant or "")
        else:
            self.bold_radio.setChecked(True)
            self.bold.edit.setText(choice.path)
            self.confounds.edit.setText(choice.confounds or "")
            self.sidecar.edit.setText(choice.sidecar or "")
        self._kind_changed()

    def choice(self) -> InputChoice:
        if self.fmriprep_radio.isChecked():
            return InputChoice("fmriprep", self.folder.text(), participant=self.participant.currentText().strip()
                               or None)
        return InputChoice("bold", self.bold.text(), confounds=self.confounds.text() or None,
                           sidecar=self.sidecar.text() or None)
