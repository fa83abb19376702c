"""The course report's "Amendments": every correction of an outcome assessment and every entry
marked "entered in error", with the original values, the new values, who, when and why.

A corrected assessment no longer counts anywhere (plots, alerts, response), so the report must
show that it existed: a suicide item corrected from 2 to 0 clears the red alert, and the reader
of the paper record needs to see the 2, who changed it and the reason (GCP; FDA 21 CFR Part 11
section 11.10(e): a change must not obscure what was recorded before). The suicide item is named
in each value line because it is the one that raises or clears an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["AmendmentRow", "amendment_rows", "outcome_values_text", "AMENDMENTS_NOTE"]

AMENDMENTS_NOTE = ("Outcome assessments corrected or marked entered in error. The original entry is kept in the "
                   "clinic record; only the current entries count in the plot, the alerts and the table above.")

@dataclass(frozen=True)
class AmendmentRow:
    when_utc: str                 # when the entry was retracted (ISO 8601 UTC)
    by: str
    kind: str                     # "corrected" | "entered in error"
    original: str                 # the retracted entry's values, as text
    corrected: str                # the replacing entry's values ("" when entered in error)
    reason: str


def outcome_values_text(o: Any) -> str:
    """One assessment's values in words, e.g. ``PHQ-9 of 2026-12-01 (week 2), total 18; items
    2 2 2 2 2 2 2 2 2; item 9 (thoughts of death or self-harm) = 2; rater rk``."""
    from ..outcomes.scales import scale_definition

    head = f"{o.scale} of {o.assessed_on}" + (f" ({o.timepoint})" if o.timepoint else "")
    parts = [f"{head}, total {o.total}"]
    try:
        defn = scale_definition(o.scale)
    except ValueError:
        defn = None
    items = tuple(o.items) if o.items is not None else None
    if items is not None and all(v is not None for v in items):
        parts.append("items " + " ".join(str(v) for v in items))
    if defn is not None:
        n = defn.safety_item
        value = items[n - 1] if items is not None and len(items) >= n else None
        shown = "not known" if value is None else str(value)
        parts.append(f"item {n} ({defn.items[n - 1].label}) = {shown}")
    if o.rater:
        parts.append(f"rater {o.rater}")
    return "; ".join(parts)


def amendment_rows(outcomes: Sequence[Any]) -> tuple[AmendmentRow, ...]:
    """The amendments among a course's entries (``Records.outcomes(course_uid,
    include_retracted=True)``), in the order they were made. A correction whose new entry is not
    in ``outcomes`` says so instead of showing nothing."""
    by_uid = {o.uid: o for o in outcomes}
    rows = []
    for o in outcomes:
        if getattr(o, "retracted_utc", None) is None:
            continue
        successor = by_uid.get(o.superseded_by_uid) if o.superseded_by_uid else None
        if o.superseded_by_uid:
            corrected = (outcome_values_text(successor) if successor is not None
                         else f"corrected entry {o.superseded_by_uid[:8]} not found in this course")
        else:
            corrected = ""
        rows.append(AmendmentRow(when_utc=o.retracted_utc, by=o.retracted_by, kind=o.retraction_kind,
                                 original=outcome_values_text(o), corrected=corrected,
                                 reason=o.retraction_reason))
    rows.sort(key=lambda r: r.when_utc)
    return tuple(rows)
