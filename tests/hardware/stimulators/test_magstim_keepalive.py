"""The keep-alive keeps an armed emulated Magstim armed; without it the unit disarms and then drops
out of remote control. The unit's clock is the test's (ScenarioClock): several seconds of the
unit's time pass without the test sleeping for them."""

from __future__ import annotations

import threading

import pytest

from tmsnav.hardware.stimulators.base import StimulatorError, StimulatorLinkLost, StimulatorRefused
from tmsnav.hardware.stimulators.magstim.keepalive import KEEPALIVE_INTERVAL_S, KeepAlive

from tests.hardware.stimulators.magstim_helpers import (advance_with_keepalive, bench,  # noqa: F401
                                                        wait_for)


def armed_and_ready(bench):  # noqa: F811
    em = bench.emulator("200")
    drv = bench.driver(em.serve_pty())
    drv.connect()
    drv.set_power(55)
    drv.arm()
    advance_with_keepalive(bench.clock, em, 1.0)
    assert em.unit.ready
    return em, drv


@pytest.mark.safety(hazard="stimulator",
                    control="the keep-alive keeps an armed Magstim armed; without it the unit disarms")
def test_the_keepalive_keeps_an_armed_unit_armed_for_several_seconds_of_its_clock(bench):  # noqa: F811
    em, drv = armed_and_ready(bench)
    start = bench.clock.now_s()
    advance_with_keepalive(bench.clock, em, 8.0, step_s=0.5)
    assert bench.clock.now_s() - start == pytest.approx(8.0)
    assert em.unit.armed and em.unit.remote and drv.status().ready
    assert not [e for _, e in em.unit.events if e.startswith("disarmed")]
    drv.fire()
    assert em.unit.pulses == 1


def test_without_the_keepalive_the_unit_disarms_then_leaves_remote_control(bench):  # noqa: F811
    em, drv = armed_and_ready(bench)
    drv.keepalive.stop()
    bench.clock.advance(1.5)
    wait_for(lambda: not em.unit.armed, "the unit to disarm itself")
    assert em.unit.events[-1][1] == "disarmed: no command for 1.5 s while armed"
    assert em.unit.remote
    bench.clock.advance(9.0)
    wait_for(lambda: not em.unit.remote, "the unit to leave remote control")
    status = drv.status()
    assert not status.armed and not status.remote_control
    with pytest.raises(StimulatorRefused, match="not under remote control"):
        drv.arm()


def test_armed_and_not_fired_for_a_minute_the_unit_disarms_even_with_the_keepalive(bench):  # noqa: F811
    em, drv = armed_and_ready(bench)
    advance_with_keepalive(bench.clock, em, 60.5, step_s=0.5)
    assert not em.unit.armed and em.unit.remote
    assert em.unit.events[-1][1] == "disarmed: armed and not fired for a minute"
    assert not drv.status().armed


def test_default_interval_is_the_manufacturers_500_ms_and_over_a_second_is_refused():
    assert KEEPALIVE_INTERVAL_S == 0.5
    assert KeepAlive(lambda: None).interval_s == 0.5
    with pytest.raises(ValueError, match="disarms after 1 s"):
        KeepAlive(lambda: None, interval_s=1.5)


def test_a_lost_link_stops_the_keepalive_and_is_reported_once():
    reported, calls = [], []

    def poll():
        calls.append(1)
        if len(calls) == 3:
            raise StimulatorLinkLost("cable pulled")

    ka = KeepAlive(poll, interval_s=0.01, on_failure=reported.append)
    ka.start()
    wait_for(lambda: reported, "the failure report")
    wait_for(lambda: not ka.running, "the keep-alive to stop")
    assert len(calls) == 3 and [str(e) for e in reported] == ["cable pulled"]
    ka.stop()
    ka.stop()


def test_one_garbled_reply_does_not_stop_the_keepalive():
    calls = []

    def poll():
        calls.append(1)
        if len(calls) == 2:
            raise StimulatorError("reply fails its checksum")

    ka = KeepAlive(poll, interval_s=0.01)
    ka.start()
    wait_for(lambda: len(calls) >= 5, "polls after the garbled one")
    ka.stop()
    assert ka.errors == 1 and ka.polls >= 4 and not ka.running


def test_start_and_stop_from_several_threads_and_from_inside_the_callback():
    box: dict[str, KeepAlive] = {}

    def fail():
        raise StimulatorLinkLost("gone")

    ka = KeepAlive(fail, interval_s=0.01, on_failure=lambda _: box["ka"].stop())
    box["ka"] = ka
    threads = [threading.Thread(target=ka.start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: ka.last_error is not None and not ka.running, "the stop from the callback")
