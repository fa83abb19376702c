"""``tmsnav-emulate magventure``: an emulated MagPro on a pty or TCP port, with a keyboard front panel.

    tmsnav-emulate magventure [--tcp PORT] [--model R30|X100|...] [--didt-per-pct A_PER_US]
                              [--recharge S] [--amplitude-limit PCT] [--quiet]

Prints the device path and how to connect, lists itself for the app's port lists
(:mod:`tmsnav.hardware.emulator_ports`, device ``magventure``), then reads front-panel keys from
stdin, one per line: ``p`` foot pedal (a pulse if enabled), ``e``/``d`` enable/disable key,
``a NN`` turn the amplitude to NN %, ``m MAX MIN T`` an MEP from the MEP page (uV, uV, us),
``t NN`` coil temperature, ``r`` restart (after a malformed command hung the unit), ``q`` quit.
Everything the unit pushes (and each command received) is printed unless ``--quiet``.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
from typing import Sequence

from ...emulator_ports import EmulatorPort, register_emulator, unregister_emulator
from .emulator import MagProEmulator
from .messages import MODELS

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tmsnav-emulate magventure",
                                description="Emulate a MagVenture MagPro on a pseudo-terminal (default) or a TCP "
                                            "port; type front-panel keys on stdin (p pedal, e/d enable/disable, "
                                            "a NN amplitude, m MAX MIN T an MEP, t NN temperature, r restart, q quit).")
    p.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT instead of a pty (0 = any)")
    p.add_argument("--model", default="R30", choices=MODELS, help="unit model reported in the status (default R30)")
    p.add_argument("--didt-per-pct", type=float, default=1.5, metavar="A_PER_US",
                   help="realised dI/dt per percent output (default 1.5 A/us, about an MCF-B65)")
    p.add_argument("--recharge", type=float, default=0.0, metavar="S",
                   help="seconds after a pulse before the next can fire (default 0)")
    p.add_argument("--amplitude-limit", type=int, default=100, metavar="PCT",
                   help="the unit clamps amplitudes above this (to try the read-back check; default 100)")
    p.add_argument("--quiet", action="store_true", help="do not print commands and pushed frames")
    return p


def _key(emulator: MagProEmulator, line: str) -> str | None:
    """Apply one front-panel line; return what to print (None = quit)."""
    words = line.split()
    if not words:
        return ""
    key, args = words[0].lower(), words[1:]
    try:
        if key == "q":
            return None
        if key == "p":
            return "pulse delivered" if emulator.foot_pedal() else "no pulse (not enabled or recharging)"
        if key in ("e", "d"):
            emulator.press_enable(key == "e")
            return "enabled" if key == "e" else "disabled"
        if key == "a":
            emulator.turn_amplitude(int(args[0]))
            return f"amplitude {emulator.unit.amplitude_a} %"
        if key == "m":
            emulator.mep(int(args[0]), int(args[1]), int(args[2]))
            return "MEP sent"
        if key == "t":
            emulator.set_coil_temperature(int(args[0]))
            return f"coil temperature {args[0]} degC"
        if key == "r":
            emulator.restart()
            return "restarted"
    except (IndexError, ValueError):
        return f"cannot read {line.strip()!r}: see --help"
    return f"unknown key {key!r}: p, e, d, a NN, m MAX MIN T, t NN, r, q"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    emulator = MagProEmulator(model=MODELS.index(args.model), didt_per_pct=args.didt_per_pct,
                              recharge_s=args.recharge, amplitude_limit=args.amplitude_limit)
    try:
        if args.tcp is None:
            port = emulator.serve_pty()
        elif not 0 <= args.tcp <= 65535:
            raise ValueError(f"--tcp must be a port number 0-65535, got {args.tcp}")
        else:
            port = f"socket://127.0.0.1:{emulator.serve_tcp(args.tcp)}"
    except (ValueError, OSError) as exc:
        emulator.stop()
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            exc = OSError(f"TCP port {args.tcp} is already in use; choose another with --tcp PORT")
        print(f"tmsnav-emulate: error: {exc}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"MagVenture MagPro {args.model} emulator, 38400 bps 8N1", flush=True)
        print(f"device: {port}", flush=True)
        print("connect: from tmsnav.hardware.stimulators.magventure import MagVentureDriver; "
              f"MagVentureDriver({port!r})", flush=True)
        try:
            register_emulator(EmulatorPort(os.getpid(), port, "magventure", f"magventure:{port}"))
        except OSError as exc:
            print(f"not listed for the app's port list ({exc.strerror or exc}); type the port", flush=True)
        print("keys: p pedal, e/d enable/disable, a NN amplitude, m MAX MIN T MEP, t NN temperature, r restart, "
              "q quit", flush=True)
        print("press Ctrl-C to stop", flush=True)
        threading.Thread(target=_read_keys, args=(emulator, stop), daemon=True).start()
        seen = 0
        while not stop.wait(0.1):
            received = emulator.received
            if not args.quiet:
                for cmd in received[seen:]:
                    print(f"command: {cmd.payload.hex(' ')}", flush=True)
            seen = len(received)
    finally:
        unregister_emulator()
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0


def _read_keys(emulator: MagProEmulator, stop: threading.Event) -> None:
    for line in sys.stdin:
        said = _key(emulator, line)
        if said is None:
            break
        if said:
            print(said, flush=True)
    else:
        return   # stdin closed (e.g. started from a script): keep serving until Ctrl-C
    stop.set()
