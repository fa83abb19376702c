"""Step 6: review the registration (FRE, surface fit, predicted error, verdict) and accept it.

The predicted error is the 95 % bound of ``RegistrationResult.predicted_error_mm`` and the table
says what it is made of: the random part (touch noise through the fit) and the systematic part
(points off the skin, or a head/MRI size mismatch, measured from the points themselves, see
``navigation/registration/bias.py``). A systematic offset or scale is also a warning with its
likely cause.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.registration.verdict import (FAIL, PASS, WARN, Thresholds, Verdict,
                                                    assess_registration)

from .base import MessageLabel, StepWidget, compact_table, fmt_mm
from .context import display_name
from .overlays import DISTANCE_LEGEND_HTML, draw_landmarks, draw_points

__all__ = ["ResultStep"]

VERDICT_STYLE = {PASS: ("PASS", "#1b5e20", "#c8e6c9"), WARN: ("WARNING", "#5d4037", "#ffe0b2"),
                 FAIL: ("FAIL", "#ffffff", "#b00020")}


class ResultStep(StepWidget):
    key = "result"
    title = "6. Result"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        self.verdict_label = QtWidgets.QLabel("No registration computed yet.")
        self.verdict_label.setObjectName("result_verdict")
        self.verdict_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.verdict_label.setWordWrap(True)
        self.layout_.addWidget(self.verdict_label)
        self.reasons = MessageLabel("result_reasons")
        self.layout_.addWidget(self.reasons)
        self.table = QtWidgets.QTableWidget(0, 2)
        self.table.setObjectName("result_table")
        self.table.setHorizontalHeaderLabels(["", "Value"])
        compact_table(self.table)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(
            1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.layout_.addWidget(self.table, 1)
        legend = QtWidgets.QLabel("Surface points on the head: " + DISTANCE_LEGEND_HTML)
        legend.setWordWrap(True)
        legend.setStyleSheet("font-size: 8pt")
        self.layout_.addWidget(legend)
        self.thresholds = QtWidgets.QLabel(Thresholds().describe())
        self.thresholds.setObjectName("result_thresholds")
        self.thresholds.setWordWrap(True)
        self.thresholds.setStyleSheet("color: grey; font-size: 8pt")
        self.layout_.addWidget(self.thresholds)
        self.accept_button = QtWidgets.QPushButton("Accept registration")
        self.accept_button.setObjectName("result_accept")
        self.accept_button.clicked.connect(self.accept)
        self.redo_button = QtWidgets.QPushButton("Redo (back to fiducials)")
        self.redo_button.setObjectName("result_redo")
        self.redo_button.clicked.connect(lambda: self.goTo.emit("fiducials"))
        self.add_buttons(self.accept_button, self.redo_button)
        self.message = MessageLabel("result_message")
        self.layout_.addWidget(self.message)
        self.verdict: Verdict | None = None
        self.rows: dict[str, str] = {}
        self.accepted_result = None

    # ----- display ------------------------------------------------------------------------
    def enter(self) -> None:
        result = self.ctx.candidate
        self.message.show_message("")
        if result is None:
            self.verdict = None
            self.verdict_label.setText("No registration computed yet: finish the scalp step.")
            self.verdict_label.setStyleSheet("")
            self.reasons.show_message("")
            self.table.setRowCount(0)
            self.accept_button.setEnabled(False)
            return
        target = next(iter(result.predicted_tre_mm), None) or next(
            iter(result.predicted_tre_fiducials_mm), None)
        self.verdict = assess_registration(result, target)
        text, fg, bg = VERDICT_STYLE[self.verdict.level]
        self.verdict_label.setText(text)
        self.verdict_label.setStyleSheet(f"font-size: 20pt; font-weight: bold; color: {fg}; "
                                         f"background: {bg}; padding: 6px; border-radius: 4px;")
        if self.verdict.reasons:
            level = "error" if self.verdict.level == FAIL else "warn"
            self.reasons.show_message("\n".join(self.verdict.reasons), level)
        else:
            self.reasons.show_message("Every number is within the pass thresholds.", "ok")
        self._fill_table(result)
        self.accept_button.setEnabled(self.verdict.usable and result is not self.accepted_result)
        self.accept_button.setText("Accept with warnings" if self.verdict.level == WARN
                                   else "Accept registration")
        self._draw(result)

    def _fill_table(self, result) -> None:
        rows: list[tuple[str, str]] = [("Method", "fiducials + scalp surface"
                                        if result.method == "fiducials+icp" else "fiducials only")]
        for name, fre in zip(result.fiducial_names, result.fre_mm):
            rows.append((f"FRE {display_name(name)}", fmt_mm(float(fre))))
        rows.append(("FRE RMS", fmt_mm(result.fre_rms_mm, 2)))
        if result.method == "fiducials+icp":
            inliers = float(np.mean(result.icp_inliers)) if len(result.icp_inliers) else 0.0
            rows += [("Surface points", str(len(result.scalp_points_reference_mm))),
                     ("Surface RMS (ICP)", fmt_mm(result.icp_rms_mm, 2)),
                     ("Inliers", f"{100 * inliers:.0f} %"),
                     ("ICP iterations", f"{result.icp_iterations}"
                      + ("" if result.icp_converged else " (not converged)"))]
        only = self.ctx.fiducial_only
        fid_source = only if only is not None else result
        surface = result.method == "fiducials+icp"
        names = list(result.predicted_error_mm) or list(fid_source.predicted_error_mm)
        for name in names:
            rows.append(("Predicted error at", name))
            label = "with surface" if surface else "fiducials only"
            rows.append((f"  {label} (95 %)", fmt_mm(result.predicted_error_mm.get(name))))
            rows.append(("    random: touch noise through the fit",
                         fmt_mm(result.predicted_error_random_mm.get(name))))
            rows.append(("    systematic: offset / scale at the target",
                         fmt_mm(result.predicted_error_systematic_mm.get(name)) if surface
                         else "not measured (no surface match)"))
            if surface:
                rows.append(("  fiducials only (95 %)",
                             fmt_mm(fid_source.predicted_error_mm.get(name))))
        if result.surface_offset_mm is not None:
            b = result.surface_offset_mm
            rows.append(("Points vs MRI skin (offset fit)",
                         f"{b:+.1f} mm ({'outside' if b >= 0 else 'inside'})"))
        if result.head_scale is not None:
            rows.append(("Head size vs MRI (scale fit)",
                         f"{100 * (result.head_scale - 1.0):+.1f} %"))
        if result.method == "fiducials" and result.mean_surface_distance_mm is not None:
            rows.append(("Scalp touches vs MRI skin (mean)",
                         fmt_mm(result.mean_surface_distance_mm, signed=True)))
        if result.method == "fiducials+icp":
            if only is not None:
                change = np.linalg.norm(
                    result.mri_from_reference.apply(result.fiducials_reference_mm)
                    - only.mri_from_reference.apply(result.fiducials_reference_mm), axis=1)
                rows.append(("Surface moved the fiducials by", fmt_mm(float(change.max()))))
        self.rows = dict(rows)
        self.table.setRowCount(len(rows))
        for i, (label, value) in enumerate(rows):
            self.table.setItem(i, 0, QtWidgets.QTableWidgetItem(label))
            self.table.setItem(i, 1, QtWidgets.QTableWidgetItem(value))

    def _draw(self, result) -> None:
        window, reg = self.ctx.window, result.mri_from_reference
        touched = {n: reg.apply(p) for n, p in zip(result.fiducial_names,
                                                   result.fiducials_reference_mm)}
        draw_landmarks(window, self.ctx.mri_fiducials, touched, None)
        pts = result.scalp_points_reference_mm
        if len(pts):
            draw_points(window, reg.apply(pts), result.icp_distances_mm)
        else:
            draw_points(window, np.zeros((0, 3)), None)

    # ----- actions ------------------------------------------------------------------------
    def accept(self) -> None:
        result = self.ctx.candidate
        if result is None or self.verdict is None or not self.verdict.usable:
            return
        self.ctx.state.set_registration(result)
        self.accepted_result = result
        self.accept_button.setEnabled(False)
        self.message.show_message("Registration accepted and recorded in the session. Verify "
                                  "it by touching the head.", "ok")
        self.outputChanged.emit(True)
        self.readyChanged.emit()
        self.goTo.emit("verify")

    def ready(self) -> tuple[bool, str]:
        if self.ctx.state.registration is None:
            return False, "Accept a registration first."
        return True, ""
