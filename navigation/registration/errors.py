"""Errors of the calibration and registration steps.

``str(err)`` is a sentence the technician can act on ("rotate the pointer more", "LPA and RPA
look swapped"), shown as is by the GUI; it never leaks a numpy traceback.
"""

from __future__ import annotations

from ..errors import NavigationError

__all__ = ["CalibrationError", "RegistrationError"]


class CalibrationError(NavigationError):
    """A pointer pivot or coil calibration that must not be used (too little motion, too much
    residual, too few samples, implausible geometry)."""


class RegistrationError(NavigationError):
    """Fiducials or surface points that cannot give a trustworthy patient-to-image registration
    (mirrored or collinear fiducials, unit mix-up, ICP drift, too few points)."""
