"""``tmsnav-emulate``: a tracker emulator playing a clinical scenario, to try tmsnav without hardware.

    tmsnav-emulate ndi|polhemus [--tcp PORT] [--rate HZ] [--scenario NAME] [--model MODEL]
                   [--noise MM] [--seed N] [--rom-motion PART=TOOL] [--quiet]

Starts the byte-exact NDI or Polhemus emulator on a pseudo-terminal (or a TCP port) playing the
named scenario (looping) on the demo ellipsoid head, prints the device path and how to connect
to it, prints scenario phases as they change, and runs until Ctrl-C. ``--noise`` is the 3-D RMS
position noise in mm; orientation noise follows the simulator's model (noise / 100 mm lever).
Errors (busy port, bad option) are one readable line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
import threading
import time
from typing import Any, Sequence

import numpy as np

from .emulator_ports import EmulatorPort, register_emulator, unregister_emulator
from .rigid import invert_rigid, rigid
from .simulation.scenario_library import SCENARIO_NAMES, make_scenario
from .simulation.scenarios import Scenario

__all__ = ["main", "build_parser"]

NDI_MODELS = ("vega", "spectra", "vicra", "aurora")
POLHEMUS_MODELS = ("fastrak", "liberty", "patriot")
DEFAULT_NOISE_MM = {"ndi": 0.2, "polhemus": 0.5}
_LEVER_MM = 100.0  # same angular-noise model as tmsnav.hardware.simulation.tracker.NoiseModel


class _Relocated:
    """A pose source re-expressed in another device frame: ``new_from_tracker @ pose``."""

    def __init__(self, source: Scenario, new_from_tracker: np.ndarray) -> None:
        self.source, self.new_from_tracker = source, new_from_tracker

    def poses_at(self, t_s: float) -> dict[str, np.ndarray | None]:
        return {tool: None if pose is None else self.new_from_tracker @ pose
                for tool, pose in self.source.poses_at(t_s).items()}


def transmitter_from_tracker(scenario: Scenario) -> np.ndarray:
    """Where an electromagnetic transmitter sits: on the headrest 300 mm behind the head centre,
    +x toward the head (the FASTRAK's default +X hemisphere), +z down, as Polhemus draws it."""
    head = scenario.truth.head
    axes = np.column_stack([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])  # x anterior
    head_from_transmitter = rigid(axes, head.centroid_mm + np.array([0.0, -300.0, -50.0]))
    return invert_rigid(scenario.truth.tracker_from_head @ head_from_transmitter)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tmsnav-emulate",
        description="Emulate an NDI or Polhemus tracker playing a scripted TMS session, on a "
                    "pseudo-terminal (default) or a TCP port.")
    p.add_argument("device", choices=("ndi", "polhemus"), help="which tracker to emulate")
    p.add_argument("--tcp", type=int, metavar="PORT",
                   help="serve on 127.0.0.1:PORT instead of a pty (0 = any free port)")
    p.add_argument("--rate", type=float, metavar="HZ",
                   help="device frame rate (default: the model's own, e.g. Vega 60 Hz)")
    p.add_argument("--scenario", default="full_session", choices=SCENARIO_NAMES,
                   help="scripted scenario to play, looping (default full_session)")
    p.add_argument("--model", help=f"ndi: {'|'.join(NDI_MODELS)} (default vega); "
                                   f"polhemus: {'|'.join(POLHEMUS_MODELS)} (default fastrak)")
    p.add_argument("--noise", type=float, metavar="MM",
                   help="3-D RMS position noise in mm (default 0.2 ndi, 0.5 polhemus)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--rom-motion", action="append", default=[], metavar="PART=TOOL",
                   help="ndi: a tool definition (.rom) the host uploads with part number PART "
                        "moves as TOOL (reference, pointer or coil); repeatable. Default: by the "
                        "ROM's tool type (1 reference, 2 pointer, others coil); printed on upload")
    p.add_argument("--quiet", action="store_true", help="do not print scenario phases")
    return p


def _make_emulator(args: argparse.Namespace,
                   scenario: Scenario) -> tuple[Any, str, str, dict[int, str] | None]:
    """The emulator, a one-line description, the Python line that connects a driver and the
    Polhemus station -> tool map (None for NDI)."""
    noise = DEFAULT_NOISE_MM[args.device] if args.noise is None else args.noise
    if not 0.0 <= noise <= 10.0:
        raise ValueError(f"--noise must be between 0 and 10 mm, got {noise}")
    per_axis = noise / math.sqrt(3.0)
    emulator: Any
    if args.device == "ndi":
        from .ndi.emulator import NDIEmulator

        model = args.model or "vega"
        if model not in NDI_MODELS:
            raise ValueError(f"unknown NDI model {model!r}; choose one of {', '.join(NDI_MODELS)}")
        emulator = NDIEmulator(scenario, model=model, rate_hz=args.rate, noise_mm=per_axis,
                               noise_rad=per_axis / _LEVER_MM, rms_mm=0.6 * noise, seed=args.seed,
                               rom_motion=_rom_motion(args.rom_motion))
        rate = emulator.device.rate_hz
        text = f"NDI {emulator.device.product} emulator, {rate:g} Hz"
        hint = "NDITracker(PORT" + (f", nominal_rate_hz={rate:g})" if rate != 60 else ")")
        return emulator, text, "from tmsnav.hardware.ndi.driver import NDITracker; " + hint, None
    if args.rom_motion:
        raise ValueError("--rom-motion is for the NDI emulator (Polhemus has no tool definitions)")
    from .polhemus.emulator import PolhemusEmulator

    model = args.model or "fastrak"
    if model not in POLHEMUS_MODELS:
        raise ValueError(f"unknown Polhemus model {model!r}; choose one of "
                         f"{', '.join(POLHEMUS_MODELS)}")
    if model == "patriot":  # two receivers only: the head reference and the tool in use
        second = "coil" if args.scenario in ("coil_approach", "head_motion") else "pointer"
        station_tools = {1: "reference", 2: second}
    else:
        station_tools = {1: "reference", 2: "pointer", 3: "coil"}
    source = _Relocated(scenario, transmitter_from_tracker(scenario))
    emulator = PolhemusEmulator(model, stations=tuple(station_tools), rate_hz=args.rate,
                                pose_source=source, station_tools=station_tools,
                                noise_mm=per_axis, noise_deg=math.degrees(noise / _LEVER_MM),
                                seed=args.seed)
    text = f"Polhemus {model.upper() if model == 'fastrak' else model.title()} emulator, " \
           f"{emulator.device.rate_hz:g} Hz, stations " + \
           ", ".join(f"{s}={t}" for s, t in station_tools.items())
    hint = f"PolhemusTracker(PORT, model={model!r}, station_names={station_tools!r})"
    return emulator, text, "from tmsnav.hardware.polhemus import PolhemusTracker; " + hint, station_tools


def _rom_motion(items: list[str]) -> dict[str, str]:
    """``["8700449=coil", ...]`` -> ``{"8700449": "coil"}``; a malformed item is a ValueError."""
    motion = {}
    for item in items:
        part, sep, tool = item.partition("=")
        if not sep or not part.strip() or not tool.strip():
            raise ValueError(f"--rom-motion takes PART=TOOL, e.g. 8700449=coil; got {item!r}")
        motion[part.strip()] = tool.strip()
    return motion


def app_spec(args: argparse.Namespace, port: str, station_tools: dict[int, str] | None) -> str:
    """The ``--tracker`` spec that connects tmsnav to this emulator with every tool named as the
    app's roles: the Polhemus model, and the station names when they differ from the driver's
    default order (1 reference, 2 pointer, 3 coil), e.g. a Patriot whose station 2 is the coil."""
    if args.device != "polhemus":
        return f"{args.device}:{port}"
    from .polhemus.driver import DEFAULT_STATION_NAMES

    query = [f"model={args.model or 'fastrak'}"]
    tools = station_tools or {}
    if any(DEFAULT_STATION_NAMES.get(s) != name for s, name in tools.items()):
        query.append("tools=" + ",".join(tools[s] for s in sorted(tools)))
    return f"polhemus:{port}?" + "&".join(query)


def _serve(emulator: Any, tcp: int | None) -> str:
    if tcp is None:
        return emulator.serve_pty()
    if not 0 <= tcp <= 65535:
        raise ValueError(f"--tcp must be a port number 0-65535, got {tcp}")
    try:
        return f"socket://127.0.0.1:{emulator.serve_tcp(tcp)}"
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise OSError(f"TCP port {tcp} is already in use; choose another with --tcp PORT") from None
        if exc.errno == errno.EACCES:
            raise OSError(f"no permission to listen on TCP port {tcp}; use a port above 1023") from None
        raise OSError(f"cannot listen on TCP port {tcp}: {exc.strerror or exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["magventure"]:   # a stimulator, not a tracker: its own options and front panel
        from .stimulators.magventure.emulate import main as magventure_main
        return magventure_main(argv[1:])
    if argv[:1] == ["magstim"]:      # a stimulator too: hardware/stimulators/magstim/emulate.py
        from .stimulators.magstim.emulate import main as magstim_main
        return magstim_main(argv[1:])
    args = build_parser().parse_args(argv)
    emulator = None
    try:
        if args.rate is not None and not args.rate > 0:
            raise ValueError(f"--rate must be positive, got {args.rate}")
        scenario = make_scenario(args.scenario, seed=args.seed, loop=True)
        emulator, description, hint, station_tools = _make_emulator(args, scenario)
        port = _serve(emulator, args.tcp)
    except (ValueError, OSError, RuntimeError, ImportError) as exc:
        if emulator is not None:
            emulator.stop()
        print(f"tmsnav-emulate: error: {exc}", file=sys.stderr, flush=True)
        return 2
    started = time.monotonic()
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        noise = DEFAULT_NOISE_MM[args.device] if args.noise is None else args.noise
        print(f"{description}; scenario {args.scenario!r} ({scenario.duration_s:.0f} s, "
              f"looping); noise {noise:g} mm RMS; seed {args.seed}", flush=True)
        print(f"device: {port}", flush=True)
        print(f"connect: {hint.replace('PORT', repr(port))}", flush=True)
        spec = app_spec(args, port, station_tools)
        try:
            print(f"listed for the Tracker tab's port list in "
                  f"{register_emulator(EmulatorPort(os.getpid(), port, args.device, spec))}", flush=True)
        except OSError as exc:  # a read-only runtime folder must not stop the emulator
            print(f"not listed for the Tracker tab ({exc.strerror or exc}); type the port", flush=True)
        print(f"app: tmsnav --demo --tracker '{spec}'   (or Tracker tab: {args.device}, port {port})",
              flush=True)
        print("press Ctrl-C to stop", flush=True)
        phase = None
        notes = getattr(getattr(emulator, "device", None), "motion_notes", [])
        printed = 0
        while not stop.wait(0.1):
            for note in notes[printed:]:   # a host uploaded a tool definition: say how it moves
                print(f"tool: {note}", flush=True)
            printed = len(notes)
            now = scenario.phase_at(time.monotonic() - started)
            if now != phase and not args.quiet:
                print(f"phase: {now}", flush=True)
            phase = now
    finally:
        unregister_emulator()
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
