"""Definitions of the five depression rating scales tmsnav scores: items with their ranges,
severity bands, remission cut-offs and the suicide item that raises the safety alert.

Only short domain labels are stored ("sadness", "sleep", "suicidal thoughts"): the item wording
of these instruments is copyrighted (the BDI-II by Pearson) or licensed, and a clinic uses its own
licensed forms; tmsnav only needs the numbers the rater ticked.

Sources (every number below was checked against the paper or its abstract; docs/outcomes.md):

- PHQ-9: Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity
  measure. J Gen Intern Med 2001;16:606-613. 9 items 0-3; totals 5, 10, 15 and 20 mark mild,
  moderate, moderately severe and severe depression. Remission < 5 (the "minimal" band), the usual
  definition in measurement-based care (e.g. Coley RY, et al. Defining success in measurement-based
  care for depression. Psychiatr Serv 2020, doi 10.1176/appi.ps.201900295).
- HDRS-17: Hamilton M. A rating scale for depression. J Neurol Neurosurg Psychiatry 1960;23:56-62
  (items 0-4 or 0-2, total 0-52). Bands from Zimmerman M, Martinez JH, Young D, Chelminski I,
  Dalrymple K. Severity classification on the Hamilton Depression Rating Scale. J Affect Disord
  2013;150:384-388: ROC cut-offs 17 (mild vs moderate) and 24 (moderate vs severe); 0-7 is the
  conventional no-depression / remission range (Frank E, et al. Arch Gen Psychiatry
  1991;48:851-855). Remission <= 7.
- MADRS: Montgomery SA, Asberg M. Br J Psychiatry 1979;134:382-389 (10 items 0-6). Bands from
  Snaith RP, Harrop FM, Newby DA, Teale C. Grade scores of the Montgomery-Asberg Depression and the
  Clinical Anxiety Scales. Br J Psychiatry 1986;148:599-601: 0-6 normal, 7-19 mild, 20-34 moderate,
  35-60 severe (Mueller MJ, et al. J Affect Disord 2000;60:137-140 confirmed 35 for severe).
  Remission <= 10: Zimmerman M, Posternak MA, Chelminski I. J Psychiatr Res 2004;38:577-582 (the
  MADRS score matching HDRS <= 7); Hawley CJ, et al. J Affect Disord 2002;72:177-184 found < 10
  or < 9, a point apart.
- BDI-II: Beck AT, Steer RA, Brown GK. Manual for the Beck Depression Inventory-II. San Antonio:
  Psychological Corporation; 1996. 21 items 0-3; 0-13 minimal, 14-19 mild, 20-28 moderate, 29-63
  severe. Remission <= 12: Riedel M, et al. Response and remission criteria in major depression.
  J Psychiatr Res 2010;44:1063-1068 (BDI <= 12 best matched CGI-S remission).
- QIDS-SR16: Rush AJ, Trivedi MH, Ibrahim HM, et al. The 16-item Quick Inventory of Depressive
  Symptomatology. Biol Psychiatry 2003;54:573-583. 16 items 0-3 scored as 9 DSM-IV domains: the
  highest of the sleep items 1-4, item 5, the highest of the appetite/weight items 6-9, items 10-14,
  the highest of the psychomotor items 15-16; total 0-27; 0-5 none, 6-10 mild, 11-15 moderate,
  16-20 severe, 21-27 very severe. Remission <= 5 (Trivedi MH, et al. Am J Psychiatry
  2006;163:28-40, STAR*D).

Suicide items and the rating that raises the safety alert (``safety_item``, ``safety_min``):
PHQ-9 item 9, BDI-II item 9 and QIDS-SR16 item 12 at any rating above 0 (self-reports: any
endorsement of death or suicide thoughts must be seen by a clinician); HDRS-17 item 3 at 1 or more
(its lowest anchor is already the feeling that life is not worth living); MADRS item 10 at 2 or more
(2 is the first anchor that names suicidal thoughts; 1 lies between "enjoys life" and that anchor).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NavigationError

__all__ = ["OutcomeError", "Band", "ItemDefinition", "ScaleDefinition", "SCALES", "SCALE_NAMES", "scale_definition"]


class OutcomeError(NavigationError, ValueError):
    """Refused outcome input (unknown scale, rating out of range, missing items, total that
    contradicts the items); the message names the item and its allowed range. A ValueError too,
    so callers that catch ValueError keep working."""


@dataclass(frozen=True)
class Band:
    """A severity band: totals ``low`` to ``high`` inclusive are called ``label``."""

    low: int
    high: int
    label: str


@dataclass(frozen=True)
class ItemDefinition:
    """One item: a short domain label (never the item's wording) and its allowed ratings."""

    label: str
    min: int
    max: int


@dataclass(frozen=True)
class ScaleDefinition:
    """A rating scale. ``domains`` (1-based item numbers) is set when the total is a sum of
    per-domain maxima (QIDS-SR16) rather than of all items. ``safety_item`` is the 1-based number of
    the suicide item and ``safety_min`` the lowest rating of it that raises the safety alert."""

    name: str
    title: str
    items: tuple[ItemDefinition, ...]
    max_total: int
    bands: tuple[Band, ...]
    remission_max: int
    citation: str
    self_report: bool
    safety_item: int
    safety_min: int
    remission_citation: str = ""
    domains: tuple[tuple[int, ...], ...] | None = None

    @property
    def n_items(self) -> int:
        return len(self.items)

    def band(self, total: int) -> Band:
        """The band holding ``total`` (OutcomeError outside 0..max_total)."""
        for band in self.bands:
            if band.low <= total <= band.high:
                return band
        raise OutcomeError(f"{self.name} total {total} is outside 0-{self.max_total}")


def _items(spec: str) -> tuple[ItemDefinition, ...]:
    """Items from 'label:max; label:max' (all start at 0)."""
    out = []
    for part in spec.split(";"):
        label, top = part.rsplit(":", 1)
        out.append(ItemDefinition(label.strip(), 0, int(top)))
    return tuple(out)


_PHQ9 = ScaleDefinition(
    name="PHQ-9",
    title="Patient Health Questionnaire-9",
    items=_items("interest or pleasure:3; depressed mood:3; sleep:3; tiredness or energy:3; appetite:3;"
                 "self-worth or guilt:3; concentration:3; slowed or restless:3;"
                 "thoughts of death or self-harm:3"),
    max_total=27,
    bands=(Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"),
           Band(15, 19, "moderately severe"), Band(20, 27, "severe")),
    remission_max=4,
    citation="Kroenke K, Spitzer RL, Williams JBW. J Gen Intern Med 2001;16:606-613",
    remission_citation="< 5 (minimal band; Coley RY, et al. Psychiatr Serv 2020, doi 10.1176/appi.ps.201900295)",
    self_report=True,
    safety_item=9,
    safety_min=1,
)

_HDRS17 = ScaleDefinition(
    name="HDRS-17",
    title="Hamilton Depression Rating Scale, 17 items",
    items=_items("depressed mood:4; guilt:4; suicide:4; insomnia early:2; insomnia middle:2;"
                 "insomnia late:2; work and activities:4; retardation:4; agitation:4; psychic anxiety:4;"
                 "somatic anxiety:4; gastrointestinal symptoms:2; general somatic symptoms:2;"
                 "genital symptoms:2; hypochondriasis:4; weight loss:2; insight:2"),
    max_total=52,
    bands=(Band(0, 7, "no depression"), Band(8, 16, "mild"), Band(17, 23, "moderate"),
           Band(24, 52, "severe")),
    remission_max=7,
    citation="Hamilton M. J Neurol Neurosurg Psychiatry 1960;23:56-62; bands Zimmerman M, et al. "
             "J Affect Disord 2013;150:384-388",
    remission_citation="<= 7 (Frank E, et al. Arch Gen Psychiatry 1991;48:851-855)",
    self_report=False,
    safety_item=3,
    safety_min=1,
)

_MADRS = ScaleDefinition(
    name="MADRS",
    title="Montgomery-Asberg Depression Rating Scale",
    items=_items("apparent sadness:6; reported sadness:6; inner tension:6; reduced sleep:6; reduced appetite:6;"
                 "concentration difficulties:6; lassitude:6; inability to feel:6; pessimistic thoughts:6;"
                 "suicidal thoughts:6"),
    max_total=60,
    bands=(Band(0, 6, "normal"), Band(7, 19, "mild"), Band(20, 34, "moderate"), Band(35, 60, "severe")),
    remission_max=10,
    citation="Montgomery SA, Asberg M. Br J Psychiatry 1979;134:382-389; bands Snaith RP, et al. "
             "Br J Psychiatry 1986;148:599-601",
    remission_citation="<= 10 (Zimmerman M, et al. J Psychiatr Res 2004;38:577-582; "
                       "Hawley CJ, et al. J Affect Disord 2002;72:177-184)",
    self_report=False,
    safety_item=10,
    safety_min=2,
)

_BDI2 = ScaleDefinition(
    name="BDI-II",
    title="Beck Depression Inventory-II",
    items=_items("sadness:3; pessimism:3; past failure:3; loss of pleasure:3; guilty feelings:3;"
                 "punishment feelings:3; self-dislike:3; self-criticalness:3; suicidal thoughts:3; crying:3;"
                 "agitation:3; loss of interest:3; indecisiveness:3; worthlessness:3; loss of energy:3;"
                 "sleep changes:3; irritability:3; appetite changes:3; concentration:3; tiredness:3;"
                 "loss of interest in sex:3"),
    max_total=63,
    bands=(Band(0, 13, "minimal"), Band(14, 19, "mild"), Band(20, 28, "moderate"), Band(29, 63, "severe")),
    remission_max=12,
    citation="Beck AT, Steer RA, Brown GK. BDI-II Manual. Psychological Corporation 1996",
    remission_citation="<= 12 (Riedel M, et al. J Psychiatr Res 2010;44:1063-1068)",
    self_report=True,
    safety_item=9,
    safety_min=1,
)

_QIDS16 = ScaleDefinition(
    name="QIDS-SR16",
    title="Quick Inventory of Depressive Symptomatology, self-report, 16 items",
    items=_items("falling asleep:3; sleep during the night:3; waking too early:3; sleeping too much:3;"
                 "sadness:3; decreased appetite:3; increased appetite:3; decreased weight:3;"
                 "increased weight:3; concentration:3; view of self:3; thoughts of death or suicide:3;"
                 "general interest:3; energy:3; slowed down:3; restless:3"),
    max_total=27,
    bands=(Band(0, 5, "none"), Band(6, 10, "mild"), Band(11, 15, "moderate"), Band(16, 20, "severe"),
           Band(21, 27, "very severe")),
    remission_max=5,
    citation="Rush AJ, Trivedi MH, Ibrahim HM, et al. Biol Psychiatry 2003;54:573-583",
    remission_citation="<= 5 (Trivedi MH, et al. Am J Psychiatry 2006;163:28-40)",
    self_report=True,
    safety_item=12,
    safety_min=1,
    domains=((1, 2, 3, 4), (5,), (6, 7, 8, 9), (10,), (11,), (12,), (13,), (14,), (15, 16)),
)

SCALES: dict[str, ScaleDefinition] = {s.name: s for s in (_PHQ9, _HDRS17, _MADRS, _BDI2, _QIDS16)}
SCALE_NAMES: tuple[str, ...] = tuple(SCALES)


def scale_definition(name: str) -> ScaleDefinition:
    """The scale called ``name`` (case and spacing forgiven: "phq9", "HAMD-17", "QIDS"), or a
    OutcomeError listing the known scales."""
    key = name.strip().upper().replace(" ", "").replace("_", "-")
    aliases = {"PHQ9": "PHQ-9", "HDRS": "HDRS-17", "HDRS17": "HDRS-17", "HAMD": "HDRS-17", "HAMD17": "HDRS-17",
               "HAMD-17": "HDRS-17", "HAM-D": "HDRS-17", "HAM-D17": "HDRS-17", "BDI2": "BDI-II", "BDIII": "BDI-II",
               "BDI-2": "BDI-II", "QIDS": "QIDS-SR16", "QIDS-SR": "QIDS-SR16", "QIDSSR16": "QIDS-SR16",
               "QIDS-SR-16": "QIDS-SR16", "QIDS16": "QIDS-SR16"}
    key = aliases.get(key, key)
    if key not in SCALES:
        raise OutcomeError(f"unknown rating scale {name!r}: tmsnav scores {', '.join(SCALE_NAMES)}")
    return SCALES[key]
