"""A hand-edited, invalid session.json: the error carries the last good autosave, opening from it
keeps the damaged file aside (never deleted) and loses no logged event. Also: the course fields
of a session (old files without them still open) and the clinical events of a sitting."""

from __future__ import annotations

import json

import pytest

from tmsnav.navigation.session import Session, SessionError, read_events
from tmsnav.navigation.session.recovery import (DamagedSessionError, describe, last_good_autosave,
                                                open_from_autosave)


def _session_with_autosaves(tmp_path, n: int = 3) -> Session:
    s = Session.create(tmp_path / "s", "P01")
    for i in range(n):
        s.record.notes = f"edit {i}"
        s.autosave()
    s.save()
    s.events.append("pulse", index=1)
    return s


@pytest.mark.parametrize("edit", [
    lambda text: text.replace('"patient_id": "P01",', '"patient_id": "P01"'),   # a lost comma
    lambda text: text.replace('"session_id"', '"sesion_id"'),                    # a misspelt key
    lambda text: text.replace('"images": []', '"images": [{"role": "T1"}]'),      # an incomplete image
    lambda text: text.replace('"calibrations": {}', '"calibrations": "none"'),   # a wrong type
    lambda text: text.replace('"registration": null', '"registration": 3'),
    lambda text: text.replace('"session_number": null', '"session_number": "three"'),
])
def test_damaged_session_json_offers_the_last_good_autosave(tmp_path, edit):
    s = _session_with_autosaves(tmp_path)
    newest_good = s.autosaves()[0]
    damaged_text = edit(s.path.read_text())
    assert damaged_text != s.path.read_text()
    s.path.write_text(damaged_text)
    with pytest.raises(DamagedSessionError) as info:
        Session.open(s.folder)
    err = info.value
    assert isinstance(err, SessionError) and err.autosave == newest_good
    assert newest_good.name in str(err) and "kept beside it" in str(err)
    assert "loses only the changes made after it" in describe(err)

    recovered = open_from_autosave(s.folder, err.autosave)
    assert recovered.record.notes == "edit 2" and recovered.record.session_id == s.record.session_id
    kept = sorted(s.folder.glob("session.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_text() == damaged_text    # never deleted, byte-exact
    reopened = Session.open(s.folder)                                 # session.json is good again
    assert reopened.record.notes == "edit 2"
    events = read_events(s.folder / "events.jsonl").events
    assert [e.kind for e in events] == ["session_created", "pulse", "autosave_restored"]
    assert events[-1].data["damaged_kept_as"] == kept[0].name


def test_a_damaged_newest_autosave_is_skipped(tmp_path):
    s = _session_with_autosaves(tmp_path)
    newest, second = s.autosaves()[:2]
    newest.write_text("{ cut short")
    s.path.write_text("{}")
    assert last_good_autosave(s.folder) == second
    with pytest.raises(DamagedSessionError) as info:
        Session.open(s.folder)
    assert info.value.autosave == second
    assert open_from_autosave(s.folder).record.notes == "edit 1"


def test_no_autosave_says_so_and_changes_nothing(tmp_path):
    s = Session.create(tmp_path / "s", "P01")
    s.path.write_text("not json")
    with pytest.raises(DamagedSessionError, match="No readable autosave") as info:
        Session.open(s.folder)
    assert info.value.autosave is None
    with pytest.raises(SessionError, match="no readable autosave"):
        open_from_autosave(s.folder)
    assert s.path.read_text() == "not json" and not list(s.folder.glob("*.damaged-*"))


def test_newer_format_is_not_treated_as_damage(tmp_path):
    s = _session_with_autosaves(tmp_path)
    s.path.write_text(json.dumps({"format_version": 99, "software_version": "9.0"}))
    with pytest.raises(SessionError, match="newer tmsnav") as info:
        Session.open(s.folder)
    assert not isinstance(info.value, DamagedSessionError)   # never "open an older autosave instead"


def test_old_session_file_without_course_fields_still_opens(tmp_path):
    """A session.json as written by tmsnav 0.1 (before courses): the new fields are empty."""
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "session.json").write_text(json.dumps({
        "format_version": 1, "software_version": "0.1.0", "patient_id": "P01",
        "session_id": "0f" * 16, "created_utc": "2026-01-05T09:00:00.000+00:00",
        "modified_utc": "2026-01-05T09:30:00.000+00:00", "images": [], "calibrations": {},
        "registration": None, "targets": None, "mni": None, "notes": "first sitting"}))
    s = Session.open(folder)
    assert (s.record.course_uid, s.record.session_number, s.record.operator) == ("", None, "")
    assert s.record.notes == "first sitting"


def test_course_fields_round_trip_and_are_logged_at_creation(tmp_path):
    s = Session.create(tmp_path / "s", "P01", course_uid="c1a2b3c4" * 4, session_number=3,
                       operator="RN Weber")
    again = Session.open(s.folder)
    assert (again.record.course_uid, again.record.session_number, again.record.operator) == (
        "c1a2b3c4" * 4, 3, "RN Weber")
    created = read_events(s.folder / "events.jsonl").events[0]
    assert created.data["course_uid"] == "c1a2b3c4" * 4 and created.data["session_number"] == 3


def test_adverse_event_note_and_close_are_logged(tmp_path):
    s = Session.create(tmp_path / "s", "P01")
    ae = s.add_adverse_event("  headache after pulse train 20 ", "mild", "paracetamol offered")
    note = s.add_note("Patient slept badly.")
    closed = s.close_session("course finished")
    events = read_events(s.folder / "events.jsonl").events
    assert [e.kind for e in events] == ["session_created", "adverse_event", "session_note",
                                        "session_closed"]
    assert events[1].data == {"description": "headache after pulse train 20", "severity": "mild",
                              "action": "paracetamol offered"}
    assert (ae.seq, note.seq, closed.seq) == (1, 2, 3)
    assert events[3].data["reason"] == "course finished"


@pytest.mark.parametrize("description, severity, match", [
    ("", "mild", "Describe the adverse event"),
    ("seizure", "Severe", "Severity must be one of mild, moderate, severe"),
    ("seizure", "4", "Severity must be one of"),
])
def test_adverse_event_input_is_checked(tmp_path, description, severity, match):
    s = Session.create(tmp_path / "s", "P01")
    with pytest.raises(SessionError, match=match):
        s.add_adverse_event(description, severity)
    with pytest.raises(SessionError, match="empty"):
        s.add_note("   ")
    assert [e.kind for e in read_events(s.folder / "events.jsonl").events] == ["session_created"]
