"""Pass / warn / fail grading of registrations with known errors."""

import numpy as np
import pytest
import pyvista as pv
from scipy.spatial.transform import Rotation

from tmsnav.navigation.registration import SurfaceIndex, register
from tmsnav.navigation.registration.verdict import FAIL, PASS, WARN, Thresholds, assess_registration
from tmsnav.navigation.transforms import Frame, Transform

SEMI = np.array([75.0, 95.0, 85.0])
MRI_FIDUCIALS = {"nasion": [0.0, 93.5, -10.0], "lpa": [-74.5, -8.0, -12.0],
                 "rpa": [74.5, -8.0, -12.0]}
TARGET = {"DLPFC": [-35.0, 45.0, 45.0]}


@pytest.fixture(scope="module")
def scalp():
    mesh = pv.ParametricEllipsoid(*SEMI, u_res=80, v_res=80, w_res=10).triangulate().clean()
    return mesh, SurfaceIndex(mesh)


def reference_from_mri():
    return Transform.from_rotation(Rotation.from_euler("xyz", [10, -20, 70], degrees=True),
                                   [100.0, -50.0, 30.0], to_frame=Frame.REFERENCE,
                                   from_frame=Frame.MRI)


def touch(offsets=None, rng=None):
    ref = reference_from_mri()
    out = {}
    for name, p in MRI_FIDUCIALS.items():
        err = np.zeros(3) if offsets is None else np.asarray(offsets.get(name, (0, 0, 0)), float)
        out[name] = ref.apply(np.asarray(p) + err)
    return out


def sweep(mesh, n, rng, noise=0.2):
    pts = np.asarray(mesh.points)
    pts = pts[pts[:, 2] > 10.0]
    pick = pts[rng.choice(len(pts), n, replace=False)]
    return reference_from_mri().apply(pick) + rng.normal(scale=noise, size=(n, 3))


def test_good_registration_passes(scalp):
    mesh, index = scalp
    rng = np.random.default_rng(0)
    offsets = {"nasion": (0.6, 0, 0), "lpa": (0, 0.5, 0), "rpa": (0, 0, -0.5)}
    result = register(MRI_FIDUCIALS, touch(offsets), scalp_points_reference=sweep(mesh, 300, rng),
                      surface=index, targets_mri=TARGET)
    verdict = assess_registration(result, "DLPFC")
    assert verdict.level == PASS and verdict.reasons == () and verdict.usable
    # the shown figure is a 95 % bound (FLE assumed 3 mm, not the 0.5 mm used here): it must
    # cover the true error and stay within the pass line
    truth = np.asarray(TARGET["DLPFC"])
    true_error = np.linalg.norm(result.mri_from_reference.apply(
        reference_from_mri().apply(truth)) - truth)
    assert verdict.tre_target == "DLPFC" and true_error < verdict.tre_mm < 2.5


def test_fiducials_only_is_a_warning_with_the_reason(scalp):
    mesh, index = scalp
    checks = sweep(mesh, 8, np.random.default_rng(1))
    result = register(MRI_FIDUCIALS, touch({"nasion": (0.5, 0, 0)}), targets_mri=TARGET,
                      scalp_points_reference=checks, surface=index, refine=False)
    verdict = assess_registration(result)
    assert verdict.level == WARN and verdict.tre_target == "DLPFC"
    assert any("Fiducials only" in r for r in verdict.reasons)


def test_fiducials_only_without_scalp_touches_is_refused():
    """Without scalp touches left/right cannot be checked (three fiducials fit either way)."""
    result = register(MRI_FIDUCIALS, touch({"nasion": (0.5, 0, 0)}), targets_mri=TARGET)
    verdict = assess_registration(result)
    assert not result.accepted and verdict.level == FAIL
    assert "Left and right cannot be checked: 0 scalp touches" in verdict.reasons[0]


def test_large_but_accepted_fre_warns_and_names_the_point(scalp):
    offsets = {"nasion": (0, 5.0, 0), "lpa": (-5.0, 0, 0)}     # FRE 3.3 mm RMS, LPA 3.8 mm
    result = register(MRI_FIDUCIALS, touch(offsets), targets_mri=TARGET, refine=False,
                      scalp_points_reference=sweep(scalp[0], 8, np.random.default_rng(2)),
                      surface=scalp[1])
    assert result.accepted and result.fre_rms_mm == pytest.approx(3.26, abs=0.01)
    verdict = assess_registration(result, thresholds=Thresholds(fre_point_warn_mm=3.5))
    assert verdict.level == WARN
    assert any("FRE 3.3 mm RMS is above 3.0 mm" in r for r in verdict.reasons)
    assert any("'lpa' fits 3.8 mm off" in r for r in verdict.reasons)


def test_math_refusal_is_a_fail_with_its_own_words():
    offsets = {"nasion": (0, 8.0, 0), "lpa": (-8.0, 0, 0)}     # FRE 5.2 mm RMS
    result = register(MRI_FIDUCIALS, touch(offsets), targets_mri=TARGET)
    assert not result.accepted
    verdict = assess_registration(result, "DLPFC")
    assert verdict.level == FAIL and not verdict.usable
    assert verdict.reasons == result.problems


def test_few_surface_points_and_thresholds_text(scalp):
    mesh, index = scalp
    rng = np.random.default_rng(3)
    result = register(MRI_FIDUCIALS, touch(), scalp_points_reference=sweep(mesh, 60, rng),
                      surface=index, targets_mri=TARGET)
    verdict = assess_registration(result)
    assert verdict.level == WARN
    assert any("Only 60 surface points" in r for r in verdict.reasons)
    text = Thresholds().describe()
    assert "FRE ≤ 3.0 mm RMS" in text and "Fail: FRE > 4.0 mm RMS" in text
