"""The emulated NDI device: the Combined API command state machine of a Polaris/Aurora, no I/O.

One command line in, exactly one reply out (bytes, CRC and CR included). Checks run in the order
a device applies them: command CRC (ERROR04) -> known command (01) -> INIT done (10) -> valid in
this mode (0C) -> parameters (07, 08, 09, 0E, 0F, 23, 40, 41). Handles are parsed
case-insensitively. Frame numbers come from the device's own clock at its own rate, shared by
every tool of a camera frame, never going backwards. Transports and fault injection live in
:mod:`.emulator`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .bx import encode_bx
from .commands import (OKAY_REPLY, RESET_REPLY, CommandError, baud_from_comm_code,
                       frame_ascii_reply, parse_command)
from .device_pose import PoseSampler
from .replies import (REPLY_ALL_TRANSFORMS, HandleReport, HandleState, PortStatus,
                      TrackingFrame, check_reply_options, encode_phsr)
from .rom import RomRejected, check_tool_definition
from .tx import encode_tx

__all__ = ["PoseSource", "EmulatedDevice", "MODELS", "TOOL_CONDITIONS", "DEFAULT_TOOLS"]

#: model -> (product line, Freeze Tag value, default frame rate in Hz)
MODELS = {
    "vega": ("Polaris Vega", "Polaris Vega 008", 60.0),
    "spectra": ("Polaris Spectra", "Polaris Spectra Rev 007", 60.0),
    "vicra": ("Polaris Vicra", "Polaris Vicra Rev 007", 20.0),
    "aurora": ("AURORA", "AURORA Rev 008", 40.0),
}
TOOL_CONDITIONS = ("ok", "missing", "out_of_volume", "partially_in_volume", "disabled")
DEFAULT_TOOLS = ("reference", "pointer", "coil")
_MAIN_TYPES = {"reference": 1, "pointer": 2}
_MOTION_BY_TYPE = {1: "reference", 2: "pointer"}   # NDI tool main types; others move as the coil
_BEFORE_INIT = {"INIT", "COMM", "VER", "BEEP"}
_TRACKING_ONLY = {"BX", "TX", "TSTOP"}
_TRACKING_ALLOWED = _TRACKING_ONLY | {"VER", "BEEP", "COMM", "PHINF"}
_MAX_HANDLE = 0x20


class PoseSource(Protocol):
    """Anything with ``poses_at(t_s) -> {tool name: 4x4 tracker_from_tool in mm, or None}``."""

    def poses_at(self, t_s: float) -> dict[str, np.ndarray | None]: ...


@dataclass
class EmulatedPort:
    """One port handle of the emulated device."""

    handle: int
    tool: str
    part_number: str
    main_type: int
    passive: bool
    rom: bytearray | None = None
    initialized: bool = False
    enabled: bool = False
    written: set[int] = field(default_factory=set)
    motion: str = ""            # which tool of the pose source this port shows ("" = its own name)

    def status_bits(self) -> int:
        bits = PortStatus.TOOL_IN_PORT
        if self.initialized:
            bits |= PortStatus.INITIALIZED
        if self.enabled:
            bits |= PortStatus.ENABLED
        return bits


class EmulatedDevice:
    """State machine of an NDI tracker. Thread-safe: every public method takes one lock."""

    def __init__(self, pose_source: PoseSource, *, model: str = "vega",
                 rate_hz: float | None = None, tools: Sequence[str] = DEFAULT_TOOLS,
                 noise_mm: float = 0.05, noise_rad: float = 3e-4, rms_mm: float = 0.12,
                 seed: int = 0, start_frame: int = 0,
                 clock: Callable[[], float] = time.monotonic,
                 rom_motion: dict[str, str] | None = None) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown NDI model {model!r}; choose one of {', '.join(MODELS)}")
        self.product, self.freeze_tag, default_rate = MODELS[model]
        self.rate_hz = float(rate_hz if rate_hz is not None else default_rate)
        if not 20.0 <= self.rate_hz <= 400.0:
            raise ValueError(f"NDI frame rate must be 20-400 Hz, got {self.rate_hz}")
        self.sampler = PoseSampler(pose_source, noise_mm=noise_mm, noise_rad=noise_rad,
                                   rms_mm=rms_mm, seed=seed)
        self.builtin_tools = tuple(tools)
        self._clock = clock
        self._t0 = clock()
        self._start_frame = int(start_frame)
        self._frozen_count: int | None = None
        self._lock = threading.RLock()
        self.conditions: dict[str, str] = {}
        self.frame_number_overrides: list[int] = []
        self.system_status = 0
        self.commands: list[str] = []
        self.rom_motion = dict(rom_motion or {})
        unknown = sorted(set(self.rom_motion.values()) - set(pose_source.poses_at(0.0)))
        if unknown:
            raise ValueError(f"rom_motion names {', '.join(unknown)}, which the pose source does not "
                             f"move; choose from {', '.join(pose_source.poses_at(0.0))}")
        #: one sentence per uploaded tool definition: which motion it got and why (printed by
        #: tmsnav-emulate, so a user knows what the tool will do)
        self.motion_notes: list[str] = []
        self._reset_state()

    # ----------------------------------------------------------------- state and clock
    def _reset_state(self) -> None:
        self.baud = 9600
        self.initialized = False
        self.tracking = False
        self.ports: dict[int, EmulatedPort] = {}

    def _populate_builtin_ports(self) -> None:
        self.ports = {i + 1: EmulatedPort(i + 1, name, name, _MAIN_TYPES.get(name, 4), False)
                      for i, name in enumerate(self.builtin_tools)}

    def _frame_count(self) -> int:
        if self._frozen_count is not None:
            return self._frozen_count
        return int(math.floor((self._clock() - self._t0) * self.rate_hz))

    def frame_number(self) -> int:
        """The current device frame number (uint32, wraps)."""
        with self._lock:
            return (self._start_frame + self._frame_count()) & 0xFFFFFFFF

    def freeze(self, frozen: bool) -> None:
        """Freeze (or release) the camera: replies keep coming with an unchanged frame number."""
        with self._lock:
            self._frozen_count = self._frame_count() if frozen else None

    def override_frame_numbers(self, value: int, count: int, *, replace: bool = False) -> None:
        """Report ``value`` as the frame number of the next ``count`` tracking replies."""
        with self._lock:
            if replace:
                self.frame_number_overrides.clear()
            self.frame_number_overrides.extend([value] * count)

    def set_condition(self, tool: str, condition: str) -> None:
        if condition not in TOOL_CONDITIONS:
            raise ValueError(f"tool condition must be one of {TOOL_CONDITIONS}, got {condition!r}")
        with self._lock:
            self.conditions[tool] = condition

    # ----------------------------------------------------------------- entry points
    def on_break(self) -> bytes:
        """A serial break: drop everything, back to 9600 baud, answer ``RESETBE6F``."""
        with self._lock:
            self._reset_state()
            self.commands.append("<break>")
            return RESET_REPLY

    def handle_line(self, line: bytes) -> bytes:
        """Answer one command line (without its CR) with exactly one reply."""
        with self._lock:
            try:
                command = parse_command(line)
                separator = ":" if command.had_crc else " "
                self.commands.append(command.name + separator + command.params)
                handler = getattr(self, "_cmd_" + command.name.lower(), None)
                if handler is None:
                    raise CommandError(0x01)
                if not self.initialized and command.name not in _BEFORE_INIT:
                    raise CommandError(0x10)
                if self.tracking and command.name not in _TRACKING_ALLOWED:
                    raise CommandError(0x0C)
                if not self.tracking and command.name in _TRACKING_ONLY:
                    raise CommandError(0x0C)
                return handler(command.params)
            except CommandError as err:
                return frame_ascii_reply(f"ERROR{err.code:02X}")

    # ----------------------------------------------------------------- helpers
    def _port(self, text: str) -> EmulatedPort:
        try:
            handle = int(text, 16)
        except ValueError:
            raise CommandError(0x08) from None
        if len(text) != 2 or handle not in self.ports:
            raise CommandError(0x08)
        return self.ports[handle]

    @staticmethod
    def _options(params: str, default: int) -> int:
        if not params:
            return default
        try:
            if len(params) != 4:
                raise ValueError
            return int(params, 16)
        except ValueError:
            raise CommandError(0x07) from None

    def _motion_for(self, part_number: str, main_type: int) -> tuple[str, str]:
        """Which tool of the pose source an uploaded tool follows, and why.

        Order: the ``rom_motion`` option (part number -> tool), a pose-source tool of the same
        name (tmsnav's own ROMs), else by NDI tool type (byte 15: 1 reference -> the head
        reference, 2 pointer -> the pointer, anything else -> the coil). Without this a real
        ROM (part number 8700339, ...) matched no tool and was reported MISSING forever.
        """
        known = list(self.sampler.source.poses_at(0.0))
        chosen = self.rom_motion.get(part_number)
        if chosen is not None:
            return chosen, "emulator option"
        if part_number in known:
            return part_number, "same name"
        by_type = _MOTION_BY_TYPE.get(main_type, "coil")
        if by_type in known:
            return by_type, f"tool type {main_type}"
        return known[0], f"tool type {main_type}; the scenario has no {by_type}"

    # ----------------------------------------------------------------- commands
    def _cmd_init(self, params: str) -> bytes:
        self.initialized = True
        self.tracking = False
        self._populate_builtin_ports()
        return OKAY_REPLY

    def _cmd_comm(self, params: str) -> bytes:
        if len(params) != 5:
            raise CommandError(0x07)
        try:
            baud = baud_from_comm_code(params[0])
        except ValueError:
            raise CommandError(0x06) from None
        if params[1] not in "01" or params[2] not in "012" or params[3] not in "01" \
                or params[4] not in "01":
            raise CommandError(0x06)
        self.baud = baud          # the caller sends OKAY at the old rate, then switches
        return OKAY_REPLY

    def _cmd_ver(self, params: str) -> bytes:
        if params and (len(params) != 1 or not params.isdigit()):
            raise CommandError(0x07)
        lines = [f"{self.product} Control Firmware", "NDI S/N: EMU-00000001",
                 "Characterization Date: 01/01/24", f"Freeze Tag: {self.freeze_tag}",
                 "Freeze Date: 01/01/24", "(C) emulated by tmsnav, not an NDI product"]
        return frame_ascii_reply("\n".join(lines))

    def _cmd_beep(self, params: str) -> bytes:
        if params not in ("", "1", "2", "3", "4", "5", "6", "7", "8", "9"):
            raise CommandError(0x07)
        return frame_ascii_reply("1")

    def _cmd_phsr(self, params: str) -> bytes:
        option = int(params, 16) if params in ("00", "01", "02", "03", "04") else (
            0 if params == "" else None)
        if option is None:
            raise CommandError(0x07)
        selectors = {0: lambda p: True, 1: lambda p: False,
                     2: lambda p: not p.initialized, 3: lambda p: p.initialized and not p.enabled,
                     4: lambda p: p.enabled}
        entries = [(h, p.status_bits()) for h, p in sorted(self.ports.items())
                   if selectors[option](p)]
        return frame_ascii_reply(encode_phsr(entries))

    def _cmd_phrq(self, params: str) -> bytes:
        if len(params) != 14:
            raise CommandError(0x07)
        free = [h for h in range(1, _MAX_HANDLE + 1) if h not in self.ports]
        if not free:
            raise CommandError(0x2D)
        handle = free[0]
        self.ports[handle] = EmulatedPort(handle, "", "", 0, True, rom=bytearray(1024))
        return frame_ascii_reply(f"{handle:02X}")

    def _cmd_pvwr(self, params: str) -> bytes:
        if len(params) != 2 + 4 + 128:
            raise CommandError(0x07)
        port = self._port(params[:2])
        if not port.passive or port.rom is None:
            raise CommandError(0x08)
        try:
            address = int(params[2:6], 16)
            chunk = bytes.fromhex(params[6:])
        except ValueError:
            raise CommandError(0x07) from None
        if address % 64 or address >= 1024:
            raise CommandError(0x23)
        if address == 0 and chunk[:3] != b"NDI":
            raise CommandError(0x40)
        port.rom[address:address + 64] = chunk
        port.written.add(address)
        return OKAY_REPLY

    def _cmd_pinit(self, params: str) -> bytes:
        port = self._port(params)
        if port.passive and not port.initialized:
            if 0 not in port.written or port.rom is None:
                raise CommandError(0x13)
            try:
                definition = check_tool_definition(bytes(port.rom))
            except RomRejected as rejected:
                raise CommandError(rejected.code) from None
            port.tool = port.part_number = definition.part_number
            port.main_type = definition.main_type
            port.motion, why = self._motion_for(definition.part_number, definition.main_type)
            self.motion_notes.append(
                f"tool definition {definition.part_number or '(no part number)'} "
                f"({definition.manufacturer or 'no manufacturer'}, tool type {definition.main_type}) "
                f"on port {port.handle:02X} moves as '{port.motion}' ({why})")
        port.initialized = True
        return OKAY_REPLY

    def _cmd_pena(self, params: str) -> bytes:
        if len(params) != 3:
            raise CommandError(0x07)
        port = self._port(params[:2])
        if params[2].upper() not in "SDB":
            raise CommandError(0x09)
        if not port.initialized:
            raise CommandError(0x0E)
        port.enabled = True
        return OKAY_REPLY

    def _cmd_pdis(self, params: str) -> bytes:
        port = self._port(params)
        if not port.enabled:
            raise CommandError(0x0F)
        port.enabled = False
        return OKAY_REPLY

    def _cmd_phf(self, params: str) -> bytes:
        port = self._port(params)
        del self.ports[port.handle]
        return OKAY_REPLY

    def _cmd_phinf(self, params: str) -> bytes:
        port = self._port(params[:2])
        option = self._options(params[2:], 0x0001)
        if option & ~0x000F:
            raise CommandError(0x23)
        parts = []
        if option & 0x0001:   # tool type 8, manufacturer 12, revision 3, serial 8, status 2
            parts.append(f"{port.main_type:02X}000000{'TMSNAV-EMU':<12}000"
                         f"{port.handle:08X}{port.status_bits() & 0xFF:02X}")
        if option & 0x0002:
            parts.append("00000000")
        if option & 0x0004:
            parts.append(f"{port.part_number[:20]:<20}")
        if option & 0x0008:
            parts.append("00")
        return frame_ascii_reply("".join(parts))

    def _cmd_tstart(self, params: str) -> bytes:
        self.tracking = True
        return OKAY_REPLY

    def _cmd_tstop(self, params: str) -> bytes:
        self.tracking = False
        return OKAY_REPLY

    def _cmd_bx(self, params: str) -> bytes:
        options = self._reply_options(params)
        return encode_bx(self.tracking_frame(options), options=options)

    def _cmd_tx(self, params: str) -> bytes:
        options = self._reply_options(params)
        return encode_tx(self.tracking_frame(options), options=options)

    def _reply_options(self, params: str) -> int:
        options = self._options(params, 0x0001)
        try:
            check_reply_options(options)
        except ValueError:
            raise CommandError(0x23) from None
        return options

    # ----------------------------------------------------------------- tracking data
    def tracking_frame(self, options: int = 0x0801) -> TrackingFrame:
        """What the camera sees now: one report per initialised handle, in handle order."""
        count = self._frame_count()
        frame_number = (self._start_frame + count) & 0xFFFFFFFF
        if self.frame_number_overrides:         # fault injection: a corrupt counter value
            frame_number = self.frame_number_overrides.pop(0) & 0xFFFFFFFF
        samples = self.sampler.sample(count, count / self.rate_hz)
        reports = []
        for handle, port in sorted(self.ports.items()):
            if not port.initialized:
                continue
            condition = self.conditions.get(port.tool, "ok")
            if not port.enabled or condition == "disabled":
                reports.append(HandleReport(handle, HandleState.DISABLED))
                continue
            status = port.status_bits()
            sample = samples.get(port.motion or port.tool)
            if condition == "out_of_volume":
                status |= PortStatus.OUT_OF_VOLUME
            elif condition == "partially_in_volume":
                status |= PortStatus.PARTIALLY_IN_VOLUME
            hidden = condition == "out_of_volume" and not options & REPLY_ALL_TRANSFORMS
            if sample is None or condition == "missing" or hidden:
                reports.append(HandleReport(handle, HandleState.MISSING, port_status=status,
                                            frame_number=frame_number))
                continue
            quaternion, translation, rms = sample
            reports.append(HandleReport(handle, HandleState.VALID, quaternion, translation, rms,
                                        status, frame_number))
        return TrackingFrame(tuple(reports), self.system_status)
