"""Write a 4-D NIfTI-1 file block by block along time, never holding the whole run in memory.

Why by hand: ``nibabel.save`` needs the whole array (or an array proxy of a file that already
exists). A NIfTI-1 single file is a 348-byte header, a 4-byte extension flag and the voxels in
Fortran order (x fastest, time slowest), so consecutive blocks of volumes are consecutive byte
ranges and can be appended one after the other, through gzip as well (NIfTI-1 spec, NIMH DFWG
2004, fields ``vox_offset``, ``dim``, ``pixdim``, ``xyzt_units``). The header itself is made by
nibabel, which reads the result back for the tests.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO, Iterable

import numpy as np

__all__ = ["write_nifti_stream"]

VOX_OFFSET = 352


def write_nifti_stream(path: str | Path, shape: tuple[int, int, int, int], affine: np.ndarray, tr_s: float,
                       blocks: Iterable[np.ndarray], dtype=np.int16) -> Path:
    """Write ``blocks`` (each (X, Y, Z, n) of ``dtype``, in time order) as ``path`` (.nii or .nii.gz).

    The file is written under a temporary name and renamed at the end, so an interrupted run leaves
    no half-written image under the real name. Raises ValueError when the blocks do not add up to
    ``shape``."""
    import nibabel as nib

    path = Path(path)
    header = nib.Nifti1Header()
    header.set_data_dtype(dtype)
    header.set_data_shape(shape)
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=1)
    zooms = list(header.get_zooms())
    zooms[3] = float(tr_s)
    header.set_zooms(zooms)
    header.set_xyzt_units("mm", "sec")
    header["vox_offset"] = VOX_OFFSET
    tmp = path.with_name(f".{path.name}.partial")
    written = 0
    try:
        stream: IO[bytes] = (gzip.open(tmp, "wb", compresslevel=1) if path.name.endswith(".gz")  # type: ignore[assignment]
                             else open(tmp, "wb"))
        with stream:
            stream.write(header.binaryblock)
            stream.write(b"\x00" * (VOX_OFFSET - len(header.binaryblock)))
            for block in blocks:
                block = np.asarray(block, dtype=dtype)
                if block.ndim != 4 or block.shape[:3] != tuple(shape[:3]):
                    raise ValueError(f"block of shape {block.shape} does not fit a run of shape {shape}")
                stream.write(block.tobytes(order="F"))
                written += block.shape[3]
        if written != shape[3]:
            raise ValueError(f"{written} volumes written, the header says {shape[3]}")
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
