"""TMS-induced electric field of a dipole coil model in a spherical head.

Model: Heller & van Hulsteyn 1992 (Biophys J 63:129-138). For a magnetic dipole of
moment m at r2 outside a spherically symmetric conductor centred at the origin, the induced
field (primary field plus the field of the surface charges) at r1 inside is, in SI units,

    a = r2 - r1,  a = |a|,  R2 = |r2|,  s = r2 . a
    F      = a (R2 a + s)
    grad F = (a^2/R2 + 2a + 2R2 + s/a) r2 - (a + 2R2 + s/a) r1
    E(r1)  = -(mu0/4pi) dI/dt / F^2 [ F (r1 x m) - (m . grad F) (r1 x r2) ]

It depends on the geometry only: not on the conductivity, the layer structure, or the sphere
radius (which just says where the conductor ends). Consequences used in the tests: E . r1 = 0
(no radial component) and E is linear in dI/dt.

Vectorisation: summing over dipoles j gives E_i = -(mu0/4pi) dI/dt r1_i x G_i with
G_i = sum_j m_j / F_ij - c_ij r2_j, c_ij = (m_j . grad F_ij) / F_ij^2, and
m_j . grad F_ij = alpha_ij (m_j . r2_j) - beta_ij (m_j . r1_i). Only scalar (N, M) arrays and
three small matrix products are needed, processed in chunks to bound memory.
The kernel works in metres relative to the sphere centre; millimetres are converted at its edge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.transforms import Frame, Transform

from .coil_dipoles import DEFAULT_RINGS, DEFAULT_SECTORS, CoilWindings, figure8_dipoles
from .sphere_fit import SphereFit, fit_sphere_near

__all__ = [
    "MU0_OVER_4PI", "DEFAULT_REGION_RADIUS_MM", "DEFAULT_SPHERE_MARGIN_MM",
    "DEFAULT_DIDT_AT_100_PERCENT_A_PER_S", "EfieldResult", "efield_sphere", "field_under_centre",
    "simulate", "didt_from_output", "intensity_for_target", "stokes_adjusted_intensity",
]

MU0_OVER_4PI = 1e-7            # T m / A (the 2019 SI value differs by 5e-10 relative)
MM_TO_M = 1e-3
DEFAULT_REGION_RADIUS_MM = 100.0   # the wings reach ~88 mm from the centre; beyond: < ~16 % of peak
DEFAULT_SPHERE_MARGIN_MM = 0.5     # points closer than this to the sphere surface are not evaluated
# Peak dI/dt at 100 % MSO: APPROXIMATE. It depends on stimulator, coil and waveform (roughly
# 70-170 A/us for common stimulators with a 70 mm figure-8; Drakaki et al. 2022, Brain Stimul
# 15(3), Table 2, lists measured values per coil/stimulator). Enter the device's value when it
# is known (many stimulators display it after a pulse).
DEFAULT_DIDT_AT_100_PERCENT_A_PER_S = 100e6
_CHUNK_PAIRS = 1 << 15             # (points x dipoles) per chunk: L2-sized, measured fastest


def _as_xyz(values: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1 and arr.shape == (3,):
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise NavigationError(f"{what} must be an (N, 3) array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise NavigationError(f"{what} contains NaN or infinite values")
    return arr


def _kernel_chunk(r1: np.ndarray, r2: np.ndarray, m: np.ndarray, r2_norm: np.ndarray,
                  r2_sq: np.ndarray, m_dot_r2: np.ndarray) -> np.ndarray:
    """G (N, 3) for one chunk of points (metres, centred); in-place ops keep temporaries few."""
    dot = r1 @ r2.T                                   # r1 . r2   (N, M)
    a_sq = (r1 * r1).sum(axis=1)[:, None] + r2_sq
    a_sq -= 2.0 * dot
    np.maximum(a_sq, 0.0, out=a_sq)
    s = r2_sq - dot                                   # r2 . (r2 - r1)
    a = np.sqrt(a_sq)
    inv_f = r2_norm * a
    inv_f += s
    inv_f *= a                                        # F
    np.reciprocal(inv_f, out=inv_f)
    beta = s / a
    beta += a
    beta += 2.0 * r2_norm                             # a + 2 R2 + s/a
    alpha = a_sq / r2_norm
    alpha += a
    alpha += beta                                     # a^2/R2 + 2a + 2R2 + s/a
    alpha *= m_dot_r2
    beta *= r1 @ m.T
    alpha -= beta                                     # m . grad F
    alpha *= inv_f
    alpha *= inv_f                                    # c = (m . grad F) / F^2
    return inv_f @ m - alpha @ r2


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise u x v for (N, 3) arrays (np.cross has a large per-call overhead)."""
    out = np.empty(np.broadcast_shapes(u.shape, v.shape), dtype=np.result_type(u, v))
    out[:, 0] = u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1]
    out[:, 1] = u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2]
    out[:, 2] = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    return out


def efield_sphere(points_mm: np.ndarray, dipole_positions_mm: np.ndarray,
                  dipole_moments_A_m2_per_A: np.ndarray, sphere_centre_mm: np.ndarray,
                  didt_A_per_s: float, *, dtype: type = np.float64) -> np.ndarray:
    """E (N, 3) in V/m at ``points_mm`` (N, 3) for coil dipoles and a rate of change of current.

    All positions in one frame (mm); moments in A m^2 per ampere. Every field point must be
    closer to the sphere centre than every dipole (points in the head, coil outside it).
    ``dtype=np.float32`` is ~4x faster with ~1e-6 relative error (benchmarks/efield.py).
    """
    p = _as_xyz(points_mm, "field points")
    pos = _as_xyz(dipole_positions_mm, "dipole positions")
    mom = _as_xyz(dipole_moments_A_m2_per_A, "dipole moments")
    centre = _as_xyz(sphere_centre_mm, "sphere centre")
    if len(pos) != len(mom) or len(pos) == 0 or len(centre) != 1:
        raise NavigationError(f"need one moment per dipole and one sphere centre, got {len(pos)} "
                              f"positions, {len(mom)} moments, {len(centre)} centres")
    if not np.isfinite(didt_A_per_s):
        raise NavigationError(f"dI/dt must be a finite number of A/s, got {didt_A_per_s}")
    if len(p) == 0:
        return np.zeros((0, 3))
    r1_all = ((p - centre) * MM_TO_M).astype(dtype)
    r2 = ((pos - centre) * MM_TO_M).astype(dtype)
    m: np.ndarray = mom.astype(dtype)
    r2_sq = np.einsum("ij,ij->i", r2, r2)
    if float(np.sqrt(np.einsum("ij,ij->i", r1_all, r1_all).max())) >= float(np.sqrt(r2_sq.min())):
        raise NavigationError("every field point must be closer to the sphere centre than every coil "
                              "dipole (points inside the head, coil outside it)")
    r2_norm = np.sqrt(r2_sq)
    m_dot_r2 = np.einsum("ij,ij->i", m, r2)
    rows = max(1, _CHUNK_PAIRS // len(r2))
    g = np.empty_like(r1_all)
    for start in range(0, len(r1_all), rows):
        g[start:start + rows] = _kernel_chunk(r1_all[start:start + rows], r2, m, r2_norm, r2_sq, m_dot_r2)
    out = _cross(r1_all, g).astype(np.float64)
    out *= -MU0_OVER_4PI * float(didt_A_per_s)
    return out


def field_under_centre(windings: CoilWindings, depths_mm: np.ndarray, *, sphere_radius_mm: float = 85.0,
                       didt_A_per_s: float = 1e6, n_rings: int = DEFAULT_RINGS,
                       n_sectors: int = DEFAULT_SECTORS) -> np.ndarray:
    """|E| (V/m) on the coil axis at ``depths_mm`` below the scalp, coil face touching the scalp."""
    depths = np.atleast_1d(np.asarray(depths_mm, dtype=float))
    if np.any(depths <= 0.0) or np.any(depths >= sphere_radius_mm):
        raise NavigationError(f"depths must be inside the head: 0 < depth < {sphere_radius_mm} mm")
    dipoles = figure8_dipoles(windings, n_rings, n_sectors)
    # hotspot frame: coil face at the origin, head below +z, sphere centre on the +z axis
    centre = np.array([0.0, 0.0, sphere_radius_mm])
    points = np.column_stack([np.zeros_like(depths), np.zeros_like(depths), depths])
    e = efield_sphere(points, dipoles.positions_mm, dipoles.moments_A_m2_per_A, centre, didt_A_per_s)
    return np.linalg.norm(e, axis=1)


@dataclass(frozen=True)
class EfieldResult:
    """Field on the cortex points for one coil pose (V/m at ``didt_A_per_s``).

    Arrays are per cortex point; points that were not evaluated (beyond ``region_radius_mm`` of the
    coil centre, or outside the head sphere) hold NaN and are flagged.
    """

    vectors_V_per_m: np.ndarray = field(repr=False)
    magnitude_V_per_m: np.ndarray = field(repr=False)
    evaluated: np.ndarray = field(repr=False)
    beyond_region: np.ndarray = field(repr=False)
    outside_sphere: np.ndarray = field(repr=False)
    didt_A_per_s: float
    sphere: SphereFit
    dipole_count: int
    region_radius_mm: float
    peak_V_per_m: float
    peak_point_mm: np.ndarray | None = field(repr=False)
    half_value_area_mm2: float | None
    target_point_mm: np.ndarray | None = field(repr=False)
    target_vector_V_per_m: np.ndarray | None = field(repr=False)
    target_V_per_m: float | None
    target_depth_mm: float | None          # along the coil axis below the coil face
    target_lateral_offset_mm: float | None  # distance of the target from the coil axis
    elapsed_ms: float
    warnings: tuple[str, ...] = ()


def _area_of_vertices(points: np.ndarray, faces: np.ndarray, selected: np.ndarray) -> float:
    """Mesh area attributed to the selected vertices (each triangle gives 1/3 to each corner)."""
    f = np.asarray(faces)
    if f.ndim != 2 or f.shape[1] != 3 or not np.issubdtype(f.dtype, np.integer):
        raise NavigationError(f"cortex faces must be an (M, 3) integer array, got {f.shape} {f.dtype}")
    if f.size and (f.min() < 0 or f.max() >= len(points)):
        raise NavigationError("cortex faces index vertices that do not exist")
    corner_selected = selected[f]
    touching = corner_selected.any(axis=1)            # only these triangles contribute
    tri = points[f[touching]]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    return float((area * corner_selected[touching].sum(axis=1)).sum() / 3.0)


def _hotspot_pose(mri_from_hotspot: Transform) -> Transform:
    if not isinstance(mri_from_hotspot, Transform):
        raise NavigationError("the coil pose must be a Transform mri_from_hotspot")
    allowed = (Frame.HOTSPOT, Frame.TARGET)
    if mri_from_hotspot.to_frame != Frame.MRI or mri_from_hotspot.from_frame not in allowed:
        raise NavigationError(f"the coil pose must map hotspot (or a planned target pose) to mri, "
                              f"got {mri_from_hotspot.name}")
    if not mri_from_hotspot.is_rigid:
        raise NavigationError(f"the coil pose {mri_from_hotspot.name} is not rigid")
    return Transform(Frame.MRI, Frame.HOTSPOT, mri_from_hotspot.matrix)


def simulate(mri_from_hotspot: Transform, cortex_points_mm: np.ndarray, head: SphereFit | np.ndarray,
             windings: CoilWindings, *, didt_A_per_s: float | None = None,
             stimulator_output_percent: float | None = None,
             didt_at_100_percent_A_per_s: float = DEFAULT_DIDT_AT_100_PERCENT_A_PER_S,
             target_point_mm: np.ndarray | None = None, cortex_faces: np.ndarray | None = None,
             region_radius_mm: float = DEFAULT_REGION_RADIUS_MM,
             sphere_margin_mm: float = DEFAULT_SPHERE_MARGIN_MM, n_rings: int = DEFAULT_RINGS,
             n_sectors: int = DEFAULT_SECTORS, dtype: type = np.float32) -> EfieldResult:
    """Field on a cortex mesh (MRI frame, mm) for a coil at ``mri_from_hotspot``.

    ``head`` is a fitted :class:`SphereFit` or the scalp points (N, 3), from which a sphere is
    fitted within 50 mm of the coil centre. Give either ``didt_A_per_s`` or
    ``stimulator_output_percent`` (scaled by the approximate ``didt_at_100_percent_A_per_s``).
    Only points within ``region_radius_mm`` of the coil centre and at least ``sphere_margin_mm``
    inside the sphere are evaluated; the target point is always evaluated in float64.
    """
    start = time.perf_counter()
    pose = _hotspot_pose(mri_from_hotspot)
    didt = _resolve_didt(didt_A_per_s, stimulator_output_percent, didt_at_100_percent_A_per_s)
    points = _as_xyz(cortex_points_mm, "cortex points")
    if not 10.0 <= region_radius_mm <= 500.0:
        raise NavigationError(f"evaluation region radius must be 10-500 mm, got {region_radius_mm}")
    coil_centre = pose.translation
    sphere = head if isinstance(head, SphereFit) else fit_sphere_near(head, coil_centre)
    dipoles = figure8_dipoles(windings, n_rings, n_sectors).transformed(pose)
    dipole_radius = np.linalg.norm(dipoles.positions_mm - sphere.centre_mm, axis=1)
    if dipole_radius.min() <= sphere.radius_mm:
        raise NavigationError(
            f"the coil windings reach {sphere.radius_mm - dipole_radius.min():.1f} mm into the head "
            f"sphere (radius {sphere.radius_mm:.1f} mm); check the coil pose (tilt, depth) and the scalp")

    warnings: list[str] = []
    radius = np.linalg.norm(points - sphere.centre_mm, axis=1)
    beyond = np.linalg.norm(points - coil_centre, axis=1) > region_radius_mm
    outside = radius > sphere.radius_mm - sphere_margin_mm
    evaluated = ~beyond & ~outside
    n_out = int(np.count_nonzero(outside & ~beyond))
    if n_out:
        warnings.append(f"{n_out} cortex points within {region_radius_mm:.0f} mm of the coil lie outside "
                        "the head sphere fitted under the coil and were not evaluated")
    vectors = np.full((len(points), 3), np.nan)
    vectors[evaluated] = efield_sphere(points[evaluated], dipoles.positions_mm, dipoles.moments_A_m2_per_A,
                                       sphere.centre_mm, didt, dtype=dtype)
    magnitude = np.linalg.norm(vectors, axis=1)

    peak, peak_point, half_area = float("nan"), None, None
    if np.any(evaluated):
        i_peak = int(np.nanargmax(magnitude))
        peak, peak_point = float(magnitude[i_peak]), points[i_peak].copy()
        if cortex_faces is not None:
            strong = evaluated & (magnitude >= 0.5 * peak)
            half_area = _area_of_vertices(points, cortex_faces, strong)
    else:
        warnings.append("no cortex point was evaluated: is the coil near the head?")

    t_point = t_vec = t_mag = t_depth = t_lat = None
    if target_point_mm is not None:
        t_point = _as_xyz(target_point_mm, "target point")[0]
        in_hotspot = pose.inverse().apply(t_point)
        t_depth, t_lat = float(in_hotspot[2]), float(np.hypot(in_hotspot[0], in_hotspot[1]))
        if np.linalg.norm(t_point - sphere.centre_mm) > sphere.radius_mm - sphere_margin_mm:
            warnings.append("the target lies outside the head sphere fitted under the coil; "
                            "no field value for it (is the coil over the target?)")
            t_vec, t_mag = np.full(3, np.nan), float("nan")
        else:
            t_vec = efield_sphere(t_point, dipoles.positions_mm, dipoles.moments_A_m2_per_A,
                                  sphere.centre_mm, didt)[0]
            t_mag = float(np.linalg.norm(t_vec))
    return EfieldResult(
        vectors_V_per_m=vectors, magnitude_V_per_m=magnitude, evaluated=evaluated, beyond_region=beyond,
        outside_sphere=outside, didt_A_per_s=didt, sphere=sphere, dipole_count=dipoles.count,
        region_radius_mm=float(region_radius_mm), peak_V_per_m=peak, peak_point_mm=peak_point,
        half_value_area_mm2=half_area, target_point_mm=t_point, target_vector_V_per_m=t_vec,
        target_V_per_m=t_mag, target_depth_mm=t_depth, target_lateral_offset_mm=t_lat,
        elapsed_ms=(time.perf_counter() - start) * 1e3, warnings=tuple(warnings))


# ----- dosing --------------------------------------------------------------------------------
def didt_from_output(stimulator_output_percent: float,
                     didt_at_100_percent_A_per_s: float = DEFAULT_DIDT_AT_100_PERCENT_A_PER_S) -> float:
    """dI/dt (A/s) at a stimulator output in % MSO; dI/dt scales ~linearly with output."""
    if not (np.isfinite(stimulator_output_percent) and 0.0 < stimulator_output_percent <= 100.0):
        raise NavigationError(f"stimulator output must be 0-100 % MSO, got {stimulator_output_percent}")
    if not (np.isfinite(didt_at_100_percent_A_per_s) and 1e6 <= didt_at_100_percent_A_per_s <= 1e9):
        raise NavigationError("dI/dt at 100 % MSO must be 1-1000 A/us (given in A/s), "
                              f"got {didt_at_100_percent_A_per_s}")
    return float(stimulator_output_percent) / 100.0 * float(didt_at_100_percent_A_per_s)


def _resolve_didt(didt_A_per_s: float | None, stimulator_output_percent: float | None,
                  didt_at_100_percent_A_per_s: float) -> float:
    if (didt_A_per_s is None) == (stimulator_output_percent is None):
        raise NavigationError("give either dI/dt (A/s) or the stimulator output (% MSO), not both or neither")
    if didt_A_per_s is not None:
        if not (np.isfinite(didt_A_per_s) and didt_A_per_s > 0):
            raise NavigationError(f"dI/dt must be a positive number of A/s, got {didt_A_per_s}")
        return float(didt_A_per_s)
    assert stimulator_output_percent is not None  # exactly one of the two, checked above
    return didt_from_output(float(stimulator_output_percent), didt_at_100_percent_A_per_s)


def intensity_for_target(motor_threshold_percent: float, e_at_motor_site_V_per_m: float,
                         e_at_target_V_per_m: float) -> float:
    """% MSO giving the target the field the motor site gets at motor threshold.

    intensity = MT x E_MT_site / E_target (both fields at the same dI/dt). The ratio cancels the
    unknown dI/dt calibration; it is a depth/geometry correction in the spirit of Stokes et al.
    2005 (J Neurophysiol 94:4520), not a validated dose. Values above 100 % cannot be delivered.
    """
    values = (motor_threshold_percent, e_at_motor_site_V_per_m, e_at_target_V_per_m)
    if not all(np.isfinite(v) for v in values):
        raise NavigationError("motor threshold and both field values must be finite numbers")
    if not 0.0 < motor_threshold_percent <= 100.0:
        raise NavigationError(f"motor threshold must be 0-100 % MSO, got {motor_threshold_percent}")
    if e_at_motor_site_V_per_m <= 0.0 or e_at_target_V_per_m <= 0.0:
        raise NavigationError("the field at the motor site and at the target must both be positive")
    return float(motor_threshold_percent * e_at_motor_site_V_per_m / e_at_target_V_per_m)


def stokes_adjusted_intensity(motor_threshold_percent: float, motor_site_depth_mm: float,
                              target_depth_mm: float, slope_percent_per_mm: float = 2.8) -> float:
    """MT + slope x (target depth - motor-site depth), scalp-to-cortex depths in mm.

    Stokes et al. 2005 (J Neurophysiol 94:4520) found ~2.8 % MSO per mm of scalp-cortex distance
    (Magstim 200, 70 mm figure-8); Stokes et al. 2007 (Clin Neurophysiol 118:1617) ~3 %/mm.
    """
    values = (motor_threshold_percent, motor_site_depth_mm, target_depth_mm, slope_percent_per_mm)
    if not all(np.isfinite(v) for v in values):
        raise NavigationError("motor threshold, depths and slope must be finite numbers")
    if not 0.0 < motor_threshold_percent <= 100.0:
        raise NavigationError(f"motor threshold must be 0-100 % MSO, got {motor_threshold_percent}")
    if not (0.0 <= motor_site_depth_mm <= 60.0 and 0.0 <= target_depth_mm <= 60.0):
        raise NavigationError("scalp-to-cortex depths must be 0-60 mm")
    return float(motor_threshold_percent + slope_percent_per_mm * (target_depth_mm - motor_site_depth_mm))
