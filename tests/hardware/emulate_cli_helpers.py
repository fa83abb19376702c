"""Start ``tmsnav-emulate`` as a subprocess and read its banner up to the device it serves: the
tracker and stimulator CLI tests all do this."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def launch_emulator(*args: str, env: dict[str, str] | None = None, stdin: bool = False,
                    max_lines: int = 12) -> tuple[subprocess.Popen, str, list[str]]:
    """``tmsnav-emulate *args``; returns the process, the printed device path and the banner lines.

    Reads line by line up to "press Ctrl-C" (communicate() would skip buffered lines later)."""
    proc = subprocess.Popen([sys.executable, "-m", "tmsnav.hardware.emulate_cli", *args], cwd=ROOT,
                            stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    printed: list[str] = []
    port = None
    for _ in range(max_lines):
        line = proc.stdout.readline()
        printed.append(line)
        if line.startswith("device: "):
            port = line.split(" ", 1)[1].strip()
        if line.startswith("press Ctrl-C") and port:
            return proc, port, printed
        if not line:
            break
    proc.kill()
    raise AssertionError(f"no device line; printed {printed}; stderr: {proc.stderr.read()}")
