"""tmsnav-emulate as a subprocess: start it, read the printed path, connect the real driver, get
frames that match the scenario's truth, Ctrl-C, check the exit code; errors are one line."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tmsnav.hardware.emulate_cli import transmitter_from_tracker
from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.ndi.driver import NDITracker
from tmsnav.hardware.polhemus import PolhemusTracker
from tmsnav.hardware.simulation.scenario_library import make_scenario

from tests.hardware.emulate_cli_helpers import launch_emulator
from tests.hardware.frame_reading import read_last_frames

ROOT = Path(__file__).resolve().parents[2]


def launch(*args: str) -> tuple[subprocess.Popen, str]:
    proc, port, printed = launch_emulator(*args)
    proc.printed = printed  # type: ignore[attr-defined]
    return proc, port


def interrupt(proc: subprocess.Popen) -> tuple[str, str]:
    """Ctrl-C; returns everything the emulator printed and its stderr."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("stopped") and "Traceback" not in err
    return "".join(proc.printed) + out, err  # type: ignore[attr-defined]




def test_ndi_on_a_pty_plays_the_scenario_to_the_real_driver():
    proc, port = launch("ndi", "--scenario", "idle", "--noise", "0", "--rate", "100")
    try:
        assert port.startswith("/dev/")
        frames = read_last_frames(NDITracker(port, nominal_rate_hz=100))
    finally:
        out, _ = interrupt(proc)
    assert "NDI Polaris Vega emulator, 100 Hz" in out and "NDITracker('/dev/" in out
    truth = make_scenario("idle").poses_at(0.0)
    for tool in ("reference", "pointer", "coil"):
        assert frames[tool].status is ToolStatus.OK
        np.testing.assert_allclose(frames[tool].tracker_from_tool, truth[tool], atol=2e-3)


def test_ndi_over_tcp():
    proc, port = launch("ndi", "--tcp", "0", "--scenario", "occlusion", "--quiet")
    try:
        assert port.startswith("socket://127.0.0.1:")
        frames = read_last_frames(NDITracker(port))
    finally:
        out, _ = interrupt(proc)
    assert frames["coil"].is_trackable and "phase:" not in out


@pytest.mark.parametrize("model", ["fastrak", "liberty"])
def test_polhemus_on_a_pty_in_the_transmitter_frame(model):
    proc, port = launch("polhemus", "--model", model, "--scenario", "idle", "--noise", "0")
    names = {1: "reference", 2: "pointer", 3: "coil"}
    try:
        frames = read_last_frames(PolhemusTracker(port, model=model, station_names=names), n=10)
    finally:
        out, _ = interrupt(proc)
    assert f"station_names={names!r}" in out
    scenario = make_scenario("idle")
    truth = transmitter_from_tracker(scenario) @ scenario.poses_at(0.0)["reference"]
    assert 200 < np.linalg.norm(truth[:3, 3]) < 500   # the transmitter sits near the head
    np.testing.assert_allclose(frames["reference"].tracker_from_tool, truth, atol=0.02)


def test_busy_port_and_bad_options_are_one_readable_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "tmsnav.hardware.emulate_cli", "ndi", "--tcp",
                                 str(taken)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"tmsnav-emulate: error: TCP port {taken} is already in "
                                     "use; choose another with --tcp PORT")
    result = subprocess.run([sys.executable, "-m", "tmsnav.hardware.emulate_cli", "polhemus", "--model",
                             "vega"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "unknown Polhemus model 'vega'; choose one of fastrak, liberty, patriot" in result.stderr
    result = subprocess.run([sys.executable, "-m", "tmsnav.hardware.emulate_cli", "ndi", "--rate", "5"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "20-400 Hz" in result.stderr


def _printed_spec(proc) -> str:
    line = next(line for line in proc.printed if line.startswith("app: "))
    return line.split("--tracker '", 1)[1].split("'", 1)[0]


@pytest.mark.parametrize("model, scenario, roles", [
    ("liberty", "idle", ["reference", "pointer", "coil"]),
    ("patriot", "coil_approach", ["reference", "coil"]),   # a Patriot has two receivers
])
def test_the_printed_app_spec_gives_the_app_roles_and_the_model_in_use(model, scenario, roles):
    """Issue 12: with the emulator's own command line the stations came up as station1-3 and no
    default role (reference, pointer, coil) matched; the model shown was 'fastrak'."""
    from tmsnav.hardware.config import TrackerConfig, tracker_factory

    proc, port = launch("polhemus", "--model", model, "--scenario", scenario, "--quiet")
    try:
        spec = _printed_spec(proc)
        tracker = tracker_factory(TrackerConfig.parse(spec))()
        frames = read_last_frames(tracker, n=10)
    finally:
        interrupt(proc)
    assert list(frames) == roles and tracker.device_model == model
    assert all(frames[r].status is ToolStatus.OK for r in roles)


def test_a_running_emulator_is_listed_for_the_port_list_and_gone_when_it_stops(tmp_path, monkeypatch):
    from tmsnav.hardware.emulator_ports import running_emulator_ports, running_emulators

    monkeypatch.setenv("TMSNAV_RUNTIME_DIR", str(tmp_path))
    proc, port = launch("ndi", "--quiet")
    try:
        assert running_emulator_ports() == [port]
        assert running_emulators()[0].spec == f"ndi:{port}" and running_emulators()[0].pid == proc.pid
    finally:
        interrupt(proc)
    assert running_emulator_ports() == [] and not list(tmp_path.iterdir())


def test_a_killed_emulator_is_not_offered(tmp_path, monkeypatch):
    """SIGKILL leaves the file behind: the dead pid is ignored and its file removed."""
    from tmsnav.hardware.emulator_ports import running_emulator_ports

    monkeypatch.setenv("TMSNAV_RUNTIME_DIR", str(tmp_path))
    proc, port = launch("polhemus", "--quiet")
    assert running_emulator_ports() == [port]
    proc.kill()
    proc.communicate(timeout=10)
    assert len(list(tmp_path.iterdir())) == 1          # left behind by the killed process
    assert running_emulator_ports() == []
    assert not list(tmp_path.iterdir())
