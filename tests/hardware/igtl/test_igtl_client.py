"""IGTLinkTracker against pyigtl's own OpenIGTLink server, and a raw socket server for the odd messages."""

import signal
import socket
import threading
import time

import numpy as np
import pyigtl
import pytest

from tmsnav.hardware.errors import ConnectionLost, TrackerConnectionError
from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.igtl import IGTLinkTracker
from tmsnav.hardware.igtl.protocol import pack_message, pack_status, pack_transform
from tests.hardware.igtl.igtl_helpers import free_port, pose, started, wait_until


@pytest.fixture
def pyigtl_server():
    port = free_port()
    server = pyigtl.OpenIGTLinkServer(port=port, local_server=True)
    yield server, port
    server.stop()
    for sig, handler in server._previous_signal_handlers.items():  # it installs SIGINT/SIGTERM handlers
        signal.signal(sig, handler)


@pytest.fixture
def client():
    made = []

    def make(port, **kw):
        tr = IGTLinkTracker("127.0.0.1", port, **kw)
        made.append(tr)
        return tr

    yield make
    for tr in made:
        tr.close()


@pytest.fixture
def connect(pyigtl_server, client):
    """``connect(**tracker_options)`` -> (pyigtl's server, our tracker streaming from it)."""
    server, port = pyigtl_server

    def make(**kw):
        tr = started(client(port, **kw))
        assert wait_until(server.is_connected)
        return server, tr
    return make


@pytest.fixture
def raw_peer(client):
    """A hand-made server for byte streams pyigtl cannot make: ``raw_peer(**tracker_options)`` ->
    (our tracker streaming from it, the server's end of the socket)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []

    def make(**kw):
        tr = started(client(listener.getsockname()[1], **kw))
        conn, _ = listener.accept()
        accepted.append(conn)
        return tr, conn
    yield make
    for conn in accepted:
        conn.close()
    listener.close()


def send(server, name, matrix, t=1000.0, **meta):
    msg = pyigtl.TransformMessage(matrix, timestamp=t, device_name=name)
    if meta:
        msg.header_version = 2
        msg.metadata = meta
    server.send_message(msg, wait=True)


def test_transforms_become_tool_frames(connect):
    server, tr = connect(nominal_rate_hz=20.0)
    assert [t.name for t in tr.tools()] == ["reference", "pointer", "coil"]
    send(server, "ReferenceToTracker", pose(1, 2, 3))
    send(server, "StylusToTracker", pose(-50.5, 20.25, 300, 30))
    send(server, "CoilToTracker", pose(10, 0, -5, 90))
    frames = {f.tool: f for f in tr.read_frames(2.0)}
    assert all(f.status is ToolStatus.OK for f in frames.values()), frames
    np.testing.assert_allclose(frames["pointer"].tracker_from_tool, pose(-50.5, 20.25, 300, 30), atol=1e-4)
    np.testing.assert_allclose(frames["coil"].tracker_from_tool[:3, :3] @ [1, 0, 0], [0, 1, 0], atol=1e-6)
    assert frames["coil"].device_time_s == pytest.approx(1000.0)
    assert len({f.frame_number for f in frames.values()}) == 1


def test_tool_goes_missing_when_its_transform_is_not_refreshed(connect):
    server, tr = connect(staleness_s=0.15)
    send(server, "ReferenceToTracker", pose(1, 2, 3), t=1.0)
    send(server, "CoilToTracker", pose(4, 5, 6), t=1.0)
    assert wait_until(lambda: {f.tool: f.status for f in tr.read_frames(0.5)}.get("coil") is ToolStatus.OK)
    time.sleep(0.2)
    send(server, "CoilToTracker", pose(4, 5, 7), t=2.0)
    frames = {f.tool: f for f in tr.read_frames(1.0)}
    assert frames["coil"].status is ToolStatus.OK
    assert frames["reference"].status is ToolStatus.MISSING and frames["reference"].tracker_from_tool is None
    assert frames["pointer"].status is ToolStatus.MISSING


def test_plus_status_metadata_and_unmapped_devices(connect):
    server, tr = connect(device_tools={"CoilToTracker": "coil", "NeedleToTracker": "needle"})
    send(server, "ProbeToTracker", pose(0, 0, 0), t=5.0)
    send(server, "CoilToTracker", pose(1, 1, 1), t=5.0, TransformStatus="OUT_OF_VOLUME", TransformValid="false")
    send(server, "NeedleToTracker", pose(2, 2, 2), t=5.0, TransformStatus="OK", TransformValid="true")
    seen = {}
    assert wait_until(lambda: seen.update({f.tool: f.status for f in tr.read_frames(0.5)
                                           if f.status is not ToolStatus.MISSING}) or len(seen) == 2)
    assert seen == {"coil": ToolStatus.OUT_OF_VOLUME, "needle": ToolStatus.OK}
    assert "ProbeToTracker" in tr.stats.unmapped_devices
    send(server, "CoilToTracker", pose(1, 1, 1), t=6.0, TransformStatus="OUT_OF_VOLUME")
    frames = {f.tool: f for f in tr.read_frames(1.0)}
    assert frames["coil"].status is ToolStatus.OUT_OF_VOLUME and frames["coil"].tracker_from_tool is None


def test_non_rigid_transform_is_invalid(connect):
    server, tr = connect()
    scaled = pose(1, 2, 3)
    scaled[:3, :3] *= 1.1
    send(server, "CoilToTracker", scaled)
    frames = {f.tool: f for f in tr.read_frames(2.0)}
    assert frames["coil"].status is ToolStatus.INVALID and frames["coil"].tracker_from_tool is None
    assert tr.stats.non_rigid == 1


def test_slightly_scaled_transform_is_invalid_and_an_oblique_float32_one_is_not(connect, caplog):
    """The client uses the project's one rigidity tolerance (tmsnav.navigation.transforms.RIGID_TOL):
    a 0.02 % scale (its own 1e-3 tolerance used to pass it) is INVALID with a log line saying
    why, while an oblique rotation rounded to float32 on the wire is a valid pose."""
    from scipy.spatial.transform import Rotation
    server, tr = connect()
    oblique = pose(10, -20, -1500)
    oblique[:3, :3] = Rotation.from_euler("xyz", [0.3, -1.1, 2.6]).as_matrix()
    send(server, "CoilToTracker", oblique)
    frames = {f.tool: f for f in tr.read_frames(2.0)}
    assert frames["coil"].status is ToolStatus.OK
    np.testing.assert_allclose(frames["coil"].tracker_from_tool, oblique, atol=1e-3)
    scaled = oblique.copy()
    scaled[:3, :3] *= 1.0002
    with caplog.at_level("WARNING", logger="tmsnav.hardware.igtl.client"):
        send(server, "CoilToTracker", scaled, t=1001.0)
        assert wait_until(lambda: {f.tool: f for f in tr.read_frames(0.1)}["coil"].status
                          is ToolStatus.INVALID)
    assert tr.stats.non_rigid == 1
    assert "not a rigid transform" in caplog.text and "CoilToTracker" in caplog.text


def test_server_gone_raises_connection_lost(connect):
    server, tr = connect()
    send(server, "CoilToTracker", pose(1, 2, 3))
    assert tr.read_frames(2.0)
    server.stop()
    with pytest.raises(ConnectionLost, match=f"127.0.0.1:{tr.port}"):
        for _ in range(50):
            tr.read_frames(0.1)
    tr.close()


def test_no_server_is_a_connection_error_naming_host_and_port(client):
    port = free_port()
    with pytest.raises(TrackerConnectionError, match=f"127.0.0.1:{port}"):
        client(port, connect_timeout_s=0.5).connect()


def test_raw_stream_status_position_crc_and_batching(raw_peer):
    """A hand-made server: STATUS, POSITION, a corrupted TRANSFORM, and two timestamps in one burst."""
    tr, conn = raw_peer(nominal_rate_hz=10.0)
    with conn:
        bad = bytearray(pack_transform("ReferenceToTracker", pose(9, 9, 9), 7.0))
        bad[-1] ^= 0xFF
        position = pack_message("POSITION", "StylusToTracker",
                                np.array([1, 2, 3, 0, 0, 0, 1], dtype=">f4").tobytes(), 7.0)
        burst = (bytes(bad) + position + pack_transform("CoilToTracker", pose(5, 5, 5), 7.0)
                 + pack_status("ReferenceToTracker", 15, "Disabled", "", timestamp_s=7.0)
                 + pack_transform("CoilToTracker", pose(6, 6, 6), 8.0))
        conn.sendall(burst[:100])
        time.sleep(0.05)
        conn.sendall(burst[100:])
        time.sleep(0.05)
        first = {f.tool: f for f in tr.read_frames(1.0)}
        assert tr.stats.crc_errors == 1
        np.testing.assert_allclose(first["pointer"].position_mm, [1, 2, 3])
        np.testing.assert_allclose(first["coil"].position_mm, [5, 5, 5])  # t = 8.0 waits for the next frame
        assert first["reference"].status is ToolStatus.DISABLED  # STATUS code 15
        second = {f.tool: f for f in tr.read_frames(1.0)}
        np.testing.assert_allclose(second["coil"].position_mm, [6, 6, 6])
        assert second["coil"].frame_number == first["coil"].frame_number + 1
    with pytest.raises(ConnectionLost):             # the server closed its end
        tr.read_frames(1.0)


def test_read_times_out_with_an_empty_list(connect):
    _, tr = connect()
    t0 = time.monotonic()
    assert tr.read_frames(0.1) == []
    assert time.monotonic() - t0 >= 0.09   # it waited (no upper bound: a loaded machine may be slow)
    assert tr.stats.timeouts == 1


def test_client_starts_no_threads():
    """Our client works without any thread of its own: nothing extra is left running."""
    before = threading.active_count()
    tr = IGTLinkTracker("127.0.0.1", free_port(), connect_timeout_s=0.2)
    with pytest.raises(TrackerConnectionError):
        tr.connect()
    assert threading.active_count() == before


def test_large_unused_messages_are_skipped_without_buffering(raw_peer):
    tr, conn = raw_peer()
    with conn:
        image = pack_message("IMAGE", "Video", bytes(100_000), 1.0)
        conn.sendall(image[:5000])
        time.sleep(0.02)
        assert tr.read_frames(0.05) == []
        assert len(tr._buf) < 1000  # the video frame is dropped as it arrives
        conn.sendall(image[5000:] + pack_transform("CoilToTracker", pose(3, 2, 1), 2.0))
        frames = {f.tool: f for f in tr.read_frames(1.0)}
        np.testing.assert_allclose(frames["coil"].position_mm, [3, 2, 1])
        assert tr.stats.ignored_messages == 1
