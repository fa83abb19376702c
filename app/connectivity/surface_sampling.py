"""Sample a volume map (the run's correlation map) on the brain surface and on a slice plane.

Why sample below the surface: the brain surface is the outer (pial-like) boundary, and the map is
defined only inside the grey-matter search region, so the map value *at* a vertex is often
outside the region (NaN). Like surface-based fMRI display (e.g. FreeSurfer's ``mri_vol2surf``
with a projection depth, nilearn's ``vol_to_surf`` "line" kind), each vertex takes the mean of
the map along its inward normal from 0 to 6 mm, i.e. through the cortical ribbon (cortex is
2-4 mm thick; Fischl & Dale 2000). Written here with ``scipy.ndimage.map_coordinates`` because
nilearn's sampler averages NaN into its samples and needs a mesh file or a pial/white pair,
whereas here NaN means "outside the search region" and must stay NaN.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["sample_on_surface", "sample_plane", "DEPTHS_MM"]

DEPTHS_MM = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)


def _voxel_coords(mri_from_voxel: np.ndarray, points_mm: np.ndarray) -> np.ndarray:
    """(3, N) voxel coordinates of (N, 3) mri mm points."""
    voxel_from_mri = np.linalg.inv(np.asarray(mri_from_voxel, float))
    return voxel_from_mri[:3, :3] @ points_mm.T + voxel_from_mri[:3, 3:4]


def sample_on_surface(r_map: np.ndarray, cluster_mask: np.ndarray, mri_from_voxel: np.ndarray,
                      points_mm: np.ndarray, normals: np.ndarray,
                      depths_mm: tuple[float, ...] = DEPTHS_MM) -> tuple[np.ndarray, np.ndarray]:
    """(r per vertex: mean of the finite samples along the inward normal, NaN where none;
    vertex over the cluster: any sample inside ``cluster_mask``)."""
    points = np.asarray(points_mm, float).reshape(-1, 3)
    n = np.asarray(normals, float).reshape(-1, 3)
    lengths = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, lengths, out=np.zeros_like(n), where=lengths > 0)
    r = np.asarray(r_map, np.float32)
    cluster = np.asarray(cluster_mask, bool).astype(np.float32)
    total = np.zeros(len(points))
    count = np.zeros(len(points))
    in_cluster = np.zeros(len(points), bool)
    for depth in depths_mm:
        coords = _voxel_coords(mri_from_voxel, points - depth * n)
        values = ndimage.map_coordinates(r, coords, order=1, mode="constant", cval=np.nan,
                                         prefilter=False)
        finite = np.isfinite(values)
        total[finite] += values[finite]
        count[finite] += 1
        in_cluster |= ndimage.map_coordinates(cluster, coords, order=0, mode="constant", cval=0.0) > 0.5
    mean = np.full(len(points), np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    return mean, in_cluster


def sample_plane(volume: np.ndarray, run_voxel_from_display: np.ndarray, axis: int, index: int,
                 shape: tuple[int, int, int], order: int) -> np.ndarray:
    """The volume on display plane ``index`` along display ``axis`` (indexed ``[h, v]`` like
    :meth:`SlicePlanes.plane`), NaN (or 0 for masks) outside the run's field of view."""
    h, v = [a for a in range(3) if a != axis]
    d = np.zeros((3, shape[h], shape[v]))
    d[h] = np.arange(shape[h])[:, None]
    d[v] = np.arange(shape[v])[None, :]
    d[axis] = index
    m = np.asarray(run_voxel_from_display, float)
    coords = np.tensordot(m[:3, :3], d, axes=1) + m[:3, 3][:, None, None]
    data = np.asarray(volume)
    if data.dtype == bool:
        return ndimage.map_coordinates(data.astype(np.uint8), coords, order=0, mode="constant", cval=0) > 0
    return ndimage.map_coordinates(data.astype(np.float32, copy=False), coords, order=order,
                                   mode="constant", cval=np.nan, prefilter=False)
