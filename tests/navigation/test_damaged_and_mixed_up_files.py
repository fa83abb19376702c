"""Files that are damaged or of the wrong kind, as users pick them from a FreeSurfer/SimNIBS export
folder: the message must give the cause in words, never a Python attribute error.

- A surface file (GIfTI) chosen where a voxel mask or segmentation is expected: ``nib.load`` reads
  it without complaint as a GiftiImage, which has no voxels.
- A damaged VTK-readable surface (.ply, .vtk): the reason VTK reported must reach the user (the
  reader once asked pyvista's ``VtkEvent`` for a ``description`` it does not have, so the user saw
  "'VtkEvent' object has no attribute 'description'")."""

import nibabel as nib
import numpy as np
import pytest
from nibabel.gifti import GiftiDataArray, GiftiImage

from tmsnav.navigation.surfaces.brain_sources import brain_mask_from_image
from tmsnav.navigation.surfaces.extract import SurfaceError
from tmsnav.navigation.surfaces.files import load_surface_file


def test_gifti_surface_chosen_as_mask_is_refused_as_not_a_voxel_image(tmp_path):
    points = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0]], dtype=np.float32)
    faces = np.array([[0, 1, 2]], dtype=np.int32)
    image = GiftiImage(darrays=[GiftiDataArray(points, intent="NIFTI_INTENT_POINTSET"),
                                GiftiDataArray(faces, intent="NIFTI_INTENT_TRIANGLE")])
    path = tmp_path / "lh.pial.gii"
    nib.save(image, str(path))
    with pytest.raises(SurfaceError, match=r"lh\.pial\.gii.*GiftiImage, not a voxel image"):
        brain_mask_from_image(path)


@pytest.mark.parametrize("name, content, reason", [
    ("brain.ply", np.random.default_rng(3).bytes(300), "Could not open PLY file"),
    ("brain.vtk", b"# vtk DataFile Version 3.0\nbrain\nASCII\nDATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 1\n",
     "No points read"),
])
def test_damaged_vtk_surface_names_vtks_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SurfaceError) as raised:
        load_surface_file(path)
    message = str(raised.value)
    assert name in message and reason in message, message
    assert "attribute" not in message, message
