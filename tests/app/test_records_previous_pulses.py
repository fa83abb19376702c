"""Navigate's previous-sessions pulses stay cheap and readable on a long course: one point cloud
of at most MAX_POINTS points, the nine latest sessions in their own colours and the earlier ones in
one grey legend entry, damaged (non-finite) positions dropped, distances from every pulse."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.app.records.previous_pulses import (LEGEND, MAX_POINTS, MAX_PER_SESSION, OLDER, OVERLAY,
                                                PALETTE, RECENT, build_cloud)


def course_positions(n_sessions: int, n_pulses: int, seed: int = 3) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    target = np.array([-38.0, 44.0, 52.0])
    out = {}
    for k in range(1, n_sessions + 1):
        p = target + rng.normal(0.0, 1.5, (n_pulses, 3)) + [0.1 * k, 0.0, 0.0]
        p[::97] = np.nan                                  # pulses without a pose in the record
        out[k] = p
    return out


def test_thirty_sessions_make_one_small_cloud_and_a_short_legend():
    positions = course_positions(30, 3000)
    points, colours, legend = build_cloud(positions)
    assert len(points) == len(colours) <= MAX_POINTS and np.isfinite(points).all()
    assert len(legend) == RECENT + 1 and legend[0] == (0, OLDER)
    assert [n for n, _c in legend[1:]] == list(range(22, 31))
    recent_colours = [c for _n, c in legend[1:]]
    assert len(set(recent_colours)) == RECENT and OLDER not in recent_colours
    assert set(recent_colours) <= set(PALETTE)
    # every drawn point is one of that session's own positions
    grey = np.all(colours == [int(OLDER[i:i + 2], 16) for i in (1, 3, 5)], axis=1)
    assert grey.sum() == 21 * min(MAX_PER_SESSION, MAX_POINTS // 30)


def test_a_few_sessions_keep_their_spread_and_their_own_colours():
    positions = course_positions(3, 3000)
    points, colours, legend = build_cloud(positions)
    assert [n for n, _c in legend] == [1, 2, 3] and len({c for _n, c in legend}) == 3
    assert len(points) == 3 * MAX_PER_SESSION
    first = points[:MAX_PER_SESSION]
    spread = np.std(first - first.mean(axis=0), axis=0)
    assert np.all(spread > 1.0)               # an even subsample, not the first few pulses
    assert build_cloud({})[0].shape == (0, 3)
    assert build_cloud({1: np.full((5, 3), np.nan)})[2] == []


@pytest.mark.gui
def test_overlay_legend_names_the_earlier_sessions_together(window):
    pp = window.records.previous_pulses
    pp._set(course_positions(12, 400))
    assert window.view3d.has_overlay(OVERLAY) and window.view3d.has_overlay(LEGEND)
    assert pp.n_points == 12 * min(MAX_PER_SESSION, 400)
    legend = window.view3d._actors[LEGEND]
    texts = [legend.GetEntryString(i) for i in range(legend.GetNumberOfEntries())]
    assert texts[0] == "Sessions 1–3" and texts[-1].startswith("Session 12")
    assert pp.summary.text().startswith("12 previous sessions, ")
    pp._set({})
    assert not window.view3d.has_overlay(OVERLAY) and not window.view3d.has_overlay(LEGEND)
