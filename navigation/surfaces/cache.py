"""Disk cache for meshes and small JSON results computed from an image (surfaces, MNI affine).

An entry's name is a hash of *everything that changes the result*: the image identity (the
sha256 of its bytes AND the ``mri_from_voxel`` affine chosen on import, so the qform and the sform
of one file, or a left/right mirrored confirmation, never share an entry), the kind of result, its
parameters and the code version (``SURFACE_CODE_VERSION``). A changed image, orientation, setting
or algorithm therefore never returns a stale result.

Where: only in the user cache directory, ``$XDG_CACHE_HOME/tmsnav`` (default ``~/.cache/tmsnav``,
XDG Base Directory spec). Nothing is ever written beside patient images (their folders may be
read-only, shared, or on a PACS export), and nothing is read from there either. Writes are atomic
(temporary file + ``os.replace``). A file that cannot be read back (truncated, corrupt, wrong
content) is ignored and rebuilt: meshes are stored as uncompressed ``.npz`` whose zip CRC-32 check
catches corruption. A full or read-only cache directory only costs a rebuild next time.
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

from .extract import SURFACE_CODE_VERSION, volume_arrays

__all__ = ["volume_sha256", "image_identity", "user_cache_dir", "cache_key", "cached_mesh",
           "cached_json", "save_mesh", "load_mesh", "load_mesh_arrays", "mesh_from_arrays",
           "mesh_cache_path"]


def volume_sha256(volume: Any) -> str:
    """The volume's own ``.sha256`` (of its file bytes) when it has one, else a hash of its voxels
    and affine. Not a cache key on its own: use :func:`image_identity`."""
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


def image_identity(volume: Any) -> dict:
    """What identifies an image for caching: its bytes AND the orientation chosen for them.

    ``Volume.sha256`` hashes the file only; the same file opened with its qform instead of its
    sform, or confirmed with a left/right mirror, gives other surfaces in other places. The affine
    is rounded to 1e-6 mm so a re-read of the same header gives the same key."""
    _, matrix = volume_arrays(volume)
    return {"sha256": volume_sha256(volume),
            "mri_from_voxel": [[round(float(v), 6) + 0.0 for v in row] for row in matrix]}


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tmsnav`` or ``~/.cache/tmsnav`` (XDG Base Directory spec)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tmsnav"


def _writable_dir(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


def cache_key(kind: str, inputs: dict) -> str:
    """File stem for one result: ``kind`` + hash of (inputs, code version).

    ``inputs`` must hold everything the result depends on (image identity, parameters)."""
    blob = json.dumps({"inputs": inputs, "code": SURFACE_CODE_VERSION, "kind": kind},
                      sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:40]}"


def _write_dir() -> Path | None:
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
    arrays: dict[str, np.ndarray] = {"points": np.asarray(mesh.points, dtype=np.float64),
                                     "faces": np.asarray(mesh.regular_faces, dtype=np.int32)}
    for name in mesh.point_data.keys():
        arrays[f"point__{name}"] = np.asarray(mesh.point_data[name])
    for name in mesh.field_data.keys():
        arrays[f"field__{name}"] = np.asarray(mesh.field_data[name])
    # mypy cannot see that no key is "allow_pickle" (every key has a prefix or is points/faces), and
    # passing allow_pickle=False explicitly would store it as an array on numpy 1.26 (no such parameter).
    _atomic_write(path, lambda handle: np.savez(handle, **arrays))  # type: ignore[arg-type]


def load_mesh_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays saved by :func:`save_mesh` (``points``, ``faces``, ``point__*``, ``field__*``),
    checked, or None when missing or unreadable. Numpy only: safe on a worker thread, where VTK
    must not run while the GUI thread renders (the two can deadlock)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    points, faces = arrays.get("points"), arrays.get("faces")
    if (points is None or faces is None or points.ndim != 2 or points.shape[1] != 3 or faces.ndim != 2
            or faces.shape[1] != 3 or len(faces) == 0 or faces.min() < 0 or faces.max() >= len(points)
            or not np.all(np.isfinite(points))):
        return None
    return arrays


def mesh_from_arrays(arrays: dict[str, np.ndarray]) -> pv.PolyData:
    """A PolyData from :func:`load_mesh_arrays`-style arrays (point and field data included)."""
    points, faces = arrays["points"], arrays["faces"]
    mesh = pv.PolyData.from_regular_faces(points, faces)
    for key, value in arrays.items():
        if "__" not in key:
            continue
        where, name = key.split("__", 1)
        if where == "point" and len(value) == len(points):
            mesh.point_data[name] = value
        elif where == "field":
            mesh.field_data[name] = value
    if "Normals" in mesh.point_data:
        mesh.point_data.active_normals_name = "Normals"
    return mesh


def load_mesh(path: Path) -> pv.PolyData | None:
    """The mesh saved by :func:`save_mesh`, or None when missing or unreadable."""
    arrays = load_mesh_arrays(path)
    return None if arrays is None else mesh_from_arrays(arrays)


def mesh_cache_path(kind: str, inputs: dict) -> Path:
    """Where :func:`cached_mesh` keeps the mesh for ``(kind, inputs)``."""
    return user_cache_dir() / (cache_key(kind, inputs) + ".npz")


def cached_mesh(kind: str, inputs: dict, build: Callable[[], pv.PolyData]) -> tuple[pv.PolyData, bool]:
    """``(mesh, was_cached)``: read the cached mesh, or build it and store it."""
    path = mesh_cache_path(kind, inputs)
    if path.is_file():
        mesh = load_mesh(path)
        if mesh is not None:
            return mesh, True
    mesh = build()
    directory = _write_dir()
    if directory is not None:
        try:
            save_mesh(directory / path.name, mesh)
        except OSError:
            pass  # a full or read-only disk only costs a rebuild next time
    return mesh, False


def cached_json(kind: str, inputs: dict, build: Callable[[], dict],
                valid: Callable[[dict], bool]) -> tuple[dict, bool]:
    """``(record, was_cached)`` for a small JSON result; ``valid`` rejects damaged records."""
    path = user_cache_dir() / (cache_key(kind, inputs) + ".json")
    if path.is_file():
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(record, dict) and valid(record):
                return record, True
        except (OSError, ValueError, TypeError, KeyError):
            pass
    record = build()
    directory = _write_dir()
    if directory is not None:
        try:
            text = json.dumps(record, indent=1).encode("utf-8")
            _atomic_write(directory / path.name, lambda handle: handle.write(text))
        except OSError:
            pass
    return record, False
