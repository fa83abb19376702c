"""A host uploads a real NDI tool definition (not one of tmsnav's): the emulator must track it.

Issue 12: an uploaded ROM took the part number as its tool name (e.g. "8700339"), matched no tool
of the pose source and was reported MISSING forever. The ROMs here are written byte by byte in
the test from the community description of the .rom layout (hardware/ndi/rom.py docstring), with
NDI part numbers and header fields tmsnav's own builder never sets, so the check does not lean on
:func:`build_tool_definition`.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.ndi.device_pose import DefaultMotion
from tmsnav.hardware.ndi.driver import NDITracker
from tmsnav.hardware.ndi.emulator import NDIEmulator

from tests.hardware.frame_reading import read_last_frames

ROOT = Path(__file__).resolve().parents[3]

# NDI passive tools: (part number, tool main type at byte 15, markers in mm)
PARTS = {
    "8700339": (1, [[0, 0, 0], [0, 28.59, 41.02], [0, 0, 88.0], [0, -44.32, 40.45]]),   # reference
    "8700340": (2, [[0, 0, 0], [0, 0, 50.0], [0, 25.0, 100.0], [0, -25.0, 135.0]]),     # probe
    "8700449": (4, [[0, 0, 0], [0, 50.0, 0], [-35.0, 85.0, 0], [40.0, 105.0, 0]]),     # 4-marker tool
}


def ndi_rom(part: str) -> bytes:
    """752 bytes: 'NDI', uint16 checksum (sum of bytes 6..) at 4, main type at 15, marker count at
    28, minimum markers at 32, float32 markers from 72, manufacturer at 580, part number at 592."""
    main_type, markers = PARTS[part]
    data = bytearray(752)
    data[0:3] = b"NDI"
    data[8], data[9] = 3, 2                 # format revision fields a real file carries
    data[12], data[15] = 0x01, main_type
    data[16:20] = bytes([0x0A, 0x1D, 0x07, 0xD5])   # a build date: not looked at
    data[28], data[32] = len(markers), 3
    struct.pack_into("<f", data, 36, 0.5)
    struct.pack_into(f"<{3 * len(markers)}f", data, 72, *np.ravel(markers))
    data[580:592] = b"NDI".ljust(12, b" ")
    data[592:612] = part.encode().ljust(20, b"\0")
    struct.pack_into("<H", data, 4, sum(data[6:]) & 0xFFFF)
    return bytes(data)


@pytest.fixture
def rom_files(tmp_path):
    paths = {}
    for part in PARTS:
        paths[part] = tmp_path / f"{part}.rom"
        paths[part].write_bytes(ndi_rom(part))
    return paths


def _track(port: str, roms: dict[str, Path], n: int = 8) -> dict:
    return read_last_frames(NDITracker(port, rom_files=roms, timeout_s=2.0, reset_timeout_s=2.0), n)


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_real_ndi_tools_are_tracked_and_move_by_their_tool_type(rom_files, transport):
    emulator = NDIEmulator(DefaultMotion(), tools=(), noise_mm=0.0, noise_rad=0.0)
    port = emulator.serve_pty() if transport == "pty" else f"socket://127.0.0.1:{emulator.serve_tcp()}"
    try:
        frames = _track(port, {"head": rom_files["8700339"], "probe": rom_files["8700340"],
                               "tms": rom_files["8700449"]})
        notes = list(emulator.device.motion_notes)
    finally:
        emulator.stop()
    assert {t: f.status for t, f in frames.items()} == {"head": ToolStatus.OK, "probe": ToolStatus.OK,
                                                        "tms": ToolStatus.OK}
    # DefaultMotion: reference still at z = -1500; coil circling 40 mm about (0, 60) at z = -1420;
    # pointer at x = 120 +- 30, y = -40, z = -1450
    np.testing.assert_allclose(frames["head"].position_mm, [0.0, 0.0, -1500.0], atol=1e-3)
    x, y, z = frames["tms"].position_mm
    assert z == pytest.approx(-1420.0, abs=1e-3) and np.hypot(x, y - 60.0) == pytest.approx(40.0, abs=1e-3)
    assert frames["probe"].position_mm[1:] == pytest.approx([-40.0, -1450.0], abs=1e-3)
    assert any("8700339 (NDI, tool type 1)" in n and "moves as 'reference' (tool type 1)" in n for n in notes)
    assert any("8700449" in n and "moves as 'coil' (tool type 4)" in n for n in notes)


def test_an_emulator_option_chooses_the_motion(rom_files):
    emulator = NDIEmulator(DefaultMotion(), tools=(), noise_mm=0.0, noise_rad=0.0,
                           rom_motion={"8700449": "reference"})
    try:
        frames = _track(emulator.serve_pty(), {"tms": rom_files["8700449"]})
    finally:
        emulator.stop()
    np.testing.assert_allclose(frames["tms"].position_mm, [0.0, 0.0, -1500.0], atol=1e-3)
    assert "moves as 'reference' (emulator option)" in emulator.device.motion_notes[0]
    with pytest.raises(ValueError, match="rom_motion names head.*choose from"):
        NDIEmulator(DefaultMotion(), rom_motion={"8700449": "head"})


def test_tmsnav_emulate_prints_how_an_uploaded_tool_moves(rom_files):
    proc = subprocess.Popen([sys.executable, "-m", "tmsnav.hardware.emulate_cli", "ndi", "--quiet",
                             "--rom-motion", "8700340=coil"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = next(line.split(" ", 1)[1].strip() for line in proc.stdout if line.startswith("device: "))
        frames = _track(port, {"probe": rom_files["8700340"]})
        assert frames["probe"].status is ToolStatus.OK
        tool_line = next(line for line in proc.stdout if line.startswith("tool: "))
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert "8700340 (NDI, tool type 2) on port" in tool_line and "moves as 'coil' (emulator option)" in tool_line
