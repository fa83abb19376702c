"""The record every tracker produces: one :class:`ToolFrame` per tool per device frame.

Missing means ``tracker_from_tool is None`` plus a status, never the last pose (the
scikit-surgerynditracker / NaviNIBS lesson). An absent or unknown status is ``INVALID``, never
``OK`` (PlusLib PR #506 chose the opposite and regretted it). Poses are 4x4 numpy arrays in
millimetres; ``hardware`` knows nothing of MRI frames, so it keeps raw arrays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

__all__ = ["ToolStatus", "ToolFrame", "TRACKABLE_STATUSES"]


class ToolStatus(str, Enum):
    """Per-tool state, after PLUS ``ToolStatus`` and NDI port-status bits."""

    OK = "ok"
    MISSING = "missing"                     # not seen in this frame (occluded, out of view)
    OUT_OF_VOLUME = "out_of_volume"         # seen, but outside the calibrated volume (NDI 0x40)
    PARTIALLY_IN_VOLUME = "partially_in_volume"  # NDI 0x80: usable, show a warning
    DISABLED = "disabled"                   # port/handle not enabled
    INVALID = "invalid"                     # unknown status, CRC-failed or implausible data
    DISCONNECTED = "disconnected"           # the device itself is gone (unplug, socket closed)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


#: Statuses whose pose may be used for navigation (PARTIALLY_IN_VOLUME is shown as a warning).
TRACKABLE_STATUSES = frozenset({ToolStatus.OK, ToolStatus.PARTIALLY_IN_VOLUME})


@dataclass(frozen=True, eq=False)
class ToolFrame:
    """One tool in one device frame.

    ``tracker_from_tool`` is a read-only 4x4 float array in mm, or ``None`` when the tool has no
    valid pose. ``host_time_ns`` is ``time.monotonic_ns()`` when the bytes were received: use it
    for staleness and latency, never wall time. ``frame_number`` is the device's counter (e.g. the
    NDI 60 Hz frame number) used to detect dropped frames and to pair tools measured together.
    """

    tool: str
    tracker_from_tool: np.ndarray | None
    status: ToolStatus
    quality_rms_mm: float | None = None
    frame_number: int | None = None
    device_time_s: float | None = None
    host_time_ns: int = field(default_factory=time.monotonic_ns)
    port_status: int | None = None

    def __post_init__(self) -> None:
        status = self.status if isinstance(self.status, ToolStatus) else ToolStatus.INVALID
        m = self.tracker_from_tool
        if m is not None:
            # A read-only float64 array cannot change under us: keep it (drivers hand over fresh
            # frozen poses; copying them costs ~5 us per tool at 250 Hz). Anything else is copied.
            if not (isinstance(m, np.ndarray) and m.dtype == np.float64 and not m.flags.writeable):
                m = np.array(m, dtype=float)
            if m.shape != (4, 4) or not np.isfinite(m).all():
                m, status = None, ToolStatus.INVALID
            else:
                m.setflags(write=False)
        if m is None and status in TRACKABLE_STATUSES:
            status = ToolStatus.INVALID
        object.__setattr__(self, "tracker_from_tool", m)
        object.__setattr__(self, "status", status)

    @property
    def is_trackable(self) -> bool:
        """True when the pose exists and its status allows navigation."""
        return self.tracker_from_tool is not None and self.status in TRACKABLE_STATUSES

    def age_s(self, now_ns: int | None = None) -> float:
        now = time.monotonic_ns() if now_ns is None else now_ns
        return (now - self.host_time_ns) / 1e9

    @property
    def position_mm(self) -> np.ndarray | None:
        return None if self.tracker_from_tool is None else np.array(self.tracker_from_tool[:3, 3])
