"""The registration record stored in the session file.

Everything needed to audit a registration later: when, how, the raw fiducials and surface
points, the transform, the errors and the verdict. ``to_dict`` is JSON-safe (plain floats,
lists, strings; NaN/inf become ``None``) and ``from_dict(to_dict(r))`` reproduces every number
exactly (Python's float repr round-trips).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..transforms import Frame, Transform

__all__ = ["RegistrationResult", "FORMAT_VERSION", "METHODS"]

FORMAT_VERSION = 2          # 2 added the honest prediction and the surface bias (reads 1)
METHODS = ("fiducials", "fiducials+icp")


def _floats(a: object) -> list:
    arr = np.asarray(a, dtype=float)
    return [_float(x) for x in arr] if arr.ndim == 1 else [_floats(row) for row in arr]


def _float(x: object) -> float | None:
    v = float(x)  # type: ignore[arg-type]
    return v if np.isfinite(v) else None


def _optional(x: float | None) -> float | None:
    return None if x is None else _float(x)


def _opt_in(x: object) -> float | None:
    return None if x is None else float(x)  # type: ignore[arg-type]


def _array(values: object, shape_tail: tuple[int, ...] = ()) -> np.ndarray:
    arr = np.array([np.nan if v is None else v for v in np.ravel(np.array(values, dtype=object))],
                   dtype=float)
    return arr.reshape((-1, *shape_tail)) if shape_tail else arr


@dataclass(frozen=True, eq=False)
class RegistrationResult:
    """A patient-to-image registration (``mri_from_reference``) with its evidence."""

    timestamp: str                              # ISO 8601, UTC
    method: str                                 # "fiducials" or "fiducials+icp"
    fiducial_names: tuple[str, ...]
    fiducials_mri_mm: np.ndarray                # (N, 3)
    fiducials_reference_mm: np.ndarray          # (N, 3)
    fiducial_weights: np.ndarray                # (N,)
    mri_from_reference: Transform
    fiducial_mri_from_reference: Transform      # the fiducial-only solution
    fre_mm: np.ndarray                          # (N,)
    fre_rms_mm: float
    fle_mm: float                               # FLE used for the FWM prediction
    predicted_tre_fiducials_mm: dict[str, float]
    accepted: bool
    problems: tuple[str, ...] = ()
    scalp_points_reference_mm: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    icp_distances_mm: np.ndarray = field(default_factory=lambda: np.zeros(0))  # signed
    icp_inliers: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    icp_rms_mm: float | None = None
    icp_iterations: int | None = None
    icp_converged: bool | None = None
    predicted_tre_icp_mm: dict[str, float] = field(default_factory=dict)
    # the figure shown to the user: a 95 % bound = random (95 %) + systematic, per target
    predicted_error_mm: dict[str, float] = field(default_factory=dict)
    predicted_error_random_mm: dict[str, float] = field(default_factory=dict)
    predicted_error_systematic_mm: dict[str, float] = field(default_factory=dict)
    # systematic surface errors (``bias.py``); None without a surface match
    surface_offset_mm: float | None = None      # points outside the skin (offset model)
    surface_offset_se_mm: float | None = None
    head_scale: float | None = None             # head size / MRI size (similarity model)
    head_scale_se: float | None = None
    bias_cause: str | None = None               # "offset", "scale" or "offset or scale"
    mean_surface_distance_mm: float | None = None   # plain signed mean of the point distances

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        for t in (self.mri_from_reference, self.fiducial_mri_from_reference):
            if (t.to_frame, t.from_frame) != (Frame.MRI, Frame.REFERENCE):
                raise ValueError(f"expected mri_from_reference, got {t.name}")

    @property
    def predicted_tre_mm(self) -> dict[str, float]:
        """Prediction for the method used (ICP covariance when refined, else FWM 1998)."""
        return dict(self.predicted_tre_icp_mm if self.method == "fiducials+icp"
                    else self.predicted_tre_fiducials_mm)

    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "timestamp": self.timestamp,
            "method": self.method,
            "fiducial_names": list(self.fiducial_names),
            "fiducials_mri_mm": _floats(self.fiducials_mri_mm),
            "fiducials_reference_mm": _floats(self.fiducials_reference_mm),
            "fiducial_weights": _floats(self.fiducial_weights),
            "mri_from_reference": self.mri_from_reference.to_dict(),
            "fiducial_mri_from_reference": self.fiducial_mri_from_reference.to_dict(),
            "fre_mm": _floats(self.fre_mm),
            "fre_rms_mm": _float(self.fre_rms_mm),
            "fle_mm": _float(self.fle_mm),
            "predicted_tre_fiducials_mm": {k: _float(v) for k, v in
                                           self.predicted_tre_fiducials_mm.items()},
            "accepted": bool(self.accepted),
            "problems": list(self.problems),
            "scalp_points_reference_mm": _floats(self.scalp_points_reference_mm.reshape(-1, 3)),
            "icp_distances_mm": _floats(self.icp_distances_mm),
            "icp_inliers": [bool(x) for x in self.icp_inliers],
            "icp_rms_mm": None if self.icp_rms_mm is None else _float(self.icp_rms_mm),
            "icp_iterations": self.icp_iterations,
            "icp_converged": self.icp_converged,
            "predicted_tre_icp_mm": {k: _float(v) for k, v in self.predicted_tre_icp_mm.items()},
            "predicted_error_mm": {k: _float(v) for k, v in self.predicted_error_mm.items()},
            "predicted_error_random_mm": {k: _float(v) for k, v in
                                          self.predicted_error_random_mm.items()},
            "predicted_error_systematic_mm": {k: _float(v) for k, v in
                                              self.predicted_error_systematic_mm.items()},
            "surface_offset_mm": _optional(self.surface_offset_mm),
            "surface_offset_se_mm": _optional(self.surface_offset_se_mm),
            "head_scale": _optional(self.head_scale),
            "head_scale_se": _optional(self.head_scale_se),
            "bias_cause": self.bias_cause,
            "mean_surface_distance_mm": _optional(self.mean_surface_distance_mm),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "RegistrationResult":
        version = d.get("format_version")
        if version not in (1, FORMAT_VERSION):
            raise ValueError(f"unsupported registration format_version {version!r} "
                             f"(this tmsnav reads {FORMAT_VERSION})")

        def nan(v: object) -> float:
            return float("nan") if v is None else float(v)  # type: ignore[arg-type]

        return cls(
            timestamp=str(d["timestamp"]), method=str(d["method"]),
            fiducial_names=tuple(str(n) for n in d["fiducial_names"]),
            fiducials_mri_mm=_array(d["fiducials_mri_mm"], (3,)),
            fiducials_reference_mm=_array(d["fiducials_reference_mm"], (3,)),
            fiducial_weights=_array(d["fiducial_weights"]),
            mri_from_reference=Transform.from_dict(d["mri_from_reference"]),
            fiducial_mri_from_reference=Transform.from_dict(d["fiducial_mri_from_reference"]),
            fre_mm=_array(d["fre_mm"]), fre_rms_mm=nan(d["fre_rms_mm"]), fle_mm=nan(d["fle_mm"]),
            predicted_tre_fiducials_mm={k: nan(v) for k, v in
                                        d["predicted_tre_fiducials_mm"].items()},
            accepted=bool(d["accepted"]), problems=tuple(str(p) for p in d["problems"]),
            scalp_points_reference_mm=_array(d["scalp_points_reference_mm"], (3,)),
            icp_distances_mm=_array(d["icp_distances_mm"]),
            icp_inliers=np.array(d["icp_inliers"], dtype=bool),
            icp_rms_mm=None if d["icp_rms_mm"] is None else float(d["icp_rms_mm"]),
            icp_iterations=None if d["icp_iterations"] is None else int(d["icp_iterations"]),
            icp_converged=None if d["icp_converged"] is None else bool(d["icp_converged"]),
            predicted_tre_icp_mm={k: nan(v) for k, v in d["predicted_tre_icp_mm"].items()},
            predicted_error_mm={k: nan(v) for k, v in d.get("predicted_error_mm", {}).items()},
            predicted_error_random_mm={k: nan(v) for k, v in
                                       d.get("predicted_error_random_mm", {}).items()},
            predicted_error_systematic_mm={k: nan(v) for k, v in
                                           d.get("predicted_error_systematic_mm", {}).items()},
            surface_offset_mm=_opt_in(d.get("surface_offset_mm")),
            surface_offset_se_mm=_opt_in(d.get("surface_offset_se_mm")),
            head_scale=_opt_in(d.get("head_scale")),
            head_scale_se=_opt_in(d.get("head_scale_se")),
            bias_cause=d.get("bias_cause"),
            mean_surface_distance_mm=_opt_in(d.get("mean_surface_distance_mm")))
