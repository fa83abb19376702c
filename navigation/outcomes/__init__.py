"""Symptom rating scales (PHQ-9, HDRS-17, MADRS, BDI-II, QIDS-SR16): totals, severity bands,
response and remission over a course, and the PHQ-9 item 9 safety alert (docs/outcomes.md).

``score`` and ``SCALES`` are the entry points for storage (navigation.records) and the entry
dialog; the course-level functions live in ``trajectory``, ``alerts`` and ``figure``.
"""

from tmsnav.navigation.outcomes.scales import (
    SCALE_NAMES,
    SCALES,
    Band,
    ItemDefinition,
    OutcomeError,
    ScaleDefinition,
    scale_definition,
)
from tmsnav.navigation.outcomes.scoring import ScaleScore, score, total_from_items

__all__ = ["SCALES", "SCALE_NAMES", "Band", "ItemDefinition", "OutcomeError", "ScaleDefinition", "ScaleScore",
           "scale_definition", "score", "total_from_items"]
