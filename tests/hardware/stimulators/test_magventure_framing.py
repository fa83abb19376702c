"""MagPro framing and messages: the published example frames and CRC check value, the scanner's
resynchronisation on garbage, and every message round trip."""

from __future__ import annotations

import numpy as np
import pytest

from tmsnav.hardware.stimulators.magventure import messages as m
from tmsnav.hardware.stimulators.magventure.framing import (FrameError, FrameScanner, crc8_maxim, decode_frame,
                                                            encode_frame)

# (payload, frame) exactly as printed in the protocol description's example table
PUBLISHED = [
    ("get status", m.cmd_get_status(), "FE 01 00 00 FF"),
    ("set amplitude A 50", m.cmd_set_amplitude(50), "FE 02 01 32 C6 FF"),
    ("set amplitude A 50 B 60", m.cmd_set_amplitude(50, 60), "FE 03 01 32 3C 0A FF"),
    ("enable", m.cmd_set_enabled(True), "FE 02 02 01 CF FF"),
    ("disable", m.cmd_set_enabled(False), "FE 02 02 00 91 FF"),
    ("single pulse", m.cmd_fire(), "FE 01 03 E2 FF"),
    ("single pulse, other driver", bytes([3, 1]), "FE 02 03 01 0B FF"),
    ("start train", m.cmd_start_train(), "FE 01 04 61 FF"),
    ("get status 2", m.cmd_get_status2(), "FE 01 05 3F FF"),
]


def test_crc8_maxim_check_value():
    assert crc8_maxim(b"123456789") == 0xA1
    assert crc8_maxim(b"") == 0


@pytest.mark.parametrize("name,payload,frame", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_example_frames(name, payload, frame):
    assert encode_frame(payload) == bytes.fromhex(frame)
    assert decode_frame(bytes.fromhex(frame)) == payload


def test_a_crc_that_is_not_reflected_or_has_an_init_is_caught_by_the_examples():
    """The mistakes people make with CRC-8 (plain 0x31 MSB-first, or init 0xFF) give other bytes."""
    def crc_msb_first(data: bytes, init: int = 0) -> int:
        crc = init
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        return crc
    assert crc_msb_first(bytes([1, 0x32])) != 0xC6
    assert crc8_maxim(bytes([1, 0x32])) == 0xC6


@pytest.mark.parametrize("bad,why", [
    ("FE 02 01 32 C7 FF", "CRC"), ("FE 02 01 32 C6 FE", "0xFF"), ("FE 03 01 32 C6 FF", "length"),
    ("FD 02 01 32 C6 FF", "0xFE"), ("FE 00 00 FF", "0xFE")])
def test_decode_frame_names_the_failed_check(bad, why):
    with pytest.raises(FrameError, match=why):
        decode_frame(bytes.fromhex(bad))


def _status(**kw) -> m.MagProStatus:
    return m.MagProStatus(m.StatusByte(2, 1, True, 1), 0x123456, 31, 60, kw.get("a", 55), kw.get("b", 44))


MESSAGES = [
    _status(),
    m.MagProStatus2(_status(), 50, 40, 110, 100, 8, True),
    m.AmplitudeChanged(63, 0, m.StatusByte(0, 1, False, 0)),
    m.PulseDelivered(95, 0, m.StatusByte(0, 1, True, 0)),
    m.EnableChanged(38, 72, m.StatusByte(0, 0, True, 3)),
    m.MepResult(412, -385, 23500),
    m.PageChanged(2, True, m.StatusByte(0, 1, True, 0)),
    m.ModeInfo(1, 2, 1, 3, 2, 0x0105, 80),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=[type(x).__name__ for x in MESSAGES])
def test_every_message_round_trips_with_its_documented_length(msg):
    payload = msg.encode()
    assert len(payload) == m.REPLY_LENGTHS[payload[0]]
    assert m.decode_message(decode_frame(encode_frame(payload))) == msg


def test_status_byte_bits_as_documented():
    """bits 0-1 mode, 2-3 waveform, 4 enabled, 5-7 model: X100 (1), enabled, Half sine (2), Twin (2)."""
    byte = 0b001_1_10_10
    sb = m.StatusByte.decode(byte)
    assert (sb.model_name, sb.enabled, sb.waveform_name, sb.mode_name) == ("X100", True, "Half sine", "Twin")
    assert sb.encode() == byte
    assert not m.StatusByte.decode(0b1110_1111).enabled


def test_mep_minimum_stays_negative_and_peak_to_peak_adds():
    msg = m.decode_message(m.MepResult(250, -300, 21000).encode())
    assert isinstance(msg, m.MepResult) and msg.min_uv == -300 and msg.peak_to_peak_uv == 550


@pytest.mark.parametrize("payload,why", [(b"\x06\x00\x00\x00", "unknown"), (b"\x02\x10\x00", "expected 4"),
                                         (b"\x00" * 8, "expected 9")])
def test_unknown_or_short_messages_are_refused(payload, why):
    with pytest.raises(m.MessageError, match=why):
        m.decode_message(payload)


@pytest.mark.parametrize("value", [101, -1, 50.5, True])
def test_amplitude_commands_refuse_what_the_unit_cannot_take(value):
    with pytest.raises(ValueError, match="whole percent"):
        m.cmd_set_amplitude(value)


# ----- scanner -----------------------------------------------------------------------------------
def _frames() -> list[bytes]:
    return [msg.encode() for msg in MESSAGES]


def test_scanner_takes_frames_split_anywhere():
    wire = b"".join(encode_frame(p) for p in _frames())
    for cut in range(1, 7):
        sc = FrameScanner()
        got = []
        for i in range(0, len(wire), cut):
            sc.feed(wire[i:i + cut])
            got += sc.payloads()
        assert got == _frames()
        assert sc.counters.skipped_bytes == 0


def test_scanner_resyncs_on_garbage_between_frames_and_counts_it():
    rng = np.random.default_rng(7)
    payloads = _frames() * 5
    wire = bytearray()
    garbage = 0
    for p in payloads:
        junk = rng.integers(0, 256, int(rng.integers(0, 12)), dtype=np.uint8).tobytes()
        wire += junk + encode_frame(p)
        garbage += len(junk)
    sc = FrameScanner()
    sc.feed(bytes(wire))
    assert sc.payloads() == payloads
    assert sc.counters.skipped_bytes == garbage


def test_a_stray_start_byte_with_a_plausible_length_does_not_hold_back_the_next_frame():
    """0xFE 0x14 claims 20 payload bytes; the pulse frame right behind it must come out now,
    not after 20 more bytes arrive (which may be never: the unit is idle)."""
    pulse = m.PulseDelivered(90, 0, m.StatusByte(enabled=True)).encode()
    sc = FrameScanner()
    sc.feed(b"\xfe\x14\x01" + encode_frame(pulse))
    assert sc.payloads() == [pulse]
    assert sc.counters.skipped_bytes == 3


def test_a_frame_with_a_broken_crc_is_dropped_not_decoded():
    good = m.AmplitudeChanged(50, 0, m.StatusByte()).encode()
    bad = bytearray(encode_frame(m.AmplitudeChanged(90, 0, m.StatusByte()).encode()))
    bad[3] ^= 0x01   # one bit flipped on the line: 90 % would read as 91 %
    sc = FrameScanner()
    sc.feed(bytes(bad) + encode_frame(good))
    assert sc.payloads() == [good]
    assert sc.counters.rejected_candidates >= 1


def test_scanner_keeps_only_the_newest_bytes_when_nobody_reads():
    sc = FrameScanner(max_buffer=64)
    sc.feed(b"\x00" * 200)
    assert sc.buffered <= 64
