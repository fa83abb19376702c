"""Frame-checked 4x4 transforms (millimetres, radians).

A transform is named ``<to>_from_<from>`` and composition reads right to left, so names chain:
``mri_from_coil = mri_from_reference @ reference_from_tracker @ tracker_from_coil``.
:class:`Transform` carries its two frames and refuses to compose frames that do not chain
(the idea of MNE-Python's ``combine_transforms``). Raw arrays stay at the edges (I/O, kernels).

The rigid inverse is closed form ``[R^T, -R^T t]`` after checking that ``R`` is a proper rotation;
a singular or non-rigid matrix is never "inverted" with a pseudo-inverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

import numpy as np
from scipy.spatial.transform import Rotation

__all__ = [
    "Frame",
    "Transform",
    "TransformError",
    "make_rigid",
    "invert_rigid",
    "is_rigid",
    "rigid_error",
    "RIGID_TOL",
    "apply_to_points",
    "rotation_angle_rad",
    "orthonormalize",
]

#: The one tolerance for "is this a rigid transform" (also used by ``hardware``). Why 1e-6:
#: a rotation sent as float32 (OpenIGTLink, PLUS) is off by at most 1.1e-7 (measured over
#: 200 000 random rotations), so it passes with a 9x margin; the closed-form inverse of a
#: matrix that passes is wrong by at most about ``tol * |t|`` = 0.003 mm at 3 m from the
#: camera; and every real non-rigid mistake (a 0.1 % scale, a shear, a mirror, mm vs m) is
#: at least 1e-3, a thousand times above it. A matrix typed with 4-6 decimals (a calibration
#: file) is off by up to 2e-6 (6 decimals) or 2e-4 (4 decimals): readers of such files must
#: check it coarsely and re-orthonormalise it (:func:`orthonormalize`), not loosen this.
RIGID_TOL = 1e-6


class TransformError(ValueError):
    """A transform that is malformed, non-rigid where rigid is required, or mis-chained."""


class Frame(str, Enum):
    """The closed vocabulary of coordinate frames (see docs/design.md)."""

    VOXEL = "voxel"
    MRI = "mri"
    MNI = "mni"
    TRACKER = "tracker"
    REFERENCE = "reference"
    POINTER = "pointer"
    POINTER_TIP = "pointer_tip"
    COIL = "coil"
    HOTSPOT = "hotspot"
    TARGET = "target"
    DISPLAY = "display"  # reoriented voxel grid used only to draw slices
    BOLD = "bold"  # a functional run's own scanner mm, before it is coregistered to the T1

    @classmethod
    def parse(cls, value: "Frame | str") -> "Frame":
        if isinstance(value, Frame):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            valid = ", ".join(f.value for f in cls)
            raise TransformError(f"unknown frame {value!r}; valid frames: {valid}") from None

    def __str__(self) -> str:  # "mri", not "Frame.MRI", in messages
        return self.value


def _as_matrix(matrix: Iterable) -> np.ndarray:
    m = np.array(matrix, dtype=float)
    if m.shape != (4, 4):
        raise TransformError(f"a transform must be 4x4, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise TransformError("transform contains NaN or infinite values")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=1e-9):
        raise TransformError(f"bottom row of a 4x4 transform must be [0 0 0 1], got {m[3]}")
    m[3] = [0.0, 0.0, 0.0, 1.0]
    m.setflags(write=False)
    return m


def rigid_error(matrix: np.ndarray) -> float:
    """How far ``matrix`` is from a rigid transform: the largest of ``|R^T R - I|``,
    ``|det R - 1|`` and (4x4) ``|bottom row - [0 0 0 1]|``; ``inf`` for a wrong shape or a
    non-finite entry. ``matrix`` is a 4x4 transform or a 3x3 rotation."""
    m = np.asarray(matrix, dtype=float)
    if m.shape not in ((4, 4), (3, 3)) or not np.all(np.isfinite(m)):
        return float("inf")
    r = m[:3, :3]
    err = max(float(np.max(np.abs(r.T @ r - np.eye(3)))), abs(float(np.linalg.det(r)) - 1.0))
    if m.shape == (4, 4):
        err = max(err, float(np.max(np.abs(m[3] - [0.0, 0.0, 0.0, 1.0]))))
    return err


def is_rigid(matrix: np.ndarray, tol: float = RIGID_TOL) -> bool:
    """True when ``matrix`` (4x4, or a 3x3 rotation) is finite, its 3x3 is a proper rotation
    (orthonormal, det +1) and a 4x4's bottom row is ``0 0 0 1``, all within ``tol``
    (:data:`RIGID_TOL`, see there why). The project's only rigidity test (hardware too)."""
    return rigid_error(matrix) <= tol


def make_rigid(rotation: np.ndarray, translation_mm: Iterable[float]) -> np.ndarray:
    """4x4 array from a 3x3 rotation and a translation in mm."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(rotation, dtype=float)
    m[:3, 3] = np.asarray(translation_mm, dtype=float)
    return m


def invert_rigid(matrix: np.ndarray, tol: float = RIGID_TOL) -> np.ndarray:
    """Closed-form inverse of a rigid 4x4; raises if it is not rigid."""
    m = np.asarray(matrix, dtype=float)
    if not is_rigid(m, tol):
        raise TransformError("matrix is not rigid (rotation not orthonormal or det != +1)")
    r = m[:3, :3]
    return make_rigid(r.T, -r.T @ m[:3, 3])


def orthonormalize(rotation: np.ndarray) -> np.ndarray:
    """Nearest proper rotation to a 3x3 matrix (SVD polar decomposition)."""
    u, _, vt = np.linalg.svd(np.asarray(rotation, dtype=float))
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def apply_to_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 to points of shape (..., 3)."""
    p = np.asarray(points, dtype=float)
    m = np.asarray(matrix, dtype=float)
    return p @ m[:3, :3].T + m[:3, 3]


def rotation_angle_rad(rotation: np.ndarray) -> float:
    """Angle of the rotation (0..pi), robust near 0 and pi."""
    r = np.asarray(rotation, dtype=float)[:3, :3]
    return float(Rotation.from_matrix(orthonormalize(r)).magnitude())


@dataclass(frozen=True, eq=False)
class Transform:
    """A 4x4 map from ``from_frame`` to ``to_frame`` (mm). Immutable.

    >>> t = Transform.from_translation([10, 0, 0], to_frame="mri", from_frame="reference")
    >>> t.apply([0, 0, 0]).tolist()
    [10.0, 0.0, 0.0]
    """

    to_frame: Frame
    from_frame: Frame
    matrix: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "to_frame", Frame.parse(self.to_frame))
        object.__setattr__(self, "from_frame", Frame.parse(self.from_frame))
        object.__setattr__(self, "matrix", _as_matrix(self.matrix))

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def identity(cls, to_frame: Frame | str, from_frame: Frame | str) -> "Transform":
        return cls(Frame.parse(to_frame), Frame.parse(from_frame), np.eye(4))

    @classmethod
    def from_translation(cls, translation_mm: Iterable[float], *, to_frame: Frame | str,
                         from_frame: Frame | str) -> "Transform":
        return cls(Frame.parse(to_frame), Frame.parse(from_frame), make_rigid(np.eye(3), translation_mm))

    @classmethod
    def from_rotation(cls, rotation: np.ndarray | Rotation, translation_mm: Iterable[float] = (0, 0, 0),
                      *, to_frame: Frame | str, from_frame: Frame | str) -> "Transform":
        r = rotation.as_matrix() if isinstance(rotation, Rotation) else np.asarray(rotation, float)
        m = make_rigid(r, translation_mm)
        if not is_rigid(m):
            raise TransformError("rotation is not a proper rotation matrix")
        return cls(Frame.parse(to_frame), Frame.parse(from_frame), m)

    @classmethod
    def from_quaternion(cls, quaternion_wxyz: Iterable[float], translation_mm: Iterable[float], *,
                        to_frame: Frame | str, from_frame: Frame | str) -> "Transform":
        """Scalar-first quaternion (NDI order q0, qx, qy, qz); normalised before use."""
        q = np.asarray(quaternion_wxyz, dtype=float)
        if q.shape != (4,) or not np.all(np.isfinite(q)) or np.linalg.norm(q) < 1e-9:
            raise TransformError(f"invalid quaternion {q}")
        r = Rotation.from_quat(q, scalar_first=True)
        return cls.from_rotation(r, translation_mm, to_frame=to_frame, from_frame=from_frame)

    @classmethod
    def from_euler(cls, seq: str, angles_rad: Iterable[float], translation_mm: Iterable[float] = (0, 0, 0),
                   *, to_frame: Frame | str, from_frame: Frame | str) -> "Transform":
        """Euler angles in radians (scipy's ``seq``: upper case = intrinsic, lower = extrinsic)."""
        r = Rotation.from_euler(seq, np.asarray(list(angles_rad), dtype=float))
        return cls.from_rotation(r, translation_mm, to_frame=to_frame, from_frame=from_frame)

    # ----- properties ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"{self.to_frame.value}_from_{self.from_frame.value}"

    @property
    def rotation(self) -> np.ndarray:
        """Upper-left 3x3 (the linear part; a rotation only when :attr:`is_rigid`)."""
        return np.array(self.matrix[:3, :3])

    @property
    def translation(self) -> np.ndarray:
        return np.array(self.matrix[:3, 3])

    @property
    def is_rigid(self) -> bool:
        return is_rigid(self.matrix)

    def to_quaternion(self) -> np.ndarray:
        """Scalar-first unit quaternion (w, x, y, z) of a rigid transform."""
        self._require_rigid("to_quaternion")
        return Rotation.from_matrix(self.rotation).as_quat(scalar_first=True)

    def to_euler(self, seq: str) -> np.ndarray:
        """Euler angles in radians for scipy sequence ``seq`` (rigid only)."""
        self._require_rigid("to_euler")
        return Rotation.from_matrix(self.rotation).as_euler(seq)

    def rotation_angle_rad(self) -> float:
        self._require_rigid("rotation_angle_rad")
        return rotation_angle_rad(self.rotation)

    # ----- algebra ------------------------------------------------------------------------
    def __matmul__(self, other: "Transform") -> "Transform":
        if not isinstance(other, Transform):
            return NotImplemented
        if self.from_frame != other.to_frame:
            raise TransformError(
                f"transform mismatch: {self.name} @ {other.name} "
                f"({self.from_frame} != {other.to_frame})")
        return Transform(self.to_frame, other.from_frame, self.matrix @ other.matrix)

    def inverse(self) -> "Transform":
        """Closed form for rigid transforms; LU inverse for well-conditioned affines."""
        if self.is_rigid:
            inv = invert_rigid(self.matrix)
        else:
            lin = self.matrix[:3, :3]
            if abs(np.linalg.det(lin)) < 1e-9 or np.linalg.cond(lin) > 1e8:
                raise TransformError(f"{self.name} is singular and cannot be inverted")
            inv = np.linalg.inv(self.matrix)
        return Transform(self.from_frame, self.to_frame, inv)

    def apply(self, points: Iterable) -> np.ndarray:
        """Map points of shape (3,) or (N, 3) from ``from_frame`` to ``to_frame``."""
        return apply_to_points(self.matrix, np.asarray(points, dtype=float))

    def apply_direction(self, vectors: Iterable) -> np.ndarray:
        """Map free vectors (no translation). For affines this is the linear part only."""
        v = np.asarray(vectors, dtype=float)
        return v @ self.matrix[:3, :3].T

    def is_close(self, other: "Transform", atol_mm: float = 1e-6, atol_rad: float = 1e-9) -> bool:
        if (self.to_frame, self.from_frame) != (other.to_frame, other.from_frame):
            return False
        if np.linalg.norm(self.translation - other.translation) > atol_mm:
            return False
        if self.is_rigid and other.is_rigid:
            return rotation_angle_rad(self.rotation.T @ other.rotation) <= atol_rad
        return bool(np.allclose(self.rotation, other.rotation, atol=atol_rad))

    # ----- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"to": self.to_frame.value, "from": self.from_frame.value,
                "matrix": [[float(x) for x in row] for row in self.matrix]}

    @classmethod
    def from_dict(cls, d: dict) -> "Transform":
        return cls(d["to"], d["from"], np.array(d["matrix"], dtype=float))

    def _require_rigid(self, what: str) -> None:
        if not self.is_rigid:
            raise TransformError(f"{what} needs a rigid transform; {self.name} is not rigid")

    def __repr__(self) -> str:
        t = self.translation
        kind = "rigid" if self.is_rigid else "affine"
        return (f"<Transform {self.name} ({kind}) t=({t[0]:.2f}, {t[1]:.2f}, {t[2]:.2f}) mm>")
