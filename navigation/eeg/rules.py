"""The qEEG suggestion rule table: measures -> site + frequency + reasons + citations.

Decision support only. EEG measures have not been shown to reliably predict who responds to rTMS
(Widge et al. 2019 meta-analysis), so every suggestion says so, shows its numbers and sources,
and the clinician confirms. The table (docs/qeeg.md "Suggestion rules" has the same rows):

=====  =========================================  ============  ========================  ================
row    condition                                  site          frequency / protocol      sources
=====  =========================================  ============  ========================  ================
FAA-   FAA F4/F3 < -threshold                     F3 (left      10 Hz high-frequency      Davidson 1998;
       (relatively less left-frontal activity)    DLPFC)        rTMS or iTBS              Allen 2004;
                                                                                          O'Reardon 2007;
                                                                                          George 2010;
                                                                                          Blumberger 2018
FAA-r  the same condition, the alternative from   F4 (right     1 Hz low-frequency rTMS   Davidson 1998;
       the right (relatively more right activity) DLPFC)                                  Fitzgerald 2003,
                                                                                          2009
IAF    FAA- fired and an IAF was found            F3            the IAF (investigational) Jin 2006;
                                                                                          Leuchter 2015
FAA+   FAA F4/F3 > +threshold                     none          none                      Davidson 1998
       (relatively more left-frontal activity)
TBR    theta z >= 1.5 at Cz or Fz within the      none          none: descriptive only    Arns 2013
       recording (TBR reported)
=====  =========================================  ============  ========================  ================

Why both sites come from FAA < 0 and none from FAA > 0: alpha power is inversely related to
cortical activity, so FAA = ln F4 - ln F3 < 0 (more alpha on the left) means the left frontal
cortex is relatively *less* active than the right, which is the same as the right being relatively
*more* active. Both antidepressant strategies address exactly that pattern: exciting the left
(10 Hz / iTBS) or inhibiting the right (1 Hz); Fitzgerald 2003 found both effective. FAA > 0 is the
opposite (the "approach" pattern): the right is already relatively less active, and inhibiting it
further with 1 Hz would contradict the asymmetry argument, so the table gives no lateralised site
for it and says so.

``threshold`` defaults to 0.2 (about the spread FAA has in published groups, an approximate
figure, see ``norms.py``): smaller asymmetries give no site. It is a convention of this app, not a
validated cut-off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tmsnav.navigation.eeg.measures import QeegMeasures
from tmsnav.navigation.eeg.norms import ARNS_2013

__all__ = ["Suggestion", "RuleParams", "RuleOutcome", "suggest", "assess", "CONFIDENCE_NOTE", "RULE_TABLE"]

DAVIDSON_1998 = ("Davidson RJ. Anterior electrophysiological asymmetries, emotion, and depression: conceptual "
                 "and methodological conundrums. Psychophysiology 1998;35:607-614")
ALLEN_2004 = ("Allen JJB, Coan JA, Nazarian M. Issues and assumptions on the road from raw signals to metrics "
              "of frontal EEG asymmetry in emotion. Biol Psychol 2004;67:183-218")
OREARDON_2007 = ("O'Reardon JP et al. Efficacy and safety of transcranial magnetic stimulation in the acute "
                 "treatment of major depression: a multisite randomized controlled trial. Biol Psychiatry "
                 "2007;62:1208-1216")
GEORGE_2010 = ("George MS et al. Daily left prefrontal transcranial magnetic stimulation therapy for major "
               "depressive disorder: a sham-controlled randomized trial. Arch Gen Psychiatry 2010;67:507-516")
BLUMBERGER_2018 = ("Blumberger DM et al. Effectiveness of theta burst versus high-frequency repetitive "
                   "transcranial magnetic stimulation in patients with depression (THREE-D): a randomised "
                   "non-inferiority trial. Lancet 2018;391:1683-1692")
FITZGERALD_2003 = ("Fitzgerald PB et al. Transcranial magnetic stimulation in the treatment of depression: a "
                   "double-blind, placebo-controlled trial. Arch Gen Psychiatry 2003;60:1002-1008")
FITZGERALD_2009 = ("Fitzgerald PB, Hoy K, Daskalakis ZJ, Kulkarni J. A randomized trial of the anti-depressant "
                   "effects of low- and high-frequency transcranial magnetic stimulation in treatment-resistant "
                   "depression. Depress Anxiety 2009;26:229-234")
JIN_2006 = ("Jin Y et al. Therapeutic effects of individualized alpha frequency transcranial magnetic "
            "stimulation (alphaTMS) on the negative symptoms of schizophrenia. Schizophr Bull 2006;32:556-561")
LEUCHTER_2015 = ("Leuchter AF et al. Efficacy and safety of low-field synchronized transcranial magnetic "
                 "stimulation (sTMS) for treatment of major depression. Brain Stimul 2015;8:787-794")
WIDGE_2019 = ("Widge AS et al. Electroencephalographic biomarkers for treatment response prediction in major "
              "depressive illness: a meta-analysis. Am J Psychiatry 2019;176:44-56")

CONFIDENCE_NOTE = ("Decision support, not a prescription: EEG measures have weak and inconsistent evidence as "
                   "predictors of rTMS response (Widge et al. 2019 meta-analysis found none reliable). The "
                   "clinician confirms site, frequency and protocol.")

RULE_TABLE: tuple[dict[str, str], ...] = (
    {"row": "FAA-", "condition": "FAA F4/F3 < -threshold (relatively less left-frontal activity)",
     "site": "F3 (left DLPFC)", "frequency": "10 Hz high-frequency rTMS or iTBS",
     "citations": "; ".join([DAVIDSON_1998, ALLEN_2004, OREARDON_2007, GEORGE_2010, BLUMBERGER_2018])},
    {"row": "FAA-r", "condition": "FAA F4/F3 < -threshold (relatively more right-frontal activity)",
     "site": "F4 (right DLPFC)", "frequency": "1 Hz low-frequency rTMS",
     "citations": "; ".join([DAVIDSON_1998, FITZGERALD_2003, FITZGERALD_2009])},
    {"row": "IAF", "condition": "FAA- fired and an individual alpha frequency was found",
     "site": "F3 (left DLPFC)", "frequency": "the IAF (investigational)",
     "citations": "; ".join([JIN_2006, LEUCHTER_2015])},
    {"row": "FAA+", "condition": "FAA F4/F3 > +threshold (relatively more left-frontal activity)",
     "site": "none", "frequency": "none: no lateralised rationale", "citations": DAVIDSON_1998},
    {"row": "TBR", "condition": "theta relative power z >= 1.5 at Cz or Fz within the recording",
     "site": "none", "frequency": "none: descriptive only", "citations": ARNS_2013},
)


@dataclass
class Suggestion:
    """One suggested site and frequency, with why and from where."""

    site: str                      # electrode name, e.g. "F3" (left DLPFC) or "F4"
    side: str                      # "left" | "right" | "midline"
    frequency_hz: float | None     # e.g. 10.0, 1.0, or the IAF
    protocol: str
    reasons: list[str]
    citations: list[str]
    confidence_note: str = CONFIDENCE_NOTE
    rule: str = ""

    def to_json_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RuleParams:
    faa_threshold: float = 0.2     # |ln F4 - ln F3| below this gives no site (see module docstring)
    theta_z_flag: float = 1.5      # within-recording theta z at Cz/Fz that flags a theta excess


@dataclass
class RuleOutcome:
    """Suggestions plus what the table says when it suggests nothing, and descriptive flags."""

    suggestions: list[Suggestion]
    no_suggestion_reasons: list[str] = field(default_factory=list)
    descriptive_flags: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        return {"suggestions": [s.to_json_dict() for s in self.suggestions],
                "no_suggestion_reasons": list(self.no_suggestion_reasons),
                "descriptive_flags": list(self.descriptive_flags),
                "decision_support": CONFIDENCE_NOTE,
                "rule_table": [dict(r) for r in RULE_TABLE]}


def _faa_reason(faa: float) -> str:
    meaning = ("< 0: relatively less left-frontal activity" if faa < 0
               else "> 0: relatively more left-frontal activity")
    return f"FAA ln F4 - ln F3 (alpha 8-13 Hz) = {faa:+.2f} ({meaning})"


def _missing_faa_reason(m: QeegMeasures) -> str:
    why = [w for w in m.warnings if w.startswith("no FAA F4/F3")]
    return ("no site suggested: " + (why[0] if why else "FAA F4/F3 could not be measured")
            + "; the rule table needs F3 and F4")


def _theta_flags(m: QeegMeasures, p: RuleParams) -> list[str]:
    flags = []
    edges = m.tbr_band_hz
    for site, tbr in (("Cz", m.tbr_cz), ("Fz", m.tbr_fz)):
        z = m.zscores.get(site, {}).get("theta")
        if z is not None and tbr is not None and z >= p.theta_z_flag:
            flags.append(f"theta excess at {site}: theta relative power z = {z:+.2f} within this recording "
                         f"(>= {p.theta_z_flag:g}); theta/beta ratio {tbr:.2f} (theta {edges['theta'][0]:g}-"
                         f"{edges['theta'][1]:g} Hz / beta {edges['beta'][0]:g}-{edges['beta'][1]:g} Hz). "
                         "Descriptive only, it chooses no site or frequency (Arns et al. 2013: not a reliable "
                         "diagnostic measure)")
    return flags


def assess(m: QeegMeasures, params: RuleParams = RuleParams()) -> RuleOutcome:
    """Apply the rule table to ``m``."""
    out = RuleOutcome(suggestions=[], descriptive_flags=_theta_flags(m, params))
    faa, thr = m.faa_f4_f3, params.faa_threshold
    caveats = [f"published FAA work is mostly eyes-closed; these data are {m.condition.replace('_', '-')}"] \
        if m.condition != "eyes_closed" else []
    if faa is None:
        out.no_suggestion_reasons.append(_missing_faa_reason(m))
        return out
    if abs(faa) <= thr:
        out.no_suggestion_reasons.append(
            f"no site suggested: FAA ln F4 - ln F3 = {faa:+.2f} is within ±{thr:g} (no clear frontal alpha "
            "asymmetry); choose the site by the clinical protocol")
        return out
    if faa > 0:
        out.no_suggestion_reasons.append(
            f"no site suggested: {_faa_reason(faa)}, above +{thr:g}: the opposite of the withdrawal pattern "
            "(the right frontal cortex is already relatively less active), so the asymmetry argues for neither "
            "left excitation nor right inhibition; choose the site by the clinical protocol")
        return out
    out.suggestions.append(Suggestion(
        site="F3", side="left", frequency_hz=10.0, protocol="high-frequency rTMS (10 Hz) or iTBS",
        reasons=[_faa_reason(faa) + f", below -{thr:g}: the withdrawal pattern linked to depression; "
                 "excitatory stimulation of the left DLPFC (F3 area) is the standard antidepressant protocol",
                 *caveats],
        citations=[DAVIDSON_1998, ALLEN_2004, OREARDON_2007, GEORGE_2010, BLUMBERGER_2018], rule="FAA-"))
    out.suggestions.append(Suggestion(
        site="F4", side="right", frequency_hz=1.0, protocol="low-frequency rTMS (1 Hz)",
        reasons=[_faa_reason(faa) + f", below -{thr:g}: the same asymmetry read from the right (relatively "
                 "more right-frontal activity); inhibitory 1 Hz stimulation of the right DLPFC (F4 area) is the "
                 "alternative, as effective as left high-frequency rTMS in Fitzgerald 2003", *caveats],
        citations=[DAVIDSON_1998, FITZGERALD_2003, FITZGERALD_2009], rule="FAA-r"))
    if m.iaf_hz is not None:
        out.suggestions.append(Suggestion(
            site="F3", side="left", frequency_hz=round(m.iaf_hz, 1),
            protocol="IAF-matched rTMS (investigational)",
            reasons=[f"individual alpha frequency {m.iaf_hz:.2f} Hz (aperiodic-corrected; plain peak pick "
                     + ("—" if m.iaf_peak_pick_hz is None else f"{m.iaf_peak_pick_hz:.2f} Hz")
                     + f"; {', '.join(m.iaf_channels)}) as the left-DLPFC frequency instead of 10 Hz",
                     "investigational: alpha-synchronised TMS was tested in schizophrenia (Jin 2006) and, with "
                     "a low-field midline device, in depression without an intention-to-treat benefit "
                     "(Leuchter 2015)"],
            citations=[JIN_2006, LEUCHTER_2015], rule="IAF"))
    else:
        out.no_suggestion_reasons.append("no IAF-matched option: no individual alpha frequency was found")
    return out


def suggest(measures: QeegMeasures, params: RuleParams = RuleParams()) -> list[Suggestion]:
    """The suggestions of the rule table (``assess`` also gives the reasons when there are none)."""
    return assess(measures, params).suggestions
