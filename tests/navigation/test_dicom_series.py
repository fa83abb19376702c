"""DICOM series import: LPS -> RAS, slice ordering, rescale, and every series problem."""

from __future__ import annotations

import hashlib

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import BasicTextSRStorage, ExplicitVRLittleEndian, JPEGLSLossless, generate_uid

from tmsnav.navigation.imaging.dicom_series import MultipleSeries, list_series
from tmsnav.navigation.errors import Cancelled
from tmsnav.navigation.imaging.checks import ImageImportError
from tmsnav.navigation.imaging.volume import load_volume
from tmsnav.navigation.progress import CancelToken
from tests.data_factories.dicom_files import CORONAL, SAGITTAL, write_series
from tests.data_factories.mri_files import MARKER_RAS, MARKER_VALUE, marker_centroid_voxel


def _assert_marker_left(vol, atol=2.0):
    centre = vol.voxel_to_mri(marker_centroid_voxel(vol.data))
    assert centre[0] < -20, f"marker at x={centre[0]:.1f}: left/right flipped"
    np.testing.assert_allclose(centre, MARKER_RAS, atol=atol)
    grid = vol.display_grid()
    d = marker_centroid_voxel(grid.data)
    assert d[0] < (grid.shape[0] - 1) / 2.0            # display axis 0 = Right: marker on its negative side
    assert grid.display_to_mri(d)[0] < -20


def test_axial_series_marker_left_and_rescaled(tmp_path):
    _, paths = write_series(tmp_path, slope=2.0, intercept=-100.0)
    # raw DICOM: rows run toward patient LEFT (+x LPS), so the left marker sits at HIGH columns
    raw = pydicom.dcmread(paths[0]).pixel_array
    assert raw.shape == (64, 56)
    vol = load_volume(tmp_path)
    assert vol.affine_source == "dicom" and vol.shape == (56, 64, 50)
    assert vol.axcodes == "LPS"              # stored as DICOM stores it, world is RAS
    assert vol.data.dtype == np.float32
    assert set(np.unique(vol.data)) == {0.0, 300.0, float(MARKER_VALUE)}  # slope/intercept applied
    assert marker_centroid_voxel(vol.data)[0] > 56 / 2
    _assert_marker_left(vol)
    np.testing.assert_allclose(vol.voxel_sizes_mm, [3.0, 3.2, 3.5], atol=1e-9)
    assert vol.name == "T1 MPRAGE (series 3)"
    assert vol.value_at(MARKER_RAS, order=0) == MARKER_VALUE


@pytest.mark.parametrize("iop", [SAGITTAL, CORONAL,
                                 ((0.9659258, 0.2588190, 0.0), (-0.2241439, 0.8365163, -0.5))])
def test_other_orientations_keep_left_left(tmp_path, iop):
    write_series(tmp_path, iop=iop, rows=64, cols=64, n_slices=56, pixel_spacing=(3.0, 3.0),
                 slice_step=3.0)
    vol = load_volume(tmp_path)
    _assert_marker_left(vol, atol=2.2)
    assert vol.data.dtype == np.int16        # no rescale asked: stored dtype kept


def test_file_order_is_irrelevant_and_single_file_loads_series(tmp_path):
    _, paths_a = write_series(tmp_path / "a")
    _, paths_b = write_series(tmp_path / "b", reverse=True)
    va, vb = load_volume(tmp_path / "a"), load_volume(paths_b[7])
    np.testing.assert_array_equal(va.data, vb.data)
    np.testing.assert_allclose(va.mri_from_voxel.matrix, vb.mri_from_voxel.matrix, atol=1e-6)
    # hash = the slice files in slice order
    order = sorted(paths_a, key=lambda p: float(pydicom.dcmread(p).ImagePositionPatient[2]))
    h = hashlib.sha256()
    for p in order:
        h.update(p.read_bytes())
    assert va.sha256 == h.hexdigest()


def test_mixed_series_listed_and_pickable(tmp_path):
    uid1, _ = write_series(tmp_path, description="T1 MPRAGE", series_number=3, name_fmt="A{:04d}.dcm")
    uid2, _ = write_series(tmp_path, description="T2 SPACE", series_number=5, n_slices=40,
                           slice_step=4.4, name_fmt="B{:04d}.dcm")
    with pytest.raises(MultipleSeries) as info:
        load_volume(tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg and "2 DICOM series" in msg
    for text in ("T1 MPRAGE (series 3, MR, 50 files)", "T2 SPACE (series 5, MR, 40 files)", uid1, uid2):
        assert text in msg
    assert [s.uid for s in info.value.series] == [uid1, uid2]
    assert [s.n_files for s in list_series(tmp_path)] == [50, 40]
    vol = load_volume(tmp_path, series_uid=uid2)
    assert vol.shape[2] == 40 and vol.name == "T2 SPACE (series 5)"
    with pytest.raises(ImageImportError, match="no series with UID 1.2.3"):
        load_volume(tmp_path, series_uid="1.2.3")


def test_missing_slice_names_the_gap(tmp_path):
    write_series(tmp_path, skip=(20,))
    with pytest.raises(ImageImportError, match=r"gap .* is 7.00 mm where slices are 3.50 mm apart: "
                                               r"about 1 slice\(s\) missing") as info:
        load_volume(tmp_path)
    assert info.value.problems[0].code == "dicom-missing-slices"


def test_duplicate_positions(tmp_path):
    uid, _ = write_series(tmp_path, name_fmt="E1_{:04d}.dcm")
    write_series(tmp_path, series_uid=uid, name_fmt="E2_{:04d}.dcm")
    with pytest.raises(ImageImportError, match="share a position"):
        load_volume(tmp_path)


def _save(path, ds, sop_class):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID = ds.get("SeriesInstanceUID", generate_uid())
    ds.save_as(path, enforce_file_format=True)


def test_non_image_dicom(tmp_path):
    ds = Dataset()
    ds.Modality = "SR"
    ds.SeriesDescription = "Radiology report"
    _save(tmp_path / "report.dcm", ds, BasicTextSRStorage)
    with pytest.raises(ImageImportError, match="is not an image"):
        load_volume(tmp_path / "report.dcm")


def test_image_without_pixel_data(tmp_path):
    uid, paths = write_series(tmp_path)
    ds = pydicom.dcmread(paths[3])
    del ds.PixelData
    ds.save_as(paths[3], enforce_file_format=True)
    with pytest.raises(ImageImportError, match="has no pixel data"):
        load_volume(tmp_path)


def test_missing_position_and_undecodable_pixels(tmp_path):
    _, paths = write_series(tmp_path / "pos")
    ds = pydicom.dcmread(paths[0])
    del ds.ImagePositionPatient
    ds.save_as(paths[0], enforce_file_format=True)
    with pytest.raises(ImageImportError, match="no valid ImagePositionPatient"):
        load_volume(tmp_path / "pos")
    _, paths = write_series(tmp_path / "jpeg")
    ds = pydicom.dcmread(paths[0])
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\xd8 not really jpeg-ls"])
    ds.save_as(paths[0], enforce_file_format=True)
    with pytest.raises(ImageImportError, match="cannot be decoded .*JPEG-LS"):
        load_volume(tmp_path / "jpeg")


def test_folder_without_dicom_and_junk_skipped(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hello")
    with pytest.raises(ImageImportError, match=r"no DICOM files found \(1 files looked at\)"):
        load_volume(tmp_path / "empty")
    (tmp_path / "empty" / "t1.nii.gz").write_bytes(b"\x1f\x8b" + bytes(20))
    with pytest.raises(ImageImportError, match="holds t1.nii.gz: open that file instead"):
        load_volume(tmp_path / "empty")
    write_series(tmp_path / "s")
    (tmp_path / "s" / "notes.txt").write_text("scan notes")
    assert load_volume(tmp_path / "s").report.has("dicom-skipped")


def test_thickness_note_progress_and_cancel(tmp_path):
    write_series(tmp_path, thickness=1.0)
    seen = []
    vol = load_volume(tmp_path, progress=lambda f, m: seen.append((f, m)))
    assert vol.report.has("dicom-thickness")
    assert sum("Reading slice" in m for _, m in seen) == 50
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    token = CancelToken()

    def cancel_midway(f, m):
        if "Reading slice 10/" in m:
            token.cancel()

    with pytest.raises(Cancelled):
        load_volume(tmp_path, progress=cancel_midway, cancel=token)
