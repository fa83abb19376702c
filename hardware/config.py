"""Which tracker to open and how: one small record the GUI, the CLI and saved settings share.

``TrackerConfig.parse("ndi:/dev/ttyUSB0")`` / ``"ndi:socket://10.0.0.5:8765"`` /
``"polhemus:/dev/ttyS0?model=liberty"`` (stations 1, 2, 3 are the reference, pointer and coil
unless ``&tools=reference,coil`` names them in station order) / ``"igtl:localhost:18944"`` /
``"sim"`` / ``"sim:full_session"`` / ``"replay:/path/rec.jsonl"``; :func:`tracker_factory` turns a
config into the ``make_tracker`` callable that
:class:`~tmsnav.hardware.acquisition.core.Acquisition` calls for every (re)connection, so each
reconnect gets a fresh driver. That callable is a ``functools.partial`` of the driver class, so it
pickles and ``Acquisition(isolation="process")`` can run it in a child process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl

from .tracker import Tracker

__all__ = ["TrackerConfig", "tracker_factory", "KINDS"]

KINDS = {
    "sim": "Simulated tracker (demo)",
    "ndi": "NDI Polaris / Aurora / Vega",
    "polhemus": "Polhemus FASTRAK / Liberty / Patriot",
    "igtl": "OpenIGTLink (PLUS server, 3D Slicer)",
    "replay": "Replay a recording",
}


@dataclass
class TrackerConfig:
    kind: str                                  # one of KINDS
    port: str = ""                             # serial device / pyserial URL / host:port / file / scenario
    baud: int = 115200
    model: str = "fastrak"                     # Polhemus model
    reply_format: str = "BX"                   # NDI BX (binary) or TX (text)
    rom_files: dict[str, str] = field(default_factory=dict)       # NDI: tool name -> .rom
    tool_names: dict[str, str] = field(default_factory=dict)      # device id (handle/station) -> name
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown tracker kind {self.kind!r}; choose one of {', '.join(KINDS)}")

    @classmethod
    def parse(cls, spec: str) -> "TrackerConfig":
        """``kind[:target][?key=value&...]`` (see module docstring)."""
        spec = spec.strip()
        kind, _, rest = spec.partition(":")
        target, _, query = rest.partition("?")
        options = dict(parse_qsl(query))
        cfg = cls(kind=kind.lower(), port=target, options=options)
        if "baud" in options:
            cfg.baud = int(options.pop("baud"))
        if "model" in options:
            cfg.model = options.pop("model").lower()
        if "format" in options:
            cfg.reply_format = options.pop("format").upper()
        if "tools" in options:  # names in station order: polhemus:/dev/ttyS0?tools=reference,coil
            names = [n.strip() for n in options.pop("tools").split(",")]
            if cfg.kind != "polhemus" or not all(names) or len(set(names)) != len(names):
                raise ValueError("tools=NAME,NAME,... names Polhemus stations 1, 2, ... in order, "
                                 "each name once, e.g. polhemus:/dev/ttyS0?model=patriot&tools=reference,coil")
            cfg.tool_names = {str(i): n for i, n in enumerate(names, start=1)}
        if cfg.kind in ("ndi", "polhemus", "igtl", "replay") and not cfg.port:
            raise ValueError(f"'{cfg.kind}' needs a port, URL or file, e.g. {cfg.kind}:/dev/ttyUSB0")
        return cfg

    def describe(self) -> str:
        where = f" on {self.port}" if self.port else ""
        return f"{KINDS[self.kind]}{where}"


def _number_or_text(value: object) -> object:
    """Scenario options arrive as text ('n_points=12', 'pivot_s=2.5'): numbers become int or float."""
    if not isinstance(value, str):
        return value
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def tracker_factory(cfg: TrackerConfig, *, head=None, seed: int = 0) -> Callable[[], Tracker]:
    """A callable building a fresh, unconnected driver for ``cfg``. ``head`` (a
    :class:`~tmsnav.hardware.simulation.head.HeadGeometry`) shapes the simulated patient."""
    if cfg.kind == "sim":
        from .simulation.tracker import SimulatedTracker

        scenario = cfg.port or "full_session"
        options = dict(cfg.options)
        rate = float(options.pop("rate", 60.0))
        loop = str(options.pop("loop", "1")) not in ("0", "false", "no")
        scenario_options: dict[str, Any] = {k: _number_or_text(v) for k, v in options.items()}
        return partial(SimulatedTracker, scenario, head=head, rate_hz=rate, seed=seed, loop=loop,
                       **scenario_options)
    if cfg.kind == "ndi":
        from .ndi.driver import NDITracker

        roms = {name: Path(path) for name, path in cfg.rom_files.items()}
        return partial(NDITracker, cfg.port, baud=cfg.baud, reply_format=cfg.reply_format,
                       rom_files=roms or None, tool_names=dict(cfg.tool_names) or None)
    if cfg.kind == "polhemus":
        from .polhemus.driver import PolhemusTracker

        names = {int(k): v for k, v in cfg.tool_names.items()} or None
        return partial(PolhemusTracker, cfg.port, model=cfg.model, baud=cfg.baud, station_names=names)
    if cfg.kind == "igtl":
        from .igtl.client import IGTLinkTracker

        host, _, port = cfg.port.rpartition(":")
        if not host:
            host, port = cfg.port, "18944"
        return partial(IGTLinkTracker, host, int(port))
    if cfg.kind == "replay":
        from .acquisition.recording import ReplayTracker

        return partial(ReplayTracker, Path(cfg.port), realtime=True, loop=True)
    raise ValueError(f"unknown tracker kind {cfg.kind!r}")
