"""Write small DICOM MR series with pydicom, geometry given in patient LPS (DICOM PS3.3
C.7.6.2.1.1: +x toward the patient's LEFT, +y POSTERIOR, +z SUPERIOR)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from tests.data_factories.mri_files import head_value_ras


def head_value_lps(p_lps: np.ndarray) -> np.ndarray:
    """The asymmetric test head seen in LPS: patient left is +x here, -x in RAS."""
    p = np.asarray(p_lps, float)
    return head_value_ras(np.stack([-p[..., 0], -p[..., 1], p[..., 2]], axis=-1))


AXIAL = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))      # rows run to patient left, columns to posterior
SAGITTAL = ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0))
CORONAL = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0))


def write_series(folder: Path, *, rows: int = 64, cols: int = 56, n_slices: int = 50,
                 pixel_spacing=(3.2, 3.0), slice_step: float = 3.5,
                 iop=AXIAL, centre_lps=(-2.0, 8.0, 12.0), slope: float = 1.0,
                 intercept: float = 0.0, series_uid: str | None = None, description: str = "T1 MPRAGE",
                 series_number: int = 3, skip: tuple[int, ...] = (), reverse: bool = False,
                 value_fn=head_value_lps, thickness: float | None = None,
                 name_fmt: str = "IM{:04d}.dcm") -> tuple[str, list[Path]]:
    """One file per slice; stored pixel = (value - intercept) / slope. Files are named in a
    shuffled order so that sorting by name would be wrong. Returns (series UID, paths)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    row_cos, col_cos = np.array(iop[0], float), np.array(iop[1], float)
    normal = np.cross(row_cos, col_cos)
    dr, dc = pixel_spacing
    centre = np.asarray(centre_lps, float)
    first = (centre - row_cos * dc * (cols - 1) / 2 - col_cos * dr * (rows - 1) / 2
             - normal * slice_step * (n_slices - 1) / 2)
    uid = series_uid or generate_uid()
    study = generate_uid()
    rng = np.random.default_rng(len(description) + n_slices)
    names = rng.permutation(n_slices)
    r_idx, c_idx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    paths = []
    for k in range(n_slices):
        if k in skip:
            continue
        ipp = first + normal * slice_step * k
        pts = ipp + c_idx[..., None] * dc * row_cos + r_idx[..., None] * dr * col_cos
        stored = np.round((value_fn(pts).astype(float) - intercept) / slope).astype(np.int16)
        ds = _dataset(stored, uid, study, description, series_number, k, ipp, iop, pixel_spacing,
                      thickness if thickness is not None else slice_step, slope, intercept)
        path = folder / name_fmt.format(int(names[k]) if not reverse else n_slices - k)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return uid, paths


def _dataset(pixels, uid, study, description, series_number, k, ipp, iop, spacing, thickness,
             slope, intercept) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.PatientName = "Phantom^Test"
    ds.PatientID = "TEST0001"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = uid
    ds.SeriesDescription = description
    ds.SeriesNumber = series_number
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp]
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in (*iop[0], *iop[1])]
    ds.PixelSpacing = [f"{v:g}" for v in spacing]
    ds.SliceThickness = f"{thickness:g}"
    ds.RescaleSlope = f"{slope:g}"
    ds.RescaleIntercept = f"{intercept:g}"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<i2").tobytes()
    return ds
