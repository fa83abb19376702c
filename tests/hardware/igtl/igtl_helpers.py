"""Small helpers shared by the OpenIGTLink tests."""

import socket
import time

import numpy as np


def pose(x, y, z, angle_deg=0.0):
    """A rigid 4x4 (mm): rotation about z by ``angle_deg``, translation (x, y, z)."""
    a = np.radians(angle_deg)
    m = np.eye(4)
    m[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    m[:3, 3] = [x, y, z]
    return m


def wait_until(predicate, timeout_s=3.0):
    """Poll ``predicate`` until it is true (True) or ``timeout_s`` passes (False): tests wait for a
    condition, never for a fixed time."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def started(tracker):
    """``tracker`` connected and streaming (what every driver test does first)."""
    tracker.connect()
    tracker.start()
    return tracker
