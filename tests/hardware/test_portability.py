"""Windows and macOS readiness, checked on Linux: no tmsnav module imports a POSIX-only module
(termios, fcntl, pty, tty) except the emulators' pty mode, and the NDI and Polhemus drivers run
against their emulators over TCP with those modules unavailable.

A subprocess installs a ``sys.meta_path`` finder that refuses those four modules to any importer
inside tmsnav (``app``, ``navigation``, ``hardware``) and records the attempt. Third-party and
standard-library importers are let through: they choose their own backend per platform (pyserial
loads ``serialposix`` here and ``serialwin32`` on Windows; ``subprocess`` guards its import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tmsnav.hardware.config import TrackerConfig

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r'''
import importlib, json, math, pkgutil, sys, time
import numpy as np

BLOCKED = {"termios", "fcntl", "pty", "tty"}
PROJECT = ("tmsnav",)
attempts = []

class RefusePosixOnly:
    """Raises ImportError for a POSIX-only module requested by tmsnav code, as on Windows."""
    def find_spec(self, name, path=None, target=None):
        if name not in BLOCKED:
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
            frame = frame.f_back
        importer = frame.f_globals.get("__name__", "?") if frame is not None else "?"
        if importer.split(".")[0] in PROJECT:
            attempts.append(f"{importer} imports {name}")
            raise ImportError(f"No module named {name!r} (blocked: simulating Windows)")
        return None

for name in BLOCKED:
    sys.modules.pop(name, None)
sys.meta_path.insert(0, RefusePosixOnly())

imported, failed = [], []
packages = ["tmsnav.hardware", "tmsnav.navigation"]
try:
    import PySide6.QtWidgets  # noqa: F401
    packages.append("tmsnav.app")
except ImportError:
    pass
for package_name in packages:
    package = importlib.import_module(package_name)
    for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
        try:
            importlib.import_module(info.name)
            imported.append(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")

# --- NDI driver against its emulator over TCP (a Vega over Ethernet) ---------------------------
from tmsnav.hardware.ndi.driver import NDITracker
from tmsnav.hardware.ndi.emulator import NDIEmulator

class Still:
    def poses_at(self, t_s):
        coil = np.eye(4); coil[:3, 3] = (5.0, 60.0, -1420.0)
        ref = np.eye(4); ref[:3, 3] = (0.0, 0.0, -1500.0)
        ptr = np.eye(4); ptr[:3, 3] = (-80.0, 25.5, -1380.25)
        return {"reference": ref, "pointer": ptr, "coil": coil}

ndi = {}
emulator = NDIEmulator(Still(), noise_mm=0.0, noise_rad=0.0)
tracker = NDITracker(f"socket://127.0.0.1:{emulator.serve_tcp()}", timeout_s=2.0,
                     reset_timeout_s=2.0, interbyte_timeout_s=0.05)
try:
    tracker.connect(); tracker.start()
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and "coil" not in ndi:
        for f in tracker.read_frames(0.2):
            if f.is_trackable:
                ndi[f.tool] = [float(v) for v in f.tracker_from_tool[:3, 3]]
finally:
    tracker.close(); emulator.stop()

# --- Polhemus driver against its emulator over TCP, in inch mode -------------------------------
from tmsnav.hardware.polhemus import PolhemusEmulator, PolhemusTracker

pol = {}
pem = PolhemusEmulator("liberty", stations=(1, 2))
target = np.eye(4); target[:3, 3] = (-12.7, 25.4, 101.6)
pem.set_station_pose(2, target)
pem.serve_tcp()
ptr = PolhemusTracker(pem.url, model="liberty", units="inch", binary=True)
try:
    ptr.connect(); ptr.start()
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and len(pol) < 2:
        for f in ptr.read_frames(0.2):
            if f.is_trackable:
                pol[f.tool] = [float(v) for v in f.tracker_from_tool[:3, 3]]
finally:
    ptr.close(); pem.stop()

print("RESULT " + json.dumps({"imported": imported, "failed": failed, "attempts": attempts,
                              "packages": packages, "ndi": ndi, "polhemus": pol,
                              "loaded": sorted(m for m in BLOCKED if m in sys.modules)}))
'''


@pytest.fixture(scope="module")
def child_result():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_no_tmsnav_module_needs_a_posix_only_module(child_result):
    assert child_result["attempts"] == []
    assert child_result["failed"] == []
    imported = set(child_result["imported"])
    for module in ("tmsnav.hardware.ndi.transport", "tmsnav.hardware.ndi.emulator", "tmsnav.hardware.polhemus.emulator",
                   "tmsnav.hardware.polhemus.driver", "tmsnav.hardware.igtl.client", "tmsnav.hardware.acquisition.core",
                   "tmsnav.navigation.session.store", "tmsnav.navigation.transforms"):
        assert module in imported
    if "tmsnav.app" in child_result["packages"]:
        assert {"tmsnav.app.main", "tmsnav.app.main_window", "tmsnav.app.logging_setup"} <= imported


def test_ndi_driver_tracks_over_tcp_without_posix_modules(child_result):
    poses = child_result["ndi"]
    assert set(poses) == {"reference", "pointer", "coil"}
    assert poses["coil"] == pytest.approx([5.0, 60.0, -1420.0], abs=2e-3)
    assert poses["pointer"] == pytest.approx([-80.0, 25.5, -1380.25], abs=2e-3)


def test_polhemus_driver_tracks_over_tcp_without_posix_modules(child_result):
    # the unit reports inches; the driver must hand out millimetres (4 in = 101.6 mm)
    station_2 = [p for p in child_result["polhemus"].values()
                 if p == pytest.approx([-12.7, 25.4, 101.6], abs=1e-3)]
    assert len(station_2) == 1, child_result["polhemus"]


@pytest.mark.parametrize("spec, kind, port", [
    ("ndi:COM3", "ndi", "COM3"),
    ("ndi:\\\\.\\COM12?baud=921600", "ndi", "\\\\.\\COM12"),
    ("polhemus:/dev/cu.usbserial-1420?model=liberty", "polhemus", "/dev/cu.usbserial-1420"),
    ("replay:C:\\Users\\tech\\recording.jsonl", "replay", "C:\\Users\\tech\\recording.jsonl"),
])
def test_windows_and_macos_port_names_parse(spec, kind, port):
    cfg = TrackerConfig.parse(spec)
    assert (cfg.kind, cfg.port) == (kind, port)
