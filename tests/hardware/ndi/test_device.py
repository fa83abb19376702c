"""The emulated NDI device's state machine, command by command (no transport, fake clock)."""

import numpy as np
import pytest

from tmsnav.hardware.ndi.bx import decode_bx
from tmsnav.hardware.ndi.commands import encode_command, parse_ascii_reply
from tmsnav.hardware.ndi.crc import crc16_hex
from tmsnav.hardware.ndi.device import EmulatedDevice
from tmsnav.hardware.ndi.replies import HandleState, decode_phsr
from tmsnav.hardware.ndi.rom import build_tool_definition, upload_chunks
from tmsnav.hardware.ndi.tx import decode_tx

SQUARE_MM = np.array([[0, 0, 0], [50, 0, 0], [0, 70, 0], [40, 90, 0]], dtype=float)


class StaticPoses:
    """Known truth: fixed poses, optionally one tool hidden."""

    def __init__(self, hidden=()):
        self.hidden = set(hidden)

    def poses_at(self, t_s):
        poses = {}
        for i, name in enumerate(("reference", "pointer", "coil", "TMS-COIL-2")):
            pose = np.eye(4)
            pose[:3, 3] = (10.0 * i, -5.0 * i, -1500.0 + i)
            poses[name] = None if name in self.hidden else pose
        return poses


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def send(device, name, params=""):
    return device.handle_line(encode_command(name, params)[:-1])


def payload(device, name, params=""):
    return parse_ascii_reply(send(device, name, params))


def ready_device(**kwargs):
    clock = FakeClock()
    device = EmulatedDevice(StaticPoses(kwargs.pop("hidden", ())), noise_mm=0, noise_rad=0,
                            clock=clock, **kwargs)
    assert send(device, "INIT") == b"OKAYA896\r"
    for handle, _ in decode_phsr(payload(device, "PHSR", "02")):
        assert payload(device, "PINIT", f"{handle:02X}") == "OKAY"
    for handle, _ in decode_phsr(payload(device, "PHSR", "03")):
        assert payload(device, "PENA", f"{handle:02X}D") == "OKAY"
    return device, clock


def test_errors_come_in_the_device_order():
    device = EmulatedDevice(StaticPoses())
    assert payload(device, "PHSR", "00") == "ERROR10"              # before INIT
    assert payload(device, "FOO") == "ERROR01"                     # unknown beats not-initialised
    assert device.handle_line(b"INIT:E3A6") == b"ERROR04" + crc16_hex("ERROR04").encode() + b"\r"
    assert payload(device, "BX", "0801") == "ERROR10"
    assert send(device, "INIT") == b"OKAYA896\r"
    assert payload(device, "BX", "0801") == "ERROR0C"              # not tracking yet
    assert payload(device, "PENA", "01D") == "ERROR0E"             # not initialised
    assert payload(device, "PINIT", "09") == "ERROR08"             # no such handle
    assert payload(device, "PINIT", "zz") == "ERROR08"
    assert payload(device, "PINIT", "01") == "OKAY"
    assert payload(device, "PENA", "01X") == "ERROR09"             # bad mode letter
    assert payload(device, "PDIS", "01") == "ERROR0F"              # not enabled
    assert payload(device, "PHSR", "7") == "ERROR07"
    assert payload(device, "TSTART") == "OKAY"
    assert payload(device, "PINIT", "02") == "ERROR0C"             # set-up command while tracking
    assert payload(device, "BX", "0803") == "ERROR23"              # reply option not supported


def test_lower_case_handles_and_crc_over_the_bytes_as_received():
    device = EmulatedDevice(StaticPoses())
    send(device, "INIT")
    line = b"PINIT:0c"
    assert parse_ascii_reply(device.handle_line(line + crc16_hex(line).encode())) == "ERROR08"
    for line in (b"pinit:01", b"PENA:01d"):       # lower-case name and mode letter
        assert parse_ascii_reply(device.handle_line(line + crc16_hex(line).encode())) == "OKAY"
    assert payload(device, "PHSR", "04") == "01" "01031"


def test_phsr_lists_follow_the_setup_order():
    device = EmulatedDevice(StaticPoses())
    send(device, "INIT")
    assert payload(device, "PHSR", "01") == "00"
    assert decode_phsr(payload(device, "PHSR", "02")) == [(1, 0x001), (2, 0x001), (3, 0x001)]
    send(device, "PINIT", "02")
    assert decode_phsr(payload(device, "PHSR", "03")) == [(2, 0x011)]
    send(device, "PENA", "02D")
    assert decode_phsr(payload(device, "PHSR", "04")) == [(2, 0x031)]
    assert decode_phsr(payload(device, "PHSR", "00")) == [(1, 0x001), (2, 0x031), (3, 0x001)]


def test_comm_switches_after_answering_and_break_resets():
    device = EmulatedDevice(StaticPoses())
    send(device, "INIT")
    assert send(device, "COMM", "50000") == b"OKAYA896\r" and device.baud == 115200
    assert payload(device, "COMM", "90000") == "ERROR06"
    assert payload(device, "COMM", "5000") == "ERROR07"
    assert device.on_break() == b"RESETBE6F\r"
    assert device.baud == 9600 and not device.initialized and device.ports == {}


def test_ver_reply_has_freeze_tag_and_no_inner_cr():
    device = EmulatedDevice(StaticPoses(), model="spectra")
    reply = send(device, "VER", "0")
    assert b"\r" not in reply[:-1]
    assert "Freeze Tag: Polaris Spectra Rev 007" in parse_ascii_reply(reply).split("\n")


def test_rom_upload_loads_a_passive_tool_and_garbage_gets_error40():
    device, _ = ready_device()
    rom = build_tool_definition(SQUARE_MM, part_number="TMS-COIL-2")
    handle = payload(device, "PHRQ", "*********1****")
    assert handle == "04"
    for address, chunk in upload_chunks(rom):
        assert payload(device, "PVWR", f"{handle}{address:04X}{chunk}") == "OKAY"
    assert payload(device, "PINIT", handle) == "OKAY"
    assert payload(device, "PENA", handle + "D") == "OKAY"
    assert payload(device, "PHINF", handle + "0004").strip() == "TMS-COIL-2"
    # a ROM whose checksum is wrong: accepted chunk by chunk, refused at PINIT
    bad = bytearray(rom)
    bad[100] ^= 0xFF
    h2 = payload(device, "PHRQ", "*********1****")
    for address, chunk in upload_chunks(bytes(bad)):
        payload(device, "PVWR", f"{h2}{address:04X}{chunk}")
    assert payload(device, "PINIT", h2) == "ERROR40"
    # plain garbage: refused at the first chunk
    h3 = payload(device, "PHRQ", "*********1****")
    assert payload(device, "PVWR", f"{h3}0000" + "AB" * 64) == "ERROR40"
    assert payload(device, "PVWR", f"{h3}0010" + "AB" * 64) == "ERROR23"   # not a 64-byte step
    # too few markers -> tool characteristics not supported
    two = bytearray(rom)
    two[28] = 2
    two[4:6] = (sum(two[6:]) & 0xFFFF).to_bytes(2, "little")
    h4 = payload(device, "PHRQ", "*********1****")
    for address, chunk in upload_chunks(bytes(two)):
        payload(device, "PVWR", f"{h4}{address:04X}{chunk}")
    assert payload(device, "PINIT", h4) == "ERROR41"


def test_frame_number_advances_at_the_device_rate_and_is_shared_by_tools():
    device, clock = ready_device(rate_hz=60.0, start_frame=1000)
    send(device, "TSTART")
    first = decode_bx(send(device, "BX", "0801"))
    assert {h.frame_number for h in first.handles} == {1000}
    again = decode_bx(send(device, "BX", "0801"))          # polled within the same camera frame
    assert again == first
    clock.t += 0.5
    later = decode_bx(send(device, "BX", "0801"))
    assert {h.frame_number for h in later.handles} == {1030}
    numbers = []
    for _ in range(20):
        clock.t += 0.007
        numbers.append(decode_bx(send(device, "BX", "0801")).frame_number)
    assert numbers == sorted(numbers) and numbers[-1] - 1030 == int(20 * 0.007 * 60 + 1e-9)


def test_bx_reply_has_nothing_before_the_start_or_after_the_crc():
    device, _ = ready_device()
    send(device, "TSTART")
    reply = send(device, "BX", "0801")
    assert reply[:2] == b"\xc4\xa5" and len(reply) == int.from_bytes(reply[2:4], "little") + 8
    frame = decode_bx(reply)
    assert [h.handle for h in frame.handles] == [1, 2, 3]
    np.testing.assert_allclose(frame.handles[2].translation_mm, (20.0, -10.0, -1498.0))


def test_conditions_map_to_states_and_port_status_bits():
    device, _ = ready_device(hidden=("pointer",))
    send(device, "TSTART")
    device.set_condition("coil", "out_of_volume")
    frame = decode_bx(send(device, "BX", "0801"))
    assert frame.handles[1].state is HandleState.MISSING                   # pose source says None
    assert frame.handles[2].state is HandleState.VALID and frame.handles[2].port_status == 0x71
    hidden = decode_bx(send(device, "BX", "0001"), options=0x0001)         # without 0800
    assert hidden.handles[2].state is HandleState.MISSING and hidden.handles[2].port_status == 0x71
    device.set_condition("coil", "partially_in_volume")
    device.set_condition("reference", "disabled")
    tx = decode_tx(send(device, "TX", "0801"))
    assert tx.handles[0].state is HandleState.DISABLED
    assert tx.handles[2].port_status == 0xB1
    with pytest.raises(ValueError):
        device.set_condition("coil", "exploded")


def test_exactly_one_reply_per_command():
    device, _ = ready_device()
    for name, params in [("VER", "0"), ("PHSR", "00"), ("XYZ", ""), ("TSTART", ""),
                         ("BX", "0801"), ("TX", "0801"), ("TSTOP", "")]:
        reply = send(device, name, params)
        if reply[:2] == b"\xc4\xa5":
            assert len(reply) == int.from_bytes(reply[2:4], "little") + 8
        else:
            assert reply.count(b"\r") == 1 and reply.endswith(b"\r")
