"""``tmsnav`` command line: start the GUI, optionally on an image or the demo, or render a screenshot.

    tmsnav                       empty window (File > Open)
    tmsnav T1.nii.gz             open an image (NIfTI, MGZ, or a DICOM folder)
    tmsnav --demo                sample head + simulated tracker
    tmsnav --demo --screenshot out.png   render the window to PNG and exit (docs, tests)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
import traceback
from pathlib import Path

__all__ = ["main", "build_parser"]

log = logging.getLogger("tmsnav")


#: Every --tracker form, one example each (tests parse each with TrackerConfig.parse).
TRACKER_SPEC_EXAMPLES = (
    ("sim", "simulated tracker playing the full technician session (the demo)"),
    ("sim:SCENARIO", "a scripted scenario: {scenarios}"),
    ("sim:pivot?duration_s=3&rate=40", "scenario options and the frame rate (Hz)"),
    ("ndi:/dev/ttyUSB0", "NDI Polaris/Aurora on a serial or USB port (COM3 on Windows)"),
    ("ndi:/dev/ttyUSB0?baud=921600&format=tx", "NDI with baud rate and TX (text) replies"),
    ("ndi:socket://192.168.1.20:8765", "NDI Polaris Vega over Ethernet"),
    ("polhemus:/dev/ttyS0?model=liberty", "Polhemus fastrak (default) | liberty | patriot; "
     "stations 1, 2, 3 = reference, pointer, coil"),
    ("polhemus:/dev/ttyS0?model=patriot&tools=reference,coil", "Polhemus stations named in order"),
    ("igtl:localhost:18944", "OpenIGTLink server (PLUS, 3D Slicer); port 18944 if omitted"),
    ("replay:recording.jsonl", "replay a recording made in the Tracker tab, looping"),
)


def _tracker_help() -> str:
    from tmsnav.hardware.simulation.scenario_library import SCENARIO_NAMES

    lines = ["tracker specs (--tracker SPEC):"]
    for spec, text in TRACKER_SPEC_EXAMPLES:
        lines.append(f"  {spec}")
        lines += textwrap.wrap(text.format(scenarios=", ".join(SCENARIO_NAMES)), 76,
                               initial_indent="      ", subsequent_indent="      ")
    lines += ["", "no tracker at hand? 'tmsnav-emulate ndi' (or 'tmsnav-emulate polhemus --model liberty')",
              "runs a byte-exact device emulator on a pseudo-terminal and prints the --tracker spec",
              "that connects to it; the Tracker tab's port list offers running emulators",
              "(tmsnav-emulate --help)."]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tmsnav", description="Neuronavigation for personalized TMS.",
                                epilog=_tracker_help(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", nargs="?", help="T1 MRI: .nii, .nii.gz, .mgz, or a DICOM series folder")
    p.add_argument("--demo", action="store_true",
                   help="open the bundled sample head with the simulated tracker")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the window to PNG once loading is done, then exit")
    p.add_argument("--tracker", metavar="SPEC", default=None,
                   help="connect a tracker at start: sim[:SCENARIO], ndi:PORT_OR_URL, "
                        "polhemus:PORT?model=MODEL, igtl:HOST:PORT, replay:FILE (all forms "
                        "below; default: 'sim' with --demo, none otherwise)")
    p.add_argument("--size", metavar="WxH", default="1500x950", help="window size (default 1500x950)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--log-dir", metavar="DIR", default=None,
                   help="folder for the rotating log file (default: the user log folder, "
                        "e.g. ~/.local/state/tmsnav/log; or set TMSNAV_LOG_DIR)")
    return p


def _install_excepthook(window_getter) -> None:
    """An unexpected exception in a Qt slot becomes a dialog and a log entry, never a crash."""

    def hook(exc_type, exc, tb) -> None:
        log.error("unhandled %s:\n%s", exc_type.__name__,
                  "".join(traceback.format_exception(exc_type, exc, tb)))
        window = window_getter()
        if window is not None:
            from .workers import error_title, user_message
            window.show_error(error_title(exc), user_message(exc))

    sys.excepthook = hook


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.image and not Path(args.image).exists():
        print(f"tmsnav: error: no such file or folder: {args.image}", file=sys.stderr)
        return 2
    try:   # checked before any window exists: a refused start leaves nothing open behind it
        size = tuple(int(v) for v in args.size.lower().split("x"))
        if len(size) != 2:
            raise ValueError
    except ValueError:
        print(f"tmsnav: error: --size must look like 1500x950, got {args.size!r}", file=sys.stderr)
        return 2
    from .logging_setup import close_logging, setup_logging

    setup_logging(args.log_level, directory=args.log_dir)
    try:
        return _run(args, size)
    finally:
        close_logging()   # the handlers hold sys.stderr; a caller (a test) may close it after


def _run(args: argparse.Namespace, size: tuple[int, ...]) -> int:
    """The GUI part of :func:`main`, with the arguments already checked."""
    os.environ.setdefault("VTK_SMP_BACKEND_IN_USE", "STDThread")

    from PySide6 import QtCore, QtWidgets

    from .main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("tmsnav")
    window = MainWindow()
    window.confirm_unsaved_close = not args.screenshot   # ask before losing unsaved work
    if not args.screenshot:
        window.chairside.restore_saved()     # the user's layout and bullseye orientation
    _install_excepthook(lambda: window)
    window.resize(size[0], size[1])
    window.show()

    failures: list[str] = []
    window.loadFailed.connect(failures.append)
    if args.demo:
        from .demo import start_demo

        start_demo(window, args.tracker)
    else:
        if args.image:
            window.open_image(args.image)
        if args.tracker:
            window.connect_tracker_spec(args.tracker)

    if args.screenshot:
        window.wait_for_job(timeout_ms=300_000)
        for _ in range(5):
            app.processEvents()
            QtCore.QThread.msleep(20)
        ok = window.save_screenshot(args.screenshot)
        print(f"tmsnav: screenshot {'written to' if ok else 'FAILED for'} {args.screenshot}")
        window.close()
        return 1 if (failures or not ok) else 0
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
