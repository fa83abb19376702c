"""Each literature coordinate cites a source that states it (issue 10, defect 9).

The ConTarg README (its 'ROIs' recipe) states the subgenual seed and the four a-priori DLPFC
sites, and nothing else of this library; (-38, 44, 26) and (-44, 38, 34) come from Fox 2012
alone. Before the fix the Fox 2012 group target cited ConTarg, which does not contain it.
The coordinates themselves are pinned too: a typo or an L/R sign flip in a target library is a
patient-safety bug (all the DLPFC sites are on the left, x < 0).
"""

import pytest

from tmsnav.navigation.targeting.literature import LIBRARY, SOURCES, get

#: key -> (MNI152 mm, the sources that state it, primary first)
PINNED = {
    "fox2012": ((-38, 44, 26), ("fox2012",)),
    "fox2012_alt": ((-44, 38, 34), ("fox2012",)),
    "weigand2018": ((-42, 44, 30), ("weigand2018",)),
    "ba9": ((-36, 39, 43), ("fox2012", "contarg")),
    "ba46": ((-44, 40, 29), ("fox2012", "contarg")),
    "avg_5cm": ((-41, 16, 54), ("fox2012", "contarg")),
    "avg_f3": ((-37, 26, 49), ("fox2012", "contarg")),
    "sgacc_seed": ((6, 16, -10), ("fox2012", "contarg")),
    "m1_hand_left": ((-37, -21, 58), ("mayka2006",)),
    "m1_hand_right": ((37, -21, 58), ("mayka2006",)),
}

#: What the ConTarg README's ROI recipe contains (AFNI 3dcalc spheres, RAI signs flipped back to
#: RAS): the only coordinates a "ConTarg" citation may be attached to.
CONTARG_STATES = {(6, 16, -10), (-36, 39, 43), (-44, 40, 29), (-41, 16, 54), (-37, 26, 49)}


@pytest.mark.parametrize("key", sorted(PINNED))
def test_coordinates_and_their_sources_are_pinned(key):
    entry = get(key)
    mni, sources = PINNED[key]
    assert tuple(entry.mni_mm) == mni
    assert entry.sources == sources
    for k in sources:                      # the shown citation names every source
        assert SOURCES[k].citation in entry.evidence.citation


def test_the_library_is_exactly_the_pinned_set():
    assert {e.key for e in LIBRARY} == set(PINNED)


def test_contarg_is_cited_only_for_what_it_states():
    for entry in LIBRARY:
        if "contarg" in entry.sources or "ConTarg" in entry.evidence.citation:
            assert tuple(entry.mni_mm) in CONTARG_STATES, entry.key


def test_fox_group_target_cites_the_primary_paper_alone():
    fox = get("fox2012")
    assert "ConTarg" not in fox.evidence.citation
    assert fox.evidence.citation.startswith("Fox MD")
    assert "Biol Psychiatry 2012;72(7):595-603" in fox.evidence.citation
    assert fox.evidence.doi == "10.1016/j.biopsych.2012.04.028"
    assert fox.status == "published"
    alt = get("fox2012_alt")
    assert alt.status == "alternate" and alt.evidence.doi == fox.evidence.doi
    assert "[alternate]" in alt.evidence.why


@pytest.mark.safety(hazard="left-right", control=("every literature DLPFC coordinate is in the left hemisphere (x < "
                                                  "0) and the deep sgACC seed cannot be targeted"))
def test_dlpfc_sites_are_left_and_the_seed_is_not_stimulable():
    for key in ("fox2012", "fox2012_alt", "weigand2018", "ba9", "ba46", "avg_5cm", "avg_f3"):
        assert get(key).mni_mm[0] < 0, key               # left hemisphere: x < 0 in RAS
    seed = get("sgacc_seed")
    assert not seed.stimulable and seed.status == "seed"
    assert get("m1_hand_right").mni_mm[0] == -get("m1_hand_left").mni_mm[0]


def test_unknown_source_keys_are_refused():
    from tmsnav.navigation.targeting.literature import LiteratureTarget

    with pytest.raises(ValueError, match="known sources"):
        LiteratureTarget("x", "x", (0, 0, 0), ("nobody2020",), "why")
    with pytest.raises(ValueError, match="known sources"):
        LiteratureTarget("x", "x", (0, 0, 0), (), "why")
