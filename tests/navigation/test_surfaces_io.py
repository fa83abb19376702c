"""Surface files (navigation/surfaces/files.py): every format, FreeSurfer tkr -> scanner RAS, units,
and every kind of bad file."""

import gzip

import nibabel as nib
import numpy as np
import pytest
import pyvista as pv

from tmsnav.navigation.surfaces.files import load_surface_file, mri_from_tkr
from tmsnav.navigation.surfaces.extract import SurfaceError


def sphere_mesh(radius=70.0, centre=(0.0, 0.0, 0.0)):
    return pv.Sphere(radius=radius, center=centre, theta_resolution=30, phi_resolution=30).triangulate()


def conformed_geometry(c_ras=(5.0, -12.0, 20.0)):
    """FreeSurfer conformed 256^3 LIA 1 mm volume centred on c_ras."""
    mdc = np.array([[-1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])
    affine = np.eye(4)
    affine[:3, :3] = mdc
    affine[:3, 3] = np.asarray(c_ras) - mdc @ [128, 128, 128]
    info = {"head": np.array([2, 0, 20]), "valid": "1  # volume info valid", "filename": "orig.mgz",
            "volume": np.array([256, 256, 256]), "voxelsize": np.array([1.0, 1.0, 1.0]),
            "xras": mdc[:, 0], "yras": mdc[:, 1], "zras": mdc[:, 2], "cras": np.asarray(c_ras, float)}
    return affine, info


@pytest.mark.parametrize("suffix", [".stl", ".vtk", ".vtp", ".ply", ".obj"])
def test_pyvista_formats_round_trip_in_mm(tmp_path, suffix):
    mesh = sphere_mesh(centre=(-30.0, 10.0, 5.0))
    path = tmp_path / f"brain{suffix}"
    mesh.save(str(path))
    loaded = load_surface_file(path)
    np.testing.assert_allclose(loaded.points.mean(axis=0), mesh.points.mean(axis=0), atol=1e-3)
    assert loaded.n_cells == mesh.n_cells and "Normals" in loaded.point_data


def test_freesurfer_surface_with_footer_goes_to_scanner_ras(tmp_path):
    affine, info = conformed_geometry()
    tkr = sphere_mesh(60.0)
    path = tmp_path / "lh.pial"
    nib.freesurfer.write_geometry(str(path), tkr.points, tkr.regular_faces, volume_info=info)
    loaded = load_surface_file(path)
    np.testing.assert_allclose(loaded.points.mean(axis=0), info["cras"], atol=1e-3)
    # with the T1 it was made from: same answer (centres agree)
    volume = (np.zeros((256, 256, 256), np.uint8), affine)
    np.testing.assert_allclose(load_surface_file(path, volume=volume).points, loaded.points, atol=1e-4)


def test_freesurfer_surface_without_footer_needs_the_volume(tmp_path):
    affine, info = conformed_geometry(c_ras=(-3.0, 7.0, 11.0))
    tkr = sphere_mesh(60.0)
    path = tmp_path / "rh.white"
    nib.freesurfer.write_geometry(str(path), tkr.points, tkr.regular_faces)
    with pytest.raises(SurfaceError, match="tkr"):
        load_surface_file(path)
    volume = (np.zeros((256, 256, 256), np.uint8), affine)
    loaded = load_surface_file(path, volume=volume)
    np.testing.assert_allclose(loaded.points.mean(axis=0), [-3.0, 7.0, 11.0], atol=1e-3)
    np.testing.assert_allclose(mri_from_tkr(volume)[:3, 3], [-3.0, 7.0, 11.0])


def test_freesurfer_surface_of_another_image_is_refused(tmp_path):
    _, info = conformed_geometry(c_ras=(5.0, -12.0, 20.0))
    other_affine, _ = conformed_geometry(c_ras=(40.0, 0.0, 0.0))
    tkr = sphere_mesh(60.0)
    path = tmp_path / "lh.pial"
    nib.freesurfer.write_geometry(str(path), tkr.points, tkr.regular_faces, volume_info=info)
    with pytest.raises(SurfaceError, match="another image"):
        load_surface_file(path, volume=(np.zeros((256, 256, 256), np.uint8), other_affine))


@pytest.mark.parametrize("gz", [False, True])
def test_gifti_surface(tmp_path, gz):
    mesh = sphere_mesh(50.0, centre=(20.0, 0.0, 0.0))
    image = nib.gifti.GiftiImage(darrays=[
        nib.gifti.GiftiDataArray(mesh.points.astype(np.float32), intent="NIFTI_INTENT_POINTSET"),
        nib.gifti.GiftiDataArray(mesh.regular_faces.astype(np.int32), intent="NIFTI_INTENT_TRIANGLE")])
    path = tmp_path / ("pial.gii.gz" if gz else "pial.gii")
    raw = image.to_bytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    loaded = load_surface_file(path)
    np.testing.assert_allclose(loaded.points.mean(axis=0), mesh.points.mean(axis=0), atol=1e-3)


def test_gifti_without_triangles_is_refused(tmp_path):
    image = nib.gifti.GiftiImage(darrays=[
        nib.gifti.GiftiDataArray(np.zeros(10, np.float32), intent="NIFTI_INTENT_SHAPE")])
    path = tmp_path / "lh.sulc.gii"
    path.write_bytes(image.to_bytes())
    with pytest.raises(SurfaceError, match="without a surface"):
        load_surface_file(path)


def test_metres_and_centimetres_are_refused_unless_scaled(tmp_path):
    path = tmp_path / "head_m.stl"
    sphere_mesh(0.09).save(str(path))
    with pytest.raises(SurfaceError, match="metres.*scale_to_mm=1000"):
        load_surface_file(path)
    assert np.ptp(load_surface_file(path, scale_to_mm=1000).points[:, 0]) == pytest.approx(180.0, rel=0.01)
    cm = tmp_path / "head_cm.ply"
    sphere_mesh(9.0).save(str(cm))
    with pytest.raises(SurfaceError, match="centimetres"):
        load_surface_file(cm)
    huge = tmp_path / "head_um.vtp"
    sphere_mesh(90_000.0).save(str(huge))
    with pytest.raises(SurfaceError, match="too large"):
        load_surface_file(huge)
    with pytest.raises(SurfaceError, match="positive"):
        load_surface_file(path, scale_to_mm=-1.0)


def test_missing_empty_corrupt_and_unknown_files(tmp_path):
    with pytest.raises(SurfaceError, match="not found"):
        load_surface_file(tmp_path / "nope.stl")
    empty = tmp_path / "empty.stl"
    empty.write_bytes(b"")
    with pytest.raises(SurfaceError, match="empty"):
        load_surface_file(empty)
    good = tmp_path / "good.stl"
    sphere_mesh().save(str(good))
    truncated = tmp_path / "cut.stl"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(SurfaceError):
        load_surface_file(truncated)
    garbage = tmp_path / "junk.vtp"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(SurfaceError):
        load_surface_file(garbage)
    fs_cut = tmp_path / "lh.pial"
    fs_cut.write_bytes(b"\xff\xff\xfecreated by test\n\n" + b"\x00\x01")
    with pytest.raises(SurfaceError, match="lh.pial"):
        load_surface_file(fs_cut)
    unknown = tmp_path / "brain.xyz"
    unknown.write_text("1 2 3\n")
    with pytest.raises(SurfaceError, match="unknown surface format"):
        load_surface_file(unknown)
    points_only = tmp_path / "cloud.vtp"
    pv.PolyData(np.random.default_rng(1).normal(size=(100, 3)) * 50).save(str(points_only))
    with pytest.raises(SurfaceError, match="no triangles"):
        load_surface_file(points_only)


def test_bad_vertex_values_are_refused(tmp_path):
    mesh = sphere_mesh()
    points = mesh.points.copy()
    points[3] = np.nan
    path = tmp_path / "nan.gii"
    image = nib.gifti.GiftiImage(darrays=[
        nib.gifti.GiftiDataArray(points.astype(np.float32), intent="NIFTI_INTENT_POINTSET"),
        nib.gifti.GiftiDataArray(mesh.regular_faces.astype(np.int32), intent="NIFTI_INTENT_TRIANGLE")])
    path.write_bytes(image.to_bytes())
    with pytest.raises(SurfaceError, match="NaN"):
        load_surface_file(path)
    faces = mesh.regular_faces.copy()
    faces[0, 0] = 10_000
    bad = tmp_path / "badface.gii"
    image = nib.gifti.GiftiImage(darrays=[
        nib.gifti.GiftiDataArray(mesh.points.astype(np.float32), intent="NIFTI_INTENT_POINTSET"),
        nib.gifti.GiftiDataArray(faces.astype(np.int32), intent="NIFTI_INTENT_TRIANGLE")])
    bad.write_bytes(image.to_bytes())
    with pytest.raises(SurfaceError, match="do not exist"):
        load_surface_file(bad)
