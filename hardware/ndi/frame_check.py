"""From a decoded NDI reply to ToolFrames: statuses, poses, and frame-number plausibility.

Status mapping (PLUS ``vtkPlusNDITracker`` idea, NDI port-status bits, docs/hardware-ndi.md):
valid -> OK with pose; valid + 0x80 -> PARTIALLY_IN_VOLUME with pose (usable, show a warning);
0x40 (valid or missing) -> OUT_OF_VOLUME without pose; missing -> MISSING; disabled -> DISABLED;
a handle absent from the reply, or any frame whose number is implausible -> INVALID.
"""

from __future__ import annotations

import numpy as np

from .. import frame_numbers
from ..errors import ProtocolError
from ..frames import ToolFrame, ToolStatus
from .replies import HandleState, PortStatus, TrackingFrame

__all__ = ["FrameNumberCheck", "tool_frames"]

#: NDI frame counters run at the illuminator rate, which the configured ``nominal_rate_hz`` can
#: understate (a 250 Hz Vega XT configured as 60 Hz): judge them against the fastest NDI rate.
NDI_MAX_COUNTER_RATE_HZ = 500.0


class FrameNumberCheck(frame_numbers.FrameNumberCheck):
    """The shared frame-number rule (:mod:`tmsnav.hardware.frame_numbers`) at the fastest NDI rate,
    as the yes/no the driver needs: is this frame plausible?"""

    def accept(self, number: int, host_ns: int) -> bool:
        """True when ``number`` follows plausibly; False marks the frame INVALID."""
        return self.check(number, host_ns, NDI_MAX_COUNTER_RATE_HZ).invalid_reason is None


def tool_frames(frame: TrackingFrame, tools: list[tuple[int, str, str]], host_ns: int,
                plausible: bool) -> list[ToolFrame]:
    """One ToolFrame per enabled tool (``(handle, name, description)``), in ``tools`` order."""
    reports = frame.by_handle()
    out = []
    for handle, name, _ in tools:
        report = reports.get(handle)
        number = report.frame_number if report is not None else frame.frame_number
        pose: np.ndarray | None = None
        rms_mm: float | None = None
        if report is None or not plausible:
            status = ToolStatus.INVALID
        elif report.state is HandleState.DISABLED:
            status = ToolStatus.DISABLED
        elif (report.port_status or 0) & PortStatus.OUT_OF_VOLUME:
            status = ToolStatus.OUT_OF_VOLUME
        elif report.state is not HandleState.VALID:
            status = ToolStatus.MISSING
        else:
            try:
                pose = report.matrix()
            except ProtocolError:
                status = ToolStatus.INVALID
            else:
                partly = (report.port_status or 0) & PortStatus.PARTIALLY_IN_VOLUME
                status = ToolStatus.PARTIALLY_IN_VOLUME if partly else ToolStatus.OK
                rms_mm = report.rms_mm
        out.append(ToolFrame(name, pose, status, rms_mm, number, host_time_ns=host_ns,
                             port_status=None if report is None else report.port_status))
    return out
