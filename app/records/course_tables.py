"""The course view's tables: sessions with their statistics, outcome assessments, adverse events.

Read-only tables filled from the repository's plain dataclasses (``SessionInfo``, ``OutcomeInfo``,
``AdverseEventInfo``); mm and % are formatted here, at the UI edge. A missing number shows "—" and
never 0: a session without a registration error is not a perfect registration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6 import QtCore, QtWidgets

__all__ = ["SESSION_COLUMNS", "OUTCOME_COLUMNS", "make_table", "fill_sessions", "fill_outcomes",
           "protocol_text", "on_target_pct", "DASH"]

DASH = "—"
SESSION_COLUMNS = ("No.", "Date", "Operator", "Pulses", "On target", "Median error", "P95 error",
                   "Registration", "MT", "Status")
OUTCOME_COLUMNS = ("Date", "Timepoint", "Scale", "Total", "Severity", "Rater")
#: Short column texts so the outcome table fits beside the plot (the header says the rest).
_SEVERITY_SHORT = {"moderately severe": "mod. severe"}


def make_table(columns: Sequence[str], name: str) -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    header.setDefaultAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
    return table


def _mm(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f} mm"


def on_target_pct(s: Any) -> float | None:
    """% of the pulses with a known pose that were within tolerance (None without any)."""
    if not s.pulses_with_pose:
        return None
    return 100.0 * s.pulses_on_target / s.pulses_with_pose


def _set_row(table: QtWidgets.QTableWidget, row: int, texts: Sequence[str], key: str) -> None:
    for col, text in enumerate(texts):
        item = QtWidgets.QTableWidgetItem(text)
        if col == 0:
            item.setData(QtCore.Qt.ItemDataRole.UserRole, key)
        if col not in (1, 2, 9) and col < len(texts):
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        table.setItem(row, col, item)


def fill_sessions(table: QtWidgets.QTableWidget, sessions: Sequence[Any]) -> None:
    """One row per session (by number); the session uid is the first cell's UserRole data."""
    table.setRowCount(len(sessions))
    for row, s in enumerate(sessions):
        pct = on_target_pct(s)
        mt = DASH if s.motor_threshold_pct_mso is None else f"{s.motor_threshold_pct_mso:.0f} % MSO"
        unknown = s.pulses_total - s.pulses_with_pose
        pulses = f"{s.pulses_total}" + (f" ({unknown} pose unknown)" if unknown else "")
        _set_row(table, row, (str(s.number), (s.started_utc or "")[:10], s.operator or DASH, pulses,
                              DASH if pct is None else f"{pct:.0f} %", _mm(s.median_error_mm),
                              _mm(s.p95_error_mm), _mm(s.registration_error_mm), mt, s.status), s.uid)


def fill_outcomes(table: QtWidgets.QTableWidget, outcomes: Sequence[Any]) -> None:
    """One row per assessment, oldest first; the severity band from the scale's cut-offs."""
    from tmsnav.navigation.outcomes import score

    ordered = sorted(outcomes, key=lambda o: (o.assessed_on, o.entered_utc))
    table.setRowCount(len(ordered))
    for row, o in enumerate(ordered):
        try:
            band = score(o.scale, total=o.total).band
        except ValueError:
            band = DASH
        texts = (o.assessed_on, o.timepoint or DASH, o.scale, str(o.total), _SEVERITY_SHORT.get(band, band),
                 o.rater or DASH)
        for col, text in enumerate(texts):
            item = QtWidgets.QTableWidgetItem(text)
            item.setToolTip(f"{o.scale} {o.total}: {band}" + (f", rated by {o.rater}" if o.rater else ""))
            if col == 0:
                item.setData(QtCore.Qt.ItemDataRole.UserRole, o.uid)
            table.setItem(row, col, item)


def protocol_text(course: Any, n_sessions: int) -> str:
    """One line of the course's protocol for the view's header (rich text)."""
    p = course.protocol
    freq = "" if p.frequency_hz is None or p.pattern.startswith(f"{p.frequency_hz:g} Hz") \
        else f" ({p.frequency_hz:g} Hz)"
    per_day = f", {p.sessions_per_day} a day" if p.sessions_per_day > 1 else ""
    return (f"<b>{p.target_name}</b> · {p.pattern}{freq} at {p.intensity_pct_rmt:g} % rMT · "
            f"{p.pulses_per_session} pulses per session · session {n_sessions} of "
            f"{p.sessions_planned}{per_day} · {course.indication or 'no indication given'} · "
            f"{course.status}")
