"""File-format readers behind :func:`tmsnav.navigation.imaging.volume.load_volume`.

Each reader turns one file (or file pair) into a :class:`LoadedImage`: raw voxels, the chosen
``mri_from_voxel`` (mm) and every problem found. The whole file is read into memory first, so
that the sha256 is of exactly the bytes used, a truncated gzip is detected by ``zlib`` instead of
half-way through nibabel, and header fields can be checked against the real byte count.

The qform/sform policy is deliberately *not* nibabel's ``get_best_affine`` (which silently prefers
the sform): when both are set and disagree (:func:`~tmsnav.navigation.imaging.checks.compare_affines`) the
user must choose (:class:`~tmsnav.navigation.imaging.checks.OrientationAmbiguous`). Header field offsets
follow the NIfTI-1 and NIfTI-2 specifications (nifti.nimh.nih.gov, ``nifti1.h``/``nifti2.h``).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.fileholders import FileHolder

from . import dicom_series as dicom_series
from .checks import (
    ImageImportError, OrientationAmbiguous, Problem, axcodes, check_affine, check_voxel_sizes,
    compare_affines,
)
from .loaded_image import LoadedImage
from ..progress import CancelToken, ProgressCallback, report

__all__ = ["LoadedImage", "read_any", "describe_content", "gunzip"]

_XFORM = {1: "scanner", 2: "aligned", 3: "Talairach", 4: "MNI", 5: "template"}
_UNIT_TO_MM = {"mm": 1.0, "meter": 1000.0, "micron": 0.001, "unknown": 1.0}
_CHUNK = 8 << 20


def describe_content(head: bytes) -> str | None:
    """What the first bytes of a file look like, for 'wrong file type' messages."""
    sigs = [(b"\x89PNG", "a PNG picture"), (b"\xff\xd8\xff", "a JPEG picture"),
            (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"),
            (b"GIF8", "a GIF picture"), (b"\x1f\x8b", "gzip-compressed data"),
            (b"II*\x00", "a TIFF picture"), (b"MM\x00*", "a TIFF picture")]
    for magic, what in sigs:
        if head.startswith(magic):
            return what
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "a DICOM file"
    if head:
        try:
            text = head[:512].decode("utf-8")
        except UnicodeDecodeError:
            return None
        if all(c.isprintable() or c in "\r\n\t" for c in text):
            return "a text file"
    return None


def gunzip(p: Path, raw: bytes, cancel: CancelToken | None = None) -> bytes:
    """Decompress all gzip members; a cut or damaged file gives a specific error."""
    out, rest = [], raw
    while rest:
        d = zlib.decompressobj(wbits=31)
        try:
            for start in range(0, len(rest), _CHUNK):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                out.append(d.decompress(rest[start:start + _CHUNK]))
                if d.eof:
                    break
            out.append(d.flush())
        except zlib.error as exc:
            raise ImageImportError(f"{p}: the compressed file is corrupt ({exc}); copy it again "
                                   "from the original", [Problem("error", "gzip-corrupt", str(exc))])
        if not d.eof:
            raise ImageImportError(
                f"{p}: the compressed file is truncated (the data end before the end of the gzip "
                "stream); the copy is incomplete, copy it again from the original",
                [Problem("error", "gzip-truncated", "compressed stream ends early")])
        rest = d.unused_data
        if rest and not rest.startswith(b"\x1f\x8b"):
            break  # trailing padding after the last member is tolerated, as gzip(1) does
    return b"".join(out)


def _is_dicom_name(p: Path) -> bool:
    return p.suffix.lower() in (".dcm", ".dicom", ".ima") or p.suffix == ""


def read_any(p: Path, *, affine_choice: str | None, series_uid: str | None,
             progress: ProgressCallback | None, cancel: CancelToken | None) -> LoadedImage:
    """Dispatch on folder / extension / content."""
    lower = p.name.lower()
    if p.is_dir():
        return dicom_series.read_series(p, series_uid=series_uid, progress=progress, cancel=cancel)
    with open(p, "rb") as fh:
        head = fh.read(512)
    if len(head) >= 348 and head[344:348] == b"n+1\x00" and not lower.endswith((".hdr", ".img")):
        return _read_nifti(p, affine_choice, progress, cancel)  # NIfTI content, unusual name
    if head[128:132] == b"DICM" or (_is_dicom_name(p) and describe_content(head) is None):
        return dicom_series.read_series(p, series_uid=series_uid, progress=progress, cancel=cancel)
    if lower.endswith((".nii", ".nii.gz")):
        return _read_nifti(p, affine_choice, progress, cancel)
    if lower.endswith((".mgz", ".mgh")):
        return _read_mgh(p, progress, cancel)
    if lower.endswith((".hdr", ".img", ".hdr.gz", ".img.gz")):
        return _read_pair(p, affine_choice, progress, cancel)
    what = describe_content(head)
    looks = f" (it looks like {what})" if what else ""
    raise ImageImportError(
        f"{p}: file type '{p.suffix or p.name}' is not a supported image{looks}; supported: "
        "NIfTI (.nii, .nii.gz, .hdr/.img), FreeSurfer (.mgz, .mgh) or a DICOM series",
        [Problem("error", "file-type", "unsupported file type")])


def _read_bytes(p: Path, progress: ProgressCallback | None, cancel: CancelToken | None) -> tuple[bytes, str]:
    report(progress, 0.05, f"Reading {p.name}", cancel)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ImageImportError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if not raw:
        raise ImageImportError(f"{p}: the file is empty (0 bytes)", [Problem("error", "empty", "empty")])
    return raw, hashlib.sha256(raw).hexdigest()


def _maybe_gunzip(p: Path, raw: bytes, cancel: CancelToken | None, problems: list[Problem]) -> bytes:
    if raw.startswith(b"\x1f\x8b"):
        return gunzip(p, raw, cancel)
    if p.name.lower().endswith((".gz", ".mgz")):
        problems.append(Problem("info", "not-compressed", "the file name says compressed, but it is not"))
    return raw


def _nifti_klass(p: Path, raw: bytes, single: bool):
    """Header class from the size field and magic; specific errors for everything else."""
    kind = "NIfTI" if single else "NIfTI/Analyze header"
    if len(raw) < 348:
        what = describe_content(raw)
        extra = f"; it looks like {what}" if what else ""
        raise ImageImportError(f"{p}: is too short ({len(raw)} bytes) to be a {kind} file{extra}",
                               [Problem("error", "truncated-header", "shorter than a header")])
    size_le, size_be = struct.unpack("<i", raw[:4])[0], struct.unpack(">i", raw[:4])[0]
    if 540 in (size_le, size_be) and raw[4:12] == b"n+2\x00\r\n\x1a\n" and single:
        return nib.Nifti2Image
    if 348 not in (size_le, size_be):
        what = describe_content(raw[:512])
        why = f"it looks like {what}" if what else f"its header size field is {size_le}, not 348"
        raise ImageImportError(f"{p}: is not a {kind} file ({why}); was it renamed?",
                               [Problem("error", "not-nifti", why)])
    magic = raw[344:348]
    if single:
        if magic == b"n+1\x00":
            return nib.Nifti1Image
        if magic == b"ni1\x00":
            raise ImageImportError(f"{p}: is the header of a NIfTI pair (.hdr/.img) renamed .nii; "
                                   "rename it .hdr and keep its .img beside it",
                                   [Problem("error", "bad-magic", "pair header in a .nii file")])
        raise ImageImportError(
            f"{p}: wrong NIfTI magic: bytes 344-347 are {magic!r}, a NIfTI-1 file has b'n+1\\x00'; "
            "the file is corrupt or is not NIfTI", [Problem("error", "bad-magic", repr(magic))])
    return nib.Nifti1Pair if magic == b"ni1\x00" else nib.AnalyzeImage


def _check_layout(p: Path, header, data_len: int, single: bool) -> None:
    try:
        dtype = header.get_data_dtype()
        shape = header.get_data_shape()
    except Exception as exc:  # nibabel raises several types for unknown codes
        raise ImageImportError(f"{p}: header is invalid ({exc})",
                               [Problem("error", "header-invalid", str(exc))]) from None
    if len(shape) == 0 or any(int(n) <= 0 for n in shape):
        raise ImageImportError(f"{p}: header gives an empty image (dimensions {shape})",
                               [Problem("error", "header-dims", str(shape))])
    offset = int(header.get_data_offset())
    if single and offset < int(header.sizeof_hdr):
        raise ImageImportError(f"{p}: vox_offset {offset} lies inside the header",
                               [Problem("error", "vox-offset", str(offset))])
    need = int(np.prod([int(n) for n in shape], dtype=np.int64)) * dtype.itemsize
    if offset > data_len:
        raise ImageImportError(f"{p}: vox_offset {offset} is past the end of the file "
                               f"({data_len} bytes); the header is corrupt or the file truncated",
                               [Problem("error", "vox-offset", str(offset))])
    if offset + need > data_len:
        raise ImageImportError(
            f"{p}: is truncated: the header promises {need} bytes of voxels "
            f"({' x '.join(str(int(n)) for n in shape)} {dtype}) from byte {offset}, but only "
            f"{data_len - offset} are there", [Problem("error", "truncated-data", "short data")])


def choose_affine(p: Path, header, shape: tuple[int, ...], affine_choice: str | None,
                  unit_mm: float) -> tuple[str, np.ndarray, list[Problem]]:
    """Pick the voxel->mri affine: agreeing qform/sform, the only one set, or the user's choice."""
    problems: list[Problem] = []
    cands: dict[str, np.ndarray] = {}
    bad: dict[str, str] = {}
    s_code, q_code = int(header["sform_code"]), int(header["qform_code"])
    if s_code:
        cands["sform"] = np.array(header.get_sform(), float)
    if q_code:
        try:
            cands["qform"] = np.array(header.get_qform(), float)
        except Exception as exc:
            bad["qform"] = str(exc)
    for name in list(cands):
        errs = check_affine(cands[name], name)
        if errs:
            bad[name] = errs[0].message
            del cands[name]
    scale = np.diag([unit_mm, unit_mm, unit_mm, 1.0])
    cands = {k: scale @ v for k, v in cands.items()}
    base = scale @ np.array(header.get_base_affine(), float)
    if affine_choice is not None:
        if affine_choice not in ("sform", "qform", "base"):
            raise ValueError(f"affine_choice must be 'sform', 'qform' or 'base', got {affine_choice!r}")
        if affine_choice == "base":
            chosen = base
        elif affine_choice in cands:
            chosen = cands[affine_choice]
        else:
            why = bad.get(affine_choice, f"{affine_choice}_code is 0")
            raise ImageImportError(f"{p}: the {affine_choice} cannot be used: {why}",
                                   [Problem("error", "affine-choice", why)])
        codes = "/".join(f"{k} {axcodes(v)}" for k, v in cands.items())
        problems.append(Problem("info", "affine-chosen",
                                f"orientation from the {affine_choice} ({axcodes(chosen)}), chosen "
                                f"by the user (header: {codes or 'no qform/sform'})"))
        if affine_choice == "base":
            problems.append(_unknown_orientation(base, "the user chose the voxel-size-only affine"))
        return affine_choice, chosen, problems
    if bad:
        msgs = "; ".join(bad.values())
        raise ImageImportError(f"{p}: {msgs}",
                               [Problem("error", "affine-invalid", msgs)])
    if "sform" in cands and "qform" in cands:
        agree, desc = compare_affines(cands["sform"], cands["qform"], shape)
        if not agree:
            raise OrientationAmbiguous(
                f"{p}: the header holds two different orientations: sform "
                f"{axcodes(cands['sform'])} and qform {axcodes(cands['qform'])} ({desc}). "
                "Choose which one is correct (affine_choice='sform' or 'qform').",
                {"sform": cands["sform"], "qform": cands["qform"]},
                [Problem("error", "qform-sform-disagree", desc)])
        problems.append(Problem("info", "affine-chosen",
                                f"orientation from the sform ({_XFORM.get(s_code, s_code)}); the "
                                f"qform agrees ({desc})"))
        return "sform", cands["sform"], problems
    for name, code in (("sform", s_code), ("qform", q_code)):
        if name in cands:
            problems.append(Problem("info", "affine-chosen",
                                    f"orientation from the {name} ({_XFORM.get(code, code)} "
                                    f"coordinates, {axcodes(cands[name])}), the only one set"))
            return name, cands[name], problems
    problems.append(_unknown_orientation(base, "qform_code = sform_code = 0"))
    return "base", base, problems


def _unknown_orientation(base: np.ndarray, why: str) -> Problem:
    return Problem("warning", "orientation-unknown",
                   f"the header gives no orientation ({why}); the image was placed with its voxel "
                   f"sizes only, assuming {axcodes(base)} storage: left and right may be swapped. "
                   "Confirm the orientation with a visible left/right landmark before navigating")


def _units(header) -> tuple[float, list[Problem]]:
    if not hasattr(header, "get_xyzt_units"):  # Analyze 7.5: millimetres by convention
        return 1.0, [Problem("info", "units-unknown", "Analyze header: millimetres assumed")]
    unit = header.get_xyzt_units()[0]
    factor = _UNIT_TO_MM.get(unit, 1.0)
    if unit == "unknown":
        return factor, [Problem("info", "units-unknown", "spatial units not stated; millimetres assumed")]
    if factor != 1.0:
        return factor, [Problem("info", "units-converted",
                                f"spatial units are {unit}s (xyzt_units); converted to mm (x{factor:g})")]
    return factor, []


def _from_header(p: Path, header, make_image, affine_choice: str | None,
                 problems: list[Problem]) -> tuple[np.ndarray, np.ndarray, str]:
    """Shared NIfTI/Analyze path: units, voxel sizes, affine choice, voxels."""
    shape = tuple(int(n) for n in header.get_data_shape())
    unit_mm, unit_problems = _units(header)
    problems += unit_problems
    unit_note = "" if unit_mm == 1.0 else (
        f" (after converting {header.get_xyzt_units()[0]}s to mm: the units field in the header "
        "is probably wrong)")
    pixdim = np.array(header["pixdim"][1:4], float)[: max(1, min(3, len(shape)))] * unit_mm
    errs = check_voxel_sizes(pixdim, "voxel size (pixdim)", unit_note)
    if errs:
        raise ImageImportError(f"{p}: {errs[0].message}", problems + errs)
    if isinstance(header, nib.Nifti1Header):
        source, affine, aff_problems = choose_affine(p, header, shape, affine_choice, unit_mm)
    else:
        affine = np.diag([unit_mm, unit_mm, unit_mm, 1.0]) @ np.array(header.get_base_affine(), float)
        source, aff_problems = "base", [_unknown_orientation(affine, "Analyze 7.5 has no orientation")]
    problems += aff_problems
    errs = check_affine(affine, source) or check_voxel_sizes(
        np.linalg.norm(affine[:3, :3], axis=0), f"voxel size of the {source}", unit_note)
    if errs:
        raise ImageImportError(f"{p}: {errs[0].message}", problems + errs)
    try:
        img = make_image()
        data = np.asanyarray(img.dataobj)
    except Exception as exc:
        raise ImageImportError(f"{p}: the voxel data cannot be read ({exc})",
                               problems + [Problem("error", "data-unreadable", str(exc))]) from None
    return data, affine, source


def _read_nifti(p: Path, affine_choice: str | None, progress, cancel) -> LoadedImage:
    raw_file, sha = _read_bytes(p, progress, cancel)
    problems: list[Problem] = []
    raw = _maybe_gunzip(p, raw_file, cancel, problems)
    report(progress, 0.5, "Checking header", cancel)
    klass = _nifti_klass(p, raw, single=True)
    header = klass.header_class.from_fileobj(io.BytesIO(raw), check=False)
    _check_layout(p, header, len(raw), single=True)
    data, affine, source = _from_header(p, header, lambda: klass.from_bytes(raw),
                                        affine_choice, problems)
    return LoadedImage(data, tuple(data.shape), affine, source, sha, _short_name(p), problems)


def _read_pair(p: Path, affine_choice: str | None, progress, cancel) -> LoadedImage:
    lower = p.name.lower()
    gz = lower.endswith(".gz")
    stem = p.name[: -len(".hdr.gz" if gz else ".hdr")]
    ext_h, ext_i = (".hdr.gz", ".img.gz") if gz else (".hdr", ".img")
    hdr_path = p.with_name(stem + ext_h)
    img_path = p.with_name(stem + ext_i)
    for q in (hdr_path, img_path):
        if not q.exists():
            raise ImageImportError(f"{p}: the other half of the .hdr/.img pair is missing ({q.name})",
                                   [Problem("error", "pair-missing", q.name)])
    problems: list[Problem] = []
    hdr_file, _ = _read_bytes(hdr_path, progress, cancel)
    img_file, _ = _read_bytes(img_path, progress, cancel)
    sha = hashlib.sha256(hdr_file + img_file).hexdigest()
    hdr_raw = _maybe_gunzip(hdr_path, hdr_file, cancel, problems)
    img_raw = _maybe_gunzip(img_path, img_file, cancel, problems)
    klass = _nifti_klass(hdr_path, hdr_raw, single=False)
    header = klass.header_class.from_fileobj(io.BytesIO(hdr_raw), check=False)
    _check_layout(img_path, header, len(img_raw), single=False)

    def make():
        return klass.from_file_map({"header": FileHolder(fileobj=io.BytesIO(hdr_raw)),
                                    "image": FileHolder(fileobj=io.BytesIO(img_raw))})

    data, affine, source = _from_header(p, header, make, affine_choice, problems)
    return LoadedImage(data, tuple(data.shape), affine, source, sha, stem, problems)


def _read_mgh(p: Path, progress, cancel) -> LoadedImage:
    raw_file, sha = _read_bytes(p, progress, cancel)
    problems: list[Problem] = []
    raw = _maybe_gunzip(p, raw_file, cancel, problems)
    if len(raw) < 284 or struct.unpack(">i", raw[:4])[0] != 1:
        what = describe_content(raw[:512])
        raise ImageImportError(f"{p}: is not a FreeSurfer MGH volume"
                               + (f" (it looks like {what})" if what else " (bad version field)"),
                               [Problem("error", "not-mgh", "bad header")])
    try:
        img = nib.MGHImage.from_bytes(raw)
        affine = np.array(img.affine, float)
    except Exception as exc:
        raise ImageImportError(f"{p}: the MGH header is invalid ({exc})",
                               [Problem("error", "header-invalid", str(exc))]) from None
    errs = check_affine(affine, "MGH") or check_voxel_sizes(np.linalg.norm(affine[:3, :3], axis=0))
    if errs:
        raise ImageImportError(f"{p}: {errs[0].message}", errs)
    try:
        data = np.asanyarray(img.dataobj)
    except Exception as exc:
        raise ImageImportError(f"{p}: the voxel data cannot be read or are truncated ({exc})",
                               [Problem("error", "data-unreadable", str(exc))]) from None
    problems.append(Problem("info", "affine-chosen", f"orientation from the MGH vox2ras ({axcodes(affine)})"))
    return LoadedImage(data, tuple(data.shape), affine, "mgh", sha, _short_name(p), problems)


def _short_name(p: Path) -> str:
    name = p.name
    for ext in (".nii.gz", ".nii", ".mgz", ".mgh"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return p.stem
