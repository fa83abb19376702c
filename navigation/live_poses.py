"""Tracker poses -> MRI-space poses of the pointer tip and the coil hotspot, or a reason why not.

Pure function of plain inputs (``navigation`` never sees hardware types): for each tool the
caller passes its ``tracker_from_tool`` (or None) and whether it is live (fresh and trackable).
Safety rules (docs/safety.md): no MRI-space pose without a live head reference, no pose
from a stale tool, and tools measured in different device frames are not combined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .transforms import Frame, Transform

__all__ = ["ToolPose", "LivePoses", "compute_live_poses", "MAX_FRAME_SKEW"]

MAX_FRAME_SKEW = 1  # device frames between the reference and a tool that may still be combined


@dataclass(frozen=True)
class ToolPose:
    tracker_from_tool: np.ndarray | None
    live: bool
    frame_number: int | None = None


@dataclass(frozen=True)
class LivePoses:
    mri_from_pointer_tip: Transform | None
    mri_from_hotspot: Transform | None
    reference_from_pointer_tip: Transform | None   # for registration sampling (needs no mri)
    pointer_reason: str = ""                       # why a pointer pose is missing (for the UI)
    coil_reason: str = ""

    @property
    def pointer_tip_mri_mm(self) -> np.ndarray | None:
        return None if self.mri_from_pointer_tip is None else self.mri_from_pointer_tip.translation


def _live_matrix(pose: ToolPose | None) -> np.ndarray | None:
    """``tracker_from_tool`` of a live pose; None when the tool is absent, stale or untracked."""
    return pose.tracker_from_tool if pose is not None and pose.live else None


def _in_step(a: ToolPose, b: ToolPose) -> bool:
    if a.frame_number is None or b.frame_number is None:
        return True
    return abs(a.frame_number - b.frame_number) <= MAX_FRAME_SKEW


def compute_live_poses(poses: dict[str, ToolPose], *, mri_from_reference: Transform | None,
                       pointer_from_tip: Transform | None, coil_from_hotspot: Transform | None,
                       reference: str = "reference", pointer: str = "pointer",
                       coil: str = "coil") -> LivePoses:
    """Chain every available pose; each missing link is named in the reason strings."""
    ref = poses.get(reference)
    ref_matrix = _live_matrix(ref)
    reference_from_tracker = (Transform(Frame.TRACKER, Frame.REFERENCE, ref_matrix).inverse()
                              if ref_matrix is not None else None)

    def chain(name: str, tool_frame: Frame, tool_from_point: Transform | None, what: str):
        tool = poses.get(name)
        if tool_from_point is None:
            return None, None, f"{what} not calibrated"
        tool_matrix = _live_matrix(tool)
        if tool is None or tool_matrix is None:
            return None, None, f"{what} not tracked"
        if ref is None or reference_from_tracker is None:
            return None, None, "head reference not tracked"
        if not _in_step(ref, tool):
            return None, None, f"{what} and reference from different frames"
        ref_from_point = (reference_from_tracker @ Transform(Frame.TRACKER, tool_frame, tool_matrix)
                          @ tool_from_point)
        if mri_from_reference is None:
            return ref_from_point, None, "not registered"
        return ref_from_point, mri_from_reference @ ref_from_point, ""

    ref_tip, mri_tip, pointer_reason = chain(pointer, Frame.POINTER, pointer_from_tip, "pointer")
    _, mri_hot, coil_reason = chain(coil, Frame.COIL, coil_from_hotspot, "coil")
    return LivePoses(mri_tip, mri_hot, ref_tip, pointer_reason, coil_reason)
