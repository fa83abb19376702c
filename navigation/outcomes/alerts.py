"""The suicide-item safety alert over a course.

A rating at or above the alert rating on a scale's suicide item (PHQ-9 item 9, BDI-II item 9,
QIDS-SR16 item 12 and HDRS-17 item 3 at 1 or more; MADRS item 10 at 2 or more: reasons in
scales.py) raises an alert **whatever the total**: a PHQ-9 total of 1 made of item 9 alone is a
patient who reported thoughts of death or self-harm, and a low total must not hide it.

An alert stands until a **newer assessment of the same scale whose suicide item is known** rates
it below the alert rating: that is what clears the course view's red banner. A newer totals-only
entry without the item does not clear it (it says nothing about the item), and another scale does
not clear it either (a clinician's HDRS-17 and the patient's own PHQ-9 ask different people).
:func:`unknown_safety_items` lists the scales whose latest assessment did not record the item, so
the GUI can say so instead of staying silent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .scales import SCALE_NAMES, scale_definition
from .scoring import safety_alert_message
from .trajectory import Assessment, as_assessments

__all__ = ["SafetyAlert", "safety_alerts", "assessment_alert", "unknown_safety_items"]


@dataclass(frozen=True)
class SafetyAlert:
    """A suicide item at or above its alert rating. ``item`` is 1-based."""

    scale: str
    item: int
    label: str
    value: int
    alert_min: int
    assessed_on: dt.date
    outcome_uid: str
    timepoint: str
    message: str


def _safety_value(a: Assessment) -> int | None:
    defn = scale_definition(a.scale)
    if a.items is None or len(a.items) != defn.n_items:
        return None
    return a.items[defn.safety_item - 1]


def assessment_alert(assessment: Any) -> SafetyAlert | None:
    """The alert one assessment raises, or None (item below the alert rating or unknown)."""
    a = assessment if isinstance(assessment, Assessment) else as_assessments([assessment])[0]
    defn = scale_definition(a.scale)
    value = _safety_value(a)
    if value is None or value < defn.safety_min:
        return None
    return SafetyAlert(scale=a.scale, item=defn.safety_item, label=defn.items[defn.safety_item - 1].label,
                       value=value, alert_min=defn.safety_min, assessed_on=a.assessed_on, outcome_uid=a.uid,
                       timepoint=a.timepoint,
                       message=f"{a.assessed_on.isoformat()}: {safety_alert_message(defn, value)}")


def safety_alerts(outcomes: Iterable[Any]) -> list[SafetyAlert]:
    """The alerts that still stand in a course: per scale, the latest assessment whose suicide item
    is known, if it is at or above the alert rating (newest first)."""
    latest_known: dict[str, Assessment] = {}
    for a in as_assessments(outcomes):
        if _safety_value(a) is not None:
            latest_known[a.scale] = a            # time order: the last one wins
    alerts = [alert for name in SCALE_NAMES if name in latest_known
              if (alert := assessment_alert(latest_known[name])) is not None]
    alerts.sort(key=lambda al: al.assessed_on, reverse=True)
    return alerts


def unknown_safety_items(outcomes: Iterable[Any]) -> list[str]:
    """Scales whose latest assessment did not record the suicide item (totals-only entries)."""
    latest: dict[str, Assessment] = {}
    for a in as_assessments(outcomes):
        latest[a.scale] = a
    return [name for name in SCALE_NAMES if name in latest and _safety_value(latest[name]) is None]
