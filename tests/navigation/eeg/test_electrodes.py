"""Electrode positions on the patient's scalp: the 10-10 construction where it defines the name,
the colin27 10-05 template fitted to the head for the rest; on the sample head, the phantom and
fsaverage (independent FieldTrip positions); L/R and unit mistakes."""

import numpy as np
import pytest

from tmsnav.navigation.eeg.electrodes import (SOURCE_CONSTRUCTION, SOURCE_TEMPLATE, TEN_TWENTY_19,
                                              ElectrodeError, canonical_electrode, place_electrodes,
                                              template_positions_mm, template_positions_on_head)
from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import HeadAxes, SurfaceMesh
from tmsnav.navigation.targeting.ten_twenty import HeadLandmarks
from tests.navigation.eeg.eeg_heads import phantom_head, sample_head
from tests.navigation.targeting import targeting_data

HEADS = {"sample": sample_head, "phantom": phantom_head}
EXTRA = ("AF1", "FT9", "TP10", "PO9", "FFC3h", "I1")   # names only the template has


def _off_scalp(surf, points):
    from tmsnav.navigation.eeg.electrodes import project_to_scalp

    pts = np.asarray(points, float)
    return np.linalg.norm(project_to_scalp(surf, pts) - pts, axis=1)


@pytest.mark.parametrize("which", list(HEADS))
def test_positions_lie_on_the_scalp_and_come_from_the_construction_where_it_has_them(which):
    scalp, surf, lm, tt = HEADS[which]()
    placed = place_electrodes(surf, lm, list(TEN_TWENTY_19) + list(EXTRA), ten_twenty=tt)
    assert set(placed.positions_mm) == set(TEN_TWENTY_19) | set(EXTRA) and not placed.unknown
    for name in TEN_TWENTY_19:
        assert placed.source[name] == SOURCE_CONSTRUCTION
        assert np.array_equal(placed.positions_mm[name], tt.point(name))
    for name in EXTRA:
        assert placed.source[name] == SOURCE_TEMPLATE
    off = _off_scalp(surf, np.array(list(placed.positions_mm.values())))
    assert off.max() < 0.01                     # projected onto the triangles
    # the template fits the construction on this head: a few mm at the 61 10-10 points
    assert placed.fit_rms_mm < 6.0              # measured 2.1 (sample head), 3.5 (phantom)


@pytest.mark.parametrize("which", list(HEADS))
def test_template_names_sit_between_their_constructed_neighbours(which):
    """A 10-05 name is half-way between two 10-10 names (AF1 between AF3 and AFz, FFC3h between
    F3, F1, FC3, FC1; Iz 10 % below Oz): the fitted template lands there on this head."""
    _scalp, surf, lm, tt = HEADS[which]()
    placed = place_electrodes(surf, lm, EXTRA, ten_twenty=tt)
    p = placed.positions_mm
    mid = 0.5 * (tt.point("AF3") + tt.point("AFz"))
    assert np.linalg.norm(p["AF1"] - mid) < 8.0
    quad = np.mean([tt.point(n) for n in ("F3", "F1", "FC3", "FC1")], axis=0)
    assert np.linalg.norm(p["FFC3h"] - quad) < 8.0
    axes = lm.axes
    # I1 below O1 (10 % of the arc further down), on the same side
    assert (p["I1"] - tt.point("O1")) @ axes.superior < -8.0
    assert abs((p["I1"] - tt.point("O1")) @ axes.right) < 10.0


def test_template_only_names_on_fsaverage_agree_with_fieldtrip():
    """A third head with independent positions: FieldTrip's ft_electrodeplacement on fsaverage
    gives F9/F10, FT9/FT10, T9/T10, P9/P10, PO9/PO10, I1/I2 by its own arcs; our template fit
    puts them within 9 mm, median 5.5 mm (measured 3.6-7.5; the reference points themselves sit
    up to 6.5 mm off this mesh). Iz is the inion, exactly."""
    d = targeting_data
    ref = d.fsaverage_1010()
    surf = SurfaceMesh(d.fsaverage_scalp())
    lm = HeadLandmarks(ref["NAS"], ref["Iz"], ref["LPA"], ref["RPA"])
    names = [n for n in ref if n not in ("NAS", "LPA", "RPA")]
    placed = place_electrodes(surf, lm, names)
    template_only = [n for n in names if placed.source[n] == SOURCE_TEMPLATE]
    assert len(template_only) == 12
    err = [float(np.linalg.norm(placed.positions_mm[n] - ref[n])) for n in template_only]
    assert max(err) < 9.0 and np.median(err) < 6.5, dict(zip(template_only, err))
    assert placed.source["Iz"] == SOURCE_CONSTRUCTION
    assert np.linalg.norm(placed.positions_mm["Iz"] - ref["Iz"]) < 3.0


@pytest.mark.safety(hazard="left-right",
                    control=("EEG electrode positions on the patient's scalp: F3, C3, FT9 and every "
                             "odd-numbered template electrode land on the patient's left, even ones "
                             "on the right, on two heads"))
@pytest.mark.parametrize("which", list(HEADS))
def test_left_electrodes_are_on_the_left_and_F3_is_left_frontal(which):
    _scalp, surf, lm, tt = HEADS[which]()
    names = [n for n in template_positions_mm() if n[-1].isdigit() and n not in ("A1", "A2")]
    placed = place_electrodes(surf, lm, names, ten_twenty=tt)
    axes = HeadAxes.from_landmarks(lm.nasion, lm.lpa, lm.rpa)
    for name, p in placed.positions_mm.items():
        number = int("".join(c for c in name if c.isdigit()) or 0)
        lateral = (p - axes.origin) @ axes.right
        assert (lateral < 0) == (number % 2 == 1), (name, lateral)
    f3 = placed.positions_mm["F3"]
    assert (f3 - axes.origin) @ axes.right < -25.0           # left
    assert (f3 - axes.origin) @ axes.anterior > 30.0         # frontal
    assert f3[0] < lm.nasion[0] - 20.0                       # left in RAS too (smaller x)


def test_old_names_and_case_are_understood_and_unknown_names_refused():
    _scalp, surf, lm, tt = sample_head()
    assert canonical_electrode("T3") == "T7" and canonical_electrode("t6") == "P8"
    assert canonical_electrode("fp1") == "Fp1" and canonical_electrode("FCZ") == "FCz"
    assert canonical_electrode("EKG") is None
    placed = place_electrodes(surf, lm, ["T3", "fz", "EKG"], ten_twenty=tt)
    assert placed.renamed == {"T3": "T7", "fz": "Fz"} and placed.unknown == ("EKG",)
    with pytest.raises(ElectrodeError, match="'EKG'"):
        template_positions_on_head(surf, lm, ["F3", "EKG"], ten_twenty=tt)


def test_landmarks_in_metres_or_swapped_ears_are_refused():
    _scalp, surf, lm, _tt = sample_head()
    with pytest.raises(NavigationError, match="are they in mm"):
        HeadLandmarks(lm.nasion / 1000, lm.inion / 1000, lm.lpa / 1000, lm.rpa / 1000)
    with pytest.raises(NavigationError, match="swapped"):
        template_positions_on_head(surf, HeadLandmarks(lm.nasion, lm.inion, lm.rpa, lm.lpa), ["F3"])
