"""Touch-time distance check: a wrong spot is named before a fit is possible."""

import numpy as np
from scipy.spatial.transform import Rotation

from tmsnav.navigation.registration.touch_checks import distance_mismatches

MRI = {"nasion": np.array([0.0, 84.0, 5.0]), "lpa": np.array([-80.0, -18.0, 5.0]),
       "rpa": np.array([80.0, -18.0, 5.0])}


def touched(mri, rng, error_mm=2.5):
    rot = Rotation.random(random_state=rng)
    out = {}
    for k, v in mri.items():
        e = rng.normal(size=3)
        out[k] = rot.apply(v + error_mm * e / np.linalg.norm(e)) + [300, -40, -1500]
    return out


def test_normal_localisation_error_passes_and_a_wrong_spot_is_named():
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert distance_mismatches(MRI, touched(MRI, rng)) == []
    wrong = dict(MRI)
    wrong["lpa"] = MRI["lpa"] + [25.0, 20.0, 0.0]     # touched in front of the ear
    t = touched(wrong, rng, error_mm=0.0)
    found = distance_mismatches(MRI, {"nasion": t["nasion"], "lpa": t["lpa"]})
    assert len(found) == 1
    a, b, d_mri, d_touch = found[0]
    assert (a, b) == ("nasion", "lpa") and d_touch < d_mri - 10
    assert "'lpa' was touched" in found[0].message and "closer to 'nasion'" in found[0].message


def test_only_common_names_are_compared():
    t = {"nasion": [0, 0, 0], "inion": [0, -200, 0]}
    assert distance_mismatches(MRI, t) == []
