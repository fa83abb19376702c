"""ToolFrame: a pose can never change after the frame is made, and bad poses become INVALID."""

import numpy as np
import pytest

from tmsnav.hardware.frames import ToolFrame, ToolStatus


def test_writeable_input_is_copied_and_frozen():
    m = np.eye(4)
    frame = ToolFrame("coil", m, ToolStatus.OK)
    m[0, 3] = 99.0  # the caller reuses its buffer
    assert frame.tracker_from_tool[0, 3] == 0.0
    with pytest.raises(ValueError):
        frame.tracker_from_tool[0, 3] = 1.0


def test_frozen_float_input_is_kept_without_a_copy():
    m = np.eye(4)
    m.setflags(write=False)
    assert ToolFrame("coil", m, ToolStatus.OK).tracker_from_tool is m


@pytest.mark.safety(hazard="bad-bytes", control="a malformed or non-finite pose is INVALID, never trackable")
@pytest.mark.parametrize("bad", [np.full((4, 4), np.nan), np.eye(3), [[1, 2], [3, 4]]])
def test_malformed_pose_is_invalid_not_trackable(bad):
    frame = ToolFrame("pointer", bad, ToolStatus.OK)
    assert frame.tracker_from_tool is None and frame.status is ToolStatus.INVALID
    assert not frame.is_trackable


def test_ok_without_pose_is_invalid_and_unknown_status_is_invalid():
    assert ToolFrame("pointer", None, ToolStatus.OK).status is ToolStatus.INVALID
    assert ToolFrame("pointer", np.eye(4), "ok").status is ToolStatus.INVALID
