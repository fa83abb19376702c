"""Writers of small MRI test files with known truth (NIfTI variants, corrupted copies).

The synthetic head is defined in *world* millimetres, so every stored variant (RAS, LAS,
oblique, DICOM LPS) samples the same anatomy; its LEFT hemisphere (x < 0 in RAS) carries a bright
marker, which is how the tests prove that left stays left.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.spatial.transform import Rotation

HEAD_CENTRE_RAS = np.array([2.0, -8.0, 12.0])
HEAD_SEMI_AXES = np.array([70.0, 90.0, 80.0])
MARKER_RAS = np.array([-38.0, 5.0, 25.0])   # patient LEFT (x < 0), anterior, superior
MARKER_RADIUS = 8.0
HEAD_VALUE, MARKER_VALUE = 300, 1000


def head_value_ras(xyz: np.ndarray) -> np.ndarray:
    """Intensity of the asymmetric test head at RAS points (..., 3)."""
    xyz = np.asarray(xyz, float)
    inside = np.sum(((xyz - HEAD_CENTRE_RAS) / HEAD_SEMI_AXES) ** 2, axis=-1) <= 1.0
    marker = np.linalg.norm(xyz - MARKER_RAS, axis=-1) <= MARKER_RADIUS
    out = np.where(inside, HEAD_VALUE, 0)
    return np.where(marker, MARKER_VALUE, out).astype(np.int16)


def sample_on_grid(affine: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The test head sampled at the world position of every voxel of ``affine``."""
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    xyz = ijk.reshape(-1, 3) @ affine[:3, :3].T + affine[:3, 3]
    return head_value_ras(xyz).reshape(shape)


def ras_affine(voxel_mm: float = 2.0, shape=(90, 110, 100)) -> np.ndarray:
    """Axis-aligned RAS storage whose grid covers the test head."""
    aff = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    aff[:3, 3] = HEAD_CENTRE_RAS - voxel_mm * (np.asarray(shape) - 1) / 2.0
    return aff


def oblique_affine(voxel_mm: float = 2.0, shape=(90, 110, 100), degrees=(15.0, -10.0, 20.0)) -> np.ndarray:
    """RAS-ish storage rotated by ``degrees`` (xyz Euler) about the head centre."""
    r = Rotation.from_euler("xyz", degrees, degrees=True).as_matrix()
    aff = np.eye(4)
    aff[:3, :3] = r * voxel_mm
    aff[:3, 3] = HEAD_CENTRE_RAS - aff[:3, :3] @ ((np.asarray(shape) - 1) / 2.0)
    return aff


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray, *, qform: np.ndarray | None = None,
                sform: np.ndarray | None = None, qcode: int = 1, scode: int = 1,
                units: str | None = "mm", klass=nib.Nifti1Image) -> Path:
    """Save with explicit qform/sform (each defaults to ``affine``; code 0 clears it)."""
    img = klass(data, affine)
    img.set_sform(affine if sform is None else sform, code=scode)
    img.set_qform(affine if qform is None else qform, code=qcode)
    if units is not None:
        img.header.set_xyzt_units(xyz=units)
    nib.save(img, str(path))
    return Path(path)


def marker_centroid_voxel(data: np.ndarray) -> np.ndarray:
    """Mean voxel index of the marker-valued voxels."""
    idx = np.argwhere(np.asarray(data) >= MARKER_VALUE * 0.9)
    assert len(idx) > 0, "marker not present in the data"
    return idx.mean(axis=0)


def patch_header(path: Path, **fields) -> Path:
    """Overwrite raw NIfTI-1 header fields of an uncompressed ``.nii`` in place (no checks),
    e.g. ``patch_header(p, vox_offset=1e6, magic=b"xx1")``."""
    raw = bytearray(Path(path).read_bytes())
    hdr = nib.Nifti1Header.from_fileobj(__import__("io").BytesIO(bytes(raw)), check=False)
    for key, value in fields.items():
        hdr._structarr[key] = value
    raw[:348] = hdr.binaryblock
    Path(path).write_bytes(bytes(raw))
    return Path(path)


def small_head(voxel_mm: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(data, affine) of the test head in RAS storage, 90 x 110 x 100 at 2 mm."""
    shape = (90, 110, 100)
    aff = ras_affine(voxel_mm, shape)
    return sample_on_grid(aff, shape), aff
