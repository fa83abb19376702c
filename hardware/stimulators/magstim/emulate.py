"""``tmsnav-emulate magstim``: an emulated Magstim on a pty or TCP port, to try tmsnav without one.

    tmsnav-emulate magstim [--model 200|bistim|rapid] [--tcp PORT] [--unlock-code CODE]
                           [--version X.Y.Z] [--fast] [--quiet]

Prints the device path, the line that connects the driver, and what the unit does (remote control,
armed, pulses, disarmed and why) until Ctrl-C. Errors are one line on stderr and exit status 2.
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
from .emulator import MagstimEmulator
from .protocol import MODELS

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tmsnav-emulate magstim",
                                description="Emulate a Magstim 200², BiStim² or Rapid² speaking "
                                            "its remote-control protocol on a pseudo-terminal "
                                            "(default) or a TCP port.")
    p.add_argument("--model", default="200", choices=tuple(MODELS), help="default 200")
    p.add_argument("--tcp", type=int, metavar="PORT",
                   help="serve on 127.0.0.1:PORT instead of a pty (0 = any free port)")
    p.add_argument("--unlock-code", metavar="CODE",
                   help="rapid, software 9 or later: the code remote control needs (default 1234)")
    p.add_argument("--version", default="9.0.0", metavar="X.Y.Z",
                   help="rapid: software version (default 9.0.0)")
    p.add_argument("--fast", action="store_true",
                   help="answer at once (default: at the pace of the real 9600 bps link)")
    p.add_argument("--quiet", action="store_true", help="do not print what the unit does")
    return p


def _version(text: str) -> tuple[int, int, int]:
    parts = text.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise ValueError(f"--version takes X.Y.Z, e.g. 9.0.0; got {text!r}")
    return int(parts[0]), int(parts[1]), int(parts[2])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    emulator = None
    try:
        version = _version(args.version)
        code = args.unlock_code or ("1234" if args.model == "rapid" and version >= (9, 0, 0)
                                    else None)
        emulator = MagstimEmulator(args.model, version=version, unlock_code=code,
                                   line_rate_bps=None if args.fast else 9600)
        if args.tcp is None:
            port = emulator.serve_pty()
        elif not 0 <= args.tcp <= 65535:
            raise ValueError(f"--tcp must be a port number 0-65535, got {args.tcp}")
        else:
            try:
                port = f"socket://127.0.0.1:{emulator.serve_tcp(args.tcp)}"
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise OSError(f"TCP port {args.tcp} is already in use; choose another") from None
                raise
    except (ValueError, OSError) as exc:
        if emulator is not None:
            emulator.stop()
        print(f"tmsnav-emulate: error: {exc}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    unit = emulator.unit
    extra = f", unlock_code={code!r}" if unit.unlock_code else ""
    spec = f"magstim:{port}?model={args.model}"
    try:
        print(f"{MODELS[args.model]} emulator" + (f", software {args.version}, unlock code "
              f"{code}" if args.model == "rapid" else ""), flush=True)
        print(f"device: {port}", flush=True)
        print(f"connect: from tmsnav.hardware.stimulators.magstim.driver import MagstimDriver; "
              f"MagstimDriver({port!r}, model={args.model!r}{extra})", flush=True)
        try:
            register_emulator(EmulatorPort(os.getpid(), port, "magstim", spec))
        except OSError as exc:
            print(f"not listed for the app's port list ({exc.strerror or exc})", flush=True)
        print("press Ctrl-C to stop", flush=True)
        printed = 0
        while True:
            stopping = stop.wait(0.1)
            with emulator.lock:
                events = list(unit.events[printed:])
            printed += len(events)
            if not args.quiet:
                for t, text in events:
                    print(f"{t:9.1f} s  {text}", flush=True)
            if stopping:
                break
    finally:
        unregister_emulator()
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
