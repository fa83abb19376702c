"""The outcome part of the course report: the scales' curves, response and remission per scale,
and the suicide-item alerts (navigation.outcomes: course_trajectory, safety_alerts,
outcome_figure_png), turned into report rows.

Alerts are split in two: those that still stand (the latest assessment of a scale with its
suicide item at or above the alert rating) go into the red box at the top of the report; earlier
ones that a later assessment no longer shows are listed with the outcomes, because a chart must
keep them. A scale whose latest assessment was entered as a total only is named as well: its
suicide item is *unknown*, which is not the same as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .model import TrajectoryRow

__all__ = ["OutcomeSection", "outcome_section"]

FIGURE_PX = (800, 400)          # drawn at 100 dpi, printed 17 cm wide: the plot's text stays readable


@dataclass(frozen=True)
class OutcomeSection:
    trajectories: tuple[TrajectoryRow, ...]
    alerts: tuple[str, ...]            # standing alerts: the red box
    png: bytes | None
    note: str                          # earlier alerts, definitions, why nothing is drawn
    unknown: str = ""                  # suicide items not known: shown at the top of the report


def outcome_section(outcomes: Sequence[Any]) -> OutcomeSection:
    if not outcomes:
        return OutcomeSection((), (), None, "No outcome assessments recorded for this course.")
    from ..outcomes.alerts import assessment_alert, safety_alerts, unknown_safety_items
    from ..outcomes.figure import outcome_figure_png
    from ..outcomes.scales import OutcomeError
    from ..outcomes.trajectory import as_assessments, course_trajectory

    try:
        trajectories = course_trajectory(outcomes)
        standing = safety_alerts(outcomes)
        earlier = [a for x in as_assessments(outcomes) if (a := assessment_alert(x)) is not None
                   and a.outcome_uid not in {s.outcome_uid for s in standing}]
        unknown = unknown_safety_items(outcomes)
        png = outcome_figure_png(outcomes, width_px=FIGURE_PX[0], height_px=FIGURE_PX[1])
    except OutcomeError as exc:
        return OutcomeSection((), (), None, f"The outcome assessments could not be summarised: {exc}")
    rows = tuple(TrajectoryRow(scale=t.scale, n=len(t.assessments), baseline=t.baseline_total,
                               latest=t.latest_total, change_pct=t.percent_change,
                               response=t.response if len(t.assessments) > 1 else None,
                               remission=t.remission if len(t.assessments) > 1 else None,
                               remission_max=t.remission_max)
                 for t in trajectories.values())
    notes = []
    if earlier:
        notes.append("Earlier suicide-item alerts in this course: " + "; ".join(a.message for a in earlier) + ".")
    notes.append("Response: the latest total at least 50 % below the baseline; remission: the latest total at or "
                  "below the scale's cut-off (in brackets).")
    unknown_text = ("Suicide item not known for " + ", ".join(unknown) + ": the latest assessment was entered as "
                    "a total only, so an alert cannot be ruled out.") if unknown else ""
    return OutcomeSection(rows, tuple(a.message for a in standing), png, " ".join(notes), unknown_text)
