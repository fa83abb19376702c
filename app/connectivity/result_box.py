"""The evidence for a computed connectivity target, in plain words, and "Add as target".

What a clinic needs to judge the target before using it (Cash et al. 2021 argue for the cluster
method because it is reproducible; Fox et al. 2012 for the anticorrelation itself): the method
and its parameters, r at the target, the cluster size, how far it lies from the Fox 2012 group
target and from F3, how far it moves between the two halves of the run (stability), every
warning, and whether the run went through tmsnav's minimal pipeline rather than fMRIPrep."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from .compute_job import F3_MNI, FOX2012_MNI

__all__ = ["ResultBox", "evidence_lines"]


def _f(value: Any, fmt: str) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    return format(v, fmt) if math.isfinite(v) else "—"


def evidence_lines(result: Any) -> list[str]:
    """The evidence as lines of plain text (the box shows them; tests read them)."""
    p = result.params
    method = ("largest cluster of the most negative {:g} % (Cash 2021), its centre of mass"
              .format(p.percentile) if p.method == "cluster" else "peak voxel (most negative r)")
    x, y, z = np.asarray(result.target_mni_mm, float)
    pipeline = "MINIMAL (tmsnav realign + coregister + clean)" if result.pipeline == "minimal" else result.pipeline
    lines = [
        f"Method: {method}; seed sphere {p.seed_radius_mm:g} mm at MNI {tuple(round(c) for c in p.seed_mni_mm)}, "
        f"smoothing {p.smoothing_fwhm_mm:g} mm, band {p.band_hz[0]:g}-{p.band_hz[1]:g} Hz",
        f"Pipeline: {pipeline}",
        f"Target MNI ({x:+.1f}, {y:+.1f}, {z:+.1f}) mm",
        f"r at target: {_f(result.correlation_at_target, '+.2f')}",
        f"Cluster: {int(result.cluster_voxels)} voxels ({_f(result.cluster_volume_mm3, '.0f')} mm³)",
        f"Distance to the Fox 2012 group target: {_f(result.distance_to_mni_mm(FOX2012_MNI), '.1f')} mm; "
        f"to F3: {_f(result.distance_to_mni_mm(F3_MNI), '.1f')} mm (MNI)",
        f"Stability: moves {_f(result.stability_mm, '.1f')} mm between the halves of the run",
        f"Data: {int(result.n_volumes_used)} volumes used, {_f(100 * result.scrubbed_fraction, '.0f')} % scrubbed, "
        f"mean FD {_f(result.mean_fd_mm, '.2f')} mm, seed tSNR {_f(result.seed_tsnr, '.0f')}",
    ]
    return lines


class ResultBox(QtWidgets.QGroupBox):
    addRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Result", parent)
        self.setObjectName("fmri_result")
        layout = QtWidgets.QVBoxLayout(self)
        self.minimal_label = QtWidgets.QLabel("MINIMAL PIPELINE: realigned, coregistered and cleaned by "
                                              "tmsnav, not fMRIPrep; check the overlay carefully.")
        self.minimal_label.setObjectName("fmri_minimal")
        self.minimal_label.setWordWrap(True)
        self.minimal_label.setStyleSheet("color: #8d4a00; font-weight: bold;")
        self.minimal_label.hide()
        layout.addWidget(self.minimal_label)
        # A read-only text box of fixed height, not a word-wrapped label: a label's height for
        # its width is not propagated through the scrolling side panel, and the evidence got cut.
        self.text = QtWidgets.QTextBrowser()
        self.text.setObjectName("fmri_evidence")
        self.text.setMinimumHeight(200)
        self.text.setPlainText("No target computed yet.")
        layout.addWidget(self.text)
        self.add_button = QtWidgets.QPushButton("Add as target")
        self.add_button.setObjectName("fmri_add_target")
        self.add_button.setEnabled(False)
        self.add_button.setToolTip("Add the target to the Planning list (Edit > Undo removes it again)")
        self.add_button.clicked.connect(self.addRequested)
        layout.addWidget(self.add_button)

    def clear(self, text: str = "No target computed yet.") -> None:
        self.text.setPlainText(text)
        self.minimal_label.hide()
        self.add_button.setEnabled(False)

    def show_result(self, result: Any, extra: list[str] | None = None) -> None:
        lines = evidence_lines(result) + list(extra or [])
        body = "<br>".join(html.escape(line) for line in lines)
        warnings = list(result.warnings)
        if warnings:
            body += ('<p style="color:#b00020"><b>Warnings</b><br>'
                     + "<br>".join("• " + html.escape(w) for w in warnings) + "</p>")
        self.text.setHtml(body)
        self.minimal_label.setVisible(result.pipeline == "minimal")
        self.add_button.setEnabled(True)

    def evidence_text(self) -> str:
        """What the box shows, as plain text (tests, copy and paste)."""
        return self.text.toPlainText()
