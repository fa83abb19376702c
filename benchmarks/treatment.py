"""Treatment-loop benchmark (issue 15): pulse -> pulse log, tracker frame -> Navigate view, view rate.

Workload (2-core reference box, no hardware; ``.venv/bin/python benchmarks/treatment.py``):

1. ``pulse_to_log_p99_ms`` (goal < 5). Tracker: ``NDIEmulator`` (Polaris Vega protocol, tools
   reference/pointer/coil, the ``coil_approach`` scenario holding the coil on its target, noise
   0.1 mm) in its own process on a pty; ``NDITracker`` inside ``Acquisition`` (thread) in this
   process; each device frame's coil pose is chained to mri with the simulator's true
   registration (:func:`tmsnav.navigation.live_poses.compute_live_poses`) and added to a
   :class:`~tmsnav.navigation.treatment.pulse_log.PulsePairer`, as the app does. Trigger: the
   TTL-to-serial adapter source (``hardware/triggers/ttl_serial.py``, T3's) on a second pty; this
   process writes one pulse byte (0x01) at random intervals of 20-80 ms (``N_PULSES``). Latency =
   from just before ``os.write`` of the pulse byte on the pty master to the moment the pulse,
   paired with its pose, has been appended to the session's ``events.jsonl`` (``EventLog``
   with its default fsync per event, in the system temp folder: its file-system type is
   recorded). It includes the hold for the frame that covers the pulse (reader threads race,
   see navigation/treatment/pose_history.py), so it depends on the tracker rate: run at 250 Hz
   (the key) and at 60 Hz (``pulse_to_log_p99_ms_tracker_60hz``). The hold never changes which
   pose a pulse gets (that is chosen by the pulse's host time), only when the row is written.
   At 250 Hz the GIL switch interval is 0.5 ms, as the app sets it for trackers above 100 Hz
   (app/switch_interval.py). ``pulse_to_durable_log_*``: the same with an fsync per pulse.
2. ``frame_to_view_p99_ms`` (goal < 50) and ``guidance_view_fps`` (goal >= 30), under Xvfb
   (1366x768, software OpenGL): the MainWindow on the bundled sample head with the demo plan
   (Fox 2012 active), the simulated coil calibration verified, the true registration set, the
   Navigate tab shown, connected with ``ndi:<pty>`` to an ``NDIEmulator`` at 60 Hz playing
   ``coil_approach`` on that head (its own process, stamping CLOCK_MONOTONIC just before each
   tracking reply is written). Frame-to-view = from that write to the end of the first 3-D
   render (the render window's ``EndEvent``, the gui_latency machinery) that draws the frame
   (the coil frame number of the snapshot being drawn); frames the 30 Hz GUI tick skips are
   never drawn and not counted; ``frame_to_gui_tick_*``: the same to the GUI tick that took the
   frame (before its render). ``guidance_view_fps`` = 3-D renders per second showing a new
   tracker frame over ``GUI_SECONDS`` while the coil sways on the target, and
   ``guidance_view_render_capacity_fps`` = back-to-back renders of the same view (the coil moved
   each time) to show the headroom, with the process CPU time per render
   (``guidance_view_render_cpu_ms``, all threads, llvmpipe's included: the work a render costs,
   which a busy machine inflates less than wall time). ``TMSNAV_BENCH_SCREENSHOT=path.png``
   keeps a screenshot of the window as measured.

Writes ``benchmarks/results/treatment.json`` (flat, unit-suffixed keys) and prints a table.
``--quick`` runs fewer pulses and seconds (a smoke run, not for the results file).
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from bench_results import print_goals, write_results  # this folder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "treatment.json"
N_PULSES = 400
GUI_SECONDS = 20.0
GOALS = {"pulse_to_log_p99_ms": ("<", 5.0), "frame_to_view_p99_ms": ("<", 50.0),
         "guidance_view_fps": (">=", 30.0)}
SCENARIO_OPTIONS = {"approach_s": 0.5, "place_s": 0.5, "hold_s": 3600.0}


# --- tracker emulator in its own process ---------------------------------------------------------
def _emulator_process(conn, rate_hz: float, head) -> None:
    """Serve an NDI emulator on a pty; on request send back first-write times per frame number."""
    from tmsnav.hardware.ndi.bx import decode_bx
    from tmsnav.hardware.ndi.emulator import NDIEmulator
    from tmsnav.hardware.simulation.scenario_library import make_scenario

    class Stamping(NDIEmulator):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.stamps: list[tuple[int, bytes]] = []

        def _write(self, data: bytes, baud: int) -> None:
            t_ns = time.monotonic_ns()
            super()._write(data, baud)
            if data[:2] == b"\xc4\xa5":              # a binary (BX) tracking reply
                self.stamps.append((t_ns, data))

    scenario = make_scenario("coil_approach", head=head, **SCENARIO_OPTIONS)
    emulator = Stamping(scenario, model="vega", rate_hz=rate_hz, tools=("reference", "pointer", "coil"),
                        noise_mm=0.1, noise_rad=1e-3)
    truth = scenario.truth
    conn.send((emulator.serve_pty(), truth.reference_from_head, truth.coil_from_hotspot,
               truth.head.target(None)))
    conn.recv()
    emulator.stop()
    first: dict[int, int] = {}
    for t_ns, data in emulator.stamps:
        try:
            number = decode_bx(data).frame_number
        except Exception:  # noqa: BLE001 - a fault-free run has none
            continue
        if number is not None and number not in first:
            first[number] = t_ns
    conn.send(first)


class Emulator:
    """The emulator child (spawned: no fork of a Qt or threaded parent)."""

    def __init__(self, rate_hz: float, head=None) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_emulator_process, args=(child, rate_hz, head), daemon=True)
        self.proc.start()
        self.path, self.reference_from_head, self.coil_from_hotspot, self.head_from_target = \
            self.conn.recv()

    def finish(self) -> dict[int, int]:
        self.conn.send("stop")
        stamps = self.conn.recv()
        self.proc.join(10)
        return stamps


@dataclass(frozen=True)
class BenchTarget:
    name: str
    mri_from_target: object


def _fs_type(path: Path) -> str:
    best = ("", "?")
    for part in psutil.disk_partitions(all=True):
        if str(path).startswith(part.mountpoint) and len(part.mountpoint) > len(best[0]):
            best = (part.mountpoint, part.fstype)
    return best[1]


# --- 1. pulse -> log ------------------------------------------------------------------------------
def pulse_to_log(rate_hz: float, n_pulses: int, fsync_each: bool = False) -> dict[str, float]:
    from tmsnav.hardware.acquisition.core import Acquisition
    from tmsnav.hardware.ndi.driver import NDITracker
    from tmsnav.hardware.triggers.ttl_serial import TtlSerialSource
    from tmsnav.navigation.live_poses import ToolPose, compute_live_poses
    from tmsnav.navigation.session.event_log import EventLog
    from tmsnav.navigation.transforms import Frame, Transform, invert_rigid
    from tmsnav.navigation.treatment.pose_history import PoseHistory, staleness_limit_ns
    from tmsnav.navigation.treatment.pulse_log import PulseLog, PulsePairer

    emu = Emulator(rate_hz)
    switch = sys.getswitchinterval()
    if rate_hz > 100:       # what the app does while a tracker faster than 100 Hz runs (app/switch_interval.py)
        sys.setswitchinterval(0.0005)
    folder = Path(tempfile.mkdtemp(prefix="tmsnav-bench-treatment-"))
    master, slave = os.openpty()
    acq = source = None
    try:
        mri_from_reference = Transform(Frame.MRI, Frame.REFERENCE, invert_rigid(emu.reference_from_head))
        coil_from_hotspot = Transform(Frame.COIL, Frame.HOTSPOT, emu.coil_from_hotspot)
        target = BenchTarget("coil_approach target", Transform(Frame.MRI, Frame.TARGET, emu.head_from_target))
        log = PulseLog(EventLog(folder / "events.jsonl", fsync_each=fsync_each))
        pairer = PulsePairer(log, PoseHistory(), max_age_ns=staleness_limit_ns(rate_hz))
        logged_at: list[int] = []
        log.add_listener(lambda _p: logged_at.append(time.monotonic_ns()))
        stamp_to_add: list[int] = []                        # frame stamped -> added (parse + pose)

        def on_frames(frames) -> None:
            poses = {f.tool: ToolPose(f.tracker_from_tool, f.is_trackable, f.frame_number) for f in frames}
            coil = next((f for f in frames if f.tool == "coil"), None)
            if coil is None:
                return
            live = compute_live_poses(poses, mri_from_reference=mri_from_reference, pointer_from_tip=None,
                                      coil_from_hotspot=coil_from_hotspot)
            stamp_to_add.append(time.monotonic_ns() - coil.host_time_ns)
            pairer.add_frame(coil.host_time_ns, live.mri_from_hotspot, live.mri_from_hotspot is not None,
                             live.coil_reason)

        acq = Acquisition(functools.partial(NDITracker, emu.path, nominal_rate_hz=rate_hz, timeout_s=1.0),
                          name="bench")
        acq.subscribe(on_frames)
        acq.start()
        deadline = time.monotonic() + 30
        while acq.state != "tracking" and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(1.5)                                     # the coil is placed; warm-up
        pairer.start()
        source = TtlSerialSource(os.ttyname(slave))
        source.start(lambda event: pairer.submit(event, target))
        time.sleep(0.2)
        rng = np.random.default_rng(0)
        written: list[int] = []
        for _ in range(n_pulses):
            time.sleep(float(rng.uniform(0.02, 0.08)))
            written.append(time.monotonic_ns())
            os.write(master, b"\x01")
        end = time.monotonic() + 5
        while len(logged_at) < n_pulses and time.monotonic() < end:
            time.sleep(0.01)
        pairer.stop()
        pulses = log.pulses
        if len(pulses) != n_pulses:
            raise RuntimeError(f"{len(pulses)} of {n_pulses} pulses logged")
        lat = (np.array(logged_at) - np.array(written)) / 1e6
        read = (np.array([p.host_time_ns for p in pulses]) - np.array(written)) / 1e6
        known = sum(p.pose_known for p in pulses)
        stats = log.statistics()
        ages = np.array([p.pose_age_ms for p in pulses if p.pose_age_ms is not None])
        frame_delay = np.array(stamp_to_add[len(stamp_to_add) // 10:]) / 1e6     # past the warm-up
        return {"pulse_to_log_p50_ms": float(np.percentile(lat, 50)),
                "pulse_to_log_p99_ms": float(np.percentile(lat, 99)),
                "pulse_to_log_max_ms": float(lat.max()),
                "pulse_write_to_read_p50_ms": float(np.percentile(read, 50)),
                "pulse_write_to_read_p99_ms": float(np.percentile(read, 99)),
                "pulse_read_to_log_p50_ms": float(np.percentile(lat - read, 50)),
                "pulse_read_to_log_p99_ms": float(np.percentile(lat - read, 99)),
                "pulses_with_pose_fraction": known / n_pulses,
                "pulse_pose_age_p50_ms": float(np.percentile(ages, 50)) if len(ages) else float("nan"),
                "pulse_pose_age_max_ms": float(ages.max()) if len(ages) else float("nan"),
                "frame_stamp_to_add_p50_ms": float(np.percentile(frame_delay, 50)),
                "frame_stamp_to_add_p99_ms": float(np.percentile(frame_delay, 99)),
                "frame_stamp_to_add_max_ms": float(frame_delay.max()),
                "pulse_settle_margin_ms": pairer.settle_margin_ns / 1e6 if pairer.settle_margin_ns else 0.0,
                "pulses_on_target_fraction": float(stats.fraction_on_target or 0.0),
                "pulses_median_error_mm": float(stats.median_error_mm or float("nan")),
                "tracker_frames_per_s": float(acq.stats.rate_hz.get("coil", 0.0)),
                "n_pulses": float(n_pulses), "event_log_fs": _fs_type(folder)}
    finally:
        if source is not None:
            source.stop()
        if acq is not None:
            acq.stop()
        emu.finish()
        sys.setswitchinterval(switch)
        os.close(master)
        os.close(slave)
        shutil.rmtree(folder, ignore_errors=True)


# --- 2. frame -> Navigate view, view rate (inside Xvfb) -------------------------------------------
def gui_measure(seconds: float) -> dict[str, float]:
    from PySide6 import QtWidgets

    from tmsnav.app.demo import prepare_demo_plan
    from tmsnav.app.main_window import MainWindow
    from tmsnav.app.sim_head import head_geometry_for
    from tmsnav.hardware.simulation.coil import SIM_COIL_FILE
    from tmsnav.navigation.coils import VERIFY_LANDMARKS, CoilDefinition, verify_coil_calibration
    from tmsnav.navigation.transforms import Frame, Transform

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow()
    window.resize(1366, 768)
    window.show()
    loaded: list[object] = []
    window.headLoaded.connect(loaded.append)
    window.open_sample_head()
    spin_until(app, lambda: bool(loaded) and window.job is None, 300)
    prepare_demo_plan(window.state)
    emu = Emulator(60.0, head_geometry_for(window.state.head, window.state.targets))
    renders: list[tuple[int, int | None]] = []      # (end of render, coil frame number drawn)
    render_start: list[int | None] = [None]
    render_ns = [0]                                 # wall time inside 3-D renders
    snapshots: list[tuple[int, int | None]] = []    # (GUI tick took it, coil frame number)

    def ticked(snap) -> None:
        frame = snap.frames.get("coil") if snap is not None else None
        snapshots.append((time.monotonic_ns(), None if frame is None else frame.frame_number))

    def render_started(*_: object) -> None:
        render_start[0] = time.monotonic_ns()

    def rendered(*_: object) -> None:
        start, render_start[0] = render_start[0], None
        if start is not None:
            render_ns[0] += time.monotonic_ns() - start
        snap = window.tracking.last
        frame = None if snap is None else snap.frames.get("coil")
        renders.append((time.monotonic_ns(), None if frame is None else frame.frame_number))

    try:
        coil = CoilDefinition.load(SIM_COIL_FILE)
        window.state.set_coil(coil, coil.coil_from_hotspot)
        touched = {n: Transform(Frame.COIL, Frame.HOTSPOT, emu.coil_from_hotspot).apply(
            coil.landmarks_hotspot_mm[n]) for n in VERIFY_LANDMARKS}
        window.state.set_coil_verification(verify_coil_calibration(coil.coil_from_hotspot, touched, coil))
        mri_from_reference = Transform(Frame.REFERENCE, Frame.MRI, emu.reference_from_head).inverse()
        window.state.registration = type("R", (), {"mri_from_reference": mri_from_reference})()
        window.state.registration_verified = True
        panel = window.guidance_panel
        window.panels.setCurrentWidget(panel)
        window.connect_tracker_spec(f"ndi:{emu.path}")
        spin_until(app, lambda: panel.last_error is not None, 60)
        spin(app, 2.0)                                    # coil placed, holding
        window.view3d.plotter.render_window.AddObserver("StartEvent", render_started)
        window.view3d.plotter.render_window.AddObserver("EndEvent", rendered)
        window.tracking.updated.connect(ticked)
        probe = _EventProbe()              # how long an input event waits for the busy GUI thread
        t0, gui_cpu0 = time.monotonic_ns(), time.thread_time()
        render_ns[0] = 0
        probe.start()
        run_event_loop(seconds)            # the app's own blocking loop (idle waits, pacing)
        probe.stop()
        t1, gui_cpu = time.monotonic_ns(), time.thread_time() - gui_cpu0
        render_share = render_ns[0] / (t1 - t0)
        drawn_ok = panel.last_error is not None
        # capacity: back-to-back renders of the same view, the coil moved each time
        view, n = window.view3d, 60
        window.tracking._timer.stop()
        snap = window.tracking.last
        hot = snap.live.mri_from_hotspot.matrix if snap and snap.live and snap.live.mri_from_hotspot else None
        shot = os.environ.get("TMSNAV_BENCH_SCREENSHOT")
        if shot:
            window.save_screenshot(Path(shot))
        c0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(n):
            if hot is not None:
                m = hot.copy()
                m[0, 3] += 0.5 * np.sin(i)
                view.set_overlay_matrix("coil", m, render=False)
            view.render_now()
        capacity = n / (time.perf_counter() - c0)
        cpu_ms = (time.process_time() - cpu0) / n * 1e3
        window.tracking.stop()
    finally:
        stamps = emu.finish()
    window.close()
    app.processEvents()
    firsts: dict[int, int] = {}
    for t_ns, number in renders:
        if number is not None and number not in firsts and t0 <= t_ns <= t1:
            firsts[number] = t_ns
    lat = np.array([(t - stamps[n]) / 1e6 for n, t in firsts.items() if n in stamps])
    ticks: dict[int, int] = {}
    for t_ns, number in snapshots:
        if number is not None and number not in ticks and t0 <= t_ns <= t1:
            ticks[number] = t_ns
    tick_lat = np.array([(t - stamps[n]) / 1e6 for n, t in ticks.items() if n in stamps])
    if not drawn_ok or len(lat) < 10:
        raise RuntimeError(f"the Navigate view did not show the tracked coil ({len(lat)} frames drawn)")
    return {"frame_to_view_p50_ms": float(np.percentile(lat, 50)),
            "frame_to_view_p99_ms": float(np.percentile(lat, 99)),
            "frame_to_view_max_ms": float(lat.max()),
            "frame_to_gui_tick_p50_ms": float(np.percentile(tick_lat, 50)),
            "frame_to_gui_tick_p99_ms": float(np.percentile(tick_lat, 99)),
            "guidance_view_fps": len(firsts) / ((t1 - t0) / 1e9),
            "guidance_view_render_capacity_fps": float(capacity),
            "guidance_view_render_cpu_ms": float(cpu_ms),
            "gui_tick_top_rate_hz": window.tracking.ui_rate_hz,
            "gui_ticks_per_s": len(snapshots) / ((t1 - t0) / 1e9),
            "gui_thread_cpu_share": gui_cpu / ((t1 - t0) / 1e9),
            "gui_render_wall_share": render_share,
            "gui_event_wait_p50_ms": float(np.percentile(probe.waits_ms, 50)),
            "gui_event_wait_p99_ms": float(np.percentile(probe.waits_ms, 99)),
            "gui_event_wait_max_ms": float(np.max(probe.waits_ms)),
            "gui_tracker_rate_hz": 60.0, "gui_seconds": (t1 - t0) / 1e9}


class _EventProbe:
    """Posts an event to the GUI thread from another thread every 50 ms, as an input event
    arrives, and records how long it waited before the GUI thread ran it: what a click would
    wait while the Navigate view renders (the GUI must answer a click within 100 ms)."""

    def __init__(self) -> None:
        import threading

        from PySide6 import QtCore

        class Receiver(QtCore.QObject):
            poke = QtCore.Signal(object)       # a Python int: monotonic_ns overflows a C int

        self.receiver = Receiver()
        self.waits_ms: list[float] = []
        self.receiver.poke.connect(lambda t_ns: self.waits_ms.append((time.monotonic_ns() - t_ns) / 1e6),
                                   QtCore.Qt.ConnectionType.QueuedConnection)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.receiver.poke.emit(time.monotonic_ns())

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def run_event_loop(seconds: float) -> None:
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def spin(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.002)


def spin_until(app, done, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > end:
            raise RuntimeError("timed out waiting for the app")
        app.processEvents()
        time.sleep(0.005)


def run_gui(seconds: float) -> dict[str, float]:
    """Measure in a child under its own 1366x768 xvfb-run screen."""
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        raise RuntimeError("no xvfb-run: cannot measure the Navigate view")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", VTK_SMP_BACKEND_IN_USE="STDThread")
    env.pop("PYVISTA_OFF_SCREEN", None)
    done = subprocess.run([xvfb, "-a", "-s", "-screen 0 1366x768x24", sys.executable, __file__,
                           "--gui-child", str(seconds)], env=env, capture_output=True, text=True, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"GUI measurement failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer pulses and seconds; results not saved")
    parser.add_argument("--gui-child", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-gui", action="store_true", help="only the pulse-to-log part")
    args = parser.parse_args()
    if args.gui_child is not None:
        print(json.dumps(gui_measure(args.gui_child)))
        return 0
    n_pulses, seconds = (60, 5.0) if args.quick else (N_PULSES, GUI_SECONDS)
    load_avg = psutil.getloadavg()[0]
    results: dict[str, float | str] = {"load_avg_1min_at_start": load_avg, "cpu_count": float(psutil.cpu_count())}
    fast = pulse_to_log(250.0, n_pulses)
    durable = pulse_to_log(250.0, n_pulses, fsync_each=True)
    slow = pulse_to_log(60.0, n_pulses)
    results.update(fast)
    results.update({f"pulse_to_durable_log_{k.removeprefix('pulse_to_log_')}": v for k, v in durable.items()
                    if k.startswith("pulse_to_log")})
    results.update({f"{k}_tracker_60hz": v for k, v in slow.items()
                    if k.startswith(("pulse_to_log", "pulses_with_pose", "pulse_pose_age", "frame_stamp"))})
    results["pulse_tracker_rate_hz"] = 250.0
    if not args.no_gui:
        results.update(run_gui(seconds))
    print(f"load average {load_avg:.2f} on {psutil.cpu_count()} cores; event log on {fast['event_log_fs']}")
    print(f"{'measure':42s}{'p50':>9s}{'p99':>9s}{'max':>9s}")
    for label, key in (("pulse byte -> logged with pose, 250 Hz tracker", "pulse_to_log"),
                       ("  same, fsync per pulse", "pulse_to_durable_log"),
                       ("pulse byte -> logged with pose, 60 Hz tracker", "pulse_to_log@60"),
                       ("tracker frame on the wire -> Navigate view", "frame_to_view")):
        suffix = "_tracker_60hz" if key.endswith("@60") else ""
        base = key.split("@")[0]
        if f"{base}_p99_ms{suffix}" not in results:
            continue
        print(f"{label:42s}{results[f'{base}_p50_ms{suffix}']:9.2f}{results[f'{base}_p99_ms{suffix}']:9.2f}"
              f"{results[f'{base}_max_ms{suffix}']:9.2f}")
    if "guidance_view_fps" in results:
        print(f"frame on the wire -> GUI tick that took it p50/p99: {results['frame_to_gui_tick_p50_ms']:.1f}/"
              f"{results['frame_to_gui_tick_p99_ms']:.1f} ms (the rest is the render)")
        print(f"GUI ticks {results['gui_ticks_per_s']:.1f}/s (top rate {results['gui_tick_top_rate_hz']:.0f} Hz); "
              f"GUI thread CPU {100 * results['gui_thread_cpu_share']:.0f} %, "
              f"inside 3-D renders {100 * results['gui_render_wall_share']:.0f} % of the time; an event waits "
              f"p50/p99/max {results['gui_event_wait_p50_ms']:.1f}/{results['gui_event_wait_p99_ms']:.1f}/"
              f"{results['gui_event_wait_max_ms']:.1f} ms")
        print(f"guidance view: {results['guidance_view_fps']:.1f} new frames drawn/s "
              f"(render capacity {results['guidance_view_render_capacity_fps']:.1f} fps, "
              f"{results['guidance_view_render_cpu_ms']:.0f} ms CPU per render)")
    print(f"250 Hz: byte write -> read by the trigger source p50/p99 {results['pulse_write_to_read_p50_ms']:.2f}/"
          f"{results['pulse_write_to_read_p99_ms']:.2f} ms, read -> written (hold for the frame + write) "
          f"{results['pulse_read_to_log_p50_ms']:.2f}/{results['pulse_read_to_log_p99_ms']:.2f} ms; "
          f"tracker delivered {results['tracker_frames_per_s']:.0f} of 250 frames/s")
    print(f"pulses with a live pose: {results['pulses_with_pose_fraction']:.3f} (250 Hz), "
          f"{results['pulses_with_pose_fraction_tracker_60hz']:.3f} (60 Hz); pose age at the pulse "
          f"p50/max {results['pulse_pose_age_p50_ms']:.2f}/{results['pulse_pose_age_max_ms']:.2f} ms (250 Hz)")
    print(f"tracker frame stamped -> added to the pose history (read, parse, pose) p50/p99/max "
          f"{results['frame_stamp_to_add_p50_ms']:.2f}/{results['frame_stamp_to_add_p99_ms']:.2f}/"
          f"{results['frame_stamp_to_add_max_ms']:.2f} ms; settle margin {results['pulse_settle_margin_ms']:.1f} ms")
    print_goals(results, GOALS)
    if not args.quick:
        write_results(RESULTS, results, ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
