"""Course-level outcomes: trajectory (baseline, response, remission), safety alerts over a course,
and the outcome figure (navigation.outcomes.trajectory / alerts / figure)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import numpy as np
import pytest

from tmsnav.navigation.outcomes import (
    OutcomeError,
    course_trajectory,
    outcome_figure_png,
    safety_alerts,
    unknown_safety_items,
)


@dataclass(frozen=True)
class FakeOutcome:
    """Same attribute names as navigation.records.repository.OutcomeInfo (the contract)."""

    scale: str
    assessed_on: str
    total: int
    items: tuple[int | None, ...] | None = None
    uid: str = ""
    timepoint: str = ""
    entered_utc: str = ""
    course_uid: str = "c1"
    session_uid: str | None = None
    rater: str = ""


def phq(day: int, total: int, item9: int | None = None, uid: str = "") -> FakeOutcome:
    """A PHQ-9 on 2026-11-<day>; with ``item9`` the items are given (item 9 and filler 1s)."""
    if item9 is None:
        return FakeOutcome("PHQ-9", f"2026-11-{day:02d}", total, uid=uid)
    rest = total - item9
    items = [min(3, max(0, rest - 3 * k)) for k in range(8)] + [item9]
    assert sum(items) == total
    return FakeOutcome("PHQ-9", f"2026-11-{day:02d}", total, tuple(items), uid=uid)


def test_baseline_is_the_first_assessment_by_date_not_by_list_order() -> None:
    outcomes = [phq(20, 9), phq(3, 20), phq(10, 12)]
    traj = course_trajectory(outcomes)["PHQ-9"]
    assert traj.baseline_total == 20 and traj.baseline_on == dt.date(2026, 11, 3)
    assert traj.latest_total == 9 and traj.totals == [20, 12, 9]
    assert traj.percent_change == pytest.approx(-55.0)
    assert traj.response and not traj.remission


def test_response_is_exactly_a_50_percent_drop() -> None:
    assert course_trajectory([phq(1, 20), phq(8, 10)])["PHQ-9"].response          # exactly half
    assert not course_trajectory([phq(1, 20), phq(8, 11)])["PHQ-9"].response      # 45 %
    assert course_trajectory([phq(1, 21), phq(8, 10)])["PHQ-9"].response          # 52 %
    assert not course_trajectory([phq(1, 21), phq(8, 11)])["PHQ-9"].response      # 10.5 would be half


def test_remission_per_scale_cut_off() -> None:
    cases = [("PHQ-9", 20, 4, 5), ("HDRS-17", 24, 7, 8), ("MADRS", 30, 10, 11), ("BDI-II", 30, 12, 13),
             ("QIDS-SR16", 18, 5, 6)]
    for scale, base, remitted, not_remitted in cases:
        yes = course_trajectory([FakeOutcome(scale, "2026-11-01", base), FakeOutcome(scale, "2026-12-01", remitted)])
        no = course_trajectory([FakeOutcome(scale, "2026-11-01", base), FakeOutcome(scale, "2026-12-01", not_remitted)])
        assert yes[scale].remission and yes[scale].response, scale
        assert not no[scale].remission, scale


def test_baseline_alone_is_neither_response_nor_remission() -> None:
    traj = course_trajectory([phq(1, 3)])["PHQ-9"]
    assert not traj.response and not traj.remission and traj.percent_change == 0.0


def test_zero_baseline_cannot_respond() -> None:
    traj = course_trajectory([phq(1, 0), phq(5, 0)])["PHQ-9"]
    assert traj.percent_change is None and not traj.response and traj.remission


def test_first_response_date_kept_when_lost_again() -> None:
    traj = course_trajectory([phq(1, 20), phq(8, 9), phq(15, 14)])["PHQ-9"]
    assert not traj.response and traj.first_response_on == dt.date(2026, 11, 8)


def test_scales_are_kept_apart() -> None:
    out = course_trajectory([phq(1, 20), FakeOutcome("MADRS", "2026-11-02", 30), phq(9, 8),
                             FakeOutcome("madrs", "2026-11-20", 20)])
    assert list(out) == ["PHQ-9", "MADRS"]
    assert out["MADRS"].baseline_total == 30 and not out["MADRS"].response


def test_mappings_and_dates_are_accepted_bad_dates_refused() -> None:
    out = course_trajectory([{"scale": "BDI-II", "assessed_on": dt.date(2026, 1, 2), "total": 30},
                             {"scale": "BDI-II", "assessed_on": "2026-02-01T10:00:00+00:00", "total": np.int64(10)}])
    assert out["BDI-II"].remission
    with pytest.raises(OutcomeError, match="not a date"):
        course_trajectory([{"scale": "BDI-II", "assessed_on": "next week", "total": 3}])
    with pytest.raises(OutcomeError, match="outside 0-63"):
        course_trajectory([{"scale": "BDI-II", "assessed_on": "2026-01-01", "total": 64}])


@pytest.mark.safety(hazard="suicide-risk",
                    control="the item-9 alert stands until a newer PHQ-9 records item 9 as 0; a later totals-"
                    "only PHQ-9 or another scale does not clear it")
def test_item9_alert_with_total_one_and_it_stands_until_a_newer_known_item9() -> None:
    first = phq(1, 1, item9=1, uid="a")                     # total 1 made of item 9 alone
    alerts = safety_alerts([first])
    assert [(a.scale, a.item, a.value, a.outcome_uid) for a in alerts] == [("PHQ-9", 9, 1, "a")]
    assert "whatever the total" in alerts[0].message
    # a newer totals-only PHQ-9 says nothing about item 9: the alert stands, and the GUI is told
    assert len(safety_alerts([first, phq(5, 0)])) == 1
    assert unknown_safety_items([first, phq(5, 0)]) == ["PHQ-9"]
    # another scale does not clear it
    assert len(safety_alerts([first, FakeOutcome("HDRS-17", "2026-11-06", 3, (1, 1, 0, 1) + (0,) * 13)])) == 1
    # a newer PHQ-9 with item 9 = 0 clears it
    assert safety_alerts([first, phq(7, 6, item9=0)]) == []
    # an OLDER clean one does not
    assert len(safety_alerts([phq(0 + 1, 6, item9=0), phq(9, 2, item9=2)])) == 1


def test_other_scales_suicide_items_in_a_course() -> None:
    madrs = [0] * 10
    madrs[9] = 2
    bdi = [0] * 21
    bdi[8] = 1
    qids = [0] * 16
    qids[11] = 1
    hdrs = [0] * 17
    hdrs[2] = 1
    outcomes = [FakeOutcome("MADRS", "2026-11-01", 2, tuple(madrs)), FakeOutcome("BDI-II", "2026-11-02", 1, tuple(bdi)),
                FakeOutcome("QIDS-SR16", "2026-11-03", 1, tuple(qids)),
                FakeOutcome("HDRS-17", "2026-11-04", 1, tuple(hdrs))]
    got = {(a.scale, a.item) for a in safety_alerts(outcomes)}
    assert got == {("MADRS", 10), ("BDI-II", 9), ("QIDS-SR16", 12), ("HDRS-17", 3)}
    madrs[9] = 1                                    # below MADRS's alert rating of 2
    assert safety_alerts([FakeOutcome("MADRS", "2026-11-01", 1, tuple(madrs))]) == []


def test_totals_only_entry_with_item9_known_raises_the_alert() -> None:
    o = FakeOutcome("PHQ-9", "2026-11-01", 5, (None,) * 8 + (2,))
    assert [a.value for a in safety_alerts([o])] == [2]
    assert unknown_safety_items([o]) == []


def _png_pixels(png: bytes) -> np.ndarray:
    from matplotlib.image import imread
    return imread(io.BytesIO(png), format="png")


def test_outcome_figure_png_has_the_size_and_shows_bands_and_alert() -> None:
    outcomes = [phq(1, 20), phq(8, 12), phq(15, 4, item9=1), FakeOutcome("HDRS-17", "2026-11-01", 24),
                FakeOutcome("HDRS-17", "2026-11-15", 10)]
    png = outcome_figure_png(outcomes, width_px=900, height_px=420)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = _png_pixels(png)
    assert pixels.shape[:2] == (420, 900)
    rgb = (pixels[..., :3] * 255).round().astype(int)
    # the red alert marker (#c00000) and the green "minimal" band fill (#e3f2e1) are drawn
    assert np.any(np.all(np.abs(rgb - [0xC0, 0, 0]) < 8, axis=-1))
    assert np.any(np.all(np.abs(rgb - [0xE3, 0xF2, 0xE1]) < 3, axis=-1))
    without_alert = _png_pixels(outcome_figure_png(outcomes[:2]))
    rgb2 = (without_alert[..., :3] * 255).round().astype(int)
    assert not np.any(np.all(np.abs(rgb2 - [0xC0, 0, 0]) < 8, axis=-1))


def test_outcome_figure_of_an_empty_course_says_so_and_refuses_tiny_sizes() -> None:
    pixels = _png_pixels(outcome_figure_png([], width_px=400, height_px=200))
    assert pixels.shape[:2] == (200, 400)
    assert pixels[..., :3].min() < 0.6                     # the message is drawn, not a blank image
    with pytest.raises(ValueError, match="too small"):
        outcome_figure_png([], width_px=20, height_px=20)


def test_figure_module_uses_no_pyplot() -> None:
    import subprocess
    import sys
    code = ("import sys; from tmsnav.navigation.outcomes import outcome_figure_png; "
            "outcome_figure_png([{'scale': 'PHQ-9', 'assessed_on': '2026-01-01', 'total': 3}]); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_same_day_baseline_is_the_first_entered() -> None:
    a = FakeOutcome("PHQ-9", "2026-11-01", 18, entered_utc="2026-11-01T09:00:00+00:00")
    b = FakeOutcome("PHQ-9", "2026-11-01", 12, entered_utc="2026-11-01T15:00:00+00:00")
    traj = course_trajectory([b, a])["PHQ-9"]
    assert traj.baseline_total == 18 and traj.latest_total == 12


def test_a_damaged_stored_row_is_named_not_plotted_or_alerted_wrongly() -> None:
    short = FakeOutcome("PHQ-9", "2026-11-03", 1, (0, 0, 0, 0, 0, 0, 0, 1))          # 8 items
    with pytest.raises(OutcomeError, match="PHQ-9 assessment of 2026-11-03: PHQ-9 has 9 items, got 8"):
        safety_alerts([short])
    mismatch = FakeOutcome("PHQ-9", "2026-11-03", 0, (0,) * 8 + (1,))             # total says 0
    with pytest.raises(OutcomeError, match="total 0 does not match its items, which give 1"):
        course_trajectory([mismatch])
    with pytest.raises(OutcomeError, match="is 5: allowed 0-3"):
        outcome_figure_png([FakeOutcome("PHQ-9", "2026-11-03", 5, (0,) * 8 + (5,))])
