"""The template brain is one MNI-space mesh placed on each head by its affine, in numpy only, so
that the GUI can make it on a worker thread without VTK (VTK filters off the GUI thread while it
renders can deadlock). These tests pin that the numpy placement equals what VTK would give."""

import numpy as np
import pytest

from tmsnav.navigation.surfaces.brain_sources import check_brain_arrays, check_brain_in_scalp, scalp_arrays
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.head import head_surfaces
from tmsnav.navigation.surfaces.template_brain import (place_template, template_brain_from_arrays, template_mesh_in_mni,
                                                       template_transform_of, vertex_normals, write_template_mesh)
from tmsnav.navigation.surfaces.cache import load_mesh_arrays


@pytest.fixture(scope="module")
def mni_arrays():
    mesh = template_mesh_in_mni(60_000)
    return {"points": np.asarray(mesh.points, float), "faces": np.asarray(mesh.regular_faces),
            "normals": np.asarray(mesh.point_data["Normals"], float)}


def _signed_volume(points, faces):
    a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def test_numpy_normals_agree_with_vtk_normals(mni_arrays):
    mine = vertex_normals(mni_arrays["points"], mni_arrays["faces"])
    cos = np.einsum("ij,ij->i", mine, mni_arrays["normals"])
    assert np.median(cos) > 0.999 and np.mean(cos > 0.9) > 0.99


@pytest.mark.parametrize("mirror", [False, True])
def test_placed_template_is_moved_scaled_and_stays_outward(mni_arrays, mirror):
    matrix = np.eye(4)
    matrix[:3, :3] = np.diag([-1.1 if mirror else 1.1, 0.95, 1.05])
    matrix[:3, 3] = [3.0, -20.0, 40.0]
    placed = place_template(mni_arrays, matrix)
    expected = mni_arrays["points"] @ matrix[:3, :3].T + matrix[:3, 3]
    np.testing.assert_allclose(placed["points"], expected)
    # outward: positive enclosed volume with the kept winding, normals away from the centre
    volume = _signed_volume(placed["points"], placed["faces"])
    assert volume > 0
    assert volume == pytest.approx(abs(np.linalg.det(matrix[:3, :3])) * _signed_volume(
        mni_arrays["points"], mni_arrays["faces"]), rel=1e-9)
    # normals are the MNI normals mapped as covectors (inverse transpose): outward stays outward
    mapped = mni_arrays["normals"] @ np.linalg.inv(matrix[:3, :3])
    mapped /= np.linalg.norm(mapped, axis=1, keepdims=True)
    cos = np.einsum("ij,ij->i", placed["point__Normals"], mapped)
    assert np.median(cos) > 0.999 and np.mean(cos > 0.9) > 0.99
    mesh = template_brain_from_arrays(placed)
    np.testing.assert_allclose(template_transform_of(mesh), matrix)


def test_child_written_mesh_reads_back_as_the_same_arrays(tmp_path, mni_arrays):
    path = tmp_path / "template.npz"
    write_template_mesh(path, 60_000)
    arrays = load_mesh_arrays(path)
    assert arrays is not None
    np.testing.assert_allclose(arrays["points"], mni_arrays["points"])
    np.testing.assert_array_equal(arrays["faces"], mni_arrays["faces"])


def test_array_check_equals_the_mesh_check():
    phantom = make_phantom_head(voxel_mm=2.0)
    surfaces = head_surfaces(phantom.volume, max_faces=20_000)
    from tmsnav.navigation.surfaces.extract import extract_surface_from_mask

    brain_mask = phantom.brain.signed_distance(
        phantom.volume.voxel_to_mri(np.indices(phantom.volume.shape).reshape(3, -1).T)) < 0
    brain = extract_surface_from_mask(brain_mask.reshape(phantom.volume.shape), phantom.volume.mri_from_voxel,
                                      max_faces=20_000)
    by_mesh = check_brain_in_scalp(brain, surfaces.scalp)
    by_arrays = check_brain_arrays(np.asarray(brain.points), np.asarray(brain.regular_faces),
                                   *scalp_arrays(surfaces.scalp))
    assert by_mesh == by_arrays
    assert by_arrays.inside_fraction == 1.0 and by_arrays.median_gap_mm > 3.0
