"""MRI volumes in scanner RAS millimetres: the :class:`Volume` type and :func:`load_volume`.

A :class:`Volume` keeps the voxels exactly as stored (file order, stored dtype) plus the exact
``mri_from_voxel`` affine chosen on import (oblique kept, never "cleaned"), the sha256 of the
file bytes and an :class:`~tmsnav.navigation.imaging.checks.ImportReport` of everything found on import.
Slices for drawing come from :class:`DisplayGrid`: the same voxels re-ordered by flips and axis
permutations only (nibabel ``io_orientation``), so world coordinates stay exact.

Formats: NIfTI-1/2 (``.nii``, ``.nii.gz``, ``.hdr``/``.img`` pairs), FreeSurfer ``.mgz``/``.mgh``
and DICOM series (a folder, or one file of the series). See ``docs/imaging.md``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from nibabel.orientations import io_orientation
from scipy import ndimage

from .checks import (
    ImageImportError, ImportReport, OrientationAmbiguous, Problem, axcodes, check_affine,
    check_data, check_extent, check_voxel_sizes, corners_mm,
)
from ..progress import CancelToken, ProgressCallback, report
from ..transforms import Frame, Transform

__all__ = [
    "Volume", "DisplayGrid", "load_volume", "ImageImportError", "OrientationAmbiguous",
    "ImportReport", "Problem", "SUPPORTED_FORMATS",
]

SUPPORTED_FORMATS = ("NIfTI (.nii, .nii.gz, .hdr/.img)", "FreeSurfer (.mgz, .mgh)",
                     "DICOM series (folder or one slice file)")


def _as_points(points) -> tuple[np.ndarray, bool]:
    p = np.asarray(points, dtype=float)
    if p.shape == (3,):
        return p[None, :], True
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"points must have shape (3,) or (N, 3), got {p.shape}")
    return p, False


def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.view()
        a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class DisplayGrid:
    """The same voxels re-ordered (flips/permutations only, nibabel ``io_orientation``) so that
    axis 0 points toward patient Right, axis 1 Anterior, axis 2 Superior (closest axes).

    No resampling: world coordinates stay exact through ``mri_from_display`` (oblique kept).
    """

    data: np.ndarray
    mri_from_display: Transform
    voxel_from_display: Transform

    @classmethod
    def from_volume(cls, data: np.ndarray, mri_from_voxel: Transform) -> "DisplayGrid":
        affine = mri_from_voxel.matrix
        ornt = io_orientation(affine)          # ornt[source axis] = (display axis, flip)
        shape = data.shape
        voxel_from_display = np.zeros((4, 4))
        voxel_from_display[3, 3] = 1.0
        view = data
        order = [0, 0, 0]
        for src in range(3):
            dst, flip = int(ornt[src, 0]), float(ornt[src, 1])
            order[dst] = src
            voxel_from_display[src, dst] = flip
            if flip < 0:
                view = np.flip(view, axis=src)
                voxel_from_display[src, 3] = shape[src] - 1
        view = _readonly(np.transpose(view, order))
        vfd = Transform(Frame.VOXEL, Frame.DISPLAY, voxel_from_display)
        return cls(view, mri_from_voxel @ vfd, vfd)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def spacing_mm(self) -> np.ndarray:
        """Voxel size along display axes 0 (R), 1 (A), 2 (S)."""
        return np.linalg.norm(self.mri_from_display.matrix[:3, :3], axis=0)

    def axial(self, k: int) -> np.ndarray:
        """Axial slice ``k`` (display axis 2), indexed ``[i (R), j (A)]``."""
        return self.data[:, :, int(k)]

    def coronal(self, j: int) -> np.ndarray:
        """Coronal slice ``j`` (display axis 1), indexed ``[i (R), k (S)]``."""
        return self.data[:, int(j), :]

    def sagittal(self, i: int) -> np.ndarray:
        """Sagittal slice ``i`` (display axis 0), indexed ``[j (A), k (S)]``."""
        return self.data[int(i), :, :]

    def display_to_mri(self, ijk) -> np.ndarray:
        return self.mri_from_display.apply(ijk)

    def mri_to_display(self, xyz) -> np.ndarray:
        return self._display_from_mri.apply(xyz)

    @property
    def _display_from_mri(self) -> Transform:
        cached = self.__dict__.get("_dfm")
        if cached is None:
            cached = self.mri_from_display.inverse()
            object.__setattr__(self, "_dfm", cached)
        return cached


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3-D image in scanner RAS+ millimetres (see module docstring)."""

    data: np.ndarray
    mri_from_voxel: Transform
    sha256: str
    source: Path | None
    name: str
    report: ImportReport = field(default_factory=ImportReport)
    affine_source: str = "array"
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.mri_from_voxel, Transform):
            object.__setattr__(self, "mri_from_voxel",
                               Transform(Frame.MRI, Frame.VOXEL, np.asarray(self.mri_from_voxel)))
        t = self.mri_from_voxel
        if (t.to_frame, t.from_frame) != (Frame.MRI, Frame.VOXEL):
            raise ValueError(f"Volume needs an mri_from_voxel transform, got {t.name}")
        data = np.asarray(self.data)
        if data.ndim != 3:
            raise ValueError(f"Volume data must be 3-D, got shape {data.shape}")
        object.__setattr__(self, "data", _readonly(data))

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def from_array(cls, data: np.ndarray, mri_from_voxel: Transform | np.ndarray,
                   name: str = "array") -> "Volume":
        """A checked volume from memory (tests, generated data). Raises :class:`ImageImportError`
        for the same data/affine errors as :func:`load_volume`."""
        if isinstance(mri_from_voxel, Transform):
            if (mri_from_voxel.to_frame, mri_from_voxel.from_frame) != (Frame.MRI, Frame.VOXEL):
                raise ValueError(f"Volume needs an mri_from_voxel transform, got {mri_from_voxel.name}")
            affine = mri_from_voxel.matrix
        else:
            affine = mri_from_voxel
        affine = np.asarray(affine, dtype=float)
        arr = np.asarray(data)
        problems: list[Problem] = []
        if arr.ndim != 3:
            problems.append(Problem("error", "not-3d", f"data must be 3-D, got shape {arr.shape}"))
        else:
            problems += check_affine(affine, "given")
            if not problems:
                problems += check_voxel_sizes(np.linalg.norm(affine[:3, :3], axis=0))
            arr, data_problems = check_data(arr)
            problems += data_problems
            if not any(p.level == "error" for p in problems):
                problems += check_extent(affine, arr.shape)
        errors = [p for p in problems if p.level == "error"]
        if errors:
            raise ImageImportError(f"{name}: " + "; ".join(p.message for p in errors), problems)
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(arr).tobytes())
        digest.update(str(arr.dtype).encode() + str(arr.shape).encode() + affine.tobytes())
        return cls(arr, Transform(Frame.MRI, Frame.VOXEL, affine), digest.hexdigest(), None, name,
                   ImportReport(tuple(problems)), "array")

    def with_orientation_confirmed(self, reason: str, *, flip_lr: bool = False) -> "Volume":
        """The same volume after a person checked the orientation on screen.

        ``flip_lr=True`` mirrors the world x axis (the user saw the L/R marker on the wrong
        side); the voxels are untouched. The reason is kept in the report (and so the session).
        """
        mri_from_voxel = self.mri_from_voxel
        note = f"orientation confirmed by the user: {reason}"
        if flip_lr:
            mirror = Transform(Frame.MRI, Frame.MRI, np.diag([-1.0, 1.0, 1.0, 1.0]))
            mri_from_voxel = mirror @ mri_from_voxel
            note += " (left/right mirrored)"
        report_ = self.report.plus([Problem("info", "orientation-confirmed", note)])
        return Volume(self.data, mri_from_voxel, self.sha256, self.source, self.name, report_,
                      self.affine_source)

    def to_record(self) -> dict:
        """What a session file keeps about the image: where from, which bytes, which affine, why."""
        return {"name": self.name, "path": str(self.source) if self.source else None,
                "sha256": self.sha256, "affine_source": self.affine_source,
                "mri_from_voxel": self.mri_from_voxel.to_dict(), "shape": list(self.shape),
                "dtype": str(self.data.dtype), **self.report.to_dict()}

    # ----- geometry -----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def voxel_sizes_mm(self) -> np.ndarray:
        return np.linalg.norm(self.mri_from_voxel.matrix[:3, :3], axis=0)

    @property
    def axcodes(self) -> str:
        """Closest anatomical direction of each stored voxel axis, e.g. "LAS"."""
        return axcodes(self.mri_from_voxel.matrix)

    def bounds_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """(min xyz, max xyz) over the 8 corner voxel centres, in mri mm."""
        c = corners_mm(self.mri_from_voxel.matrix, self.shape)
        return c.min(axis=0), c.max(axis=0)

    @property
    def voxel_from_mri(self) -> Transform:
        cached = self.__dict__.get("_vfm")
        if cached is None:
            cached = self.mri_from_voxel.inverse()
            object.__setattr__(self, "_vfm", cached)
        return cached

    def voxel_to_mri(self, ijk) -> np.ndarray:
        """Voxel indices (3,) or (N, 3) to mri mm."""
        return self.mri_from_voxel.apply(ijk)

    def mri_to_voxel(self, xyz) -> np.ndarray:
        """mri mm (3,) or (N, 3) to continuous voxel indices."""
        return self.voxel_from_mri.apply(xyz)

    def value_at(self, xyz, order: int = 1):
        """Interpolated value at mri points (NaN outside the grid). ``order``: 0 nearest,
        1 trilinear, 3 cubic spline (slow: prefilters the whole volume on every call)."""
        pts, single = _as_points(xyz)
        ijk = self.mri_to_voxel(pts)
        out = ndimage.map_coordinates(self.data, ijk.T, order=order, mode="constant",
                                      cval=np.nan, output=np.float64)
        return float(out[0]) if single else out

    # ----- display ------------------------------------------------------------------------
    def default_window(self) -> tuple[float, float]:
        """(level, width) from the 1st..99.5th percentiles of the non-zero voxels."""
        cached = self.__dict__.get("_window")
        if cached is None:
            step = max(1, int(round((self.data.size / 2_000_000) ** (1 / 3))))
            sample = self.data[::step, ::step, ::step]
            sample = sample[sample != 0]
            if sample.size == 0:
                sample = self.data.ravel()
            lo, hi = np.percentile(sample.astype(np.float64), [1.0, 99.5])
            width = float(hi - lo) if hi > lo else max(abs(float(hi)), 1.0)
            cached = (float(lo) + width / 2.0 if hi > lo else float(lo), width)
            object.__setattr__(self, "_window", cached)
        return cached

    def display_grid(self) -> DisplayGrid:
        """The RAS-ordered view of the voxels (computed once, thread-safe)."""
        with self._lock:
            grid = self.__dict__.get("_grid")
            if grid is None:
                grid = DisplayGrid.from_volume(self.data, self.mri_from_voxel)
                object.__setattr__(self, "_grid", grid)
        return grid

    def __repr__(self) -> str:
        vs = ", ".join(f"{v:.3g}" for v in self.voxel_sizes_mm)
        return (f"<Volume {self.name!r} {self.shape} {self.data.dtype} {self.axcodes} "
                f"voxels ({vs}) mm from {self.affine_source}>")


def load_volume(path: str | Path, *, require_3d: bool = True, affine_choice: str | None = None,
                series_uid: str | None = None, progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None) -> Volume:
    """Load an anatomical image into a checked :class:`Volume` (scanner RAS+ mm).

    Raises :class:`ImageImportError` (``str()`` names the file and the problem) for anything a
    user can fix, and :class:`OrientationAmbiguous` when qform and sform disagree and
    ``affine_choice`` ("sform", "qform" or "base") was not given. ``series_uid`` picks one
    series from a DICOM folder holding several.
    """
    from . import readers as image_readers  # local import: keeps this module small and import-light

    p = Path(path).expanduser()
    report(progress, 0.0, f"Opening {p.name}", cancel)
    if not p.exists():
        raise ImageImportError(f"{p}: no such file or folder")
    loaded = image_readers.read_any(p, affine_choice=affine_choice, series_uid=series_uid,
                                    progress=progress, cancel=cancel)
    data, problems = loaded.data, list(loaded.problems)
    if data.ndim > 3:
        extra = data.shape[3:]
        if int(np.prod(extra)) == 1:
            data = data.reshape(data.shape[:3])
            problems.append(Problem("info", "squeezed-4d",
                                    f"4-D image with a single volume {loaded.raw_shape} read as 3-D"))
        elif require_3d:
            raise ImageImportError(
                f"{p}: is a 4-D image with {int(np.prod(extra))} volumes (shape "
                f"{loaded.raw_shape}, e.g. fMRI or diffusion); a 3-D anatomical image is needed",
                [Problem("error", "not-3d", "4-D image where 3-D is needed")])
        else:
            data = data.reshape(data.shape[:3] + (-1,))[..., 0]
            problems.append(Problem("warning", "first-volume-only",
                                    f"4-D image {loaded.raw_shape}: only the first volume is used"))
    if data.ndim < 3:
        raise ImageImportError(f"{p}: is a {data.ndim}-D image (shape {loaded.raw_shape}); "
                               "a 3-D volume is needed", [Problem("error", "not-3d", "not 3-D")])
    report(progress, 0.95, "Checking voxels", cancel)
    data, data_problems = check_data(data)
    problems += data_problems
    problems += check_extent(loaded.mri_from_voxel, data.shape)
    errors = [pr for pr in problems if pr.level == "error"]
    if errors:
        raise ImageImportError(f"{p}: " + "; ".join(pr.message for pr in errors), problems)
    volume = Volume(data, Transform(Frame.MRI, Frame.VOXEL, loaded.mri_from_voxel),
                    loaded.sha256, p, loaded.name, ImportReport(tuple(problems)), loaded.affine_source)
    report(progress, 1.0, f"Loaded {volume.name}", cancel)
    return volume
