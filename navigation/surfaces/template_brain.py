"""An approximate brain (cortex) surface for any T1, from the MNI152 template and ``mri_from_mni``.

Why: a patient's own segmentation (FreeSurfer, SimNIBS) is often not available at the chair, but
the cortex point under a scalp target, its depth and the e-field all need a brain surface. The
ICBM152 2009a grey- and white-matter probability maps (Fonov et al. 2011, NeuroImage 54:313;
shipped with nilearn) summed and contoured at probability 0.5 give the template's pial-like
surface; mapping its vertices through the patient's 12-parameter ``mri_from_mni`` places it inside
the patient's head. Contouring on the template's own 1 mm grid and then mapping the vertices is
exact for an affine (an affine maps the 0.5 level set onto the 0.5 level set of the resampled
maps) and avoids resampling the maps.

It is *approximate*: an affine fit matches head size and position, not the patient's own gyri;
every mesh made here carries ``field_data["provenance"]`` saying so, and the GUI shows it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyvista as pv

from ..progress import CancelToken, ProgressCallback, report
from ..transforms import Frame, Transform

__all__ = ["TEMPLATE_PROVENANCE", "TEMPLATE_LEVEL", "template_brain_surface", "template_tissue_probability",
           "template_mesh_in_mni", "write_template_mesh", "template_cache_path", "cached_template_arrays",
           "place_template",
           "template_brain_from_arrays", "vertex_normals",
           "set_provenance", "provenance_of", "template_transform_of"]

TEMPLATE_LEVEL = 0.5
TEMPLATE_PROVENANCE = ("approximate, from the template: MNI152 2009a grey+white matter probability "
                       "> 0.5, placed on this head by its affine MNI registration")
_MAPS = "icbm152_2009a_sym gm+wm probability > 0.5 (0..1 scale)"


def set_provenance(mesh: pv.PolyData, text: str) -> pv.PolyData:
    """Attach where a surface came from (kept in the disk cache and shown to the user)."""
    mesh.field_data["provenance"] = np.array([str(text)])
    return mesh


def provenance_of(mesh: pv.PolyData | None) -> str:
    """The provenance text of a mesh, or "" when it has none."""
    if mesh is None or "provenance" not in mesh.field_data.keys():
        return ""
    value = np.asarray(mesh.field_data["provenance"]).ravel()
    return str(value[0]) if value.size else ""


def template_transform_of(mesh: pv.PolyData | None) -> np.ndarray | None:
    """The 4x4 ``mri_from_mni`` a template brain was placed with, or None for other brains."""
    if mesh is None or "mri_from_mni" not in mesh.field_data.keys():
        return None
    value = np.asarray(mesh.field_data["mri_from_mni"], float).ravel()
    return value.reshape(4, 4) if value.size == 16 else None


def _check_mri_from_mni(mri_from_mni: Transform | np.ndarray) -> np.ndarray:
    if isinstance(mri_from_mni, Transform):
        if (mri_from_mni.to_frame, mri_from_mni.from_frame) != (Frame.MRI, Frame.MNI):
            raise ValueError(f"expected an mri_from_mni transform, got {mri_from_mni.name}")
        return mri_from_mni.matrix
    matrix = np.asarray(mri_from_mni, dtype=float)
    if matrix.shape != (4, 4):
        raise ValueError(f"mri_from_mni must be 4x4, got {matrix.shape}")
    return matrix


def template_tissue_probability() -> tuple[np.ndarray, np.ndarray]:
    """``(grey + white matter probability in 0..1, mni_from_voxel)`` of the 1 mm template."""
    from ..targeting.mni_registration import load_mni_template

    grey, mni_from_voxel = load_mni_template("gm")
    white, _ = load_mni_template("wm")
    return np.clip(grey + white, 0.0, 1.0), mni_from_voxel


def _mni_mesh_inputs(max_faces: int) -> dict:
    return {"space": "mni152", "max_faces": int(max_faces), "maps": _MAPS, "level": TEMPLATE_LEVEL}


def _build_mni_mesh(max_faces: int, cancel: CancelToken | None = None) -> pv.PolyData:
    from .extract import extract_surface_from_mask

    tissue, mni_from_voxel = template_tissue_probability()
    return extract_surface_from_mask(tissue, mni_from_voxel, max_faces=max_faces, cancel=cancel)


def template_mesh_in_mni(max_faces: int = 150_000, *, cancel: CancelToken | None = None) -> pv.PolyData:
    """The template GM+WM surface in MNI152 mm, through the disk cache (one mesh for every
    patient: only its placement differs). Uses VTK: call it on the GUI thread, a job thread that
    owns the renderer's attention, or a child process (:func:`write_template_mesh`)."""
    from .cache import cached_mesh

    mesh, _ = cached_mesh("brain-template-mni", _mni_mesh_inputs(max_faces),
                          lambda: _build_mni_mesh(max_faces, cancel))
    return mesh


def template_cache_path(max_faces: int = 150_000) -> Path:
    """Where the disk cache keeps the MNI-space template mesh."""
    from .cache import mesh_cache_path

    return mesh_cache_path("brain-template-mni", _mni_mesh_inputs(max_faces))


def write_template_mesh(path: str | Path, max_faces: int = 150_000) -> None:
    """Build the MNI-space template mesh and save it at ``path`` (entry point for a child process,
    so that no VTK filter runs on a GUI process's worker thread; the parent names the path so that
    both agree on the cache entry whatever code the child imports)."""
    from .cache import save_mesh

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_mesh(target, _build_mni_mesh(max_faces))


def cached_template_arrays(max_faces: int = 150_000) -> dict[str, np.ndarray] | None:
    """The MNI-space template mesh as arrays from the disk cache, or None when not built yet.
    Numpy only (safe on a worker thread)."""
    from .cache import load_mesh_arrays

    path = template_cache_path(max_faces)
    return load_mesh_arrays(path) if path.is_file() else None


def vertex_normals(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals of a triangle mesh (numpy; follows the face winding)."""
    a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    face_normals = np.cross(b - a, c - a)          # length = twice the area: area weighting
    normals = np.zeros_like(points)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(length > 0, length, 1.0)


def place_template(arrays: dict[str, np.ndarray], mri_from_mni: Transform | np.ndarray
                   ) -> dict[str, np.ndarray]:
    """The MNI-space template mesh mapped into the patient's mri mm: ``points``, ``faces`` (wound
    outward), ``point__Normals``, ``field__mri_from_mni``. Numpy only.

    An affine maps the 0.5 level set of the template maps onto the 0.5 level set of the maps
    resampled through it, so mapping the vertices equals contouring resampled maps (up to the
    smoothing, done once in MNI space). A mirroring affine (det < 0) reverses the winding, so the
    faces are flipped back to keep the surface's outside out."""
    matrix = _check_mri_from_mni(mri_from_mni)
    points = np.asarray(arrays["points"], float) @ matrix[:3, :3].T + matrix[:3, 3]
    faces = np.asarray(arrays["faces"], np.int64)
    if np.linalg.det(matrix[:3, :3]) < 0:
        faces = faces[:, ::-1]
    return {"points": points, "faces": np.ascontiguousarray(faces),
            "point__Normals": vertex_normals(points, faces),
            "field__mri_from_mni": matrix.ravel().copy()}


def template_brain_from_arrays(placed: dict[str, np.ndarray], provenance: str = TEMPLATE_PROVENANCE
                               ) -> pv.PolyData:
    """The PolyData of :func:`place_template`'s arrays, with its provenance (VTK: GUI thread)."""
    from .cache import mesh_from_arrays

    return set_provenance(mesh_from_arrays(placed), provenance)


def template_brain_surface(mri_from_mni: Transform | np.ndarray, *, max_faces: int = 150_000,
                           provenance: str = TEMPLATE_PROVENANCE,
                           progress: ProgressCallback | None = None,
                           cancel: CancelToken | None = None) -> pv.PolyData:
    """Template GM+WM surface (probability 0.5) in the patient's mri mm, outward normals: the
    cached MNI-space mesh (:func:`template_mesh_in_mni`) placed by ``mri_from_mni``. A new mesh
    each call: callers may modify it. Uses VTK (see :func:`template_mesh_in_mni`)."""
    matrix = _check_mri_from_mni(mri_from_mni)
    report(progress, 0.0, "Brain surface from the template", cancel)
    mni = template_mesh_in_mni(max_faces, cancel=cancel)
    arrays = {"points": np.asarray(mni.points), "faces": np.asarray(mni.regular_faces)}
    mesh = template_brain_from_arrays(place_template(arrays, matrix), provenance)
    report(progress, 1.0, "Template brain surface ready", cancel)
    return mesh
