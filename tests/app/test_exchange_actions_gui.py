"""File > Import targets / Export targets / Export pulses / Export course as BIDS on the sample
head: round trips through each format, a cortical point moved to the scalp, a target off this
head warned, wrong files refused in a message box (never a traceback), the BIDS job."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtWidgets

from tmsnav.app.records.exchange_actions import ExchangeActions, install_exchange, open_course
from tmsnav.navigation.exchange.brainsight import read_brainsight, write_brainsight
from tmsnav.navigation.exchange.localite import read_trigger_markers
from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.repository import CourseProtocol, Records
from tmsnav.navigation.targeting.targets import TargetSet
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import PulseLog
from tests.app.planning_helpers import open_planned_sample_head

SAMPLES = Path(__file__).parents[1] / "navigation" / "exchange" / "samples"


@pytest.fixture
def planned(qtbot, window, tmp_path):
    session = open_planned_sample_head(qtbot, window, tmp_path / "session")
    assert len(window.state.targets) == 2
    actions = window.exchange                      # wired by MainWindow (File menu)
    assert isinstance(actions, ExchangeActions)
    yield window, actions, session
    for box in window.findChildren(QtWidgets.QMessageBox):
        box.close()


def _matrices(targets) -> dict[str, np.ndarray]:
    return {t.name: t.mri_from_target.matrix for t in targets}


def test_menu_entries(planned):
    window, actions, _ = planned
    texts = [a.text() for a in window.file_menu.actions()]
    for text in ("&Import targets…", "E&xport targets…", "Export &pulses…",
                 "Export course as &BIDS…"):
        assert texts.count(text) == 1
    assert texts.index("&Import targets…") < texts.index("Save &screenshot…")


@pytest.mark.parametrize("fmt,suffix", [("brainsight", ".txt"), ("localite", ".xml"),
                                        ("simnibs", ".mat")])
def test_export_then_import_gives_the_same_targets(planned, tmp_path, fmt, suffix):
    window, actions, _ = planned
    original = _matrices(window.state.targets)
    out = actions.export_targets(tmp_path / "plan", fmt)
    assert out == tmp_path / f"plan{suffix}" and out.is_file()
    assert actions.import_targets(out) == 2
    names = window.state.targets.names
    assert len(names) == 4
    for name, m in original.items():
        np.testing.assert_allclose(window.state.targets[f"{name} (2)"].mri_from_target.matrix, m,
                                   atol=1e-9)
    assert "already exists" in actions.last_message
    assert "Check before use" not in actions.last_message         # on this head's scalp
    window.planning_panel.undo_stack.undo()                        # one step removes them all
    assert window.state.targets.names == list(original)


def test_cortical_point_is_moved_to_the_scalp_and_off_head_target_warned(planned, tmp_path):
    window, actions, _ = planned
    t = window.state.targets.active
    deep = t.with_changes(name="deep", scalp_point_mm=t.scalp_point_mm + 20.0 * t.normal)
    away = t.with_changes(name="away", scalp_point_mm=t.scalp_point_mm - 80.0 * t.normal)
    path = write_brainsight(tmp_path / "bs.txt", TargetSet([deep, away]))
    assert actions.import_targets(path) == 2
    moved = window.state.targets["deep"]
    assert np.linalg.norm(moved.scalp_point_mm - t.scalp_point_mm) < 3.0
    np.testing.assert_allclose(moved.cortex_point_mm, deep.scalp_point_mm)
    assert "below the scalp" in actions.last_message
    assert "Check before use" in actions.last_message and "away" in actions.last_message
    assert actions.last_box.icon() == QtWidgets.QMessageBox.Icon.Warning


def test_wrong_files_are_refused_in_a_message_box(planned, tmp_path):
    window, actions, _ = planned
    before = window.state.targets.names
    assert actions.import_targets(SAMPLES / "localite_trigger_two_pulses.xml") == 0
    assert "TriggerMarker" in actions.last_message and "not targets" in actions.last_message
    csv = tmp_path / "targets.csv"
    csv.write_text("name,x,y,z\nF3,-35,40,50\n")
    assert actions.import_targets(csv) == 0
    assert "comma-separated" in actions.last_message
    assert actions.last_box.icon() == QtWidgets.QMessageBox.Icon.Critical
    assert window.state.targets.names == before


def test_export_pulses_of_the_open_session(planned, tmp_path):
    window, actions, session = planned
    assert actions.export_pulses(tmp_path / "p", "brainsight") is None
    assert "no logged pulse" in actions.last_message
    target = window.state.targets.active
    log = PulseLog(event_log=session.events)
    pose = Transform(Frame.MRI, Frame.HOTSPOT, target.mri_from_target.matrix)
    for i in range(3):
        log.record(i, "ttl", mri_from_hotspot=pose if i != 1 else None, target=target,
                   output_pct_mso=50.0, didt_a_per_us=40.0,
                   wall_time=f"2026-12-05T10:00:0{i}.000+00:00")
    bs = actions.export_pulses(tmp_path / "p", "brainsight")
    data = read_brainsight(bs)
    assert [s.index for s in data.samples] == [1, 2, 3]
    assert data.samples[1].mri_from_hotspot is None
    lt = actions.export_pulses(tmp_path / "p", "localite")
    assert lt.suffix == ".xml" and len(read_trigger_markers(lt)) == 3


def test_bids_export_needs_a_course_then_runs_off_the_gui_thread(planned, qtbot, tmp_path):
    window, _, _ = planned
    actions = ExchangeActions(window, QtWidgets.QMenu(), course_source=lambda: None)
    assert actions.export_bids(tmp_path) is None
    assert "Open a patient's course first" in actions.last_message
    db = Database.open(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    records = Records(db)
    records.add_patient("anon-x01")
    course = records.add_course("anon-x01", CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30))
    records.upsert_session("s1", course.uid, number=1)
    actions.course_source = lambda: (records, course.uid)
    job = actions.export_bids(tmp_path)
    assert job is not None
    assert window.wait_for_job()
    qtbot.waitUntil(lambda: "exported to" in actions.last_message, timeout=30_000)
    out = tmp_path / f"tmsnav-course-{course.uid[:8]}-bids"
    assert (out / "sub-anonx01" / "ses-01" / "beh" / "sub-anonx01_ses-01_task-tms_events.tsv").is_file()
    assert "sub-anonx01" in actions.last_message                   # the sanitised label is said
    db.close()


def test_install_takes_the_course_of_the_open_session(planned, tmp_path, monkeypatch):
    window, _, session = planned
    assert open_course(window) is None                  # the session belongs to no course
    actions = install_exchange(window)
    for act in actions.actions.values():              # keep the window's File menu single
        window.file_menu.removeAction(act)
    assert actions.export_bids(tmp_path) is None
    assert "Open a patient's course first" in actions.last_message
    records = object()
    monkeypatch.setattr(window.records.controller, "records", records)
    assert open_course(window) is None                  # a database, still no course
    monkeypatch.setattr(session.record, "course_uid", "c0ffee00" * 4)
    assert open_course(window) == (records, "c0ffee00" * 4)


def test_brainsight_space_follows_the_t1_and_a_mismatch_is_warned(planned, tmp_path):
    from tmsnav.navigation.exchange.brainsight import coordinate_system_for

    window, actions, _ = planned
    volume = window.state.head.volume
    expected = coordinate_system_for(volume.source, volume.affine_source)
    out = actions.export_targets(tmp_path / "t", "brainsight")
    assert f"# Coordinate system: {expected}\n" in out.read_text()
    other = "NIfTI:Aligned" if expected != "NIfTI:Aligned" else "NIfTI:Scanner"
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(out.read_text().replace(expected, other))
    assert actions.import_targets(wrong) == 2
    assert "Check before use" in actions.last_message and other in actions.last_message
