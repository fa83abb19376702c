"""NDI Combined API (Polaris Vicra/Spectra/Vega, Aurora): wire codec, driver and device emulator.

- :class:`NDITracker` — the driver (serial, USB-serial, pty, ``socket://host:8765`` for a Vega).
- :class:`NDIEmulator` — a byte-exact device on a pty or TCP port, with fault injection.
- Codec: :func:`crc16_arc`, :func:`encode_command`, :func:`encode_bx` / :func:`decode_bx`,
  :func:`encode_tx` / :func:`decode_tx`, :class:`TrackingFrame` (``BxFrame``), ERRORxx meanings.
See ``docs/hardware-ndi.md``.
"""

from .bx import decode_bx, encode_bx
from .channel import NDIStats
from .commands import ERROR_MEANINGS, describe_error, encode_command, frame_ascii_reply
from .crc import crc16_arc, crc16_hex
from .device import TOOL_CONDITIONS
from .device_pose import DefaultMotion
from .driver import NDITracker
from .emulator import NDIEmulator
from .replies import (BxFrame, HandleReport, HandleState, PortStatus, SystemStatus,
                      TrackingFrame, TxFrame, pose_matrix, quaternion_to_matrix)
from .rom import build_tool_definition, check_tool_definition
from .tx import decode_tx, encode_tx

__all__ = [
    "NDITracker", "NDIEmulator", "NDIStats", "DefaultMotion", "TOOL_CONDITIONS",
    "crc16_arc", "crc16_hex", "encode_command", "frame_ascii_reply", "describe_error",
    "ERROR_MEANINGS", "encode_bx", "decode_bx", "encode_tx", "decode_tx", "TrackingFrame",
    "BxFrame", "TxFrame", "HandleReport", "HandleState", "PortStatus", "SystemStatus",
    "pose_matrix", "quaternion_to_matrix", "build_tool_definition", "check_tool_definition",
]
