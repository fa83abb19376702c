"""The Tracker tab tells the truth about the device in use (issue 12): the model connected (not the
form's default), advice that fits an electromagnetic tracker, the link warning with its remedy,
and the pty of a running tmsnav-emulate in the port list."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6 import QtCore

from tmsnav.hardware.config import TrackerConfig
from tmsnav.hardware.polhemus import PolhemusEmulator

from tests.app.registration_helpers import shot

pytestmark = pytest.mark.gui


@pytest.fixture
def liberty():
    em = PolhemusEmulator("liberty", stations=(1, 2, 3))
    for station in (1, 2):
        pose = np.eye(4)
        pose[:3, 3] = [100.0 * station, 0.0, 50.0]
        em.set_station_pose(station, pose)
    em.set_station_status(3, 1)     # the coil's sensor out of range (Liberty error byte 1)
    path = em.serve_pty()
    yield path
    em.stop()


def test_liberty_from_the_command_line_shows_liberty_and_electromagnetic_advice(window, qtbot, liberty):
    """Connected as a Liberty, the tab said "fastrak" (the form's default), the tool check told
    the user to face a camera a Polhemus does not have, and the warning that 115200 baud cannot
    carry 240 Hz reached only the terminal."""
    window.resize(1366, 768)
    window.connect_tracker_spec(f"polhemus:{liberty}?model=liberty")
    panel = window.tracker_panel
    qtbot.waitUntil(lambda: window.tracking.last is not None
                    and window.tracking.last.state == "tracking", timeout=15000)
    qtbot.waitUntil(lambda: panel.state_label.text().startswith("● TRACKING"), timeout=10000)
    assert panel.model.currentText() == "liberty"
    assert panel.device_label.text() == "Device in use: Polhemus Liberty, electromagnetic"
    window.panels.setCurrentWidget(panel)
    assert panel.link_label.isVisible()
    assert panel.link_label.text().startswith("Link too slow: Polhemus Liberty at 240 Hz needs ")
    assert "lower the rate to" in panel.link_label.text()          # the remedy
    qtbot.waitUntil(lambda: panel.tools.rowCount() == 3, timeout=3000)
    shot(window, "tracker-liberty")
    tools = window.registration_panel.step("tools")
    tools.enter()
    text = tools.message.text()
    assert text and "camera" not in text and "line of sight" not in text
    assert "bring its sensor closer to the field source" in text
    banner = window.tracking_display.banner
    if banner.isVisible():               # the head reference may be unmapped or out of range
        assert "camera" not in banner.detail.text()
    window.tracking.stop()
    assert not panel.link_label.isVisible() and not panel.device_label.isVisible()


def test_wrong_polhemus_model_is_not_connected_with_the_cause_in_every_place(window, qtbot, liberty):
    """A mistake people make: the form's model is not the unit on the cable. It must read as a
    connection failure with the driver's cause, never as a lost or a working tracker."""
    window.connect_tracker_spec(f"polhemus:{liberty}?model=patriot")
    display, panel = window.tracking_display, window.tracker_panel
    qtbot.waitUntil(lambda: display.banner.isVisible(), timeout=10000)
    assert display.banner.headline.text() == "TRACKER NOT CONNECTED"
    detail = display.banner.detail.text()
    assert detail.startswith("Cannot connect to Polhemus Patriot: ")      # the model chosen
    assert "found a Polhemus Liberty" in detail and liberty in detail     # the driver's cause
    window.panels.setCurrentWidget(panel)
    assert panel.state_label.text().startswith("● NOT CONNECTED")
    assert panel.error_label.isVisible() and "found a Polhemus Liberty" in panel.error_label.text()
    assert display.status_label.text().startswith("Tracker not connected: ")
    assert window.view3d.banner == "NO TRACKING\ntracker not\nconnected"
    window.tracking.stop()
    assert not display.banner.isVisible() and not panel.error_label.isVisible()


def test_command_line_settings_all_reach_the_form(window):
    panel = window.tracker_panel
    panel.set_config(TrackerConfig.parse("polhemus:/dev/pts/9?model=patriot&baud=57600"))
    assert (panel.model.currentText(), panel.baud.currentText()) == ("patriot", "57600")
    cfg = TrackerConfig.parse("ndi:/dev/ttyUSB3?format=TX&baud=921600")
    cfg.rom_files = {"pointer": "/roms/8700340.rom"}
    panel.set_config(cfg)
    again = panel.config()
    assert (again.kind, again.port, again.baud, again.reply_format) == ("ndi", "/dev/ttyUSB3", 921600, "TX")
    assert again.rom_files == {"pointer": "/roms/8700340.rom"}


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A private folder for tmsnav-emulate's port files (never the user's own)."""
    monkeypatch.setenv("TMSNAV_RUNTIME_DIR", str(tmp_path))
    return tmp_path


def test_port_list_offers_a_running_emulator_and_connects_with_its_model(window, qtbot, registry,
                                                                        liberty):
    from tmsnav.hardware.emulator_ports import EmulatorPort, register_emulator

    register_emulator(EmulatorPort(os.getpid(), liberty, "polhemus",
                                   f"polhemus:{liberty}?model=liberty"))
    register_emulator(EmulatorPort(os.getpid() + 1_000_000, "/dev/pts/999", "polhemus",
                                   "polhemus:/dev/pts/999"))            # a dead emulator
    register_emulator(EmulatorPort(os.getppid(), "socket://127.0.0.1:8765", "ndi",
                                   "ndi:socket://127.0.0.1:8765"))      # another kind
    panel = window.tracker_panel
    window.panels.setCurrentWidget(panel)
    panel.kind.setCurrentIndex(panel.kind.findData("polhemus"))
    ports = [panel.port.itemText(i) for i in range(panel.port.count())]
    assert liberty in ports and "/dev/pts/999" not in ports and "socket://127.0.0.1:8765" not in ports
    index = panel.port.findText(liberty)
    assert "tmsnav-emulate" in panel.port.itemData(index, QtCore.Qt.ItemDataRole.ToolTipRole)
    assert panel.model.currentText() == "fastrak"
    panel.port.setCurrentIndex(index)
    panel.port.activated.emit(index)                                    # the user picks it
    assert panel.model.currentText() == "liberty"                       # the emulator's model
    qtbot.mouseClick(panel.connect_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.device_label.text().startswith("Device in use: Polhemus Liberty"),
                    timeout=15000)
    window.tracking.stop()


def test_a_broken_emulator_list_does_not_break_the_port_list(window, monkeypatch):
    from tmsnav.hardware import emulator_ports

    def broken() -> list:
        raise OSError("permission denied: the runtime folder")

    monkeypatch.setattr(emulator_ports, "running_emulators", broken)
    panel = window.tracker_panel
    panel.kind.setCurrentIndex(panel.kind.findData("ndi"))
    panel.port.setCurrentText("/dev/ttyUSB0")
    panel._fill_ports()
    assert panel.port.currentText() == "/dev/ttyUSB0"


def test_connect_without_a_port_says_so_where_errors_are(window, qtbot):
    panel = window.tracker_panel
    window.panels.setCurrentWidget(panel)
    panel.kind.setCurrentIndex(panel.kind.findData("polhemus"))
    panel.port.setCurrentText("")
    qtbot.mouseClick(panel.connect_button, QtCore.Qt.MouseButton.LeftButton)
    assert panel.error_label.isVisible()
    assert panel.error_label.text() == "Error: Choose a port, URL or file first."
    assert panel.state_label.text() == "● NOT CONNECTED" and not window.tracking.connected
