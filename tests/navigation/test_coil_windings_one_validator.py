"""One validator for a coil's ``windings`` block: the coil definition loader (navigation/coils.py,
what the app lists and calibrates) and the e-field model's loader (targeting/coil_dipoles.py) must
accept and refuse the same windings, with the same sentence. They once disagreed (turns 1-50 vs
1-100, circular coils allowed by one and refused by the other), so a coil could be selectable in
the GUI and then fail in the e-field, or the other way round."""

import copy
import json

import pytest

from tmsnav.navigation.coils import COIL_ASSETS_DIR, CoilDefinition, CoilDefinitionError
from tmsnav.navigation.targeting.coil_dipoles import (CoilDefinitionError as WindingsError, CoilWindings,
                                                      windings_problem)

GENERIC = json.loads((COIL_ASSETS_DIR / "generic-fig8-70.json").read_text())
GENERIC["casing"]["length_mm"] = 400.0   # the casing-fit check is not the windings' business here


def verdicts(windings: dict, units: str = "mm") -> tuple[str | None, str | None]:
    """(coil loader's refusal, e-field loader's refusal), None for accepted."""
    raw = copy.deepcopy(GENERIC)
    if units == "cm":                     # the whole file in cm, as a user would write it
        for block in ("casing", "handle"):
            raw[block] = {k: v / 10.0 for k, v in raw[block].items()}
        raw["landmarks_hotspot_mm"] = {k: [x / 10.0 for x in v] for k, v in raw["landmarks_hotspot_mm"].items()}
        for row in raw["coil_from_hotspot"][:3]:
            row[3] /= 10.0
    raw["windings"], raw["units"] = windings, units
    try:
        CoilDefinition.from_dict(raw, source="my-coil.json")
        coils = None
    except CoilDefinitionError as exc:
        coils = str(exc)
    scale = {"mm": 1.0, "cm": 10.0}[units]
    in_mm = {k: (v * scale if k.endswith("_mm") else v) for k, v in windings.items()}
    try:
        CoilWindings.from_definition({"format_version": 1, "units": "mm", "windings": in_mm})
        dipoles = None
    except WindingsError as exc:
        dipoles = str(exc)
    return coils, dipoles


def fig8(**changes) -> dict:
    return {**GENERIC["windings"], **changes}


def circular(**changes) -> dict:
    w = {k: v for k, v in GENERIC["windings"].items() if k != "wing_centre_separation_mm"}
    return {**w, "type": "circular", **changes}


def assert_agree(windings: dict, units: str = "mm") -> str | None:
    coils, dipoles = verdicts(windings, units)
    assert (coils is None) == (dipoles is None), (windings, coils, dipoles)
    if coils is not None and dipoles is not None:
        # the same sentence after each loader's own prefix ("my-coil.json windings: " / "coil windings: ")
        assert coils.split("windings: ", 1)[1] == dipoles.split("windings: ", 1)[1], (coils, dipoles)
    return coils


@pytest.mark.parametrize("make", [fig8, circular], ids=["figure8", "circular"])
def test_both_loaders_agree_on_turns_1_to_100(make):
    accepted = [n for n in range(1, 101) if assert_agree(make(turns_per_wing=n)) is None]
    assert accepted == list(range(1, 51))
    for n in (0, -3, 9.5, "nine"):
        assert assert_agree(make(turns_per_wing=n)) is not None


def test_too_many_turns_names_the_range_and_the_value():
    refusal = assert_agree(fig8(turns_per_wing=90))   # a typing slip for 9
    assert "whole number 1–50, got 90" in refusal and "my-coil.json" in refusal


def test_both_loaders_accept_circular_coils_and_refuse_a_circular_with_a_wing_separation():
    assert assert_agree(circular()) is None
    assert assert_agree(circular(wing_centre_separation_mm=0.0)) is None
    assert assert_agree(circular(outer_radius_mm=70.0, inner_radius_mm=10.0)) is None   # MMC-140-like
    refusal = assert_agree(circular(wing_centre_separation_mm=88.0))
    assert "circular coil has wing_centre_separation_mm 0" in refusal


@pytest.mark.parametrize("changes", [
    {"inner_radius_mm": 0.0}, {"inner_radius_mm": 43.5}, {"inner_radius_mm": -1.0},
    {"outer_radius_mm": 150.0}, {"outer_radius_mm": 150.5}, {"outer_radius_mm": 9.9, "inner_radius_mm": 2.0},
    {"wing_centre_separation_mm": 1.5 * 43.5}, {"wing_centre_separation_mm": 1.49 * 43.5},
    {"wing_centre_separation_mm": 3.0 * 43.5}, {"wing_centre_separation_mm": 3.01 * 43.5},
    {"winding_depth_mm": 0.0}, {"winding_depth_mm": 30.0}, {"winding_depth_mm": 30.5},
    {"winding_depth_mm": -0.5}, {"type": "H-coil"},
])
def test_both_loaders_agree_at_the_limits(changes):
    assert_agree(fig8(**changes))


@pytest.mark.parametrize("windings", [fig8(), fig8(turns_per_wing=51), circular(), circular(outer_radius_mm=160.0)])
def test_a_file_in_cm_is_judged_as_the_same_coil_in_mm(windings):
    in_cm = {k: (v / 10.0 if k.endswith("_mm") else v) for k, v in windings.items()}
    coils_mm, _ = verdicts(windings)
    coils_cm, dipoles = verdicts(in_cm, units="cm")
    assert (coils_mm is None) == (coils_cm is None) == (dipoles is None), (coils_mm, coils_cm, dipoles)


def test_windings_problem_is_the_sentence_the_coil_loader_shows():
    problem = windings_problem("figure8", 9, 28.0, 4.35, 88.0, 6.0)
    coils, _ = verdicts(fig8(outer_radius_mm=4.35))
    assert problem and coils == f"my-coil.json windings: {problem}"
