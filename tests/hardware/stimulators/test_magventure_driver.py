"""MagVentureDriver against the MagPro emulator over a real pty (and TCP): status, amplitude with
read-back, enable/disable, fire, unsolicited frames between a command and its reply, garbage, a
silent unit, a hung unit, a pulled cable, foot-pedal pulses and MEPs, and that the driver never
enables or fires on its own. Nothing waits for wall time: tests wait for conditions, and the unit's
clock is driven by the test where timing matters."""

from __future__ import annotations

import time

import pytest

from tmsnav.hardware.stimulators.base import (PulseEvent, ReadbackMismatch, StimulatorLinkLost, StimulatorRefused,
                                              StimulatorStatus)
from tmsnav.hardware.stimulators.magventure import MagProEmulator, MagVentureDriver, MepEvent
from tmsnav.hardware.stimulators.magventure import messages as m
from tmsnav.hardware.stimulators.magventure.framing import encode_frame

from tests.hardware.stimulators.magventure_helpers import Collector, ManualClock


@pytest.fixture
def rig():
    """make(transport="pty", driver_kw={}, **unit_kw) -> (emulator, driver, pulses, states, meps)."""
    made = []

    def make(transport="pty", driver_kw=None, **unit_kw):
        em = MagProEmulator(**unit_kw)
        port = em.serve_pty() if transport == "pty" else f"socket://127.0.0.1:{em.serve_tcp()}"
        kw = {"heartbeat_s": None, "timeout_s": 2.0, "readback_timeout_s": 0.5}
        kw.update(driver_kw or {})
        drv = MagVentureDriver(port, **kw)
        pulses: Collector[PulseEvent] = Collector()
        states: Collector[StimulatorStatus] = Collector()
        meps: Collector[MepEvent] = Collector()
        drv.set_pulse_callback(pulses)
        drv.set_state_callback(states)
        drv.set_mep_callback(meps)
        made.append((em, drv))
        return em, drv, pulses, states, meps

    yield make
    for em, drv in made:
        drv.close()
        em.stop()


def ids_sent(em) -> list[str]:
    return [c.payload.hex() for c in em.received]


# ----- the normal path ---------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_status_amplitude_enable_fire_disable(rig, transport):
    em, drv, pulses, _, _ = rig(transport, model=1, coil_temperature_c=27, amplitude_a=12)
    st = drv.connect()
    assert st.connected and not st.armed and st.power_a_pct == 12 and st.coil_temperature_c == 27.0
    assert st.model == "MagVenture MagPro X100"
    assert drv.set_power(63).power_a_pct == 63 and em.unit.amplitude_a == 63
    assert drv.arm().armed and em.unit.enabled
    drv.fire()
    (pulse,) = pulses.wait_count(1)
    assert pulse.source == "magventure" and pulse.sequence == 1
    assert pulse.output_pct_mso == 63.0 and pulse.didt_a_per_us == round(1.5 * 63)
    assert not drv.disarm().armed and not em.unit.enabled
    status2 = drv.read_status2()
    assert status2.base.amplitude_a_pct == 63 and status2.page_name == "Main" and not status2.train_running


@pytest.mark.safety(hazard="stimulator", control="an amplitude the MagPro does not take is refused naming both values")
def test_amplitude_the_unit_clamps_is_a_readback_mismatch_naming_both_values(rig):
    em, drv, *_ = rig(amplitude_limit=70)
    drv.connect()
    with pytest.raises(ReadbackMismatch, match=r"80 %.*70 %"):
        drv.set_power(80)
    assert drv.status().power_a_pct == 70   # the driver reports what the unit has, not what it asked


def test_fire_while_disabled_is_refused_and_no_pulse_is_logged(rig):
    em, drv, pulses, _, _ = rig()
    drv.connect()
    with pytest.raises(StimulatorRefused, match="not enabled"):
        drv.fire()
    assert pulses.items == [] and em.unit.pulses == 0
    assert "03" not in ids_sent(em)             # a disabled unit is not even sent the fire command


def test_fire_that_the_unit_does_not_deliver_is_refused(rig):
    """Enabled but still recharging (on the unit's clock): no pulse report, no pulse logged."""
    clock = ManualClock()
    em, drv, pulses, _, _ = rig(clock=clock, recharge_s=1.0, enabled=True, driver_kw={"timeout_s": 0.5})
    drv.connect()
    drv.fire()
    pulses.wait_count(1)
    with pytest.raises(StimulatorRefused, match="no pulse"):
        drv.fire()
    clock.advance(1.0)
    drv.fire()
    assert [p.sequence for p in pulses.wait_count(2)] == [1, 2]


def test_set_power_refuses_out_of_range_before_sending(rig):
    em, drv, *_ = rig()
    drv.connect()
    n = len(em.received)
    for bad in (101, -5, 42.5):
        with pytest.raises(ValueError):
            drv.set_power(bad)
    assert len(em.received) == n


# ----- unsolicited frames, garbage ---------------------------------------------------------------------
def test_pulse_and_amplitude_frames_between_a_status_request_and_its_reply(rig):
    """The pedal is pressed and the knob turned while the host waits for a status reply: the reply
    is still matched, the pulse still delivered with the amplitude in force when it was fired."""
    em, drv, pulses, states, _ = rig(amplitude_a=40, enabled=True)
    drv.connect()
    em.interleave_next_reply(lambda u: u.foot_pedal() + u.turn_amplitude(70))
    st = drv.status()
    assert st.power_a_pct == 70 and st.armed
    (pulse,) = pulses.wait_count(1)
    assert pulse.output_pct_mso == 40.0 and pulse.didt_a_per_us == 60.0
    assert any(s.power_a_pct == 70 for s in states.items)


def test_unsolicited_frames_between_set_amplitude_and_its_readback(rig):
    em, drv, pulses, _, meps = rig(enabled=True)
    drv.connect()
    em.interleave_next_reply(lambda u: u.foot_pedal() + u.mep(300, -280, 24000) + u.set_page(8))
    assert drv.set_power(55).power_a_pct == 55
    pulses.wait_count(1)
    (mep,) = meps.wait_count(1)
    assert mep.peak_to_peak_uv == 580 and mep.max_time_us == 24000
    assert drv.state.page == 8


def test_garbage_between_frames_is_skipped_and_counted(rig):
    em, drv, pulses, _, _ = rig(enabled=True, amplitude_a=50)
    drv.connect()
    # random noise, a stray start byte with a plausible length, a frame with a broken CRC
    broken = bytearray(encode_frame(m.PulseDelivered(99, 0, m.StatusByte(enabled=True)).encode()))
    broken[3] ^= 0x10
    em.inject_garbage(b"\x13\x37\xfe\x09\x00\xff\x00" + bytes(broken) + b"\xfe")
    assert em.foot_pedal()
    (pulse,) = pulses.wait_count(1)
    assert pulse.didt_a_per_us == 75.0          # the broken frame's 99 A/us never became a pulse
    assert drv.status().power_a_pct == 50
    assert drv.scanner.counters.skipped_bytes >= len(broken)


def test_valid_frames_the_driver_does_not_know_are_counted_and_ignored(rig):
    """Undocumented frames (power-on, coil unplugged, ids 6/7) pass the CRC but are not pulses."""
    em, drv, pulses, _, _ = rig(enabled=True)
    drv.connect()
    em.inject_garbage(encode_frame(bytes([6, 50, 0, 0x10])) + encode_frame(bytes([0x20, 1]))
                      + encode_frame(bytes([2, 75, 0])))          # a pulse frame one byte short
    assert drv.status().connected
    em.foot_pedal()
    (pulse,) = pulses.wait_count(1)
    assert pulse.sequence == 1 and drv.ignored_messages == 3


# ----- a unit that stops answering, a pulled cable --------------------------------------------------------
@pytest.mark.safety(hazard="stimulator", control="a silent MagPro is reported lost with what to check")
def test_a_silent_unit_times_out_as_link_lost_and_says_what_to_check(rig):
    em, drv, _, states, _ = rig()
    drv.connect()
    em.stall()
    drv.timeout_s = 0.3
    with pytest.raises(StimulatorLinkLost, match="did not answer.*COM2.*38400"):
        drv.status()
    assert states.wait_for(lambda s: any(not x.connected and x.fault for x in s))
    em.resume()
    drv.timeout_s = 2.0
    assert drv.status().fault is None           # the unit answers again: no lingering fault


def test_the_heartbeat_reports_a_silent_unit_with_nobody_asking(rig):
    em, drv, _, states, _ = rig(driver_kw={"heartbeat_s": 0.05})
    drv.connect()
    drv.timeout_s = 0.3
    em.stall()
    lost = states.wait_for(lambda s: any(x.fault and "status-2 poll" in x.fault for x in s))
    assert not lost[-1].armed


def test_a_malformed_command_hangs_the_unit_until_restart(rig):
    em, drv, *_ = rig()
    drv.connect()
    drv._write(b"\xfe\x02\x01\x32\x00\xff")    # wrong CRC, as a buggy host would send
    drv.timeout_s = 0.3
    with pytest.raises(StimulatorLinkLost):
        drv.status()
    em.restart()
    drv.timeout_s = 2.0
    assert drv.status().connected


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_a_pulled_cable_is_reported_at_once_and_every_call_says_so(rig, transport):
    em, drv, _, states, _ = rig(transport, enabled=True)
    drv.connect()
    em.unplug()
    gone = states.wait_for(lambda s: any(not x.connected for x in s))[-1]
    assert "lost the MagPro" in gone.fault
    with pytest.raises(StimulatorLinkLost):
        drv.status()
    with pytest.raises(StimulatorLinkLost):
        drv.fire()
    assert not drv.disarm().connected            # never raises for a lost link
    drv.close()
    drv.close()


def test_connect_to_nothing_is_a_readable_error(rig, tmp_path):
    drv = MagVentureDriver(str(tmp_path / "ttyUSB9"), heartbeat_s=None)
    with pytest.raises(StimulatorLinkLost, match="cannot open"):
        drv.connect()
    em, drv, *_ = rig(driver_kw={"timeout_s": 0.3})
    em.stall()
    with pytest.raises(StimulatorLinkLost, match="did not answer"):
        drv.connect()


def test_a_host_at_the_wrong_baud_rate_gets_no_answer(rig):
    em, drv, *_ = rig(driver_kw={"timeout_s": 0.3, "baud": 9600})
    with pytest.raises(StimulatorLinkLost, match="9600 bps"):
        drv.connect()


# ----- pulses the host did not fire, MEPs ----------------------------------------------------------
def test_foot_pedal_pulses_carry_realised_didt_and_the_arrival_time(rig):
    clock = ManualClock()
    em, drv, pulses, _, _ = rig(clock=clock, recharge_s=0.1, enabled=True, amplitude_a=60, didt_per_pct=1.4)
    drv.connect()
    before = time.monotonic_ns()
    assert em.foot_pedal()
    (first,) = pulses.wait_count(1)
    after = time.monotonic_ns()
    assert before <= first.host_time_ns <= after
    assert first.didt_a_per_us == 84.0 and first.output_pct_mso == 60.0
    assert not em.foot_pedal()                  # still recharging on the unit's clock: no pulse
    clock.advance(0.1)
    em.turn_amplitude(80)                        # the knob, between two pulses
    assert em.foot_pedal()
    second = pulses.wait_count(2)[1]
    assert (second.sequence, second.output_pct_mso, second.didt_a_per_us) == (2, 80.0, 112.0)
    assert second.host_time_ns > first.host_time_ns


def test_twin_mode_pulses_report_both_didt(rig):
    em, drv, pulses, _, _ = rig(mode=2, enabled=True, amplitude_a=50, amplitude_b=30)
    drv.connect()
    em.foot_pedal()
    (p,) = pulses.wait_count(1)
    assert p.didt_a_per_us == 75.0 and p.detail["didt_b_a_per_us"] == 45.0 and p.detail["mode"] == "Twin"


def test_a_train_started_on_the_unit_is_logged_pulse_by_pulse(rig):
    clock = ManualClock()
    em, drv, pulses, _, _ = rig(clock=clock, enabled=True, amplitude_a=40, train_pulses=4, train_rate_hz=5.0)
    drv.connect()
    assert em.start_train()                     # the unit's own start button
    pulses.wait_count(1)                        # the first train pulse is due at once
    clock.advance(0.6)
    assert [p.sequence for p in pulses.wait_count(4)] == [1, 2, 3, 4]
    assert drv.read_status2().train_running is False


def test_an_emulated_muscle_answers_each_pulse_with_its_mep(rig):
    """The unit's MEP page after every pulse (a threshold curve: 50 uV at 45 %), for the
    motor-threshold tools: each MEP event follows its pulse and carries that pulse's response."""
    def muscle(amplitude_pct):
        uv = 0 if amplitude_pct < 45 else 50 * 2 ** ((amplitude_pct - 45) / 3)
        return (round(uv / 2), -round(uv / 2), 22000) if uv else None
    em, drv, pulses, _, meps = rig(enabled=True, mep_after_pulse=muscle)
    drv.connect()
    for pct in (40, 45, 51):
        drv.set_power(pct)
        drv.fire()
    pulses.wait_count(3)
    got = meps.wait_count(2)
    assert [e.peak_to_peak_uv for e in got] == [50, 200]
    assert got[0].host_time_ns >= pulses.items[1].host_time_ns


def test_front_panel_enable_and_temperature_reach_the_state_callback(rig):
    em, drv, _, states, _ = rig()
    drv.connect()
    em.press_enable(True)
    em.set_coil_temperature(41)
    s = states.wait_for(lambda s: any(x.coil_temperature_c == 41.0 for x in s))
    assert s[-1].armed and s[-1].coil_temperature_c == 41.0


def test_a_callback_that_raises_does_not_stop_the_pulse_log(rig):
    em, drv, _, _, _ = rig(enabled=True)
    got: Collector[PulseEvent] = Collector()

    def flaky(event):
        got(event)
        if event.sequence == 1:
            raise RuntimeError("receiver bug")
    drv.set_pulse_callback(flaky)
    drv.connect()
    em.foot_pedal()
    em.foot_pedal()
    assert [e.sequence for e in got.wait_count(2)] == [1, 2]


# ----- safety: the driver never enables or fires on its own -----------------------------------------
@pytest.mark.safety(hazard="stimulator", control="connecting and polling a MagPro never sends enable or fire")
def test_the_driver_never_enables_or_fires_on_its_own(rig):
    em, drv, pulses, states, _ = rig(driver_kw={"heartbeat_s": 0.02})
    drv.connect()
    drv.set_power(45)
    drv.status()
    em.turn_amplitude(50)
    em.set_coil_temperature(30)
    em.mep(100, -100, 20000)
    states.wait_for(lambda s: any(x.coil_temperature_c == 30.0 for x in s))
    n = len(em.received)
    states.wait_for(lambda s: len(em.received) >= n + 5)   # several heartbeats went by
    drv.disarm()
    drv.close()
    sent = ids_sent(em)
    assert "0201" not in sent                                       # never enabled
    assert not any(c[:2] in ("03", "04") for c in sent)             # never fired nor started a train
    assert sent[-1] == "0200"                                       # close() disables
    assert pulses.items == [] and em.unit.pulses == 0
