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
