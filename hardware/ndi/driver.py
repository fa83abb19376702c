"""NDI Combined API tracker driver: Polaris Vicra/Spectra/Vega, Aurora over serial, USB or TCP.

Set-up follows NDI's API guide as working hosts do it (PlusToolkit/ndicapi,
scikit-surgerynditracker; notes §1.2-1.4): 9600 8N1 -> serial break, expect ``RESETBE6F``
(skipped on a socket) -> ``INIT:`` -> ``COMM:`` to the requested baud (answered at the old rate,
then both ends switch) -> ``VER:0`` -> free stale handles (``PHSR:01``/``PHF``) -> load ROMs
(``PHRQ`` + 16 ``PVWR``) -> ``PHSR:02``/``PINIT`` -> ``PHSR:03``/``PENA:hhD`` -> ``TSTART:`` ->
``BX:0801`` or ``TX:0801`` polls -> ``TSTOP:``; ``close()`` sends ``COMM:00000`` so the next
session starts at 9600 without a reset (see :mod:`.setup_steps`).
NDI reports millimetres, so poses need no unit conversion. Frame numbers come from the device
(NDI: "use the frame number, not the host clock"); they must move forward plausibly, else the
frame is INVALID (PlusLib #244 saw 16767 -> 4294967170 from a parsing bug).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConnectionLost, DeviceError, ProtocolError, TrackerError
from ..frames import ToolFrame, ToolStatus
from ..tracker import ToolInfo, Tracker
from ..link_budget import carried_rate_hz, link_warning
from .bx import decode_bx, encode_bx
from .channel import CommandChannel, NDIStats, NoReply
from . import setup_steps as steps
from .commands import BAUD_CODES, CrcMismatch, describe_error, encode_command, error_code_of
from .frame_check import FrameNumberCheck, tool_frames
from .poll_phase import FramePhase
from .replies import HandleReport, HandleState, TrackingFrame
from .rom import read_tool_definition
from .transport import SerialLink, connection_error
from .tx import decode_tx_payload, encode_tx

__all__ = ["NDITracker", "model_of"]

#: Product lines named in the first line of ``VER:0`` ("Polaris Vega Control Firmware").
_MODELS = ("vega", "spectra", "vicra", "aurora", "polaris")


def model_of(version_text: str) -> str:
    """The model a ``VER:0`` reply names, lower case ("vega"); "" if it names none we know."""
    first = version_text.split("\n", 1)[0].lower()
    return next((m for m in _MODELS if m in first), "")

_REPLY_OPTIONS = 0x0801


class NDITracker(Tracker):
    """An NDI tracker on ``port``: a device path (``/dev/ttyUSB0``, ``COM3``) or any pyserial URL,
    e.g. ``socket://192.168.1.20:8765`` for a Polaris Vega over Ethernet.

    ``rom_files`` maps tool names to passive-tool .rom files uploaded at connect; ``tool_names``
    maps port handles (hex, e.g. ``"01"``) of tools the device already knows (active/wired tools,
    Aurora sensors) to names. Other handles are named by their part number, else ``port hh``.
    """

    kind = "NDI Combined API"

    def __init__(self, port: str, *, baud: int = 115200, reply_format: str = "BX",
                 rom_files: Mapping[str, Path | str] | None = None,
                 tool_names: Mapping[str, str] | None = None, timeout_s: float = 1.0,
                 reset_timeout_s: float = 7.0, interbyte_timeout_s: float = 0.1,
                 nominal_rate_hz: float = 60.0) -> None:
        if not isinstance(port, str) or not port.strip():
            raise ValueError("port must name a serial device or a URL such as socket://host:8765")
        if baud not in BAUD_CODES:
            raise ValueError(f"NDI devices do not support {baud} baud; choose one of "
                             f"{', '.join(str(b) for b in sorted(BAUD_CODES))}")
        if str(reply_format).upper() not in ("BX", "TX"):
            raise ValueError(f"reply_format must be 'BX' (binary) or 'TX' (text), "
                             f"got {reply_format!r}")
        if min(timeout_s, reset_timeout_s, interbyte_timeout_s, nominal_rate_hz) <= 0:
            raise ValueError("timeouts and the nominal rate must be positive")
        self.port = port
        self.baud = baud
        self.reply_format = str(reply_format).upper()
        self._roms = {name: (Path(path), read_tool_definition(path))
                      for name, path in (rom_files or {}).items()}
        self._names_by_handle: dict[int, str] = {}
        for key, name in (tool_names or {}).items():
            try:
                self._names_by_handle[int(key, 16)] = name
            except (TypeError, ValueError):
                raise ValueError(f"tool_names keys are port handles in hex like '01', "
                                 f"got {key!r}") from None
        self.timeout_s, self.reset_timeout_s = timeout_s, reset_timeout_s
        self.interbyte_timeout_s = interbyte_timeout_s
        self._nominal_rate_hz = float(nominal_rate_hz)
        self._phase = FramePhase(1.0 / self._nominal_rate_hz)   # when the next frame is due
        self.stats = NDIStats()
        self.firmware_version = ""
        self.freeze_tag: str | None = None
        self.system_status = 0
        self._link: SerialLink | None = None
        self._channel: CommandChannel | None = None
        self._lost = False
        self._tracking = False
        self._comm_changed = False
        self._rom_handles: dict[int, tuple[str, Path | None]] = {}
        self._tools: list[tuple[int, str, str]] = []
        self._latest: list[ToolFrame] = []
        self._frame_check = FrameNumberCheck()
        self._last_return = 0.0

    # ------------------------------------------------------------------ properties
    @property
    def nominal_rate_hz(self) -> float:
        return self._nominal_rate_hz

    @property
    def is_connected(self) -> bool:
        return self._link is not None and not self._lost

    @property
    def is_tracking(self) -> bool:
        return self._tracking and self.is_connected

    def tools(self) -> list[ToolInfo]:
        return [ToolInfo(name, f"{handle:02X}", description)
                for handle, name, description in self._tools]

    def latest_frames(self) -> list[ToolFrame]:
        """The last frames read; every tool DISCONNECTED once the device has gone away."""
        return list(self._latest)

    # ------------------------------------------------------------------ set-up
    def connect(self) -> None:
        if self.is_connected:
            return
        self._abandon()                 # after a lost connection: release the dead port first
        link = self._link = SerialLink(self.port)
        self._lost = self._tracking = self._comm_changed = False
        channel = self._channel = CommandChannel(link, self.stats, timeout_s=self.timeout_s,
                                                 interbyte_timeout_s=self.interbyte_timeout_s)
        try:
            steps.reset_and_initialise(link, channel, self.reset_timeout_s)
            self._comm_changed = steps.change_baud(link, channel, self.baud)
            self.firmware_version, self.freeze_tag = steps.read_version(link, channel,
                                                                        self._comm_changed)
            steps.free_stale_handles(channel)
            self._rom_handles = {}
            for name, (path, data) in self._roms.items():
                self._rom_handles[steps.upload_rom(channel, name, data, path)] = (name, path)
            self._enable_and_name_tools()
            self.device_model = model_of(self.firmware_version)
            self._check_link()
        except (ConnectionLost, NoReply, ProtocolError) as exc:
            self._abandon()
            raise connection_error(f"set-up of the NDI device on {self.port} failed: {exc}",
                                   self.port) from None
        except TrackerError:
            self._abandon()
            raise

    def _enable_and_name_tools(self) -> None:
        tools, used = [], set()
        for handle in steps.initialise_and_enable(self._connected_channel, self._rom_handles):
            part = steps.part_number(self._connected_channel, handle)
            description = part
            if handle in self._names_by_handle:
                name = self._names_by_handle[handle]
            elif handle in self._rom_handles:
                name, path = self._rom_handles[handle]
                description = str(path) if path else part
            else:
                name = part or f"port {handle:02X}"
            if name in used:
                name = f"{name} ({handle:02X})"
            used.add(name)
            tools.append((handle, name, description))
        self._tools = tools

    def _check_link(self) -> None:
        """Set ``link_warning`` (the link-budget sentence) and ``link_rate_hz``."""
        self.link_warning, self.link_rate_hz = "", 0.0
        size = self._reply_size()
        if size:
            self.link_warning = link_warning(
                f"NDI {self.device_model or 'tracker'}", size, self._nominal_rate_hz, self.baud,
                f"{len(self._tools)} tools x {self.reply_format} replies of {size} bytes")
            if self.link_warning:
                self.link_rate_hz = carried_rate_hz(size, self._nominal_rate_hz, self.baud)

    def _reply_size(self) -> int:
        """Bytes of one reply with every enabled tool; 0 when there is no baud limit to check
        against (a socket or a pseudo-terminal). Each device frame costs at least one BX/TX reply
        with every tool (NDI API guide: BX reply layout)."""
        link = self._link
        if link is None or link.is_socket or link.is_pty or not self._tools:
            return 0
        reports = tuple(HandleReport(h, HandleState.VALID, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0, 0, 0)
                        for h, _, _ in self._tools)
        sample = TrackingFrame(reports)
        return len(encode_bx(sample) if self.reply_format == "BX" else encode_tx(sample))

    def load_tool_definition(self, path: Path | str, name: str | None = None) -> ToolInfo:
        """Upload a passive-tool .rom after connect (not while tracking); returns its ToolInfo."""
        self._require_link()
        if self._tracking:
            raise TrackerError("stop tracking before loading a tool definition")
        path = Path(path)
        data = read_tool_definition(path)
        try:
            handle = steps.upload_rom(self._connected_channel, name or path.stem, data, path)
            self._rom_handles[handle] = (name or path.stem, path)
            self._enable_and_name_tools()
        except ConnectionLost as exc:
            self._mark_lost()
            raise exc from None
        return next(info for info in self.tools() if info.device_id == f"{handle:02X}")

    @property
    def _connected_channel(self) -> CommandChannel:
        if self._channel is None:
            raise TrackerError("call connect() first")
        return self._channel

    def _require_link(self) -> None:
        if self._lost:
            raise ConnectionLost(f"the NDI device on {self.port} is gone; reconnect first")
        if self._link is None:
            raise TrackerError("call connect() first")

    def _abandon(self) -> None:
        if self._link is not None:
            self._link.close()
        self._link = self._channel = None

    # ------------------------------------------------------------------ tracking
    def start(self) -> None:
        self._require_link()
        if self._tracking:
            return
        self._command_or_lost("TSTART")
        self._tracking = True
        self._frame_check = FrameNumberCheck()
        self._phase = FramePhase(1.0 / self._nominal_rate_hz)

    def stop(self) -> None:
        if self._tracking and self.is_connected:
            self._command_or_lost("TSTOP")
        self._tracking = False

    def _command_or_lost(self, name: str, params: str = "") -> str:
        try:
            return self._connected_channel.command(name, params)
        except ConnectionLost:
            self._mark_lost()
            raise

    def read_frames(self, timeout_s: float = 0.5) -> list[ToolFrame]:
        """Poll until the device reports a new frame number; [] if none comes within ``timeout_s``.

        Returns one ToolFrame per enabled tool. Raises ConnectionLost when the device has gone
        (then :meth:`latest_frames` reports every tool DISCONNECTED) and DeviceError when the
        device answers the poll with ERRORxx.
        """
        self._require_link()
        if not self._tracking:
            raise TrackerError("call start() before read_frames()")
        command = encode_command(self.reply_format, f"{_REPLY_OPTIONS:04X}")
        binary = self.reply_format == "BX"
        deadline = time.monotonic() + timeout_s
        # Wait for the next camera frame instead of polling for repeats; the schedule follows the
        # camera's frame starts, not the arrival of the last reply (see .poll_phase).
        due = self._phase.next_poll_s()
        if due is not None and due > time.monotonic():
            # the clock moves on between the check and the sleep (a thread switch): never negative
            time.sleep(max(0.0, min(due - time.monotonic(), timeout_s)))
        answered = False
        while True:
            sent = time.monotonic()
            try:
                parsed = self._poll(command, binary, deadline)
            except NoReply:
                self.stats.timeouts += 1
                self.stats.frozen_timeouts += int(answered)
                return []
            except ConnectionLost:
                self._mark_lost()
                raise
            if parsed is not None:
                answered = True
                frame, host_ns = parsed
                number = frame.frame_number
                if number is None or not self._frame_check.is_repeat(number):
                    self._phase.new_frame(number, sent, host_ns / 1e9)
                    return self._emit(frame, host_ns)
                self.stats.repeated_frames += 1
                self._phase.repeat(sent)
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                self.stats.timeouts += 1
                self.stats.frozen_timeouts += int(answered)
                return []
            time.sleep(min(remaining, max(0.0, self._phase.repoll_s(now) - now)))

    def _poll(self, command: bytes, binary: bool,
              deadline: float) -> tuple[TrackingFrame, int] | None:
        channel = self._connected_channel
        self.stats.polls += 1
        reply = channel.exchange(command, deadline, binary=binary, tracking=True)
        if reply is None:
            return None
        host_ns = channel.last_reply_ns
        try:
            if reply.kind == "bx":
                frame = decode_bx(reply.raw, options=_REPLY_OPTIONS)
            elif (code := error_code_of(reply.payload)) is not None:
                raise DeviceError(code, describe_error(code), command[:-1].decode("ascii"))
            elif binary:
                raise ProtocolError(f"ASCII reply {reply.payload[:20]!r} to a BX poll")
            else:
                frame = decode_tx_payload(reply.payload, options=_REPLY_OPTIONS)
        except ProtocolError as exc:
            self.stats.frames_dropped += 1
            self.stats.crc_errors += int(isinstance(exc, CrcMismatch))
            return None
        self.system_status = frame.system_status
        return frame, host_ns

    def _emit(self, frame: TrackingFrame, host_ns: int) -> list[ToolFrame]:
        number = frame.frame_number
        if number is None:      # no enabled tool reports a frame: pace to the device rate
            wait = self._last_return + 1.0 / self._nominal_rate_hz - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            plausible = True
        else:
            plausible = self._frame_check.accept(number, host_ns)
            if not plausible:
                self.stats.frame_number_anomalies += 1
        frames = tool_frames(frame, self._tools, host_ns, plausible)
        self.stats.frames_ok += int(plausible)
        self._latest = frames
        self._last_return = time.monotonic()
        return frames

    def _mark_lost(self) -> None:
        self._lost = True
        self._tracking = False
        now = time.monotonic_ns()
        self._latest = [ToolFrame(name, None, ToolStatus.DISCONNECTED, host_time_ns=now)
                        for _, name, _ in self._tools]

    def close(self) -> None:
        """Stop tracking, return the device to 9600 baud and release the port. Idempotent."""
        if self._link is None:
            return
        try:
            if not self._lost:
                if self._tracking:
                    self._connected_channel.command("TSTOP", timeout_s=min(self.timeout_s, 0.5), retries=0)
                if self._comm_changed:
                    self._connected_channel.command("COMM", "00000", timeout_s=min(self.timeout_s, 0.5),
                                          retries=0)
        except TrackerError:
            pass
        finally:
            self._tracking = False
            self._abandon()
