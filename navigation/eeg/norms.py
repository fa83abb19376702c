"""Published ranges the measures are compared with, because no open normative database exists.

Commercial qEEG databases (e.g. NeuroGuide, BrainDx, the HBI database) are closed: their
age-matched means and SDs cannot be shipped or checked. tmsnav therefore computes no "z-score
against a population"; it reports (1) within-subject z-scores across channels and (2) the
comparisons below, each with its source, and says when a range is approximate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Comparison", "compare_with_published", "NO_NORMATIVE_DATABASE", "KLIMESCH_1999", "ARNS_2013",
           "VAN_DER_VINNE_2017"]

NO_NORMATIVE_DATABASE = (
    "No open normative qEEG database exists, so these values are not compared with an age-matched "
    "population: z-scores are within this recording (across channels), and each measure is set "
    "beside a published range with its citation.")

KLIMESCH_1999 = ("Klimesch W. EEG alpha and theta oscillations reflect cognitive and memory performance: a "
                 "review and analysis. Brain Res Rev 1999;29:169-195")
ARNS_2013 = ("Arns M, Conners CK, Kraemer HC. A decade of EEG theta/beta ratio research in ADHD: a "
             "meta-analysis. J Atten Disord 2013;17(5):374-383")
VAN_DER_VINNE_2017 = ("van der Vinne N, Vollebregt MA, van Putten MJAM, Arns M. Frontal alpha asymmetry as a "
                      "diagnostic marker in depression: fact or fiction? A meta-analysis. NeuroImage Clin "
                      "2017;16:79-87")


@dataclass
class Comparison:
    """One measure set beside a published range."""

    measure: str
    value: float | None
    published: str                    # the range, in words, with its units
    low: float | None                 # numeric bounds when the source gives them (approximate ones say so)
    high: float | None
    outside: bool | None              # None: no numeric range to compare with
    approximate: bool
    citation: str
    note: str = ""

    def to_json_dict(self) -> dict:
        return asdict(self)


def _outside(value: float | None, low: float | None, high: float | None) -> bool | None:
    if value is None or low is None or high is None:
        return None
    return bool(value < low or value > high)


def compare_with_published(iaf_hz: float | None, faa_f4_f3: float | None, tbr_cz: float | None,
                           tbr_beta_hz: tuple[float, float], condition: str) -> list[Comparison]:
    """The comparisons shown in the report; the ranges and why they are approximate are in
    docs/qeeg.md ("No normative database")."""
    return [
        Comparison("iaf_hz", iaf_hz, "about 10 Hz in healthy adults (roughly 9-11 Hz), lower in old age and "
                   "in children", 9.0, 11.0, _outside(iaf_hz, 9.0, 11.0), True, KLIMESCH_1999,
                   "the ±1 Hz spread is approximate; IAF falls with age"),
        Comparison("faa_f4_f3", faa_f4_f3, "centred near 0 in depressed and healthy groups alike (pooled "
                   "difference d = -0.007); a spread of roughly ±0.2-0.3 is approximate", -0.3, 0.3,
                   _outside(faa_f4_f3, -0.3, 0.3), True, VAN_DER_VINNE_2017,
                   "FAA did not separate depressed from healthy people in this meta-analysis of 16 studies"),
        Comparison("tbr_cz", tbr_cz, "no portable absolute range: TBR depends on band edges, reference, "
                   "amplifier and age; the ADHD-control difference shrank over a decade as control values "
                   "rose (children 6-18, eyes open, Cz)", None, None, None, False, ARNS_2013,
                   f"this TBR uses beta {tbr_beta_hz[0]:g}-{tbr_beta_hz[1]:g} Hz on {condition.replace('_', '-')} "
                   "data; descriptive only, not diagnostic"),
    ]
