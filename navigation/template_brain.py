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

import numpy as np
import pyvista as pv

from .progress import CancelToken, ProgressCallback, report
from .transforms import Frame, Transform

__all__ = ["TEMPLATE_PROVENANCE", "TEMPLATE_LEVEL", "template_brain_surface", "template_tissue_probability",
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
    from .targeting.mni_registration import load_mni_template

    grey, mni_from_voxel = load_mni_template("gm")
    white, _ = load_mni_template("wm")
    return np.clip(grey + white, 0.0, 1.0), mni_from_voxel


def template_brain_surface(mri_from_mni: Transform | np.ndarray, *, max_faces: int = 150_000,
                           provenance: str = TEMPLATE_PROVENANCE,
                           progress: ProgressCallback | None = None,
                           cancel: CancelToken | None = None) -> pv.PolyData:
    """Template GM+WM surface (probability 0.5) in the patient's mri mm, outward normals, through
    the disk cache (keyed on ``mri_from_mni``, ``max_faces`` and the code version). A new mesh
    each call: callers may modify it."""
    from .surface_cache import cached_mesh
    from .surfaces import extract_surface_from_mask

    matrix = _check_mri_from_mni(mri_from_mni)
    report(progress, 0.0, "Brain surface from the template", cancel)

    def build() -> pv.PolyData:
        tissue, mni_from_voxel = template_tissue_probability()
        report(progress, 0.2, "Contouring the template brain", cancel)
        return extract_surface_from_mask(tissue, matrix @ mni_from_voxel, max_faces=max_faces,
                                         cancel=cancel)

    inputs = {"mri_from_mni": np.round(matrix, 6).tolist(), "max_faces": int(max_faces), "maps": _MAPS,
              "level": TEMPLATE_LEVEL}
    mesh, _ = cached_mesh("brain-template", inputs, build)
    set_provenance(mesh, provenance)
    mesh.field_data["mri_from_mni"] = matrix.ravel().copy()
    report(progress, 1.0, "Template brain surface ready", cancel)
    return mesh
