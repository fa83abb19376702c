"""The bundled sample head: files, fiducials on the right sides, brain inside the scalp."""

import nibabel as nib
import numpy as np
import pytest

from navigation import sample_head
from navigation.transforms import Frame


def test_sample_head_file_is_the_vendored_mean_head():
    image = nib.load(str(sample_head.sample_head_path()))
    assert image.shape == (176, 256, 256)
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")


def test_fiducials_are_on_the_sides_they_claim_and_plausibly_spaced():
    fids = sample_head.sample_head_fiducials()
    assert set(fids) >= {"nasion", "lpa", "rpa", "inion"}
    assert fids["lpa"][0] < -50.0 and fids["rpa"][0] > 50.0  # RAS: left is -x
    assert fids["nasion"][1] > fids["lpa"][1] + 60.0  # nasion in front of the ears
    assert fids["inion"][1] < fids["lpa"][1] - 60.0  # inion behind them
    assert 120.0 < np.linalg.norm(fids["lpa"] - fids["rpa"]) < 170.0
    assert 160.0 < np.linalg.norm(fids["nasion"] - fids["inion"]) < 220.0


def test_mri_from_mni_maps_left_hemisphere_to_the_left_of_the_midline():
    t = sample_head.sample_head_mri_from_mni()
    assert (t.to_frame, t.from_frame) == (Frame.MRI, Frame.MNI)
    fids = sample_head.sample_head_fiducials()
    midline_x = (fids["lpa"][0] + fids["rpa"][0]) / 2
    assert t.apply([-40.0, 0.0, 30.0])[0] < midline_x - 25.0
    assert t.apply([40.0, 0.0, 30.0])[0] > midline_x + 25.0
    scales = np.linalg.svd(t.rotation, compute_uv=False)
    assert np.all((scales > 0.85) & (scales < 1.15))


@pytest.mark.slow
def test_brain_surface_sits_inside_the_scalp(tmp_path, monkeypatch):
    """Every brain vertex is inside the closed scalp, more than 1.5 mm below it (the closest is
    ~3 mm, left temporal, where this head's scalp is thin), and the median scalp-to-brain depth is
    the usual 8-25 mm."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from navigation.surfaces import extract_scalp

    sample_head._brain_surface.cache_clear()
    brain = sample_head.sample_head_brain_surface(max_faces=60_000)
    assert 20_000 < brain.n_cells <= 60_000 and brain.n_open_edges == 0
    scalp = extract_scalp(nib.load(str(sample_head.sample_head_path())), max_faces=60_000)
    inside = brain.select_interior_points(scalp, check_surface=False)
    assert np.all(inside["selected_points"] == 1)
    distance = brain.compute_implicit_distance(scalp)["implicit_distance"]
    assert np.all(distance < -1.5)
    assert 8.0 < -np.median(distance) < 25.0
    fids = sample_head.sample_head_fiducials()
    assert brain.bounds.x_min < fids["lpa"][0] + 30 and brain.bounds.x_max > fids["rpa"][0] - 30
    copy = sample_head.sample_head_brain_surface(max_faces=60_000)
    copy.points[:] = 0.0  # callers get copies: the cached mesh is untouched
    assert not np.allclose(sample_head.sample_head_brain_surface(max_faces=60_000).points, 0.0)
