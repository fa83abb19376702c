"""``tmsnav-emulate magventure`` as a subprocess: it prints its port, lists itself for the app,
the real driver connects, front-panel keys typed on stdin reach the driver as events, and it
stops cleanly; a bad option is one line on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tmsnav.hardware.stimulators.base import PulseEvent, StimulatorStatus
from tmsnav.hardware.stimulators.magventure import MagVentureDriver

from tests.hardware.emulate_cli_helpers import launch_emulator
from tests.hardware.stimulators.magventure_helpers import Collector

ROOT = Path(__file__).resolve().parents[3]


def launch(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str, list[str]]:
    return launch_emulator("magventure", *args, env=dict(os.environ, TMSNAV_RUNTIME_DIR=str(tmp_path)), stdin=True)


def key(proc: subprocess.Popen, line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def test_cli_front_panel_drives_the_real_driver(tmp_path):
    proc, port, printed = launch(tmp_path, "--model", "X100", "--quiet")
    drv = MagVentureDriver(port, heartbeat_s=None, timeout_s=5.0)
    try:
        assert port.startswith("/dev/")
        (entry,) = [json.loads(p.read_text()) for p in tmp_path.glob("emulator-*.json")]
        assert entry["device"] == "magventure" and entry["port"] == port
        states: Collector[StimulatorStatus] = Collector()
        pulses: Collector[PulseEvent] = Collector()
        drv.set_state_callback(states)
        drv.set_pulse_callback(pulses)
        assert drv.connect().model == "MagVenture MagPro X100"
        key(proc, "a 70")
        key(proc, "e")
        states.wait_for(lambda s: any(x.armed and x.power_a_pct == 70 for x in s))
        key(proc, "p")
        (pulse,) = pulses.wait_count(1)
        assert pulse.output_pct_mso == 70.0 and pulse.didt_a_per_us == 105.0
    finally:
        drv.close()
        key(proc, "q")
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("stopped") and "Traceback" not in err
    assert not list(tmp_path.glob("emulator-*.json"))       # unlisted when it stops


def test_cli_bad_option_is_one_readable_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tmsnav.hardware.emulate_cli", "magventure", "--tcp", "70000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, TMSNAV_RUNTIME_DIR=str(tmp_path)))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["tmsnav-emulate: error: --tcp must be a port number 0-65535, got 70000"]
