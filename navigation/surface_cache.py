"""Disk cache for meshes and small JSON results computed from an image (surfaces, MNI affine).

Entries are keyed by the image's sha256, the kind of result, its parameters and a code version,
so a changed image, a changed setting or a changed algorithm never returns a stale result.

Where: beside the image in ``<image>.tmsnav-cache/`` when that folder can be created and written
(the cache travels with the data), otherwise in ``$XDG_CACHE_HOME/tmsnav`` (default
``~/.cache/tmsnav``). Reads look in both. Writes are atomic (temporary file + ``os.replace``).
A file that cannot be read back (truncated, corrupt, wrong content) is ignored and rebuilt:
meshes are stored as uncompressed ``.npz`` whose zip CRC-32 check catches corruption.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyvista as pv

from .surfaces import SURFACE_CODE_VERSION, volume_arrays

__all__ = ["volume_sha256", "user_cache_dir", "cache_dir_beside", "cache_key", "cached_mesh",
           "cached_json", "save_mesh", "load_mesh"]

CACHE_SUFFIX = ".tmsnav-cache"


def volume_sha256(volume: Any) -> str:
    """The volume's own ``.sha256`` when it has one, else a hash of its voxels and affine."""
    sha = getattr(volume, "sha256", None)
    if isinstance(sha, str) and len(sha) >= 16:
        return sha
    data, matrix = volume_arrays(volume)
    array = np.ascontiguousarray(np.asarray(data))
    digest = hashlib.sha256()
    digest.update(f"{array.shape}{array.dtype.str}".encode())
    digest.update(array.tobytes())
    digest.update(np.round(matrix, 9).tobytes())
    return digest.hexdigest()


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tmsnav`` or ``~/.cache/tmsnav`` (XDG Base Directory spec)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tmsnav"


def cache_dir_beside(source: str | Path | None) -> Path | None:
    """``<image>.tmsnav-cache`` for an image path (file or DICOM folder), or None."""
    if source is None or str(source) == "":
        return None
    path = Path(source)
    return path.parent / (path.name.rstrip("/") + CACHE_SUFFIX)


def _writable_dir(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


def cache_key(image_sha256: str, kind: str, params: dict) -> str:
    """File stem for one result: kind + image hash + hash of (params, code version)."""
    blob = json.dumps({"params": params, "code": SURFACE_CODE_VERSION}, sort_keys=True, default=str)
    return f"{kind}-{image_sha256[:24]}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _candidates(source: str | Path | None, filename: str) -> list[Path]:
    beside = cache_dir_beside(source)
    dirs = ([beside] if beside is not None else []) + [user_cache_dir()]
    return [d / filename for d in dirs]


def _write_dir(source: str | Path | None) -> Path | None:
    beside = cache_dir_beside(source)
    if beside is not None and beside.parent.is_dir() and _writable_dir(beside):
        return beside
    user = user_cache_dir()
    return user if _writable_dir(user) else None


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_mesh(path: Path, mesh: pv.PolyData) -> None:
    """Triangle mesh + point/field arrays to ``.npz`` (atomically)."""
    arrays = {"points": np.asarray(mesh.points, dtype=np.float64),
              "faces": np.asarray(mesh.regular_faces, dtype=np.int32)}
    for name in mesh.point_data.keys():
        arrays[f"point__{name}"] = np.asarray(mesh.point_data[name])
    for name in mesh.field_data.keys():
        arrays[f"field__{name}"] = np.asarray(mesh.field_data[name])
    _atomic_write(path, lambda handle: np.savez(handle, **arrays))


def load_mesh(path: Path) -> pv.PolyData | None:
    """The mesh saved by :func:`save_mesh`, or None when missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            points, faces = npz["points"], npz["faces"]
            extra = {key: npz[key] for key in npz.files if "__" in key}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if (points.ndim != 2 or points.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3
            or len(faces) == 0 or faces.min() < 0 or faces.max() >= len(points)
            or not np.all(np.isfinite(points))):
        return None
    mesh = pv.PolyData.from_regular_faces(points, faces)
    for key, value in extra.items():
        where, name = key.split("__", 1)
        if where == "point" and len(value) == len(points):
            mesh.point_data[name] = value
        elif where == "field":
            mesh.field_data[name] = value
    if "Normals" in mesh.point_data:
        mesh.point_data.active_normals_name = "Normals"
    return mesh


def cached_mesh(image_sha256: str, kind: str, params: dict, source: str | Path | None,
                build: Callable[[], pv.PolyData]) -> tuple[pv.PolyData, bool]:
    """``(mesh, was_cached)``: read the cached mesh, or build it and store it."""
    filename = cache_key(image_sha256, kind, params) + ".npz"
    for path in _candidates(source, filename):
        if path.is_file():
            mesh = load_mesh(path)
            if mesh is not None:
                return mesh, True
    mesh = build()
    directory = _write_dir(source)
    if directory is not None:
        try:
            save_mesh(directory / filename, mesh)
        except OSError:
            pass  # a full or read-only disk only costs a rebuild next time
    return mesh, False


def cached_json(image_sha256: str, kind: str, params: dict, source: str | Path | None,
                build: Callable[[], dict], valid: Callable[[dict], bool]) -> tuple[dict, bool]:
    """``(record, was_cached)`` for a small JSON result; ``valid`` rejects damaged records."""
    filename = cache_key(image_sha256, kind, params) + ".json"
    for path in _candidates(source, filename):
        if path.is_file():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(record, dict) and valid(record):
                    return record, True
            except (OSError, ValueError, TypeError, KeyError):
                pass
    record = build()
    directory = _write_dir(source)
    if directory is not None:
        try:
            text = json.dumps(record, indent=1).encode("utf-8")
            _atomic_write(directory / filename, lambda handle: handle.write(text))
        except OSError:
            pass
    return record, False
