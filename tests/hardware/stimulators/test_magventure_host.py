"""Any host written to the published MagPro protocol drives our emulator, not only our driver.

The host here is written from the protocol description's frame table alone: its own bit-by-bit
CRC (not tmsnav's table), literal example frames, a frame reader that scans for 0xFE, and a
second host in the style of simple MATLAB libraries that reads a fixed number of bytes after each
command. None of tmsnav's framing or message code is used to talk to the unit."""

from __future__ import annotations

import time

import pytest
import serial

from tmsnav.hardware.stimulators.magventure import MagProEmulator

from tests.hardware.stimulators.magventure_helpers import WAIT_S


def crc_bitwise(data: bytes) -> int:
    """Dallas/Maxim CRC-8, x^8 + x^5 + x^4 + 1, LSB first: shift in each bit by hand."""
    crc = 0
    for byte in data:
        for bit in range(8):
            mix = (crc ^ (byte >> bit)) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
    return crc


def frame(*payload: int) -> bytes:
    return bytes([0xFE, len(payload), *payload, crc_bitwise(bytes(payload)), 0xFF])


class Host:
    """A minimal independent host: write frames, read whole frames by scanning."""

    def __init__(self, port: str) -> None:
        self.ser = serial.serial_for_url(port, baudrate=38400, timeout=0.05)
        self.buf = bytearray()

    def read_frame(self) -> bytes:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            i = self.buf.find(0xFE)
            if i >= 0 and len(self.buf) >= i + 2 and len(self.buf) >= i + self.buf[i + 1] + 4:
                n = self.buf[i + 1]
                raw = bytes(self.buf[i:i + n + 4])
                del self.buf[:i + n + 4]
                assert raw[-1] == 0xFF and crc_bitwise(raw[2:2 + n]) == raw[2 + n], raw.hex()
                return raw[2:2 + n]
            self.buf += self.ser.read(64)
        raise AssertionError("no frame from the unit")

    def until(self, message_id: int) -> list[bytes]:
        """Frames up to and including the first with ``message_id`` (unsolicited ones included)."""
        got = []
        while True:
            got.append(self.read_frame())
            if got[-1][0] == message_id:
                return got


@pytest.fixture
def unit():
    em = MagProEmulator(serial_number=0x01E240, coil_type=72, amplitude_a=0)
    em.serve_pty()
    yield em
    em.stop()


def test_an_independent_host_runs_a_session_from_the_frame_table(unit):
    host = Host(unit.url)
    try:
        host.ser.write(bytes.fromhex("FE 01 00 00 FF"))                 # get status, literal from the table
        status = host.until(0)[-1]
        assert len(status) == 9
        assert status[2] << 16 | status[3] << 8 | status[4] == 0x01E240 and status[6] == 72
        assert status[1] >> 4 & 1 == 0                                    # disabled

        host.ser.write(bytes.fromhex("FE 02 01 32 C6 FF"))              # amplitude A = 50 %
        amp = host.until(1)[-1]
        assert amp[:2] == bytes([1, 50])
        host.ser.write(bytes.fromhex("FE 02 02 01 CF FF"))              # enable
        enabled = host.until(3)[-1]
        assert enabled[3] >> 4 & 1 == 1 and enabled[2] == 72

        host.ser.write(bytes.fromhex("FE 02 03 01 0B FF"))              # fire, the two-byte variant
        pulse = host.until(2)[-1]
        assert pulse[1] == 75 and pulse[3] >> 4 & 1 == 1                  # realised dI/dt A/us at 50 %
        host.ser.write(frame(3))                                          # fire, the one-byte form
        assert host.until(2)[-1][1] == 75

        unit.foot_pedal()                                                 # the pedal, host idle
        assert host.read_frame()[0] == 2

        host.ser.write(frame(1, 40, 20))                                  # amplitude A 40, B 20
        assert host.until(1)[-1][1:3] == bytes([40, 20])
        host.ser.write(bytes.fromhex("FE 01 05 3F FF"))                  # status 2
        status2 = host.until(5)[-1]
        assert len(status2) == 15 and status2[7:9] == bytes([40, 20]) and status2[14] == 0
        host.ser.write(bytes.fromhex("FE 02 02 00 91 FF"))              # disable
        assert host.until(3)[-1][3] >> 4 & 1 == 0
    finally:
        host.ser.close()
    assert [c.id for c in unit.received] == [0, 1, 2, 3, 3, 1, 5, 2]


def test_a_fixed_length_host_works_while_nothing_is_pushed(unit):
    """Hosts that read 13 bytes after get status and 8 after set amplitude (as simple libraries do)
    get exactly that from the emulator: replies carry no padding and no extra frames."""
    ser = serial.serial_for_url(unit.url, baudrate=38400, timeout=WAIT_S)
    try:
        ser.write(frame(0))
        reply = ser.read(13)
        assert len(reply) == 13 and reply[0] == 0xFE and reply[1] == 9 and reply[-1] == 0xFF
        ser.write(frame(1, 30))
        reply = ser.read(8)
        assert reply[:4] == bytes([0xFE, 4, 1, 30]) and reply[-1] == 0xFF
        ser.timeout = 0.05
        assert ser.read(1) == b""                 # nothing more came
    finally:
        ser.close()


def test_a_host_that_sends_a_broken_frame_finds_the_unit_hung_until_restarted(unit):
    host = Host(unit.url)
    try:
        host.ser.write(bytes.fromhex("FE 02 01 32 C7 FF"))              # CRC off by one
        host.ser.write(frame(0))
        host.ser.timeout = 0.2
        assert host.ser.read(13) == b""
        unit.restart()
        host.ser.timeout = 0.05
        host.ser.write(frame(0))
        assert host.until(0)[-1][0] == 0
    finally:
        host.ser.close()
