"""End-of-session summary: the pulse statistics in a dialog, and the same numbers in the session.

Why it is recorded: the per-pulse records in the session's event log are the ground truth (they
are re-read by :func:`tmsnav.navigation.treatment.pulse_log.statistics_from_event_log`); the
"treatment_summary" event is what the clinician saw and accepted at the end, with the tolerance
it was judged against, so a later report can tell both apart. Reporting the delivered dose and
how much of it landed on target is what the TMS safety and reporting guidelines ask of a
navigated session (Rossi et al. 2021, Clin Neurophysiol 132:269).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.guidance import Tolerance
from tmsnav.navigation.treatment.statistics import PulseStatistics

from .pulse_log_view import counter_texts

__all__ = ["SummaryDialog", "summary_rows", "SUMMARY_EVENT"]

SUMMARY_EVENT = "treatment_summary"


def summary_rows(st: PulseStatistics, tolerance: Tolerance) -> list[tuple[str, str]]:
    """(label, value) rows as the dialog shows them; degrees only here at the UI."""
    c = counter_texts(st)
    rows = [("Pulses delivered", c["pulses"]),
            ("On target", f"{c['on_target']} ({st.n_on_target} of {st.n})"),
            ("Median error on the scalp", c["median"]),
            ("95th percentile", c["p95"]),
            ("Largest error", "—" if st.max_error_mm is None else f"{st.max_error_mm:.1f} mm"),
            ("Median tilt", "—" if st.median_angle_error_rad is None
             else f"{np.rad2deg(st.median_angle_error_rad):.1f}°"),
            ("Pose unknown", c["unknown"]),
            ("No target active", str(st.n_no_target)),
            ("Tolerance", f"{tolerance.distance_mm:g} mm, {np.rad2deg(tolerance.tilt_rad):g}°")]
    for name, per in sorted(st.per_target.items()):
        if len(st.per_target) > 1:
            pct = "—" if per.fraction_on_target is None else f"{100 * per.fraction_on_target:.0f} %"
            rows.append((f"Target {name}", f"{per.n} pulses, {pct} on target"))
    return rows


class SummaryDialog(QtWidgets.QDialog):
    """Non-modal (tracking keeps running); ``recorded`` says whether the session got the record."""

    def __init__(self, st: PulseStatistics, tolerance: Tolerance, session=None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("treatment_summary")
        self.setWindowTitle("Treatment summary")
        self.statistics = st
        layout = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
        self.values: dict[str, QtWidgets.QLabel] = {}
        for label, value in summary_rows(st, tolerance):
            text = QtWidgets.QLabel(value)
            text.setStyleSheet("font-size: 16px; font-weight: bold")
            text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, text)
            self.values[label] = text
        layout.addLayout(form)
        self.note = QtWidgets.QLabel("")
        self.note.setObjectName("summary_note")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.recorded = False
        if session is None:
            self.note.setText("No session is open: these numbers are not saved (File > New session "
                              "before treating keeps every pulse).")
        else:
            data = st.to_dict()
            data["tolerance_mm"] = tolerance.distance_mm
            data["tolerance_rad"] = tolerance.tilt_rad
            session.events.append(SUMMARY_EVENT, **data)
            problem = getattr(session.events, "last_error", None)
            self.recorded = not problem
            self.note.setText(f"Not saved: {problem}" if problem else
                              "Saved in the session's event log with every pulse.")
