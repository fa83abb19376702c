"""Where running ``tmsnav-emulate`` processes serve, so the Tracker tab can offer their ports.

A pseudo-terminal is not a serial port: the serial-port scan (pyserial ``list_ports``) never
lists ``/dev/pts/N``, so a user who started the emulator had to copy its path by hand. Each
emulator therefore writes one small JSON file, ``emulator-<pid>.json``, into the user's runtime
folder (``platformdirs.user_runtime_dir``: ``$XDG_RUNTIME_DIR/tmsnav`` on Linux; override with
``TMSNAV_RUNTIME_DIR``) and removes it when it stops. A file whose process has died (killed, power
cut) is ignored and deleted, so a stale path is never offered. The files hold a device path and
a tracker spec, nothing about patients.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["EmulatorPort", "runtime_dir", "register_emulator", "unregister_emulator",
           "running_emulators", "running_emulator_ports"]

_PREFIX = "emulator-"


@dataclass(frozen=True)
class EmulatorPort:
    """One running emulator: its process, where it serves and the spec that connects the app."""

    pid: int
    port: str        # /dev/pts/3 or socket://127.0.0.1:8765
    device: str      # "ndi" or "polhemus"
    spec: str        # e.g. "polhemus:/dev/pts/3?model=liberty"


def runtime_dir() -> Path:
    """The folder of the registry files (created on demand by :func:`register_emulator`)."""
    override = os.environ.get("TMSNAV_RUNTIME_DIR")
    if override:
        return Path(override)
    import warnings

    import platformdirs

    with warnings.catch_warnings():   # no XDG_RUNTIME_DIR (containers, cron): its /tmp fallback is fine
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir("tmsnav", appauthor=False))


def register_emulator(entry: EmulatorPort) -> Path:
    """Write ``entry`` for other processes to find; returns the file (remove it when stopping)."""
    folder = runtime_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_PREFIX}{entry.pid}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(entry)))
    os.replace(tmp, path)   # readers never see half a file
    return path


def unregister_emulator(pid: int | None = None) -> None:
    """Remove the file of ``pid`` (default: this process). Never raises."""
    try:
        (runtime_dir() / f"{_PREFIX}{os.getpid() if pid is None else pid}.json").unlink()
    except OSError:
        pass


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":   # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))  # type: ignore[attr-defined]
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return code.value == 259   # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # alive, owned by someone else
        return True
    return True


def running_emulators() -> list[EmulatorPort]:
    """Emulators whose process is alive (and whose pty still exists), oldest pid first.
    Files of dead processes are deleted; unreadable files are skipped."""
    folder = runtime_dir()
    found = []
    try:
        files = sorted(folder.glob(f"{_PREFIX}*.json"))
    except OSError:
        return []
    for path in files:
        try:
            entry = EmulatorPort(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if not _alive(int(entry.pid)) or (entry.port.startswith("/dev/") and not Path(entry.port).exists()):
            try:
                path.unlink()
            except OSError:
                pass
            continue
        found.append(entry)
    return sorted(found, key=lambda e: e.pid)


def running_emulator_ports() -> list[str]:
    """Ports of running ``tmsnav-emulate`` processes (dead ones ignored), for the port list."""
    return [entry.port for entry in running_emulators()]
