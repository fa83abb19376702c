"""The correlation map on the three slices: a semi-transparent colour layer with the search-region
outline (white) and the cluster outline (yellow), plus the target and split-half targets as markers.

The map is drawn with a diverging colour map centred at r = 0 (blue: anticorrelated with the
sgACC, which is what the target is; red: correlated); voxels with |r| below the threshold are
left clear so the anatomy shows. Each view draws the plane it shows, resampled from the run's
grid through ``display -> mri -> run voxel``, so an oblique or flipped run lands where it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6 import QtGui
from scipy import ndimage

from ..slice_view import Marker, SliceView
from .surface_sampling import sample_plane

__all__ = ["OverlaySettings", "MapData", "MapLayer", "colour_lut", "rgba_for", "LAYER",
           "SEARCH_COLOUR", "CLUSTER_COLOUR", "TARGET_COLOUR", "SPLIT_COLOUR", "BAR_TITLE", "CMAP"]

LAYER = "connectivity"
CMAP = "RdBu_r"
BAR_TITLE = "r (correlation with sgACC)"
SEARCH_COLOUR = (255, 255, 255)
CLUSTER_COLOUR = (255, 214, 0)
TARGET_COLOUR = "#ffd600"
SPLIT_COLOUR = "#ff9100"


@dataclass(frozen=True)
class OverlaySettings:
    """What the overlay controls set (the same for the 3-D view and the slices)."""

    threshold: float = 0.1          # |r| below this is not coloured
    opacity: float = 0.7            # of the colour layer (outlines stay opaque)
    show_map: bool = True
    show_search: bool = True
    show_cluster: bool = True


def colour_lut() -> np.ndarray:
    """(256, 4) uint8 RGBA of the diverging colour map (matplotlib's RdBu reversed)."""
    from matplotlib import colormaps

    return (np.asarray(colormaps[CMAP](np.linspace(0.0, 1.0, 256))) * 255).round().astype(np.uint8)


class MapData:
    """One result's volumes and the transform that puts them on the patient (mri mm)."""

    def __init__(self, r_map: np.ndarray, search_mask: np.ndarray, cluster_mask: np.ndarray,
                 mri_from_voxel: np.ndarray, target_mri: np.ndarray, split_targets_mri: list) -> None:
        self.r = np.asarray(r_map, np.float32)
        self.search = np.asarray(search_mask, bool)
        self.cluster = np.asarray(cluster_mask, bool)
        self.mri_from_voxel = np.asarray(mri_from_voxel, float).reshape(4, 4)
        self.voxel_from_mri = np.linalg.inv(self.mri_from_voxel)
        self.target_mri = np.asarray(target_mri, float).reshape(3)
        self.split_targets_mri = [np.asarray(p, float).reshape(3) for p in split_targets_mri]
        finite = self.r[np.isfinite(self.r)]
        peak = float(np.abs(finite).max()) if finite.size else 0.0
        #: colour scale limit: |r| at the ends of the bar, rounded up to 0.05 (at least 0.1)
        self.r_limit = max(0.1, float(np.ceil(peak / 0.05 - 1e-9) * 0.05))

    def markers(self) -> list[Marker]:
        out = [Marker(tuple(self.target_mri), TARGET_COLOUR, "fMRI target")]
        out += [Marker(tuple(p), SPLIT_COLOUR, f"half {i + 1}") for i, p in enumerate(self.split_targets_mri)]
        return out


def rgba_for(r: np.ndarray, r_limit: float, lut: np.ndarray, threshold: float, opacity: float) -> np.ndarray:
    """RGBA (uint8) of r values: the diverging map, clear where NaN or |r| < threshold."""
    r = np.asarray(r, float)
    finite = np.isfinite(r)
    scaled = np.where(finite, (np.clip(r, -r_limit, r_limit) + r_limit) / (2 * r_limit), 0.5)
    rgba = lut[np.clip((scaled * 255).round().astype(int), 0, 255)].copy()
    shown = finite & (np.abs(np.where(finite, r, 0.0)) >= threshold)
    rgba[..., 3] = np.where(shown, int(round(255 * float(np.clip(opacity, 0, 1)))), 0)
    return rgba


def _outline(mask: np.ndarray, thick: bool) -> np.ndarray:
    edge = mask & ~ndimage.binary_erosion(mask)
    return ndimage.binary_dilation(edge) & mask if thick else edge


class MapLayer:
    """A :class:`~tmsnav.app.slice_view.SliceLayer` drawing one result on a slice view."""

    def __init__(self, data: MapData, settings: OverlaySettings, lut: np.ndarray) -> None:
        self.data = data
        self.settings = settings
        self.lut = lut
        self._cache: dict[tuple, np.ndarray] = {}

    def plane_rgba(self, view: SliceView) -> np.ndarray | None:
        """The layer's RGBA image of the plane the view shows, ``[h, v, 4]`` (cached)."""
        planes = view.planes
        if planes is None:
            return None
        key = (id(planes), view.s_axis, view.slice_index, self.settings)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        m = self.data.voxel_from_mri @ planes.mri_from_display.matrix
        args = (m, view.s_axis, view.slice_index, planes.shape)
        s = self.settings
        if s.show_map:
            rgba = rgba_for(sample_plane(self.data.r, *args, order=1), self.data.r_limit, self.lut,
                            s.threshold, s.opacity)
        else:
            h, v = [a for a in range(3) if a != view.s_axis]
            rgba = np.zeros((planes.shape[h], planes.shape[v], 4), np.uint8)
        for show, mask, colour, thick in ((s.show_search, self.data.search, SEARCH_COLOUR, False),
                                          (s.show_cluster, self.data.cluster, CLUSTER_COLOUR, True)):
            if show:
                edge = _outline(sample_plane(mask, *args, order=0), thick)
                rgba[edge] = (*colour, 255)
        if len(self._cache) > 12:
            self._cache.clear()
        self._cache[key] = rgba
        return rgba

    def paint(self, p: QtGui.QPainter, view: SliceView) -> None:
        rgba = self.plane_rgba(view)
        if rgba is None or not rgba[..., 3].any():
            return
        rows = view.plane_rows(rgba)
        image = QtGui.QImage(rows.data, rows.shape[1], rows.shape[0], rows.strides[0],
                             QtGui.QImage.Format.Format_RGBA8888)
        p.drawImage(view.image_rect(), image)
