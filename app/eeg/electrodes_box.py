"""Where the electrodes are on this head: the template placed on the patient's scalp by default,
or a BIDS ``_electrodes.tsv`` (e.g. written by a digitiser, or by tmsnav's own digitising step,
embedded below it). The scalp map is interpolated from these positions, so the box always says
which source is in use (BIDS-EEG electrodes specification, Pernet et al. 2019, Sci Data 6:103).
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["ElectrodesBox"]


class ElectrodesBox(QtWidgets.QGroupBox):
    templateRequested = QtCore.Signal()
    fileChosen = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Electrodes on this head", parent)
        self.setObjectName("qeeg_electrodes_box")
        self._layout = QtWidgets.QVBoxLayout(self)
        self.source = QtWidgets.QLabel("No electrode positions yet.")
        self.source.setObjectName("qeeg_electrode_source")
        self.source.setWordWrap(True)
        self._layout.addWidget(self.source)
        row = QtWidgets.QHBoxLayout()
        self.template_button = QtWidgets.QPushButton("Template on this head")
        self.template_button.setObjectName("qeeg_template_electrodes")
        self.template_button.setToolTip("10-10 positions measured on this scalp from nasion, inion "
                                        "and the ears (the Planning tab's landmarks)")
        self.template_button.clicked.connect(self.templateRequested)
        self.file_button = QtWidgets.QPushButton("Load electrodes file…")
        self.file_button.setObjectName("qeeg_electrodes_file")
        self.file_button.setToolTip("BIDS _electrodes.tsv in this image's mm (with its _coordsystem.json)")
        self.file_button.clicked.connect(self._choose)
        row.addWidget(self.template_button)
        row.addWidget(self.file_button)
        self._layout.addLayout(row)

    def add_widget(self, widget: QtWidgets.QWidget) -> None:
        """Embed another widget (the digitising step) under the buttons."""
        self._layout.addWidget(widget)

    def _choose(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open BIDS electrodes file", "", "BIDS electrodes (*_electrodes.tsv *.tsv);;All files (*)")
        if path:
            self.fileChosen.emit(path)

    def show_source(self, text: str, problem: bool = False) -> None:
        self.source.setText(text)
        self.source.setStyleSheet("color: #b00020" if problem else "")
