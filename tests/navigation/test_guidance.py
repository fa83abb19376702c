"""Guidance error decomposition against poses built with known offsets, tilts and twists."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.guidance import GuidanceError, Tolerance, guidance_error, mri_from_hotspot
from tmsnav.navigation.transforms import Transform, TransformError
from tests.data_factories.poses import random_rigid


def target_pose(origin, normal, handle):
    z = np.asarray(normal, float) / np.linalg.norm(normal)
    y = np.asarray(handle, float) - np.dot(handle, z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return Transform.from_rotation(np.column_stack([x, y, z]), origin, to_frame="mri", from_frame="target")


def hotspot_relative(mri_from_target, target_from_hotspot_matrix):
    return Transform("mri", "hotspot", mri_from_target.matrix @ target_from_hotspot_matrix)


LEFT_DLPFC = target_pose([-45, 40, 45], normal=[0.6, -0.3, -0.75], handle=[0.3, -0.8, 0.2])


def test_perfect_placement_is_zero_error():
    err = guidance_error(LEFT_DLPFC, hotspot_relative(LEFT_DLPFC, np.eye(4)))
    assert err.distance_mm == pytest.approx(0, abs=1e-9)
    assert err.tilt_rad == pytest.approx(0, abs=1e-7)
    assert err.twist_rad == pytest.approx(0, abs=1e-9)
    assert err.on_target()


def test_pure_offsets_and_depth_read_back_in_target_axes():
    m = np.eye(4)
    m[:3, 3] = [2.0, -3.0, 4.0]
    err = guidance_error(LEFT_DLPFC, hotspot_relative(LEFT_DLPFC, m))
    assert (err.offset_x_mm, err.offset_y_mm, err.depth_mm) == pytest.approx((2.0, -3.0, 4.0))
    assert err.in_plane_mm == pytest.approx(np.hypot(2, 3))
    assert not err.on_target(Tolerance(distance_mm=3.0))


@pytest.mark.parametrize("twist_deg", [-170, -30, 0, 15, 90, 179])
@pytest.mark.parametrize("tilt_deg,tilt_axis", [(0, "x"), (12, "x"), (25, "y")])
def test_tilt_and_twist_are_separated(twist_deg, tilt_deg, tilt_axis):
    # hotspot = twist about z, then tilt about an in-plane axis (applied in the target frame)
    r = (Rotation.from_euler(tilt_axis, tilt_deg, degrees=True)
         * Rotation.from_euler("z", twist_deg, degrees=True)).as_matrix()
    m = np.eye(4)
    m[:3, :3] = r
    err = guidance_error(LEFT_DLPFC, hotspot_relative(LEFT_DLPFC, m))
    assert np.rad2deg(err.tilt_rad) == pytest.approx(tilt_deg, abs=1e-6)
    assert np.rad2deg(err.twist_rad) == pytest.approx(twist_deg, abs=0.5 if tilt_deg else 1e-6)


def test_anatomical_offsets_follow_patient_axes():
    # A target on the vertex-ish top of the head with the handle pointing posterior:
    top = target_pose([0, 0, 100], normal=[0, 0, -1], handle=[0, -1, 0])
    # move the hotspot 5 mm anterior and 2 mm to the patient's LEFT (negative x) in mri
    mri = np.eye(4)
    mri[:3, 3] = [-2.0, 5.0, 0.0]
    hotspot = Transform("mri", "hotspot", mri @ top.matrix)
    err = guidance_error(top, hotspot)
    assert err.anterior_mm == pytest.approx(5.0)
    assert err.right_mm == pytest.approx(-2.0)  # left is negative right: L/R safety


def test_live_chain_composes_and_rejects_swapped_arguments():
    rng = np.random.default_rng(0)

    def rand(to, frm):
        return random_rigid(rng, to, frm, spread_mm=100.0)

    mri_from_reference = rand("mri", "reference")
    tracker_from_reference = rand("tracker", "reference")
    tracker_from_coil = rand("tracker", "coil")
    coil_from_hotspot = rand("coil", "hotspot")
    chain = mri_from_hotspot(mri_from_reference, tracker_from_reference, tracker_from_coil, coil_from_hotspot)
    expected = (mri_from_reference.matrix @ np.linalg.inv(tracker_from_reference.matrix)
                @ tracker_from_coil.matrix @ coil_from_hotspot.matrix)
    np.testing.assert_allclose(chain.matrix, expected, atol=1e-9)
    with pytest.raises(TransformError):
        mri_from_hotspot(mri_from_reference, tracker_from_coil, tracker_from_reference, coil_from_hotspot)


def test_wrong_frames_rejected():
    with pytest.raises(TransformError):
        guidance_error(Transform.identity("mri", "reference"), Transform.identity("mri", "hotspot"))
    with pytest.raises(TransformError):
        guidance_error(LEFT_DLPFC, Transform.identity("mri", "coil"))


def test_to_dict_has_units_in_names():
    err = GuidanceError(1, 2, 3, 0.1, 0.2, 1.5, -0.5)
    d = err.to_dict()
    assert set(d) >= {"offset_x_mm", "depth_mm", "tilt_rad", "twist_rad", "distance_mm"}
