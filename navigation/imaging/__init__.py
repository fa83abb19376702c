"""MRI image input: reading NIfTI/DICOM/other files into a :class:`Volume` and the checks that
find import problems (wrong orientation, missing slices, ...). See docs/imaging.md.
"""

from .volume import (Volume, DisplayGrid, load_volume, ImageImportError, OrientationAmbiguous, ImportReport, Problem,
                     SUPPORTED_FORMATS)
from .loaded_image import LoadedImage
from .readers import read_any, describe_content, gunzip
from .dicom_series import SeriesInfo, MultipleSeries, list_series, read_series, RAS_FROM_LPS
from .checks import (MIN_VOXEL_MM, MAX_VOXEL_MM, MIN_EXTENT_MM, MAX_EXTENT_MM, AFFINE_TOL_MM, AFFINE_TOL_DEG, axcodes,
                     check_affine, check_voxel_sizes, check_extent, check_data, compare_affines, corners_mm,
                     check_skull_stripped, shell_intensity_ratio, SKULL_STRIPPED_MAX_ML, SKULL_SHELL_RATIO)

__all__ = [
    "Volume", "DisplayGrid", "load_volume", "ImageImportError", "OrientationAmbiguous", "ImportReport", "Problem",
    "SUPPORTED_FORMATS", "LoadedImage", "read_any", "describe_content", "gunzip", "SeriesInfo", "MultipleSeries",
    "list_series", "read_series", "RAS_FROM_LPS", "MIN_VOXEL_MM", "MAX_VOXEL_MM", "MIN_EXTENT_MM",
    "MAX_EXTENT_MM", "AFFINE_TOL_MM", "AFFINE_TOL_DEG", "axcodes", "check_affine", "check_voxel_sizes",
    "check_extent", "check_data", "compare_affines", "corners_mm", "check_skull_stripped",
    "shell_intensity_ratio", "SKULL_STRIPPED_MAX_ML", "SKULL_SHELL_RATIO"
]
