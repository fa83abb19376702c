"""Confounds tables in their other shapes, and the template tissue masks in a run's grid."""

from __future__ import annotations

import numpy as np
import pytest

from tests.navigation.connectivity import inputs_data as D
from tmsnav.navigation.connectivity.confounds import framewise_displacement, read_confounds
from tmsnav.navigation.connectivity.tissue_masks import tissue_masks


def _table(tmp_path, columns: list[str], motion: np.ndarray):
    lines = ["\t".join(columns)]
    for r, row in enumerate(motion):
        values = {c: row[i] for i, c in enumerate(["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"])}
        values["global_signal"] = 100.0 + r
        lines.append("\t".join(f"{values[c]:.8g}" for c in columns))
    path = tmp_path / "old_desc-confounds_regressors.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_old_fmriprep_table_gets_derivatives_and_fd(tmp_path):
    """fMRIPrep < 1.2 wrote no _derivative1 and (with some options) no framewise_displacement."""
    motion = D.motion_table(100)
    columns = ["global_signal", "trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    table = read_confounds(_table(tmp_path, columns, motion), 100)
    assert table.names[:6] == ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    assert table.names[6:12] == [f"{c}_derivative1" for c in table.names[:6]]
    assert table.names[12:] == ["global_signal"]
    assert np.allclose(table.values[1:, 6:12], np.diff(motion, axis=0), atol=1e-6)
    assert np.all(table.values[0, 6:12] == 0.0)
    assert np.allclose(table.values[:, 12], 100.0 + np.arange(100))
    assert np.allclose(table.fd_mm, framewise_displacement(motion), atol=1e-5)
    assert any("recomputed from the motion parameters" in w for w in table.warnings)


def test_n_a_after_the_first_row_is_refused(tmp_path):
    path = D.write_confounds(tmp_path / "c.tsv", 100)
    lines = path.read_text().splitlines()
    fields = lines[6].split("\t")
    fields[fields.index(next(f for f in fields if f != "n/a"))] = "n/a"
    lines[6] = "\t".join(fields)
    path.write_text("\n".join(lines) + "\n")
    from tmsnav.navigation.connectivity.bold_file import FunctionalInputError

    with pytest.raises(FunctionalInputError, match=r"n/a values after the first row \(rows \[5\]\)"):
        read_confounds(path, 100)


def _mni_grid(voxel_mm: float, flip_x: bool = False) -> tuple[np.ndarray, tuple[int, int, int]]:
    lo = np.array([-90.0, -126.0, -72.0])
    shape = (int(180 / voxel_mm) + 1, int(216 / voxel_mm) + 1, int(180 / voxel_mm) + 1)
    affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    affine[:3, 3] = lo
    if flip_x:
        affine[0, 0] = -voxel_mm
        affine[0, 3] = lo[0] + voxel_mm * (shape[0] - 1)
    return affine, shape


def _at(mask: np.ndarray, affine: np.ndarray, mni) -> float:
    ijk = np.round(np.linalg.inv(affine) @ np.r_[mni, 1.0])[:3].astype(int)
    return float(mask[tuple(ijk)])


def _near(mask: np.ndarray, affine: np.ndarray, mni, radius_mm: float = 8.0) -> bool:
    points = np.argwhere(mask) @ affine[:3, :3].T + affine[:3, 3]
    return bool(len(points)) and float(np.min(np.linalg.norm(points - np.asarray(mni, float), axis=1))) <= radius_mm


def test_tissue_masks_sit_on_the_anatomy():
    affine, shape = _mni_grid(3.0)
    masks = tissue_masks(shape, affine)
    assert masks.gm_probability.max() <= 1.0             # probabilities, not nilearn's 0..255
    assert _at(masks.wm, affine, [-28, -10, 30]) == 1.0    # corona radiata
    assert _at(masks.wm, affine, [28, -10, 30]) == 1.0
    assert _near(masks.csf, affine, [-6, 4, 16]) and _near(masks.csf, affine, [6, 4, 16])   # lateral ventricles
    assert _at(masks.gm_probability, affine, [-40, 40, 30]) > 0.4                           # left DLPFC cortex
    assert _at(masks.brain, affine, [0, 0, 20]) == 1.0 and _at(masks.brain, affine, [0, 0, 95]) == 0.0
    assert not (masks.wm & masks.csf).any()


def test_tissue_masks_follow_mirrored_storage():
    a, shape = _mni_grid(3.0)
    b, _ = _mni_grid(3.0, flip_x=True)
    plain, mirrored = tissue_masks(shape, a), tissue_masks(shape, b)
    assert np.array_equal(plain.brain, mirrored.brain[::-1])
    assert np.allclose(plain.gm_probability, mirrored.gm_probability[::-1], atol=1e-6)


@pytest.mark.parametrize("voxel_mm", [4.0, 6.0])
def test_ventricles_survive_coarse_voxels(voxel_mm):
    """Eroding in the run's own grid left 4 CSF voxels at 3 mm and none in the ventricles: the
    cores are eroded on the 1 mm template before they come to the grid."""
    affine, shape = _mni_grid(voxel_mm)
    masks = tissue_masks(shape, affine)
    assert _near(masks.csf, affine, [-6, 4, 16], voxel_mm) and _near(masks.csf, affine, [6, 4, 16], voxel_mm)
    assert masks.warnings == []


def test_field_of_view_without_csf_says_so():
    affine, shape = _mni_grid(3.0)
    affine[2, 3] = 60.0                  # a slab over the top of the head only
    masks = tissue_masks((shape[0], shape[1], 8), affine)
    assert not masks.csf.any()
    assert any("no CSF in the run's field of view" in w for w in masks.warnings)
