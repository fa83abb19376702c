"""Label placement on the slices (pure geometry, no window): no two labels overlap, none covers a
marker dot, labels stay in view when there is room, and crowded labels get leader lines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tmsnav.app.slice_labels import Box, place_labels

VIEW = Box(0.0, 0.0, 420.0, 420.0)


def _assert_clean(anchors, sizes, placements, bounds=VIEW, dot_radius=6.0, obstacles=()):
    boxes = [p.box for p in placements]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.intersects(b), f"labels {i} and {j} overlap: {a} {b}"
    for i, box in enumerate(boxes):
        assert (box.w, box.h) == pytest.approx(sizes[i])
        for j, (x, y) in enumerate(list(anchors) + list(obstacles)):
            dot = Box(x - dot_radius, y - dot_radius, 2 * dot_radius, 2 * dot_radius)
            assert not box.intersects(dot), f"label {i} covers dot {j}"


def test_two_targets_5_mm_apart_get_separate_labels():
    # 5 mm at the default zoom of a 420 px view of a 220 mm head is ~10 px: the old fixed
    # offset (+7, -7) put the two 60 px wide labels almost on top of each other
    anchors = [(200.0, 200.0), (210.0, 200.0)]
    sizes = [(60.0, 15.0), (75.0, 15.0)]
    old = [Box(x + 7, y - 7 - h, w, h) for (x, y), (w, h) in zip(anchors, sizes)]
    assert old[0].intersects(old[1])
    placements = place_labels(anchors, sizes, VIEW)
    _assert_clean(anchors, sizes, placements)
    assert all(p.box.inside(VIEW) for p in placements)


@pytest.mark.parametrize("seed", range(30))
def test_crowded_clusters_never_overlap(seed):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(60, 360, size=2)
    anchors = [tuple(centre + rng.normal(0, 8, size=2)) for _ in range(int(rng.integers(2, 9)))]
    sizes = [(float(rng.uniform(20, 110)), 15.0) for _ in anchors]
    obstacles = [tuple(centre + rng.normal(0, 10, size=2)) for _ in range(3)]
    placements = place_labels(anchors, sizes, VIEW, obstacles=obstacles)
    _assert_clean(anchors, sizes, placements, obstacles=obstacles)


def test_labels_pushed_from_their_dot_get_a_leader_line_and_stay_in_view():
    anchors = [(200.0, 200.0 + 3 * i) for i in range(6)]   # six targets in a 15 px column
    sizes = [(80.0, 15.0)] * 6
    placements = place_labels(anchors, sizes, VIEW)
    _assert_clean(anchors, sizes, placements)
    assert any(p.leader for p in placements)
    assert all(p.box.inside(VIEW) for p in placements)
    for (x, y), p in zip(anchors, placements):
        if not p.leader:   # a label without a leader line touches its own dot's neighbourhood
            ex, ey = p.box.nearest_point(x, y)
            assert np.hypot(ex - x, ey - y) < 15


def test_labels_at_the_edge_of_the_view_flip_inward():
    anchors = [(415.0, 5.0)]                 # top-right corner: upper-right label would be cut
    placements = place_labels(anchors, [(70.0, 15.0)], VIEW)
    assert placements[0].box.inside(VIEW) and not placements[0].leader


def test_placement_does_not_depend_on_the_order_targets_were_added():
    rng = np.random.default_rng(1)
    anchors = [tuple(rng.uniform(150, 250, size=2)) for _ in range(6)]
    sizes = [(float(rng.uniform(30, 90)), 15.0) for _ in anchors]
    first = place_labels(anchors, sizes, VIEW)
    order = [3, 0, 5, 1, 4, 2]
    second = place_labels([anchors[i] for i in order], [sizes[i] for i in order], VIEW)
    for k, i in enumerate(order):
        assert second[k].box == first[i].box


def test_a_full_view_still_never_overlaps():
    anchors = [(30.0 + 5 * i, 30.0) for i in range(40)]     # far more labels than the view holds
    sizes = [(120.0, 15.0)] * 40
    small = Box(0.0, 0.0, 160.0, 160.0)
    placements = place_labels(anchors, sizes, small)
    _assert_clean(anchors, sizes, placements, bounds=small)


def test_mismatched_sizes_are_refused():
    with pytest.raises(ValueError):
        place_labels([(1.0, 1.0)], [], VIEW)


def test_labels_keep_off_blocked_areas_such_as_the_edge_letters():
    letter_r = Box(400.0, 199.0, 20.0, 22.0)              # the "R" on the right edge
    anchors = [(385.0, 215.0)]                           # a target near it: right-side places hit R
    placements = place_labels(anchors, [(60.0, 15.0)], VIEW, blocked=[letter_r])
    assert not placements[0].box.intersects(letter_r)
    assert placements[0].box.inside(VIEW)
