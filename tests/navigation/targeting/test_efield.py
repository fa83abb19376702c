"""Analytic properties of the spherical-head e-field (Heller & van Hulsteyn 1992).

Known truths used: no radial component in a sphere; Faraday's law (the loop integral of E equals
that of the free-space primary field -dA/dt, because the surface-charge field is a gradient);
the on-axis values of docs/efield.md; symmetry under coil rotation and L/R
mirroring; linearity in dI/dt.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.coil_dipoles import GENERIC_FIG8_70, CoilWindings, figure8_dipoles
from tmsnav.navigation.targeting.efield import efield_sphere, field_under_centre
from tmsnav.navigation.transforms import Frame, Transform

MU0_OVER_4PI = 1e-7


def coil_pose(sphere_centre, direction_out, handle, radius) -> Transform:
    """mri_from_hotspot with the coil face on the sphere at ``direction_out``, handle toward ``handle``."""
    out = np.asarray(direction_out, float) / np.linalg.norm(direction_out)
    z = -out
    y = np.asarray(handle, float) - (np.asarray(handle, float) @ z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    m = np.eye(4)
    m[:3, :3] = np.column_stack([x, y, z])
    m[:3, 3] = np.asarray(sphere_centre, float) + radius * out
    return Transform(Frame.MRI, Frame.HOTSPOT, m)


def field_at(pose: Transform, points, centre, didt=1e6, n_rings=5, n_sectors=8, windings=GENERIC_FIG8_70):
    dip = figure8_dipoles(windings, n_rings, n_sectors).transformed(pose)
    return efield_sphere(np.atleast_2d(points), dip.positions_mm, dip.moments_A_m2_per_A, centre, didt)


def primary_field(points_mm, dip_pos_mm, dip_mom, didt):
    """Free-space induced field -dA/dt of point dipoles, A = mu0/4pi m x R / |R|^3 (SI)."""
    e = np.zeros((len(points_mm), 3))
    for p, m in zip(dip_pos_mm, dip_mom):
        r = (points_mm - p) * 1e-3
        e += np.cross(m, r) / np.linalg.norm(r, axis=1)[:, None] ** 3
    return -MU0_OVER_4PI * didt * e


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def random_interior_points(rng, centre, radius, n):
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    return np.asarray(centre) + d * radius * rng.uniform(0.2, 0.97, size=(n, 1))


def test_no_radial_component_inside_sphere(rng):
    centre = np.array([3.0, -12.0, 25.0])
    pose = coil_pose(centre, [-0.5, 0.3, 0.8], [0.2, -1.0, 0.1], 85.0)
    pts = random_interior_points(rng, centre, 85.0, 500)
    e = field_at(pose, pts, centre)
    radial = np.einsum("ij,ij->i", e, (pts - centre) / np.linalg.norm(pts - centre, axis=1)[:, None])
    assert np.abs(e).max() > 0.05
    assert np.abs(radial).max() < 1e-12 * np.abs(e).max() * 1e3


def test_faraday_loop_integral_matches_primary_field(rng):
    """The charge field is conservative: loop integrals of the full and primary fields agree."""
    centre = np.zeros(3)
    pose = coil_pose(centre, [0, 0, 1], [0, 1, 0], 85.0)
    dip = figure8_dipoles(GENERIC_FIG8_70, 2, 6).transformed(pose)
    t = np.linspace(0, 2 * np.pi, 3001)[:-1]
    for _ in range(3):
        c = np.array([0, 0, 60.0]) + rng.normal(scale=8.0, size=3)
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        v = np.cross(u, rng.normal(size=3))
        v /= np.linalg.norm(v)
        loop = c + 12.0 * (np.cos(t)[:, None] * u + np.sin(t)[:, None] * v)
        dl_m = 12e-3 * (-np.sin(t)[:, None] * u + np.cos(t)[:, None] * v) * (2 * np.pi / len(t))
        full = efield_sphere(loop, dip.positions_mm, dip.moments_A_m2_per_A, centre, 1e6)
        prim = primary_field(loop, dip.positions_mm, dip.moments_A_m2_per_A, 1e6)
        emf_full, emf_prim = (full * dl_m).sum(), (prim * dl_m).sum()
        assert abs(emf_prim) > 1e-5                                   # volts: a real flux change
        assert emf_full == pytest.approx(emf_prim, rel=1e-9)


def test_on_axis_values_match_reference_numbers():
    """docs/efield.md: R = 85 mm, windings 10 mm above the scalp, 9 turns 28-43.5 mm."""
    notes = CoilWindings(9, 28.0, 43.5, 87.0, 10.0)   # wings touching: 2 x outer radius apart
    depths = np.array([10, 15, 20, 25, 30, 40.0])
    expected = np.array([1.73, 1.34, 1.05, 0.82, 0.64, 0.39])
    fine = field_under_centre(notes, depths, n_rings=40, n_sectors=96)
    default = field_under_centre(notes, depths)
    np.testing.assert_allclose(fine, expected, rtol=0.01)
    np.testing.assert_allclose(default, fine, rtol=0.02)
    assert np.all(np.diff(default) < 0)                              # monotonic decay with depth


def test_field_under_centre_decays_monotonically_with_depth():
    depths = np.linspace(2.0, 70.0, 69)
    values = field_under_centre(GENERIC_FIG8_70, depths)
    assert np.all(np.diff(values) < 0)
    # ~1.6 V/m per A/us at 15 mm for the generic 70 mm coil (windings 6 mm above the scalp)
    assert 1.4 < values[13] < 1.8


def test_field_under_centre_is_tangential_and_points_away_from_handle(rng):
    """Convention: dI/dt > 0 -> E under the centre along -y_hotspot (antiparallel to the junction current)."""
    centre = np.array([-5.0, 10.0, 30.0])
    for _ in range(5):
        out = rng.normal(size=3)
        pose = coil_pose(centre, out, rng.normal(size=3), 82.0)
        axis = pose.rotation[:, 2]
        for depth in (12.0, 25.0):
            e = field_at(pose, pose.translation + depth * axis, centre)[0]
            assert abs(e @ axis) < 1e-12 * np.linalg.norm(e) * 1e3
            cosine = e @ (-pose.rotation[:, 1]) / np.linalg.norm(e)
            assert cosine > 1 - 1e-12


def test_m1_handle_posterior_gives_posterior_to_anterior_current():
    """Left M1, handle back and 45 deg lateral: induced current under the coil flows P -> A (RAS)."""
    centre = np.array([0.0, -15.0, 10.0])
    out = np.array([-0.45, -0.1, 0.89])
    handle = np.array([-1.0, -1.0, 0.0]) / np.sqrt(2)        # posterior (-y) and lateral (-x: left)
    pose = coil_pose(centre, out, handle, 85.0)
    e = field_at(pose, pose.translation + 18.0 * pose.rotation[:, 2], centre)[0]
    assert e[1] > 0.5 * np.linalg.norm(e)                    # anterior component dominates
    assert e[0] > 0                                          # and medial (toward +x from the left)


def test_rotating_coil_rotates_field(rng):
    centre = np.array([2.0, -3.0, 5.0])
    pose = coil_pose(centre, [0.3, 0.4, 0.87], [1.0, 0.0, 0.0], 86.0)
    axis = pose.rotation[:, 2]
    on_axis = pose.translation + 20.0 * axis
    off_axis_local = np.array([7.0, -4.0, 22.0])
    for angle_deg in (90.0, 180.0, 33.0):
        turn = Rotation.from_rotvec(np.deg2rad(angle_deg) * axis).as_matrix()
        rotated = Transform(Frame.MRI, Frame.HOTSPOT,
                            np.block([[turn @ pose.rotation, pose.translation[:, None]], [np.zeros((1, 3)), 1.0]]))
        e0 = field_at(pose, on_axis, centre)[0]
        e1 = field_at(rotated, on_axis, centre)[0]
        np.testing.assert_allclose(e1, turn @ e0, atol=1e-12 * 1e3)
        # off-axis: the point turns with the coil when the sphere centre is on the coil axis
        c_axis = pose.translation + 86.0 * axis
        p0 = pose.apply(off_axis_local)
        p1 = rotated.apply(off_axis_local)
        np.testing.assert_allclose(field_at(rotated, p1, c_axis)[0], turn @ field_at(pose, p0, c_axis)[0],
                                   atol=1e-9)
    flipped = field_at(coil_pose(centre, [0.3, 0.4, 0.87], [-1.0, 0.0, 0.0], 86.0), on_axis, centre)[0]
    np.testing.assert_allclose(flipped, -field_at(pose, on_axis, centre)[0], atol=1e-9)


def test_linear_in_didt_and_depends_on_geometry_only(rng):
    centre = np.array([1.0, 2.0, 3.0])
    pose = coil_pose(centre, [0.1, -0.6, 0.8], [0, 0, 1], 84.0)
    pts = random_interior_points(rng, centre, 84.0, 50)
    e1 = field_at(pose, pts, centre, didt=1e6)
    np.testing.assert_allclose(field_at(pose, pts, centre, didt=-37.5e6), -37.5 * e1, rtol=1e-12, atol=1e-12)
    # translating the whole scene leaves the field unchanged (only relative geometry matters)
    shift = np.array([40.0, -25.0, 13.0])
    moved = Transform(Frame.MRI, Frame.HOTSPOT, np.block([[pose.rotation, (pose.translation + shift)[:, None]],
                                                          [np.zeros((1, 3)), 1.0]]))
    np.testing.assert_allclose(field_at(moved, pts + shift, centre + shift), e1, rtol=1e-9, atol=1e-12)


def test_left_right_mirror_gives_mirrored_field(rng):
    """Mirror the scene in x: the coil model at the mirrored pose gives exactly the mirrored field."""
    flip = np.diag([-1.0, 1.0, 1.0])
    centre = np.array([0.0, -10.0, 20.0])
    left = coil_pose(centre, [-0.6, 0.3, 0.74], [-0.3, -1.0, 0.0], 85.0)     # over the left hemisphere
    # mirror image of the physical coil: positions x -> -x, hotspot x axis reversed (stays right-handed)
    mirrored = np.eye(4)
    mirrored[:3, :3] = flip @ left.rotation @ flip
    mirrored[:3, 3] = flip @ left.translation
    right = Transform(Frame.MRI, Frame.HOTSPOT, mirrored)
    pts = random_interior_points(rng, centre, 85.0, 200)
    e_left = field_at(left, pts, centre)
    e_right = field_at(right, pts @ flip, flip @ centre)
    np.testing.assert_allclose(e_right, e_left @ flip, atol=1e-12 * 1e3)
    strongest_left = pts[np.argmax(np.linalg.norm(e_left, axis=1))]
    assert strongest_left[0] < 0                                 # the field is strongest on the left


def test_float32_kernel_matches_float64(rng):
    centre = np.zeros(3)
    pose = coil_pose(centre, [0, 0.2, 1], [0, 1, 0], 85.0)
    dip = figure8_dipoles(GENERIC_FIG8_70).transformed(pose)
    pts = random_interior_points(rng, centre, 80.0, 3000)
    e64 = efield_sphere(pts, dip.positions_mm, dip.moments_A_m2_per_A, centre, 1e6)
    e32 = efield_sphere(pts, dip.positions_mm, dip.moments_A_m2_per_A, centre, 1e6, dtype=np.float32)
    assert np.abs(e32 - e64).max() < 1e-4 * np.abs(e64).max()


def test_kernel_rejects_points_outside_and_bad_shapes():
    dip = figure8_dipoles(GENERIC_FIG8_70)
    centre = [0.0, 0.0, 85.0]
    with pytest.raises(NavigationError, match="closer to the sphere centre"):
        efield_sphere([[0.0, 0.0, -20.0]], dip.positions_mm, dip.moments_A_m2_per_A, centre, 1e6)
    with pytest.raises(NavigationError, match=r"\(N, 3\)"):
        efield_sphere(np.zeros((4, 2)), dip.positions_mm, dip.moments_A_m2_per_A, centre, 1e6)
    with pytest.raises(NavigationError, match="NaN"):
        efield_sphere([[np.nan, 0, 10]], dip.positions_mm, dip.moments_A_m2_per_A, centre, 1e6)
    with pytest.raises(NavigationError, match="one moment per dipole"):
        efield_sphere([[0, 0, 10.0]], dip.positions_mm, dip.moments_A_m2_per_A[:-1], centre, 1e6)
    assert efield_sphere(np.zeros((0, 3)), dip.positions_mm, dip.moments_A_m2_per_A, centre, 1e6).shape == (0, 3)
