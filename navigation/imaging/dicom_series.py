"""A DICOM series (one file per slice) as a volume in scanner RAS+ millimetres.

Geometry follows DICOM PS3.3 C.7.6.2.1.1 (Image Plane Module): the centre of pixel (column c,
row r) of a slice is ``ImagePositionPatient + c * PixelSpacing[1] * row_cosines +
r * PixelSpacing[0] * column_cosines``, where ``ImageOrientationPatient = row_cosines +
column_cosines`` and the patient axes are LPS (+x toward the patient's Left, +y Posterior,
+z Superior). RAS is LPS with x and y negated, so ``mri_from_voxel = diag(-1, -1, 1, 1) @
lps_from_voxel``. Voxel axes are (column, row, slice): ``data[i, j, k] = slice_k[row j, column i]``.

Slices are ordered by their position along the slice normal (``row x column`` cosines), never by
file name or InstanceNumber; the step between the first and the last slice gives the third affine
column, after checking that every gap is the same (a missing slice is an error, not an
interpolation).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from .checks import ImageImportError, Problem
from .loaded_image import LoadedImage
from ..progress import CancelToken, ProgressCallback, report

__all__ = ["SeriesInfo", "MultipleSeries", "list_series", "read_series", "RAS_FROM_LPS"]

RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
SPACING_TOL_MM = 0.05      # DICOM decimal strings carry ~1e-4 mm; real missing slices leave a whole gap
ORIENT_TOL = 1e-3          # cosine tolerance between slices of one stack


@dataclass(frozen=True)
class SeriesInfo:
    """One series found in a folder, for the user's choice."""

    uid: str
    description: str
    number: int | None
    modality: str
    n_files: int

    def label(self) -> str:
        num = f"series {self.number}" if self.number is not None else "series ?"
        return (f"{self.description or '(no description)'} ({num}, {self.modality}, {self.n_files} files), "
                f"UID {self.uid}")


class MultipleSeries(ImageImportError):
    """The folder holds several series; ``series`` lists them, pass ``series_uid=`` to pick one."""

    def __init__(self, message: str, series: list[SeriesInfo]) -> None:
        super().__init__(message, [Problem("error", "dicom-multiple-series", s.label()) for s in series])
        self.series = series


def _candidate_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir()
                  if f.is_file() and not f.name.startswith(".") and f.name.upper() != "DICOMDIR")


def _scan(folder: Path, progress: ProgressCallback | None, cancel: CancelToken | None,
          stop: float) -> tuple[dict[str, list[tuple[Path, pydicom.Dataset]]], int]:
    """Headers (no pixels) of every DICOM file in ``folder``, grouped by SeriesInstanceUID."""
    files = _candidate_files(folder)
    groups: dict[str, list[tuple[Path, pydicom.Dataset]]] = defaultdict(list)
    skipped = 0
    for n, f in enumerate(files):
        report(progress, stop * n / max(1, len(files)), f"Scanning {f.name}", cancel)
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError, KeyError):
            skipped += 1
            continue
        groups[str(ds.get("SeriesInstanceUID", "unknown"))].append((f, ds))
    if not groups:
        images = [f.name for f in files if f.name.lower().endswith((".nii", ".nii.gz", ".mgz", ".hdr"))]
        hint = f"; it holds {', '.join(images[:3])}: open that file instead" if images else ""
        raise ImageImportError(f"{folder}: no DICOM files found ({len(files)} files looked at){hint}",
                               [Problem("error", "dicom-none", "no DICOM files")])
    return groups, skipped


def _info(uid: str, items: list[tuple[Path, pydicom.Dataset]]) -> SeriesInfo:
    ds = items[0][1]
    num = ds.get("SeriesNumber", None)
    return SeriesInfo(uid, str(ds.get("SeriesDescription", "") or ""),
                      int(num) if num not in (None, "") else None, str(ds.get("Modality", "?")),
                      len(items))


def list_series(folder: str | Path) -> list[SeriesInfo]:
    """The series in a folder (headers only), largest first: feeds a 'pick a series' dialog."""
    groups, _ = _scan(Path(folder), None, None, 1.0)
    return sorted((_info(u, it) for u, it in groups.items()), key=lambda s: -s.n_files)


def read_series(path: Path, *, series_uid: str | None = None,
                progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None) -> LoadedImage:
    """Load one series from a folder, or the series a given slice file belongs to."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if not path.is_dir():
        try:
            first = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError, KeyError) as exc:
            raise ImageImportError(f"{path}: is not a readable DICOM file ({exc})",
                                   [Problem("error", "not-dicom", str(exc))]) from None
        series_uid = series_uid or str(first.get("SeriesInstanceUID", "unknown"))
    groups, skipped = _scan(folder, progress, cancel, 0.3)
    problems: list[Problem] = []
    if skipped:
        problems.append(Problem("info", "dicom-skipped", f"{skipped} non-DICOM files in the folder were ignored"))
    if series_uid is None and len(groups) > 1:
        infos = sorted((_info(u, it) for u, it in groups.items()), key=lambda s: -s.n_files)
        listing = "; ".join(s.label() for s in infos)
        raise MultipleSeries(f"{folder}: holds {len(infos)} DICOM series, choose one: {listing}", infos)
    uid = series_uid if series_uid is not None else next(iter(groups))
    if uid not in groups:
        listing = "; ".join(_info(u, it).label() for u, it in groups.items())
        raise ImageImportError(f"{folder}: no series with UID {uid}; found: {listing}",
                               [Problem("error", "dicom-series-missing", uid)])
    items = groups[uid]
    info = _info(uid, items)
    ordered, lps_from_voxel, geo_problems = _geometry(folder, items)
    problems += geo_problems
    data, px_problems = _pixels(folder, [f for f, _ in ordered], progress, cancel)
    problems += px_problems
    digest = hashlib.sha256()
    for f, _ in ordered:
        digest.update(f.read_bytes())
    problems.append(Problem("info", "affine-chosen",
                            "orientation from DICOM ImagePositionPatient/ImageOrientationPatient "
                            "(patient LPS converted to RAS: x and y negated)"))
    name = f"{info.description or 'DICOM'} (series {info.number if info.number is not None else '?'})"
    return LoadedImage(data, tuple(data.shape), RAS_FROM_LPS @ lps_from_voxel, "dicom",
                       digest.hexdigest(), name, problems)


def _floats(ds: pydicom.Dataset, keyword: str, n: int, f: Path) -> np.ndarray:
    value = ds.get(keyword, None)
    try:
        arr = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        arr = np.array([])
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise ImageImportError(
            f"{f}: has no valid {keyword}, so the slice cannot be placed in space (a screenshot, "
            "secondary capture or report rather than an MRI slice?)",
            [Problem("error", "dicom-geometry", f"missing {keyword}")])
    return arr


def _geometry(folder: Path, items: list[tuple[Path, pydicom.Dataset]]
              ) -> tuple[list[tuple[Path, pydicom.Dataset]], np.ndarray, list[Problem]]:
    """Sort slices along the normal, check the stack, return ``lps_from_voxel``."""
    problems: list[Problem] = []
    for f, ds in items:
        if "Rows" not in ds or "Columns" not in ds:
            raise ImageImportError(f"{f}: is not an image (no pixel data; SOP class "
                                   f"{ds.get('SOPClassUID', '?')}), e.g. a report or structure set",
                                   [Problem("error", "dicom-no-pixels", f.name)])
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if frames > 1:
            raise ImageImportError(
                f"{f}: is a multi-frame (enhanced) DICOM object with {frames} frames; export the "
                "series as classic single-frame DICOM or convert it to NIfTI (e.g. dcm2niix)",
                [Problem("error", "dicom-multiframe", f.name)])
    if len(items) < 3:
        raise ImageImportError(f"{folder}: the series has only {len(items)} slice(s); a 3-D volume "
                               "needs at least 3", [Problem("error", "dicom-too-few", str(len(items)))])
    f0, ds0 = items[0]
    iop0 = _floats(ds0, "ImageOrientationPatient", 6, f0)
    spacing0 = _floats(ds0, "PixelSpacing", 2, f0)
    size0 = (int(ds0.Rows), int(ds0.Columns))
    positions = []
    for f, ds in items:
        iop = _floats(ds, "ImageOrientationPatient", 6, f)
        if np.max(np.abs(iop - iop0)) > ORIENT_TOL:
            raise ImageImportError(f"{folder}: slices have different orientations ({f.name} differs "
                                   f"from {f0.name}); a localizer or a second stack is mixed in",
                                   [Problem("error", "dicom-orientation-mixed", f.name)])
        if ((int(ds.Rows), int(ds.Columns)) != size0
                or np.max(np.abs(_floats(ds, "PixelSpacing", 2, f) - spacing0)) > 1e-4):
            raise ImageImportError(f"{folder}: slices have different sizes or pixel spacings "
                                   f"({f.name} vs {f0.name})", [Problem("error", "dicom-size-mixed", f.name)])
        positions.append(_floats(ds, "ImagePositionPatient", 3, f))
    row_cos, col_cos = iop0[:3], iop0[3:]
    if (abs(np.linalg.norm(row_cos) - 1) > 1e-2 or abs(np.linalg.norm(col_cos) - 1) > 1e-2
            or abs(row_cos @ col_cos) > 1e-2):
        raise ImageImportError(f"{f0}: ImageOrientationPatient {iop0.tolist()} is not two orthogonal "
                               "unit vectors", [Problem("error", "dicom-orientation-invalid", f0.name)])
    row_cos, col_cos = row_cos / np.linalg.norm(row_cos), col_cos / np.linalg.norm(col_cos)
    normal = np.cross(row_cos, col_cos)
    pos = np.array(positions)
    along = pos @ normal
    order = np.argsort(along, kind="stable")
    pos, along = pos[order], along[order]
    ordered = [items[i] for i in order]
    gaps = np.diff(along)
    names = [f.name for f, _ in ordered]
    dup = np.flatnonzero(gaps < SPACING_TOL_MM)
    if dup.size:
        i = int(dup[0])
        raise ImageImportError(
            f"{folder}: {dup.size + 1} slices share a position (e.g. {names[i]} and {names[i + 1]} at "
            f"{along[i]:.2f} mm): several echoes, time points or acquisitions are in one series; "
            "export them separately", [Problem("error", "dicom-duplicate-position", names[i])])
    step = float(np.median(gaps))
    bad = np.flatnonzero(np.abs(gaps - step) > SPACING_TOL_MM)
    if bad.size:
        i = int(bad[0])
        missing = gaps[i] / step - 1.0
        hint = f": about {missing:.0f} slice(s) missing" if missing > 0.5 else ""
        raise ImageImportError(
            f"{folder}: uneven slice spacing: the gap between {names[i]} ({along[i]:.2f} mm) and "
            f"{names[i + 1]} ({along[i + 1]:.2f} mm) is {gaps[i]:.2f} mm where slices are "
            f"{step:.2f} mm apart{hint}. The series is incomplete: copy it again from the scanner/PACS",
            [Problem("error", "dicom-missing-slices", f"gap {gaps[i]:.2f} mm after {names[i]}")])
    step_vec = (pos[-1] - pos[0]) / (len(pos) - 1)
    sideways = step_vec - (step_vec @ normal) * normal
    if np.linalg.norm(sideways) > 0.01 * step + 1e-3:
        raise ImageImportError(
            f"{folder}: slices are shifted sideways by {np.linalg.norm(sideways):.3f} mm per slice "
            "(gantry tilt or a sheared stack), which this importer does not resample",
            [Problem("error", "dicom-sheared", "slice positions not along the normal")])
    thickness = ds0.get("SliceThickness", None)
    if thickness not in (None, "") and abs(float(thickness) - step) > 0.1 * step:
        problems.append(Problem("info", "dicom-thickness",
                                f"slices are {float(thickness):g} mm thick but {step:.3g} mm apart; "
                                "the spacing between positions is used"))
    lps_from_voxel = np.eye(4)
    lps_from_voxel[:3, 0] = row_cos * spacing0[1]   # i: column index, along the row direction
    lps_from_voxel[:3, 1] = col_cos * spacing0[0]   # j: row index, along the column direction
    lps_from_voxel[:3, 2] = step_vec
    lps_from_voxel[:3, 3] = pos[0]
    return ordered, lps_from_voxel, problems


def _pixels(folder: Path, files: list[Path], progress: ProgressCallback | None,
            cancel: CancelToken | None) -> tuple[np.ndarray, list[Problem]]:
    """Slices in order, stacked as [column, row, slice], rescaled when the header asks for it."""
    problems: list[Problem] = []
    slices, scales = [], []
    for n, f in enumerate(files):
        report(progress, 0.3 + 0.6 * n / len(files), f"Reading slice {n + 1}/{len(files)}", cancel)
        ds = pydicom.dcmread(f)
        if "PixelData" not in ds:
            raise ImageImportError(f"{f}: has no pixel data", [Problem("error", "dicom-no-pixels", f.name)])
        if int(ds.get("SamplesPerPixel", 1)) != 1:
            raise ImageImportError(f"{f}: is a colour image ({ds.get('PhotometricInterpretation')}); "
                                   "an MRI series is grey-scale", [Problem("error", "dicom-colour", f.name)])
        try:
            arr = ds.pixel_array
        except Exception as exc:  # decoders raise many types (missing plugin, corrupt stream)
            syntax = ds.file_meta.get("TransferSyntaxUID", None)
            name = getattr(syntax, "name", str(syntax))
            raise ImageImportError(
                f"{f}: pixel data cannot be decoded (transfer syntax {name}): {exc}. Export the "
                "series uncompressed (Explicit VR Little Endian)",
                [Problem("error", "dicom-decode", str(exc))]) from None
        if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1" and n == 0:
            problems.append(Problem("warning", "dicom-monochrome1",
                                    "MONOCHROME1: low values are shown bright on the scanner; the "
                                    "stored values are kept"))
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        slices.append(arr)
        scales.append((slope, intercept))
    stack = np.stack(slices, axis=-1)            # [row, column, slice]
    if any(s != (1.0, 0.0) for s in scales):
        out = np.empty(stack.shape, np.float32)
        for k, (slope, intercept) in enumerate(scales):
            out[..., k] = stack[..., k].astype(np.float32) * slope + intercept
        stack = out
    return np.ascontiguousarray(np.transpose(stack, (1, 0, 2))), problems
