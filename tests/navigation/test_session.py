"""Sessions survive crashes, full disks and damaged files without losing saved work."""

import errno
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tmsnav.navigation.session import SaveError, Session, SessionError, read_events
from tmsnav.navigation.session import atomic as atomic_mod
from tmsnav.navigation.session import event_log as event_log_mod

ROOT = Path(__file__).resolve().parents[2]


def test_create_save_reopen_round_trip(tmp_path):
    s = Session.create(tmp_path / "p1", "PAT-001")
    s.set_image("T1", "/data/t1.nii.gz", "ab" * 32, "sform")
    s.set_registration({"method": "fiducials+icp", "fre_rms_mm": 1.2, "icp_rms_mm": 0.8,
                        "mri_from_reference": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
                        "accepted": True})
    s.set_targets({"targets": [{"name": "F3"}], "active": "F3"}, reason="planned")
    s.save()
    again = Session.open(tmp_path / "p1")
    assert again.record.patient_id == "PAT-001"
    assert again.record.registration["fre_rms_mm"] == 1.2
    assert again.image("T1").sha256 == "ab" * 32
    kinds = [e.kind for e in read_events(tmp_path / "p1" / "events.jsonl").events]
    assert kinds == ["session_created", "image_set", "registration", "targets_changed"]
    raw = json.loads((tmp_path / "p1" / "session.json").read_text())
    assert raw["format_version"] == 1 and raw["software_version"]


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", "x" * 80])
def test_patient_id_validated(tmp_path, bad):
    with pytest.raises(SessionError):
        Session.create(tmp_path / "s", bad)


def test_image_change_is_flagged(tmp_path):
    s = Session.create(tmp_path / "s", "P")
    s.set_image("T1", "t1.nii", "1" * 64)
    assert s.check_image("T1", "1" * 64) is None
    assert "differs" in s.check_image("T1", "2" * 64)


def test_disk_full_keeps_previous_file_and_says_why(tmp_path, monkeypatch):
    s = Session.create(tmp_path / "s", "P")
    before = (tmp_path / "s" / "session.json").read_bytes()
    s.record.notes = "changed"

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "fsync", full)
    with pytest.raises(SaveError, match="disk is full.*previous saved version is intact"):
        s.save()
    assert (tmp_path / "s" / "session.json").read_bytes() == before
    assert not [p for p in (tmp_path / "s").iterdir() if p.name.endswith(".tmp")]


def test_read_only_disk_message(tmp_path, monkeypatch):
    s = Session.create(tmp_path / "s", "P")

    def ro(*_a, **_k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic_mod.tempfile, "mkstemp", ro)
    with pytest.raises(SaveError, match="read-only"):
        s.save()


def test_crash_between_write_and_rename_keeps_old_file(tmp_path):
    folder = tmp_path / "s"
    Session.create(folder, "P")
    before = (folder / "session.json").read_bytes()
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tmsnav.navigation.session import Session
        from tmsnav.navigation.session import atomic
        s = Session.open({str(folder)!r})
        s.record.notes = "never saved"
        atomic.os.replace = lambda *a: os._exit(3)   # power cut right before the rename
        s.save()
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == 3
    assert (folder / "session.json").read_bytes() == before
    assert Session.open(folder).record.notes == ""


def test_event_log_survives_kill_and_torn_line(tmp_path):
    path = tmp_path / "events.jsonl"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tmsnav.navigation.session import EventLog
        log = EventLog({str(path)!r})
        for i in range(200):
            log.append("pulse", n=i, error_mm=0.5)
        with open({str(path)!r}, "a") as f:
            f.write('{{"seq": 200, "kind": "pul')   # the crash cuts this line
        os._exit(9)
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    result = read_events(path)
    assert [e.data["n"] for e in result.events] == list(range(200))
    assert result.skipped_lines == 1
    log = event_log_mod.EventLog(path)  # reopen: next event starts on a clean line, seq continues
    log.append("pulse", n=200)
    result = read_events(path)
    assert result.events[-1].seq == 200 and result.events[-1].data["n"] == 200
    assert result.skipped_lines == 1


def test_event_log_disk_full_keeps_events_in_memory_then_writes_them(tmp_path, monkeypatch):
    log = event_log_mod.EventLog(tmp_path / "events.jsonl")
    log.append("pulse", n=0)
    real_open = open

    def full_open(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(event_log_mod, "open", full_open, raising=False)
    log.append("pulse", n=1)
    log.append("pulse", n=2)
    assert log.pending == 2 and "disk is full" in log.last_error
    monkeypatch.setattr(event_log_mod, "open", real_open, raising=False)
    assert log.flush()
    assert [e.data["n"] for e in read_events(tmp_path / "events.jsonl").events] == [0, 1, 2]
    assert log.last_error is None


def test_autosave_rotation_and_restore(tmp_path):
    s = Session.create(tmp_path / "s", "P")
    for i in range(13):
        s.record.notes = f"edit {i}"
        s.autosave()
    assert len(s.autosaves()) == 10
    reopened = Session.open(tmp_path / "s")
    newer = reopened.newer_autosave()
    assert newer is not None
    reopened.restore_autosave(newer)
    assert reopened.record.notes == "edit 12"
    reopened.save()
    assert Session.open(tmp_path / "s").newer_autosave() is None


def test_damaged_or_foreign_files_give_clear_errors(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "session.json").write_text("{ not json")
    with pytest.raises(SessionError, match="not valid JSON"):
        Session.open(folder)
    (folder / "session.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(SessionError, match="not a tmsnav session"):
        Session.open(folder)
    (folder / "session.json").write_text(json.dumps({"format_version": 99, "software_version": "9.0"}))
    with pytest.raises(SessionError, match="newer tmsnav"):
        Session.open(folder)
    with pytest.raises(SessionError, match="No session.json"):
        Session.open(tmp_path / "nowhere")
