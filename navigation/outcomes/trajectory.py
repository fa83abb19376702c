"""Each scale over a course: baseline, latest, percent change, response and remission.

Definitions (docs/outcomes.md):

- **Baseline** is the first assessment of that scale in the course (earliest ``assessed_on``; ties
  by ``entered_utc``), whatever its timepoint label says: a clinic that enters "week 2" first has
  no earlier number to compare against.
- **Response** is a drop of at least 50 % from baseline at the latest assessment
  (``2 * latest <= baseline``, exact in integers), the convention of antidepressant and rTMS
  trials (e.g. Riedel et al. 2010 validated about 50 % against CGI-I). A baseline of 0 cannot drop,
  so no response is claimed.
- **Remission** is the latest total at or below the scale's cut-off (``ScaleDefinition.
  remission_max``, cited in scales.py).
- Both need a follow-up: with the baseline alone, response and remission are False (one number is
  not a course). ``first_response_on`` / ``first_remission_on`` give the first follow-up date that
  met each criterion (it may have been lost again since: the latest decides ``response``).

Assessments are anything with the attributes (or mapping keys) ``scale``, ``assessed_on`` (date or
ISO text), ``total`` and optionally ``items``, ``uid``, ``timepoint``, ``entered_utc`` - e.g.
``navigation.records.repository.OutcomeInfo``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .scales import SCALE_NAMES, OutcomeError, scale_definition
from .scoring import score

__all__ = ["Assessment", "Trajectory", "course_trajectory", "as_assessment", "as_assessments"]


@dataclass(frozen=True)
class Assessment:
    """One assessment in the plain form the course functions use."""

    scale: str
    assessed_on: dt.date
    total: int
    items: tuple[int | None, ...] | None
    uid: str
    timepoint: str
    entered_utc: str
    band: str


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise OutcomeError(f"assessment date {value!r} is not a date (YYYY-MM-DD)")


def as_assessment(obj: Any) -> Assessment:
    """``obj`` (OutcomeInfo, a mapping, ...) as an :class:`Assessment`; the scale name is made
    canonical and the total range-checked (OutcomeError otherwise)."""
    defn = scale_definition(str(_field(obj, "scale", "")))
    total = _field(obj, "total")
    if total is None or isinstance(total, bool) or int(total) != total:
        raise OutcomeError(f"{defn.name} assessment without a whole-number total: {total!r}")
    total = int(total)
    day = _as_date(_field(obj, "assessed_on"))
    raw_items = _field(obj, "items")
    items = None
    if raw_items is not None:
        # a stored row is checked like a new entry (ranges, length, total vs items): a damaged or
        # hand-edited row is named rather than plotted or alerted on wrongly
        try:
            items = score(defn.name, items=list(raw_items), total=total).items
        except OutcomeError as exc:
            raise OutcomeError(f"{defn.name} assessment of {day.isoformat()}: {exc}") from None
    return Assessment(scale=defn.name, assessed_on=day, total=total,
                      items=items, uid=str(_field(obj, "uid", "") or ""),
                      timepoint=str(_field(obj, "timepoint", "") or ""),
                      entered_utc=str(_field(obj, "entered_utc", "") or ""), band=defn.band(total).label)


def as_assessments(outcomes: Iterable[Any]) -> list[Assessment]:
    """The current ``outcomes`` as assessments in time order (date, then entry time). A retracted
    entry (``retracted`` true: corrected or entered in error, navigation.records) is left out, so
    a list that holds the audit trail can never raise or clear an alert or draw a point."""
    out = [as_assessment(o) for o in outcomes if not getattr(o, "retracted", False)]
    out.sort(key=lambda a: (a.assessed_on, a.entered_utc))
    return out


@dataclass(frozen=True)
class Trajectory:
    """One scale over the course. ``percent_change`` is signed: -50.0 is a halving (None when
    the baseline is 0)."""

    scale: str
    assessments: tuple[Assessment, ...]
    baseline_total: int
    baseline_on: dt.date
    latest_total: int
    latest_on: dt.date
    percent_change: float | None
    response: bool
    remission: bool
    remission_max: int
    first_response_on: dt.date | None
    first_remission_on: dt.date | None

    @property
    def dates(self) -> list[dt.date]:
        return [a.assessed_on for a in self.assessments]

    @property
    def totals(self) -> list[int]:
        return [a.total for a in self.assessments]

    @property
    def response_total(self) -> float:
        """The total at which a 50 % drop from baseline is reached (the plot's response line)."""
        return self.baseline_total / 2.0

    @property
    def latest_band(self) -> str:
        return self.assessments[-1].band


def _responds(baseline: int, total: int) -> bool:
    return baseline > 0 and 2 * total <= baseline


def course_trajectory(outcomes: Iterable[Any]) -> dict[str, Trajectory]:
    """Per scale (in the order of ``SCALES``): baseline, latest, percent change, response,
    remission and the dates they were first reached."""
    by_scale: dict[str, list[Assessment]] = {}
    for a in as_assessments(outcomes):
        by_scale.setdefault(a.scale, []).append(a)
    result: dict[str, Trajectory] = {}
    for name in (n for n in SCALE_NAMES if n in by_scale):
        seq = by_scale[name]
        defn = scale_definition(name)
        base, last = seq[0], seq[-1]
        follow_ups = seq[1:]
        change = None if base.total == 0 else 100.0 * (last.total - base.total) / base.total
        first_resp = next((a.assessed_on for a in follow_ups if _responds(base.total, a.total)), None)
        first_rem = next((a.assessed_on for a in follow_ups if a.total <= defn.remission_max), None)
        result[name] = Trajectory(
            scale=name, assessments=tuple(seq), baseline_total=base.total, baseline_on=base.assessed_on,
            latest_total=last.total, latest_on=last.assessed_on, percent_change=change,
            response=bool(follow_ups) and _responds(base.total, last.total),
            remission=bool(follow_ups) and last.total <= defn.remission_max,
            remission_max=defn.remission_max, first_response_on=first_resp, first_remission_on=first_rem)
    return result

