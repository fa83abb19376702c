"""Symptom rating scales (PHQ-9, HDRS-17, MADRS, BDI-II, QIDS-SR16): totals, severity bands,
response and remission over a course, and the suicide-item (PHQ-9 item 9) safety alert
(docs/outcomes.md).

``score`` and ``SCALES`` are the entry points for storage (navigation.records) and the entry
dialog; ``course_trajectory``, ``safety_alerts`` and ``outcome_figure_png`` serve the course view
and the reports. ``outcome_figure_png`` / ``draw_outcomes`` load matplotlib on first use only, so
importing this package for ``score`` stays light.
"""

from typing import Any

from .alerts import SafetyAlert, assessment_alert, safety_alerts, unknown_safety_items
from .scales import (
    SCALE_NAMES,
    SCALES,
    Band,
    ItemDefinition,
    OutcomeError,
    ScaleDefinition,
    scale_definition,
)
from .scoring import ScaleScore, score, total_from_items
from .trajectory import Assessment, Trajectory, as_assessments, course_trajectory

__all__ = ["SCALES", "SCALE_NAMES", "Assessment", "Band", "ItemDefinition", "OutcomeError", "SafetyAlert",
           "ScaleDefinition", "ScaleScore", "Trajectory", "as_assessments", "assessment_alert",
           "course_trajectory", "draw_outcomes", "outcome_figure_png", "safety_alerts", "scale_definition",
           "score", "total_from_items", "unknown_safety_items"]


def __getattr__(name: str) -> Any:
    if name in ("outcome_figure_png", "draw_outcomes"):
        from . import figure
        return getattr(figure, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
