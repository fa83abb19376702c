"""Every tracker fault of docs/safety.md injected into the NDI emulator, seen through
NDITracker over a real pty and TCP: the driver must fail safe, count, and recover."""

import os
import threading
import time

import numpy as np
import pytest
import serial

from tmsnav.hardware.errors import ConnectionLost, DeviceError, TrackerConnectionError
from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.ndi.commands import encode_command
from tmsnav.hardware.ndi.driver import NDITracker
from tmsnav.hardware.ndi.emulator import NDIEmulator


class StillTools:
    def poses_at(self, t_s):
        poses = {}
        for i, name in enumerate(("reference", "pointer", "coil")):
            pose = np.eye(4)
            pose[:3, 3] = (10.0 * i, 20.0, -1500.0)
            poses[name] = pose
        return poses


@pytest.fixture
def tracking():
    """``make(kind, reply_format, **emulator_kwargs)`` -> (emulator, started tracker)."""
    made = []

    def make(kind="pty", reply_format="BX", **kwargs):
        emulator = NDIEmulator(StillTools(), noise_mm=0.0, noise_rad=0.0, **kwargs)
        port = (emulator.serve_pty() if kind == "pty"
                else f"socket://127.0.0.1:{emulator.serve_tcp()}")
        tracker = NDITracker(port, reply_format=reply_format, timeout_s=2.0, reset_timeout_s=2.0,
                             interbyte_timeout_s=0.05)
        made.append((emulator, tracker))
        tracker.connect()
        tracker.start()
        assert len(tracker.read_frames(2.0)) == 3
        return emulator, tracker

    yield make
    for emulator, tracker in made:
        tracker.close()
        emulator.stop()


@pytest.mark.safety(hazard="lost-tracker", control="an NDI device unplugged mid-stream raises ConnectionLost quickly")
@pytest.mark.parametrize("kind", ["pty", "tcp"])
def test_unplug_mid_stream_is_detected_quickly_and_close_still_works(tracking, kind):
    emulator, tracker = tracking(kind)
    emulator.stall("silent")                   # the driver is waiting inside read_frames...
    unplugged_at = []
    def pull_cable():
        unplugged_at.append(time.monotonic())
        emulator.unplug()

    timer = threading.Timer(0.05, pull_cable)
    timer.start()
    with pytest.raises(ConnectionLost, match="lost the connection"):
        tracker.read_frames(2.0)
    detected = time.monotonic() - unplugged_at[0]
    timer.join()
    assert detected <= 0.25
    assert [f.status for f in tracker.latest_frames()] == [ToolStatus.DISCONNECTED] * 3
    assert all(f.tracker_from_tool is None for f in tracker.latest_frames())
    assert not tracker.is_connected
    with pytest.raises(ConnectionLost):
        tracker.read_frames(0.1)
    tracker.close()
    tracker.close()


def test_unplug_between_polls(tracking):
    emulator, tracker = tracking("pty")
    emulator.unplug()
    t0 = time.monotonic()
    with pytest.raises(ConnectionLost):
        tracker.read_frames(1.0)
    assert time.monotonic() - t0 <= 0.25
    tracker.close()


def test_reconnect_after_replug_reruns_the_setup(tracking):
    emulator, tracker = tracking("tcp")
    port = int(tracker.port.rsplit(":", 1)[1])
    emulator.unplug()
    with pytest.raises(ConnectionLost):
        tracker.read_frames(1.0)
    assert emulator.device.tracking                   # the camera itself kept tracking
    emulator.serve_tcp(port)                          # cable back in; the user presses reconnect
    before = len(emulator.device.commands)
    tracker.connect()                                 # INIT -> ERROR0C -> TSTOP -> INIT, tools again
    assert emulator.device.commands[before:before + 4] == ["INIT:", "TSTOP:", "INIT:", "VER:0"]
    tracker.start()
    assert [f.status for f in tracker.read_frames(2.0)] == [ToolStatus.OK] * 3


@pytest.mark.parametrize("reply_format", ["BX", "TX"])
def test_noise_before_a_reply_is_skipped(tracking, reply_format):
    emulator, tracker = tracking("pty", reply_format)
    emulator.inject_garbage(b"\x01\xff\xc4\xa5\x00\x13\x80junk")
    frames = tracker.read_frames(2.0)
    assert [f.status for f in frames] == [ToolStatus.OK] * 3
    assert tracker.stats.bytes_discarded >= 7
    np.testing.assert_allclose(frames[2].position_mm, (20.0, 20.0, -1500.0), atol=6e-3)


@pytest.mark.safety(hazard="bad-bytes", control="garbage instead of an NDI reply is dropped and counted")
@pytest.mark.parametrize("reply_format", ["BX", "TX"])
def test_garbage_instead_of_a_reply_is_dropped_and_counted(tracking, reply_format):
    emulator, tracker = tracking("pty", reply_format)
    emulator.inject_garbage(b"\xc4\xa5\x10\x00\x99\x98garbage\r", replace=True)
    frames = tracker.read_frames(2.0)
    assert [f.status for f in frames] == [ToolStatus.OK] * 3      # the next poll resynchronised
    assert tracker.stats.frames_dropped == 1


@pytest.mark.safety(hazard="bad-bytes", control="an NDI reply with a bad CRC never gives a pose")
@pytest.mark.parametrize("reply_format", ["BX", "TX"])
def test_bad_crc_frames_never_give_a_pose(tracking, reply_format):
    emulator, tracker = tracking("pty", reply_format)
    emulator.stall("frozen")                     # the camera frame stays the same ...
    time.sleep(0.05)
    emulator.inject_crc_errors(1000)             # ... and every reply has a flipped bit
    assert tracker.read_frames(0.3) == []
    assert tracker.stats.crc_errors >= 1
    assert tracker.stats.frames_dropped == tracker.stats.crc_errors
    assert tracker.stats.frames_ok == 1
    emulator.clear_faults()
    emulator.inject_crc_errors(1)                 # one more bad reply, then clean ones
    emulator.resume()
    frames = tracker.read_frames(2.0)
    assert [f.status for f in frames] == [ToolStatus.OK] * 3
    assert tracker.stats.frames_ok == 2


@pytest.mark.safety(hazard="bad-bytes", control="a truncated NDI reply is dropped and the stream resynchronises")
def test_truncated_reply_is_dropped_and_the_stream_recovers(tracking):
    emulator, tracker = tracking("pty")
    emulator.inject_truncation(1)
    frames = tracker.read_frames(2.0)
    assert [f.status for f in frames] == [ToolStatus.OK] * 3
    assert tracker.stats.truncated_replies == 1 and tracker.stats.frames_dropped == 1


@pytest.mark.safety(hazard="bad-bytes", control="a silent device gives a timeout, never invented frames")
@pytest.mark.parametrize("kind", ["pty", "tcp"])
def test_silent_device_times_out_without_fake_frames(tracking, kind):
    emulator, tracker = tracking(kind)
    emulator.stall("silent")
    t0 = time.monotonic()
    assert tracker.read_frames(0.15) == []
    assert 0.14 <= time.monotonic() - t0 < 1.0
    assert tracker.stats.timeouts == 1 and tracker.stats.frozen_timeouts == 0
    emulator.resume()
    assert len(tracker.read_frames(2.0)) == 3


def test_frozen_frame_number_is_detected(tracking):
    emulator, tracker = tracking("pty", "TX")
    last = tracker.latest_frames()[0].frame_number
    emulator.stall("frozen")
    time.sleep(0.05)
    first = tracker.read_frames(0.2)            # at most the frame current at the freeze
    assert tracker.read_frames(0.2) == []
    assert tracker.stats.frozen_timeouts >= 1 and tracker.stats.repeated_frames > 2
    emulator.resume()
    frames = tracker.read_frames(2.0)
    assert frames[0].frame_number > (first[0].frame_number if first else last)


@pytest.mark.safety(hazard="bad-bytes", control="an NDI frame-number glitch marks the frame INVALID")
def test_frame_number_glitch_marks_the_frame_invalid(tracking):
    emulator, tracker = tracking("pty")
    good = tracker.read_frames(2.0)[0].frame_number
    emulator.inject_frame_number(4294967170)                # PlusLib #244
    bad = tracker.read_frames(2.0)
    assert [f.status for f in bad] == [ToolStatus.INVALID] * 3
    assert all(f.tracker_from_tool is None for f in bad)
    assert tracker.stats.frame_number_anomalies == 1
    emulator.inject_frame_number(good - 5)                    # backwards
    assert [f.status for f in tracker.read_frames(2.0)] == [ToolStatus.INVALID] * 3
    after = tracker.read_frames(2.0)
    assert [f.status for f in after] == [ToolStatus.OK] * 3 and after[0].frame_number > good


def test_frame_counter_wraparound_is_normal(tracking):
    emulator, tracker = tracking("pty", start_frame=2**32 - 40, rate_hz=200.0)
    numbers = [tracker.read_frames(2.0)[0].frame_number for _ in range(80)]
    assert any(n < 20 for n in numbers) and any(n > 2**32 - 40 for n in numbers)
    assert tracker.stats.frame_number_anomalies == 0


def test_device_error_replies_carry_their_meaning(tracking):
    emulator, tracker = tracking("pty")
    emulator.inject_error(0x0C, command="BX")
    with pytest.raises(DeviceError, match="not valid in the current mode") as err:
        tracker.read_frames(2.0)
    assert err.value.code == 0x0C
    assert len(tracker.read_frames(2.0)) == 3                    # the link is still fine
    tracker.stop()
    emulator.inject_error(0x12, command="TSTART")
    with pytest.raises(DeviceError, match="failure to start tracking"):
        tracker.start()


def test_system_status_is_reported(tracking):
    emulator, tracker = tracking("tcp", "TX")
    emulator.set_system_status(0x0002)
    tracker.read_frames(2.0)
    assert tracker.system_status == 0x0002


# ---------------------------------------------------------------- wrong port / device / baud
def _pty_with_responder(answer):
    """A pty whose far end answers every CR with ``answer`` (None: never reads or answers)."""
    master, slave = os.openpty()
    import tty
    tty.setraw(slave)
    stop = threading.Event()

    def respond():
        while not stop.is_set():
            import select
            ready, _, _ = select.select([master], [], [], 0.02)
            if ready:
                try:
                    data = os.read(master, 1024)
                except OSError:
                    return
                for _ in range(data.count(b"\r")):
                    os.write(master, answer)

    thread = threading.Thread(target=respond, daemon=True)
    if answer is not None:
        thread.start()

    def close():
        stop.set()
        if answer is not None:
            thread.join()
        os.close(master)
        os.close(slave)
    return os.ttyname(slave), close


@pytest.mark.parametrize("answer, words", [(None, "no NDI device answered INIT at 9600 baud"),
                                           (b"\x8f\x13 ?garbage!\x1b\r", "not NDI replies")])
def test_wrong_or_silent_device_gives_an_error_naming_the_port(answer, words):
    path, close = _pty_with_responder(answer)
    try:
        tracker = NDITracker(path, timeout_s=0.2, reset_timeout_s=0.1)
        with pytest.raises(TrackerConnectionError) as err:
            tracker.connect()
        assert words in str(err.value) and path in str(err.value)
        assert err.value.port == path and not tracker.is_connected
        tracker.close()
    finally:
        close()


def test_missing_port_and_refused_socket_name_the_port():
    with pytest.raises(TrackerConnectionError, match="/dev/no-such-tracker"):
        NDITracker("/dev/no-such-tracker").connect()
    emulator = NDIEmulator()
    port = emulator.serve_tcp()
    emulator.stop()
    with pytest.raises(TrackerConnectionError, match=f"socket://127.0.0.1:{port}"):
        NDITracker(f"socket://127.0.0.1:{port}", timeout_s=0.2).connect()


def test_device_left_at_115200_is_reset_by_the_break():
    emulator = NDIEmulator(StillTools())
    path = emulator.serve_pty()
    try:
        with serial.Serial(path, 9600, timeout=0.2) as raw:      # a session that crashed
            raw.write(encode_command("INIT"))
            assert raw.read(9) == b"OKAYA896\r"
            raw.write(encode_command("COMM", "50000"))
            assert raw.read(9) == b"OKAYA896\r"
            raw.write(encode_command("INIT"))                     # still at 9600: garbled
            assert raw.read(9) == b""
        tracker = NDITracker(path, timeout_s=2.0, reset_timeout_s=2.0)
        tracker.connect()                                         # break -> RESET -> 9600
        assert emulator.device.commands.count("<break>") == 1
        tracker.start()
        assert len(tracker.read_frames(2.0)) == 3
        tracker.close()
    finally:
        emulator.stop()


def test_a_failing_baud_switch_is_explained():
    emulator = NDIEmulator(StillTools())
    path = emulator.serve_pty()
    emulator.device.handle_line(b"INIT")
    original = emulator.device._cmd_comm

    def comm_then_deaf(params):                 # OKAY, then a rate the host cannot follow
        reply = original(params)
        emulator.device.baud = 57600
        return reply

    emulator.device._cmd_comm = comm_then_deaf
    try:
        tracker = NDITracker(path, baud=115200, timeout_s=0.2, reset_timeout_s=0.2)
        with pytest.raises(TrackerConnectionError, match="accepted 115200 baud but stopped"):
            tracker.connect()
    finally:
        emulator.stop()
