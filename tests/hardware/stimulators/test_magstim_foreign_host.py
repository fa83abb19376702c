"""A host written here from the published frame table alone (not from tmsnav's protocol module)
drives the emulator over a pty with plain pyserial, as any third-party program would, and the
``tmsnav-emulate magstim`` command serves the real driver and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import serial

from tmsnav.hardware.stimulators.magstim.driver import MagstimDriver

from tests.hardware.emulate_cli_helpers import launch_emulator
from tests.hardware.stimulators.magstim_helpers import advance_with_keepalive, bench  # noqa: F401

ROOT = Path(__file__).resolve().parents[3]

# The bulletin's worked examples, typed in as printed: command + checksum character.
TABLE = {"remote on": b"Q@n", "remote off": b"R@m", "status": b"J@u", "power 50": b"@050*",
         "arm": b"EBx", "disarm": b"EAy", "fire": b"EHr", "temperature": b"F@y"}
REPLY_BYTES = {"remote on": 3, "remote off": 3, "status": 12, "power 50": 3, "arm": 3,
               "disarm": 3, "fire": 3, "temperature": 9}


def independent_sum_check(reply: bytes) -> bool:
    total = 0
    for byte in reply[:-1]:
        total += byte
    return reply[-1] == 255 - (total % 256)        # the bulletin: inverted low byte of the sum


def ask(port: serial.Serial, name: str) -> bytes:
    port.write(TABLE[name])
    reply = port.read(REPLY_BYTES[name])
    assert len(reply) == REPLY_BYTES[name], (name, reply)
    assert reply[:1] == TABLE[name][:1] and independent_sum_check(reply), (name, reply)
    return reply


def test_a_host_written_from_the_frame_table_drives_the_emulator(bench):  # noqa: F811
    em = bench.emulator("200")
    with serial.Serial(em.serve_pty(), 9600, timeout=5) as port:
        assert ask(port, "remote on")[1] & 0x80                      # bit 7: remote control
        assert ask(port, "power 50")[1] & 0x80
        reply = ask(port, "status")
        assert reply[2:5] == b"050" and reply[5:11] == b"000000"     # 200²: B and offset 000
        assert ask(port, "arm")[1] & 0x02                            # bit 1: armed
        for _ in range(6):                                           # 1.2 s of the unit's clock
            bench.clock.advance(0.2)
            ask(port, "status")
        assert ask(port, "status")[1] & 0x04                         # bit 2: ready
        ask(port, "fire")
        temperature = ask(port, "temperature")
        assert 240 <= int(temperature[2:5]) < 250                    # 24.x degC in tenths
        assert not ask(port, "disarm")[1] & 0x02
        port.write(b"Q@x")                                           # wrong checksum
        assert port.read(1) == b"?"
        assert not ask(port, "remote off")[1] & 0x80
        port.write(TABLE["arm"])                                     # not in remote control
        refused = port.read(3)
        assert refused[:2] == b"ES" and independent_sum_check(refused)
    assert em.unit.pulses == 1


def launch(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen, str, list[str]]:
    return launch_emulator("magstim", *args, env=env)


def test_tmsnav_emulate_magstim_serves_the_driver_and_stops_on_ctrl_c(tmp_path):
    env = dict(os.environ, TMSNAV_RUNTIME_DIR=str(tmp_path))
    proc, port, printed = launch("--model", "rapid", "--unlock-code", "9X7Y", env=env)
    try:
        assert "unlock code 9X7Y" in printed[0]
        assert list(tmp_path.glob("emulator-*.json"))               # listed for the app
        drv = MagstimDriver(port, model="rapid", unlock_code="9X7Y")
        assert drv.connect().remote_control
        assert drv.set_power(42).power_a_pct == 42
        drv.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and out.rstrip().endswith("stopped") and "Traceback" not in err
    assert "remote control" in out
    assert not list(tmp_path.glob("emulator-*.json"))


def test_tmsnav_emulate_magstim_bad_option_is_one_line():
    done = subprocess.run([sys.executable, "-m", "tmsnav.hardware.emulate_cli", "magstim",
                           "--tcp", "70000"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "tmsnav-emulate: error: --tcp must be a port number 0-65535, got 70000"
