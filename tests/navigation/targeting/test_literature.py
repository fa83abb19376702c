"""Literature MNI targets and their projection onto a patient head."""

import numpy as np
import pytest

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.literature import LIBRARY, get, map_to_patient, stimulable
from tmsnav.navigation.targeting.scalp_geometry import HeadAxes, SurfaceMesh
from tmsnav.navigation.transforms import Transform
from tests.navigation.targeting import targeting_data


def test_library_coordinates_and_flags():
    expected = {"fox2012": (-38, 44, 26), "fox2012_alt": (-44, 38, 34), "weigand2018": (-42, 44, 30),
                "ba9": (-36, 39, 43), "ba46": (-44, 40, 29), "avg_5cm": (-41, 16, 54),
                "avg_f3": (-37, 26, 49), "sgacc_seed": (6, 16, -10),
                "m1_hand_left": (-37, -21, 58), "m1_hand_right": (37, -21, 58)}
    assert {e.key: e.mni_mm for e in LIBRARY} == expected
    assert get("fox2012").doi == "10.1016/j.biopsych.2012.04.028"
    assert all(e.citation and e.why for e in LIBRARY)
    assert "sgacc_seed" not in {e.key for e in stimulable()}
    assert "unverified" in get("weigand2018").evidence.why
    with pytest.raises(NavigationError, match="no literature target"):
        get("nope")


def test_sphere_projection_is_radial_and_axis_hits_target():
    """Sphere head (R 90), identity MNI->mri: the closest scalp point is radial, depth R - |c|."""
    scalp = SurfaceMesh(targeting_data.sphere(90.0, 120))
    ident = Transform.identity("mri", "mni")
    entry = get("fox2012")
    t = map_to_patient(entry, ident, scalp)
    c = np.array(entry.mni_mm, float)
    assert t.scalp_point_mm == pytest.approx(90.0 * c / np.linalg.norm(c), abs=0.3)  # facets
    assert t.depth_mm == pytest.approx(90.0 - np.linalg.norm(c), abs=0.1)
    assert t.normal == pytest.approx(-c / np.linalg.norm(c), abs=5e-3)
    assert t.cortex_point_mm == pytest.approx(c) and t.mni_point_mm == pytest.approx(c)
    assert t.source == "literature-mni" and "Fox" in t.evidence.citation
    assert t.handle_direction[0] < 0 and t.handle_direction[1] < 0  # left: posterolateral


def test_affine_is_applied_before_projection():
    scalp = SurfaceMesh(targeting_data.sphere(90.0, 120))
    m = np.diag([0.9, 1.1, 1.0, 1.0])
    m[:3, 3] = [2.0, -3.0, 4.0]
    t = map_to_patient(get("ba46"), Transform("mri", "mni", m), scalp)
    assert t.cortex_point_mm == pytest.approx([0.9 * -44 + 2, 1.1 * 40 - 3, 29 + 4])


def test_refusals():
    scalp = SurfaceMesh(targeting_data.sphere(90.0, 60))
    with pytest.raises(NavigationError, match="not a stimulation target"):
        map_to_patient(get("sgacc_seed"), Transform.identity("mri", "mni"), scalp)
    with pytest.raises(NavigationError, match="needs the mri_from_mni"):
        map_to_patient(get("ba9"), Transform.identity("mni", "mri"), scalp)
    far = Transform.from_translation([0, 0, 200.0], to_frame="mri", from_frame="mni")
    with pytest.raises(NavigationError, match="outside the scalp"):
        map_to_patient(get("ba9"), far, scalp)


def test_fsaverage_targets_left_and_plausible_depth():
    """fsaverage is MNI305: bring MNI152 coordinates in with FreeSurfer's linear matrix."""
    d = targeting_data
    ref = d.fsaverage_1010()
    axes = HeadAxes.from_landmarks(ref["NAS"], ref["LPA"], ref["RPA"])
    mri_from_mni = Transform("mri", "mni", np.linalg.inv(d.MNI152_FROM_MNI305))
    scalp = SurfaceMesh(d.fsaverage_scalp())
    brain = SurfaceMesh(d.fsaverage_inner_skull())
    for entry in stimulable():
        t = map_to_patient(entry, mri_from_mni, scalp, brain, head_axes=axes)
        assert np.sign(t.scalp_point_mm[0]) == np.sign(entry.mni_mm[0])
        assert 12.0 < t.depth_mm < 30.0  # measured 17-27 mm
        assert "from the brain surface" in t.notes
        v = t.cortex_point_mm - t.scalp_point_mm
        assert np.linalg.norm(v - t.normal * (v @ t.normal)) < 3.0  # axis meets target; measured <= 1.8
    # the Fox target's scalp entry is ~2 cm antero-inferior of the template F3 (measured 19 mm)
    f3 = ref["F3"]
    fox = map_to_patient(get("fox2012"), mri_from_mni, scalp, head_axes=axes)
    assert 5.0 < np.linalg.norm(fox.scalp_point_mm - f3) < 30.0
