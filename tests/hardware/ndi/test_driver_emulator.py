"""NDITracker against NDIEmulator over a real pty and over TCP, in BX and TX: set-up, poses,
tool files and tool statuses. Known truth: a pose source with exact poses and no noise."""

import math
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from tmsnav.hardware.errors import ToolDefinitionError, TrackerError
from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.ndi.bx import decode_bx
from tmsnav.hardware.ndi.crc import crc16_hex
from tmsnav.hardware.ndi.device_pose import DefaultMotion
from tmsnav.hardware.ndi.driver import NDITracker
from tmsnav.hardware.ndi.emulator import NDIEmulator
from tmsnav.hardware.ndi.rom import build_tool_definition, check_tool_definition

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "tools" / "ndi"


class KnownMotion:
    """Reference still, coil turned 30 deg about +z and sliding along +x at 10 mm/s."""

    def __init__(self):
        self.hidden = set()

    def truth(self, t_s):
        c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
        tracker_from_coil = np.array([[c, -s, 0, 5.0 + 10.0 * t_s], [s, c, 0, 60.0],
                                      [0, 0, 1, -1420.0], [0, 0, 0, 1]])
        tracker_from_reference = np.eye(4)
        tracker_from_reference[:3, 3] = (0.0, 0.0, -1500.0)
        tracker_from_pointer = np.eye(4)
        tracker_from_pointer[:3, :3] = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]   # +90 deg about x
        tracker_from_pointer[:3, 3] = (-80.0, 25.5, -1380.25)
        extra = np.eye(4)
        extra[:3, 3] = (33.0, 44.0, -1555.0)
        return {"reference": tracker_from_reference, "coil": tracker_from_coil,
                "pointer": tracker_from_pointer, "TMS-COIL-2": extra}

    def poses_at(self, t_s):
        return {k: (None if k in self.hidden else v) for k, v in self.truth(t_s).items()}


def start_pair(kind, reply_format="BX", motion=None, **emulator_kwargs):
    motion = motion or KnownMotion()
    emulator = NDIEmulator(motion, noise_mm=0.0, noise_rad=0.0, **emulator_kwargs)
    port = emulator.serve_pty() if kind == "pty" else f"socket://127.0.0.1:{emulator.serve_tcp()}"
    tracker = NDITracker(port, reply_format=reply_format, timeout_s=2.0, reset_timeout_s=2.0,
                         interbyte_timeout_s=0.05)
    return emulator, tracker, motion


@pytest.fixture
def pairs():
    made = []

    def make(*args, **kwargs):
        made.append(start_pair(*args, **kwargs))
        return made[-1]

    yield make
    for emulator, tracker, _ in made:
        tracker.close()
        emulator.stop()


@pytest.mark.parametrize("kind", ["pty", "tcp"])
@pytest.mark.parametrize("reply_format", ["BX", "TX"])
def test_full_setup_and_tracking_gives_the_true_poses(pairs, kind, reply_format):
    emulator, tracker, motion = pairs(kind, reply_format)
    tracker.connect()
    assert [t.name for t in tracker.tools()] == ["reference", "pointer", "coil"]
    assert [t.device_id for t in tracker.tools()] == ["01", "02", "03"]
    assert tracker.freeze_tag == "Polaris Vega 008"
    tracker.start()
    tolerance_mm = 2e-3 if reply_format == "BX" else 6e-3
    numbers = []
    for _ in range(4):
        before = time.monotonic_ns()
        frames = tracker.read_frames(2.0)
        after = time.monotonic_ns()
        assert [f.tool for f in frames] == ["reference", "pointer", "coil"]
        assert all(f.status is ToolStatus.OK for f in frames)
        assert len({f.frame_number for f in frames}) == 1
        number = frames[0].frame_number
        numbers.append(number)
        truth = motion.truth(number / emulator.device.rate_hz)
        for f in frames:
            assert before <= f.host_time_ns <= after
            np.testing.assert_allclose(f.tracker_from_tool, truth[f.tool], atol=tolerance_mm)
            assert f.quality_rms_mm == pytest.approx(0.12, abs=1e-4)
            assert f.port_status == 0x31
    assert numbers == sorted(set(numbers))
    commands = emulator.device.commands
    expected = ["INIT:", "VER:0", "PHSR:01", "PHSR:02", "PINIT:01", "PINIT:02", "PINIT:03",
                "PHSR:02", "PHSR:03", "PENA:01D", "PENA:02D", "PENA:03D", "PHSR:04"]
    if kind == "pty":
        expected = ["<break>", "INIT:", "COMM:50000"] + expected[1:]
    assert commands[:len(expected)] == expected
    assert f"{reply_format}:0801" in commands
    tracker.close()
    ending = ["TSTOP:", "COMM:00000"] if kind == "pty" else ["TSTOP:"]
    assert emulator.device.commands[-len(ending):] == ending
    assert emulator.device.baud == 9600 and not emulator.device.tracking


def test_close_is_idempotent_and_returns_device_to_9600(pairs):
    emulator, tracker, _ = pairs("pty")
    tracker.connect()
    tracker.start()
    tracker.read_frames(2.0)
    assert emulator.device.baud == 115200
    tracker.close()
    tracker.close()
    assert emulator.device.commands[-2:] == ["TSTOP:", "COMM:00000"]
    assert emulator.device.baud == 9600
    assert not tracker.is_connected


def _write_rom(tmp_path, name, part_number):
    markers = np.array([[0, 0, 0], [50, 0, 0], [0, 70, 0], [40, 90, 0]], dtype=float)
    path = tmp_path / f"{name}.rom"
    path.write_bytes(build_tool_definition(markers, part_number=part_number))
    return path


@pytest.mark.parametrize("kind", ["pty", "tcp"])
def test_rom_upload_adds_a_passive_tool(tmp_path, kind):
    motion = KnownMotion()
    emulator = NDIEmulator(motion, noise_mm=0.0, noise_rad=0.0)
    port = emulator.serve_pty() if kind == "pty" else f"socket://127.0.0.1:{emulator.serve_tcp()}"
    rom = _write_rom(tmp_path, "coil2", "TMS-COIL-2")
    tracker = NDITracker(port, rom_files={"second coil": rom}, tool_names={"01": "head"},
                         timeout_s=2.0, reset_timeout_s=2.0)
    try:
        tracker.connect()
        names = {t.device_id: t.name for t in tracker.tools()}
        assert names == {"01": "head", "02": "pointer", "03": "coil", "04": "second coil"}
        assert sum(c.startswith("PVWR:04") for c in emulator.device.commands) == 16
        tracker.start()
        frames = {f.tool: f for f in tracker.read_frames(2.0)}
        np.testing.assert_allclose(frames["second coil"].position_mm, (33.0, 44.0, -1555.0),
                                   atol=1e-3)
    finally:
        tracker.close()
        emulator.stop()


def test_bad_rom_is_refused_with_the_device_meaning(tmp_path, pairs):
    garbage = tmp_path / "garbage.rom"
    garbage.write_bytes(bytes(range(256)) * 3)
    emulator, _, _ = pairs("pty")
    tracker = NDITracker(emulator.pty_path, rom_files={"junk": garbage}, timeout_s=0.5,
                         reset_timeout_s=0.5)
    with pytest.raises(ToolDefinitionError, match="junk.*tool definition file error"):
        tracker.connect()
    assert not tracker.is_connected
    tracker.close()
    with pytest.raises(ToolDefinitionError, match="does not exist"):
        NDITracker("/dev/null", rom_files={"x": tmp_path / "missing.rom"})


def test_load_tool_definition_after_connect_but_not_while_tracking(tmp_path, pairs):
    emulator, tracker, _ = pairs("pty")
    tracker.connect()
    info = tracker.load_tool_definition(_write_rom(tmp_path, "late", "TMS-COIL-2"))
    assert (info.name, info.device_id) == ("late", "04")
    tracker.start()
    with pytest.raises(TrackerError, match="stop tracking"):
        tracker.load_tool_definition(_write_rom(tmp_path, "later", "X"))
    assert "late" in [f.tool for f in tracker.read_frames(2.0)]


def test_sample_tool_files_in_assets_are_plausible_roms():
    roms = sorted(ASSETS.glob("*.rom"))
    assert len(roms) >= 3
    for path in roms:
        definition = check_tool_definition(path.read_bytes())
        assert 3 <= len(definition.markers_mm) <= 20


def test_passive_only_setup_with_the_sample_roms():
    emulator = NDIEmulator(tools=(), noise_mm=0.0, noise_rad=0.0)
    roms = {name: ASSETS / f"tmsnav_{name}.rom" for name in ("reference", "pointer", "coil")}
    tracker = NDITracker(emulator.serve_pty(), rom_files=roms, timeout_s=2.0, reset_timeout_s=2.0)
    try:
        tracker.connect()
        assert [(t.name, t.device_id) for t in tracker.tools()] == \
            [("reference", "01"), ("pointer", "02"), ("coil", "03")]
        tracker.start()
        frames = tracker.read_frames(2.0)
        truth = DefaultMotion().poses_at(frames[0].frame_number / emulator.device.rate_hz)
        for f in frames:
            np.testing.assert_allclose(f.tracker_from_tool, truth[f.tool], atol=2e-3)
    finally:
        tracker.close()
        emulator.stop()


@pytest.mark.parametrize("reply_format", ["BX", "TX"])
def test_tool_statuses_follow_the_device(pairs, reply_format):
    emulator, tracker, motion = pairs("pty", reply_format)
    tracker.connect()
    tracker.start()
    motion.hidden.add("pointer")
    emulator.set_tool_condition("coil", "out_of_volume")
    emulator.set_tool_condition("reference", "partially_in_volume")
    frames = {f.tool: f for f in tracker.read_frames(2.0)}
    assert frames["pointer"].status is ToolStatus.MISSING
    assert frames["coil"].status is ToolStatus.OUT_OF_VOLUME
    assert frames["pointer"].tracker_from_tool is None and frames["coil"].tracker_from_tool is None
    assert frames["reference"].status is ToolStatus.PARTIALLY_IN_VOLUME
    assert frames["reference"].is_trackable                       # usable, with a warning
    emulator.set_tool_condition("coil", "disabled")
    emulator.set_tool_condition("reference", "missing")
    motion.hidden.clear()
    frames = {f.tool: f for f in tracker.read_frames(2.0)}
    assert frames["coil"].status is ToolStatus.DISABLED and frames["coil"].tracker_from_tool is None
    assert frames["reference"].status is ToolStatus.MISSING
    assert frames["pointer"].status is ToolStatus.OK


def test_read_frames_needs_start_and_wire_time_is_simulated(pairs):
    emulator, tracker, _ = pairs("pty", simulate_wire_time=True)
    tracker.connect()
    with pytest.raises(TrackerError, match="start"):
        tracker.read_frames(0.1)
    tracker.start()
    tracker.read_frames(2.0)
    t0 = time.monotonic()
    tracker.read_frames(2.0)
    one_frame_bytes = 6 + 1 + 3 * 42 + 2 + 2
    assert time.monotonic() - t0 >= one_frame_bytes * 10 / 115200


def test_tcp_accepts_a_probe_then_the_real_connection_byte_for_byte(pairs):
    emulator, tracker, _ = pairs("tcp")
    host, port = tracker.port.removeprefix("socket://").split(":")
    with socket.create_connection((host, int(port)), timeout=1.0):
        pass                                                   # probe: connect and close
    with socket.create_connection((host, int(port)), timeout=1.0) as raw:
        raw.sendall(b"INIT:E3A5\r")
        assert raw.recv(64) == b"OKAYA896\r"
        raw.sendall(b"PHSR:01E03E\r")
        assert raw.recv(64) == b"00" + raw_crc("00")
    tracker.connect()
    assert len(tracker.tools()) == 3


def raw_crc(payload):
    return crc16_hex(payload).encode() + b"\r"


class RawHost:
    """A minimal independent host written from the API guide (as ndicapi behaves): colon form
    with CRC, ASCII replies read until a chunk ends in CR, BX sized from its header."""

    def __init__(self, sock):
        self.sock = sock

    def ask(self, text):
        self.sock.sendall(text.encode() + crc16_hex(text).encode() + b"\r")
        reply = b""
        while not reply.endswith(b"\r"):
            reply += self.sock.recv(4096)
        assert crc16_hex(reply[:-5]) == reply[-5:-1].decode()
        return reply[:-5].decode()

    def bx(self, options="0801"):
        text = f"BX:{options}"
        self.sock.sendall(text.encode() + crc16_hex(text).encode() + b"\r")
        reply = b""
        while len(reply) < 6 or len(reply) < int.from_bytes(reply[2:4], "little") + 8:
            reply += self.sock.recv(4096)
        assert len(reply) == int.from_bytes(reply[2:4], "little") + 8     # nothing after the CRC
        return reply


def test_an_independent_api_guide_host_tracks_through_the_emulator(tmp_path, pairs):
    emulator, tracker, _ = pairs("tcp")
    host_name, port = tracker.port.removeprefix("socket://").split(":")
    rom = build_tool_definition(np.array([[0, 0, 0], [50, 0, 0], [0, 70, 0]], float),
                                part_number="TMS-COIL-2")
    with socket.create_connection((host_name, int(port)), timeout=2.0) as sock:
        host = RawHost(sock)
        assert host.ask("INIT:") == "OKAY"
        assert host.ask("GETINFO:Features.Firmware.Version").startswith("ERROR")   # old firmware
        assert any(line.startswith("Freeze Tag:") for line in host.ask("VER:0").split("\n"))
        assert host.ask("PHSR:01") == "00"
        handle = host.ask("PHRQ:*********1****")[:2]
        for address in range(0, 1024, 64):
            chunk = rom.ljust(1024, b"\0")[address:address + 64].hex().upper()
            assert host.ask(f"PVWR:{handle}{address:04X}{chunk}") == "OKAY"
        for i in range(2):
            phsr = host.ask(f"PHSR:0{i + 2}")
            for k in range(int(phsr[:2], 16)):
                h = phsr[2 + 5 * k:4 + 5 * k].lower()                        # lower-case handles
                assert host.ask(f"PINIT:{h}" if i == 0 else f"PENA:{h}D") == "OKAY"
        assert host.ask("PHSR:04") == "04" "01031" "02031" "03031" "04031"
        assert host.ask("TSTART:") == "OKAY"
        frames = [decode_bx(host.bx()) for _ in range(50)]                     # back to back
        numbers = [f.frame_number for f in frames]
        assert numbers == sorted(numbers) and len(set(numbers)) < 50           # 60 Hz: repeats
        assert all(len(f.handles) == 4 for f in frames)
        np.testing.assert_allclose(frames[-1].handles[3].translation_mm, (33.0, 44.0, -1555.0))
        assert host.ask("TSTOP:") == "OKAY"
