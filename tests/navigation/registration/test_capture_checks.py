"""Fiducial capture plausibility (defect 6): the divot, a duplicate, a hand pausing on the way,
and naming why a full set does not fit (swap, shifted by one, captured twice).

Two heads: an adult head's landmarks in MNI-like coordinates with an inion and a left-temple
mark (4-5 landmarks: a swap is visible) and the phantom generator's head (3 landmarks), each
touched in a random rigid pose of the head reference with 2 mm localisation error.
"""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.registration.capture_checks import (DUPLICATE_MM, PREDICTION_LIMIT_MM,
                                                           check_capture, diagnose_fit,
                                                           prediction_error)

ADULT = {"nasion": np.array([0.0, 85.0, -40.0]), "lpa": np.array([-82.0, -20.0, -48.0]),
         "rpa": np.array([83.0, -19.0, -47.0]), "inion": np.array([0.0, -112.0, -25.0]),
         "left_temple": np.array([-70.0, 30.0, 20.0])}
DISPLAY = {"nasion": "Nasion", "lpa": "LPA", "rpa": "RPA", "inion": "Inion",
           "left_temple": "Left temple"}


@pytest.fixture(scope="module")
def phantom():
    ph = make_phantom_head(4.0)
    return {"nasion": np.array(ph.nasion), "lpa": np.array(ph.lpa), "rpa": np.array(ph.rpa)}


def reference_from_mri(rng):
    rot = Rotation.random(random_state=rng).as_matrix()
    shift = rng.uniform(-300, 300, 3) + [0, 0, -1400]
    return lambda p: np.asarray(p, float) @ rot.T + shift


def touch(mri, rng, error_mm=2.0):
    to_ref = reference_from_mri(rng)
    out = {}
    for k, v in mri.items():
        e = rng.normal(size=3)
        out[k] = to_ref(v + error_mm * rng.uniform() * e / np.linalg.norm(e))
    return out, to_ref


@pytest.mark.parametrize("head", ["adult", "phantom"])
def test_normal_touches_of_the_asked_landmark_are_accepted(head, phantom):
    mri = ADULT if head == "adult" else phantom
    rng = np.random.default_rng(1)
    for _ in range(30):
        touched, _ = touch(mri, rng)
        names = list(mri)
        for i, asked in enumerate(names):     # each landmark in turn, given those before it
            before = {n: touched[n] for n in names[:i]}
            check = check_capture(asked, touched[asked], mri, before)
            assert check.ok, check.message
        assert diagnose_fit(mri, touched, names) is None


def test_the_tip_still_in_the_pivot_divot_is_refused_in_either_frame():
    rng = np.random.default_rng(2)
    touched, to_ref = touch(ADULT, rng)
    divot_ref = to_ref([150.0, 110.0, -90.0])
    check = check_capture("nasion", divot_ref + [2.0, 0, 0], ADULT, {},
                          divot_reference_mm=divot_ref, display=DISPLAY)
    assert not check.ok and check.kind == "divot"
    assert "still in the pivot divot" in check.message and "NASION" in check.message
    # a room-fixed divot is checked in tracker coordinates (the head may have moved since)
    check = check_capture("nasion", touched["nasion"], ADULT, {},
                          tip_tracker_mm=[10.0, 20.0, -1500.0],
                          divot_tracker_mm=[13.0, 20.0, -1496.0])
    assert not check.ok and check.kind == "divot"
    # the real nasion, far from the divot, is fine
    assert check_capture("nasion", touched["nasion"], ADULT, {}, tip_tracker_mm=[200, 0, -1500],
                         divot_tracker_mm=[13.0, 20.0, -1496.0],
                         divot_reference_mm=divot_ref).ok


def test_a_second_hold_on_a_captured_landmark_is_refused_but_a_redo_of_it_is_not():
    rng = np.random.default_rng(3)
    touched, _ = touch(ADULT, rng)
    before = {"nasion": touched["nasion"]}
    check = check_capture("lpa", touched["nasion"] + [3.0, -4.0, 2.0], ADULT, before,
                          display=DISPLAY)
    assert not check.ok and check.kind == "duplicate"
    assert "Nasion again" in check.message and "LPA" in check.message
    # redoing the nasion itself near its old capture is allowed (the old one is replaced)
    assert check_capture("nasion", touched["nasion"] + [3.0, 0, 0], ADULT, before).ok
    # just outside the duplicate radius the duplicate rule does not apply (the distance rule does)
    check = check_capture("lpa", touched["nasion"] + [DUPLICATE_MM + 1, 0, 0], ADULT, before)
    assert check.kind != "duplicate"


@pytest.mark.parametrize("head", ["adult", "phantom"])
def test_a_pause_halfway_to_the_next_landmark_is_refused_with_the_distance(head, phantom):
    mri = ADULT if head == "adult" else phantom
    rng = np.random.default_rng(4)
    for _ in range(20):
        touched, _ = touch(mri, rng)
        # one landmark captured: the sphere rule
        halfway = 0.5 * (touched["nasion"] + touched["lpa"])
        check = check_capture("lpa", halfway, mri, {"nasion": touched["nasion"]}, display=DISPLAY)
        assert not check.ok and check.kind == "far", check
        assert check.prediction_error_mm > PREDICTION_LIMIT_MM
        assert "from where Nasion put the LPA" in check.message
        # two captured: the circle rule; halfway from LPA to RPA passes under the head
        before = {"nasion": touched["nasion"], "lpa": touched["lpa"]}
        halfway = 0.5 * (touched["lpa"] + touched["rpa"])
        check = check_capture("rpa", halfway, mri, before, display=DISPLAY)
        assert not check.ok and "Nasion and LPA put the RPA" in check.message
        assert check_capture("rpa", touched["rpa"], mri, before).ok


def test_prediction_from_three_landmarks_is_the_rigid_fit_and_exact_without_noise():
    rng = np.random.default_rng(5)
    touched, to_ref = touch(ADULT, rng, error_mm=0.0)
    before = {k: touched[k] for k in ("nasion", "lpa", "rpa")}
    err, used = prediction_error("inion", touched["inion"], ADULT, before)
    assert used == ["nasion", "lpa", "rpa"] and err < 1e-6
    err, _ = prediction_error("inion", touched["inion"] + [0, 0, 40.0], ADULT, before)
    assert err == pytest.approx(40.0, abs=1e-6)
    # two landmarks: every point on the circle is consistent, e.g. the inion rotated about
    # the nasion-LPA axis; a point off the circle by 25 mm reads 25 mm
    two = {k: touched[k] for k in ("nasion", "lpa")}
    axis = touched["lpa"] - touched["nasion"]
    rot = Rotation.from_rotvec(0.7 * axis / np.linalg.norm(axis)).as_matrix()
    on_circle = (touched["inion"] - touched["nasion"]) @ rot.T + touched["nasion"]
    assert prediction_error("inion", on_circle, ADULT, two)[0] < 1e-6
    err, _ = prediction_error("inion", on_circle + 25.0 * axis / np.linalg.norm(axis), ADULT, two)
    assert err == pytest.approx(25.0, abs=1e-6)


def test_a_swapped_lpa_rpa_is_named_when_four_landmarks_show_the_mirror():
    rng = np.random.default_rng(6)
    for _ in range(10):
        touched, _ = touch(ADULT, rng)
        swapped = dict(touched, lpa=touched["rpa"], rpa=touched["lpa"])
        d = diagnose_fit(ADULT, swapped, list(ADULT), display=DISPLAY)
        assert d is not None and d.kind == "swap", d
        assert set(d.redo) == {"lpa", "rpa"}
        assert d.message.startswith("LPA and RPA look swapped: the distances fit with them "
                                    "exchanged")


def test_a_swap_with_only_three_landmarks_is_not_claimed(phantom):
    """Three points: the swapped set fits by a rotation (a mirror no distance can show)."""
    rng = np.random.default_rng(7)
    touched, _ = touch(phantom, rng)
    swapped = dict(touched, lpa=touched["rpa"], rpa=touched["lpa"])
    assert diagnose_fit(phantom, swapped) is None


@pytest.mark.parametrize("head", ["adult", "phantom"])
def test_landmarks_shifted_by_one_after_a_divot_capture_are_named(head, phantom):
    mri = ADULT if head == "adult" else phantom
    names = list(mri)
    rng = np.random.default_rng(8)
    for _ in range(10):
        touched, to_ref = touch(mri, rng)
        divot = to_ref([150.0, 110.0, -90.0])
        shifted = {names[0]: divot}
        for prev, name in zip(names, names[1:]):
            shifted[name] = touched[prev]
        d = diagnose_fit(mri, shifted, names, display=DISPLAY)
        assert d is not None and d.kind == "shift", d
        assert d.message.startswith("Landmarks shifted by one (touch order)")
        assert "Redo them in order: Nasion, LPA, RPA" in d.message


def test_the_same_spot_captured_twice_is_named():
    rng = np.random.default_rng(9)
    touched, _ = touch(ADULT, rng)
    twice = dict(touched, lpa=touched["nasion"] + [2.0, 1.0, 0.0])
    d = diagnose_fit(ADULT, twice, list(ADULT), display=DISPLAY)
    assert d.kind == "duplicate" and d.redo == ("lpa",)
    assert d.message.startswith("Nasion captured twice")


def test_one_badly_touched_landmark_is_named_not_blamed_on_the_order():
    """A single point 20 mm off: no re-labelling fits, the others fit without it."""
    rng = np.random.default_rng(10)
    for _ in range(10):
        touched, _ = touch(ADULT, rng)
        bad = dict(touched, inion=touched["inion"] + [0.0, 0.0, 20.0])
        d = diagnose_fit(ADULT, bad, list(ADULT), display=DISPLAY)
        assert d is not None and d.kind == "one_off" and d.redo == ("inion",), d
        assert d.message.startswith("The Inion touch does not fit the others")


def test_a_set_that_fits_nothing_gets_no_made_up_cause():
    rng = np.random.default_rng(11)
    touched, _ = touch(ADULT, rng)
    scrambled = {k: v + rng.normal(scale=30.0, size=3) for k, v in touched.items()}
    assert diagnose_fit(ADULT, scrambled, list(ADULT)) is None


def test_the_landmark_after_a_swapped_pair_is_refused_with_the_swap_named():
    """LPA/RPA touched swapped are captured (three points fit either way); the fourth, touched
    right, does not fit the flipped three: the refusal names the swap, not a bad touch."""
    rng = np.random.default_rng(12)
    for _ in range(10):
        touched, _ = touch(ADULT, rng)
        swapped = {"nasion": touched["nasion"], "lpa": touched["rpa"], "rpa": touched["lpa"]}
        assert check_capture("rpa", swapped["rpa"], ADULT, {k: swapped[k] for k in
                                                            ("nasion", "lpa")}).ok
        check = check_capture("inion", touched["inion"], ADULT, swapped, display=DISPLAY)
        assert not check.ok and check.kind == "far", check
        assert "Likely cause: LPA and RPA look swapped" in check.message
