"""Where tmsnav's log goes: stderr plus a rotating file in the user's log folder.

Why a file: error dialogs say "details were written to the log"; a clinic's IT person or a
developer needs that log after the window has closed, and stderr is gone by then (the app is
usually started from a desktop icon). The file rotates (5 files of 2 MB) so a week of live
tracking warnings cannot fill the disk.

Where (``platformdirs.user_log_dir``, the platform conventions without hand-written guesses):
Linux ``$XDG_STATE_HOME/tmsnav/log`` (default ``~/.local/state/tmsnav/log``), Windows
``%LOCALAPPDATA%\\tmsnav\\Logs`` (through the shell's known-folder API), macOS
``~/Library/Logs/tmsnav``. ``TMSNAV_LOG_DIR`` overrides it (IT policy, tests).

Privacy: file and folder names can carry a patient's name ("Doe_John_T1.nii.gz"). Every line
written by these handlers goes through :func:`redact_paths`, which replaces file-system paths
and data-file names by ``<path>``/``<file>``; source paths in tracebacks (``.py``) and device
ports (``/dev/ttyUSB0``, ``COM3``) stay, because they identify code and hardware, not people.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path

__all__ = ["LOG_FILE_NAME", "default_log_dir", "setup_logging", "current_log_file", "redact_paths",
           "close_logging", "add_identifying_path"]

LOG_FILE_NAME = "tmsnav.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 4                       # tmsnav.log + 4 rotated files = 5 x 2 MB at most
_FORMAT_FILE = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
_FORMAT_STDERR = "tmsnav: %(levelname)s: %(message)s"

_current_log_file: Path | None = None
_installed: list[logging.Handler] = []

# Extensions of files that hold (or are named after) a patient's data.
_DATA_EXT = r"(?:nii\.gz|nii|mgz|mgh|hdr|img|dcm|ima|json|jsonl|gii|png|csv|edf|txt|zip|gz)"
# A path start: POSIX root, home, Windows drive or UNC share; not inside a URL or word.
_START = r"(?:[A-Za-z]:[\\/]|\\\\|~[\\/]|/)"
_QUOTED = re.compile(r"""(?P<q>['"])(?P<p>""" + _START + r"""[^'"\n]*)(?P=q)""")
_PATH_TO_DATA_FILE = re.compile(r"(?<![\w.:/\\])" + _START + r"[^'\"\n]*?\." + _DATA_EXT + r"\b",
                                re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.:/\\<])" + _START + r"[^\s'\"()\[\],;]*")
_DATA_FILE = re.compile(r"(?<![\w<])[^\s'\"/\\()\[\],;:<>]+\." + _DATA_EXT + r"\b", re.IGNORECASE)


def _keep(path: str) -> bool:
    """Paths that identify code or hardware, not people."""
    return path.endswith((".py", ".pyc", ".pyd", ".so")) or path.startswith(("/dev/", "\\\\.\\"))


_identifying: set[str] = set()
_MIN_NAME = 3


def add_identifying_path(path: str | Path) -> None:
    """Treat the names in ``path`` as identifying from now on: the file or folder name, its stem
    and its parent folder's name are replaced by ``<name>`` in every later log line.

    Why: a DICOM folder is often named after the patient ("DOE_JOHN") and has no extension, so
    :func:`redact_paths` cannot recognise it once it appears without its path (e.g. in a job title
    "Opening DOE_JOHN"). Call it where the user picks a file or folder.
    """
    p = Path(path)
    stem = p.name.split(".")[0]
    for name in (p.name, stem, p.parent.name):
        if len(name) >= _MIN_NAME:
            _identifying.add(name)


def redact_paths(text: str) -> str:
    """``text`` with file-system paths replaced by ``<path>``, data-file names by ``<file>`` and
    names registered by :func:`add_identifying_path` by ``<name>``."""

    def quoted(m: re.Match[str]) -> str:
        return m.group(0) if _keep(m.group("p")) else f"{m.group('q')}<path>{m.group('q')}"

    def bare(m: re.Match[str]) -> str:
        return m.group(0) if _keep(m.group(0)) else "<path>"

    text = _QUOTED.sub(quoted, text)
    text = _PATH_TO_DATA_FILE.sub(bare, text)
    text = _PATH.sub(bare, text)
    text = _DATA_FILE.sub("<file>", text)
    for name in sorted(_identifying, key=len, reverse=True):
        text = re.sub(r"(?<![\w])" + re.escape(name) + r"(?![\w])", "<name>", text)
    return text


class _RedactingFormatter(logging.Formatter):
    """Formats as usual (traceback included), then removes paths from the whole text."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_paths(super().format(record))


def default_log_dir() -> Path:
    """The user log folder for this platform (``TMSNAV_LOG_DIR`` wins)."""
    override = os.environ.get("TMSNAV_LOG_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_log_dir("tmsnav", appauthor=False))


def current_log_file() -> Path | None:
    """The file the log is being written to, or None if it could not be opened (stderr only)."""
    return _current_log_file


def setup_logging(level: str | int = "INFO", *, directory: str | Path | None = None,
                  stderr: bool = True) -> Path | None:
    """Send the log to stderr and to ``directory/tmsnav.log`` (rotating); returns the file path.

    Calling it again replaces the handlers it installed before (tests, a second ``main()``).
    A folder that cannot be created (read-only home, full disk) leaves stderr only and returns
    None: logging must never stop the app from starting.
    """
    global _current_log_file
    close_logging()
    root = logging.getLogger()
    if stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(_RedactingFormatter(_FORMAT_STDERR))
        _installed.append(console)
    folder = Path(directory) if directory is not None else default_log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_FILE_NAME
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    except OSError as exc:
        failure: str | None = f"cannot write the log file in {folder}: {exc.strerror or exc}"
    else:
        file_handler.setFormatter(_RedactingFormatter(_FORMAT_FILE))
        _installed.append(file_handler)
        _current_log_file = path
        failure = None
    for handler in _installed:
        root.addHandler(handler)
    root.setLevel(level)
    if failure:
        logging.getLogger("tmsnav").warning("%s; logging to the terminal only", failure)
    return _current_log_file


def close_logging() -> None:
    """Remove and close the handlers :func:`setup_logging` installed (at exit, in tests)."""
    global _current_log_file
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    _current_log_file = None
