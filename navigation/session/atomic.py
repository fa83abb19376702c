"""Crash-safe file writes: temp file in the same folder -> flush -> fsync -> os.replace -> fsync dir.

The previous good file survives any failure (disk full, read-only disk, power loss between write
and rename), because the rename is the only step that touches it (POSIX rename is atomic).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

from ..errors import NavigationError

__all__ = ["SaveError", "atomic_write_bytes", "atomic_write_json", "describe_os_error"]


class SaveError(NavigationError):
    """Saving failed; the message says why and that the previous file is intact."""


def describe_os_error(exc: OSError) -> str:
    reasons = {errno.ENOSPC: "the disk is full", errno.EROFS: "the disk is read-only",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EDQUOT: "the disk quota is exceeded", errno.ENOENT: "the folder does not exist"}
    known = reasons.get(exc.errno) if exc.errno is not None else None
    return known or exc.strerror or str(exc)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open directories; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_dir(path.parent)
    except OSError as exc:
        kept = " The previous saved version is intact." if path.exists() else ""
        raise SaveError(f"Could not save {path}: {describe_os_error(exc)}.{kept}") from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def atomic_write_json(path: str | Path, obj: object) -> None:
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))
