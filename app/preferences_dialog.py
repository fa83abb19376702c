"""Edit > Preferences: the clinic settings (docs/settings.md) in four tabs, saved to clinic.json.

* Guidance: the on-target tolerance in mm and degrees (radians inside).
* Devices: coil model, tracker, stimulator and pulse source with their ports.
* Records: the clinic database URL (no password in it), its password (to the OS keyring, never a
  file: :mod:`tmsnav.navigation.records.credentials`), "Test connection" (off the GUI thread,
  :meth:`tmsnav.navigation.records.database.Database.open`) and the sessions folder.
* Display: distance unit (mm / cm; angles always in degrees), sound cues, patient identity in
  report headers.

Save checks every value first (a message names each problem and the tab shows it; nothing is
written); Cancel writes nothing. A clinic.json from a newer tmsnav is replaced only after the
user agrees. :func:`install_preferences` adds the menu entry and applies the settings at start.
"""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.hardware.config import KINDS
from tmsnav.navigation.clinic_settings import (DISTANCE_UNITS, TOLERANCE_DEG_RANGE,
                                               TOLERANCE_MM_RANGE, ClinicSettings,
                                               NewerSettingsFileError, SettingsError,
                                               read_settings, save_settings)
from tmsnav.navigation.records import credentials
from tmsnav.navigation.records.db_url import (DatabaseUrlError, describe_database_url,
                                              parse_database_url)

from .preferences_apply import PULSE_SOURCE_KINDS, STIMULATOR_KINDS, apply_settings, coil_model_ids, \
    device_problems
from .preferences_connect import RecordsLink, check_connection

__all__ = ["PreferencesDialog", "PreferencesController", "install_preferences"]

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #b00020; font-weight: bold"
OK_STYLE = "color: #2e7d32; font-weight: bold"
WARN_STYLE = "color: #8d6e00; font-weight: bold"
#: which tab shows each setting (a problem switches to it)
TAB_OF = {"tolerance_mm": 0, "tolerance_angle_rad": 0, "coil_model_id": 1, "tracker_kind": 1,
          "tracker_port": 1, "stimulator_kind": 1, "stimulator_port": 1, "pulse_source_kind": 1,
          "pulse_source_detail": 1, "database_url": 2, "sessions_root": 2, "password": 2,
          "distance_unit": 3, "sounds": 3, "report_identity": 3}


def _spin(lo: float, hi: float, suffix: str, name: str) -> QtWidgets.QDoubleSpinBox:
    box = QtWidgets.QDoubleSpinBox()
    box.setObjectName(name)
    box.setRange(lo, hi)
    box.setDecimals(1)
    box.setSingleStep(0.5)
    box.setSuffix(suffix)
    return box


def _combo(name: str, items: dict[str, str]) -> QtWidgets.QComboBox:
    combo = QtWidgets.QComboBox()
    combo.setObjectName(name)
    for key, label in items.items():
        combo.addItem(label, key)
    return combo


def _choose(combo: QtWidgets.QComboBox, key: str) -> None:
    """Select ``key``; a key this version does not offer is shown as such rather than dropped."""
    index = combo.findData(key)
    if index < 0:
        combo.addItem(f"{key} (not available here)", key)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


class PreferencesDialog(QtWidgets.QDialog):
    """Shows ``settings``; :attr:`saved` carries the new settings once written to ``folder``."""

    saved = QtCore.Signal(object)              # ClinicSettings
    _tested = QtCore.Signal(str, str)          # (state, text) from the worker thread

    def __init__(self, settings: ClinicSettings, folder: Any = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferences_dialog")
        self.setWindowTitle("Preferences")
        self.original = settings
        self.folder = folder
        self.result_settings: ClinicSettings | None = None
        self.confirm_box: QtWidgets.QMessageBox | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-test")
        layout = QtWidgets.QVBoxLayout(self)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("preferences_tabs")
        layout.addWidget(self.tabs)
        self.tabs.addTab(self._guidance_tab(), "Guidance")
        self.tabs.addTab(self._devices_tab(), "Devices")
        self.tabs.addTab(self._records_tab(), "Records")
        self.tabs.addTab(self._display_tab(), "Display")
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("preferences_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Save
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("preferences_save")
        self.cancel_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setObjectName("preferences_cancel")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._tested.connect(self._show_test_result)
        self.show_settings(settings)

    # ----- tabs ---------------------------------------------------------------------------
    def _guidance_tab(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        self.tol_mm = _spin(*TOLERANCE_MM_RANGE, " mm", "pref_tolerance_mm")
        self.tol_deg = _spin(*TOLERANCE_DEG_RANGE, " °", "pref_tolerance_deg")
        form.addRow("On target within (distance on scalp)", self.tol_mm)
        form.addRow("and within (tilt)", self.tol_deg)
        note = QtWidgets.QLabel("The Navigate tab starts with these; the Treatment tab's pulse log "
                                "judges each pulse with the same tolerance. Depth allows "
                                "max(5 mm, distance), the handle twist twice the tilt.")
        note.setWordWrap(True)
        note.setStyleSheet("color: grey")
        form.addRow(note)
        return page

    def _devices_tab(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        self.coil = _combo("pref_coil_model", coil_model_ids())
        form.addRow("Coil model", self.coil)
        self.tracker_kind = _combo("pref_tracker_kind", dict(KINDS))
        form.addRow("Tracker", self.tracker_kind)
        self.tracker_port = QtWidgets.QLineEdit()
        self.tracker_port.setObjectName("pref_tracker_port")
        self.tracker_port.setPlaceholderText("e.g. /dev/ttyUSB0, COM3, socket://10.0.0.5:8765 (empty: the first port)")
        form.addRow("Tracker port", self.tracker_port)
        self.stimulator_kind = _combo("pref_stimulator_kind", STIMULATOR_KINDS)
        form.addRow("Stimulator", self.stimulator_kind)
        self.stimulator_port = QtWidgets.QLineEdit()
        self.stimulator_port.setObjectName("pref_stimulator_port")
        self.stimulator_port.setPlaceholderText("e.g. /dev/ttyS0 or COM2")
        form.addRow("Stimulator port", self.stimulator_port)
        self.pulse_kind = _combo("pref_pulse_source_kind", PULSE_SOURCE_KINDS)
        form.addRow("Pulse source", self.pulse_kind)
        self.pulse_detail = QtWidgets.QLineEdit()
        self.pulse_detail.setObjectName("pref_pulse_source_detail")
        self.pulse_detail.setPlaceholderText("e.g. /dev/ttyUSB0?byte=0x01, F8, TMS-markers")
        form.addRow("Pulse source port / key", self.pulse_detail)
        return page

    def _records_tab(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        self.db_url = QtWidgets.QLineEdit()
        self.db_url.setObjectName("pref_database_url")
        self.db_url.setPlaceholderText("empty: this computer's own database (SQLite)")
        self.db_url.setToolTip("sqlite:///FULL/PATH/tmsnav.sqlite3, or for a clinic server "
                               "postgresql+psycopg://USER@SERVER:5432/DATABASE (no password here)")
        self.db_url.textChanged.connect(self._url_changed)
        form.addRow("Database URL", self.db_url)
        override = os.environ.get("TMSNAV_DATABASE_URL", "").strip()
        if override:            # tests, a second instance: say so rather than let the field mislead
            note = QtWidgets.QLabel(f"TMSNAV_DATABASE_URL is set: the records open the "
                                    f"{describe_database_url(override)} whatever this field says.")
            note.setObjectName("pref_database_override")
            note.setWordWrap(True)
            note.setStyleSheet(WARN_STYLE)
            form.addRow(note)
        self.password = QtWidgets.QLineEdit()
        self.password.setObjectName("pref_database_password")
        self.password.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        form.addRow("Password", self.password)
        self.forget_button = QtWidgets.QPushButton("Forget the stored password")
        self.forget_button.setObjectName("pref_forget_password")
        self.forget_button.clicked.connect(self.forget_password)
        form.addRow("", self.forget_button)
        self.keyring_label = QtWidgets.QLabel("")
        self.keyring_label.setObjectName("pref_keyring_status")
        self.keyring_label.setWordWrap(True)
        form.addRow(self.keyring_label)
        self.test_button = QtWidgets.QPushButton("Test connection")
        self.test_button.setObjectName("pref_test_connection")
        self.test_button.clicked.connect(self.start_test)
        self.test_result = QtWidgets.QLabel("")
        self.test_result.setObjectName("pref_test_result")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.test_button, self.test_result)
        row = QtWidgets.QHBoxLayout()
        self.sessions_root = QtWidgets.QLineEdit()
        self.sessions_root.setObjectName("pref_sessions_root")
        self.sessions_root.setPlaceholderText("empty: the sessions folder in this user's data folder")
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse_sessions_root)
        row.addWidget(self.sessions_root, 1)
        row.addWidget(browse)
        form.addRow("Sessions folder", row)
        return page

    def _display_tab(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        self.unit = _combo("pref_distance_unit", {u: u for u in DISTANCE_UNITS})
        form.addRow("Distances shown in", self.unit)
        form.addRow("Angles shown in", QtWidgets.QLabel("degrees"))
        self.sounds = QtWidgets.QCheckBox("Sound cues (on target, tracking lost)")
        self.sounds.setObjectName("pref_sounds")
        form.addRow(self.sounds)
        self.identity = QtWidgets.QCheckBox("Print the patient's name, birth date and MRN in report headers")
        self.identity.setObjectName("pref_report_identity")
        self.identity.setToolTip("Off: reports name the patient by pseudonym only (safer to "
                                 "e-mail or file outside the chart).")
        form.addRow(self.identity)
        return page

    # ----- values -------------------------------------------------------------------------
    def show_settings(self, s: ClinicSettings) -> None:
        self.tol_mm.setValue(float(s.tolerance_mm))
        self.tol_deg.setValue(math.degrees(s.tolerance_angle_rad))
        _choose(self.coil, s.coil_model_id)
        _choose(self.tracker_kind, s.tracker_kind)
        self.tracker_port.setText(s.tracker_port)
        _choose(self.stimulator_kind, s.stimulator_kind)
        self.stimulator_port.setText(s.stimulator_port)
        _choose(self.pulse_kind, s.pulse_source_kind)
        self.pulse_detail.setText(s.pulse_source_detail)
        self.db_url.setText(s.database_url)
        self.sessions_root.setText(s.sessions_root)
        _choose(self.unit, s.distance_unit)
        self.sounds.setChecked(bool(s.sounds))
        self.identity.setChecked(bool(s.report_identity))
        self._url_changed()

    def settings(self) -> ClinicSettings:
        """What the form shows now (not yet checked)."""
        return replace(self.original, tolerance_mm=round(self.tol_mm.value(), 3),
                       tolerance_angle_rad=math.radians(self.tol_deg.value()),
                       coil_model_id=str(self.coil.currentData()),
                       tracker_kind=str(self.tracker_kind.currentData()),
                       tracker_port=self.tracker_port.text().strip(),
                       stimulator_kind=str(self.stimulator_kind.currentData()),
                       stimulator_port=self.stimulator_port.text().strip(),
                       pulse_source_kind=str(self.pulse_kind.currentData()),
                       pulse_source_detail=self.pulse_detail.text().strip(),
                       database_url=self.db_url.text().strip(),
                       sessions_root=self.sessions_root.text().strip(),
                       distance_unit=str(self.unit.currentData()),
                       sounds=self.sounds.isChecked(), report_identity=self.identity.isChecked())

    def _server_url(self) -> str:
        """The canonical URL when it is a server's (needs a password), else ""."""
        try:
            url = parse_database_url(self.db_url.text())
        except DatabaseUrlError:
            return ""
        return url if url.startswith("postgresql") else ""

    def _url_changed(self) -> None:
        url = self._server_url()
        self.password.setEnabled(bool(url))
        self.forget_button.setEnabled(bool(url))
        if not url:             # no keyring look-up at all for SQLite (it can wait on D-Bus)
            self.password.setPlaceholderText("not needed for a SQLite file")
            self.keyring_label.setText("")
            return
        status = credentials.keyring_status()
        stored = credentials.get_password(url) if status.available else None
        self.password.setPlaceholderText(
            "stored in the system keyring (type to replace)" if stored else
            "kept in the system keyring, never in a file" if status.available else
            "kept in memory until tmsnav closes (no keyring here)")
        self.keyring_label.setText(status.message)
        self.keyring_label.setStyleSheet(WARN_STYLE if status.message else "")

    def _browse_sessions_root(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for session folders",
                                                          self.sessions_root.text())
        if path:
            self.sessions_root.setText(path)

    def _problem(self, name: str, text: str) -> None:
        self.message.setText(text)
        self.tabs.setCurrentIndex(TAB_OF.get(name, 0))

    # ----- save ---------------------------------------------------------------------------
    def save(self, replace_newer: bool = False) -> bool:
        """Check, write clinic.json, then keep a typed password; True when saved and closed."""
        new = self.settings()
        problems = {**new.problems(), **device_problems(new)}
        if problems:
            name = next(iter(problems))
            self._problem(name, "Not saved:\n" + "\n".join(problems.values()))
            return False
        try:
            new = new.checked()
            save_settings(new, self.folder, replace_newer=replace_newer)
        except NewerSettingsFileError as exc:
            self._ask_replace_newer(str(exc))
            return False
        except SettingsError as exc:
            self._problem("database_url" if "URL" in str(exc) else "", f"Not saved: {exc}")
            return False
        note = self._keep_password(new)
        self.result_settings = new
        self.saved.emit(new)
        if note:
            log.info("%s", note)
        self.accept()
        return True

    def _keep_password(self, new: ClinicSettings) -> str:
        """A typed password to the keyring (or to memory without one); returns a note."""
        typed = self.password.text()
        url = new.database_url
        if not typed or not url.startswith("postgresql"):
            return ""
        self.password.clear()
        try:
            credentials.store_password(url, typed)
        except credentials.KeyringUnavailable:
            credentials.MEMORY.put(url, typed)
            return "No system keyring: the database password is kept in memory until tmsnav closes."
        except credentials.CredentialsError as exc:
            credentials.MEMORY.put(url, typed)
            return f"{exc} The password is kept in memory until tmsnav closes."
        return "Database password stored in the system keyring."

    def _ask_replace_newer(self, text: str) -> None:
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Replace newer settings?",
                                    f"{text}\n\nReplace it with these settings?",
                                    QtWidgets.QMessageBox.StandardButton.Yes
                                    | QtWidgets.QMessageBox.StandardButton.No, self)
        box.setObjectName("replace_newer_box")
        box.setDefaultButton(QtWidgets.QMessageBox.StandardButton.No)
        box.finished.connect(lambda _result: self._replace_answer(box))
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.open()
        self.confirm_box = box

    def _replace_answer(self, box: QtWidgets.QMessageBox) -> None:
        if box.standardButton(box.clickedButton()) == QtWidgets.QMessageBox.StandardButton.Yes:
            self.save(replace_newer=True)
        else:
            self._problem("", "Not saved: the newer settings file was kept as it is.")

    def forget_password(self) -> None:
        url = self._server_url()
        if not url:
            return
        credentials.MEMORY.forget(url)
        try:
            removed = credentials.delete_password(url)
        except credentials.CredentialsError as exc:
            self.test_result.setText(str(exc))
            self.test_result.setStyleSheet(ERROR_STYLE)
            return
        self.test_result.setText("Stored password removed." if removed else "No password was stored.")
        self.test_result.setStyleSheet("")
        self._url_changed()

    # ----- test connection ----------------------------------------------------------------
    def start_test(self) -> None:
        """Connect on a worker thread; the result arrives through :attr:`_tested`."""
        try:
            url = parse_database_url(self.db_url.text())
        except DatabaseUrlError as exc:
            self._show_test_result("error", str(exc))
            return
        if not url:
            from tmsnav.navigation.records.database import default_database_url

            url = default_database_url()
        password = self.password.text() or None
        if password is None and url.startswith("postgresql"):
            password = credentials.get_password(url) or credentials.MEMORY.get(url)
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText(f"Connecting to {describe_database_url(url)}…")
        self._executor.submit(self._run_test, url, password)

    def _run_test(self, url: str, password: str | None) -> None:
        try:
            state, text = check_connection(url, password)
        except Exception as exc:  # noqa: BLE001 - the button must come back whatever happens
            state, text = "error", f"Cannot connect: {type(exc).__name__}."
        self._tested.emit(state, text)

    def _show_test_result(self, state: str, text: str) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setText(text)
        self.test_result.setStyleSheet({"ok": OK_STYLE, "warn": WARN_STYLE}.get(state, ERROR_STYLE))

    def done(self, result: int) -> None:
        self._executor.shutdown(wait=False)
        super().done(result)


class PreferencesController(QtCore.QObject):
    """Holds the clinic settings of this window; :attr:`settingsChanged` after each save."""

    settingsChanged = QtCore.Signal(object)        # ClinicSettings

    def __init__(self, window: Any, folder: Any = None) -> None:
        super().__init__(window)
        self.window = window
        self.folder = folder
        loaded = read_settings(folder, keep_aside=True)
        self.settings: ClinicSettings = loaded.settings
        self.load_messages: tuple[str, ...] = loaded.messages
        self.dialog: PreferencesDialog | None = None
        self.message_box: QtWidgets.QMessageBox | None = None
        self.action: QtGui.QAction | None = None
        self.records_link: RecordsLink | None = None
        self.notes = apply_settings(window, self.settings)
        if loaded.messages:
            self._tell("Clinic settings", "\n\n".join(loaded.messages))

    def _tell(self, title: str, text: str) -> None:
        log.warning("%s", text)
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, text,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self.window)
        box.setObjectName("settings_message_box")
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.open()
        self.message_box = box

    def open_dialog(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self.settings, self.folder, self.window)
        dialog.saved.connect(self._saved)
        dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dialog.open()
        self.dialog = dialog
        return dialog

    def _saved(self, new: ClinicSettings) -> None:
        previous, self.settings = self.settings, new
        self.notes = apply_settings(self.window, new, previous)
        bar = getattr(self.window, "statusBar", None)
        if callable(bar):
            bar().showMessage(" ".join(self.notes) or "Preferences saved.", 10000)
        self.settingsChanged.emit(new)


def install_preferences(window: Any, menu: QtWidgets.QMenu, folder: Any = None) -> PreferencesController:
    """Add "Preferences…" (Ctrl+,) to ``menu``, read clinic.json and apply it to ``window``.

    Call once the Navigate, Treatment, Tracker and Registration tabs exist (the settings prefill
    them) and the records controller (a missing database password is then asked for when
    connecting: :class:`~.preferences_connect.RecordsLink`). ``folder`` overrides the settings
    folder (tests); the controller is a child of the window, so it lives as long as the window."""
    controller = PreferencesController(window, folder)
    action = QtGui.QAction("&Preferences…", window)
    action.setObjectName("preferences_action")
    action.setShortcut(QtGui.QKeySequence("Ctrl+,"))
    action.setMenuRole(QtGui.QAction.MenuRole.PreferencesRole)
    action.triggered.connect(controller.open_dialog)
    menu.addSeparator()
    menu.addAction(action)
    controller.action = action
    controller.records_link = RecordsLink(window, controller)
    return controller
