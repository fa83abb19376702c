"""PolhemusTracker against PolhemusEmulator over a real pty (and one TCP socket)."""

import time

import numpy as np
import pytest

from tmsnav.hardware.errors import ConnectionLost, TrackerConnectionError, TrackerError
from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.polhemus import PolhemusEmulator, PolhemusTracker
from tmsnav.hardware.polhemus.orientation import rotation_from_euler_deg

EX, EY, EZ = np.eye(3)


def pose_mm(position_mm, rotation=None):
    m = np.eye(4)
    m[:3, 3] = position_mm
    if rotation is not None:
        m[:3, :3] = rotation
    return m


@pytest.fixture
def emulators():
    made = []

    def make(model="fastrak", **kw):
        em = PolhemusEmulator(model, **kw)
        made.append(em)
        return em

    yield make
    for em in made:
        em.stop()


@pytest.fixture
def trackers():
    made = []

    def make(port, **kw):
        tr = PolhemusTracker(port, **kw)
        made.append(tr)
        return tr

    yield make
    for tr in made:
        tr.close()


def first_frames(tracker, n=3, timeout_s=1.0):
    frames = []
    for _ in range(n):
        frames = tracker.read_frames(timeout_s)
    assert frames, "no frame from the emulator"
    return frames


# ----- units: the patient-safety path --------------------------------------------------------------------
@pytest.mark.safety(hazard="units", control="a Polhemus in inch mode lands at the right mm")
@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("mode", ["continuous", "poll"])
def test_inch_mode_sensor_at_10_minus4_2p5_inch_lands_in_mm(emulators, trackers, binary, mode):
    em = emulators("fastrak")
    em.set_station_pose(1, pose_mm([254.0, -101.6, 63.5]))  # 10 in, -4 in, 2.5 in
    tr = trackers(em.serve_pty(), units="inch", binary=binary, mode=mode)
    tr.connect()
    assert em.device.units == "inch"
    tr.start()
    (frame,) = first_frames(tr)
    assert frame.status is ToolStatus.OK and frame.is_trackable
    np.testing.assert_allclose(frame.position_mm, [254.0, -101.6, 63.5], atol=1e-4)


def test_emulator_sends_inches_on_the_wire_by_default(emulators):
    """Pins the emulator's own conversion: the driver test above then pins the driver's."""
    import serial

    em = emulators("fastrak")
    em.set_station_pose(1, pose_mm([254.0, -101.6, 63.5]))
    port = serial.Serial(em.serve_pty(), 115200, timeout=0.5)
    try:
        port.write(b"P")
        assert port.read(47) == b"01   10.00  -4.00   2.50   0.00   0.00   0.00\r\n"
        port.write(b"uP")
        assert port.read(47) == b"01   25.40 -10.16   6.35   0.00   0.00   0.00\r\n"
    finally:
        port.close()


@pytest.mark.safety(hazard="units", control="a Polhemus in cm mode lands at the right mm")
@pytest.mark.parametrize("binary", [False, True])
def test_cm_mode_lands_in_mm(emulators, trackers, binary):
    em = emulators("fastrak")
    em.set_station_pose(1, pose_mm([254.0, -101.6, 63.5]))  # 25.4 cm, -10.16 cm, 6.35 cm
    tr = trackers(em.serve_pty(), units="cm", binary=binary)
    tr.connect()
    assert em.device.units == "cm"
    tr.start()
    (frame,) = first_frames(tr)
    np.testing.assert_allclose(frame.position_mm, [254.0, -101.6, 63.5], atol=1e-3)


@pytest.mark.parametrize("orientation", ["euler", "quaternion"])
@pytest.mark.parametrize("angles,sensor_axis,source_axis", [((90, 0, 0), EX, EY), ((0, 90, 0), EX, -EZ),
                                                              ((0, 0, 90), EY, EZ)])
def test_known_rotations_reach_the_driver(emulators, trackers, orientation, angles, sensor_axis, source_axis):
    em = emulators("fastrak")
    em.set_station_pose(1, pose_mm([0, 0, 0], rotation_from_euler_deg(*angles)))
    tr = trackers(em.serve_pty(), binary=False, orientation=orientation)
    tr.connect()
    tr.start()
    (frame,) = first_frames(tr)
    np.testing.assert_allclose(frame.tracker_from_tool[:3, :3] @ sensor_axis, source_axis, atol=2e-4)


# ----- several stations, modes ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["continuous", "poll"])
def test_several_stations_come_in_order_with_their_own_poses(emulators, trackers, mode):
    em = emulators("fastrak", stations=(1, 2, 4))
    for s in (1, 2, 4):
        em.set_station_pose(s, pose_mm([10.0 * s, -5.0 * s, 2.0 * s]))
    names = {1: "reference", 2: "pointer", 4: "coil"}
    tr = trackers(em.serve_pty(), station_names=names, mode=mode)
    tr.connect()
    assert [t.name for t in tr.tools()] == ["reference", "pointer", "coil"]
    assert tr.nominal_rate_hz == pytest.approx(40.0)
    tr.start()
    previous = None
    for _ in range(6):
        frames = tr.read_frames(1.0)
        assert [f.tool for f in frames] == ["reference", "pointer", "coil"]
        for f, s in zip(frames, (1, 2, 4)):
            np.testing.assert_allclose(f.position_mm, [10.0 * s, -5.0 * s, 2.0 * s], atol=1e-3)
        assert len({f.frame_number for f in frames}) == 1
        if previous is not None:
            assert frames[0].frame_number == previous + 1  # FASTRAK: host cycle counter
        previous = frames[0].frame_number


def test_requested_station_must_have_a_receiver(emulators, trackers):
    em = emulators("fastrak", stations=(1,))
    tr = trackers(em.serve_pty(), stations=[1, 3])
    with pytest.raises(TrackerConnectionError, match=r"station\(s\) \[3\]") as err:
        tr.connect()
    assert em.path in str(err.value)


def test_read_before_start_is_a_clear_error(emulators, trackers):
    em = emulators("fastrak")
    tr = trackers(em.serve_pty())
    with pytest.raises(TrackerError, match="not connected"):
        tr.read_frames(0.1)
    tr.connect()
    with pytest.raises(TrackerError, match="start"):
        tr.read_frames(0.1)


# ----- status characters and missing stations ---------------------------------------------------------------
def test_status_characters_map_to_tool_status(emulators, trackers):
    em = emulators("fastrak", stations=(1, 2, 3))
    for s in (1, 2, 3):
        em.set_station_pose(s, pose_mm([s, 0, 0]))
    em.set_station_status(2, "x")  # receiver out of motion box
    em.set_station_status(3, "k")  # low signal
    tr = trackers(em.serve_pty())
    tr.connect()
    tr.start()
    ok, out, bad = first_frames(tr)
    assert ok.status is ToolStatus.OK
    assert out.status is ToolStatus.OUT_OF_VOLUME and not out.is_trackable
    np.testing.assert_allclose(out.position_mm, [2.0, 0, 0], atol=1e-3)
    assert out.port_status == ord("x")
    assert bad.status is ToolStatus.INVALID and bad.tracker_from_tool is None
    assert tr.stats.status_warnings >= 2


def test_station_pulled_out_mid_stream_is_missing(emulators, trackers):
    em = emulators("fastrak", stations=(1, 2, 3))
    tr = trackers(em.serve_pty())
    tr.connect()
    tr.start()
    first_frames(tr)
    em.set_station_present(2, False)
    time.sleep(0.05)
    frames = first_frames(tr, n=4)
    assert [f.status for f in frames] == [ToolStatus.OK, ToolStatus.MISSING, ToolStatus.OK]
    assert frames[1].tracker_from_tool is None


# ----- faults ---------------------------------------------------------------------------------------------------
@pytest.mark.safety(hazard="bad-bytes", control="Polhemus garbage is skipped and counted, never a pose")
@pytest.mark.parametrize("binary", [False, True])
def test_garbage_mid_stream_is_skipped_and_counted(emulators, trackers, binary):
    em = emulators("fastrak", stations=(1, 2))
    em.set_station_pose(1, pose_mm([100.0, 50.0, -25.0]))
    tr = trackers(em.serve_pty(), binary=binary)
    tr.connect()
    tr.start()
    first_frames(tr)
    for seed in range(3):  # garbage between records while the host keeps reading
        em.inject_garbage(100, seed=seed)
        em.inject_garbage(data=b"01 \r\n0201")  # header-like junk
        for _ in range(3):
            frames = tr.read_frames(1.0)
            assert [f.status for f in frames] == [ToolStatus.OK, ToolStatus.OK]
            np.testing.assert_allclose(frames[0].position_mm, [100.0, 50.0, -25.0], atol=1e-3)
    assert tr.stats.protocol_errors >= 3
    assert tr.stats.skipped_bytes >= 300


def test_unplug_raises_connection_lost_and_close_tolerates_it(emulators, trackers):
    em = emulators("fastrak")
    tr = trackers(em.serve_pty())
    tr.connect()
    tr.start()
    first_frames(tr)
    em.unplug()
    t0 = time.monotonic()
    with pytest.raises(ConnectionLost, match="unplugged"):
        for _ in range(20):
            tr.read_frames(0.2)
    assert time.monotonic() - t0 < 0.25
    tr.close()
    tr.close()


def test_stall_gives_empty_reads_then_recovers(emulators, trackers):
    em = emulators("fastrak")
    tr = trackers(em.serve_pty())
    tr.connect()
    tr.start()
    first_frames(tr)
    em.stall()
    time.sleep(0.05)
    tr.read_frames(0.05)  # may still hold a record sent before the stall
    assert tr.read_frames(0.1) == []
    assert tr.stats.timeouts >= 1
    em.resume()
    assert first_frames(tr)[0].status is ToolStatus.OK


def test_wrong_baud_names_the_port_and_the_baud(emulators, trackers):
    em = emulators("fastrak", baud=9600)
    tr = trackers(em.serve_pty(), baud=115200, timeout_s=0.3)
    with pytest.raises(TrackerConnectionError, match="baud") as err:
        tr.connect()
    assert em.path in str(err.value) and "115200" in str(err.value)


def test_silent_unit_gives_no_answer_error(emulators, trackers):
    em = emulators("fastrak")
    em.stall()
    tr = trackers(em.serve_pty(), timeout_s=0.2)
    with pytest.raises(TrackerConnectionError, match="no answer") as err:
        tr.connect()
    assert em.path in str(err.value)


def test_missing_port_is_a_connection_error():
    with pytest.raises(TrackerConnectionError, match="/dev/does-not-exist"):
        PolhemusTracker("/dev/does-not-exist").connect()


# ----- Liberty / Patriot --------------------------------------------------------------------------------------------
def test_liberty_frame_count_and_dropped_frames(emulators, trackers):
    em = emulators("liberty", stations=(2,))
    em.set_station_pose(2, pose_mm([254.0, 0.0, -25.4]))
    tr = trackers(em.serve_pty(), model="liberty", units="inch", station_names={2: "coil"})
    tr.connect()
    tr.start()
    counts = []
    for _ in range(10):
        (frame,) = tr.read_frames(1.0)
        counts.append(frame.frame_number)
    assert all(b == a + 1 for a, b in zip(counts, counts[1:]))  # 240 Hz device counter, nothing lost
    np.testing.assert_allclose(frame.position_mm, [254.0, 0.0, -25.4], atol=1e-4)
    assert frame.device_time_s == pytest.approx(frame.frame_number / 240.0, abs=1e-3)
    assert tr.stats.frames_dropped == 0
    em.stall(0.1)  # the device clock runs on: the counter jumps by about 24 frames
    time.sleep(0.15)
    first_frames(tr, n=3)
    assert tr.stats.frames_dropped >= 10


def test_liberty_frame_count_glitch_is_an_anomaly_not_billions_of_dropped_frames(emulators, trackers):
    """A garbled frame count (PlusLib #244 style) is judged by the shared frame-number rule
    (tmsnav.hardware.frame_numbers): one anomaly, and the stream goes on without a dropped-frame storm
    (the driver's own formula used to add 4 billion dropped frames, then count the next real
    frame as an anomaly)."""
    from tmsnav.hardware.polhemus.liberty import encode_liberty_record
    from tmsnav.hardware.polhemus.records import SensorSample

    em = emulators("liberty", stations=(2,))
    tr = trackers(em.serve_pty(), model="liberty", station_names={2: "coil"})
    tr.connect()
    tr.start()
    first_frames(tr, n=5)
    dropped = tr.stats.frames_dropped
    glitch = SensorSample((1.0, 2.0, 3.0), np.eye(3), 0, 4294967170)
    em.inject_garbage(data=encode_liberty_record(em.device.stations[2].fmt, 2, ord("C"), 0, glitch))
    numbers = [f.frame_number for _ in range(20) for f in tr.read_frames(1.0)]
    assert 4294967170 in numbers
    assert tr.stats.frame_count_anomalies == 1
    assert tr.stats.frames_dropped - dropped < 50


def test_liberty_two_sensors_do_not_fit_115200_baud(emulators, trackers, caplog):
    """2 x 46-byte records per 1/240 s need 221 kbit/s: the line halves the rate, the driver sees it."""
    em = emulators("liberty", stations=(1, 2))
    tr = trackers(em.serve_pty(), model="liberty")
    with caplog.at_level("WARNING"):
        tr.connect()
    assert "needs 220800 baud (2 stations x 46-byte records); the link is 115200 baud" in caplog.text
    assert tr.link_warning in caplog.text and "USB or at 230400 baud" in tr.link_warning
    tr.start()
    frames = first_frames(tr, n=10)
    assert len({f.frame_number for f in frames}) == 1  # sensors of one frame share its count
    assert tr.stats.frames_dropped >= 5


def test_patriot_found_when_liberty_configured(emulators, trackers):
    em = emulators("patriot", stations=(1, 2))
    tr = trackers(em.serve_pty(), model="liberty")
    with pytest.raises(TrackerConnectionError, match="Patriot"):
        tr.connect()


def test_patriot_poll_mode_cm(emulators, trackers):
    em = emulators("patriot", stations=(1, 2))
    em.set_station_pose(1, pose_mm([-30.0, 40.0, 50.0], rotation_from_euler_deg(45, 0, 0)))
    tr = trackers(em.serve_pty(), model="patriot", units="cm", mode="poll")
    tr.connect()
    tr.start()
    frames = first_frames(tr)
    np.testing.assert_allclose(frames[0].position_mm, [-30.0, 40.0, 50.0], atol=1e-4)
    np.testing.assert_allclose(frames[0].tracker_from_tool[:3, :3], rotation_from_euler_deg(45, 0, 0), atol=1e-6)


def test_liberty_out_of_range_sensor_is_invalid(emulators, trackers):
    em = emulators("liberty", stations=(1, 2))
    em.set_station_status(2, 3)
    tr = trackers(em.serve_pty(), model="liberty")
    tr.connect()
    tr.start()
    frames = first_frames(tr)
    assert [f.status for f in frames] == [ToolStatus.OK, ToolStatus.INVALID]


# ----- pose source, TCP, 16-bit ------------------------------------------------------------------------------------
def test_pose_source_moves_and_invisible_tool_is_out_of_volume(emulators, trackers):
    def poses_at(t_s):
        return {"reference": pose_mm([100.0, 0.0, 0.0]), "coil": None}

    em = emulators("fastrak", stations=(1, 3), pose_source=poses_at)
    tr = trackers(em.serve_pty(), station_names={1: "reference", 3: "coil"})
    tr.connect()
    tr.start()
    ref, coil = first_frames(tr)
    np.testing.assert_allclose(ref.position_mm, [100.0, 0.0, 0.0], atol=1e-3)
    assert coil.status is ToolStatus.OUT_OF_VOLUME


def test_driver_over_tcp_socket_url(emulators, trackers):
    em = emulators("fastrak", stations=(1, 2))
    em.set_station_pose(2, pose_mm([-12.7, 25.4, 0.0]))
    em.serve_tcp()
    tr = trackers(em.url, units="inch", binary=True)
    tr.connect()
    tr.start()
    frames = first_frames(tr)
    np.testing.assert_allclose(frames[1].position_mm, [-12.7, 25.4, 0.0], atol=1e-4)
    em.unplug()
    with pytest.raises(ConnectionLost):
        for _ in range(20):
            tr.read_frames(0.2)


def test_16bit_packed_output_list(emulators, trackers):
    rot = rotation_from_euler_deg(-60, 20, 10)
    em = emulators("fastrak")
    em.set_station_pose(1, pose_mm([123.0, -45.6, 78.9], rot))
    tr = trackers(em.serve_pty(), output_list=(18, 20, 1), units="cm")
    tr.connect()
    tr.start()
    (frame,) = first_frames(tr)
    np.testing.assert_allclose(frame.position_mm, [123.0, -45.6, 78.9], atol=0.37)  # 14-bit steps
    np.testing.assert_allclose(frame.tracker_from_tool[:3, :3], rot, atol=2e-3)


def test_a_host_that_fell_behind_gets_the_newest_pose_not_the_backlog(emulators, trackers):
    em = emulators("fastrak", stations=(1, 2))
    em.set_station_pose(1, pose_mm([1.0, 0.0, 0.0]))
    tr = trackers(em.serve_pty(), binary=True)
    tr.connect()
    tr.start()
    first_frames(tr)
    time.sleep(0.4)  # about 48 records pile up
    em.set_station_pose(1, pose_mm([2.0, 0.0, 0.0]))
    time.sleep(0.1)
    frames = tr.read_frames(1.0)
    assert [f.tool for f in frames] == ["reference", "pointer"]   # default names of stations 1, 2
    assert all(f.status is ToolStatus.OK for f in frames)
    np.testing.assert_allclose(frames[0].position_mm, [2.0, 0.0, 0.0], atol=1e-4)
    assert tr.stats.backlog_dropped_bytes > 20 * 29
