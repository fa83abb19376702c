"""Frame-checked transforms: chaining, inverse, conversions (property-style, seeded)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.transforms import Frame, Transform, TransformError, invert_rigid, rotation_angle_rad


def random_rigid(rng, to_frame, from_frame):
    r = Rotation.random(random_state=rng.integers(1 << 30))
    return Transform.from_rotation(r, rng.normal(0, 100, 3), to_frame=to_frame, from_frame=from_frame)


def test_composition_chains_names_and_points():
    rng = np.random.default_rng(1)
    mri_from_reference = random_rigid(rng, "mri", "reference")
    reference_from_tracker = random_rigid(rng, "reference", "tracker")
    mri_from_tracker = mri_from_reference @ reference_from_tracker
    assert mri_from_tracker.name == "mri_from_tracker"
    p = rng.normal(0, 50, (20, 3))
    np.testing.assert_allclose(mri_from_tracker.apply(p),
                               mri_from_reference.apply(reference_from_tracker.apply(p)), atol=1e-10)


@pytest.mark.parametrize("left,right", [(("mri", "reference"), ("tracker", "coil")),
                                        (("mri", "tracker"), ("mri", "tracker"))])
def test_mischained_composition_raises(left, right):
    rng = np.random.default_rng(2)
    a, b = random_rigid(rng, *left), random_rigid(rng, *right)
    with pytest.raises(TransformError, match="mismatch"):
        _ = a @ b


def test_rigid_inverse_is_closed_form_and_exact():
    rng = np.random.default_rng(3)
    for _ in range(50):
        t = random_rigid(rng, "tracker", "coil")
        inv = t.inverse()
        assert inv.name == "coil_from_tracker"
        np.testing.assert_allclose((t @ inv).matrix, np.eye(4), atol=1e-12)


def test_non_rigid_rejected_by_rigid_inverse_and_singular_by_inverse():
    m = np.diag([1.0, 1.0, -1.0, 1.0])  # a reflection is not a rotation
    with pytest.raises(TransformError):
        invert_rigid(m)
    singular = np.diag([1.0, 1.0, 0.0, 1.0])
    with pytest.raises(TransformError, match="singular"):
        Transform("mri", "voxel", singular).inverse()
    affine = np.diag([1.0, 0.9765625, 0.9765625, 1.0])
    t = Transform("mri", "voxel", affine)
    np.testing.assert_allclose((t @ t.inverse()).matrix, np.eye(4), atol=1e-12)


@pytest.mark.parametrize("bad", [np.eye(3), np.full((4, 4), np.nan), np.ones((4, 4))])
def test_malformed_matrices_rejected(bad):
    with pytest.raises(TransformError):
        Transform("mri", "voxel", bad)


def test_unknown_frame_lists_valid_ones():
    with pytest.raises(TransformError, match="valid frames"):
        Transform("brain", "voxel", np.eye(4))
    assert Frame.parse("MRI") is Frame.MRI


def test_quaternion_round_trip_scalar_first_matches_scipy():
    rng = np.random.default_rng(4)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        t = Transform.from_quaternion(q, [1, 2, 3], to_frame="tracker", from_frame="pointer")
        expected = Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix()  # scipy scalar-last
        np.testing.assert_allclose(t.rotation, expected, atol=1e-12)
        back = t.to_quaternion()
        assert min(np.linalg.norm(back - q), np.linalg.norm(back + q)) < 1e-12


def test_quarter_turn_about_z_maps_right_to_anterior():
    """A +90 deg rotation about +z (superior) turns +x (right) into +y (anterior): right-handed."""
    t = Transform.from_euler("z", [np.pi / 2], to_frame="mri", from_frame="reference")
    np.testing.assert_allclose(t.apply([1, 0, 0]), [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(t.apply_direction([[0, 0, 1]]), [[0, 0, 1]], atol=1e-12)
    assert t.rotation_angle_rad() == pytest.approx(np.pi / 2)
    np.testing.assert_allclose(t.to_euler("xyz"), [0, 0, np.pi / 2], atol=1e-12)


def test_directions_ignore_translation():
    t = Transform.from_translation([5, 6, 7], to_frame="mri", from_frame="target")
    np.testing.assert_allclose(t.apply_direction([0, 0, 1]), [0, 0, 1])
    np.testing.assert_allclose(t.apply([0, 0, 1]), [5, 6, 8])


def test_dict_round_trip_and_is_close():
    rng = np.random.default_rng(5)
    t = random_rigid(rng, "mri", "reference")
    u = Transform.from_dict(t.to_dict())
    assert t.is_close(u)
    assert not t.is_close(t.inverse())
    assert rotation_angle_rad(np.eye(3)) == 0.0


def test_matrix_is_read_only():
    t = Transform.identity("mri", "reference")
    with pytest.raises(ValueError):
        t.matrix[0, 3] = 1.0


def test_one_rigidity_test_with_one_tolerance_for_navigation_and_hardware():
    """hardware uses tmsnav.navigation.transforms.is_rigid; no other copy with its own tolerance."""
    import re
    from pathlib import Path

    from tmsnav.hardware import rigid as hardware_rigid
    from tmsnav.navigation import transforms

    assert hardware_rigid.is_rigid is transforms.is_rigid
    hardware_dir = Path(hardware_rigid.__file__).parent
    copies = [str(p) for p in hardware_dir.rglob("*.py")
              if re.search(r"def _?is_rigid\b|\.T @ \w+, np\.eye\(3\)", p.read_text(encoding="utf-8"))]
    assert copies == []


def test_is_rigid_tolerance_is_exactly_rigid_tol():
    """Float32 wire round-off passes; a 5e-6 scale, a mirror, a bad bottom row, NaN do not.
    (The old copies used np.allclose, whose relative term silently let 1.1e-5 through on the
    diagonal while the documented tolerance was 1e-6.)"""
    from scipy.spatial.transform import Rotation

    from tmsnav.navigation.transforms import RIGID_TOL, is_rigid, rigid_error

    rotations = Rotation.random(2000, random_state=3).as_matrix()
    for r in rotations:
        m = np.eye(4)
        m[:3, :3] = r.astype(np.float32)
        m[:3, 3] = [12.0, -300.0, -1500.0]
        assert is_rigid(m), rigid_error(m)
    base = np.eye(4)
    base[:3, :3] = rotations[0]
    scaled = base.copy()
    scaled[:3, :3] *= 1 + 5e-6
    mirrored = base @ np.diag([-1.0, 1.0, 1.0, 1.0])
    bottom = base.copy()
    bottom[3, 0] = 1e-3
    nan = base.copy()
    nan[0, 3] = np.nan
    for bad in (scaled, mirrored, bottom, nan, np.eye(4)[:3]):
        assert not is_rigid(bad)
    assert rigid_error(scaled) == pytest.approx(1.5e-5, rel=1e-3)  # det = 1 + 3 x 5e-6
    assert rigid_error(scaled) > RIGID_TOL
    assert is_rigid(rotations[0])  # a 3x3 rotation is accepted as such
