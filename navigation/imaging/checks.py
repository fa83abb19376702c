"""Import problems and the small checks that find them.

The idea follows nibabel's ``batteryrunners`` (a battery of small check functions, each returning
problems with a level and a message), written for tmsnav: a check here is a plain function
``check(...) -> list[Problem]`` and the loader collects every problem into an :class:`ImportReport`.
Errors stop the import (:class:`ImageImportError`); warnings and infos travel with the volume so
the GUI can show them and the session can record them.

Thresholds (all stated here, all tested):

* voxel size: finite and in ``[0.1, 10]`` mm on each axis, else an error;
* head extent: ``[100, 400]`` mm along each voxel axis, else a warning;
* qform vs sform: a flip, more than 1 mm displacement of any corner of the volume or more than
  1 degree of rotation between them is a disagreement (:func:`compare_affines`);
* skull-stripped (:func:`check_skull_stripped`): the outer surface found encloses less than
  2000 mL (an adult head inside its scalp is ~3500-5000 mL down to the usual neck cut, a brain
  1000-1600 mL) AND there is no dark skull shell under it (the median intensity 4-9 mm under the
  surface is more than 0.6 of the median 20-30 mm under it; under a scalp, cortical bone and CSF
  make that band dark in a T1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal

import numpy as np
from nibabel.orientations import aff2axcodes

from ..errors import NavigationError

__all__ = [
    "Problem", "ImportReport", "ImageImportError", "OrientationAmbiguous",
    "MIN_VOXEL_MM", "MAX_VOXEL_MM", "MIN_EXTENT_MM", "MAX_EXTENT_MM",
    "AFFINE_TOL_MM", "AFFINE_TOL_DEG",
    "axcodes", "check_affine", "check_voxel_sizes", "check_extent", "check_data",
    "compare_affines", "corners_mm", "check_skull_stripped", "shell_intensity_ratio",
    "SKULL_STRIPPED_MAX_ML", "SKULL_SHELL_RATIO",
]

MIN_VOXEL_MM = 0.1
MAX_VOXEL_MM = 10.0
MIN_EXTENT_MM = 100.0
MAX_EXTENT_MM = 400.0
AFFINE_TOL_MM = 1.0
AFFINE_TOL_DEG = 1.0
SKULL_STRIPPED_MAX_ML = 2000.0
SKULL_SHELL_RATIO = 0.6

Level = Literal["error", "warning", "info"]
_LEVELS = ("error", "warning", "info")
# Codes that block navigation until a person has confirmed the orientation on screen.
CONFIRM_CODES = frozenset({"orientation-unknown"})
CONFIRMED_CODE = "orientation-confirmed"


@dataclass(frozen=True)
class Problem:
    """One finding: ``level`` is "error" (import refused), "warning" or "info"."""

    level: Level
    code: str
    message: str

    def __post_init__(self) -> None:
        if self.level not in _LEVELS:
            raise ValueError(f"problem level must be one of {_LEVELS}, got {self.level!r}")

    def __str__(self) -> str:
        return f"{self.level}: {self.message} [{self.code}]"

    def to_dict(self) -> dict:
        return {"level": self.level, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class ImportReport:
    """Every problem found while importing one image, in the order found."""

    problems: tuple[Problem, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "problems", tuple(self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def infos(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "info"]

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    @property
    def needs_confirmation(self) -> bool:
        """True while the user must confirm the orientation (e.g. no qform/sform)."""
        codes = self.codes
        return bool(codes & CONFIRM_CODES) and CONFIRMED_CODE not in codes

    def has(self, code: str) -> bool:
        return code in self.codes

    def plus(self, problems: Iterable[Problem]) -> "ImportReport":
        return ImportReport(self.problems + tuple(problems))

    def summary(self) -> str:
        """Human-readable multi-line text, errors first."""
        if not self.problems:
            return "No problems found."
        ordered = sorted(self.problems, key=lambda p: _LEVELS.index(p.level))
        lines = [f"{p.level.upper()}: {p.message}" for p in ordered]
        if self.needs_confirmation:
            lines.append("The orientation must be confirmed before navigation.")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"problems": [p.to_dict() for p in self.problems]}


class ImageImportError(NavigationError):
    """The image cannot be used. ``str()`` names the file and says why; ``problems`` lists all."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems)


class OrientationAmbiguous(ImageImportError):
    """The header holds two different orientations; the user must pick one (``affine_choice``).

    ``options`` maps the candidate name ("sform", "qform") to its 4x4 ``mri_from_voxel``.
    """

    def __init__(self, message: str, options: dict[str, np.ndarray],
                 problems: Iterable[Problem] = ()) -> None:
        super().__init__(message, problems)
        self.options = {k: np.array(v, dtype=float) for k, v in options.items()}


def axcodes(affine: np.ndarray) -> str:
    """Closest anatomical direction of each voxel axis, e.g. "RAS" or "LAS"."""
    return "".join(str(c) for c in aff2axcodes(np.asarray(affine, dtype=float)))


def corners_mm(affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(8, 3) mri positions of the centres of the 8 corner voxels."""
    n = np.asarray((tuple(shape[:3]) + (1, 1, 1))[:3], dtype=float) - 1.0
    ijk = np.array([[a, b, c] for a in (0, n[0]) for b in (0, n[1]) for c in (0, n[2])])
    aff = np.asarray(affine, dtype=float)
    return ijk @ aff[:3, :3].T + aff[:3, 3]


# ----- checks: each returns a list of problems ------------------------------------------------
def check_affine(affine: np.ndarray, what: str) -> list[Problem]:
    """NaN/inf or singular voxel-to-mm matrix: an error (nothing can be placed in space)."""
    a = np.asarray(affine, dtype=float)
    if a.shape != (4, 4):
        return [Problem("error", "affine-shape", f"the {what} affine has shape {a.shape}, not 4x4")]
    if not np.all(np.isfinite(a)):
        return [Problem("error", "affine-nonfinite",
                        f"the {what} affine contains NaN or infinite values; the image cannot be "
                        "placed in space")]
    lin = a[:3, :3]
    sv = np.linalg.svd(lin, compute_uv=False)
    if sv[-1] <= 1e-9 * max(sv[0], 1e-300) or sv[-1] < 1e-6:
        return [Problem("error", "affine-singular",
                        f"the {what} affine is singular (its voxel axes are degenerate, "
                        f"singular values {np.array2string(sv, precision=4)}); the image "
                        "cannot be placed in space")]
    return []


def check_voxel_sizes(sizes_mm: np.ndarray, what: str = "voxel size",
                      unit_note: str = "") -> list[Problem]:
    """Zero, negative, non-finite or absurd (< 0.1 mm, > 10 mm) voxel sizes are errors."""
    s = np.asarray(sizes_mm, dtype=float)
    txt = ", ".join(f"{v:g}" for v in s)
    if not np.all(np.isfinite(s)):
        return [Problem("error", "voxel-size-nonfinite", f"{what} is not a number ({txt} mm)")]
    if np.any(s <= 0):
        return [Problem("error", "voxel-size-nonpositive",
                        f"{what} must be positive, the header says {txt} mm")]
    if np.any(s < MIN_VOXEL_MM) or np.any(s > MAX_VOXEL_MM):
        return [Problem("error", "voxel-size-implausible",
                        f"{what} {txt} mm is outside {MIN_VOXEL_MM:g}..{MAX_VOXEL_MM:g} mm, "
                        f"implausible for an anatomical head image{unit_note}")]
    return []


def check_extent(affine: np.ndarray, shape: tuple[int, ...]) -> list[Problem]:
    """Field of view along each voxel axis outside 100..400 mm: probably not a head (warning)."""
    sizes = np.linalg.norm(np.asarray(affine, dtype=float)[:3, :3], axis=0)
    extent = sizes * np.asarray(shape[:3], dtype=float)
    if np.any(extent < MIN_EXTENT_MM) or np.any(extent > MAX_EXTENT_MM):
        txt = " x ".join(f"{e:.0f}" for e in extent)
        return [Problem("warning", "extent-implausible",
                        f"field of view {txt} mm is outside {MIN_EXTENT_MM:.0f}..{MAX_EXTENT_MM:.0f}"
                        " mm on some axis; check that this is a whole-head image in mm")]
    return []


def check_data(data: np.ndarray) -> tuple[np.ndarray, list[Problem]]:
    """Refuse unusable voxel types/contents; replace NaN/inf by 0 with a warning; make the
    byte order native (values and type unchanged).

    Non-finite voxels are *replaced* (not rejected) because processed images often mark the
    background with NaN; the count goes into a warning. An image with no finite voxel, or a
    constant image, is an error.
    """
    if data.dtype.kind == "c":
        return data, [Problem("error", "data-complex",
                              "voxel values are complex numbers; export a magnitude image")]
    if data.dtype.names is not None or data.dtype.kind not in "biuf":
        return data, [Problem("error", "data-type",
                              f"voxel type {data.dtype} (e.g. RGB) is not a grey-scale image")]
    problems: list[Problem] = []
    if not data.dtype.isnative:  # same values, native byte order (VTK/Qt consumers expect it)
        data = data.astype(data.dtype.newbyteorder("="))
    if data.dtype.kind == "b":
        data = data.astype(np.uint8)
    if data.dtype.kind == "f":
        bad = ~np.isfinite(data)
        n_bad = int(bad.sum())
        if n_bad == data.size:
            return data, [Problem("error", "data-nonfinite",
                                  "every voxel is NaN or infinite; the image holds no data")]
        if n_bad:
            data = np.where(bad, data.dtype.type(0), data)
            problems.append(Problem("warning", "data-nonfinite-replaced",
                                    f"{n_bad} voxels ({100.0 * n_bad / data.size:.2g} %) were NaN "
                                    "or infinite and were set to 0"))
    if data.size == 0:
        return data, [Problem("error", "data-empty", "the image has no voxels")]
    if float(np.min(data)) == float(np.max(data)):
        problems.append(Problem("error", "data-constant",
                                f"every voxel has the same value ({float(data.flat[0]):g}); "
                                "the image holds no anatomy"))
    return data, problems


def compare_affines(a: np.ndarray, b: np.ndarray, shape: tuple[int, ...]) -> tuple[bool, str]:
    """Whether two voxel-to-mm affines agree (no flip, <= 1 mm at every corner, <= 1 degree).

    Returns ``(agree, description)``; the description states the axcodes and the differences.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    codes_a, codes_b = axcodes(a), axcodes(b)
    flip = (codes_a != codes_b) or (np.sign(np.linalg.det(a[:3, :3])) != np.sign(np.linalg.det(b[:3, :3])))
    shift_mm = float(np.max(np.linalg.norm(corners_mm(a, shape) - corners_mm(b, shape), axis=1)))
    angle_deg = _angle_between_deg(a[:3, :3], b[:3, :3])
    agree = (not flip) and shift_mm <= AFFINE_TOL_MM and angle_deg <= AFFINE_TOL_DEG
    desc = (f"{codes_a} vs {codes_b}{' (a flip)' if flip else ''}, corners differ by up to "
            f"{shift_mm:.2f} mm, axes by {angle_deg:.2f} deg")
    return agree, desc


def _angle_between_deg(lin_a: np.ndarray, lin_b: np.ndarray) -> float:
    """Largest angle between corresponding voxel axes of two 3x3 linear parts (degrees)."""
    ua = lin_a / np.linalg.norm(lin_a, axis=0)
    ub = lin_b / np.linalg.norm(lin_b, axis=0)
    cos = np.clip(np.sum(ua * ub, axis=0), -1.0, 1.0)
    return float(np.degrees(np.max(np.arccos(cos))))


def shell_intensity_ratio(sample, points: np.ndarray, inward_normals: np.ndarray) -> float:
    """Median intensity 4-9 mm under a surface over the median 20-30 mm under it.

    ``sample(points) -> values`` reads the image (e.g. ``Volume.value_at``); ``inward_normals``
    are unit vectors into the head. A T1 with its skull gives ~0.2-0.5 (bone and CSF are dark),
    a skull-stripped image ~1 (grey matter right under its surface)."""
    p = np.asarray(points, float)
    n = np.asarray(inward_normals, float)
    if len(p) > 4000:
        keep = np.random.default_rng(0).choice(len(p), 4000, replace=False)
        p, n = p[keep], n[keep]
    shell = np.concatenate([sample(p + d * n) for d in (4.0, 5.5, 7.0, 8.5)])
    deep = np.concatenate([sample(p + d * n) for d in (20.0, 25.0, 30.0)])
    shell, deep = shell[np.isfinite(shell)], deep[np.isfinite(deep)]
    if shell.size == 0 or deep.size == 0 or not np.median(deep) > 0:
        return float("nan")
    return float(np.median(shell) / np.median(deep))


def check_skull_stripped(enclosed_ml: float, shell_ratio: float) -> list[Problem]:
    """A warning when the image looks skull-stripped (brain-sized, no dark skull shell).

    Why it matters: with no scalp, scalp-surface registration and scalp-based planning are
    impossible and any "scalp" is really the brain; see docs/surfaces.md."""
    if enclosed_ml < SKULL_STRIPPED_MAX_ML and not shell_ratio < SKULL_SHELL_RATIO:
        return [Problem("warning", "skull-stripped",
                        f"the image looks skull-stripped (the head found encloses only "
                        f"{enclosed_ml:.0f} mL, brain-sized, with no dark skull under its surface): "
                        "it has no scalp, so scalp registration, scalp targets and navigation are "
                        "unavailable. Open the T1 with the scalp and load this image as its brain "
                        "surface (Display > Load brain surface).")]
    return []
