"""Technician's math: pointer pivot calibration, fiducial + scalp registration, TRE, checks.

Typical use (all mm; ``reference`` = the head marker, so the patient may move)::

    cal = pivot_calibrate(poses)                          # tracker_from_pointer samples
    tip = tip_in_frame(tracker_from_reference, tracker_from_pointer, cal.tip_offset_mm)
    scalp = SurfaceIndex(scalp_mesh)                      # MRI scalp, built once
    result = register(mri_fiducials, touched_fiducials,
                      scalp_points_reference=points, surface=scalp, targets_mri=targets)
    if result.accepted: mri_from_reference = result.mri_from_reference
    # result.predicted_error_mm: 95 % bound incl. a measured offset / scale of the points

See ``docs/registration.md`` for the maths, the thresholds and why.
"""

from .bias import SurfaceBias, analyse_surface_bias
from .errors import CalibrationError, RegistrationError
from .fiducials import FiducialRegistration, check_scalp_side, register_fiducials
from .icp import IcpOptions, IcpResult, refine_with_surface
from .pivot import PivotCalibration, pivot_calibrate, rotation_spread, tip_in_frame
from .result import RegistrationResult
from .rigid import RigidFit, fit_rigid
from .sides import MIN_CHECK_POINTS, check_sides
from .surface_index import ClosestPoints, SurfaceIndex
from .tre import fle_from_fre, predicted_tre, predicted_tre_from_covariance
from .verification import PointerCheck, check_pointer, tip_in_mri
from .workflow import register

__all__ = [
    "CalibrationError", "RegistrationError",
    "PivotCalibration", "pivot_calibrate", "rotation_spread", "tip_in_frame",
    "RigidFit", "fit_rigid",
    "FiducialRegistration", "register_fiducials", "check_scalp_side", "check_sides",
    "MIN_CHECK_POINTS", "SurfaceBias", "analyse_surface_bias",
    "SurfaceIndex", "ClosestPoints",
    "IcpOptions", "IcpResult", "refine_with_surface",
    "fle_from_fre", "predicted_tre", "predicted_tre_from_covariance",
    "PointerCheck", "check_pointer", "tip_in_mri",
    "RegistrationResult", "register",
]
