"""Live pose chaining refuses stale tools, a missing reference and mismatched frames."""

import numpy as np
import pytest

from tmsnav.navigation.live_poses import ToolPose, compute_live_poses
from tmsnav.navigation.transforms import Transform
from tests.data_factories.poses import random_rigid

rng = np.random.default_rng(7)


def rigid(to, frm):
    return random_rigid(rng, to, frm, spread_mm=80.0)


MRI_FROM_REF = rigid("mri", "reference")
TRACKER_FROM_REF = rigid("tracker", "reference")
TRACKER_FROM_POINTER = rigid("tracker", "pointer")
TRACKER_FROM_COIL = rigid("tracker", "coil")
POINTER_FROM_TIP = Transform.from_translation([0, 0, -150], to_frame="pointer", from_frame="pointer_tip")
COIL_FROM_HOTSPOT = rigid("coil", "hotspot")


def poses(ref_live=True, pointer_live=True, coil_live=True, frames=(10, 10, 10)):
    return {"reference": ToolPose(TRACKER_FROM_REF.matrix, ref_live, frames[0]),
            "pointer": ToolPose(TRACKER_FROM_POINTER.matrix, pointer_live, frames[1]),
            "coil": ToolPose(TRACKER_FROM_COIL.matrix, coil_live, frames[2])}


def run(p, registered=True):
    return compute_live_poses(p, mri_from_reference=MRI_FROM_REF if registered else None,
                              pointer_from_tip=POINTER_FROM_TIP, coil_from_hotspot=COIL_FROM_HOTSPOT)


def test_full_chain_matches_matrix_product():
    live = run(poses())
    expected_tip = (MRI_FROM_REF.matrix @ np.linalg.inv(TRACKER_FROM_REF.matrix)
                    @ TRACKER_FROM_POINTER.matrix @ POINTER_FROM_TIP.matrix)[:3, 3]
    np.testing.assert_allclose(live.pointer_tip_mri_mm, expected_tip, atol=1e-9)
    expected_hot = (MRI_FROM_REF.matrix @ np.linalg.inv(TRACKER_FROM_REF.matrix)
                    @ TRACKER_FROM_COIL.matrix @ COIL_FROM_HOTSPOT.matrix)
    np.testing.assert_allclose(live.mri_from_hotspot.matrix, expected_hot, atol=1e-9)
    assert live.mri_from_hotspot.name == "mri_from_hotspot"


def test_missing_reference_invalidates_every_mri_pose_even_with_coil_visible():
    live = run(poses(ref_live=False))
    assert live.mri_from_hotspot is None and live.mri_from_pointer_tip is None
    assert live.coil_reason == "head reference not tracked"


@pytest.mark.parametrize("which", ["pointer", "coil"])
def test_stale_tool_gives_no_pose_and_a_reason(which):
    live = run(poses(**{f"{which}_live": False}))
    if which == "pointer":
        assert live.mri_from_pointer_tip is None and live.pointer_reason == "pointer not tracked"
        assert live.mri_from_hotspot is not None
    else:
        assert live.mri_from_hotspot is None and live.coil_reason == "coil not tracked"


def test_tools_from_different_device_frames_are_not_combined():
    live = run(poses(frames=(10, 10, 14)))
    assert live.mri_from_hotspot is None and "different frames" in live.coil_reason
    assert live.mri_from_pointer_tip is not None


def test_unregistered_still_gives_reference_space_tip_for_sampling():
    live = run(poses(), registered=False)
    assert live.mri_from_pointer_tip is None and live.pointer_reason == "not registered"
    assert live.reference_from_pointer_tip.name == "reference_from_pointer_tip"
