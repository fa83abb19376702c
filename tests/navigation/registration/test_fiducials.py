"""Closed-form rigid fit and fiducial registration: agreement with an independent solver and
every guard (mirror, L/R swap, units, collinear, span, names, FRE limits)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.registration import (RegistrationError, check_scalp_side, fit_rigid,
                                            register_fiducials)
from tmsnav.navigation.transforms import Frame

NAS, LPA, RPA = (1.5, 85.0, -35.0), (-80.6, -29.1, -41.3), (84.4, -28.5, -41.3)
INION, CZ = (0.0, -110.0, -20.0), (0.0, -20.0, 100.0)


def _pose(seed):
    rng = np.random.default_rng(seed)
    return Rotation.random(random_state=rng).as_matrix(), rng.uniform(-300, 300, 3)


def _touch(points, rot, trans, rng=None, noise=0.0):
    out = {}
    for name, p in points.items():
        q = rot @ np.asarray(p, float) + trans
        out[name] = q + (rng.normal(scale=noise, size=3) if rng is not None else 0.0)
    return out


@pytest.mark.parametrize("n", [3, 4, 7])
@pytest.mark.parametrize("weighted", [False, True])
def test_fit_agrees_with_scipy_align_vectors(n, weighted):
    rng = np.random.default_rng(n + 10 * weighted)
    src = rng.uniform(-100, 100, (n, 3))
    rot, trans = _pose(n)
    dst = src @ rot.T + trans + rng.normal(scale=2.0, size=(n, 3))
    w = rng.uniform(0.2, 3.0, n) if weighted else np.ones(n)
    fit = fit_rigid(src, dst, w if weighted else None)
    # independent solution: scipy's Kabsch on weighted-centroid-centred vectors
    wn = w / w.sum()
    cs, cd = wn @ src, wn @ dst
    r_ref, _ = Rotation.align_vectors(dst - cd, src - cs, weights=w)
    mapped_ref = (src - cs) @ r_ref.as_matrix().T + cd
    assert np.abs(fit.apply(src) - mapped_ref).max() < 1e-6
    assert np.linalg.det(fit.rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(fit.residuals_mm, np.linalg.norm(fit.apply(src) - dst, axis=1))


def test_exact_points_give_exact_transform_and_zero_fre():
    rot, trans = _pose(3)
    mri = {"nasion": NAS, "lpa": LPA, "rpa": RPA}
    touched = _touch(mri, rot.T, -rot.T @ trans)      # reference = inv(pose) · mri
    reg = register_fiducials(mri, touched)
    assert reg.mri_from_reference.to_frame == Frame.MRI
    assert reg.mri_from_reference.from_frame == Frame.REFERENCE
    np.testing.assert_allclose(reg.mri_from_reference.rotation, rot, atol=1e-9)
    np.testing.assert_allclose(reg.mri_from_reference.translation, trans, atol=1e-6)
    assert reg.fre_rms_mm < 1e-6 and reg.accepted and reg.problems == ()


def test_fre_per_point_and_rejection_of_a_bad_point():
    rng = np.random.default_rng(5)
    rot, trans = _pose(5)
    mri = {"nasion": NAS, "lpa": LPA, "rpa": RPA, "inion": INION, "cz": CZ}
    touched = _touch(mri, rot, trans, rng, 0.5)
    good = register_fiducials(mri, touched)
    assert good.accepted and good.fre_rms_mm < 1.5
    assert set(good.fre_by_name) == set(mri)
    touched["cz"] = touched["cz"] + np.array([0.0, 25.0, 0.0])   # mis-touched by 25 mm
    bad = register_fiducials(mri, touched)
    assert not bad.accepted
    assert max(bad.fre_by_name, key=bad.fre_by_name.get) == "cz"
    assert any("'cz'" in p for p in bad.problems)


def test_mirrored_touch_order_is_detected_with_four_fiducials():
    rot, trans = _pose(7)
    mri = {"nasion": NAS, "lpa": LPA, "rpa": RPA, "cz": CZ}
    touched = _touch(mri, rot, trans)
    touched["lpa"], touched["rpa"] = touched["rpa"], touched["lpa"]
    with pytest.raises(RegistrationError, match="mirror image.*LPA and RPA"):
        register_fiducials(mri, touched)


def test_mirrored_set_detected_by_fit_rigid_even_with_noise():
    rng = np.random.default_rng(8)
    src = rng.uniform(-80, 80, (6, 3))
    mirrored = src * np.array([-1.0, 1.0, 1.0]) + rng.normal(scale=1.0, size=(6, 3))
    fit = fit_rigid(src, mirrored)
    assert fit.mirrored and fit.reflected_rms_mm < fit.rms_mm / 2


def test_three_fiducials_swapped_fit_perfectly_but_scalp_side_catches_it():
    rot, trans = _pose(9)
    mri = {"nasion": NAS, "lpa": LPA, "rpa": RPA}
    touched = _touch(mri, rot, trans)
    touched["lpa"], touched["rpa"] = touched["rpa"], touched["lpa"]
    reg = register_fiducials(mri, touched)          # a proper rotation fits (almost) exactly...
    assert reg.accepted and reg.fre_rms_mm < 0.1
    rng = np.random.default_rng(9)
    top = rng.normal(size=(200, 3)) * [40, 50, 10] + [0, 0, 90]      # vertex area, mri
    scalp_ref = top @ rot.T + trans
    with pytest.raises(RegistrationError, match="LPA and RPA.*swapped"):
        check_scalp_side(touched, scalp_ref)        # ...but the scalp comes out "below"
    correct = _touch(mri, rot, trans)
    assert check_scalp_side(correct, scalp_ref) > 50.0


def test_mri_left_right_labels_swapped():
    mri = {"nasion": NAS, "lpa": RPA, "rpa": LPA}
    rot, trans = _pose(11)
    with pytest.raises(RegistrationError, match="LPA .* is not left of RPA"):
        register_fiducials(mri, _touch(mri, rot, trans))


@pytest.mark.parametrize("factor, unit", [(0.1, "centimetres"), (1 / 25.4, "inches"),
                                          (0.001, "metres")])
def test_tracker_unit_mixup_is_named(factor, unit):
    mri = {"nasion": NAS, "lpa": LPA, "rpa": RPA}
    rot, trans = _pose(12)
    touched = {k: v * factor for k, v in _touch(mri, rot, trans).items()}
    with pytest.raises(RegistrationError, match=f"tracker points are probably in {unit}"):
        register_fiducials(mri, touched)


def test_mri_points_in_cm_are_named():
    mri_mm = {"nasion": NAS, "lpa": LPA, "rpa": RPA}
    rot, trans = _pose(13)
    touched = _touch(mri_mm, rot, trans)
    mri_cm = {k: np.asarray(v) / 10 for k, v in mri_mm.items()}
    with pytest.raises(RegistrationError, match="MRI points are probably in centimetres"):
        register_fiducials(mri_cm, touched)


def test_collinear_and_tiny_and_duplicate_sets():
    line = {"a": (0, 0, 0), "b": (60, 1, 0), "c": (120, 0, 2)}
    with pytest.raises(RegistrationError, match="on one line"):
        register_fiducials(line, line)
    small = {"a": (0, 0, 0), "b": (30, 0, 0), "c": (0, 30, 0)}
    with pytest.raises(RegistrationError, match="span .* mm"):
        register_fiducials(small, small)
    dup = {"a": (0, 0, 0), "b": (100, 0, 0), "c": (0, 100, 0), "d": (3, 0, 0)}
    with pytest.raises(RegistrationError, match="'a' and 'd' are only 3.0 mm apart"):
        register_fiducials(dup, dup)


def test_names_must_match_and_need_three():
    mri = {"nasion": NAS, "lpa": LPA, "rpa": RPA}
    with pytest.raises(RegistrationError, match="not touched yet: rpa"):
        register_fiducials(mri, {"nasion": NAS, "lpa": LPA})
    with pytest.raises(RegistrationError, match="At least 3"):
        register_fiducials({"nasion": NAS, "lpa": LPA}, {"nasion": NAS, "lpa": LPA})
    with pytest.raises(RegistrationError, match="NaN"):
        register_fiducials(mri, {"nasion": NAS, "lpa": LPA, "rpa": (np.nan, 0, 0)})


def test_weights_downweight_a_bad_fiducial():
    rot, trans = _pose(14)
    mri = {"nasion": NAS, "lpa": LPA, "rpa": RPA, "inion": INION, "cz": CZ}
    touched = _touch(mri, rot, trans)
    touched["inion"] = touched["inion"] + 8.0
    even = register_fiducials(mri, touched)
    weighted = register_fiducials(mri, touched, weights={"inion": 1e-3})
    err = [np.linalg.norm(r.mri_from_reference.apply(touched["nasion"]) - NAS)
           for r in (even, weighted)]
    assert err[1] < 0.1 < err[0]
