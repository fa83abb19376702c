"""The GIL switch interval is shortened only while a fast tracker is acquired (it is
process-wide: the app used to leave it at 0.5 ms for the rest of the session)."""

from __future__ import annotations

import sys
import threading

import pytest

from tmsnav.app.app_state import AppState
from tmsnav.app.switch_interval import FAST_SWITCH_INTERVAL_S, FastSwitchInterval
from tmsnav.app.tracking_bridge import TrackingBridge
from tmsnav.hardware.simulation.tracker import SimulatedTracker


@pytest.fixture
def original_interval():
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.004)  # a value no code here sets, so a restore is visible
    yield 0.004
    sys.setswitchinterval(before)


def test_shorten_then_restore_puts_the_previous_value_back(original_interval):
    scope = FastSwitchInterval()
    scope.restore()                                  # never shortened: nothing changes
    assert sys.getswitchinterval() == pytest.approx(original_interval)
    run = scope.arm()
    assert scope.shorten(run) and scope.active
    assert scope.shorten(run)                        # a reconnect: saved value kept, not 0.5 ms
    assert sys.getswitchinterval() == pytest.approx(FAST_SWITCH_INTERVAL_S)
    scope.restore()
    assert not scope.active and sys.getswitchinterval() == pytest.approx(original_interval)


def test_a_driver_that_finishes_connecting_after_stop_cannot_shorten_it(original_interval):
    scope = FastSwitchInterval()
    run = scope.arm()
    scope.restore()                                  # the user pressed Disconnect
    late = threading.Thread(target=scope.shorten, args=(run,))
    late.start()
    late.join()
    assert not scope.active and sys.getswitchinterval() == pytest.approx(original_interval)
    assert not scope.shorten(run) and scope.shorten(scope.arm())  # a new run may
    scope.restore()


@pytest.mark.gui
def test_bridge_shortens_for_a_250_hz_tracker_and_restores_on_stop(qtbot, original_interval):
    bridge = TrackingBridge(AppState())
    try:
        bridge.start(lambda: SimulatedTracker("idle", rate_hz=250.0), "sim 250 Hz")
        qtbot.waitUntil(lambda: bridge.switch_interval.active, timeout=5000)
        assert sys.getswitchinterval() == pytest.approx(FAST_SWITCH_INTERVAL_S)
        bridge.start(lambda: SimulatedTracker("idle", rate_hz=60.0), "sim 60 Hz")  # switch device
        qtbot.waitUntil(lambda: bridge.tracker_ref is not None and
                        bridge.tracker_ref.nominal_rate_hz == 60.0, timeout=5000)
        assert not bridge.switch_interval.active
        assert sys.getswitchinterval() == pytest.approx(original_interval)
        bridge.start(lambda: SimulatedTracker("idle", rate_hz=250.0), "sim 250 Hz")
        qtbot.waitUntil(lambda: bridge.switch_interval.active, timeout=5000)
    finally:
        bridge.stop()
    assert sys.getswitchinterval() == pytest.approx(original_interval)
