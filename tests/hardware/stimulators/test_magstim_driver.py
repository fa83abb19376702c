"""MagstimDriver against the emulated unit over a real pty (and once over TCP): status, power with
read-back, arm/fire/disarm, pulses reported with the unit's own power, BiStim² and Rapid²
parameters, and what a real line does: noise, a silent unit, a pulled cable."""

from __future__ import annotations

import time

import pytest

from tmsnav.hardware.stimulators.base import (ReadbackMismatch, StimulatorError,
                                              StimulatorLinkLost, StimulatorRefused)
from tmsnav.hardware.stimulators.magstim import protocol as p
from tmsnav.hardware.stimulators.magstim.driver import MagstimDriver

from tests.hardware.stimulators.magstim_helpers import (advance_with_keepalive, bench,  # noqa: F401
                                                        wait_for)


def connected(bench, model="200", **kw):  # noqa: F811
    em = bench.emulator(model, **{k: v for k, v in kw.items() if k in ("unlock_code", "version",
                                                                      "heat_per_pulse_c")})
    drv = bench.driver(em.serve_pty(), model=model,
                       **{k: v for k, v in kw.items() if k in ("unlock_code", "on_fault",
                                                              "timeout_s")})
    status = drv.connect()
    return em, drv, status


def test_connect_takes_remote_control_and_reads_power_and_coil_temperature(bench):  # noqa: F811
    em, drv, status = connected(bench)
    assert status.connected and status.remote_control and em.unit.remote
    assert (status.power_a_pct, status.power_b_pct, status.armed) == (30, None, False)
    assert status.coil_temperature_c == pytest.approx(24.0) and status.fault is None
    assert status.model == "Magstim 200²"
    em.unit.set_coil_temperature(31.74)
    assert drv.status().coil_temperature_c == pytest.approx(31.7)   # the hotter winding, 0.1 degC


def test_set_power_is_read_back_from_the_unit(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    status = drv.set_power(65)
    assert status.power_a_pct == 65 and em.unit.power_a == 65
    assert em.commands()[-2:] == [b"@065", b"J@"]      # set, then read back


@pytest.mark.safety(hazard="stimulator",
                    control="a power the unit reports differently is refused (ReadbackMismatch), unit disarmed")
def test_a_unit_reporting_another_power_is_a_readback_mismatch_and_is_disarmed(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    drv.arm()
    em.misreport_power(+5)
    with pytest.raises(ReadbackMismatch, match="set power A to 60 but the Magstim 200² reports 65"):
        drv.set_power(60)
    assert not em.unit.armed and b"EA" in em.commands()


@pytest.mark.parametrize("bad", [101, -1, 50.5, True, 1000])
def test_impossible_power_is_refused_before_anything_is_sent(bench, bad):  # noqa: F811
    em, drv, _ = connected(bench)
    sent = len(em.commands())
    with pytest.raises(ValueError, match="whole number 0-100"):
        drv.set_power(bad)
    assert not [c for c in em.commands()[sent:] if c.startswith(b"@")]


def test_arm_fire_disarm_and_each_serial_pulse_is_reported_with_the_units_power(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    pulses = []
    drv.set_pulse_callback(pulses.append)
    drv.set_power(72)
    status = drv.arm()
    assert status.armed and not status.ready
    with pytest.raises(StimulatorRefused, match="still charging"):
        drv.fire()                                   # the unit needs ~1 s to charge
    advance_with_keepalive(bench.clock, em, 1.0)
    assert drv.status().ready
    before = time.monotonic_ns()
    for _ in range(3):
        drv.fire()
    after = time.monotonic_ns()
    assert em.unit.pulses == 3 and [e.sequence for e in pulses] == [1, 2, 3]
    assert all(e.source == "magstim" and e.output_pct_mso == 72 and e.didt_a_per_us is None
               for e in pulses)
    assert before <= pulses[0].host_time_ns <= pulses[1].host_time_ns <= pulses[2].host_time_ns <= after
    assert not drv.disarm().armed and not em.unit.armed


def test_the_pulse_carries_the_power_the_unit_reported_not_the_one_asked(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    pulses = []
    drv.set_pulse_callback(pulses.append)
    drv.set_power(50)
    drv.arm()
    advance_with_keepalive(bench.clock, em, 1.0)
    em.unit.power_a = 47                  # changed on the front panel; the keep-alive reads it
    wait_for(lambda: drv.status().power_a_pct == 47, "the new power read back")
    drv.fire()
    assert pulses[-1].output_pct_mso == 47


def test_arming_a_hot_coil_is_refused_with_the_temperature(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    em.unit.set_coil_temperature(41.2)
    with pytest.raises(StimulatorRefused, match=r"coil at 41\.2 degC, above the unit's 40 degC"):
        drv.arm()
    assert not em.unit.armed


def test_the_coil_warms_with_pulses_and_the_unit_then_refuses_to_arm(bench):  # noqa: F811
    em, drv, _ = connected(bench, heat_per_pulse_c=4.0)
    drv.set_power(100)
    drv.arm()
    advance_with_keepalive(bench.clock, em, 1.0)
    temperatures = []
    while em.unit.armed:
        drv.fire()
        temperatures.append(drv.status().coil_temperature_c)
    assert temperatures == sorted(temperatures) and temperatures[-1] > 40.0 and len(temperatures) == 5
    with pytest.raises(StimulatorRefused, match="above the unit's 40 degC limit"):
        drv.arm()


def test_commands_need_remote_control_and_say_so_when_the_unit_dropped_out(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    em.unit.remote = False                # as after a keep-alive gap of more than 10 s
    with pytest.raises(StimulatorRefused, match="not under remote control"):
        drv.arm()


def test_bistim_output_b_is_set_and_read_back(bench):  # noqa: F811
    em, drv, status = connected(bench, "bistim")
    assert status.power_b_pct == 30 and status.model == "Magstim BiStim²"
    assert drv.set_power_b(44).power_b_pct == 44 and em.unit.power_b == 44
    single = bench.driver(bench.emulator("200").serve_pty())
    single.connect()
    with pytest.raises(StimulatorError, match="needs a Magstim BiStim²"):
        single.set_power_b(44)


def test_rapid_with_its_unlock_code_reads_and_sets_train_parameters(bench):  # noqa: F811
    em, drv, status = connected(bench, "rapid", unlock_code="7Q2K")
    assert drv.version == (9, 0, 0) and status.remote_control
    assert em.commands()[:2] == [b"ND", b"Q7Q2K"]
    params = drv.set_rapid_frequency(5.5)
    assert params.frequency_hz == 5.5 and em.unit.frequency_dhz == 55
    assert drv.set_rapid_pulses(1200).n_pulses == 1200
    assert drv.set_rapid_duration(21.8).duration_s == pytest.approx(21.8)
    assert em.commands()[-6:] == [b"B0055", b"\\@", b"D01200", b"\\@", b"[0218", b"\\@"]
    assert drv.rapid_parameters().n_pulses == 1200
    with pytest.raises(ValueError):
        drv.set_rapid_pulses(6001)


@pytest.mark.parametrize("code, message", [(None, "needs the unit's unlock code"),
                                           ("WRONG", "refused the unlock code")])
def test_rapid_without_the_right_unlock_code_says_what_is_missing(bench, code, message):  # noqa: F811
    em = bench.emulator("rapid", unlock_code="7Q2K")
    drv = bench.driver(em.serve_pty(), model="rapid", unlock_code=code)
    with pytest.raises(StimulatorRefused, match=message):
        drv.connect()
    assert not em.unit.remote


def test_rapid_before_v9_uses_4_digit_pulses_and_no_code(bench):  # noqa: F811
    em, drv, _ = connected(bench, "rapid", version=(8, 2, 0))
    assert drv.set_rapid_pulses(300).n_pulses == 300 and b"D0300" in em.commands()


# ----- what a real line does ------------------------------------------------------------------------
def test_noise_before_a_reply_is_skipped(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    em.inject_garbage(b"\x00\xff\x13\x80", before_next_reply=True)
    assert drv.set_power(40).power_a_pct == 40
    assert drv.garbage_bytes >= 4


def test_noise_that_looks_like_a_reply_fails_its_checksum_and_the_read_is_retried(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    em.unit.power_a = 80
    em.inject_garbage(b"J\x8a099000000Z", before_next_reply=True)   # a fake 'J@' reply, bad sum
    assert drv.status().power_a_pct == 80


def test_a_garbled_reply_to_fire_is_never_retried(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    drv.arm()
    advance_with_keepalive(bench.clock, em, 1.0)
    drv.keepalive.stop()
    em.inject_garbage(b"E\x00", before_next_reply=True)          # echo + wrong bytes
    with pytest.raises(p.MagstimReplyError):
        drv.fire()
    assert em.unit.pulses == 1                       # fired once: a second EH would fire again


@pytest.mark.safety(hazard="stimulator",
                    control="a Magstim that stops answering is reported lost and a disarm (EA) is written to it")
def test_a_silent_unit_loses_the_link_attempts_a_disarm_and_stays_lost(bench):  # noqa: F811
    faults = []
    em, drv, _ = connected(bench, timeout_s=1.0, on_fault=faults.append)
    drv.arm()
    drv.keepalive.stop()
    em.stall()
    with pytest.raises(StimulatorLinkLost, match="no reply from the Magstim 200²"):
        drv.status()
    assert len(faults) == 1 and "no reply" in faults[0]
    wait_for(lambda: p.frame(b"EA") in em.unit.ignored, "the disarm attempt on the line")
    with pytest.raises(StimulatorLinkLost):
        drv.fire()
    status = drv.disarm()                            # never raises
    assert not status.connected and "no reply" in status.fault
    drv.close()
    drv.close()


def test_the_keepalive_notices_a_silent_unit_without_any_user_action(bench):  # noqa: F811
    faults = []
    em, drv, _ = connected(bench, timeout_s=1.0, on_fault=faults.append)
    em.stall()
    wait_for(lambda: faults, "the keep-alive to report the silent unit")
    assert not drv.keepalive.running
    with pytest.raises(StimulatorLinkLost):
        drv.status()


def test_a_pulled_cable_is_a_clear_error_and_close_never_raises(bench):  # noqa: F811
    faults = []
    em, drv, _ = connected(bench, on_fault=faults.append)
    drv.keepalive.stop()
    em.unplug()
    with pytest.raises(StimulatorLinkLost, match="Magstim"):
        drv.status()
    assert faults
    assert not drv.disarm().connected
    drv.close()


def test_opening_a_missing_port_names_it(bench):  # noqa: F811
    drv = bench.driver("/dev/ttyNOSUCHMAGSTIM")
    with pytest.raises(StimulatorError, match="cannot open /dev/ttyNOSUCHMAGSTIM: no such port"):
        drv.connect()
    drv.close()


@pytest.mark.safety(hazard="stimulator",
                    control="connecting and 40+ status polls put no arm (EB) or fire (EH) byte on the wire")
def test_the_driver_never_arms_or_fires_on_its_own(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    drv.set_power(60)
    wait_for(lambda: drv.keepalive.polls >= 40, "40 keep-alive polls")
    for _ in range(5):
        drv.status()
    drv.close()
    sent = em.commands()
    assert sent.count(b"J@") >= 40
    assert b"EB" not in sent and b"EH" not in sent and em.unit.pulses == 0
    assert sent[-2:] == [b"EA", b"R@"] and not em.unit.remote   # close: disarm, release


def test_over_tcp(bench):  # noqa: F811
    em = bench.emulator("200")
    drv = bench.driver(f"socket://127.0.0.1:{em.serve_tcp(0)}")
    assert drv.connect().remote_control
    assert drv.set_power(33).power_a_pct == 33


def test_close_before_connect_and_twice_never_raises():
    drv = MagstimDriver("/dev/ttyNOSUCHMAGSTIM")
    drv.close()
    drv.close()
    with pytest.raises(StimulatorError, match="not connected"):
        drv.fire()


def test_reconnecting_after_a_silent_unit_answers_again(bench):  # noqa: F811
    em, drv, _ = connected(bench, timeout_s=1.0)
    drv.keepalive.stop()
    em.stall()
    with pytest.raises(StimulatorLinkLost):
        drv.status()
    em.resume()
    status = drv.connect()
    assert status.connected and status.remote_control and drv.keepalive.running
    assert drv.set_power(20).power_a_pct == 20


def test_a_question_mark_in_the_noise_is_not_taken_for_the_units_unknown_command(bench):  # noqa: F811
    em, drv, _ = connected(bench)
    em.inject_garbage(b"\x13?\x80?", before_next_reply=True)
    assert drv.set_power(45).power_a_pct == 45


def test_the_wrong_model_is_named_in_the_message(bench):  # noqa: F811
    em = bench.emulator("200")
    drv = bench.driver(em.serve_pty(), model="rapid", unlock_code="1234")
    with pytest.raises(StimulatorError, match=r"does not know the command \(Magstim Rapid², model right\?\)"):
        drv.connect()


def test_rapid_enhanced_power_allows_110_percent_and_leaving_it_lowers_the_power(bench):  # noqa: F811
    em, drv, _ = connected(bench, "rapid", version=(8, 0, 0))
    with pytest.raises(ValueError, match="0-100"):
        drv.set_power(105)
    assert drv.set_enhanced_power(True).rapid.enhanced_power
    assert drv.set_power(105).power_a_pct == 105
    params = drv.set_enhanced_power(False)
    assert not params.rapid.enhanced_power and params.power_pct == 100 == em.unit.power_a


def test_the_unlock_code_never_appears_in_a_message(bench):  # noqa: F811
    faults = []
    em, drv, _ = connected(bench, "rapid", unlock_code="S3CR3T", on_fault=faults.append)
    drv.keepalive.stop()
    em.stall()
    with pytest.raises(StimulatorLinkLost) as lost:
        drv._transact(p.enable_remote_body("S3CR3T"))   # as when reconnecting
    assert "S3CR3T" not in str(lost.value) and "unlock code" in str(lost.value)
    assert not any("S3CR3T" in f for f in faults)


def test_a_dropped_tcp_connection_loses_the_link(bench):  # noqa: F811
    em = bench.emulator("200")
    drv = bench.driver(f"socket://127.0.0.1:{em.serve_tcp(0)}")
    drv.connect()
    drv.keepalive.stop()
    em.unplug()
    with pytest.raises(StimulatorLinkLost, match="Magstim"):
        drv.status()
    drv.close()


def test_at_the_real_line_rate_replies_take_at_least_their_wire_time(bench):  # noqa: F811
    """A lower bound only (a loaded machine is only slower): 20 status reads (J@ 3 + 12 bytes,
    F@ 3 + 9 bytes) need at least 20 x 27 bytes x 10 bits / 9600 bps = 0.56 s."""
    em = bench.emulator("200", line_rate_bps=9600)
    drv = bench.driver(em.serve_pty())
    drv.connect()
    drv.keepalive.stop()
    start = time.monotonic()
    for _ in range(20):
        drv.status()
    assert time.monotonic() - start >= 20 * 27 * 10 / 9600
