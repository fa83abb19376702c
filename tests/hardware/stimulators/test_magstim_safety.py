"""The bulletin's rules for alternate controllers, on the emulated unit: a pulse never leaves while
the unit is still changing its power; a fault the unit reports disarms it and is told; BiStim²
paired-pulse settings are read back."""

from __future__ import annotations

import pytest

from tmsnav.hardware.stimulators.base import StimulatorRefused
from tmsnav.hardware.stimulators.magstim import protocol as p
from tmsnav.hardware.stimulators.magstim.unit import MagstimUnit

from tests.hardware.stimulators.magstim_helpers import (advance_with_keepalive, bench,  # noqa: F401
                                                        wait_for)


def ready_at(bench, power, model="200", **kw):  # noqa: F811
    em = bench.emulator(model)
    drv = bench.driver(em.serve_pty(), model=model, **kw)
    drv.connect()
    drv.set_power(power)
    drv.arm()
    advance_with_keepalive(bench.clock, em, 1.0)
    return em, drv


def test_fire_waits_until_a_lowered_power_has_discharged(bench):  # noqa: F811
    em, drv = ready_at(bench, 80)
    pulses = []
    drv.set_pulse_callback(pulses.append)
    drv.set_power(50)                                  # 30 % down: about 3 s at 100 ms per %
    with pytest.raises(StimulatorRefused, match=r"still discharging from 80 to 50 % \(3\.0 s left\)"):
        drv.fire()
    advance_with_keepalive(bench.clock, em, 2.5)
    with pytest.raises(StimulatorRefused, match=r"0\.5 s left"):
        drv.fire()
    advance_with_keepalive(bench.clock, em, 0.5)
    drv.fire()
    assert em.unit.delivered == [50] and pulses[-1].output_pct_mso == 50.0


def test_raising_the_power_needs_10_ms_per_percent(bench):  # noqa: F811
    em, drv = ready_at(bench, 30)
    drv.set_power(70)                                  # 0.4 s
    with pytest.raises(StimulatorRefused, match="still charging up from 30 to 70 %"):
        drv.fire()
    advance_with_keepalive(bench.clock, em, 0.4)
    drv.fire()
    assert em.unit.delivered == [70]


def test_without_the_wait_a_pulse_leaves_at_the_old_output():
    """Why the driver waits: the emulated unit, like the bulletin describes, fires at the old
    output until it has discharged (what a host that skips the wait would deliver)."""
    t = [0.0]
    unit = MagstimUnit("200", clock=lambda: t[0])
    for body in (b"Q@", b"@080", b"EB"):
        unit.receive(p.frame(body))
    t[0] = 1.0
    unit.receive(p.frame(b"@050"))
    unit.receive(p.frame(b"EH"))
    for _ in range(7):                                 # 3.5 s of keep-alive
        t[0] += 0.5
        unit.receive(p.frame(b"J@"))
    unit.receive(p.frame(b"EH"))
    assert unit.delivered == [80, 50]


def test_a_fault_reported_by_the_unit_disarms_it_and_is_told_once(bench):  # noqa: F811
    faults = []
    em, drv = ready_at(bench, 40, on_fault=faults.append)
    em.unit.replace_coil = True                        # the keep-alive sees it without any click
    wait_for(lambda: faults, "the fault report")
    wait_for(lambda: not em.unit.armed, "the disarm")
    assert faults == ["the Magstim asks to replace the coil; tmsnav disarmed it"]
    status = drv.status()
    assert status.fault == "the Magstim asks to replace the coil" and not status.armed
    wait_for(lambda: drv.keepalive.polls >= 10, "more polls")
    assert len(faults) == 1


def test_a_fatal_error_is_shown_in_words(bench):  # noqa: F811
    em, drv = ready_at(bench, 40)
    em.unit.error = "fatal"
    wait_for(lambda: not em.unit.armed, "the disarm")
    assert drv.status().fault == "the Magstim reports a fatal error"


def test_bistim_paired_pulse_interval_is_read_back(bench):  # noqa: F811
    em = bench.emulator("bistim")
    drv = bench.driver(em.serve_pty(), model="bistim")
    drv.connect()
    drv.set_paired_interval_ms(3)
    assert em.unit.interval_ms == 3 and em.commands()[-2:] == [b"C003", b"J@"]
    with pytest.raises(ValueError):
        drv.set_paired_interval_ms(1000)
