"""Head and brain surfaces in mri mm: scalp extraction, the disk cache, surface files, brain
sources (FreeSurfer, GIfTI, SimNIBS, masks) and the MNI template brain. See docs/surfaces.md.

The modules depend one way: extract <- cache, files <- head; template_brain <- sample_brain;
inside the package each module imports the module it needs, never this ``__init__``.
"""

from .extract import (SurfaceError, volume_arrays, head_threshold, head_mask, extract_scalp,
                      extract_surface_from_mask, SURFACE_CODE_VERSION, mesh_volume_ml, orient_outward,
                      skin_edge_levels)
from .cache import (volume_sha256, image_identity, user_cache_dir, cache_key, cached_mesh, cached_json, save_mesh,
                    load_mesh, load_mesh_arrays, mesh_from_arrays, mesh_cache_path)
from .files import load_surface_file, mri_from_tkr, FREESURFER_MAGIC, PYVISTA_SUFFIXES
from .head import HeadSurfaces, head_surfaces
from .simnibs_msh import MshError, GM_SURFACE_TAG, read_msh_triangles, read_msh_surface
from .template_brain import (TEMPLATE_PROVENANCE, TEMPLATE_LEVEL, template_brain_surface, template_tissue_probability,
                             template_mesh_in_mni, write_template_mesh, template_cache_path, cached_template_arrays,
                             place_template, template_brain_from_arrays, vertex_normals, set_provenance,
                             provenance_of, template_transform_of)
from .brain_sources import (BrainCheck, load_brain, check_brain_in_scalp, check_brain_arrays, scalp_arrays,
                            brain_mask_from_image, describe_brain, MASK_SUFFIXES, MIN_INSIDE_FRACTION, GAP_RANGE_MM,
                            VOLUME_RANGE_ML)
from .sample_brain import sample_head_brain_surface, SAMPLE_BRAIN_PROVENANCE, BRAIN_MAX_FACES

__all__ = [
    "SurfaceError", "volume_arrays", "head_threshold", "head_mask", "extract_scalp", "extract_surface_from_mask",
    "SURFACE_CODE_VERSION", "mesh_volume_ml", "orient_outward", "skin_edge_levels", "volume_sha256",
    "image_identity", "user_cache_dir", "cache_key", "cached_mesh", "cached_json", "save_mesh", "load_mesh",
    "load_mesh_arrays", "mesh_from_arrays", "mesh_cache_path", "load_surface_file", "mri_from_tkr",
    "FREESURFER_MAGIC", "PYVISTA_SUFFIXES", "HeadSurfaces", "head_surfaces", "MshError", "GM_SURFACE_TAG",
    "read_msh_triangles", "read_msh_surface", "TEMPLATE_PROVENANCE", "TEMPLATE_LEVEL", "template_brain_surface",
    "template_tissue_probability", "template_mesh_in_mni", "write_template_mesh", "template_cache_path",
    "cached_template_arrays", "place_template", "template_brain_from_arrays", "vertex_normals", "set_provenance",
    "provenance_of", "template_transform_of", "BrainCheck", "load_brain", "check_brain_in_scalp",
    "check_brain_arrays", "scalp_arrays", "brain_mask_from_image", "describe_brain", "MASK_SUFFIXES",
    "MIN_INSIDE_FRACTION", "GAP_RANGE_MM", "VOLUME_RANGE_ML", "sample_head_brain_surface",
    "SAMPLE_BRAIN_PROVENANCE", "BRAIN_MAX_FACES"
]
