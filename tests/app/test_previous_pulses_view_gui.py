"""Navigate's previous-pulses overlay on the sample head draws each earlier session's pulses where
they landed, in that session's colour, and the checkbox takes them away.

Four earlier sessions around the Fox 2012 target: each session's pulses are a tight cluster
(0.6 mm spread); three drifted 6-7 mm off the target in different directions, one stayed 2.5 mm
from it. Seen from above the target, the pixel at each drifted cluster's centre must have the
colour the legend gives that session; with "Show previous sessions' pulses" off it no longer
does. The session 2.5 mm off lies inside the active target's 5 mm ball
(app/planning/target_display.py): the target markers turn see-through while pulses are drawn, so
its pixel shifts toward the session's colour (it is blended with the ball), and the markers are
opaque again once the pulses are off. The legend's distances are checked for every session. With
TMSNAV_SCREENSHOT_DIR set, the window is kept as previous-pulses.png (docs/course_view.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tmsnav.app.planning.target_display import ACTIVE_OVERLAY
from tmsnav.app.planning.target_display import OVERLAY as TARGETS_OVERLAY
from tmsnav.app.records.previous_pulses import PALETTE
from tmsnav.app.records.pulse_overlay import rgb
from tmsnav.app.view3d import SEE_THROUGH_OPACITY

pytestmark = pytest.mark.gui

#: cluster centres in the target's tangent plane (mm: along "anterior-ish", along "superior-ish")
OFFSETS = {1: (-6.0, 2.5), 2: (5.0, 4.0), 3: (-1.5, -2.0), 4: (0.5, 6.5)}
VISIBLE = (1, 2, 4)                  # outside the active marker's 5 mm ball, inside its ring
INSIDE = 3                           # inside the ball: seen through it, blended
PER_SESSION = 60


def _tangent_basis(target: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = target - centre
    out /= np.linalg.norm(out)
    up = np.array([0.0, 0.0, 1.0]) - out[2] * out                   # superior, in the scalp's plane
    up /= np.linalg.norm(up)
    return out, np.cross(up, out), up


def _positions(scalp, target: np.ndarray, u: np.ndarray, v: np.ndarray) -> dict[int, np.ndarray]:
    """Hotspots on the skin (the nearest scalp point) lifted 1 mm along the skin's outward normal
    (the coil's underside), around each session's centre in the target's tangent plane."""
    rng = np.random.default_rng(21)
    normals = scalp.compute_normals(cell_normals=True, point_normals=False).cell_data["Normals"]
    centre = np.asarray(scalp.center, float)
    out = {}
    for k, (a, b) in OFFSETS.items():
        planar = (target + (a + rng.normal(0, 0.6, (PER_SESSION, 1))) * u
                  + (b + rng.normal(0, 0.6, (PER_SESSION, 1))) * v)
        cells, on_skin = scalp.find_closest_cell(planar, return_closest_point=True)
        n = np.asarray(normals)[cells]
        n *= np.sign(np.einsum("ij,ij->i", n, on_skin - centre))[:, None]      # outward
        out[k] = on_skin + 1.0 * n
    return out


def _colour_near(img: np.ndarray, x: float, y: float, colour: tuple[int, int, int], tol: int = 70) -> bool:
    return _distance_to(img, x, y, colour, half=3) < tol


def test_earlier_sessions_pulses_are_drawn_where_they_landed_in_their_colour(window, qtbot, tmp_path):
    from tmsnav.app.demo import prepare_demo_plan

    with qtbot.waitSignal(window.headLoaded, timeout=180_000):
        window.open_sample_head()
    window.wait_for_job()
    prepare_demo_plan(window.state)
    target = np.asarray(window.state.targets.active.scalp_point_mm, float)
    scalp = window.state.head.scalp
    out, u, v = _tangent_basis(target, np.asarray(scalp.center, float))
    positions = _positions(scalp, target, u, v)

    window.panels.setCurrentWidget(window.guidance_panel)
    pp = window.records.previous_pulses
    pp._set(positions)                       # as if course_pulse_positions had answered
    assert pp.n_points == len(OFFSETS) * PER_SESSION
    view = window.view3d
    view.plotter.camera_position = [tuple(target + 140 * out), tuple(target), tuple(np.cross(out, u))]
    view.render_now()
    img = np.asarray(view.plotter.screenshot(None, return_img=True))
    centres = {k: np.median(p, axis=0) for k, p in positions.items()}
    legend = dict(zip(sorted(positions), PALETTE))                  # fewer than RECENT: each its own colour
    for k in VISIBLE:
        x, y = view.world_to_display(centres[k])
        assert _colour_near(img, x, y, rgb(legend[k])), f"session {k} not drawn in its colour at its place"
        others = [rgb(col) for n, col in legend.items() if n != k]
        assert not any(_colour_near(img, x, y, col, tol=40) for col in others), f"session {k}: another colour"
    text = pp.summary.text()
    assert text.startswith(f"{len(OFFSETS)} previous sessions, {len(OFFSETS) * PER_SESSION} pulses")
    for k, p in positions.items():                                 # every session, the hidden one too
        distance = float(np.median(np.linalg.norm(p - target, axis=1)))
        assert abs(distance - np.hypot(*OFFSETS[k])) < 0.6               # the drift we made (1 mm lift, noise)
        assert f"S{k} {distance:.1f} mm" in text

    shots = os.environ.get("TMSNAV_SCREENSHOT_DIR")
    if shots:
        assert window.save_screenshot(Path(shots) / "previous-pulses.png")

    assert view.marker_opacity(ACTIVE_OVERLAY) == pytest.approx(SEE_THROUGH_OPACITY)
    assert view.marker_opacity(TARGETS_OVERLAY) == pytest.approx(SEE_THROUGH_OPACITY)

    pp.checkbox.setChecked(False)
    view.render_now()
    hidden = np.asarray(view.plotter.screenshot(None, return_img=True))
    for k in VISIBLE:
        x, y = view.world_to_display(centres[k])
        assert not _colour_near(hidden, x, y, rgb(legend[k]), tol=40), f"session {k} still drawn when off"
    assert view.marker_opacity(ACTIVE_OVERLAY) == 1.0 and view.marker_opacity(TARGETS_OVERLAY) == 1.0
    # the session on target, seen through the ball: nearer its own colour with the pulses than without
    x, y = view.world_to_display(centres[INSIDE])
    assert _distance_to(img, x, y, rgb(legend[INSIDE])) + 40 < _distance_to(hidden, x, y, rgb(legend[INSIDE])), \
        "the pulses inside the target's ball are hidden by it"


def _distance_to(img: np.ndarray, x: float, y: float, colour: tuple[int, int, int], half: int = 2) -> int:
    """The smallest colour distance (sum of |RGB| differences) to ``colour`` within ``half`` pixels
    of display (x, y) (VTK's display origin is bottom-left)."""
    h = img.shape[0]
    col, row = int(round(x)), int(round(h - 1 - y))
    patch = img[max(0, row - half):row + half + 1, max(0, col - half):col + half + 1, :3].astype(int)
    return int(np.abs(patch - np.array(colour)).sum(axis=-1).min())
