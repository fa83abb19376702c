"""The footswitch/capture key is read back from the user's settings file at start-up. A value that
is not one key (QSettings turns an edited line ``capture_key=F9, F10`` into a list) used to reach
QKeySequence and stop the main window from opening with a TypeError; it must fall back to F12."""

import pytest
from PySide6 import QtCore

from tmsnav.app.main_window import MainWindow
from tmsnav.app.panels.registration_panel import DEFAULT_CAPTURE_KEY

pytestmark = pytest.mark.gui


@pytest.fixture
def settings_file(tmp_path):
    """The tmsnav settings file in a temporary folder (the user's own is never touched)."""
    fmt, scope = QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope
    QtCore.QSettings.setPath(fmt, scope, str(tmp_path))
    QtCore.QSettings.setPath(QtCore.QSettings.Format.NativeFormat, scope, str(tmp_path))
    path = tmp_path / "tmsnav" / "tmsnav.conf"
    path.parent.mkdir()
    yield path
    home = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.GenericConfigLocation)
    QtCore.QSettings.setPath(fmt, scope, home)
    QtCore.QSettings.setPath(QtCore.QSettings.Format.NativeFormat, scope, home)


@pytest.mark.parametrize("line, expected", [
    ("capture_key=F9, F10", DEFAULT_CAPTURE_KEY),   # read back as a list
    ("capture_key=F9", "F9"),                       # a real key is kept
])
def test_a_capture_key_setting_that_is_not_one_key_falls_back_to_the_default(qtbot, settings_file, line, expected):
    settings_file.write_text(f"[registration]\n{line}\n")
    assert QtCore.QSettings("tmsnav", "tmsnav").fileName() == str(settings_file)
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.registration_panel.capture_key == expected
    window.close()
