"""Defect 8: nothing lost. Closing with unsaved work asks Save / Discard / Cancel; deleting a
target and applying a best handle angle can be undone (Edit > Undo, Ctrl+Z)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.session import Session
from tmsnav.navigation.session.atomic import SaveError
from tests.app.registration_helpers import load

pytestmark = pytest.mark.gui

Buttons = QtWidgets.QMessageBox.StandardButton


def answer_close(window, qtbot, button):
    """Close the window, wait for the question, press ``button`` on it."""
    window.close()
    qtbot.waitUntil(lambda: window._unsaved_box is not None and window._unsaved_box.isVisible(),
                    timeout=3000)
    box = window._unsaved_box
    assert "not saved" in box.text()
    box.button(button).click()


@pytest.fixture
def asking(window):
    window.confirm_unsaved_close = True
    yield window
    window.confirm_unsaved_close = False         # let the fixture close it


def test_cancel_keeps_the_window_and_the_plan(asking, qtbot):
    window = asking
    load(window)                                  # a target planned, no session
    assert window.state.unsaved
    answer_close(window, qtbot, Buttons.Cancel)
    qtbot.wait(50)
    assert window.isVisible() and window.state.targets.names == ["L-DLPFC"]
    assert window.state.unsaved


def test_save_without_a_session_creates_one_with_the_plan(asking, qtbot, tmp_path, monkeypatch):
    window = asking
    load(window)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(tmp_path)))
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText",
                        staticmethod(lambda *a, **k: ("P01", True)))
    answer_close(window, qtbot, Buttons.Save)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    record = json.loads((tmp_path / "P01" / "session.json").read_text())
    assert [t["name"] for t in record["targets"]["targets"]] == ["L-DLPFC"]


def test_save_writes_the_session_after_a_failed_save(asking, qtbot, tmp_path, monkeypatch):
    window = asking
    load(window, with_target=False)
    window.sessions.create(tmp_path / "s", "P02")
    assert not window.state.unsaved
    real_save = Session.save

    def full_disk(self):
        raise SaveError("No space left on device; the previous file is intact.")

    monkeypatch.setattr(Session, "save", full_disk)
    from tests.app.registration_helpers import dlpfc_target, workflow_head

    window.state.targets.add(dlpfc_target(workflow_head()[1]))
    window.state.targets_edited("planned")
    assert window.state.unsaved and window.problem_label.isVisible()
    path = tmp_path / "s" / "session.json"
    assert "L-DLPFC" not in path.read_text()                 # the failed save wrote nothing
    monkeypatch.setattr(Session, "save", real_save)      # the disk has room again
    answer_close(window, qtbot, Buttons.Save)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert "L-DLPFC" in path.read_text() and not window.state.unsaved


def test_discard_closes_without_writing(asking, qtbot, tmp_path):
    window = asking
    load(window)
    answer_close(window, qtbot, Buttons.Discard)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert list(tmp_path.iterdir()) == []


def test_a_saved_session_closes_without_asking(asking, qtbot, tmp_path):
    window = asking
    load(window)
    window.sessions.create(tmp_path / "s", "P03")
    assert not window.state.unsaved
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
    assert window._unsaved_box is None


def test_delete_target_then_undo_restores_it_with_its_evidence(window, qtbot):
    head = load(window)
    from tests.app.registration_helpers import dlpfc_target

    second = dlpfc_target(head).with_changes(name="F3 copy")
    window.state.targets.add(second)
    window.state.targets_edited("second")
    window.state.targets.select("F3 copy")
    before = window.state.targets["L-DLPFC"].to_dict()
    panel = window.planning_panel
    panel.delete_target("L-DLPFC")
    assert window.state.targets.names == ["F3 copy"]
    assert window.undo_action.isEnabled() and "deleted L-DLPFC" in window.undo_action.text()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert window.state.targets.names == ["L-DLPFC", "F3 copy"]
    assert window.state.targets["L-DLPFC"].to_dict() == before      # evidence, pose, source
    assert window.state.targets.active.name == "F3 copy"
    assert panel.list_box.table.rowCount() == 2
    window.redo_action.trigger()
    assert window.state.targets.names == ["F3 copy"]


def test_best_angle_then_undo_restores_the_previous_handle(window, qtbot, monkeypatch):
    load(window)
    panel = window.planning_panel
    target = window.state.targets.active
    old_handle = target.handle_direction.copy()
    computed = []
    monkeypatch.setattr(panel, "compute_field", lambda: computed.append(True))
    panel.field = (target, None, SimpleNamespace(best_angle_rad=np.deg2rad(40.0)))
    panel.apply_best_angle()
    turned = window.state.targets.active
    assert computed and not np.allclose(turned.handle_direction, old_handle)
    cos = float(turned.handle_direction @ old_handle)
    assert np.rad2deg(np.arccos(np.clip(cos, -1, 1))) == pytest.approx(40.0, abs=0.5)
    assert "Ctrl+Z" in panel.efield_box.values["note"].text()
    window.undo_action.trigger()
    restored = window.state.targets.active
    assert np.array_equal(restored.handle_direction, old_handle)
    assert restored.to_dict() == target.to_dict()
    window.redo_action.trigger()
    assert np.allclose(window.state.targets.active.handle_direction, turned.handle_direction)


def test_undo_history_is_cleared_when_another_image_opens(window, qtbot):
    load(window)
    window.planning_panel.delete_target("L-DLPFC")
    assert window.undo_action.isEnabled()
    load(window, with_target=False)              # headChanged
    assert not window.undo_action.isEnabled()
