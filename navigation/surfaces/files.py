"""Read brain/head surface files into triangle meshes in mri (scanner RAS) millimetres.

Supported:

* FreeSurfer surfaces (``lh.pial``, ``rh.white``, ``*.inflated`` ... any file with FreeSurfer's
  triangle magic bytes), read with ``nibabel.freesurfer``. Their vertices are in FreeSurfer's
  *surface RAS* ("tkr" RAS): the scanner RAS of the image's centre voxel is subtracted. The map to
  scanner RAS is ``mri_from_tkr = mri_from_voxel @ inv(tkr_from_voxel)`` where ``tkr_from_voxel``
  is ``mri_from_voxel`` with its translation changed so that voxel ``shape / 2`` maps to 0
  (FreeSurfer's ``MRIxfmCRS2XYZtkreg``; for a conformed ``orig.mgz`` it is the familiar
  ``[[-1,0,0,128],[0,0,1,-128],[0,-1,0,128]]``), a translation by ``c_ras`` (exact for images
  that are not oblique). The file's footer (volume geometry written by FreeSurfer) is preferred:
  it gives ``Norig @ inv(Torig)`` exactly, obliquity included. With both a footer and a volume,
  their centres must agree within 2 mm, or the surface belongs to another image and is refused.
  With neither, the file is refused: silently drawing a pial surface centimetres away from the
  head is worse than an error.
* GIfTI (``.gii``, ``.gii.gz``): the POINTSET and TRIANGLE arrays, coordinates taken as scanner
  RAS mm (the pointset's own transform is applied when it maps to scanner/Talairach space).
* STL, VTK, VTP, PLY, OBJ via pyvista: coordinates taken as mri mm.

Units: a head or brain is 20..1000 mm across. A mesh 0.02..1 wide is in metres (common for
exports from MNE or trimesh), one 2..100 wide may be in centimetres: both are refused with a
message naming the factor, unless ``scale_to_mm`` says how to convert.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pyvista as pv

from .extract import SurfaceError, volume_arrays

__all__ = ["load_surface_file", "mri_from_tkr", "FREESURFER_MAGIC", "PYVISTA_SUFFIXES"]

FREESURFER_MAGIC = b"\xff\xff\xfe"
PYVISTA_SUFFIXES = (".stl", ".vtk", ".vtp", ".ply", ".obj")
EXTENT_MM = (20.0, 1000.0)
CRAS_TOLERANCE_MM = 2.0


def mri_from_tkr(volume: Any) -> np.ndarray:
    """4x4 from FreeSurfer surface RAS ("tkr") to the volume's scanner RAS (mri)."""
    data, mri_from_voxel = volume_arrays(volume)
    tkr_from_voxel = mri_from_voxel.copy()
    tkr_from_voxel[:3, 3] = 0.0
    tkr_from_voxel[:3, 3] = -(tkr_from_voxel[:3, :3] @ (np.array(data.shape[:3]) / 2.0))
    return mri_from_voxel @ np.linalg.inv(tkr_from_voxel)


def _is_freesurfer(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(3) == FREESURFER_MAGIC
    except OSError:
        return False


def _mri_from_tkr_footer(info: dict) -> np.ndarray:
    """FreeSurfer's ``Norig @ inv(Torig)`` from a surface footer (volume geometry)."""
    dims = np.asarray(info["volume"], float)
    voxel = np.asarray(info["voxelsize"], float)
    cosines = np.column_stack([info["xras"], info["yras"], info["zras"]]).astype(float)
    lia = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    norig, torig = np.eye(4), np.eye(4)
    norig[:3, :3] = cosines * voxel
    norig[:3, 3] = np.asarray(info["cras"], float) - norig[:3, :3] @ (dims / 2)
    torig[:3, :3] = lia * voxel
    torig[:3, 3] = -torig[:3, :3] @ (dims / 2)
    return norig @ np.linalg.inv(torig)


def _read_freesurfer(path: Path, volume: Any) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # nibabel warns about absent footers: handled below
        warnings.simplefilter("ignore")
        coords, faces, info = nib.freesurfer.read_geometry(str(path), read_metadata=True)
    footer = all(key in info for key in ("volume", "voxelsize", "xras", "yras", "zras", "cras"))
    if footer:
        matrix = _mri_from_tkr_footer(info)
        if volume is not None:
            centre = mri_from_tkr(volume)[:3, 3]
            gap = float(np.linalg.norm(centre - np.asarray(info["cras"], float)))
            if gap > CRAS_TOLERANCE_MM:
                raise SurfaceError(
                    f"{path.name} was made from another image: its image centre (c_ras "
                    f"{np.round(info['cras'], 1).tolist()} mm) is {gap:.1f} mm from this "
                    "image's centre. Load the T1 that FreeSurfer processed.")
    elif volume is not None:
        matrix = mri_from_tkr(volume)
    else:
        raise SurfaceError(
            f"{path.name} is a FreeSurfer surface in surface (tkr) RAS and has no volume footer: "
            "open it together with the T1 it was made from so it can be placed in scanner RAS.")
    return coords @ matrix[:3, :3].T + matrix[:3, 3], faces


def _read_gifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    image = nib.GiftiImage.from_bytes(raw)
    points = [d for d in image.darrays if d.intent == nib.nifti1.intent_codes["NIFTI_INTENT_POINTSET"]]
    triangles = [d for d in image.darrays
                 if d.intent == nib.nifti1.intent_codes["NIFTI_INTENT_TRIANGLE"]]
    if not points or not triangles:
        raise SurfaceError(f"{path.name} is a GIfTI file without a surface (needs POINTSET and "
                           "TRIANGLE arrays; is it a data/overlay file?)")
    coords = np.asarray(points[0].data, dtype=float)
    system = points[0].coordsys
    if system is not None and system.xform is not None and system.dataspace != system.xformspace:
        xform = np.asarray(system.xform, dtype=float)
        coords = coords @ xform[:3, :3].T + xform[:3, 3]
    return coords, np.asarray(triangles[0].data)


def _read_pyvista(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with pv.VtkErrorCatcher(raise_errors=False) as catcher, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # VTK's reader errors are caught and reported below
        mesh = pv.read(str(path))
    if catcher.events and (mesh is None or getattr(mesh, "n_points", 0) == 0):
        raise SurfaceError(f"could not read {path.name}: {catcher.events[0].alert.strip()}")
    if isinstance(mesh, pv.MultiBlock):
        mesh = mesh.combine()
    if mesh is None or mesh.n_points == 0:
        raise SurfaceError(f"{path.name} contains no surface (no points)")
    if not isinstance(mesh, pv.PolyData):
        mesh = mesh.extract_surface(algorithm="dataset_surface")
    mesh = mesh.triangulate()
    if mesh.n_cells == 0 or not mesh.is_all_triangles:
        raise SurfaceError(f"{path.name} has no triangles (a point cloud or lines only?)")
    return np.asarray(mesh.points, dtype=float), mesh.regular_faces


def _check_units(path: Path, coords: np.ndarray, scale_to_mm: float | None) -> np.ndarray:
    if scale_to_mm is not None:
        if not (np.isfinite(scale_to_mm) and scale_to_mm > 0):
            raise SurfaceError(f"scale_to_mm must be a positive number, got {scale_to_mm}")
        return coords * float(scale_to_mm)
    extent = float(np.max(np.ptp(coords, axis=0)))
    if extent < EXTENT_MM[0]:
        unit, factor = ("metres", 1000) if extent < 1.0 else ("centimetres", 10)
        raise SurfaceError(
            f"{path.name} is only {extent:.3g} units across; a head or brain is "
            f"{EXTENT_MM[0]:.0f}-{EXTENT_MM[1]:.0f} mm, so it looks like {unit}. "
            f"Load it with scale_to_mm={factor} if that is right.")
    if extent > EXTENT_MM[1]:
        raise SurfaceError(
            f"{path.name} is {extent:.0f} units across, too large for a head or brain in mm "
            "(micrometres?). Load it with an explicit scale_to_mm.")
    return coords


def load_surface_file(path: str | Path, *, volume: Any = None,
                      scale_to_mm: float | None = None) -> pv.PolyData:
    """Triangle mesh in mri mm with point normals, from a FreeSurfer, GIfTI or VTK-readable file.

    ``volume``: the T1 the surface belongs to (needed to place FreeSurfer surfaces without a
    footer; checked against the footer otherwise). ``scale_to_mm``: explicit unit conversion.
    Raises :class:`SurfaceError` for missing, empty, corrupt or implausible files.
    """
    path = Path(path)
    if not path.is_file():
        raise SurfaceError(f"surface file not found: {path}")
    if path.stat().st_size == 0:
        raise SurfaceError(f"{path.name} is empty (0 bytes)")
    name = path.name.lower()
    try:
        if _is_freesurfer(path):
            coords, faces = _read_freesurfer(path, volume)
        elif name.endswith((".gii", ".gii.gz")):
            coords, faces = _read_gifti(path)
        elif name.endswith(PYVISTA_SUFFIXES):
            coords, faces = _read_pyvista(path)
        else:
            raise SurfaceError(
                f"{path.name}: unknown surface format; supported: FreeSurfer surfaces (lh.pial ...), "
                f"GIfTI (.gii), {', '.join(PYVISTA_SUFFIXES)}")
    except SurfaceError:
        raise
    except Exception as exc:  # nibabel/VTK raise many types for damaged files
        raise SurfaceError(f"could not read {path.name} (damaged or not a surface file): {exc}") from exc
    coords = np.asarray(coords, dtype=float)
    faces = np.asarray(faces)
    if coords.ndim != 2 or coords.shape[1] != 3 or len(coords) < 4:
        raise SurfaceError(f"{path.name} has no usable vertices")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise SurfaceError(f"{path.name} has no triangles")
    if faces.min() < 0 or faces.max() >= len(coords):
        raise SurfaceError(f"{path.name} is damaged: triangles refer to vertices that do not exist")
    if not np.all(np.isfinite(coords)):
        raise SurfaceError(f"{path.name} is damaged: vertices contain NaN or infinite values")
    coords = _check_units(path, coords, scale_to_mm)
    mesh = pv.PolyData.from_regular_faces(coords, faces.astype(int))
    return mesh.compute_normals(cell_normals=False, point_normals=True, split_vertices=False,
                                consistent_normals=False)
