"""The head mask's hole filling: one in-plane labelling gives exactly what filling every axial
slice with scipy's binary_fill_holes and then filling in 3-D gives (the slower original)."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.extract import _fill_holes


def reference(mask: np.ndarray, axial_axis: int) -> np.ndarray:
    filled = mask.copy()
    for k in range(mask.shape[axial_axis]):
        index = [slice(None)] * 3
        index[axial_axis] = slice(k, k + 1)
        filled[tuple(index)] = ndi.binary_fill_holes(np.squeeze(filled[tuple(index)], axial_axis)
                                                     ).reshape(filled[tuple(index)].shape)
    labels, _ = ndi.label(~filled)
    border = np.unique(np.concatenate([labels[0].ravel(), labels[-1].ravel(), labels[:, 0].ravel(),
                                       labels[:, -1].ravel(), labels[:, :, 0].ravel(), labels[:, :, -1].ravel()]))
    return ~np.isin(labels, border[border > 0])


@pytest.mark.parametrize("axial_axis", [0, 1, 2])
def test_equal_to_per_slice_filling_on_random_blobs(axial_axis):
    rng = np.random.default_rng(7 + axial_axis)
    mask = ndi.gaussian_filter(rng.random((40, 36, 32)), 1.5) > 0.5     # blobs with holes and rings
    assert np.array_equal(_fill_holes(mask, axial_axis), reference(mask, axial_axis))


def test_a_head_open_at_the_neck_is_closed_per_slice_and_equal_to_the_reference():
    ph = make_phantom_head(voxel_mm=3.0)
    data = np.asarray(ph.volume.data)
    shell = (data > 0.5 * data.max()) & ~ndi.binary_erosion(data > 0.5 * data.max(), iterations=2)
    shell[:, :, :3] = False                                                  # the neck cut: open
    axial = 2
    filled = _fill_holes(shell, axial)
    assert np.array_equal(filled, reference(shell, axial))
    middle = filled[:, :, shell.shape[2] // 2]
    assert middle.sum() > 3 * shell[:, :, shell.shape[2] // 2].sum()         # the inside is filled
