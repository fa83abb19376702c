"""The GUI tick's pacing (app/tracking_bridge.py): up to 60 ticks a second, but a tick whose work
(the tick and the repaints it caused, up to the event loop's next idle) took long delays the next
one so that the ticks take at most ``max_busy_share`` of the GUI thread: clicks keep their time.

Test clock only; the event loop's idle moment is called by hand."""

from __future__ import annotations

from tmsnav.app.app_state import AppState
from tmsnav.app.tracking_bridge import MAX_BUSY_SHARE, UI_RATE_HZ, TrackingBridge

MS = 1_000_000


def test_the_default_tick_can_show_every_frame_of_a_60_hz_tracker():
    assert UI_RATE_HZ >= 60.0 and 0.5 <= MAX_BUSY_SHARE < 1.0


def test_a_slow_tick_delays_the_next_one_so_the_gui_keeps_idle_time(qtbot):
    now = [0]
    bridge = TrackingBridge(AppState(), ui_rate_hz=60.0, clock_ns=lambda: now[0], max_busy_share=0.7)
    bridge._paced_tick()                       # no tracker: the tick itself does nothing
    assert bridge._timer.isActive() and bridge._timer.interval() == 17
    now[0] = 5 * MS                            # a cheap frame: the next tick a period after this one
    bridge._loop_idle()
    assert bridge.busy_ms == 5.0 and bridge._timer.interval() == 12      # 16.7 - 5 ms, rounded
    now[0] = 17 * MS
    bridge._paced_tick()
    now[0] = 17 * MS + 28 * MS                 # a 28 ms render: 40 ms per tick keeps 30 % idle
    bridge._loop_idle()
    assert bridge.busy_ms == 28.0 and bridge._timer.interval() == 12     # 17 + 40 - 45 ms
    bridge._loop_idle()                        # later idle moments change nothing
    assert bridge._timer.interval() == 12
    bridge._timer.stop()


def test_the_single_shot_tick_re_arms_itself_in_the_event_loop(qtbot):
    """The tick timer is single-shot (each tick sets the next): the chain must keep going."""
    bridge = TrackingBridge(AppState())
    ticks: list[int] = []
    bridge.tick = lambda: ticks.append(1)      # type: ignore[method-assign,assignment,return-value]
    bridge._timer.start(1)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=10_000)
    bridge._timer.stop()
