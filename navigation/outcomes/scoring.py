"""Scoring one assessment: the total from the items (QIDS-SR16 by its nine domains), the severity
band, and the suicide-item alert.

Input rules (docs/outcomes.md):

- **Item by item**: every item must be given. A form with missing items is refused and the message
  names them; it is not prorated. Proration (scaling the answered items up) is what some PHQ-9
  users do with one or two missing items, but none of the five scales' authors define it for
  clinical decisions, and a prorated PHQ-9 with item 9 missing would silently hide the one answer
  the safety alert needs. Ask the patient or enter the total alone.
- **Total only**: when only the total is known (from a paper chart, another system). The suicide
  item is then unknown: ``ScaleScore.safety_known`` is False and the entry dialog asks for that
  item on its own. A totals entry may carry the items that are known (``None`` for the others):
  they are range-checked, their sum (domain maxima for QIDS) may not exceed the total, and the
  suicide item, when known, raises the alert like a full form.
- A rating outside the item's range, a non-integer, or a total that contradicts the items is
  refused with the item, its domain label and the allowed range.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

from .scales import OutcomeError, ScaleDefinition, scale_definition

__all__ = ["ScaleScore", "score", "total_from_items", "safety_alert_message"]


@dataclass(frozen=True)
class ScaleScore:
    """One scored assessment. ``items`` is None for a totals-only entry (or holds None for the
    unknown items of a totals entry with some items known); ``complete`` is True only when every
    item was given. ``alerts`` holds the safety messages (suicide item at or above its alert
    rating); ``safety_value`` is that item's rating, None when unknown."""

    scale: str
    total: int
    band: str
    items: tuple[int | None, ...] | None
    complete: bool
    alerts: tuple[str, ...]
    safety_value: int | None = None
    remission: bool = False

    @property
    def safety_known(self) -> bool:
        """Whether the suicide item was answered (False for a totals-only entry without it)."""
        return self.safety_value is not None


def _as_rating(value: object, what: str) -> int:
    """An integer rating, refusing bools, fractions and text with a message naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
            return int(float(value))
        raise OutcomeError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def _item_name(defn: ScaleDefinition, index: int) -> str:
    return f"{defn.name} item {index + 1} ({defn.items[index].label})"


def total_from_items(defn: ScaleDefinition, items: Sequence[int | None]) -> int:
    """The total of (already validated) ratings, unknown items counting 0: the plain sum, or for
    QIDS-SR16 the sum of the per-domain maxima (Rush et al. 2003)."""
    values = [0 if v is None else int(v) for v in items]
    if defn.domains is None:
        return sum(values)
    return sum(max(values[i - 1] for i in domain) for domain in defn.domains)


def safety_alert_message(defn: ScaleDefinition, value: int) -> str:
    """The alert text for a suicide-item rating at or above the scale's alert rating."""
    return (f"{_item_name(defn, defn.safety_item - 1)} is {value} (alert at {defn.safety_min} or more): "
            "assess suicide risk now, whatever the total")


def _check_items(defn: ScaleDefinition, items: Sequence[int | None], allow_missing: bool) -> tuple[int | None, ...]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise OutcomeError(f"{defn.name} items must be a list of {defn.n_items} ratings, got {type(items).__name__}")
    if len(items) != defn.n_items:
        raise OutcomeError(f"{defn.name} has {defn.n_items} items, got {len(items)} ratings")
    out: list[int | None] = []
    missing: list[int] = []
    for i, raw in enumerate(items):
        if raw is None:
            missing.append(i)
            out.append(None)
            continue
        value = _as_rating(raw, _item_name(defn, i))
        item = defn.items[i]
        if not item.min <= value <= item.max:
            raise OutcomeError(f"{_item_name(defn, i)} is {value}: allowed {item.min}-{item.max}")
        out.append(value)
    if missing and not allow_missing:
        names = ", ".join(f"{i + 1} ({defn.items[i].label})" for i in missing)
        raise OutcomeError(
            f"{defn.name}: item{'s' if len(missing) > 1 else ''} {names} missing. Missing items are not "
            "prorated: enter every item, or enter the total alone")
    return tuple(out)


def score(scale: str, items: Sequence[int | None] | None = None, total: int | None = None) -> ScaleScore:
    """Score one assessment of ``scale`` from its ``items`` (every item), or from ``total`` alone
    (optionally with the items that are known, None for the others). Raises :class:`OutcomeError`
    (a ValueError) with a message naming the item and its range."""
    defn = scale_definition(scale)
    if items is None and total is None:
        raise OutcomeError(f"{defn.name}: enter the items or the total")
    given_total = None if total is None else _as_rating(total, f"{defn.name} total")
    if given_total is not None and not 0 <= given_total <= defn.max_total:
        raise OutcomeError(f"{defn.name} total is {given_total}: allowed 0-{defn.max_total}")
    checked = None if items is None else _check_items(defn, items, allow_missing=given_total is not None)
    complete = checked is not None and all(v is not None for v in checked)
    if checked is not None and all(v is None for v in checked):
        checked = None                               # a totals entry with no item known
    if checked is not None:
        from_items = total_from_items(defn, checked)
        if complete and given_total is not None and given_total != from_items:
            raise OutcomeError(f"{defn.name} total {given_total} does not match its items, which give {from_items}")
        if not complete and given_total is not None and from_items > given_total:
            raise OutcomeError(
                f"{defn.name} total {given_total} is lower than the known items alone ({from_items})")
    final_total = given_total if given_total is not None else total_from_items(defn, checked or ())
    safety_value = None if checked is None else checked[defn.safety_item - 1]
    alerts: tuple[str, ...] = ()
    if safety_value is not None and safety_value >= defn.safety_min:
        alerts = (safety_alert_message(defn, safety_value),)
    return ScaleScore(scale=defn.name, total=final_total, band=defn.band(final_total).label, items=checked,
                      complete=complete, alerts=alerts, safety_value=safety_value,
                      remission=final_total <= defn.remission_max)
