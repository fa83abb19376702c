"""Which pulse source to open, as one spec string like the tracker's (``hardware/config.py``).

=================================================  ===============================================
``ttl:/dev/ttyUSB0``                               TTL-to-serial adapter, pulse byte 0x01, 115200 bps
``ttl:COM4?byte=0x31,0x32&baud=9600``              ... sending '1' or '2' per pulse, at 9600 bps
``modem:/dev/ttyS0:CTS``                           rising edges on CTS (also DSR, RI, CD)
``modem:/dev/ttyS0:DSR?edge=falling&debounce_ms=5&poll_hz=2000``
``lsl:TMS-markers``                                every marker of the LSL stream named TMS-markers
``lsl:TMS-markers?match=pulse&source_id=rig-a``    only markers reading ``pulse``, from that sender
``lsl:?type=Markers``                              the one marker stream of type Markers
``key`` / ``key:PageDown?min_interval_ms=300``     the footswitch / keyboard key (default F8)
=================================================  ===============================================

:func:`parse_emg_spec` reads the EMG stream's spec the same way:
``emg:EMG-amp?channel=FDI&unit=uV`` (``unit`` only when the stream does not state it).
Every mistake gets a message naming what is wrong and a correct example; unknown options are
refused rather than ignored (``?bytes=0x01`` would otherwise silently keep the default byte).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ..stimulators.base import PulseSource
from .common import ProblemCallback
from .modem_lines import EDGES, LINES

__all__ = ["PulseSourceConfig", "SOURCE_KINDS", "parse_emg_spec", "make_pulse_source"]

SOURCE_KINDS = {
    "ttl": "TTL-to-serial trigger adapter",
    "modem": "Serial modem-status line (CTS/DSR/RI/CD) wired to trigger-out",
    "lsl": "Lab Streaming Layer markers",
    "key": "Footswitch / keyboard key",
}
_OPTIONS = {"ttl": {"byte", "baud"}, "modem": {"edge", "debounce_ms", "poll_hz"},
            "lsl": {"type", "source_id", "match", "timeout_s"}, "key": {"min_interval_ms"}}
_EXAMPLES = {"ttl": "ttl:/dev/ttyUSB0?byte=0x01&baud=115200", "modem": "modem:/dev/ttyS0:CTS?edge=rising",
             "lsl": "lsl:TMS-markers?match=pulse", "key": "key:F8?min_interval_ms=200"}


def _split(spec: str) -> tuple[str, str, dict[str, str]]:
    head, _, query = spec.strip().partition("?")
    kind, _, target = head.partition(":")
    return kind.strip().lower(), target.strip(), dict(parse_qsl(query, keep_blank_values=True))


def _number(kind: str, key: str, text: str, cast: type = float) -> Any:
    try:
        return cast(text)
    except ValueError:
        raise ValueError(f"{key}={text!r} is not a number; e.g. {_EXAMPLES[kind]}") from None


def _bytes(text: str) -> tuple[int, ...]:
    values = []
    for part in text.split(","):
        try:
            value = int(part.strip(), 0)
        except ValueError:
            raise ValueError(f"byte={text!r}: each pulse byte is a number 0-255 such as 0x01 or 49") from None
        if not 0 <= value <= 255:
            raise ValueError(f"byte={text!r}: each pulse byte is 0-255 (0x00-0xFF)")
        values.append(value)
    return tuple(values)


@dataclass
class PulseSourceConfig:
    """A parsed pulse-source spec; :meth:`make` builds the (unstarted) source."""

    kind: str
    port: str = ""                   # ttl/modem: the serial port; lsl: stream name; key: the key
    line: str = ""                   # modem only
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str) -> "PulseSourceConfig":
        kind, target, query = _split(spec)
        if kind not in SOURCE_KINDS:
            raise ValueError(f"unknown pulse source {kind!r}; choose one of {', '.join(SOURCE_KINDS)} "
                             f"(e.g. {_EXAMPLES['ttl']})")
        unknown = sorted(set(query) - _OPTIONS[kind])
        if unknown:
            allowed = ", ".join(sorted(_OPTIONS[kind]))
            raise ValueError(f"'{kind}' has no option {', '.join(unknown)}; its options are {allowed} "
                             f"(e.g. {_EXAMPLES[kind]})")
        options: dict[str, Any] = {}
        line = ""
        if kind == "ttl":
            if not target:
                raise ValueError(f"'ttl' needs the adapter's serial port, e.g. {_EXAMPLES['ttl']}")
            if "byte" in query:
                options["pulse_bytes"] = _bytes(query["byte"])
            if "baud" in query:
                options["baud"] = _number(kind, "baud", query["baud"], int)
        elif kind == "modem":
            port, _, line = target.rpartition(":")
            if not port or line.upper() not in LINES:
                raise ValueError(f"'modem' needs the port and the line (CTS, DSR, RI or CD), e.g. {_EXAMPLES['modem']}")
            target, line = port, line.upper()
            if "edge" in query:
                if query["edge"] not in EDGES:
                    raise ValueError(f"edge={query['edge']!r}: choose rising, falling or both")
                options["edge"] = query["edge"]
            if "debounce_ms" in query:
                options["debounce_s"] = _number(kind, "debounce_ms", query["debounce_ms"]) / 1e3
            if "poll_hz" in query:
                options["poll_hz"] = _number(kind, "poll_hz", query["poll_hz"])
        elif kind == "lsl":
            if not (target or query.get("type") or query.get("source_id")):
                raise ValueError(f"'lsl' needs the marker stream's name (or ?type=...), e.g. {_EXAMPLES['lsl']}")
            for key, name in (("type", "stream_type"), ("source_id", "source_id"), ("match", "match")):
                if key in query:
                    options[name] = query[key]
            if "timeout_s" in query:
                options["resolve_timeout_s"] = _number(kind, "timeout_s", query["timeout_s"])
        elif kind == "key":
            target = target or "F8"
            if "min_interval_ms" in query:
                options["min_interval_s"] = _number(kind, "min_interval_ms", query["min_interval_ms"]) / 1e3
        return cls(kind=kind, port=target, line=line, options=options)

    def make(self, on_problem: ProblemCallback | None = None) -> PulseSource:
        """The source (not started). Settings that are out of range raise ValueError here."""
        return make_pulse_source(self, on_problem)

    def describe(self) -> str:
        where = {"ttl": f" on {self.port}", "modem": f": {self.line} of {self.port}",
                 "lsl": f" {self.port!r}" if self.port else "", "key": f" {self.port}"}[self.kind]
        return f"{SOURCE_KINDS[self.kind]}{where}"


def make_pulse_source(cfg: PulseSourceConfig, on_problem: ProblemCallback | None = None) -> PulseSource:
    if cfg.kind == "ttl":
        from .ttl_serial import TtlSerialSource

        return TtlSerialSource(cfg.port, on_problem=on_problem, **cfg.options)
    if cfg.kind == "modem":
        from .modem_lines import ModemLineSource

        return ModemLineSource(cfg.port, cfg.line, on_problem=on_problem, **cfg.options)
    if cfg.kind == "lsl":
        from .lsl_markers import LslMarkerSource

        return LslMarkerSource(cfg.port or None, on_problem=on_problem, **cfg.options)
    if cfg.kind == "key":
        from .key_source import KeySource

        return KeySource(cfg.port, on_problem=on_problem, **cfg.options)
    raise ValueError(f"unknown pulse source {cfg.kind!r}")


def parse_emg_spec(spec: str) -> dict[str, Any]:
    """``emg:NAME?channel=FDI&unit=uV&type=EMG&source_id=..`` -> keyword arguments of
    :class:`~.lsl_emg.LslEmgBuffer` (checked there when it starts)."""
    kind, name, query = _split(spec)
    example = "emg:EMG-amp?channel=FDI&unit=uV"
    if kind != "emg":
        raise ValueError(f"an EMG stream spec starts with 'emg:', e.g. {example}")
    unknown = sorted(set(query) - {"channel", "unit", "type", "source_id", "capacity_s", "timeout_s"})
    if unknown:
        raise ValueError(f"'emg' has no option {', '.join(unknown)}; its options are capacity_s, channel, "
                         f"source_id, timeout_s, type, unit (e.g. {example})")
    if not (name or query.get("type") or query.get("source_id")):
        raise ValueError(f"'emg' needs the EMG stream's name (or ?type=...), e.g. {example}")
    kwargs: dict[str, Any] = {"name": name or None}
    if "channel" in query:
        channel = query["channel"]
        kwargs["channel"] = int(channel) if channel.isdigit() else channel
    for key, arg in (("unit", "unit"), ("type", "stream_type"), ("source_id", "source_id")):
        if key in query:
            kwargs[arg] = query[key]
    for key, arg in (("capacity_s", "capacity_s"), ("timeout_s", "resolve_timeout_s")):
        if key in query:
            try:
                kwargs[arg] = float(query[key])
            except ValueError:
                raise ValueError(f"{key}={query[key]!r} is not a number; e.g. {example}&{key}=30") from None
    return kwargs
