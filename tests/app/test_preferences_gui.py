"""Edit > Preferences: clinic settings take effect in the window, Save checks, Cancel writes
nothing, the password goes to the keyring, newer and damaged files, Test connection off the GUI
thread, and distances in cm on the Navigate numbers (phantom head, simulated tracker)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import keyring
import numpy as np
import pytest
from keyring.backends import fail
from PySide6 import QtWidgets

from tmsnav.app.preferences_dialog import PreferencesDialog, install_preferences
from tmsnav.navigation.clinic_settings import (FORMAT_VERSION, ClinicSettings, load_settings,
                                               save_settings, settings_path)
from tmsnav.navigation.guidance import GuidanceError
from tmsnav.navigation.records import credentials
from tmsnav.navigation.transforms import Frame, Transform
from tests.app.test_guidance_session_gui import left_frontal_target
from tests.data_factories.keyrings import MemoryKeyring

pytestmark = pytest.mark.gui

CLINIC = ClinicSettings(tolerance_mm=2.0, tolerance_angle_rad=math.radians(4.0),
                        coil_model_id="magventure-b65-like", tracker_kind="ndi",
                        tracker_port="/dev/ttyUSB7", stimulator_kind="magstim-rapid",
                        stimulator_port="/dev/ttyS3", pulse_source_kind="key",
                        pulse_source_detail="F9", distance_unit="cm", sounds=False)
SECRET = "Tr0ub4dor&3"
PG_URL = "postgresql+psycopg://nav@db.clinic.invalid:5432/tms"


def error(in_plane: float, tilt_deg: float = 1.0) -> GuidanceError:
    return GuidanceError(offset_x_mm=in_plane, offset_y_mm=0.0, depth_mm=0.5,
                         tilt_rad=math.radians(tilt_deg), twist_rad=0.0, anterior_mm=in_plane,
                         right_mm=0.0)


def shifted(mm: float) -> np.ndarray:
    m = np.eye(4)
    m[0, 3] = mm
    return m


class FakeTarget:
    """A target at the MRI origin (the pulse log needs a name and mri_from_target)."""

    name = "test target"
    mri_from_target = Transform(Frame.MRI, Frame.TARGET, np.eye(4))


@pytest.fixture(autouse=True)
def no_keyring_by_default():
    """keyring picks its default among every KeyringBackend subclass imported, the test ones
    included: set it, so each test knows whether a keyring exists (here: none, as on CI)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def use_keyring(request, no_keyring_by_default):
    previous = keyring.get_keyring()
    backend = MemoryKeyring() if request.param == "memory" else fail.Keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def open_dialog(controller, qtbot) -> PreferencesDialog:
    dialog = controller.open_dialog()
    qtbot.waitExposed(dialog)
    return dialog


def test_clinic_settings_take_effect_when_the_window_starts(window, tmp_path: Path) -> None:
    save_settings(CLINIC, tmp_path)
    tp = window.treatment_panel
    assert tp.tolerance.distance_mm == 3.0 and tp.cues.sound.isChecked()       # app defaults
    assert error(2.5).on_target(tp.recorder.log.tolerance)                    # 2.5 mm passes at 3 mm
    controller = install_preferences(window, window.edit_menu, tmp_path)
    assert controller.settings == CLINIC and controller.notes == []
    assert any(a.text() == "&Preferences…" for a in window.edit_menu.actions())
    # tolerance: the Navigate boxes, then what follows them (bullseye, pulse log, cues)
    assert window.guidance_panel.tol_mm.value() == 2.0
    assert window.guidance_panel.tol_deg.value() == pytest.approx(4.0)
    for tol in (window.guidance_panel.bullseye.tolerance, tp.tolerance, tp.recorder.log.tolerance,
                tp.cues.tolerance, window.chairside.view.bullseye.tolerance):
        assert tol.distance_mm == 2.0 and tol.tilt_rad == pytest.approx(math.radians(4.0))
    assert not error(2.5).on_target(tp.recorder.log.tolerance), "a 2.5 mm pulse is now off target"
    pulse = tp.recorder.log.record(1_000, "test", target=FakeTarget(),
                                   mri_from_hotspot=Transform(Frame.MRI, Frame.HOTSPOT, shifted(2.5)))
    assert pulse.position_error_mm == pytest.approx(2.5) and pulse.within_tolerance is False
    pulse = tp.recorder.log.record(2_000, "test", target=FakeTarget(),
                                   mri_from_hotspot=Transform(Frame.MRI, Frame.HOTSPOT, shifted(1.5)))
    assert pulse.within_tolerance is True
    # sounds off: the cue is still given (flash) but no beep
    tp.cues.guidance(error(1.0), now_ns=10**12)
    assert tp.cues.given == ["on_target"] and tp.cues.beeps == 0
    # devices prefill their forms
    coil_step = window.registration_panel.step("coil")
    assert coil_step.model.currentData() == "magventure-b65-like"
    assert window.tracker_panel.kind.currentData() == "ndi"
    assert window.tracker_panel.port.currentText() == "/dev/ttyUSB7"
    assert tp.stimulator.model.currentData() == "magstim-rapid"
    assert tp.stimulator.port.currentText() == "/dev/ttyS3"
    assert tp.sources.kind.currentData() == "key" and tp.sources.detail.text() == "F9"
    assert window.guidance_panel.distance_unit == "cm" and window.chairside.view.distance_unit == "cm"


def test_save_applies_only_what_changed_and_cancel_writes_nothing(window, qtbot, tmp_path: Path) -> None:
    controller = install_preferences(window, window.edit_menu, tmp_path)
    assert not settings_path(tmp_path).exists()
    window.guidance_panel.tol_mm.setValue(4.0)        # the clinician tightened... loosened it today
    dialog = open_dialog(controller, qtbot)
    dialog.sounds.setChecked(False)
    assert dialog.save()
    assert load_settings(tmp_path).sounds is False
    assert not window.treatment_panel.cues.sound.isChecked()
    assert window.guidance_panel.tol_mm.value() == 4.0, "saving sounds must not reset the tolerance"
    before = settings_path(tmp_path).read_bytes()
    dialog = open_dialog(controller, qtbot)
    dialog.tol_mm.setValue(2.5)
    dialog.cancel_button.click()
    assert settings_path(tmp_path).read_bytes() == before and window.guidance_panel.tol_mm.value() == 4.0
    dialog = open_dialog(controller, qtbot)
    assert dialog.tol_mm.value() == 3.0               # the dialog shows the clinic's value
    dialog.tol_mm.setValue(2.5)
    dialog.tol_deg.setValue(3.0)
    dialog.save_button.click()
    assert not dialog.isVisible()
    stored = json.loads(settings_path(tmp_path).read_text())
    assert stored["tolerance_mm"] == 2.5 and stored["tolerance_angle_rad"] == pytest.approx(math.radians(3.0))
    assert window.treatment_panel.recorder.log.tolerance.distance_mm == 2.5
    assert window.treatment_panel.tolerance.tilt_rad == pytest.approx(math.radians(3.0))


@pytest.mark.parametrize("field, value, tab, words", [
    ("db_url", "postgresql+psycopg://nav:S3cret@db/tms", 2, "keyring"),
    ("db_url", "sqlite:///relative.sqlite3", 2, "full path"),
    ("sessions_root", "sessions/here", 2, "full path"),
    ("pulse_detail", "F8?bogus=1", 1, "Pulse source"),
    ("tracker_port", "/dev/ttyUSB0?baud=fast", 1, "Tracker port"),
])
def test_save_refuses_a_bad_value_naming_it_and_writes_nothing(window, qtbot, tmp_path: Path,
                                                               field, value, tab, words) -> None:
    controller = install_preferences(window, window.edit_menu, tmp_path)
    dialog = open_dialog(controller, qtbot)
    dialog.tabs.setCurrentIndex(3)
    getattr(dialog, field).setText(value)
    assert not dialog.save()
    assert dialog.isVisible() and dialog.tabs.currentIndex() == tab
    assert words in dialog.message.text() and "S3cret" not in dialog.message.text()
    assert not settings_path(tmp_path).exists()
    dialog.reject()


@pytest.mark.parametrize("use_keyring", ["memory", "none"], indirect=True)
def test_password_goes_to_the_keyring_or_memory_never_to_a_file(window, qtbot, tmp_path: Path,
                                                                 use_keyring, caplog) -> None:
    caplog.set_level("DEBUG")
    credentials.MEMORY.forget(PG_URL)
    controller = install_preferences(window, window.edit_menu, tmp_path)
    dialog = open_dialog(controller, qtbot)           # typed, then Cancel: nothing kept anywhere
    dialog.db_url.setText(PG_URL)
    dialog.password.setText(SECRET)
    dialog.cancel_button.click()
    assert credentials.get_password(PG_URL) is None and credentials.MEMORY.get(PG_URL) is None
    assert not settings_path(tmp_path).exists()
    dialog = open_dialog(controller, qtbot)
    override = dialog.findChild(QtWidgets.QLabel, "pref_database_override")   # tests/conftest.py sets it
    assert override is not None and "TMSNAV_DATABASE_URL is set" in override.text()
    assert not dialog.password.isEnabled()            # SQLite (the default): no password
    dialog.db_url.setText(PG_URL)
    assert dialog.password.isEnabled()
    has_keyring = isinstance(use_keyring, MemoryKeyring)
    assert ("No system keyring" in dialog.keyring_label.text()) is not has_keyring
    dialog.password.setText(SECRET)
    assert dialog.save()
    assert load_settings(tmp_path).database_url == PG_URL
    if has_keyring:
        assert use_keyring.items == {(credentials.SERVICE, PG_URL): SECRET}
        assert credentials.MEMORY.get(PG_URL) is None
    else:
        assert credentials.MEMORY.get(PG_URL) == SECRET      # asked again after a restart
    written = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert SECRET not in written and SECRET not in caplog.text
    dialog = open_dialog(controller, qtbot)
    assert dialog.password.text() == ""                # never shown back
    dialog.forget_button.click()
    assert credentials.get_password(PG_URL) is None and credentials.MEMORY.get(PG_URL) is None
    dialog.reject()


def test_newer_file_is_warned_at_start_and_replaced_only_after_yes(window, qtbot, tmp_path: Path) -> None:
    newer = {**CLINIC.to_dict(), "format_version": FORMAT_VERSION + 1, "room_name": "Room 2"}
    settings_path(tmp_path).write_text(json.dumps(newer))
    controller = install_preferences(window, window.edit_menu, tmp_path)
    assert controller.settings == CLINIC
    assert controller.message_box is not None and "newer tmsnav" in controller.message_box.text()
    controller.message_box.accept()
    before = settings_path(tmp_path).read_bytes()
    dialog = open_dialog(controller, qtbot)
    dialog.sounds.setChecked(True)
    assert not dialog.save()
    box = dialog.confirm_box
    assert box is not None and box.isVisible() and "newer tmsnav" in box.text()
    box.button(QtWidgets.QMessageBox.StandardButton.No).click()
    qtbot.waitUntil(lambda: "kept" in dialog.message.text(), timeout=3000)
    assert settings_path(tmp_path).read_bytes() == before and dialog.isVisible()
    dialog.save()
    dialog.confirm_box.button(QtWidgets.QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)
    written = json.loads(settings_path(tmp_path).read_text())
    assert written["format_version"] == FORMAT_VERSION and written["sounds"] is True
    assert written["room_name"] == "Room 2"


def test_damaged_file_at_start_gives_defaults_a_message_and_is_kept(window, tmp_path: Path) -> None:
    settings_path(tmp_path).write_text('{"format_version": 1, "tolerance_mm": 2.0,,}')
    controller = install_preferences(window, window.edit_menu, tmp_path)
    assert controller.settings == ClinicSettings()
    assert window.guidance_panel.tol_mm.value() == 3.0
    text = controller.message_box.text()
    assert "could not be read" in text and "clinic.damaged-" in text
    kept = list(tmp_path.glob("clinic.damaged-*.json"))
    assert len(kept) == 1 and "2.0,,}" in kept[0].read_text()


def test_damaged_file_is_reported_by_the_window_even_when_the_records_read_it_first(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    """The records read clinic.json (database URL) before the Preferences controller is built;
    the damaged file must still be there for the window's message, then be kept aside."""
    from tmsnav.app.main_window import MainWindow

    monkeypatch.setenv("TMSNAV_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("TMSNAV_DATABASE_URL", raising=False)      # so the records read the file
    monkeypatch.setenv("TMSNAV_SESSIONS_ROOT", str(tmp_path / "sessions"))
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: str(tmp_path / "data"))
    settings_path(tmp_path).write_text("{oops")
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    try:
        box = w.preferences.message_box
        assert box is not None and box.isVisible() and "could not be read" in box.text()
        assert len(list(tmp_path.glob("clinic.damaged-*.json"))) == 1
        assert not settings_path(tmp_path).exists()
    finally:
        w.records.controller.wait_open(30_000)
        w.close()


def test_test_connection_runs_off_the_gui_thread(window, qtbot, tmp_path: Path) -> None:
    """With TMSNAV_SCREENSHOT_DIR set, docs/images/preferences-records.png is kept there."""
    from tmsnav.navigation.records.database import Database

    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    Database.open(url).close()                       # a database at the current schema
    controller = install_preferences(window, window.edit_menu, tmp_path / "cfg")
    dialog = open_dialog(controller, qtbot)
    dialog.db_url.setText(url)
    dialog.test_button.click()
    assert "Connecting" in dialog.test_result.text() or dialog.test_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=20_000)
    assert dialog.test_result.text().startswith("Connected to SQLite file"), dialog.test_result.text()
    # a server that refuses: a clear message, the window never freezes, no password shown
    dialog.db_url.setText("postgresql+psycopg://nav@127.0.0.1:1/tms")
    dialog.password.setText(SECRET)
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=30_000)
    result = dialog.test_result.text()
    assert "127.0.0.1" in result and SECRET not in result and not result.startswith("Connected")
    dialog.password.clear()
    dialog.sessions_root.setText("/srv/tmsnav/sessions")
    out = Path(os.environ.get("TMSNAV_SCREENSHOT_DIR", tmp_path)) / "preferences-records.png"
    dialog.tabs.setCurrentIndex(2)
    dialog.resize(700, 420)
    qtbot.wait(50)
    image = dialog.grab().toImage()
    assert image.save(str(out))
    dialog.db_url.setText("postgresql+psycopg://nav:pw@db/tms")
    dialog.test_button.click()
    assert "keyring" in dialog.test_result.text() and dialog.test_button.isEnabled()
    assert not settings_path(tmp_path / "cfg").exists(), "testing saves nothing"
    dialog.reject()


@pytest.mark.safety(hazard="units", control="distances shown in cm (Preferences) carry the unit on "
                    "every Navigate number and chairside caption and equal mm / 10")
def test_navigate_numbers_in_cm_on_the_phantom_head(window, qtbot, tmp_path: Path) -> None:
    """Another head than the sample one; the numbers carry their unit everywhere and are the
    same distance (mm / 10), on the Navigate tab and in the large chairside layout."""
    from tmsnav.app.loading import LoadedHead
    from tmsnav.hardware.config import TrackerConfig
    from tests.app.treatment_helpers import trust_simulated_tracker
    from tmsnav.navigation.phantom import make_phantom_head
    from tmsnav.navigation.surfaces.extract import extract_scalp

    save_settings(ClinicSettings(distance_unit="cm"), tmp_path)
    install_preferences(window, window.edit_menu, tmp_path)
    ph = make_phantom_head(voxel_mm=2.0)
    window._on_head_loaded(LoadedHead(ph.volume, extract_scalp(ph.volume, max_faces=30_000), None,
                                      {"nasion": ph.nasion, "lpa": ph.lpa, "rpa": ph.rpa}))
    target = left_frontal_target(ph)
    window.state.targets.add(target)
    window.state.targets.select(target.name)
    window.state.targets_edited("test")
    window.connect_tracker(TrackerConfig.parse("sim:coil_approach?approach_s=0.5&place_s=0.5&hold_s=30"))
    qtbot.waitUntil(lambda: window.tracking.tracker_ref is not None, timeout=3000)
    truth = window.tracking.tracker_ref.truth
    trust_simulated_tracker(window, truth)
    panel = window.guidance_panel
    big = window.chairside.view
    window.chairside.set_large(True)
    # held near the target (during the approach the large view drops to 0.1 cm beyond 10 cm)
    qtbot.waitUntil(lambda: panel.last_error is not None and panel.last_error.in_plane_mm < 30.0
                    and big.values["right"].text() != "—", timeout=10_000)
    # the numbers, the error and the large view are all set in one update: read them together
    err = panel.last_error
    assert panel.values["in_plane"].text() == f"{err.in_plane_mm / 10:.2f} cm"
    assert panel.values["anterior"].text() == f"{err.anterior_mm / 10:+.2f} cm"
    assert panel.values["depth"].text() == f"{err.depth_mm / 10:+.2f} cm"
    assert panel.values["tilt"].text().endswith("°")
    for key in ("in_plane", "anterior", "right"):
        assert panel.values[key].text() == big.values[key].text() + " cm"
    assert big.captions["in_plane"].text() == "Distance on scalp, cm"
    assert big.captions["right"].text() == "Right (+) / left, cm"
    assert big.captions["tilt"].text() == "Tilt, °"
    assert big.small_label.text().startswith(f"Depth (+ pressing in) {err.depth_mm / 10:+.2f} cm")


@pytest.mark.safety(hazard="privacy", control="reports name the patient by pseudonym only unless "
                    "the clinic turns identity on in Preferences")
def test_report_identity_setting_decides_whether_the_name_is_in_the_report(qtbot, tmp_path: Path,
                                                                           monkeypatch) -> None:
    """Off (the default): the pseudonym only; on: the name and MRN in the header too."""
    import uuid

    from tmsnav.app.main_window import MainWindow
    from tmsnav.navigation.records.infos import CourseProtocol

    monkeypatch.setenv("TMSNAV_DATABASE_URL", f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    monkeypatch.setenv("TMSNAV_SESSIONS_ROOT", str(tmp_path / "sessions"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    try:
        assert w.records.controller.wait_open(30_000), w.records.controller.error
        records = w.records.controller.records
        records.add_patient("P-0007", full_name="Ada Example", mrn="MRN-5531")
        course = records.add_course("P-0007", CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30))
        session = records.upsert_session(uuid.uuid4().hex, course.uid, operator="op",
                                         started_utc="2026-12-05T08:00:00+00:00")
        actions = w.records.show_patients().actions_
        texts = {}
        for identity in (False, True):
            save_settings(ClinicSettings(report_identity=identity), tmp_path / f"cfg-{identity}")
            w.preferences = install_preferences(w, w.edit_menu, tmp_path / f"cfg-{identity}")
            actions.report_dir = tmp_path / f"reports-{identity}"
            actions.last_report = None
            actions.write_report("session", session.uid)
            qtbot.waitUntil(lambda: actions.last_report is not None, timeout=60_000)
            texts[identity] = actions.last_report.html.read_text(encoding="utf-8")
        assert "P-0007" in texts[False] and "Ada Example" not in texts[False]
        assert "MRN-5531" not in texts[False]
        assert "Ada Example" in texts[True] and "P-0007" in texts[True]
    finally:
        w.close()


def test_database_url_and_sessions_folder_reach_the_records(tmp_path: Path, monkeypatch) -> None:
    """What the records open and where today's session folders go come from clinic.json (the
    environment overrides stay for tests and a second instance)."""
    from tmsnav.app.records import settings_link

    monkeypatch.setenv("TMSNAV_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.delenv("TMSNAV_DATABASE_URL", raising=False)
    monkeypatch.delenv("TMSNAV_SESSIONS_ROOT", raising=False)
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    save_settings(ClinicSettings(database_url=url, sessions_root=str(tmp_path / "sessions")))
    assert settings_link.database_url() == url
    assert settings_link.sessions_root() == tmp_path / "sessions"
    save_settings(ClinicSettings(database_url=PG_URL))
    assert settings_link.database_url() == PG_URL
    monkeypatch.setenv("TMSNAV_DATABASE_URL", url)
    assert settings_link.database_url() == url
