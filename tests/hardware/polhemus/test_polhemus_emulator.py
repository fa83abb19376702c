"""The emulator's answers byte for byte, read with plain pyserial over a pty."""

import struct
import time

import numpy as np
import pytest
import serial

from tmsnav.hardware.polhemus import PolhemusDevice, PolhemusEmulator
from tmsnav.hardware.polhemus.records import RecordFormat


@pytest.fixture
def fastrak():
    em = PolhemusEmulator("fastrak", stations=(1, 3))
    port = serial.Serial(em.serve_pty(), 115200, timeout=0.5)
    yield em, port
    port.close()
    em.stop()


def test_status_record_flags_follow_the_settings(fastrak):
    _, port = fastrak
    port.write(b"S")
    rec = port.read(55)
    assert len(rec) == 55 and rec[:3] == b"21S" and rec.endswith(b"\r\n")
    assert rec[3:6] == b"3F0"  # ASCII, inches, not continuous (manual table: 3F0)
    assert rec[12:13] == b"5"  # sensor map: stations 1 and 3
    port.write(b"fuS")
    assert port.read(55)[3:6] == b"3F3"  # binary, cm


def test_output_list_and_station_state_read_back(fastrak):
    _, port = fastrak
    port.write(b"O1,2,11,1\r")
    port.write(b"O1\r")
    assert port.read(11) == b"21O 211 1\r\n"
    port.write(b"l3,0\r")
    port.write(b"l1\r")
    assert port.read(9) == b"21l1000\r\n"
    port.write(b"P")  # station 3 is off now: one record, 3 + 21 + 28 + 2 bytes
    assert len(port.read(200)) == 54


def test_invalid_command_gets_an_error_record(fastrak):
    _, port = fastrak
    port.write(b"O9,2,4,1\r")
    assert port.readline() == b"2 E*ERROR*O9,2,4,1*ERROR* EC-3*PS0*FL0*ST8\r\n"
    port.write(b"O1,2,16,1\r")  # stylus item: sizes differ between sources, not emulated
    assert b"EC-3" in port.readline()
    port.write(b"Q\r")
    assert b"EC-99" in port.readline()


def test_continuous_rate_is_shared_by_the_stations(fastrak):
    _, port = fastrak
    port.write(b"fC")
    time.sleep(0.5)
    port.write(b"c")
    time.sleep(0.05)
    data = port.read(100000)
    n = len(data) // 29
    assert len(data) % 29 == 0
    assert 35 <= n <= 65  # 120 Hz in total over 0.5 s, whatever the number of stations
    stations = [data[k * 29 + 1] - 0x30 for k in range(n)]
    assert all(a != b for a, b in zip(stations, stations[1:]))  # 1, 3, 1, 3, ...


def test_baud_change_command_makes_the_old_rate_unreadable(fastrak):
    em, port = fastrak
    port.write(b"o96,N,8,0\r")
    time.sleep(0.05)
    assert em.device.baud == 9600
    port.write(b"S")
    garbled = port.read(200)
    assert garbled and not garbled.startswith(b"2")
    port.baudrate = 9600
    port.reset_input_buffer()
    port.write(b"S")
    assert port.read(55)[:3] == b"21S"


def test_liberty_station_map_and_single_record_bytes():
    em = PolhemusEmulator("liberty", stations=(1, 2))
    pose = np.eye(4)
    pose[:3, 3] = [25.4, 50.8, -76.2]
    em.set_station_pose(1, pose)
    port = serial.Serial(em.serve_pty(), 115200, timeout=0.5)
    try:
        port.write(b"\x150\r")
        assert port.read(12) == b"LY\x00\x15\x00\x00\x04\x00\x03\x00\x03\x00"
        port.write(b"O*,2,7,1\rp")
        rec = port.read(2 * (8 + 12 + 16 + 2))
        assert rec[:8] == b"LY\x01P\x00\x00\x1e\x00"
        assert struct.unpack_from("<7f", rec, 8) == (1.0, 2.0, -3.0, 1.0, 0.0, 0.0, 0.0)
        assert rec[36:38] == b"\r\n" and rec[38:41] == b"LY\x02"
        port.write(b"F0\r")  # ASCII output is not emulated: refused with an error record
        assert port.read(8) == b"LY\x00F\x01\x00\x00\x00"
    finally:
        port.close()
        em.stop()


def test_device_model_without_transport_is_deterministic():
    dev = PolhemusDevice("fastrak", stations=(1, 2), noise_mm=0.5, seed=3)
    dev.receive(b"fC", 0.0)
    out = dev.due_output(0.1)
    assert len(out) == 13 * 29  # slots at 0, 1/120, ..., 12/120 s
    fmt = RecordFormat("fastrak", (2, 4, 1), True)
    assert fmt.length == 29
    again = PolhemusDevice("fastrak", stations=(1, 2), noise_mm=0.5, seed=3)
    again.receive(b"fC", 0.0)
    assert again.due_output(0.1) == out


def test_a_failing_pose_source_flags_stations_instead_of_killing_the_emulator(caplog):
    def broken(t_s):
        raise RuntimeError("scenario bug")

    dev = PolhemusDevice("fastrak", stations=(1,), pose_source=broken)
    with caplog.at_level("ERROR"):
        record = dev.receive(b"P", 0.0)
    assert record[:3] == b"01x"  # out of range, last pose kept
    assert "scenario bug" in caplog.text


def test_unplug_then_plug_in_again_on_a_new_pty():
    from tmsnav.hardware.polhemus import PolhemusTracker

    em = PolhemusEmulator("fastrak")
    try:
        first = em.serve_pty()
        em.unplug()
        with pytest.raises(serial.SerialException):
            serial.Serial(first, 115200)
        tracker = PolhemusTracker(em.serve_pty())
        tracker.connect()
        tracker.start()
        assert len(tracker.read_frames(1.0)) == 1
        tracker.close()
    finally:
        em.stop()
