"""Slices for drawing: the image's stored planes, or the scanner (RAS) planes resampled for display.

Why: an oblique acquisition (planes tilted to the AC-PC line, or to the head's position in the
coil) stores voxel planes that are not the scanner's axial/coronal/sagittal planes. Shown as
stored, the head looks tilted and the R/A/S letters on the edges are only the *nearest*
directions. Viewers such as 3D Slicer (slice views resliced by ``vtkImageReslice`` in world
coordinates, linear interpolation) and FSLeyes (display space "world") show such images in the
scanner planes by resampling them for display. tmsnav does the same, **for display only**: the
voxels are never changed, and targets, registration and the cursor stay in the exact mm of the
image affine. A displayed pixel maps to mri mm through ``mri_from_display``, which for the
scanner planes is a pure scale + shift (no rotation), so a click lands on the RAS point under it.

Two sources with one interface (:class:`SlicePlanes`); the app picks one with
:func:`slice_planes`:

* ``"stored"`` — :class:`StoredPlanes`: the :class:`~.volume.DisplayGrid` voxels (flips and
  axis permutations only, exact values).
* ``"scanner"`` — :class:`ScannerPlanes`: an isotropic grid along RAS covering the whole field
  of view; each plane is interpolated (trilinear, ``scipy.ndimage.map_coordinates`` order 1) when
  first drawn and kept in a small LRU cache, so a click re-slices only the planes that change and
  nothing is computed for the whole volume. Pixels outside the field of view are NaN. For an image
  whose axes are already along RAS (obliquity below :data:`ALIGNED_TOL_DEG`) the scanner planes
  *are* the stored planes, so the exact voxels are used.

Pure numpy/scipy (no Qt); cached per image (per :class:`~.volume.DisplayGrid`, which the
:class:`~.volume.Volume` computes once).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Literal

from abc import ABC, abstractmethod

import numpy as np
from scipy import ndimage

from ..transforms import Frame, Transform
from .volume import DisplayGrid

__all__ = ["SlicePlanes", "StoredPlanes", "ScannerPlanes", "slice_planes", "obliquity_deg",
           "PlaneMode", "PLANE_MODES", "ALIGNED_TOL_DEG", "MAX_PLANE_PIXELS"]

PlaneMode = Literal["scanner", "stored"]
PLANE_MODES: tuple[PlaneMode, ...] = ("scanner", "stored")
#: Below this tilt the stored axes are taken as RAS axes (0.01 deg drifts 0.045 mm over 256 mm).
ALIGNED_TOL_DEG = 0.01
#: Longest side of a resampled plane: bounds the work per click (a 0.5 mm image over 300 mm
#: would otherwise give 600 x 600 planes; 768 keeps sub-millimetre images sharp).
MAX_PLANE_PIXELS = 768
_CACHE_PLANES = 12  # a few planes per orientation: stepping back and forth stays instant


def obliquity_deg(mri_from_voxel: np.ndarray) -> float:
    """Largest angle (degrees) between a voxel axis and its nearest scanner (RAS) axis."""
    lin = np.asarray(mri_from_voxel, float)[:3, :3]
    cols = lin / np.linalg.norm(lin, axis=0)
    cosines = np.clip(np.abs(cols).max(axis=0), -1.0, 1.0)
    return float(np.degrees(np.arccos(cosines)).max())


class SlicePlanes(ABC):
    """Display axes 0, 1, 2 point Right, Anterior, Superior; ``plane(axis, i)`` is the 2-D slice
    at index ``i`` along ``axis``, indexed by the two other axes in increasing order
    (axial ``[R, A]``, coronal ``[R, S]``, sagittal ``[A, S]``).

    Holds the voxels, not the :class:`~.volume.DisplayGrid`: the per-grid cache keys these
    weakly by the grid, and a value referring to its key would keep it alive forever."""

    def __init__(self, data: np.ndarray, mri_from_display: Transform, shape: tuple[int, int, int],
                 mode: PlaneMode, obliquity: float) -> None:
        self._data = data
        self.mri_from_display = mri_from_display
        self.display_from_mri = mri_from_display.inverse()
        self.shape = shape
        self.mode: PlaneMode = mode
        #: Tilt of the stored planes against the scanner planes (0 for an axis-aligned image).
        self.obliquity_deg = obliquity
        #: Pixel size along display axes 0 (R), 1 (A), 2 (S) (asked many times per paint).
        self.spacing_mm = np.linalg.norm(mri_from_display.matrix[:3, :3], axis=0)
        self.spacing_mm.setflags(write=False)

    @property
    def exact_axes(self) -> bool:
        """True when the display axes are exactly R, A, S (the edge letters are exact); False for
        the stored planes of an oblique image, whose letters are the nearest directions."""
        return self.mode == "scanner" or self.obliquity_deg < ALIGNED_TOL_DEG

    @abstractmethod
    def plane(self, axis: int, index: int) -> np.ndarray:
        """The 2-D image of plane ``index`` along display ``axis`` (stored or resampled)."""

    def display_to_mri(self, ijk) -> np.ndarray:
        return self.mri_from_display.apply(ijk)

    def mri_to_display(self, xyz) -> np.ndarray:
        return self.display_from_mri.apply(xyz)


class StoredPlanes(SlicePlanes):
    """The stored voxels, re-ordered toward RAS (exact values; no interpolation)."""

    def __init__(self, grid: DisplayGrid, mode: PlaneMode = "stored") -> None:
        super().__init__(grid.data, grid.mri_from_display, grid.shape, mode,
                         obliquity_deg(grid.mri_from_display.matrix))

    def plane(self, axis: int, index: int) -> np.ndarray:
        # Basic indexing is a view; np.take on the re-ordered (strided) grid copied the whole
        # volume first (88 ms per plane on the 176x256x256 sample head, issue 12).
        sl: list[slice | int] = [slice(None)] * 3
        sl[axis] = int(np.clip(index, 0, self.shape[axis] - 1))
        return self._data[tuple(sl)]


class ScannerPlanes(SlicePlanes):
    """Planes along the scanner axes, interpolated from the stored voxels when first drawn."""

    def __init__(self, grid: DisplayGrid, *, max_pixels: int = MAX_PLANE_PIXELS) -> None:
        lo, hi = _field_of_view_mm(grid)
        extent = hi - lo
        step = max(float(grid.spacing_mm.min()), float(extent.max()) / max_pixels)
        n = np.maximum(np.ceil(extent / step - 1e-6).astype(int), 1)
        matrix = np.diag([step, step, step, 1.0])
        matrix[:3, 3] = lo + step / 2.0                     # pixel centres inside the box
        super().__init__(grid.data, Transform(Frame.MRI, Frame.DISPLAY, matrix),
                         (int(n[0]), int(n[1]), int(n[2])), "scanner",
                         obliquity_deg(grid.mri_from_display.matrix))
        # stored display-grid index <- scanner display index (raw: kernel edge, one frame name)
        self._grid_from_scanner = grid.mri_from_display.inverse().matrix @ matrix
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def plane(self, axis: int, index: int) -> np.ndarray:
        index = int(np.clip(index, 0, self.shape[axis] - 1))
        key = (axis, index)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        out = self._resample(axis, index)
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > _CACHE_PLANES:
                self._cache.popitem(last=False)
        return out

    def _resample(self, axis: int, index: int) -> np.ndarray:
        h, v = [a for a in range(3) if a != axis]
        m = self._grid_from_scanner
        # Walk the output along the display axis that moves least in memory (a sagittal plane of
        # an x-fastest NIfTI: along A, not S), so neighbouring points share cache lines
        # (sample head sagittal plane: 13 -> 9.5 ms).
        step_bytes = np.abs(m[:3, :3]).T @ np.abs(np.asarray(self._data.strides, float))
        slow, fast = (h, v) if step_bytes[v] <= step_bytes[h] else (v, h)
        base = m[:3, 3] + m[:3, axis] * index
        a = np.arange(self.shape[slow], dtype=float)
        b = np.arange(self.shape[fast], dtype=float)
        coords = (base[:, None, None] + m[:3, slow, None, None] * a[None, :, None]
                  + m[:3, fast, None, None] * b[None, None, :])
        out = ndimage.map_coordinates(self._data, coords, order=1, mode="constant",
                                      cval=np.nan, output=np.float32, prefilter=False)
        if slow != h:
            out = out.T          # always indexed [h, v]
        out.setflags(write=False)
        return out


def _field_of_view_mm(grid: DisplayGrid) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned box (mri mm) around the outer faces of the stored voxels."""
    n = np.asarray(grid.shape, float)
    corners = np.array([[a, b, c] for a in (-0.5, n[0] - 0.5) for b in (-0.5, n[1] - 0.5)
                        for c in (-0.5, n[2] - 0.5)])
    mm = grid.display_to_mri(corners)
    return mm.min(axis=0), mm.max(axis=0)


_scanner_cache: "weakref.WeakKeyDictionary[DisplayGrid, SlicePlanes]" = weakref.WeakKeyDictionary()
_stored_cache: "weakref.WeakKeyDictionary[DisplayGrid, SlicePlanes]" = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def slice_planes(grid: DisplayGrid, mode: PlaneMode = "scanner") -> SlicePlanes:
    """The planes to draw ``grid`` in, cached per grid (i.e. per image).

    ``"scanner"``: RAS planes — resampled if the image is oblique, the exact stored voxels if it
    is not. ``"stored"``: the stored planes, however oblique.
    """
    if mode not in PLANE_MODES:
        raise ValueError(f"plane mode must be one of {PLANE_MODES}, got {mode!r}")
    cache = _scanner_cache if mode == "scanner" else _stored_cache
    with _cache_lock:
        planes = cache.get(grid)
        if planes is None:
            if mode == "scanner" and obliquity_deg(grid.mri_from_display.matrix) >= ALIGNED_TOL_DEG:
                planes = ScannerPlanes(grid)
            else:
                planes = StoredPlanes(grid, mode)
            cache[grid] = planes
    return planes
