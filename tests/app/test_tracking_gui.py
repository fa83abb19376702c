"""Tracker panel and live display with the simulated tracker: lights, glyphs, banner, unplug, stall."""

import time

import numpy as np
import pytest

from tmsnav.hardware.config import TrackerConfig
from tmsnav.navigation.transforms import Transform

pytestmark = pytest.mark.gui


def wait_light(qtbot, window, tool, light, timeout=5000):
    qtbot.waitUntil(lambda: window.tracker_panel.light_of(tool) == light, timeout=timeout)


@pytest.mark.safety(hazard="lost-tracker", control="an unplugged tracker turns every tool grey with a banner")
def test_sim_tracker_lights_green_then_unplug_goes_grey_with_banner(window, qtbot):
    window.connect_tracker(TrackerConfig.parse("sim:idle"))
    for tool in ("reference", "pointer", "coil"):
        wait_light(qtbot, window, tool, "green")
    # the measured rate needs a second of frames: wait for it, never assert it at first green
    qtbot.waitUntil(lambda: window.tracking.last.tools["pointer"].rate_hz > 20, timeout=10000)
    assert window.view3d.banner == "" and not window.tracking_display.banner.isVisible()
    assert window.tracking_display.status_label.text() == "Tracker: tracking (Simulated tracker)"
    window.tracking.tracker_ref.unplug()
    wait_light(qtbot, window, "reference", "grey")
    qtbot.waitUntil(lambda: window.view3d.banner == "TRACKING LOST\nreconnecting", timeout=3000)
    assert window.tracking_display.banner.headline.text() == "TRACKING LOST"
    window.tracking.stop()
    assert window.tracker_panel.connect_button.isEnabled()
    assert window.view3d.banner == "" and not window.tracking_display.banner.isVisible()
    assert window.tracking_display.status_label.text() == "Tracker: not connected"


@pytest.mark.safety(hazard="stale-pose", control="a lost head reference hides every MRI-space pose")
def test_registered_pointer_glyph_follows_and_hides_when_reference_is_lost(window, qtbot):
    window.connect_tracker(TrackerConfig.parse("sim:idle"))
    wait_light(qtbot, window, "reference", "green")
    window.state.set_pointer_calibration(None, np.array([0.0, 0.0, -150.0]))
    window.state.registration = type("R", (), {"mri_from_reference": Transform.identity("mri", "reference")})()
    qtbot.waitUntil(lambda: window.tracking.last.live.mri_from_pointer_tip is not None, timeout=3000)
    actor = window.view3d._actors["pointer"]
    assert actor.GetVisibility()
    window.tracking.tracker_ref.forced_missing.add("reference")
    qtbot.waitUntil(lambda: not actor.GetVisibility(), timeout=3000)   # hidden at once
    qtbot.waitUntil(lambda: window.view3d.banner == "HEAD REFERENCE\nNOT TRACKED", timeout=3000)
    assert window.tracking_display.banner.headline.text() == "HEAD REFERENCE NOT TRACKED"
    assert window.tracker_panel.light_of("reference") == "red"


@pytest.mark.safety(hazard="stale-pose", control="after a GUI stall the backlog is not shown as live")
def test_gui_stall_never_shows_backlog_as_live(window, qtbot):
    window.connect_tracker(TrackerConfig.parse("sim:idle"))
    wait_light(qtbot, window, "pointer", "green")
    window.tracking.acquisition.stop()          # the stream stops behind the GUI's back
    stalled_at = time.monotonic_ns()
    # the GUI thread was blocked for 0.5 s meanwhile: its clock says so, no sleeping needed
    window.tracking.clock_ns = lambda: stalled_at + 500_000_000
    snap = window.tracking.tick()               # first tick after the stall
    assert snap.tools["pointer"].light == "amber" and snap.tools["pointer"].text == "stale"
    assert snap.live.mri_from_pointer_tip is None
