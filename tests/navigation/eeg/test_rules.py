"""Every row of the qEEG rule table, and no suggestion (with the reason) when a measure is missing."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.navigation.eeg.synthetic import ChannelSpec, Peak, make_clean
from tmsnav.navigation.eeg.measures import QeegMeasures, compute_measures
from tmsnav.navigation.eeg.rules import (CONFIDENCE_NOTE, RULE_TABLE, RuleParams, assess, suggest)


def measures(faa: float | None, iaf: float | None = 10.2, theta_z_cz: float = 0.0, tbr_cz: float | None = 3.0,
             condition: str = "eyes_closed", warnings: list[str] | None = None) -> QeegMeasures:
    chans = ["F3", "F4", "Cz", "Fz", "O1"]
    return QeegMeasures(
        freqs_hz=np.arange(0, 128.25, 0.25), psd_v2_per_hz=np.ones((5, 513)), channels=chans,
        bands_hz={"theta": (4.0, 8.0)}, band_power_abs={c: {"theta": 1e-12} for c in chans},
        band_power_rel={c: {"theta": 0.2} for c in chans}, iaf_hz=iaf, iaf_method="test",
        iaf_peak_pick_hz=None if iaf is None else iaf - 0.3, iaf_channels=["O1"], faa_f4_f3=faa, faa_f8_f7=None,
        tbr_cz=tbr_cz, tbr_fz=2.0, tbr_band_hz={"theta": (4.0, 8.0), "beta": (13.0, 21.0)},
        zscores={"Cz": {"theta": theta_z_cz}, "Fz": {"theta": 0.1}}, comparisons=[], condition=condition,
        warnings=warnings or [])


def test_faa_below_minus_threshold_suggests_left_f3_high_frequency_and_right_f4_one_hz():
    out = assess(measures(-0.42))
    rules = {s.rule: s for s in out.suggestions}
    left, right = rules["FAA-"], rules["FAA-r"]
    assert (left.site, left.side, left.frequency_hz) == ("F3", "left", 10.0)
    assert "iTBS" in left.protocol
    assert "-0.42" in left.reasons[0] and "less left-frontal activity" in left.reasons[0]
    assert any("O'Reardon" in c for c in left.citations) and any("Davidson" in c for c in left.citations)
    assert (right.site, right.side, right.frequency_hz) == ("F4", "right", 1.0)
    assert any("Fitzgerald" in c and "2003" in c for c in right.citations)
    assert all(s.confidence_note == CONFIDENCE_NOTE and "Widge" in s.confidence_note for s in out.suggestions)


def test_iaf_matched_option_goes_with_the_left_site_and_is_labelled_investigational():
    s = [x for x in suggest(measures(-0.42, iaf=9.37)) if x.rule == "IAF"]
    assert len(s) == 1
    assert (s[0].site, s[0].frequency_hz) == ("F3", 9.4)
    assert "investigational" in s[0].protocol
    assert "9.37 Hz" in s[0].reasons[0] and "9.07 Hz" in s[0].reasons[0]      # both IAF methods shown
    assert any("Jin" in c for c in s[0].citations) and any("Leuchter" in c for c in s[0].citations)


def test_no_iaf_gives_no_iaf_option_and_says_so():
    out = assess(measures(-0.42, iaf=None))
    assert "IAF" not in {s.rule for s in out.suggestions}
    assert any("no individual alpha frequency" in r for r in out.no_suggestion_reasons)


def test_faa_above_plus_threshold_gives_no_lateral_site_and_never_right_inhibition():
    """FAA > 0: the right is already relatively less active; 1 Hz there would contradict the argument."""
    out = assess(measures(+0.42))
    assert out.suggestions == []
    reason = out.no_suggestion_reasons[0]
    assert "+0.42" in reason and "opposite of the withdrawal pattern" in reason


@pytest.mark.parametrize("faa", [-0.2, -0.05, 0.0, 0.15, 0.2])
def test_small_asymmetry_gives_no_site_with_the_number(faa):
    out = assess(measures(faa))
    assert out.suggestions == []
    assert f"{faa:+.2f}" in out.no_suggestion_reasons[0] and "±0.2" in out.no_suggestion_reasons[0]


def test_threshold_is_a_parameter():
    assert suggest(measures(-0.15), RuleParams(faa_threshold=0.1))[0].site == "F3"


def test_missing_faa_gives_no_suggestion_with_the_channel_reason():
    out = assess(measures(None, warnings=["no FAA F4/F3: F3 rejected: flat"]))
    assert out.suggestions == []
    assert "F3 rejected: flat" in out.no_suggestion_reasons[0] and "needs F3 and F4" in out.no_suggestion_reasons[0]


def test_theta_excess_is_flagged_descriptive_only_and_chooses_nothing():
    out = assess(measures(0.0, theta_z_cz=2.1, tbr_cz=6.5))
    assert out.suggestions == []
    assert len(out.descriptive_flags) == 1
    flag = out.descriptive_flags[0]
    assert "Cz" in flag and "+2.10" in flag and "6.50" in flag and "4-8 Hz" in flag and "13-21 Hz" in flag
    assert "Descriptive only" in flag and "Arns" in flag
    assert assess(measures(0.0, theta_z_cz=1.0)).descriptive_flags == []


def test_eyes_open_data_carry_a_caveat_in_the_reasons():
    s = suggest(measures(-0.5, condition="eyes_open"))[0]
    assert any("eyes-open" in r for r in s.reasons)


def test_rule_table_rows_all_have_a_citation_and_the_json_carries_it():
    assert {r["row"] for r in RULE_TABLE} == {"FAA-", "FAA-r", "IAF", "FAA+", "TBR"}
    assert all(r["citations"] for r in RULE_TABLE)
    d = assess(measures(-0.5)).to_json_dict()
    assert d["rule_table"] == [dict(r) for r in RULE_TABLE] and "Decision support" in d["decision_support"]


def test_end_to_end_planted_left_hypoactivity_gives_f3_and_a_mixup_of_f3_f4_labels_gives_none():
    """Planted: more alpha at F3 than F4. Swapping the two labels (a cap put on wrongly) must not
    still suggest the left side."""
    def head(f3_alpha: float, f4_alpha: float):
        specs = {c: ChannelSpec(slope=1.5, peaks=[Peak(10.0, 8e-12, 0.8)]) for c in ("O1", "O2", "Pz", "Cz", "Fz")}
        specs["F3"] = ChannelSpec(slope=1.5, peaks=[Peak(10.0, f3_alpha, 0.8)])
        specs["F4"] = ChannelSpec(slope=1.5, peaks=[Peak(10.0, f4_alpha, 0.8)])
        return compute_measures(make_clean(specs, duration_s=120, seed=2))
    planted = suggest(head(8e-12, 3e-12))
    assert [s.site for s in planted][:2] == ["F3", "F4"] and planted[0].side == "left"
    assert suggest(head(3e-12, 8e-12)) == []
