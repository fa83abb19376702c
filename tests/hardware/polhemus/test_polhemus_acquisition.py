"""The Polhemus driver inside tmsnav.hardware.acquisition.core: live poses, then DISCONNECTED on unplug."""

import functools
import time

import numpy as np

from tmsnav.hardware.acquisition.core import Acquisition
from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.polhemus import PolhemusEmulator, PolhemusTracker


def test_unplug_marks_every_tool_disconnected_quickly():
    em = PolhemusEmulator("fastrak", stations=(1, 2))
    pose = np.eye(4)
    pose[:3, 3] = [25.4, 0.0, 0.0]
    em.set_station_pose(2, pose)
    port = em.serve_pty()
    acq = Acquisition(functools.partial(PolhemusTracker, port, station_names={1: "reference", 2: "coil"}),
                      reconnect=False)
    acq.start()
    try:
        end = time.monotonic() + 3.0
        while not (acq.is_live("coil") and acq.is_live("reference")) and time.monotonic() < end:
            time.sleep(0.01)
        assert acq.is_live("coil")
        np.testing.assert_allclose(acq.latest("coil").position_mm, [25.4, 0.0, 0.0], atol=1e-3)
        em.unplug()
        t0 = time.monotonic()
        while acq.latest("coil").status is not ToolStatus.DISCONNECTED and time.monotonic() - t0 < 2.0:
            time.sleep(0.005)
        assert time.monotonic() - t0 < 0.25  # docs/safety.md: within one period + timeout
        assert acq.latest("reference").status is ToolStatus.DISCONNECTED
        assert "unplugged" in acq.state
    finally:
        acq.stop()
        em.stop()


def _acquire_until_tracking(acq, tools, timeout_s=5.0):
    acq.start()
    end = time.monotonic() + timeout_s
    while not all(acq.is_live(t) for t in tools) and time.monotonic() < end:
        time.sleep(0.01)


def test_liberty_stations_get_the_app_roles_and_the_model_in_use_without_naming_them():
    """Issue 12: stations showed as station1-3 (no role matched) and the model as 'fastrak'."""
    em = PolhemusEmulator("liberty", stations=(1, 2, 3), baud=921600)
    for station, x in ((1, 10.0), (2, 20.0), (3, 30.0)):
        pose = np.eye(4)
        pose[:3, 3] = [x, 0.0, 0.0]
        em.set_station_pose(station, pose)
    port = em.serve_pty()
    acq = Acquisition(functools.partial(PolhemusTracker, port, model="liberty", baud=921600),
                      reconnect=False)
    try:
        _acquire_until_tracking(acq, ("reference", "pointer", "coil"))
        for tool, x in (("reference", 10.0), ("pointer", 20.0), ("coil", 30.0)):
            assert acq.is_live(tool), tool
            np.testing.assert_allclose(acq.latest(tool).position_mm, [x, 0.0, 0.0], atol=1e-3)
        assert acq.stats.device_model == "liberty"
        assert acq.stats.link_warning == ""        # 921600 baud carries 3 stations at 240 Hz
    finally:
        acq.stop()
        em.stop()


def test_a_named_station_keeps_its_name_and_no_two_tools_share_one():
    em = PolhemusEmulator("liberty", stations=(1, 2, 3))
    port = em.serve_pty()
    tracker = PolhemusTracker(port, model="liberty", station_names={3: "pointer"})
    try:
        tracker.connect()
        assert [t.name for t in tracker.tools()] == ["reference", "station2", "pointer"]
    finally:
        tracker.close()
        em.stop()


def test_liberty_at_240_hz_over_115200_baud_says_why_frames_are_lost_and_what_to_do():
    """Issue 12: 84 Hz with ~65 % dropped, and the warning reached only the terminal."""
    em = PolhemusEmulator("liberty", stations=(1, 2, 3))
    port = em.serve_pty()
    acq = Acquisition(functools.partial(PolhemusTracker, port, model="liberty", baud=115200),
                      reconnect=False)
    try:
        _acquire_until_tracking(acq, ("reference",))
        warning, carried, limit_s = acq.stats.link_warning, acq.stats.link_rate_hz, acq.staleness_limit_s
    finally:
        acq.stop()
        em.stop()
    assert warning.startswith("Polhemus Liberty at 240 Hz needs ")
    need = int(warning.split("needs ")[1].split(" ")[0])
    record = PolhemusTracker(port, model="liberty").record_format.length
    # Staleness is judged at the rate the link carries (~83 Hz: frames ~12 ms apart), not at
    # 240 Hz (3 periods = 12.5 ms), where every other fresh frame would flicker "stale".
    assert abs(carried - 115200 / (10 * 3 * record)) < 1e-6
    assert abs(limit_s - 3.0 / carried) < 1e-6 and limit_s > 0.03
    assert need == 10 * 3 * record * 240                       # 8N1: 10 bits per byte
    assert "the link is 115200 baud" in warning
    share = 115200 / need
    assert f"about {100 * share:.0f} % of frames ({share * 240:.0f} Hz)" in warning
    assert f"lower the rate to {115200 // (10 * 3 * record)} Hz or less" in warning
    assert "USB or at 460800 baud" in warning                  # the first standard rate that carries it
