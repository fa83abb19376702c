"""Scale definitions and scoring of one assessment (navigation.outcomes.scales / scoring)."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.navigation.outcomes import SCALES, OutcomeError, scale_definition, score

# Published bands, written out again here (not read from SCALES) so a typo in the definitions fails:
# (scale, [(low, high, label), ...]) - citations in navigation/outcomes/scales.py and docs/outcomes.md.
PUBLISHED_BANDS = {
    "PHQ-9": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 19, "moderately severe"),
              (20, 27, "severe")],
    "HDRS-17": [(0, 7, "no depression"), (8, 16, "mild"), (17, 23, "moderate"), (24, 52, "severe")],
    "MADRS": [(0, 6, "normal"), (7, 19, "mild"), (20, 34, "moderate"), (35, 60, "severe")],
    "BDI-II": [(0, 13, "minimal"), (14, 19, "mild"), (20, 28, "moderate"), (29, 63, "severe")],
    "QIDS-SR16": [(0, 5, "none"), (6, 10, "mild"), (11, 15, "moderate"), (16, 20, "severe"),
                  (21, 27, "very severe")],
}
REMISSION_MAX = {"PHQ-9": 4, "HDRS-17": 7, "MADRS": 10, "BDI-II": 12, "QIDS-SR16": 5}
# Items per scale and the maximum rating of each (HDRS-17: Hamilton 1960, 0-4 or 0-2).
ITEM_MAX = {
    "PHQ-9": [3] * 9,
    "HDRS-17": [4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 4, 2, 2, 2, 4, 2, 2],
    "MADRS": [6] * 10,
    "BDI-II": [3] * 21,
    "QIDS-SR16": [3] * 16,
}


def test_item_ranges_and_totals_match_the_published_scales() -> None:
    assert set(SCALES) == set(PUBLISHED_BANDS)
    for name, maxima in ITEM_MAX.items():
        defn = SCALES[name]
        assert [i.max for i in defn.items] == maxima, name
        assert all(i.min == 0 for i in defn.items)
        assert score(name, items=maxima).total == defn.max_total, name
    assert SCALES["HDRS-17"].max_total == 52
    assert SCALES["QIDS-SR16"].max_total == 27
    assert {n: d.remission_max for n, d in SCALES.items()} == REMISSION_MAX


@pytest.mark.parametrize("name", sorted(PUBLISHED_BANDS))
def test_every_band_boundary_of_every_scale(name: str) -> None:
    for low, high, label in PUBLISHED_BANDS[name]:
        for total in (low, high):
            got = score(name, total=total)
            assert (got.total, got.band) == (total, label), (name, total)
        if low > 0:
            assert score(name, total=low - 1).band != label


def test_qids_total_is_the_sum_of_nine_domain_maxima_hand_computed() -> None:
    items = [1, 3, 0, 2,  2,  0, 1, 3, 0,  1, 2, 0, 1, 2,  0, 3]
    # sleep max(1,3,0,2)=3 + sad 2 + appetite/weight max(0,1,3,0)=3 + 1+2+0+1+2 + psychomotor max(0,3)=3
    expected = 3 + 2 + 3 + (1 + 2 + 0 + 1 + 2) + 3
    got = score("QIDS-SR16", items=items)
    assert got.total == expected == 17
    assert sum(items) == 21                      # the naive sum would say "very severe"
    assert got.band == "severe"
    assert got.complete and got.alerts == ()


def test_qids_all_maxima_is_27_not_48() -> None:
    assert score("QIDS-SR16", items=[3] * 16).total == 27


@pytest.mark.safety(hazard="suicide-risk",
                    control="a PHQ-9 with item 9 = 1 and a total of 1 raises the item-9 alert whatever the "
                    "total")
def test_item9_alert_with_total_of_one() -> None:
    got = score("PHQ-9", items=[0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert got.total == 1 and got.band == "minimal" and got.remission
    assert len(got.alerts) == 1
    assert "item 9" in got.alerts[0] and "whatever the total" in got.alerts[0]
    assert got.safety_value == 1
    assert score("PHQ-9", items=[3, 3, 3, 3, 3, 3, 3, 3, 0]).alerts == ()


@pytest.mark.parametrize("name, item, below, at", [
    ("BDI-II", 9, 0, 1), ("QIDS-SR16", 12, 0, 1), ("HDRS-17", 3, 0, 1), ("MADRS", 10, 1, 2)])
def test_suicide_items_of_the_other_scales(name: str, item: int, below: int, at: int) -> None:
    n = SCALES[name].n_items
    low = [0] * n
    low[item - 1] = below
    high = [0] * n
    high[item - 1] = at
    assert score(name, items=low).alerts == ()
    alert = score(name, items=high).alerts
    assert len(alert) == 1 and f"item {item}" in alert[0]


def test_totals_only_does_not_know_the_suicide_item() -> None:
    got = score("PHQ-9", total=1)
    assert not got.complete and got.items is None
    assert not got.safety_known and got.alerts == ()
    with_item9 = score("PHQ-9", total=1, items=[None] * 8 + [1])
    assert with_item9.safety_known and len(with_item9.alerts) == 1
    assert with_item9.total == 1 and not with_item9.complete


def test_partial_items_are_refused_naming_the_missing_ones() -> None:
    items: list[int | None] = [1, 1, None, 1, 1, 1, 1, 1, None]
    with pytest.raises(OutcomeError, match=r"items 3 \(sleep\), 9 \(thoughts of death or self-harm\) missing"):
        score("PHQ-9", items=items)
    with pytest.raises(ValueError, match="not prorated"):
        score("MADRS", items=[2] * 9 + [None])


@pytest.mark.parametrize("kwargs, message", [
    (dict(items=[0] * 8 + [4]), r"PHQ-9 item 9 \(thoughts of death or self-harm\) is 4: allowed 0-3"),
    (dict(items=[0] * 8 + [-1]), r"item 9 .* is -1: allowed 0-3"),
    (dict(items=[0] * 8), "PHQ-9 has 9 items, got 8"),
    (dict(items=[0] * 8 + [1.5]), "whole number"),
    (dict(items=[0] * 8 + [True]), "whole number"),
    (dict(items="000000000"), "list of 9"),
    (dict(total=28), "total is 28: allowed 0-27"),
    (dict(total=-1), "allowed 0-27"),
    (dict(items=[1] * 9, total=8), "does not match its items, which give 9"),
    (dict(items=[None] * 8 + [3], total=2), "lower than the known items"),
    (dict(), "enter the items or the total"),
])
def test_bad_input_is_refused_with_a_clear_message(kwargs: dict, message: str) -> None:
    with pytest.raises(OutcomeError, match=message):
        score("PHQ-9", **kwargs)


def test_hdrs_items_have_their_own_ranges() -> None:
    items = [0] * 17
    items[3] = 3                                  # insomnia early is 0-2
    with pytest.raises(OutcomeError, match=r"HDRS-17 item 4 \(insomnia early\) is 3: allowed 0-2"):
        score("HDRS-17", items=items)
    items[3] = 2
    items[0] = 4                                  # depressed mood is 0-4
    assert score("HDRS-17", items=items).total == 6


def test_numpy_integers_and_whole_floats_are_accepted() -> None:
    assert score("PHQ-9", items=list(np.array([1] * 9))).total == 9
    assert score("PHQ-9", total=np.int64(12)).band == "moderate"
    assert score("PHQ-9", total=12.0).total == 12


def test_scale_names_are_forgiving_but_unknown_ones_refused() -> None:
    assert scale_definition("phq9").name == "PHQ-9"
    assert scale_definition("HAMD-17").name == "HDRS-17"
    assert score("qids", total=3).scale == "QIDS-SR16"
    with pytest.raises(OutcomeError, match="unknown rating scale 'GAD-7'.*PHQ-9"):
        score("GAD-7", total=3)


def test_no_item_wording_is_stored() -> None:
    # short domain labels only (copyright): no label is a sentence
    for defn in SCALES.values():
        for item in defn.items:
            assert len(item.label) <= 32 and "?" not in item.label and "I " not in item.label
