"""Small helpers shared by the OpenIGTLink tests."""

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
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False
