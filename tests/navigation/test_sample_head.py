"""The bundled sample head: files, fiducials on the right sides, brain inside the scalp."""

import nibabel as nib
import numpy as np
import pytest

from tmsnav.navigation import sample_head
from tmsnav.navigation.surfaces import sample_brain
from tmsnav.navigation.transforms import Frame


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
    from tmsnav.navigation.surfaces.extract import extract_scalp

    sample_brain._brain_surface.cache_clear()
    brain = sample_brain.sample_head_brain_surface(max_faces=60_000)
    assert 20_000 < brain.n_cells <= 60_000 and brain.n_open_edges == 0
    scalp = extract_scalp(nib.load(str(sample_head.sample_head_path())), max_faces=60_000)
    inside = brain.select_interior_points(scalp, check_surface=False)
    assert np.all(inside["selected_points"] == 1)
    distance = brain.compute_implicit_distance(scalp)["implicit_distance"]
    assert np.all(distance < -1.5)
    assert 8.0 < -np.median(distance) < 25.0
    fids = sample_head.sample_head_fiducials()
    assert brain.bounds.x_min < fids["lpa"][0] + 30 and brain.bounds.x_max > fids["rpa"][0] - 30
    copy = sample_brain.sample_head_brain_surface(max_faces=60_000)
    copy.points[:] = 0.0  # callers get copies: the cached mesh is untouched
    assert not np.allclose(sample_brain.sample_head_brain_surface(max_faces=60_000).points, 0.0)


# ----- defect: the template was contoured at probability 0.5/255 (issue 10, defect 1) ----------
def test_template_tissue_maps_are_probabilities_from_0_to_1():
    """nilearn stores GM/WM as 0..255; load_mni_template must hand out probabilities."""
    from tmsnav.navigation.targeting.mni_registration import load_mni_template

    for kind in ("gm", "wm"):
        data, _ = load_mni_template(kind)
        assert 0.0 <= float(data.min()) and 0.95 < float(data.max()) <= 1.0


@pytest.fixture
def fresh_sample_brain(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sample_brain._brain_surface.cache_clear()
    yield sample_brain.sample_head_brain_surface()
    sample_brain._brain_surface.cache_clear()


@pytest.mark.safety(hazard="brain", control=(
    "the template brain is contoured at probability 0.5 (adult volume) and labelled "
    "approximate"))
def test_sample_brain_volume_is_adult_and_labelled_approximate(fresh_sample_brain):
    """GM+WM of an adult is ~1000-1600 mL; at probability 0.002 the sample brain was 1812 mL."""
    from tmsnav.navigation.surfaces.extract import mesh_volume_ml
    from tmsnav.navigation.surfaces.template_brain import provenance_of

    volume = mesh_volume_ml(fresh_sample_brain)
    assert 1000.0 < volume < 1600.0, volume
    assert provenance_of(fresh_sample_brain).startswith("approximate, from the template")


@pytest.mark.safety(hazard="brain", control=(
    "the F3 cortex point lies where the template calls it grey matter, at the depth "
    "read from the probability image itself (within 1 mm)"))
def test_f3_cortex_point_lies_in_template_grey_matter_at_the_depth_of_the_image(fresh_sample_brain):
    """The F3 cortex point (coil axis meets the brain surface) must sit where the template's
    GM+WM probability, mapped onto this head, crosses 0.5, and its depth must equal the depth
    found by marching along the coil axis through the probability image itself. With the old
    0.5/255 contour the point lay in CSF (probability 0.0) and was 4.5 mm too shallow."""
    from scipy import ndimage as ndi

    from tmsnav.navigation.imaging.volume import load_volume
    from tmsnav.navigation.surfaces.head import head_surfaces
    from tmsnav.navigation.targeting.beam_f3 import beam_f3_target
    from tmsnav.navigation.targeting.ten_twenty import HeadLandmarks
    from tmsnav.navigation.surfaces.template_brain import template_tissue_probability

    volume = load_volume(sample_head.sample_head_path())
    scalp = head_surfaces(volume).scalp
    f = sample_head.sample_head_fiducials()
    target = beam_f3_target(scalp, HeadLandmarks(f["nasion"], f["inion"], f["lpa"], f["rpa"]),
                            brain_mesh=fresh_sample_brain)
    tissue, mni_from_voxel = template_tissue_probability()
    voxel_from_mri = np.linalg.inv(sample_head.sample_head_mri_from_mni().matrix @ mni_from_voxel)

    def probability(points):
        ijk = np.atleast_2d(points) @ voxel_from_mri[:3, :3].T + voxel_from_mri[:3, 3]
        return ndi.map_coordinates(tissue, ijk.T, order=1)

    inward = target.normal
    assert 0.3 < probability(target.cortex_point_mm)[0] < 0.85
    assert probability(target.cortex_point_mm + 2.0 * inward)[0] > 0.5   # inside grey matter
    assert probability(target.cortex_point_mm - 2.0 * inward)[0] < 0.5   # outside: CSF
    steps = np.arange(0.0, 60.0, 0.1)
    along = probability(target.scalp_point_mm + steps[:, None] * inward)
    image_depth = steps[np.argmax(along > 0.5)]
    assert abs(target.depth_mm - image_depth) < 1.0, (target.depth_mm, image_depth)
    assert 10.0 < target.depth_mm < 25.0
