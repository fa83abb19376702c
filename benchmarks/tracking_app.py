"""Frames delivered with the app running: ``frames_delivered_fraction_ndi_60hz`` (goal >= 0.99).

Set-up (what a user does, issue 12): ``tmsnav-emulate ndi`` (Polaris Vega emulator, 60 Hz, the
full_session scenario, its own process) and the app itself: a MainWindow with the bundled sample
head and its two demo targets, connected with ``ndi:<pty>`` through the app's normal tracking
bridge (app/tracking_bridge.py: the Acquisition thread inside the GUI process, the 30 Hz GUI
timer drawing the tools in the 3-D view and the Tracker tab). Under Xvfb with software OpenGL
when there is no display. After the head is loaded and tracking runs, frames are counted for
``--seconds`` (default 30): delivered = device frames read / (read + dropped), where dropped
frames are the gaps in the device's frame numbers (hardware/acquisition/state.py). Also reported:
the acquisition thread's CPU share and the driver's polls per frame read.

Run by benchmarks/tracking.py (which stores the keys); alone:
``.venv/bin/python benchmarks/tracking_app.py`` prints the JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

SECONDS = 30.0


def _cpu_s(native_id: int | None) -> float:
    import psutil

    for th in psutil.Process().threads():
        if th.id == native_id:
            return th.user_time + th.system_time
    return 0.0


def _measure(seconds: float) -> dict[str, float]:
    """Inside a display: emulator process + MainWindow; returns the counts."""
    from PySide6 import QtWidgets

    from tmsnav.app.demo import start_demo
    from tmsnav.app.main_window import MainWindow

    emulator = subprocess.Popen([sys.executable, "-m", "tmsnav.hardware.emulate_cli", "ndi", "--quiet"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout is not None
        port = next(m.group(1) for line in emulator.stdout if (m := re.match(r"device: (\S+)", line)))
        app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
        window = MainWindow()
        window.resize(1366, 768)
        window.show()
        start_demo(window, f"ndi:{port}")
        window.wait_for_job(timeout_ms=300_000)

        def spin(duration_s: float) -> None:
            end = time.monotonic() + duration_s
            while time.monotonic() < end:
                app.processEvents()
                time.sleep(0.002)

        spin(3.0)
        acq = window.tracking.acquisition
        tracker = window.tracking.tracker_ref
        if acq is None or tracker is None or acq.state != "tracking":
            raise RuntimeError(f"the app is not tracking: {acq.state if acq else 'no acquisition'}")
        s0, p0, cpu0, t0 = acq.stats, tracker.stats.as_dict(), _cpu_s(acq.thread_native_id), time.monotonic()
        spin(seconds)
        s1, p1, cpu1, wall = acq.stats, tracker.stats.as_dict(), _cpu_s(acq.thread_native_id), \
            time.monotonic() - t0
        received, dropped = s1.frames_received - s0.frames_received, s1.dropped - s0.dropped
        window.tracking.stop()
        window.close()
        return {"frames_delivered_fraction_ndi_60hz": received / max(1, received + dropped),
                "app_ndi_60hz_frames_per_s": received / wall,
                "app_ndi_60hz_dropped_frames": float(dropped),
                "app_ndi_60hz_polls_per_frame": (p1["polls"] - p0["polls"]) / max(1, received),
                "app_ndi_60hz_acquisition_cpu_pct": 100.0 * (cpu1 - cpu0) / wall,
                "app_ndi_60hz_seconds": wall}
    finally:
        emulator.terminate()
        emulator.wait(10)


def run(seconds: float = SECONDS) -> dict[str, float]:
    """Measure in this process if it has a display, else in a child under xvfb-run."""
    if os.environ.get("DISPLAY"):
        return _measure(seconds)
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        raise RuntimeError("no display and no xvfb-run: cannot run the app")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", VTK_SMP_BACKEND_IN_USE="STDThread")
    env.pop("PYVISTA_OFF_SCREEN", None)
    done = subprocess.run([xvfb, "-a", "-s", "-screen 0 1366x768x24", sys.executable, __file__,
                           "--seconds", str(seconds)], env=env, capture_output=True, text=True, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"app measurement failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    print(json.dumps(run(parser.parse_args().seconds)))
