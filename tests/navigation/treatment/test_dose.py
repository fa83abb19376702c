"""Treatment output as a % of the resting motor threshold: rounding, the 100 % MSO cap, the
percent/fraction mix-up, and the Stokes 2005 depth adjustment shown only as a suggestion."""

import pytest

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.treatment.dose import stokes_adjusted_threshold, treatment_output


@pytest.mark.parametrize("rmt, pct, out", [(50, 120, 60), (47, 120, 56), (45, 110, 50), (55, 90, 50),
                                           (41, 100, 41), (83, 120, 100)])
def test_output_is_rounded_percent_of_threshold(rmt, pct, out):
    d = treatment_output(rmt, pct)
    assert d.output_pct_mso == out
    assert d.prescribed_pct_mso == pytest.approx(rmt * pct / 100.0)


def test_cap_at_100_percent_warns_how_much_is_missing():
    d = treatment_output(90, 120)                 # 108 % MSO prescribed
    assert d.capped and d.output_pct_mso == 100
    assert len(d.warnings) == 1 and "capped at 100 % MSO" in d.warnings[0]
    assert "111 % of RMT instead of 120 %" in d.warnings[0]
    assert not treatment_output(80, 120).capped   # exactly 96: no cap


def test_a_smaller_stimulator_maximum_caps_too():
    d = treatment_output(60, 120, max_output_pct=70)
    assert d.capped and d.output_pct_mso == 70


@pytest.mark.parametrize("rmt, pct, match", [(50, 1.2, "not 1.2"), (50, 0, "positive"),
                                             (50, 300, "above any published"),
                                             (0.45, 120, "1-100 % MSO"), (145, 120, "1-100 % MSO")])
def test_mix_ups_are_refused(rmt, pct, match):
    with pytest.raises(NavigationError, match=match):
        treatment_output(rmt, pct)


def test_stokes_depth_adjustment_is_a_suggestion_only():
    d = treatment_output(50, 120, motor_depth_mm=15.0, target_depth_mm=18.0)
    assert d.output_pct_mso == 60                 # not changed by the suggestion
    s = d.depth_suggestion
    assert s is not None and s.adjusted_threshold_pct == pytest.approx(50 + 2.8 * 3)
    assert s.text.startswith("Suggestion only") and "Not applied" in s.text and "deeper" in s.text
    assert "70 % MSO" in s.text                   # 58.4 * 1.2
    shallower = stokes_adjusted_threshold(50, 18.0, 15.0)
    assert shallower.adjusted_threshold_pct == pytest.approx(50 - 8.4) and "shallower" in shallower.text


def test_depth_mix_ups():
    with pytest.raises(NavigationError, match="centimetres"):
        stokes_adjusted_threshold(50, 1.5, 1.8)
    d = treatment_output(50, 120, motor_depth_mm=15.0)
    assert d.depth_suggestion is None and "needs both" in d.warnings[0]
