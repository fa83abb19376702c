"""12-parameter affine registration of a patient T1 to the MNI152 template (offline).

Template: ICBM 2009a nonlinear symmetric T1 (Fonov et al. 2011, NeuroImage 54:313), the 1 mm
file shipped inside the installed ``nilearn`` wheel, block-averaged to 2 mm. It is skull-stripped
and a patient T1 is not; fitting the one to the other by intensity is ill-posed: on the bundled
head the fit inflates the brain onto the skull (scale 1.07-1.14), and the "masked refinement"
remedy (multiply the head by the template brain mask brought in with the current estimate, eroded)
has no fixed point: each round shrinks the brain by ~4 % (0.995 -> 0.957 -> 0.92 in x on rounds
2-4 with dipy), so the answer is set by the number of rounds. Hence two paths:

1. *Direct* (always; final for skull-stripped images): translation search on a 12 mm grid, then
   rigid, affine, and a finer affine fit of the template to the image.
2. *Via the sample head* (images with scalp, detected as tissue 4-14 mm outside the fitted brain):
   an affine fit of the bundled sample head (skull on, same kind of image: a well-posed MI problem)
   to the image, started from the direct result, composed with the sample head's stored
   ``mri_from_mni`` (made once from its scalp, see ``assets/sample_head/README.md``).

Similarity: Mattes-style mutual information (Mattes et al. 2003, IEEE TMI 22:120; derivative of
Thevenaz & Unser 2000, IEEE TIP 9:2083): 32x32 joint histogram, template intensities binned
hard, patient intensities with a cubic B-spline Parzen window, evaluated on a fixed seeded random
sample of template voxels (brain + 6 mm band), with its analytic gradient and L-BFGS-B.
Parameters: translation (mm), rotation vector, log-scales and shears, the last three multiplied by
80 mm so one unit moves the brain surface by about 1 mm.

Conventions: ``mri_from_mni`` maps MNI152 RAS mm straight to patient mri mm (so a target in MNI
goes through it directly); images are resampled with its inverse.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.spatialimages import SpatialImage
from scipy import ndimage as ndi
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from ..errors import NavigationError
from ..progress import CancelToken, ProgressCallback, report
from ..transforms import Frame, Transform

__all__ = ["MniRegistration", "MniRegistrationError", "register_to_mni", "cached_register_to_mni",
           "mni_template_path", "load_mni_template", "REGISTRATION_VERSION"]

REGISTRATION_VERSION = "1"
NBINS = 32
LEVER_MM = 80.0
METHOD_DIRECT = ("12-parameter affine, Mattes mutual information (32 bins) of the ICBM152 2009a sym T1 "
                 "(nilearn, 2 mm) to the image: translation search, rigid, affine")
METHOD_HEAD = (METHOD_DIRECT + "; image has skull and scalp: then affine MI fit of the bundled sample "
               "head (skull on) to the image, composed with the sample head's stored mri_from_mni")
_DIRECT_STAGES = (  # (name, free parameters, smoothing sigma mm, MI samples, max iterations)
    ("rigid", 6, 4.0, 12_000, 60),
    ("affine", 12, 3.0, 20_000, 60),
    ("affine (fine)", 12, 1.5, 30_000, 40),
)
_HEAD_STAGES = (
    ("head-to-head affine", 12, 4.0, 20_000, 60),
    ("head-to-head affine (fine)", 12, 2.0, 40_000, 40),
)


class MniRegistrationError(NavigationError):
    """The patient image could not be registered to MNI space."""


@dataclass(frozen=True)
class MniRegistration:
    """Result of :func:`register_to_mni`; ``mri_from_mni`` is Frame.MRI <- Frame.MNI."""

    mri_from_mni: Transform
    similarity: float
    seconds: float
    method: str
    from_cache: bool = False

    def to_dict(self) -> dict:
        return {"mri_from_mni": self.mri_from_mni.to_dict(), "similarity": self.similarity,
                "seconds": self.seconds, "method": self.method, "version": REGISTRATION_VERSION}

    @classmethod
    def from_dict(cls, record: dict, *, from_cache: bool = False) -> "MniRegistration":
        t = Transform.from_dict(record["mri_from_mni"])
        if (t.to_frame, t.from_frame) != (Frame.MRI, Frame.MNI):
            raise MniRegistrationError(f"expected mri_from_mni, got {t.name}")
        return cls(t, float(record["similarity"]), float(record["seconds"]), str(record["method"]),
                   from_cache)


# ----- template ---------------------------------------------------------------------------------
def mni_template_path(kind: str = "t1") -> Path:
    """Path of nilearn's ICBM152 2009a file: kind = "t1", "gm" or "wm" (no download)."""
    if kind not in ("t1", "gm", "wm"):
        raise ValueError(f"kind must be t1, gm or wm, got {kind!r}")
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise MniRegistrationError("the MNI152 template comes with nilearn, which is not installed")
    name = f"mni_icbm152_{kind}_tal_nlin_sym_09a_converted.nii.gz"
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / name
    if not path.is_file():
        raise MniRegistrationError(f"nilearn's MNI152 file is missing: {path}")
    return path


def _load_spatial(path: Path) -> SpatialImage:
    """``nib.load`` typed as the voxel image it must be: ``nib.load`` is declared to return any
    file-based image (GIfTI, CIFTI, ...), which have no ``affine`` or ``dataobj``."""
    image = nib.load(str(path))
    if not isinstance(image, SpatialImage):
        raise MniRegistrationError(f"{path.name} is a {type(image).__name__}, not a voxel image")
    return image


def load_mni_template(kind: str = "t1") -> tuple[np.ndarray, np.ndarray]:
    """``(data float32, mni_from_voxel 4x4)`` of a 1 mm ICBM152 2009a sym image.

    "gm" and "wm" are tissue *probabilities in 0..1*: nilearn ships them rescaled to 0..255
    (uint8-like), and contouring them at "0.5" on that scale meant probability 0.002, a brain
    ~25 % too large. Dividing here means no caller can repeat that. "t1" keeps its intensities.
    """
    image = _load_spatial(mni_template_path(kind))
    data = np.asarray(image.dataobj, dtype=np.float32)
    if kind in ("gm", "wm"):
        top = float(data.max())
        if top > 1.0 + 1e-3:     # stored 0..255 (nilearn) or as per cent: bring to 0..1
            data = data / (255.0 if top > 100.0 + 1e-3 else 100.0)
    return data, np.asarray(image.affine, dtype=float)


def _block_average(data: np.ndarray, affine: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ``factors`` voxels per axis; the affine follows the block centres exactly."""
    f = [int(x) for x in factors]
    shape = [n // k * k for n, k in zip(data.shape, f)]
    cropped = np.asarray(data[:shape[0], :shape[1], :shape[2]], dtype=np.float32)
    small = cropped.reshape(shape[0] // f[0], f[0], shape[1] // f[1], f[1],
                            shape[2] // f[2], f[2]).mean(axis=(1, 3, 5))
    out = affine.copy()
    out[:3, :3] = affine[:3, :3] * np.array(f, float)
    out[:3, 3] = affine[:3, :3] @ ((np.array(f, float) - 1) / 2) + affine[:3, 3]
    return small, out


# ----- mutual information ---------------------------------------------------------------------
def _bspline3(u: np.ndarray) -> np.ndarray:
    a = np.abs(u)
    return np.where(a < 1, 2 / 3 - a ** 2 + a ** 3 / 2, np.where(a < 2, (2 - a) ** 3 / 6, 0.0))


def _bspline3_deriv(u: np.ndarray) -> np.ndarray:
    a = np.abs(u)
    d = np.where(a < 1, -2 * a + 1.5 * a ** 2, np.where(a < 2, -0.5 * (2 - a) ** 2, 0.0))
    return np.sign(u) * d


class _Problem:
    """MI between fixed template samples and the (smoothed, masked) patient image."""

    def __init__(self, points: np.ndarray, static_bins: np.ndarray, moving: np.ndarray,
                 voxel_from_mri: np.ndarray, centre: np.ndarray, cancel: CancelToken | None) -> None:
        self.points, self.static_bins, self.centre = points, static_bins, centre
        self.lever = points - centre
        top = float(np.percentile(moving[moving > 0], 99.5)) if np.any(moving > 0) else 1.0
        self.moving = 2.0 + (NBINS - 5) * np.clip(moving / max(top, 1e-6), 0.0, 1.0)
        self.gradients = np.gradient(self.moving)
        self.voxel_from_mri = voxel_from_mri
        self.cancel = cancel
        self.evaluations = 0

    def value_and_gradient(self, linear: np.ndarray, translation: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """MI and its derivatives w.r.t. the 3x3 linear part and the translation."""
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
        self.evaluations += 1
        world = self.lever @ linear.T + (self.centre + translation)
        vox = (world @ self.voxel_from_mri[:3, :3].T + self.voxel_from_mri[:3, 3]).T
        sample = [ndi.map_coordinates(a, vox, order=1, mode="constant", cval=c)
                  for a, c in ((self.moving, 2.0), *((g, 0.0) for g in self.gradients))]
        m = sample[0]
        base = np.floor(m).astype(np.int64)
        a = self.static_bins
        joint = np.zeros(NBINS * NBINS)
        weights, derivs, cells = [], [], []
        for offset in (-1, 0, 1, 2):
            j = np.clip(base + offset, 0, NBINS - 1)
            u = j - m
            w = _bspline3(u)
            cell = a * NBINS + j
            joint += np.bincount(cell, weights=w, minlength=NBINS * NBINS)
            weights.append(w)
            derivs.append(_bspline3_deriv(u))
            cells.append(cell)
        n = len(m)
        p = joint.reshape(NBINS, NBINS) / n
        ps, pm = p.sum(axis=1), p.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.where(p > 0, np.log(p / np.maximum(pm[None, :], 1e-300)), 0.0)
            mi = float(np.sum(np.where(p > 0, p * np.log(p / np.maximum(np.outer(ps, pm), 1e-300)), 0.0)))
        flat = log_ratio.ravel()
        dmi_dm = -sum(d * flat[c] for d, c in zip(derivs, cells)) / n
        grad_vox = np.stack(sample[1:], axis=1)
        dmi_dworld = (dmi_dm[:, None] * grad_vox) @ self.voxel_from_mri[:3, :3]
        return mi, dmi_dworld.T @ self.lever, dmi_dworld.sum(axis=0)


def _linear_from_params(q: np.ndarray) -> np.ndarray:
    rot = Rotation.from_rotvec(q[3:6] / LEVER_MM).as_matrix()
    shear = np.eye(3)
    shear[0, 1], shear[0, 2], shear[1, 2] = q[9:12] / LEVER_MM
    return rot @ shear @ np.diag(np.exp(q[6:9] / LEVER_MM))


def _correction(q: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """4x4 of y = L(q) (x - c) + c + t: a change of the current estimate about the brain centre."""
    m = np.eye(4)
    m[:3, :3] = _linear_from_params(q)
    m[:3, 3] = centre + q[:3] - m[:3, :3] @ centre
    return m


def _fit(problem: _Problem, free: int, max_iter: int) -> tuple[np.ndarray, float]:
    """L-BFGS-B on the first ``free`` parameters (6 = rigid, 12 = affine), starting at identity.
    d(linear)/dq by central differences of the small 3x3 composition, then the chain rule."""
    eps = 1e-4

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        q = np.zeros(12)
        q[:free] = x
        mi, d_linear, d_translation = problem.value_and_gradient(_linear_from_params(q), q[:3])
        grad = np.empty(free)
        grad[:3] = d_translation
        for k in range(3, free):
            dq = np.zeros(12)
            dq[k] = eps
            d = (_linear_from_params(q + dq) - _linear_from_params(q - dq)) / (2 * eps)
            grad[k] = float(np.sum(d_linear * d))
        return -mi, -grad

    bounds = ([(None, None)] * 6 + [(-0.3 * LEVER_MM, 0.3 * LEVER_MM)] * 3
              + [(-0.2 * LEVER_MM, 0.2 * LEVER_MM)] * 3)
    result = minimize(objective, np.zeros(free), jac=True, method="L-BFGS-B", bounds=bounds[:free],
                      options={"maxiter": max_iter, "ftol": 1e-7, "gtol": 1e-6})
    q = np.zeros(12)
    q[:free] = result.x
    return q, float(-result.fun)


@dataclass
class _Image:
    """An image on a ~2 mm grid: data and world_from_voxel (the moving image of a fit)."""

    data: np.ndarray
    world_from_voxel: np.ndarray

    @property
    def voxel_mm(self) -> np.ndarray:
        return np.linalg.norm(self.world_from_voxel[:3, :3], axis=0)


@dataclass
class _Fixed(_Image):
    """A fixed image of a fit: also its brain mask and the region where MI samples are drawn."""

    brain: np.ndarray
    region: np.ndarray


def _run_stages(fixed: _Fixed, moving: _Image, moving_from_fixed: np.ndarray, stages: tuple,
                seed: int, progress: ProgressCallback | None, span: tuple[float, float],
                cancel: CancelToken | None) -> tuple[np.ndarray, float]:
    """Improve ``moving_from_fixed`` (4x4 world mm) stage by stage; returns it and the final MI."""
    ijk = np.argwhere(fixed.region)
    world = ijk @ fixed.world_from_voxel[:3, :3].T + fixed.world_from_voxel[:3, 3]
    in_brain = fixed.brain[tuple(ijk.T)]
    order = np.random.default_rng(seed).permutation(len(world))
    top = float(np.percentile(fixed.data[fixed.region], 99.5))
    voxel_from_world = np.linalg.inv(moving.world_from_voxel)
    mi = float("nan")
    for index, (name, free, sigma_mm, n_samples, max_iter) in enumerate(stages):
        report(progress, span[0] + (span[1] - span[0]) * index / len(stages), f"MNI registration: {name}",
               cancel)
        chosen = order[:n_samples]
        smooth_fixed = ndi.gaussian_filter(fixed.data, sigma_mm / fixed.voxel_mm)
        bins = np.clip(np.round((NBINS - 1) * smooth_fixed[tuple(ijk[chosen].T)] / top), 0, NBINS - 1)
        points = world[chosen] @ moving_from_fixed[:3, :3].T + moving_from_fixed[:3, 3]
        centre = points[in_brain[chosen]].mean(axis=0)
        image = ndi.gaussian_filter(moving.data, sigma_mm / moving.voxel_mm)
        problem = _Problem(points, bins.astype(np.int64), image, voxel_from_world, centre, cancel)
        q, mi = _fit(problem, free, max_iter)
        moving_from_fixed = _correction(q, centre) @ moving_from_fixed
    return moving_from_fixed, mi


def _initial_translation(fixed: _Fixed, moving: _Image) -> np.ndarray:
    """Best MI translation on a 12 mm grid around the patient's intensity centroid."""
    centroid = np.array(ndi.center_of_mass(np.clip(moving.data, 0, None)))
    head_centre = moving.world_from_voxel[:3, :3] @ centroid + moving.world_from_voxel[:3, 3]
    ijk = np.argwhere(fixed.region)
    chosen = np.random.default_rng(1).permutation(len(ijk))[:4000]
    world = ijk[chosen] @ fixed.world_from_voxel[:3, :3].T + fixed.world_from_voxel[:3, 3]
    smooth_fixed = ndi.gaussian_filter(fixed.data, 4.0 / fixed.voxel_mm)
    bins = np.clip(np.round((NBINS - 1) * smooth_fixed[tuple(ijk[chosen].T)] / smooth_fixed.max()), 0, NBINS - 1)
    brain_centre = world[fixed.brain[tuple(ijk[chosen].T)]].mean(axis=0)
    problem = _Problem(world, bins.astype(np.int64), ndi.gaussian_filter(moving.data, 4.0 / moving.voxel_mm),
                       np.linalg.inv(moving.world_from_voxel), brain_centre, None)
    best, best_mi = head_centre - brain_centre, -np.inf
    offsets = np.arange(-36.0, 37.0, 12.0)
    for dx in (-12.0, 0.0, 12.0):
        for dy in offsets:
            for dz in offsets:
                t = head_centre - brain_centre + np.array([dx, dy, dz])
                mi, _, _ = problem.value_and_gradient(np.eye(3), t)
                if mi > best_mi:
                    best, best_mi = t, mi
    start = np.eye(4)
    start[:3, 3] = best
    return start


def _mask_on(mask: np.ndarray, world_from_mask: np.ndarray, target: _Image,
             target_from_world: np.ndarray) -> np.ndarray:
    """A mask resampled onto ``target``'s grid through ``target_from_world`` (4x4 world mm)."""
    mask_from_target = np.linalg.inv(world_from_mask) @ np.linalg.inv(target_from_world) @ target.world_from_voxel
    return ndi.affine_transform(mask.astype(np.float32), mask_from_target[:3, :3], mask_from_target[:3, 3],
                                output_shape=target.data.shape, order=1) > 0.5


def _has_scalp(template: _Fixed, moving: _Image, mri_from_mni: np.ndarray) -> bool:
    """True when there is tissue 4-14 mm outside the fitted template brain (a head with skull and
    scalp), False for a skull-stripped image."""
    brain = _mask_on(template.brain, template.world_from_voxel, moving, mri_from_mni)
    step = float(np.mean(moving.voxel_mm))
    near = ndi.binary_dilation(brain, iterations=max(1, int(round(4 / step))))
    shell = ndi.binary_dilation(brain, iterations=int(round(14 / step))) & ~near
    inside = float(moving.data[brain].mean()) if brain.any() else 0.0
    return bool(shell.any() and inside > 0 and moving.data[shell].mean() > 0.25 * inside)


def _template_image() -> _Fixed:
    data, mni_from_voxel = load_mni_template("t1")
    static, mni_from_static = _block_average(data, mni_from_voxel, np.array([2, 2, 2]))
    brain = static > 1e-3 * static.max()
    return _Fixed(static, mni_from_static, brain, ndi.binary_dilation(brain, iterations=3))


def _sample_head_image(template: _Fixed) -> tuple[_Fixed, np.ndarray]:
    """The bundled head (with skull) as an intermediate template, and its stored mri_from_mni."""
    from ..sample_head import sample_head_mri_from_mni, sample_head_path

    image = _load_spatial(sample_head_path())
    voxel_mm = np.linalg.norm(image.affine[:3, :3], axis=0)
    factors = np.maximum(np.round(2.0 / voxel_mm), 1).astype(int)
    data, world_from_voxel = _block_average(np.asarray(image.dataobj, np.float32), image.affine, factors)
    grid = _Image(data, world_from_voxel)
    mri_from_mni = sample_head_mri_from_mni().matrix
    brain = _mask_on(template.brain, template.world_from_voxel, grid, mri_from_mni)
    region = ndi.binary_dilation(brain, iterations=int(round(20 / float(np.mean(grid.voxel_mm)))))
    return _Fixed(data, world_from_voxel, brain, region), mri_from_mni


# ----- pipeline ------------------------------------------------------------------------------
def register_to_mni(volume: Any, *, skull: str = "auto", progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None, seed: int = 0) -> MniRegistration:
    """Fit ``mri_from_mni`` (12-parameter affine) for a T1; see the module docstring.

    ``skull``: "auto" (detect), "head" (T1 with skull and scalp) or "stripped" (brain only).
    """
    from ..surfaces.extract import SurfaceError, volume_arrays

    if skull not in ("auto", "head", "stripped"):
        raise ValueError(f"skull must be auto, head or stripped, got {skull!r}")
    started = time.perf_counter()
    try:
        data, mri_from_voxel = volume_arrays(volume)
    except SurfaceError as exc:
        raise MniRegistrationError(str(exc)) from exc
    report(progress, 0.0, "Preparing the MNI template", cancel)
    template = _template_image()
    voxel_mm = np.linalg.norm(mri_from_voxel[:3, :3], axis=0)
    factors = np.maximum(np.round(2.0 / voxel_mm), 1).astype(int)
    moving = _Image(*_block_average(np.nan_to_num(np.asarray(data, np.float32)), mri_from_voxel, factors))
    if not np.any(moving.data > 0) or float(np.ptp(moving.data)) <= 0:
        raise MniRegistrationError("the image is blank: nothing to register to MNI space")
    start = _initial_translation(template, moving)
    mri_from_mni, mi = _run_stages(template, moving, start, _DIRECT_STAGES, seed, progress, (0.05, 0.5), cancel)
    with_scalp = _has_scalp(template, moving, mri_from_mni) if skull == "auto" else skull == "head"
    method = METHOD_DIRECT
    if with_scalp:
        head, head_mri_from_mni = _sample_head_image(template)
        mri_from_head = mri_from_mni @ np.linalg.inv(head_mri_from_mni)
        mri_from_head, mi = _run_stages(head, moving, mri_from_head, _HEAD_STAGES, seed, progress,
                                        (0.5, 1.0), cancel)
        mri_from_mni = mri_from_head @ head_mri_from_mni
        method = METHOD_HEAD
    report(progress, 1.0, "MNI registration done", cancel)
    return MniRegistration(Transform(Frame.MRI, Frame.MNI, mri_from_mni), mi,
                           time.perf_counter() - started, method)


def cached_register_to_mni(volume: Any, *, skull: str = "auto", progress: ProgressCallback | None = None,
                           cancel: CancelToken | None = None) -> MniRegistration:
    """:func:`register_to_mni` through the user disk cache (see ``surface_cache``), keyed on the
    image bytes AND its chosen ``mri_from_voxel``: the qform and the sform of one file, or a
    left/right mirrored confirmation, are different registrations."""
    from ..surfaces.cache import cached_json, image_identity

    def valid(record: dict) -> bool:
        try:
            MniRegistration.from_dict(record)
            return record.get("version") == REGISTRATION_VERSION
        except (KeyError, TypeError, ValueError, NavigationError):
            return False

    try:
        identity = image_identity(volume)
    except NavigationError as exc:
        raise MniRegistrationError(str(exc)) from exc
    record, hit = cached_json(
        "mni", {"image": identity, "version": REGISTRATION_VERSION, "skull": skull},
        lambda: register_to_mni(volume, skull=skull, progress=progress, cancel=cancel).to_dict(), valid)
    return MniRegistration.from_dict(record, from_cache=hit)
