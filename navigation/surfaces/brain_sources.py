"""A patient's brain (cortex) surface from the files clinics already have, and the check that it
belongs to this head.

Sources (``load_brain``):

* FreeSurfer ``lh.pial`` + ``rh.pial`` (both hemispheres merged into one mesh; placed in scanner
  RAS by ``surface_io`` from the surface footer or the T1, the orig.mgz/tkr alignment);
* GIfTI / STL / VTK / VTP / PLY / OBJ surfaces (``surface_io``);
* a SimNIBS head mesh ``.msh`` (its grey-matter surface, tag 1002; ``simnibs_msh``);
* a brain mask or a segmentation NIfTI/MGZ, contoured on *its own grid with its own affine*
  (never resampled onto the T1): mask > 0, or the grey+white matter labels of a FreeSurfer
  aseg / SynthSeg (any label but CSF, holes filled) or SimNIBS tissue labels (1 WM + 2 GM).

Every mesh carries ``field_data["provenance"]`` naming its source (no patient identifiers: the
file name only, never its folder).

The check (:func:`check_brain_in_scalp`): a brain surface that does not sit inside the scalp is
refused with the likely cause, because a wrong one moves every cortex point, depth and field:
at least 99 % of its vertices inside the scalp, a median scalp-to-brain gap of 3-40 mm (adults:
~10-20 mm). The test is pure numpy/scipy (nearest scalp vertex and its outward normal), so it can
run on a worker thread without VTK.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import nibabel as nib
import numpy as np
import pyvista as pv
from nibabel.spatialimages import SpatialImage
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from ..progress import CancelToken, ProgressCallback, report
from .extract import (SurfaceError, extract_surface_from_mask, mesh_volume_ml, orient_outward, signed_volume_mm3,
                      volume_arrays)
from .template_brain import provenance_of, set_provenance

__all__ = ["BrainCheck", "load_brain", "check_brain_in_scalp", "check_brain_arrays", "scalp_arrays",
           "brain_mask_from_image", "describe_brain",
           "MASK_SUFFIXES", "MIN_INSIDE_FRACTION", "GAP_RANGE_MM", "VOLUME_RANGE_ML"]

MASK_SUFFIXES = (".nii", ".nii.gz", ".mgz", ".mgh", ".hdr", ".img")
MIN_INSIDE_FRACTION = 0.99
GAP_RANGE_MM = (3.0, 40.0)
VOLUME_RANGE_ML = (500.0, 2500.0)     # closed brains: adults ~1000-1600 mL GM+WM, children more than 900
_FS_CSF = (24,)                       # FreeSurfer LUT: 24 = CSF (outside the brain tissue)
_SIMNIBS_BRAIN = (1, 2)               # SimNIBS tissue labels: 1 white matter, 2 grey matter
_MAX_CHECK_POINTS = 5_000       # random brain vertices tested: +-0.15 % on a 1 % outside fraction


@dataclass(frozen=True)
class BrainCheck:
    """How a brain surface sits in the scalp (all mm / mL)."""

    inside_fraction: float
    median_gap_mm: float
    min_gap_mm: float
    volume_ml: float
    centre_offset_mm: float

    def summary(self) -> str:
        return (f"{100 * self.inside_fraction:.1f} % inside the scalp, scalp-to-brain gap median "
                f"{self.median_gap_mm:.1f} mm (min {self.min_gap_mm:.1f} mm)")


def describe_brain(brain: pv.PolyData | None) -> str:
    """One line for the user: where the brain surface came from and its volume."""
    if brain is None or brain.n_points == 0:
        return "No brain surface"
    text = provenance_of(brain) or "brain surface"
    return f"{text}; {mesh_volume_ml(brain):.0f} mL"


# ----- the check -------------------------------------------------------------------------------
def scalp_arrays(scalp: pv.PolyData) -> tuple[np.ndarray, np.ndarray]:
    """``(points, outward unit normals)`` of a scalp mesh, copied: take them on the thread that
    owns VTK, then :func:`check_brain_arrays` can run anywhere."""
    if "Normals" in scalp.point_data:
        normals = np.array(scalp.point_data["Normals"], float)
    else:
        normals = np.array(orient_outward(scalp.triangulate()).point_data["Normals"], float)
    return np.array(scalp.points, float), normals


def _signed_gap(brain_points: np.ndarray, scalp_points: np.ndarray, scalp_normals: np.ndarray) -> np.ndarray:
    """Distance to the nearest scalp vertex, positive when inside (behind its outward normal)."""
    distance, nearest = cKDTree(scalp_points).query(brain_points)
    outward = np.einsum("ij,ij->i", brain_points - scalp_points[nearest], scalp_normals[nearest])
    return np.where(outward <= 0.0, distance, -distance)


def _is_closed(faces: np.ndarray) -> bool:
    """Every edge shared by exactly two triangles (numpy only: no VTK on worker threads)."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    keys = edges[:, 0].astype(np.int64) * (int(edges.max()) + 1) + edges[:, 1]
    _, counts = np.unique(keys, return_counts=True)
    return bool(np.all(counts == 2))


def check_brain_in_scalp(brain: pv.PolyData, scalp: pv.PolyData) -> BrainCheck:
    """Measure and judge a brain surface against the scalp; raises :class:`SurfaceError` naming the
    likely cause when it is not plausibly this head's brain."""
    tri = brain if brain.is_all_triangles else brain.triangulate()
    return check_brain_arrays(np.asarray(tri.points, float), np.asarray(tri.regular_faces), *scalp_arrays(scalp))


def check_brain_arrays(brain_points: np.ndarray, brain_faces: np.ndarray, scalp_points: np.ndarray,
                       scalp_normals: np.ndarray) -> BrainCheck:
    """:func:`check_brain_in_scalp` on plain arrays (triangles; scalp outward normals), numpy only."""
    points = np.asarray(brain_points, float)
    faces = np.asarray(brain_faces)
    volume_ml = abs(signed_volume_mm3(points, faces)) / 1000.0
    closed = _is_closed(faces)
    if len(points) > _MAX_CHECK_POINTS:
        points = points[np.random.default_rng(0).choice(len(points), _MAX_CHECK_POINTS, replace=False)]
    gap = _signed_gap(points, scalp_points, scalp_normals)
    inside = float(np.mean(gap > 0))
    offset = float(np.linalg.norm(points.mean(axis=0) - scalp_points.mean(axis=0)))
    size_ratio = float(np.max(np.ptp(points, axis=0)) / max(np.max(np.ptp(scalp_points, axis=0)), 1e-9))
    check = BrainCheck(inside, float(np.median(gap)), float(np.min(gap)), volume_ml, offset)
    if inside < MIN_INSIDE_FRACTION:
        if size_ratio > 3.0 or size_ratio < 0.25:
            cause = (f"it is {size_ratio:.2g} times the size of the head: a unit mix-up "
                     "(metres or centimetres instead of millimetres)")
        elif offset > 25.0:
            cause = (f"its centre is {offset:.0f} mm from the head's centre: it is in another space "
                     "(a FreeSurfer surface in surface/tkr RAS without its orig.mgz alignment, MNI "
                     "space, another scanner session) or belongs to another subject")
        elif size_ratio > 0.9:
            cause = "it is as large as the head: a scalp or skull surface rather than a brain?"
        else:
            cause = ("it does not fit this head: another subject's brain, or the image was opened "
                     "with another orientation (qform/sform, left/right) than the one it was made from")
        raise SurfaceError(
            f"This brain surface does not lie inside the scalp: only {100 * inside:.1f} % of its "
            f"vertices are inside (at least {100 * MIN_INSIDE_FRACTION:.0f} % needed). Likely cause: "
            f"{cause}.")
    low, high = GAP_RANGE_MM
    if check.median_gap_mm < low:
        raise SurfaceError(
            f"This surface sits only {check.median_gap_mm:.1f} mm under the scalp (median; a brain "
            f"is {low:.0f}-{high:.0f} mm deep): it looks like a scalp or skull surface, not a brain.")
    if check.median_gap_mm > high:
        raise SurfaceError(
            f"This brain surface lies {check.median_gap_mm:.0f} mm under the scalp (median; a brain "
            f"is {low:.0f}-{high:.0f} mm deep): it is far too small for this head (wrong units, "
            "or another subject).")
    if closed and not VOLUME_RANGE_ML[0] <= check.volume_ml <= VOLUME_RANGE_ML[1]:
        raise SurfaceError(
            f"This brain surface encloses {check.volume_ml:.0f} mL; a brain is "
            f"{VOLUME_RANGE_ML[0]:.0f}-{VOLUME_RANGE_ML[1]:.0f} mL: wrong units (cm read as mm) or "
            "not a brain surface.")
    return check


# ----- masks and segmentations -------------------------------------------------------------------
def brain_mask_from_image(path: str | Path, labels: Sequence[int] | None = None
                          ) -> tuple[np.ndarray, np.ndarray, str]:
    """``(mask bool, mri_from_voxel, description)`` from a brain mask or segmentation image.

    ``labels``: the label values that are brain; by default a two-valued image is a mask (> 0), a
    FreeSurfer aseg / SynthSeg (labels 2, 3, 41, 42 present) is every label but CSF with holes
    filled, a SimNIBS tissue image (labels 1..10 with 5 = scalp) is WM + GM (1, 2), a probability
    map (0..1) is > 0.5, and a skull-stripped T1 (FSL BET ``*_brain``, FreeSurfer ``brain.mgz``:
    non-zero over 800-2200 mL) is its non-zero voxels."""
    path = Path(path)
    try:
        image = nib.load(str(path))
        if not isinstance(image, SpatialImage):  # a surface (GIfTI) or CIFTI file has no voxels
            raise TypeError(f"it is a {type(image).__name__}, not a voxel image")
        data = np.asanyarray(image.dataobj)
    except Exception as exc:  # nibabel raises many types for damaged files
        raise SurfaceError(f"could not read {path.name} as a mask or segmentation image: {exc}") from exc
    data, affine = volume_arrays((data, np.asarray(image.affine, dtype=np.float64)))
    data = np.nan_to_num(np.asarray(data))
    values = np.unique(data[::2, ::2, ::2]) if data.size > 8_000_000 else np.unique(data)
    integral = np.all(np.mod(values, 1) == 0)
    if labels is not None:
        mask, text = np.isin(data, np.asarray(labels)), f"labels {', '.join(map(str, labels))}"
    elif len(values) <= 2:
        mask, text = data > 0, "brain mask > 0"
    elif integral and {2, 3, 41, 42} <= set(values.astype(int).tolist()):
        mask = (data > 0) & ~np.isin(data, _FS_CSF)
        mask, text = ndi.binary_fill_holes(mask), "FreeSurfer/SynthSeg segmentation, brain labels"
    elif integral and values.max() <= 10 and {1, 2, 5} <= set(values.astype(int).tolist()):
        mask, text = np.isin(data, _SIMNIBS_BRAIN), "SimNIBS tissue labels 1 (WM) + 2 (GM)"
    elif not integral and 0.0 <= values.min() and values.max() <= 1.0:
        mask, text = data > 0.5, "brain probability > 0.5"
    elif 800.0 <= _nonzero_ml(data, affine) <= 2200.0:
        mask = ndi.binary_fill_holes(ndi.binary_opening(data > 0, iterations=1))
        text = "skull-stripped image, its non-zero voxels"
    else:
        raise SurfaceError(
            f"{path.name} has {len(values)} different values and is neither a brain mask (two values), "
            "a FreeSurfer/SynthSeg segmentation nor a SimNIBS tissue image: choose its brain labels.")
    if not mask.any():
        raise SurfaceError(f"{path.name}: the mask is empty (no brain voxels)")
    return mask, affine, text


def _nonzero_ml(data: np.ndarray, affine: np.ndarray) -> float:
    """Volume of the non-zero voxels (a skull-stripped T1 is zero outside a brain-sized region)."""
    return float(np.count_nonzero(data)) * abs(float(np.linalg.det(affine[:3, :3]))) / 1000.0


def _mask_overlaps(mask: np.ndarray, mask_affine: np.ndarray, volume: Any, name: str) -> None:
    """Refuse a mask whose brain lies outside the T1's field of view (another image or space)."""
    data, mri_from_voxel = volume_arrays(volume)
    ijk = np.argwhere(mask[::2, ::2, ::2]) * 2
    world = ijk @ mask_affine[:3, :3].T + mask_affine[:3, 3]
    voxel = (world - mri_from_voxel[:3, 3]) @ np.linalg.inv(mri_from_voxel[:3, :3]).T
    inside = np.all((voxel >= -0.5) & (voxel <= np.array(data.shape[:3]) - 0.5), axis=1)
    if inside.mean() < 0.9:
        centre = world.mean(axis=0)
        raise SurfaceError(
            f"{name} does not overlap this T1: only {100 * inside.mean():.0f} % of its brain voxels "
            f"fall inside the image (its brain centre is at {np.round(centre).astype(int).tolist()} mm). "
            "It belongs to another image, or its affine is in another space (e.g. MNI or a "
            "conformed FreeSurfer volume without its scanner header).")


# ----- loading ------------------------------------------------------------------------------
def _merge(meshes: list[pv.PolyData]) -> pv.PolyData:
    points, faces, offset = [], [], 0
    for mesh in meshes:
        oriented = orient_outward(pv.PolyData.from_regular_faces(np.asarray(mesh.points, float),
                                                                 np.asarray(mesh.regular_faces)))
        points.append(np.asarray(oriented.points, float))
        faces.append(np.asarray(oriented.regular_faces) + offset)
        offset += oriented.n_points
    merged = pv.PolyData.from_regular_faces(np.vstack(points), np.vstack(faces))
    return merged.compute_normals(cell_normals=False, point_normals=True, split_vertices=False,
                                  consistent_normals=False, auto_orient_normals=False)


def _is_mask(path: Path) -> bool:
    return path.name.lower().endswith(MASK_SUFFIXES)


def load_brain(paths: str | Path | Sequence[str | Path], volume: Any, *, labels: Sequence[int] | None = None,
               max_faces: int = 150_000, progress: ProgressCallback | None = None,
               cancel: CancelToken | None = None) -> pv.PolyData:
    """A brain surface in mri mm from one file or a set of surface files (e.g. lh.pial + rh.pial).

    ``volume``: the T1 it belongs to (FreeSurfer alignment, mask overlap). Raises
    :class:`SurfaceError` with the reason for anything unusable."""
    from .simnibs_msh import MshError, read_msh_surface
    from .cache import cached_mesh, image_identity
    from .files import load_surface_file

    chosen = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not chosen:
        raise SurfaceError("no brain surface file chosen")
    for p in chosen:
        if not p.is_file():
            raise SurfaceError(f"file not found: {p.name}")
    report(progress, 0.0, "Reading the brain surface", cancel)
    names = " + ".join(p.name for p in chosen)
    if len(chosen) == 1 and _is_mask(chosen[0]):
        path = chosen[0]
        mask, affine, how = brain_mask_from_image(path, labels)
        _mask_overlaps(mask, affine, volume, path.name)
        report(progress, 0.3, "Contouring the brain mask", cancel)
        key = {"mask": image_identity((mask.astype(np.uint8), affine)), "max_faces": int(max_faces)}
        mesh, _ = cached_mesh("brain-mask", key, lambda: extract_surface_from_mask(
            mask, affine, max_faces=max_faces, cancel=cancel))
        provenance = f"from {path.name} ({how}), contoured on its own grid"
    elif len(chosen) == 1 and chosen[0].suffix.lower() == ".msh":
        try:
            points, faces = read_msh_surface(chosen[0])
        except MshError as exc:
            raise SurfaceError(str(exc)) from exc
        mesh = _merge([pv.PolyData.from_regular_faces(points, faces)])
        provenance = f"from the SimNIBS head mesh {chosen[0].name} (grey-matter surface, tag 1002)"
    else:
        if any(_is_mask(p) or p.suffix.lower() == ".msh" for p in chosen):
            raise SurfaceError("choose one mask/segmentation or SimNIBS mesh, or surface files only")
        hemis = [p.name.split(".")[0].lower() for p in chosen]
        if len(chosen) == 2 and hemis[0] == hemis[1] and hemis[0] in ("lh", "rh"):
            raise SurfaceError(f"both files are {hemis[0]} surfaces: choose lh.pial AND rh.pial")
        meshes = []
        for i, p in enumerate(chosen):
            if cancel is not None:
                cancel.raise_if_cancelled()
            report(progress, 0.1 + 0.6 * i / len(chosen), f"Reading {p.name}", cancel)
            meshes.append(load_surface_file(p, volume=volume))
        mesh = _merge(meshes)
        provenance = f"from {names}"
        if len(chosen) == 1 and hemis[0] in ("lh", "rh"):
            provenance += " (ONE hemisphere only)"
    report(progress, 1.0, "Brain surface read", cancel)
    return set_provenance(mesh, provenance)
