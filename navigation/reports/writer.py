"""Writing report files all-or-nothing: a full disk never leaves half a report behind.

Every file is first written completely to a hidden temporary file in the destination folder and
flushed to disk (fsync); only when *all* files of the report are written are they renamed into
place with ``os.replace`` (atomic on POSIX and on Windows within one volume). So:

* disk full, read-only disk, no permission or a missing folder -> :class:`ReportError` naming the
  folder and the reason; the temporary files are removed, no new report file appears, and a
  report saved earlier under the same name is untouched;
* the HTML and the PDF of one report are either both new or both as they were (barring a failing
  rename, which does not need disk space).

The folder is not created: a missing folder is usually a disconnected network drive or USB stick,
and silently creating a local folder of the same name would hide where the report went.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Mapping

from ..errors import NavigationError
from ..session.atomic import describe_os_error

__all__ = ["ReportError", "write_files"]


class ReportError(NavigationError):
    """The report could not be saved; the message names the folder and the reason."""


def _open_temp(folder: Path, name: str) -> tuple[IO[bytes], str]:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        return _open(fd, "wb"), tmp
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise


#: The file opener (``open`` on a descriptor); a test replaces it to simulate a full disk.
_open: Callable[..., IO[bytes]] = open


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return                  # Windows cannot open folders; the renames are still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fail(folder: Path, exc: OSError) -> ReportError:
    return ReportError(f"Could not save the report in {folder}: {describe_os_error(exc)}. "
                       "No report file was written; earlier reports there are unchanged.")


def write_files(folder: str | Path, files: Mapping[str, bytes]) -> dict[str, Path]:
    """Write ``{file name: content}`` into ``folder`` all-or-nothing; returns name -> path."""
    folder = Path(folder)
    if not folder.is_dir():
        reason = "it is not a folder" if folder.exists() else "the folder does not exist"
        raise ReportError(f"Could not save the report in {folder}: {reason}. No report file was written.")
    temps: dict[str, str] = {}
    try:
        for name, data in files.items():
            if os.sep in name or (os.altsep and os.altsep in name):
                raise ValueError(f"report file name must not contain a folder: {name!r}")
            f, temps[name] = _open_temp(folder, name)
            with f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        out: dict[str, Path] = {}
        for name, tmp in list(temps.items()):
            os.replace(tmp, folder / name)
            del temps[name]
            out[name] = folder / name
        _fsync_dir(folder)
        return out
    except OSError as exc:
        raise _fail(folder, exc) from exc
    finally:
        for tmp in temps.values():
            try:
                os.unlink(tmp)
            except OSError:
                pass
