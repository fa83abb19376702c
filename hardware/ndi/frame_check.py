"""From a decoded NDI reply to ToolFrames: statuses, poses, and frame-number plausibility.

Status mapping (PLUS ``vtkPlusNDITracker`` idea, NDI port-status bits, reliability notes B3.4):
valid -> OK with pose; valid + 0x80 -> PARTIALLY_IN_VOLUME with pose (usable, show a warning);
0x40 (valid or missing) -> OUT_OF_VOLUME without pose; missing -> MISSING; disabled -> DISABLED;
a handle absent from the reply, or any frame whose number is implausible -> INVALID.
"""

from __future__ import annotations

from ..errors import ProtocolError
from ..frames import ToolFrame, ToolStatus
from .replies import HandleState, PortStatus, TrackingFrame

__all__ = ["FrameNumberCheck", "tool_frames"]

_MASK = 0xFFFFFFFF


class FrameNumberCheck:
    """Frame numbers must move forward by about (device rate x elapsed time).

    A number that goes backwards or jumps further than ``max_rate_hz`` could explain is an
    anomaly. After ``confirmations`` consecutive anomalies that agree with each other (the device
    really restarted its counter), the new sequence is adopted. uint32 wrap-around is normal.
    """

    def __init__(self, max_rate_hz: float = 500.0, slack_frames: int = 50,
                 confirmations: int = 3) -> None:
        self.max_rate_hz = max_rate_hz
        self.slack_frames = slack_frames
        self.confirmations = confirmations
        self.last: int | None = None
        self._last_ns = 0
        self._candidate: int | None = None
        self._candidate_ns = 0
        self._count = 0

    def _plausible(self, number: int, since: int, since_ns: int, now_ns: int) -> bool:
        delta = (number - since) & _MASK
        elapsed_s = max(0.0, (now_ns - since_ns) / 1e9)
        return 0 < delta <= 2.0 * self.max_rate_hz * elapsed_s + self.slack_frames

    def is_repeat(self, number: int) -> bool:
        """The same camera frame as the last accepted (or last suspicious) one."""
        return number == self.last or number == self._candidate

    def accept(self, number: int, host_ns: int) -> bool:
        """True when ``number`` follows plausibly; False marks the frame INVALID."""
        if self.last is None or self._plausible(number, self.last, self._last_ns, host_ns):
            self.last, self._last_ns, self._candidate = number, host_ns, None
            return True
        if self._candidate is not None and self._plausible(number, self._candidate,
                                                           self._candidate_ns, host_ns):
            self._count += 1
        else:
            self._count = 1
        self._candidate, self._candidate_ns = number, host_ns
        if self._count >= self.confirmations:
            self.last, self._last_ns, self._candidate = number, host_ns, None
            return True
        return False


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
