"""Magstim protocol codec and the emulated unit's state machine, without any port.

The frames of the manufacturer's worked examples are written out here byte for byte; the unit is
driven with a hand-held clock so every timed rule (arming, keep-alive, a minute armed, cooling) is
checked without waiting."""

from __future__ import annotations

import pytest

from tmsnav.hardware.stimulators.magstim import protocol as p
from tmsnav.hardware.stimulators.magstim.unit import MagstimUnit

WORKED_EXAMPLES = [   # (meaning, body, whole frame) from the bulletin's table
    ("enable remote control", b"Q@", b"Q@n"),
    ("disable remote control", b"R@", b"R@m"),
    ("read status + power", b"J@", b"J@u"),
    ("set power 50 %", b"@050", b"@050*"),
    ("arm", b"EB", b"EBx"),
    ("disarm", b"EA", b"EAy"),
    ("fire", b"EH", b"EHr"),
    ("coil temperature", b"F@", b"F@y"),
    ("Rapid parameters", b"\\@", b"\\@c"),
    ("Rapid version", b"ND", b"NDm"),
    ("Rapid error code", b"I@", b"I@v"),
    ("Rapid system status", b"x@", b"x@G"),
]


@pytest.mark.parametrize("meaning, body, expected", WORKED_EXAMPLES, ids=[w[0] for w in WORKED_EXAMPLES])
def test_worked_example_frames_match_byte_for_byte(meaning, body, expected):
    assert p.frame(body) == expected
    assert p.frame_ok(expected)


def test_checksum_is_the_inverted_low_byte_of_the_sum_not_a_crc_or_xor():
    assert p.checksum(b"") == 0xFF
    assert p.checksum(bytes([0xFF, 0x01])) == 0xFF      # 0x100: low byte 0, inverted 0xFF
    assert p.checksum(b"@100") == p.checksum(b"@001")   # a sum: blind to byte order (its weakness)
    assert not p.frame_ok(b"Q@m")


def test_command_builders_and_their_mistakes():
    assert p.set_power_body(5) == b"@005"
    assert p.set_power_body(100, "B") == b"A100"
    assert p.enable_remote_body("7Q2K9") == b"Q7Q2K9"
    with pytest.raises(ValueError):
        p.set_power_body(1000)
    with pytest.raises(ValueError):
        p.set_power_body(-1)
    with pytest.raises(ValueError):
        p.enable_remote_body("12 4")


def test_status_byte_bits_in_the_bulletins_order():
    s = p.InstrumentStatus.from_byte(0b1000_1110)
    assert (s.standby, s.armed, s.ready, s.coil_present, s.remote) == (False, True, True, True, True)
    assert s.to_byte() == 0b1000_1110 and s.fault() is None
    assert p.InstrumentStatus.from_byte(0b0110_1000).fault() == "the Magstim reports a fatal error"
    assert p.InstrumentStatus.from_byte(0b0000_0001).fault() == "no coil connected to the Magstim"
    r = p.RapidStatus.from_byte(0b0000_1001)
    assert r.enhanced_power and r.single_pulse_mode and r.to_byte() == 0b0000_1001
    for value in range(256):            # every byte survives the round trip, bit for bit
        assert p.InstrumentStatus.from_byte(value).to_byte() == value
        assert p.RapidStatus.from_byte(value).to_byte() == value
    assert p.RapidStatus(modified_coil_algorithm=True, single_pulse_mode=False,
                         hv_psu_connected=False, coil_ready=False).to_byte() == 0b1000_0000


def test_parameter_and_temperature_replies_parse_and_bad_ones_are_refused():
    status = 0b1000_1000
    reply = p.frame(b"J" + bytes([status]) + b"055000000")
    assert len(reply) == p.reply_length(b"J@", "200") == 12
    s, a, b, offset = p.parse_parameters(reply)
    assert (s.remote, a, b, offset) == (True, 55, 0, 0)
    t = p.frame(b"F" + bytes([status]) + b"253241")
    assert p.parse_temperature(t)[1:] == (25.3, 24.1)     # tenths of a degree, never degrees
    with pytest.raises(p.MagstimReplyError, match="checksum"):
        p.parse_parameters(reply[:-1] + bytes([reply[-1] ^ 1]))
    with pytest.raises(p.MagstimReplyError, match="echo"):
        p.parse_parameters(p.frame(b"F" + reply[1:-1]))
    with pytest.raises(p.MagstimReplyError, match="digits"):
        p.parse_parameters(p.frame(b"J" + bytes([status]) + b"05X000000"))
    with pytest.raises(p.MagstimReplyError, match="bytes"):
        p.parse_temperature(t[:-2] + t[-1:])


@pytest.mark.parametrize("version, length", [((9, 0, 0), 24), ((8, 1, 0), 22), ((6, 0, 0), 21)])
def test_rapid_parameter_reply_widths_follow_the_software_version(version, length):
    unit = MagstimUnit("rapid", clock=lambda: 0.0, version=version)
    reply = unit.receive(p.frame(b"\\@"))
    assert len(reply) == length == p.reply_length(b"\\@", "rapid", version)
    _, params = p.parse_rapid_parameters(reply, version)
    assert (params.power_pct, params.frequency_hz, params.n_pulses) == (30, 1.0, 10)


def test_version_reply():
    assert p.parse_version(p.frame(b"N9.1.2\x00")) == (9, 1, 2)
    with pytest.raises(p.MagstimReplyError):
        p.parse_version(p.frame(b"N9.x\x00"))


def test_error_replies():
    assert p.error_reply_meaning(b"?") == "the unit does not know the command"
    assert "data" in p.error_reply_meaning(p.frame(b"@?"))
    assert "state" in p.error_reply_meaning(p.frame(b"ES"))
    assert p.error_reply_meaning(p.frame(b"EA" + b"")) is None


# ----- the emulated unit --------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def unit_in_remote(model="200", **kw):
    clock = Clock()
    unit = MagstimUnit(model, clock=clock, **kw)
    assert unit.receive(p.frame(b"Q@"))[:1] == b"Q"
    return unit, clock


def test_without_remote_control_only_reads_are_answered():
    unit = MagstimUnit("200", clock=Clock())
    assert unit.receive(p.frame(b"J@"))[:1] == b"J"
    assert unit.receive(p.frame(b"@050")) == p.frame(b"@S")
    assert unit.receive(p.frame(b"EB")) == p.frame(b"ES")
    assert unit.power_a == 30 and not unit.armed


def test_bad_commands_get_the_three_error_replies():
    unit, _ = unit_in_remote()
    assert unit.receive(b"Z") == b"?"                          # unknown command
    assert unit.receive(b"J@t") == b"?"                        # checksum wrong
    assert unit.receive(p.frame(b"@101")) == p.frame(b"@?")   # out of range
    assert unit.receive(p.frame(b"@1x0")) == p.frame(b"@?")   # not digits
    assert unit.receive(p.frame(b"EZ")) == p.frame(b"E?")
    assert unit.receive(p.frame(b"EH")) == p.frame(b"ES")     # fire while disarmed
    assert unit.pulses == 0


def test_a_200_has_no_output_b_but_a_bistim_does():
    unit, _ = unit_in_remote("200")
    assert unit.receive(p.frame(b"A050")).startswith(b"?")
    bistim, _ = unit_in_remote("bistim")
    assert bistim.receive(p.frame(b"A050"))[:1] == b"A" and bistim.power_b == 50
    assert p.parse_parameters(bistim.receive(p.frame(b"J@")))[2] == 50


def test_arming_takes_a_second_and_a_minute_unfired_disarms():
    unit, clock = unit_in_remote()
    assert unit.receive(p.frame(b"EB"))[:1] == b"E" and unit.armed and not unit.ready
    for _ in range(130):          # keep-alive every 0.5 s for 65 s
        clock.t += 0.5
        status, *_ = p.parse_parameters(unit.receive(p.frame(b"J@")))
        if clock.t == 1.0:
            assert status.ready
        if clock.t < 60.0:
            assert status.armed, clock.t
    assert not unit.armed and unit.events[-1][1] == "disarmed: armed and not fired for a minute"


def test_a_pulse_restarts_the_minute_and_warms_the_coil_with_the_square_of_the_output():
    unit, clock = unit_in_remote(heat_per_pulse_c=1.0)
    unit.receive(p.frame(b"@050"))
    unit.receive(p.frame(b"EB"))
    clock.t = 1.0
    assert unit.receive(p.frame(b"EH"))[:1] == b"E" and unit.pulses == 1
    assert unit.coil_temperature_c() == pytest.approx(24.25)     # 1 degC x 0.5^2
    clock.t = 1.0 + 900.0                                        # one cooling time constant
    assert unit.coil_temperature_c() == pytest.approx(24.0 + 0.25 / 2.718281828, rel=1e-6)


def test_refuses_to_arm_above_40_degC_and_disarms_when_the_coil_gets_there():
    unit, clock = unit_in_remote(heat_per_pulse_c=2.0)
    unit.set_coil_temperature(40.5)
    assert unit.receive(p.frame(b"EB")) == p.frame(b"ES")
    unit.set_coil_temperature(39.0)
    unit.receive(p.frame(b"@100"))
    assert unit.receive(p.frame(b"EB"))[:1] == b"E"
    clock.t = 1.0
    unit.receive(p.frame(b"EH"))                                 # 39 + 2 = 41 degC
    assert not unit.armed and "40 degC" in unit.events[-1][1]


def test_keepalive_rules_one_second_armed_ten_seconds_in_standby():
    unit, clock = unit_in_remote()
    unit.receive(p.frame(b"EB"))
    clock.t = 1.05
    unit.tick()
    assert not unit.armed and unit.remote            # armed: 1 s without a command disarms
    clock.t = 9.9
    unit.tick()
    assert unit.remote                               # standby: 9.9 s is still fine
    clock.t = 10.1
    unit.tick()
    assert not unit.remote                           # > 10 s: out of remote control
    assert unit.receive(p.frame(b"@050")) == p.frame(b"@S")


def test_rapid_v9_needs_its_unlock_code():
    unit = MagstimUnit("rapid", clock=Clock(), unlock_code="A1B2")
    assert unit.receive(p.frame(b"Q@")) == p.frame(b"Q?") and not unit.remote
    assert unit.receive(p.frame(b"QZZZZ")) == p.frame(b"Q?") and not unit.remote
    assert unit.receive(p.frame(b"QA1B2"))[:1] == b"Q" and unit.remote
    old = MagstimUnit("rapid", clock=Clock(), version=(8, 0, 0), unlock_code="A1B2")
    assert old.receive(p.frame(b"Q@"))[:1] == b"Q" and old.remote   # before v9: no code


def test_rapid_parameters_and_enhanced_power():
    unit, _ = unit_in_remote("rapid", version=(8, 0, 0))
    assert len(unit.receive(p.frame(b"B0100"))) == 4 and unit.frequency_dhz == 100
    assert unit.receive(p.frame(b"D0300"))[:1] == b"D" and unit.n_pulses == 300   # 4 digits < v9
    assert unit.receive(p.frame(b"@105")) == p.frame(b"@?")
    unit.receive(p.frame(b"^@"))
    assert unit.receive(p.frame(b"@105"))[:1] == b"@" and unit.power_a == 105
    unit.receive(p.frame(b"_@"))
    assert unit.power_a == 100


COMMANDS = {"200": [b"Q@", b"J@", b"F@", b"@050", b"EB", b"EA", b"R@"],
            "bistim": [b"Q@", b"J@", b"F@", b"@050", b"A040", b"C010", b"EB", b"EA", b"R@"],
            "rapid": [b"Q@", b"\\@", b"F@", b"@050", b"B0100", b"D00300", b"[0050", b"^@", b"_@",
                      b"I@", b"x@", b"EB", b"EA", b"R@"]}


@pytest.mark.parametrize("model", list(COMMANDS))
def test_every_reply_has_the_length_the_host_expects(model):
    """The host's length table (protocol.reply_length) and the unit's replies agree, command by
    command: a disagreement would make a host read half a reply or into the next one."""
    unit = MagstimUnit(model, clock=Clock())          # software 9: 5-digit pulses, 4-digit duration
    for body in COMMANDS[model]:
        reply = unit.receive(p.frame(body))
        assert p.error_reply_meaning(reply) is None, (body, reply)
        assert len(reply) == p.reply_length(body, model, unit.version), (body, reply)
        assert p.frame_ok(reply) and reply[:1] == body[:1]
