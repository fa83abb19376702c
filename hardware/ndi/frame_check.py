"""From a decoded NDI reply to ToolFrames: statuses, poses, and frame-number plausibility.

Status mapping (PLUS ``vtkPlusNDITracker`` idea, NDI port-status bits, docs/hardware-ndi.md):
valid -> OK with pose; valid + 0x80 -> PARTIALLY_IN_VOLUME with pose (usable, show a warning);
0x40 (valid or missing) -> OUT_OF_VOLUME without pose; missing -> MISSING; disabled -> DISABLED;
a handle absent from the reply, or any frame whose number is implausible -> INVALID.
"""

from __future__ import annotations

from .. import frame_numbers
from ..errors import ProtocolError
from ..frames import ToolFrame, ToolStatus
from .replies import HandleState, PortStatus, TrackingFrame

__all__ = ["FrameNumberCheck", "tool_frames"]

#: NDI frame counters run at the illuminator rate, which the configured ``nominal_rate_hz`` can
#: understate (a 250 Hz Vega XT configured as 60 Hz): judge them against the fastest NDI rate.
NDI_MAX_COUNTER_RATE_HZ = 500.0


class FrameNumberCheck(frame_numbers.FrameNumberCheck):
    """The shared frame-number rule (:mod:`hardware.frame_numbers`) at the fastest NDI rate,
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
        common = dict(tool=name, frame_number=number, host_time_ns=host_ns,
                      port_status=None if report is None else report.port_status)
        if report is None or not plausible:
            out.append(ToolFrame(tracker_from_tool=None, status=ToolStatus.INVALID, **common))
            continue
        bits = report.port_status or 0
        if report.state is HandleState.DISABLED:
            out.append(ToolFrame(tracker_from_tool=None, status=ToolStatus.DISABLED, **common))
        elif bits & PortStatus.OUT_OF_VOLUME:
            out.append(ToolFrame(tracker_from_tool=None, status=ToolStatus.OUT_OF_VOLUME, **common))
        elif report.state is not HandleState.VALID:
            out.append(ToolFrame(tracker_from_tool=None, status=ToolStatus.MISSING, **common))
        else:
            try:
                tracker_from_tool = report.matrix()
            except ProtocolError:
                out.append(ToolFrame(tracker_from_tool=None, status=ToolStatus.INVALID, **common))
                continue
            status = (ToolStatus.PARTIALLY_IN_VOLUME if bits & PortStatus.PARTIALLY_IN_VOLUME
                      else ToolStatus.OK)
            out.append(ToolFrame(tracker_from_tool=tracker_from_tool, status=status,
                                 quality_rms_mm=report.rms_mm, **common))
    return out
