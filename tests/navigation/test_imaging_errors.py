"""Every import error a user can cause has a specific, readable message naming the file."""

from __future__ import annotations

import gzip
import struct

import nibabel as nib
import numpy as np
import pytest

from tmsnav.navigation.errors import Cancelled, NavigationError
from tmsnav.navigation.imaging.checks import ImageImportError, OrientationAmbiguous
from tmsnav.navigation.imaging.volume import load_volume
from tmsnav.navigation.progress import CancelToken
from tests.data_factories.mri_files import patch_header, small_head, write_nifti


@pytest.fixture(scope="module")
def head():
    return small_head()


def _err(path, match, **kw) -> ImageImportError:
    with pytest.raises(ImageImportError, match=match) as info:
        load_volume(path, **kw)
    msg = str(info.value)
    assert str(path) in msg, f"message does not name the file: {msg}"
    assert "Traceback" not in msg and isinstance(info.value, NavigationError)
    return info.value


# ----- wrong or damaged files ---------------------------------------------------------------
def test_missing_file(tmp_path):
    _err(tmp_path / "nothere.nii.gz", "no such file")


def test_text_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("patient notes\n")
    _err(p, r"not a supported image \(it looks like a text file\)")


def test_png_renamed_nii(tmp_path):
    p = tmp_path / "scan.nii"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(600))
    _err(p, "looks like a PNG picture")


def test_empty_file(tmp_path):
    p = tmp_path / "e.nii"
    p.write_bytes(b"")
    _err(p, "empty")


@pytest.mark.safety(hazard="damaged-image", control="a truncated .nii.gz is refused with a message, not half-loaded")
def test_gz_cut_in_half(tmp_path, head):
    p = write_nifti(tmp_path / "h.nii.gz", *head)
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    e = _err(p, "truncated")
    assert e.problems[0].code == "gzip-truncated"


def test_gz_corrupt_bytes(tmp_path, head):
    p = write_nifti(tmp_path / "h.nii.gz", *head)
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)
    p.write_bytes(bytes(raw))
    _err(p, "corrupt")


def test_wrong_magic(tmp_path, head):
    p = patch_header(write_nifti(tmp_path / "m.nii", *head), magic=b"abc")
    _err(p, "wrong NIfTI magic")


def test_vox_offset_past_eof(tmp_path, head):
    p = patch_header(write_nifti(tmp_path / "o.nii", *head), vox_offset=5e7)
    _err(p, "vox_offset 50000000 is past the end of the file")


def test_truncated_uncompressed(tmp_path, head):
    p = write_nifti(tmp_path / "t.nii", *head)
    p.write_bytes(p.read_bytes()[:100_000])
    _err(p, "is truncated: the header promises")


# ----- dimensions and voxel values ----------------------------------------------------------
def test_4d_rejected_single_volume_accepted(tmp_path, head):
    data, aff = head
    p4 = write_nifti(tmp_path / "f.nii", np.stack([data, data], axis=-1), aff)
    _err(p4, "4-D image with 2 volumes")
    vol = load_volume(p4, require_3d=False)
    assert vol.shape == data.shape and vol.report.has("first-volume-only")
    p1 = write_nifti(tmp_path / "one.nii", data[..., None], aff)
    vol1 = load_volume(p1)
    assert vol1.shape == data.shape and vol1.report.has("squeezed-4d")
    np.testing.assert_array_equal(vol1.data, data)


def test_2d_rejected(tmp_path):
    p = write_nifti(tmp_path / "flat.nii", np.arange(100, dtype=np.int16).reshape(10, 10), np.eye(4))
    _err(p, "2-D image")


def test_nan_voxels_replaced_with_warning(tmp_path, head):
    data, aff = head
    f = data.astype(np.float32)
    f[:3] = np.nan
    f[5, 5, 5] = np.inf
    vol = load_volume(write_nifti(tmp_path / "nan.nii", f, aff))
    n_bad = 3 * f.shape[1] * f.shape[2] + 1
    w = [p for p in vol.report.warnings if p.code == "data-nonfinite-replaced"]
    assert w and w[0].message.startswith(f"{n_bad} voxels")
    assert np.all(np.isfinite(vol.data)) and vol.data[0, 0, 0] == 0


@pytest.mark.safety(hazard="damaged-image", control="an image of NaNs is refused")
def test_all_nan_rejected(tmp_path, head):
    _, aff = head
    p = write_nifti(tmp_path / "allnan.nii", np.full((60, 60, 60), np.nan, np.float32), aff)
    _err(p, "every voxel is NaN")


def test_scaled_data_become_float_unscaled_keep_dtype(tmp_path, head):
    data, aff = head
    img = nib.Nifti1Image(data, aff)
    img.header.set_slope_inter(2.0, 10.0)
    img.set_sform(aff, 1)
    nib.save(img, tmp_path / "s.nii")
    vol = load_volume(tmp_path / "s.nii")
    assert vol.data.dtype.kind == "f"
    assert vol.data.max() == pytest.approx(2 * data.max() + 10)
    assert load_volume(write_nifti(tmp_path / "u.nii", data, aff)).data.dtype == np.int16


# ----- voxel sizes, affines, units ----------------------------------------------------------
@pytest.mark.safety(hazard="damaged-image", control="zero, negative or absurd voxel sizes are refused")
@pytest.mark.parametrize("pixdim,match", [((0.0, 2.0, 2.0), "must be positive"),
                                          ((-2.0, 2.0, 2.0), "must be positive"),
                                          ((0.05, 2.0, 2.0), "implausible"),
                                          ((20.0, 2.0, 2.0), "implausible")])
def test_bad_voxel_sizes(tmp_path, head, pixdim, match):
    data, _ = head
    p = write_nifti(tmp_path / "v.nii", data, np.diag([2.0, 2.0, 2.0, 1.0]), qcode=0, scode=0)
    patch_header(p, pixdim=[1.0, *pixdim, 1.0, 0, 0, 0])
    _err(p, match)


def test_nan_in_sform_rejected_unless_other_chosen(tmp_path, head):
    data, aff = head
    p = write_nifti(tmp_path / "n.nii", data, aff)
    patch_header(p, srow_x=[np.nan, 0, 0, 0])
    _err(p, "sform affine contains NaN")
    vol = load_volume(p, affine_choice="qform")
    assert vol.affine_source == "qform"
    np.testing.assert_allclose(vol.mri_from_voxel.matrix, aff, atol=1e-4)


@pytest.mark.safety(hazard="damaged-image", control="a singular orientation matrix is refused")
def test_singular_sform(tmp_path, head):
    data, aff = head
    bad = aff.copy()
    bad[:3, 2] = bad[:3, 0]  # two voxel axes point the same way
    p = write_nifti(tmp_path / "s.nii", data, aff, sform=bad, qcode=0)
    _err(p, "singular")


@pytest.mark.safety(hazard="units", control="a NIfTI in metres is converted to mm")
def test_units_metres_converted_to_mm(tmp_path, head):
    data, aff_mm = head
    aff_m = aff_mm.copy()
    aff_m[:3] /= 1000.0
    p = write_nifti(tmp_path / "m.nii", data, aff_m, units="meter")
    vol = load_volume(p)
    np.testing.assert_allclose(vol.mri_from_voxel.matrix, aff_mm, atol=1e-3)
    assert vol.report.has("units-converted")


@pytest.mark.safety(hazard="units", control="a NIfTI in microns is converted to mm")
def test_units_microns_converted_to_mm(tmp_path, head):
    data, aff_mm = head
    aff_u = aff_mm.copy()
    aff_u[:3] *= 1000.0
    vol = load_volume(write_nifti(tmp_path / "u.nii", data, aff_u, units="micron"))
    np.testing.assert_allclose(vol.voxel_sizes_mm, [2, 2, 2], atol=1e-6)


@pytest.mark.safety(hazard="units", control="a header saying metres on mm-sized voxels is refused")
def test_units_metres_but_values_in_mm_rejected(tmp_path, head):
    data, aff = head
    p = write_nifti(tmp_path / "wrongunit.nii", data, aff, units="meter")
    e = _err(p, "implausible")
    assert "metre" in str(e) or "meter" in str(e)


def test_small_extent_warns(tmp_path):
    data = np.zeros((20, 20, 20), np.int16)
    data[5:15, 5:15, 5:15] = 100
    vol = load_volume(write_nifti(tmp_path / "small.nii", data, np.eye(4)))
    assert vol.report.has("extent-implausible")
    assert "field of view 20 x 20 x 20 mm" in vol.report.summary()


def test_constant_image_rejected(tmp_path):
    _err(write_nifti(tmp_path / "c.nii", np.zeros((60, 60, 60), np.int16), np.diag([2, 2, 2, 1.0])),
         "same value")


# ----- orientation safety -------------------------------------------------------------------
@pytest.mark.safety(hazard="orientation", control="qform and sform that disagree by a flip stop the load and ask")
def test_qform_sform_flip_is_ambiguous(tmp_path, head):
    data, aff = head
    flipped = aff.copy()
    flipped[0, 0], flipped[0, 3] = -aff[0, 0], -aff[0, 3]
    p = write_nifti(tmp_path / "flip.nii", data, aff, qform=flipped)
    with pytest.raises(OrientationAmbiguous) as info:
        load_volume(p)
    msg = str(info.value)
    assert "sform RAS" in msg and "qform LAS" in msg and "a flip" in msg
    assert set(info.value.options) == {"sform", "qform"}
    np.testing.assert_allclose(info.value.options["qform"], flipped, atol=1e-4)
    vol = load_volume(p, affine_choice="qform")
    assert vol.axcodes == "LAS" and vol.affine_source == "qform"
    note = [x for x in vol.report.infos if x.code == "affine-chosen"][0].message
    assert "chosen by the user" in note and "sform RAS" in note


@pytest.mark.safety(hazard="orientation", control="small qform/sform differences pass, large shifts or rotations ask")
@pytest.mark.parametrize("shift_mm,rot_deg,ambiguous", [(0.5, 0.0, False), (1.5, 0.0, True),
                                                        (0.0, 0.3, False), (0.0, 2.0, True)])
def test_qform_sform_tolerance(tmp_path, head, shift_mm, rot_deg, ambiguous):
    """Tolerance is 1 mm at every corner of the field of view (so 0.5 deg about the centre of
    this 180-220 mm grid already moves corners 1.2 mm) and 1 deg between axes."""
    data, aff = head
    c, s = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    rot = np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    centre = aff @ np.r_[(np.array(data.shape) - 1) / 2.0, 1]
    about = np.eye(4)
    about[:3, 3] = centre[:3]
    q = about @ rot @ np.linalg.inv(about) @ aff
    q[1, 3] += shift_mm
    p = write_nifti(tmp_path / "tol.nii", data, aff, qform=q)
    if ambiguous:
        with pytest.raises(OrientationAmbiguous):
            load_volume(p)
    else:
        vol = load_volume(p)
        assert vol.affine_source == "sform"
        np.testing.assert_allclose(vol.mri_from_voxel.matrix, aff, atol=1e-4)


@pytest.mark.safety(hazard="orientation",
                    control="an image without orientation codes needs confirmation before navigation")
def test_no_orientation_codes_need_confirmation(tmp_path, head):
    data, aff = head
    vol = load_volume(write_nifti(tmp_path / "base.nii", data, aff, qcode=0, scode=0))
    assert vol.affine_source == "base" and vol.report.needs_confirmation
    assert vol.report.has("orientation-unknown")
    assert "left and right may be swapped" in vol.report.summary()
    np.testing.assert_allclose(vol.voxel_sizes_mm, [2, 2, 2])
    confirmed = vol.with_orientation_confirmed("L marker checked by Dr X")
    assert not confirmed.report.needs_confirmation


def test_only_qform_is_used(tmp_path, head):
    data, aff = head
    vol = load_volume(write_nifti(tmp_path / "q.nii", data, aff, scode=0))
    assert vol.affine_source == "qform" and not vol.report.needs_confirmation


def test_bad_affine_choice(tmp_path, head):
    data, aff = head
    p = write_nifti(tmp_path / "q.nii", data, aff, scode=0)
    _err(p, "sform cannot be used: sform_code is 0", affine_choice="sform")
    with pytest.raises(ValueError):
        load_volume(p, affine_choice="best")


# ----- progress, cancel, other formats ------------------------------------------------------
def test_progress_and_cancel(tmp_path, head):
    p = write_nifti(tmp_path / "p.nii.gz", *head)
    seen: list[float] = []
    load_volume(p, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        load_volume(p, cancel=token)


def test_hash_is_of_file_bytes(tmp_path, head):
    import hashlib
    p = write_nifti(tmp_path / "h.nii.gz", *head)
    assert load_volume(p).sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_other_containers_load(tmp_path, head):
    data, aff = head
    nib.save(nib.MGHImage(data.astype(np.float32), aff), tmp_path / "t.mgz")
    write_nifti(tmp_path / "t2.nii", data, aff, klass=nib.Nifti2Image)
    write_nifti(tmp_path / "pair.hdr", data, aff, klass=nib.Nifti1Pair)
    for name, source in (("t.mgz", "mgh"), ("t2.nii", "sform"), ("pair.img", "sform")):
        vol = load_volume(tmp_path / name)
        assert vol.affine_source == source, name
        np.testing.assert_allclose(vol.mri_from_voxel.matrix, aff, atol=1e-4)
        np.testing.assert_array_equal(vol.data, data)
    (tmp_path / "pair.img").unlink()
    _err(tmp_path / "pair.hdr", "other half")


@pytest.mark.safety(hazard="orientation", control="ANALYZE files (no orientation) need confirmation")
def test_analyze_has_unknown_orientation(tmp_path, head):
    data, aff = head
    nib.save(nib.AnalyzeImage(data, aff), tmp_path / "a.hdr")
    vol = load_volume(tmp_path / "a.hdr")
    assert vol.affine_source == "base" and vol.report.needs_confirmation


def test_mgz_truncated(tmp_path, head):
    data, aff = head
    nib.save(nib.MGHImage(data.astype(np.float32), aff), tmp_path / "t.mgz")
    raw = gzip.decompress((tmp_path / "t.mgz").read_bytes())
    (tmp_path / "cut.mgh").write_bytes(raw[: len(raw) // 3])
    _err(tmp_path / "cut.mgh", "cannot be read")
    (tmp_path / "bad.mgh").write_bytes(struct.pack(">i", 7) + bytes(400))
    _err(tmp_path / "bad.mgh", "not a FreeSurfer MGH")


def test_nifti_content_with_unusual_name_and_no_name(tmp_path, head):
    p = write_nifti(tmp_path / "h.nii", *head)
    for name in ("scan.dat", "T1"):
        q = tmp_path / name
        q.write_bytes(p.read_bytes())
        assert load_volume(q).shape == head[0].shape
    (tmp_path / "junk").write_bytes(bytes(range(256)) * 4)
    _err(tmp_path / "junk", "not a readable DICOM file")
