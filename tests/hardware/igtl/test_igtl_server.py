"""PoseStreamer against pyigtl's own OpenIGTLink client (and against our client)."""

import numpy as np
import pyigtl
import pytest

from tmsnav.hardware.frames import ToolFrame, ToolStatus
from tmsnav.hardware.igtl import IGTLinkTracker, PoseStreamer
from tests.hardware.igtl.igtl_helpers import pose, started, wait_until


@pytest.fixture
def streamer():
    s = PoseStreamer(port=0)
    s.start()
    yield s
    s.close()


@pytest.fixture
def viewer(streamer):
    c = pyigtl.OpenIGTLinkClient(host="127.0.0.1", port=streamer.port)
    assert wait_until(lambda: streamer.client_count == 1)
    yield c
    c.stop()


def test_pyigtl_client_receives_our_transforms(streamer, viewer):
    coil = pose(12.5, -40.0, 80.25, 45)
    assert streamer.send("CoilToTracker", coil, timestamp=1234.5) == 1
    assert streamer.send("CoilToMRI", pose(1, 2, 3)) == 1
    msg = viewer.wait_for_message("CoilToTracker", timeout=3)
    assert msg is not None
    np.testing.assert_allclose(msg.matrix, coil, atol=1e-4)
    assert msg.timestamp == pytest.approx(1234.5)
    mri = viewer.wait_for_message("CoilToMRI", timeout=3)
    np.testing.assert_allclose(mri.matrix[:3, 3], [1, 2, 3])


def test_invalid_poses_are_not_sent(streamer, viewer):
    scaled = pose(0, 0, 0)
    scaled[:3, :3] *= 2.0
    nan = pose(0, 0, 0)
    nan[0, 3] = np.nan
    for bad in (None, nan, scaled, np.eye(3)):
        assert streamer.send("BadToTracker", bad) == 0
    assert streamer.stats.skipped_invalid == 4
    streamer.send("GoodToTracker", pose(1, 1, 1))
    assert viewer.wait_for_message("GoodToTracker", timeout=3) is not None
    assert viewer.wait_for_message("BadToTracker", timeout=0.2) is None


def test_send_frames_skips_untrackable_tools(streamer, viewer):
    frames = [ToolFrame("coil", pose(5, 6, 7), ToolStatus.OK),
              ToolFrame("reference", None, ToolStatus.MISSING),
              ToolFrame("pointer", pose(1, 2, 3), ToolStatus.OUT_OF_VOLUME)]
    assert streamer.send_frames(frames) == 1
    msg = viewer.wait_for_message("CoilToTracker", timeout=3)
    np.testing.assert_allclose(msg.matrix[:3, 3], [5, 6, 7])
    assert viewer.wait_for_message("PointerToTracker", timeout=0.2) is None


def test_our_client_reads_our_streamer_and_the_streamer_notices_it_leave(streamer):
    tr = started(IGTLinkTracker("127.0.0.1", streamer.port, device_tools={"CoilToMRI": "coil"}))
    try:
        assert wait_until(lambda: streamer.client_count == 1)
        for k in range(5):
            streamer.send("CoilToMRI", pose(k, 0, 0), timestamp=100.0 + k)
            (frame,) = tr.read_frames(1.0)
            assert frame.status is ToolStatus.OK
            np.testing.assert_allclose(frame.position_mm, [k, 0, 0])
        tr.close()
        assert wait_until(lambda: streamer.client_count == 0)
        assert streamer.send("CoilToMRI", pose(1, 0, 0)) == 0  # nobody listening
    finally:
        tr.close()


def test_closing_the_streamer_is_connection_lost_for_clients():
    from tmsnav.hardware.errors import ConnectionLost

    s = PoseStreamer(port=0)
    tr = started(IGTLinkTracker("127.0.0.1", s.start()))
    try:
        s.close()
        with pytest.raises(ConnectionLost):
            tr.read_frames(1.0)
    finally:
        tr.close()


def test_close_is_idempotent_and_port_is_reusable():
    s = PoseStreamer(port=0)
    port = s.start()
    assert s.start() == port
    s.close()
    s.close()
    again = PoseStreamer(port=port)
    assert again.start() == port
    again.close()


def test_busy_port_gives_a_clear_error(streamer):
    with pytest.raises(OSError, match=f"127.0.0.1:{streamer.port}"):
        PoseStreamer(port=streamer.port).start()
