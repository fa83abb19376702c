"""Tracking replies of the NDI Combined API: the data model, quaternions, PHSR and port status.

The BX (binary) and TX (text) codecs live in :mod:`.bx` and :mod:`.tx`; both produce and consume
the same :class:`TrackingFrame`, so the driver and the emulator share one definition. Layouts follow
NDI's Polaris/Aurora API guide as implemented by PlusToolkit/ndicapi (``ndiBXHelper``,
``ndiTXHelper``, ``ndiPHSRHelper``); docs/hardware-ndi.md has the reply layouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from ..errors import ProtocolError
from ..rigid import quaternion_wxyz_from_rotation, rotation_from_quaternion_wxyz

__all__ = [
    "HandleState", "HandleReport", "StrayMarker", "TrackingFrame", "BxFrame", "TxFrame",
    "PortStatus", "SystemStatus", "REPLY_XFORMS", "REPLY_ALL_TRANSFORMS", "REPLY_PASSIVE_STRAY",
    "SUPPORTED_REPLY_OPTIONS", "check_reply_options", "quaternion_to_matrix",
    "matrix_to_quaternion", "pose_matrix", "encode_phsr", "decode_phsr",
]

#: Reply option bits of BX/TX (``BX:0801`` = transforms, including out-of-volume ones).
REPLY_XFORMS = 0x0001
REPLY_ALL_TRANSFORMS = 0x0800
REPLY_PASSIVE_STRAY = 0x1000
SUPPORTED_REPLY_OPTIONS = REPLY_XFORMS | REPLY_ALL_TRANSFORMS | REPLY_PASSIVE_STRAY


def check_reply_options(options: int) -> None:
    """Refuse reply blocks this codec does not implement (0002 tool info, 0004, 0008 markers)."""
    if not 0 <= options <= 0xFFFF or not options & REPLY_XFORMS:
        raise ValueError(f"reply options 0x{options:04X} must include 0001 (transforms and status)")
    extra = options & ~SUPPORTED_REPLY_OPTIONS
    if extra:
        raise ValueError(f"reply option bits 0x{extra:04X} are not supported "
                         f"(supported: 0001 transforms, 0800 out-of-volume, 1000 stray markers)")


class PortStatus:
    """Port status bits (ndicapi.h ``NDI_TOOL_IN_PORT`` ...); 0x31 = in port + initialised +
    enabled, the usual value of a tracked tool."""

    TOOL_IN_PORT = 0x01
    SWITCH_1_ON = 0x02
    SWITCH_2_ON = 0x04
    SWITCH_3_ON = 0x08
    INITIALIZED = 0x10
    ENABLED = 0x20
    OUT_OF_VOLUME = 0x40
    PARTIALLY_IN_VOLUME = 0x80


class SystemStatus:
    """System status bits at the end of every BX/TX reply (ndicapi ``ndiGetTXSystemStatus``)."""

    COMM_SYNC_ERROR = 0x0001
    TOO_MUCH_EXTERNAL_INFRARED = 0x0002
    COMM_CRC_ERROR = 0x0004
    COMM_RECOVERABLE = 0x0008
    HARDWARE_FAILURE = 0x0010
    HARDWARE_CHANGE = 0x0020
    PORT_OCCUPIED = 0x0040
    PORT_UNOCCUPIED = 0x0080

    MEANINGS = {
        COMM_SYNC_ERROR: "communication synchronisation error",
        TOO_MUCH_EXTERNAL_INFRARED: "too much external infrared",
        COMM_CRC_ERROR: "the device saw a CRC error in a command",
        COMM_RECOVERABLE: "recoverable system processing exception",
        HARDWARE_FAILURE: "hardware failure",
        HARDWARE_CHANGE: "hardware configuration changed",
        PORT_OCCUPIED: "a port became occupied",
        PORT_UNOCCUPIED: "a port became unoccupied",
    }

    @classmethod
    def describe(cls, bits: int) -> list[str]:
        """Words for every set bit (empty when the system is healthy)."""
        return [text for bit, text in cls.MEANINGS.items() if bits & bit]


class HandleState(str, Enum):
    """What the device said about one port handle in a BX/TX reply."""

    VALID = "valid"
    MISSING = "missing"
    DISABLED = "disabled"
    UNOCCUPIED = "unoccupied"   # TX only (a wired port whose tool was unplugged)


#: BX handle-status byte for each state (0x01 valid / 0x02 missing / 0x04 disabled).
BX_STATE_CODES = {HandleState.VALID: 0x01, HandleState.MISSING: 0x02, HandleState.DISABLED: 0x04}


@dataclass(frozen=True)
class HandleReport:
    """One port handle in one reply. Quaternion is NDI order (q0, qx, qy, qz); mm throughout."""

    handle: int
    state: HandleState
    quaternion: tuple[float, float, float, float] | None = None
    translation_mm: tuple[float, float, float] | None = None
    rms_mm: float | None = None
    port_status: int | None = None
    frame_number: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.handle <= 0xFF:
            raise ValueError(f"port handle must fit one byte, got {self.handle}")
        valid = self.state is HandleState.VALID
        pose_parts = (self.quaternion, self.translation_mm, self.rms_mm)
        if valid and any(part is None for part in pose_parts):
            raise ValueError(f"handle {self.handle:02X}: a VALID report needs quaternion, "
                             f"translation and RMS")
        if valid or self.state is HandleState.MISSING:
            if self.port_status is None or self.frame_number is None:
                raise ValueError(f"handle {self.handle:02X}: {self.state.value} reports carry "
                                 f"port status and frame number")

    def matrix(self) -> np.ndarray | None:
        """4x4 ``tracker_from_tool`` in mm, or None when there is no pose."""
        if self.quaternion is None or self.translation_mm is None:
            return None
        return pose_matrix(self.quaternion, self.translation_mm)


@dataclass(frozen=True)
class StrayMarker:
    """A passive marker that belongs to no tool (reply option 1000)."""

    position_mm: tuple[float, float, float]
    out_of_volume: bool = False


@dataclass(frozen=True)
class TrackingFrame:
    """A decoded BX or TX reply: the handles in device order, strays and the system status."""

    handles: tuple[HandleReport, ...]
    system_status: int = 0
    strays: tuple[StrayMarker, ...] = field(default_factory=tuple)

    @property
    def frame_number(self) -> int | None:
        """The device frame of this reply (the largest per-handle frame; None without any)."""
        numbers = [h.frame_number for h in self.handles if h.frame_number is not None]
        return max(numbers) if numbers else None

    def by_handle(self) -> dict[int, HandleReport]:
        return {h.handle: h for h in self.handles}


BxFrame = TrackingFrame
TxFrame = TrackingFrame


def quaternion_to_matrix(q: tuple[float, float, float, float] | np.ndarray) -> np.ndarray:
    """3x3 rotation from an NDI quaternion (q0 = scalar first); normalised first.

    Raises ProtocolError for a non-finite or zero quaternion (a corrupt frame, never a pose).
    """
    try:
        return rotation_from_quaternion_wxyz(q)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None


def matrix_to_quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """NDI quaternion (q0, qx, qy, qz) with q0 >= 0 of a 3x3 rotation."""
    return quaternion_wxyz_from_rotation(rotation)


def pose_matrix(quaternion: tuple[float, float, float, float],
                translation_mm: tuple[float, float, float]) -> np.ndarray:
    """4x4 ``tracker_from_tool`` (mm) from an NDI quaternion and translation."""
    tracker_from_tool = np.eye(4)
    tracker_from_tool[:3, :3] = quaternion_to_matrix(quaternion)
    tracker_from_tool[:3, 3] = translation_mm
    tracker_from_tool.setflags(write=False)  # frozen: ToolFrame keeps it without a copy
    return tracker_from_tool


def encode_phsr(entries: list[tuple[int, int]]) -> str:
    """PHSR payload: 2-hex count, then per handle 2-hex handle + 3-hex status bits."""
    return f"{len(entries):02X}" + "".join(f"{h:02X}{s & 0xFFF:03X}" for h, s in entries)


def decode_phsr(payload: str) -> list[tuple[int, int]]:
    """``[(handle, status_bits), ...]`` from a PHSR payload; ProtocolError if malformed."""
    try:
        count = int(payload[:2], 16)
        if len(payload) != 2 + 5 * count:
            raise ValueError
        return [(int(payload[2 + 5 * i:4 + 5 * i], 16), int(payload[4 + 5 * i:7 + 5 * i], 16))
                for i in range(count)]
    except ValueError as exc:
        raise ProtocolError(f"malformed PHSR reply {payload!r}") from exc
