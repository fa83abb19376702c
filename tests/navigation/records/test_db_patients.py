"""Patients in the clinic database (SQLite and PostgreSQL): add, search, update, duplicates, and
the privacy rule (identifying fields never in logs or in the repr used in log lines)."""

from __future__ import annotations

import logging

import pytest

from tmsnav.navigation.records.errors import DuplicatePatientError, NotFoundError, RecordsError
from tmsnav.navigation.records.repository import CourseProtocol, Records

NAME, MRN, BIRTH = "Ada Quixote", "MRN-884211", "1961-03-14"


def _protocol() -> CourseProtocol:
    return CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30)


def test_add_and_read_patient(records: Records) -> None:
    info = records.add_patient("P001", full_name=NAME, birth_date=BIRTH, sex="F", mrn=MRN,
                               notes="referred by Dr X")
    assert (info.pseudonym, info.full_name, info.birth_date, info.mrn) == ("P001", NAME, BIRTH, MRN)
    again = records.patient("P001")
    assert again == info
    assert again.created_utc.endswith("+00:00")


def test_search_by_pseudonym_name_and_mrn_case_insensitive(records: Records) -> None:
    records.add_patient("P001", full_name=NAME, mrn=MRN)
    records.add_patient("P002", full_name="Bo Ruiz", mrn="MRN-100")
    records.add_patient("X-17")
    assert [p.pseudonym for p in records.find_patients("quixote")] == ["P001"]
    assert [p.pseudonym for p in records.find_patients("ADA Q")] == ["P001"]
    assert [p.pseudonym for p in records.find_patients("mrn-88")] == ["P001"]
    assert [p.pseudonym for p in records.find_patients("p00")] == ["P001", "P002"]
    assert [p.pseudonym for p in records.find_patients("x-1")] == ["X-17"]
    assert [p.pseudonym for p in records.find_patients("")] == ["P001", "P002", "X-17"]
    assert records.find_patients("nobody") == []
    assert len(records.find_patients("", limit=2)) == 2


def test_search_folds_case_beyond_ascii(records: Records) -> None:
    """Names typed in capitals with accents (ÜLKER, ÇELIK, ØDEGÅRD) are found in lower case and
    the reverse; SQLite's own lower() would fold only A-Z."""
    records.add_patient("P001", full_name="Ayşe ÜLKER")
    records.add_patient("P002", full_name="Øyvind Ødegård")
    assert [p.pseudonym for p in records.find_patients("ülker")] == ["P001"]
    assert [p.pseudonym for p in records.find_patients("ØDEGÅRD")] == ["P002"]
    assert [p.pseudonym for p in records.find_patients("øyvind ø")] == ["P002"]


def test_search_text_is_literal_not_a_like_pattern(records: Records) -> None:
    """'%' and '_' typed in the search box match themselves, not everything."""
    records.add_patient("P_1")
    records.add_patient("PX1")
    assert [p.pseudonym for p in records.find_patients("p_")] == ["P_1"]
    assert records.find_patients("%") == []


def test_duplicate_pseudonym_is_refused_with_a_clear_message(records: Records) -> None:
    records.add_patient("P001", full_name=NAME)
    with pytest.raises(DuplicatePatientError, match="P001.*already exists"):
        records.add_patient("P001")
    with pytest.raises(DuplicatePatientError, match="already exists"):
        records.add_patient("p001")            # differs only in case: same person on screen
    assert len(records.find_patients("")) == 1


def test_rename_onto_an_existing_pseudonym_is_refused(records: Records) -> None:
    records.add_patient("P001")
    records.add_patient("P002")
    with pytest.raises(DuplicatePatientError):
        records.update_patient("P002", pseudonym="P001")
    assert records.patient("P002").pseudonym == "P002"


def test_update_patient_fields_and_pseudonym(records: Records) -> None:
    records.add_patient("P001", full_name=NAME)
    course = records.add_course("P001", _protocol())
    info = records.update_patient("P001", mrn="MRN-1", birth_date="1970-01-02", notes="n")
    assert (info.mrn, info.birth_date, info.notes, info.full_name) == ("MRN-1", "1970-01-02", "n", NAME)
    renamed = records.update_patient("P001", pseudonym="S-0001")
    assert renamed.pseudonym == "S-0001"
    assert records.course(course.uid).pseudonym == "S-0001"    # courses follow the patient
    with pytest.raises(NotFoundError):
        records.patient("P001")
    with pytest.raises(RecordsError, match="Unknown patient field"):
        records.update_patient("S-0001", name="typo")


@pytest.mark.parametrize("bad", ["", "Ada Quixote", "../etc", "a/b", "x" * 65, "P 1"])
def test_unusable_pseudonyms_are_refused(records: Records, bad: str) -> None:
    """The pseudonym names folders and BIDS subjects: a real name with a space, a path or an
    empty string is refused with the rule, not stored."""
    with pytest.raises(RecordsError, match="Pseudonym"):
        records.add_patient(bad)


def test_bad_birth_date_is_refused(records: Records) -> None:
    with pytest.raises(RecordsError, match="Birth date"):
        records.add_patient("P001", birth_date="14/03/1961")


def test_missing_patient_is_not_found(records: Records) -> None:
    with pytest.raises(NotFoundError, match="P404"):
        records.patient("P404")
    with pytest.raises(NotFoundError):
        records.open_patient("P404")


def test_identifying_fields_never_in_logs_or_repr(records: Records,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    info = records.add_patient("P001", full_name=NAME, birth_date=BIRTH, mrn=MRN)
    records.update_patient("P001", notes="x")
    records.find_patients("quix")
    overview = records.open_patient("P001")
    logging.getLogger("test").info("opened %r / %s", info, overview)
    for text in (repr(info), str(info), repr(overview), caplog.text):
        for secret in (NAME, "Quixote", BIRTH, MRN):
            assert secret not in text
    assert "P001" in repr(info)


def test_free_text_that_may_name_someone_stays_out_of_reprs(records: Records) -> None:
    """Notes, the MRI path the user picked and adverse-event descriptions can hold a name: none
    of them is in the repr of the infos an overview or a log line prints."""
    records.add_patient("P001", full_name=NAME, notes=f"sister of {NAME}")
    course = records.add_course("P001", _protocol(), mri_path=f"/data/{NAME}/t1.nii.gz",
                                notes=f"{NAME} prefers mornings")
    records.upsert_session("s1", course.uid, notes=f"{NAME} came late")
    records.add_adverse_event("s1", 1, "2026-12-05T09:00:00+00:00", f"{NAME} fainted", "severe")
    shown = " ".join(repr(x) for x in (records.open_patient("P001"), records.course(course.uid),
                                       records.session("s1"), records.adverse_events(course.uid)))
    assert "Quixote" not in shown
    assert "P001" in shown and course.uid in shown and "s1" in shown
