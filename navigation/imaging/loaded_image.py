"""The result of reading one image file or DICOM series, before it becomes a Volume.

Its own module so that the format readers (:mod:`tmsnav.navigation.imaging.readers`) and the DICOM
series reader (:mod:`tmsnav.navigation.imaging.dicom_series`) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .checks import Problem

__all__ = ["LoadedImage"]


@dataclass
class LoadedImage:
    """Raw voxels as stored, the chosen ``mri_from_voxel`` (mm, RAS) and every problem found.

    ``affine_source`` says where ``mri_from_voxel`` came from (e.g. "qform", "sform", "mgh", "dicom");
    ``sha256`` is of exactly the bytes read; ``name`` is a short display name (no folders).
    """

    data: np.ndarray
    raw_shape: tuple[int, ...]
    mri_from_voxel: np.ndarray
    affine_source: str
    sha256: str
    name: str
    problems: list[Problem] = field(default_factory=list)
