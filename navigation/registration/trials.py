"""Registration phantom with known truth: an analytic bumpy head and simulated recordings.

Used by the tests and ``benchmarks/registration.py`` to measure what the technician's workflow
achieves at a DLPFC-like target when every input error is known:

* the head is an ellipsoid (semi-axes 75 × 95 × 90 mm, x × y × z in RAS) with smooth bumps of a
  few millimetres, so no direction is free for ICP to slide along (a real scalp is not a sphere);
  every mesh vertex lies exactly on the analytic surface;
* fiducials (nasion, LPA, RPA) sit on that surface; the touched ones carry a localisation error
  of a random direction and a magnitude drawn uniformly in ``fle_range_mm`` plus Gaussian tracker
  noise; scalp points are drawn over the upper head (forehead, vertex, sides, back) with noise;
* the patient pose (``reference_from_mri``) is a uniformly random rotation and a translation of
  up to 200 mm per axis.

:func:`simulate_session` plays whole sessions on a *different* head (the image phantom of
``tmsnav.navigation.phantom``, contoured like an MRI) under the mistakes people make: hair, points
lifted off the skin, an MRI off in scale, LPA and RPA swapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..phantom import PhantomHead
from ..transforms import Frame, Transform
from .fiducials import register_fiducials
from .icp import IcpOptions, refine_with_surface
from .surface_index import SurfaceIndex

__all__ = ["AnalyticHead", "TrialOutcome", "run_trial", "simulate_pivot_poses", "CONDITIONS",
           "SessionHead", "Session", "phantom_session_head", "simulate_session"]

SEMI_AXES_MM = np.array([75.0, 95.0, 90.0])
FIDUCIAL_DIRECTIONS = {"nasion": (0.0, 1.0, -0.05), "lpa": (-1.0, -0.08, -0.12),
                       "rpa": (1.0, -0.08, -0.12)}
DLPFC_DIRECTION = (-0.5, 0.6, 0.62)     # left, anterior, superior: over the left DLPFC
DLPFC_DEPTH_MM = 17.0


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


class AnalyticHead:
    """``r(u) = ellipsoid radius(u) · (1 + bumps(u))`` along unit directions ``u`` (mm)."""

    def radius(self, directions: np.ndarray) -> np.ndarray:
        u = _unit(directions)
        ell = 1.0 / np.sqrt(np.sum((u / SEMI_AXES_MM) ** 2, axis=-1))
        x, y, z = u[..., 0], u[..., 1], u[..., 2]
        bumps = (0.025 * np.sin(3.0 * x + 1.0) * np.cos(2.0 * y) + 0.02 * np.sin(4.0 * y - 2.0 * z)
                 + 0.015 * np.cos(5.0 * z + 2.0 * x))
        return ell * (1.0 + bumps)

    def surface_point(self, directions: np.ndarray) -> np.ndarray:
        u = _unit(directions)
        return u * self.radius(u)[..., None]

    def mesh_arrays(self, n_vertices: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
        """Vertices on the analytic surface + triangles: a UV sphere (poles on ±x, the ears)
        with about ``n_vertices`` vertices, deformed radially."""
        import pyvista as pv   # data only, no rendering

        phi = max(8, int(round(np.sqrt(n_vertices / 2.0))))
        sphere = pv.Sphere(radius=1.0, direction=(1.0, 0.0, 0.0), theta_resolution=2 * phi,
                           phi_resolution=phi + 2)
        sphere = sphere.clean()
        u = _unit(np.asarray(sphere.points, dtype=float))
        return self.surface_point(u), np.asarray(sphere.regular_faces)

    def fiducials_mri(self) -> dict[str, np.ndarray]:
        return {k: self.surface_point(np.array(v)) for k, v in FIDUCIAL_DIRECTIONS.items()}

    def dlpfc_target_mri(self) -> np.ndarray:
        """A point ``DLPFC_DEPTH_MM`` under the scalp, radially, over the left frontal area."""
        u = _unit(np.array(DLPFC_DIRECTION))
        return self.surface_point(u) - DLPFC_DEPTH_MM * u

    def sample_scalp(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points spread over the upper head (elevation above the fiducial plane), mri."""
        out: list[np.ndarray] = []
        while sum(len(o) for o in out) < n:
            u = _unit(rng.normal(size=(4 * n, 3)))
            out.append(u[u[:, 2] > 0.15])
        return self.surface_point(np.concatenate(out)[:n])


@dataclass(frozen=True)
class TrialOutcome:
    fiducial_error_mm: float        # |error| at the target, fiducial-only registration
    icp_error_mm: float             # |error| at the target after ICP
    fre_rms_mm: float
    icp_rms_mm: float
    icp_ok: bool
    icp_iterations: int


def _random_pose(rng: np.random.Generator) -> Transform:
    rot = Rotation.random(random_state=rng)
    return Transform.from_rotation(rot, rng.uniform(-200.0, 200.0, 3),
                                   to_frame=Frame.REFERENCE, from_frame=Frame.MRI)


def run_trial(head: AnalyticHead, surface: SurfaceIndex, rng: np.random.Generator, *,
              fle_range_mm: tuple[float, float] = (2.0, 3.0), tracker_noise_mm: float = 0.25,
              n_scalp: int = 300, scalp_noise_mm: float = 0.25,
              options: IcpOptions | None = None) -> TrialOutcome:
    """One seeded phantom registration; errors are measured at the DLPFC target (mm).

    Noise figures are per-axis Gaussian standard deviations; the fiducial localisation error has
    a uniformly random direction and a magnitude uniform in ``fle_range_mm``.
    """
    reference_from_mri = _random_pose(rng)
    fid_mri = head.fiducials_mri()
    touched = {}
    for name, p in fid_mri.items():
        err = _unit(rng.normal(size=3)) * rng.uniform(*fle_range_mm)
        touched[name] = (reference_from_mri.apply(p + err)
                         + rng.normal(scale=tracker_noise_mm, size=3))
    scalp_ref = (reference_from_mri.apply(head.sample_scalp(n_scalp, rng))
                 + rng.normal(scale=scalp_noise_mm, size=(n_scalp, 3)))
    fid = register_fiducials(fid_mri, touched)
    icp = refine_with_surface(scalp_ref, surface, fid.mri_from_reference,
                              fiducials_reference=fid.reference_mm, fiducials_mri=fid.mri_mm,
                              options=options)
    target = head.dlpfc_target_mri()
    target_ref = reference_from_mri.apply(target)
    return TrialOutcome(
        fiducial_error_mm=float(np.linalg.norm(fid.mri_from_reference.apply(target_ref) - target)),
        icp_error_mm=float(np.linalg.norm(icp.mri_from_reference.apply(target_ref) - target)),
        fre_rms_mm=fid.fre_rms_mm, icp_rms_mm=icp.rms_mm, icp_ok=icp.ok,
        icp_iterations=icp.iterations)


def simulate_pivot_poses(tip_offset_mm: np.ndarray, pivot_tracker_mm: np.ndarray, n: int,
                         cone_half_angle_rad: float, noise_mm: float,
                         rng: np.random.Generator) -> np.ndarray:
    """``tracker_from_pointer`` poses (n, 4, 4) of a pointer pivoting about its tip.

    The pointer axis tilts up to ``cone_half_angle_rad`` from vertical in random directions and
    spins freely about itself; Gaussian noise (per axis) is added to the marker position.
    """
    tilt_axis = _unit(np.column_stack([rng.normal(size=(n, 2)), np.zeros(n)]))
    tilt = rng.uniform(0.3, 1.0, n) * cone_half_angle_rad
    rot = (Rotation.from_rotvec(tilt_axis * tilt[:, None])
           * Rotation.from_rotvec(np.outer(rng.uniform(-np.pi, np.pi, n), [0.0, 0.0, 1.0]))
           ).as_matrix()
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, :3, :3] = rot
    poses[:, :3, 3] = (np.asarray(pivot_tracker_mm) - rot @ np.asarray(tip_offset_mm)
                       + rng.normal(scale=noise_mm, size=(n, 3)))
    return poses


# --- simulated technician sessions with the mistakes people make ------------------------------

#: conditions of :func:`simulate_session` (benchmark and tests)
CONDITIONS = ("clean", "hair_outliers", "lifted_1_5mm", "scale_2pct", "swapped_lpa_rpa")
HAIR_FRACTION = 0.05
HAIR_LIFT_MM = (2.0, 10.0)
LIFT_MM = 1.5
SCALE_ERROR = 0.02


@dataclass(frozen=True, eq=False)
class SessionHead:
    """A phantom head (``tmsnav.navigation.phantom``) prepared for registration trials: its scalp mesh
    contoured at the image's half-intensity level (within a small fraction of a voxel of the
    analytic scalp, so "clean" is clean), fiducials and a DLPFC-like target."""

    phantom: PhantomHead
    scalp_mesh: object               # pyvista.PolyData, mri mm
    fiducials_mri: dict
    target_mri: np.ndarray
    description: str


def phantom_session_head(voxel_mm: float = 1.5, orientation: str = "LPI", seed: int = 7,
                         semi_axes_mm: tuple = (72.0, 98.0, 88.0),
                         rotation_deg: tuple = (8.0, -5.0, 12.0),
                         target_depth_mm: float = 17.0) -> SessionHead:
    """A head unlike the sample head and the analytic head the defaults were tuned on:
    nested ellipsoids with nose and ears, stored obliquely in ``orientation`` order."""
    import pyvista as pv

    from ..phantom import make_phantom_head

    ph = make_phantom_head(voxel_mm, orientation, seed=seed, semi_axes_mm=semi_axes_mm,
                           rotation_deg=rotation_deg)
    vol = ph.volume
    img = pv.ImageData(dimensions=vol.shape)
    img.point_data["v"] = np.asarray(vol.data, np.float32).ravel(order="F")
    mesh = img.contour([ph.scalp_threshold], scalars="v").triangulate().clean()
    affine = vol.mri_from_voxel.matrix
    mesh.points = np.asarray(mesh.points) @ affine[:3, :3].T + affine[:3, 3]
    point, normal = ph.scalp_point(np.array(DLPFC_DIRECTION))
    target = point - target_depth_mm * normal
    return SessionHead(ph, mesh, {"nasion": ph.nasion.copy(), "lpa": ph.lpa.copy(),
                                  "rpa": ph.rpa.copy()}, target,
                       f"phantom head (tmsnav.navigation.phantom): scalp semi-axes "
                       f"{' x '.join(f'{a:g}' for a in semi_axes_mm)} mm, nose and ears, "
                       f"{voxel_mm:g} mm voxels stored {orientation} rotated "
                       f"{tuple(rotation_deg)} deg; target {target_depth_mm:g} mm under the "
                       "left frontal scalp")


@dataclass(frozen=True, eq=False)
class Session:
    """One simulated registration session and its hidden truth."""

    condition: str
    mri_fiducials: dict
    touched: dict                    # name -> reference mm
    points_reference: np.ndarray     # (N, 3) scalp samples, reference mm
    target_mri: np.ndarray
    target_reference: np.ndarray     # where the target really is (reference mm)

    def error_mm(self, mri_from_reference: Transform) -> float:
        """Distance between the planned target and where the registration puts it."""
        return float(np.linalg.norm(mri_from_reference.apply(self.target_reference)
                                    - self.target_mri))


def simulate_session(head: SessionHead, condition: str, rng: np.random.Generator, *,
                     n_points: int = 300, fle_range_mm: tuple[float, float] = (2.0, 3.0),
                     tracker_noise_mm: float = 0.25, point_noise_mm: float = 0.25) -> Session:
    """A technician's session on ``head`` under ``condition`` (see ``CONDITIONS``).

    * clean: fiducials with a 2-3 mm localisation error of random direction + tracker noise;
      scalp points on the skin with 0.25 mm noise per axis;
    * hair_outliers: 5 % of the points lifted 2-10 mm off the skin (hair);
    * lifted_1_5mm: every scalp point 1.5 mm outside the skin (a cap, thick hair; or the MRI
      skin segmented 1.5 mm deep); the fiducials are on bare skin;
    * scale_2pct: the real head is 2 % larger than its MRI (about the scanner origin);
    * swapped_lpa_rpa: LPA and RPA touched in swapped order.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    reference_from_mri = _random_pose(rng)
    scale = 1.0 + SCALE_ERROR if condition == "scale_2pct" else 1.0
    touched = {}
    for name, p in head.fiducials_mri.items():
        err = _unit(rng.normal(size=3)) * rng.uniform(*fle_range_mm)
        touched[name] = (reference_from_mri.apply(scale * p + err)
                         + rng.normal(scale=tracker_noise_mm, size=3))
    if condition == "swapped_lpa_rpa":
        touched["lpa"], touched["rpa"] = touched["rpa"], touched["lpa"]
    pts, normals = head.phantom.sample_scalp_points(n_points, rng)
    if condition == "lifted_1_5mm":
        pts = pts + LIFT_MM * normals
    elif condition == "hair_outliers":
        hair = rng.random(n_points) < HAIR_FRACTION
        pts[hair] += rng.uniform(*HAIR_LIFT_MM, int(hair.sum()))[:, None] * normals[hair]
    points = (reference_from_mri.apply(scale * pts)
              + rng.normal(scale=point_noise_mm, size=(n_points, 3)))
    return Session(condition, dict(head.fiducials_mri), touched, points, head.target_mri.copy(),
                   reference_from_mri.apply(scale * head.target_mri))
