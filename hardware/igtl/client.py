"""``IGTLinkTracker``: tool poses from an OpenIGTLink server (PLUS Server, 3D Slicer) as ToolFrames.

TRANSFORM (and POSITION) messages whose device name is in ``device_tools`` update that tool
(``"StylusToTracker" -> "pointer"``, ...). TRANSFORM has no "invalid" flag, so a tool is reported
MISSING when its pose is older than ``staleness_s`` (default 3 periods, at most 100 ms, as in
docs/design.md; SlicerIGT's watchdog uses the same idea). Extra signals, when the sender gives them:
PLUS (header version 2) metadata ``TransformStatus`` (``OK``, ``MISSING``, ``OUT_OF_VIEW``,
``OUT_OF_VOLUME``, ``INVALID``...) and ``TransformValid`` (vtkPlusIgtlMessageCommon), and STATUS
messages with the tool's device name (code 1 = OK, 4/7/13/16 -> MISSING, 15 -> DISABLED, other ->
INVALID). With ``require_status_metadata=True`` a TRANSFORM without such metadata is INVALID (the
PlusLib PR #506 lesson); it is off by default because version-1 senders (Slicer's default) cannot
attach metadata.

One ``read_frames`` call = the first fresh update plus everything already received with the same
timestamp (PLUS stamps all tools of one tracker frame alike). ``frame_number`` counts these on the
host. The socket is read on the caller's thread (the acquisition thread), no extra thread.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from dataclasses import dataclass

import numpy as np

from tmsnav.navigation.transforms import RIGID_TOL, is_rigid, rigid_error

from ..errors import ConnectionLost, ProtocolError, TrackerConnectionError, TrackerError
from ..frames import ToolFrame, ToolStatus
from ..tracker import ToolInfo, Tracker
from .protocol import HEADER_SIZE, IgtlMessage, parse_header, unpack_body, unpack_position, unpack_status
from .protocol import unpack_transform

__all__ = ["IGTLinkTracker", "IGTLinkStats", "DEFAULT_DEVICE_TOOLS"]

log = logging.getLogger(__name__)

#: PLUS / SlicerIGT naming convention "<Tool>To<Reference>" -> tmsnav tool names.
DEFAULT_DEVICE_TOOLS = {"ReferenceToTracker": "reference", "StylusToTracker": "pointer",
                        "PointerToTracker": "pointer", "CoilToTracker": "coil"}

_PLUS_STATUS = {"OK": ToolStatus.OK, "MISSING": ToolStatus.MISSING, "OUT_OF_VIEW": ToolStatus.MISSING,
                "OUT_OF_VOLUME": ToolStatus.OUT_OF_VOLUME, "REQ_TIMEOUT": ToolStatus.MISSING}
_STATUS_CODES = {4: ToolStatus.MISSING, 7: ToolStatus.MISSING, 13: ToolStatus.MISSING, 15: ToolStatus.DISABLED,
                 16: ToolStatus.MISSING}


@dataclass
class IGTLinkStats:
    messages: int = 0
    frames: int = 0
    crc_errors: int = 0
    bad_messages: int = 0
    non_rigid: int = 0
    ignored_messages: int = 0
    timeouts: int = 0
    unmapped_devices: frozenset[str] = frozenset()


@dataclass
class _ToolState:
    pose: np.ndarray | None = None
    status: ToolStatus = ToolStatus.MISSING
    rx_ns: int = 0
    device_time_s: float | None = None


class IGTLinkTracker(Tracker):
    """OpenIGTLink client. ``host:port`` of the server (PLUS default 18944)."""

    kind = "OpenIGTLink"

    def __init__(self, host: str = "127.0.0.1", port: int = 18944, *, device_tools: dict[str, str] | None = None,
                 nominal_rate_hz: float = 30.0, staleness_s: float | None = None, connect_timeout_s: float = 2.0,
                 require_status_metadata: bool = False, check_crc: bool = True) -> None:
        if nominal_rate_hz <= 0:
            raise ValueError("nominal_rate_hz must be positive")
        self.host, self.port = host, int(port)
        self.device_tools = dict(DEFAULT_DEVICE_TOOLS if device_tools is None else device_tools)
        if not self.device_tools:
            raise ValueError("device_tools maps OpenIGTLink device names to tool names; it is empty")
        self._rate_hz = float(nominal_rate_hz)
        self.staleness_s = min(3.0 / self._rate_hz, 0.1) if staleness_s is None else float(staleness_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.require_status_metadata = require_status_metadata
        self.check_crc = check_crc
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self._discard = 0
        self._pending: tuple[IgtlMessage, int] | None = None
        self._started = False
        self._frame = 0
        self._tools: dict[str, _ToolState] = {}
        self._stats = IGTLinkStats()
        self._unmapped: set[str] = set()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def nominal_rate_hz(self) -> float:
        return self._rate_hz

    @property
    def stats(self) -> IGTLinkStats:
        s = IGTLinkStats(**vars(self._stats))
        s.unmapped_devices = frozenset(self._unmapped)
        return s

    def tools(self) -> list[ToolInfo]:
        names: dict[str, list[str]] = {}
        for device, tool in self.device_tools.items():
            names.setdefault(tool, []).append(device)
        return [ToolInfo(tool, devices[0], f"OpenIGTLink {' or '.join(devices)}") for tool, devices in names.items()]

    # ----- life cycle --------------------------------------------------------------------------------
    def connect(self) -> None:
        if self._sock is not None:
            return
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
        except OSError as exc:
            raise TrackerConnectionError(
                f"cannot connect to the OpenIGTLink server ({exc.strerror or exc}): start PLUS Server or "
                "the OpenIGTLinkIF server in 3D Slicer there, or check the host and port", self.address) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self._sock = sock
        self._buf.clear()
        self._discard = 0
        self._pending = None

    def start(self) -> None:
        if self._sock is None:
            raise TrackerError(f"OpenIGTLink client for {self.address} is not connected; call connect() first")
        self._tools = {tool: _ToolState() for tool in dict.fromkeys(self.device_tools.values())}
        self._started = True

    def stop(self) -> None:
        self._started = False

    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._started = False
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # ----- reading ----------------------------------------------------------------------------------
    def _lost(self, why: str) -> ConnectionLost:
        self.close()
        return ConnectionLost(f"OpenIGTLink server {self.address} {why}")

    def _fill(self, timeout_s: float) -> None:
        assert self._sock is not None
        try:
            readable, _, _ = select.select([self._sock], [], [], max(0.0, timeout_s))
            if not readable:
                return
            data = self._sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            raise self._lost(f"connection failed ({exc})") from exc
        if not data:
            raise self._lost("closed the connection (server stopped or network lost)")
        if self._discard:  # rest of a message we do not use (e.g. a video frame): never buffered
            n = min(self._discard, len(data))
            self._discard -= n
            data = data[n:]
        self._buf += data

    def _next_message(self, deadline: float) -> tuple[IgtlMessage, int] | None:
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        while True:
            if len(self._buf) >= HEADER_SIZE:
                try:
                    header = parse_header(bytes(self._buf[:HEADER_SIZE]))
                except ProtocolError as exc:  # no magic to resync on in a TCP stream
                    raise self._lost(f"sent an unreadable message header; reconnect ({exc})") from exc
                total = HEADER_SIZE + header.body_size
                if not self._wanted(header.type_name, header.device_name):
                    skip = min(total, len(self._buf))
                    del self._buf[:skip]
                    self._discard = total - skip  # no CRC either: pure-Python CRC of images is slow
                    continue
                if len(self._buf) >= total:
                    body = bytes(self._buf[HEADER_SIZE:total])
                    del self._buf[:total]
                    rx_ns = time.monotonic_ns()
                    try:
                        return unpack_body(header, body), rx_ns
                    except ProtocolError as exc:
                        self._stats.bad_messages += 1
                        log.warning("OpenIGTLink %s: %s", self.address, exc)
                        continue
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not self._socket_has_data():
                return None
            self._fill(max(remaining, 0.0))

    def _wanted(self, type_name: str, device_name: str) -> bool:
        if device_name in self.device_tools and type_name in ("TRANSFORM", "POSITION", "STATUS"):
            return True
        self._stats.ignored_messages += 1
        if type_name in ("TRANSFORM", "POSITION"):
            self._unmapped.add(device_name)
        return False

    def _socket_has_data(self) -> bool:
        assert self._sock is not None
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except OSError:
            return True  # let recv report it
        return bool(readable)

    def read_frames(self, timeout_s: float = 0.5) -> list[ToolFrame]:
        """Block until a tool update arrives; ``[]`` when nothing came within the timeout."""
        if self._sock is None:
            raise TrackerError(f"OpenIGTLink client for {self.address} is not connected; call connect() first")
        if not self._started:
            raise TrackerError("OpenIGTLink client: call start() before read_frames()")
        deadline = time.monotonic() + timeout_s
        batch_time: float | None = None
        updated = False
        while True:
            # after the first update, only take what has already arrived (no more waiting)
            item = self._next_message(time.monotonic() if updated else deadline)
            if item is None:
                break
            msg, rx_ns = item
            tool = self.device_tools[msg.device_name]
            if updated and msg.header.timestamp_s != batch_time:
                self._pending = item  # belongs to the next device frame
                break
            if self._apply(tool, msg, rx_ns):
                updated, batch_time = True, msg.header.timestamp_s
        if not updated:
            self._stats.timeouts += 1
            return []
        return self._frames()

    def _apply(self, tool: str, msg: IgtlMessage, rx_ns: int) -> bool:
        self._stats.messages += 1
        if self.check_crc and not msg.crc_ok:
            self._stats.crc_errors += 1
            return False
        state = self._tools[tool]
        try:
            if msg.type_name == "STATUS":
                code, name, text = unpack_status(msg.content)
                state.status = ToolStatus.OK if code == 1 else _STATUS_CODES.get(code, ToolStatus.INVALID)
                if code != 1:
                    log.info("OpenIGTLink STATUS for %s: %d %s %s", msg.device_name, code, name, text)
                    state.pose = None
                state.rx_ns = rx_ns
                return True
            pose = unpack_transform(msg.content) if msg.type_name == "TRANSFORM" else unpack_position(msg.content)
        except ProtocolError as exc:
            self._stats.bad_messages += 1
            log.warning("OpenIGTLink %s from %s: %s", msg.type_name, msg.device_name, exc)
            return False
        status = self._metadata_status(msg)
        if status is ToolStatus.OK and not is_rigid(pose):
            self._stats.non_rigid += 1
            if self._stats.non_rigid == 1:  # log once; stats.non_rigid counts them all
                log.warning("OpenIGTLink %s from %s is not a rigid transform (off by %.2g, "
                            "tolerance %.0e): tool reported INVALID. A scaled, mirrored or "
                            "sheared matrix, or one written with too few decimals in the "
                            "sender's configuration", msg.type_name, msg.device_name,
                            rigid_error(pose), RIGID_TOL)
            status = ToolStatus.INVALID
        state.pose = pose if status is ToolStatus.OK else None
        state.status, state.rx_ns = status, rx_ns
        state.device_time_s = msg.header.timestamp_s or None
        return True

    def _metadata_status(self, msg: IgtlMessage) -> ToolStatus:
        md = msg.metadata
        if "TransformStatus" in md:
            return _PLUS_STATUS.get(md["TransformStatus"].strip().upper(), ToolStatus.INVALID)
        if "TransformValid" in md:
            return ToolStatus.OK if md["TransformValid"].strip().lower() in ("true", "1") else ToolStatus.MISSING
        return ToolStatus.INVALID if self.require_status_metadata else ToolStatus.OK

    def _frames(self) -> list[ToolFrame]:
        self._frame += 1
        self._stats.frames += 1
        now_ns = time.monotonic_ns()
        limit_ns = int(self.staleness_s * 1e9)
        frames = []
        for tool, st in self._tools.items():
            fresh = st.rx_ns and now_ns - st.rx_ns <= limit_ns
            if st.pose is not None and st.status is ToolStatus.OK and fresh:
                frames.append(ToolFrame(tool, st.pose, ToolStatus.OK, frame_number=self._frame,
                                        device_time_s=st.device_time_s, host_time_ns=st.rx_ns))
            else:
                status = st.status if (fresh and st.status is not ToolStatus.OK) else ToolStatus.MISSING
                frames.append(ToolFrame(tool, None, status, frame_number=self._frame,
                                        device_time_s=st.device_time_s if fresh else None, host_time_ns=now_ns))
        return frames

