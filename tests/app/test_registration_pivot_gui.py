"""The Pivot step records until the rotation suffices (issue 12), driven by a scenario clock.

The simulated technician pivots for 10 s, then carries the pointer to the coil: exactly the
old default recording time. The test clock puts the technician 1 s or 5 s into the pivoting
when Start is pressed and lets it play on: the old fixed 10 s recording ran into the carry and
was refused with tens of mm of residual; now the step stops once the pointer has been tilted
enough and the tip is right. A tip left still (clock paused in the divot) is given up with that
cause; a tip that slips out of the divot is refused at once saying so. Nothing here depends on
how fast the machine is: the technician waits for the app, not the other way round.
Runs under Xvfb with QT_QPA_PLATFORM=xcb.
"""

import numpy as np
import pytest

from tmsnav.hardware.simulation.clock import ScenarioClock
from tmsnav.hardware.simulation.scenario_library import make_scenario
from tmsnav.hardware.simulation.tracker import SimulatedTracker
from tests.app.registration_helpers import click, shot

pytestmark = pytest.mark.gui

PIVOT_S = 10.0                  # the old default recording time


def start_pivot_step(window, qtbot, scenario, clock):
    window.tracking.start(lambda: SimulatedTracker(scenario, scenario_clock=clock), "pivot")
    qtbot.waitUntil(lambda: window.tracking.last is not None
                    and window.tracking.last.role_live("pointer"), timeout=10_000)
    panel = window.registration_panel
    window.panels.setCurrentWidget(panel)
    panel.go_to("pivot")
    return panel, panel.step("pivot")


def wait_finished(qtbot, pivot, timeout_ms: int = 60_000) -> None:
    qtbot.waitUntil(lambda: not pivot.collecting, timeout=timeout_ms)


@pytest.mark.parametrize("late_s", [1.0, 5.0])
def test_a_late_start_still_calibrates_and_stops_while_pivoting(window, qtbot, late_s):
    scenario = make_scenario("full_session", pivot_s=PIVOT_S)
    clock = ScenarioClock()
    panel, pivot = start_pivot_step(window, qtbot, scenario, clock)
    start, end = clock.jump_to(scenario, "pivoting", late_s)
    clock.play(1.0)                          # the technician goes on to the coil after 10 s
    click(qtbot, pivot.start_button)
    assert pivot.collecting and pivot.start_button.text() == "Cancel"
    wait_finished(qtbot, pivot)
    assert pivot.accept_button.isEnabled(), pivot.result.text() + " | " + pivot.live.text()
    assert pivot.result.level == "ok" and "Press Accept" in pivot.result.text()
    assert pivot.progress.value() == 1000
    assert "tilted" in pivot.live.text() and "need 30° × 30°" in pivot.live.text()
    shot(window, f"pivot-late-{late_s:.0f}s")
    tracker = window.tracking.tracker_ref
    truth_tip = tracker.truth.pointer_from_tip[:3, 3]
    assert np.linalg.norm(pivot.pending.tip_offset_mm - truth_tip) < 0.5
    assert pivot.recorder.progress.elapsed_s < end - start - late_s   # within the pivoting
    click(qtbot, pivot.accept_button)
    assert np.linalg.norm(window.state.pointer_from_tip.translation - truth_tip) < 0.5
    assert panel.status["pivot"] == "done" and panel.next_button.isEnabled()


def test_a_tip_left_still_is_given_up_with_that_cause(window, qtbot):
    scenario = make_scenario("pivot")
    clock = ScenarioClock()
    _panel, pivot = start_pivot_step(window, qtbot, scenario, clock)
    clock.jump_to(scenario, "placing tip in divot", 0.5)   # paused: the tip rests in the divot
    pivot.max_time.setValue(3.0)
    click(qtbot, pivot.start_button)
    wait_finished(qtbot, pivot, 30_000)
    text = pivot.result.text()
    assert pivot.result.level == "error" and text.startswith("Calibration refused")
    assert "No pivoting seen in 3 s" in text and "held still" in text, text
    assert not pivot.accept_button.isEnabled() and pivot.pending is None
    assert window.state.pointer_from_tip is None
    shot(window, "pivot-held-still")


def test_a_slipping_tip_is_refused_at_once_with_that_cause(window, qtbot):
    scenario = make_scenario("pivot", slip_mm=6.0)
    clock = ScenarioClock()
    _panel, pivot = start_pivot_step(window, qtbot, scenario, clock)
    clock.jump_to(scenario, "pivoting")
    clock.play(1.0)
    click(qtbot, pivot.start_button)
    wait_finished(qtbot, pivot)
    text = pivot.result.text()
    assert pivot.result.level == "error" and "The tip moved at least" in text, text
    assert "divot" in text and "record again" in text
    assert pivot.recorder.progress.elapsed_s < pivot.max_time.value()   # not at the limit
    assert not pivot.accept_button.isEnabled() and window.state.pointer_from_tip is None
    shot(window, "pivot-slipped")
