"""The Tracker tab tells the truth about the device in use (issue 12): the model connected (not the
form's default), advice that fits an electromagnetic tracker, the link warning with its remedy,
and the pty of a running tmsnav-emulate in the port list."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from tmsnav.hardware.config import TrackerConfig
from tmsnav.hardware.polhemus import PolhemusEmulator

pytestmark = pytest.mark.gui


@pytest.fixture
def liberty():
    em = PolhemusEmulator("liberty", stations=(1, 2, 3))
    for station in (1, 2):
        pose = np.eye(4)
        pose[:3, 3] = [100.0 * station, 0.0, 50.0]
        em.set_station_pose(station, pose)
    path = em.serve_pty()
    yield path
    em.stop()


def test_liberty_from_the_command_line_shows_liberty_and_electromagnetic_advice(window, qtbot, liberty):
    """Connected as a Liberty, the tab said "fastrak" (the form's default) and the tool check
    told the user to face a camera a Polhemus does not have."""
    window.connect_tracker_spec(f"polhemus:{liberty}?model=liberty")
    panel = window.tracker_panel
    qtbot.waitUntil(lambda: window.tracking.last is not None
                    and window.tracking.last.state == "tracking", timeout=15000)
    qtbot.waitUntil(lambda: panel.device_label.text() != "", timeout=3000)
    assert panel.model.currentText() == "liberty"
    assert panel.device_label.text() == "Device in use: Polhemus Liberty, electromagnetic"
    assert panel.state_label.text().startswith("● TRACKING")
    tools = window.registration_panel.step("tools")
    tools.enter()
    text = tools.message.text()
    assert text and "camera" not in text and "line of sight" not in text
    assert "sensor" in text
    banner = window.tracking_display.banner
    if banner.isVisible():               # the head reference may be unmapped or out of range
        assert "camera" not in banner.detail.text()
    window.tracking.stop()


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


class WithLinkWarning:
    """The running acquisition, its stats carrying a link warning (as the hardware layer sets
    ``AcquisitionStats.link_warning`` when the baud rate cannot carry the device's rate)."""

    def __init__(self, acquisition, text: str) -> None:
        self._acquisition, self._text = acquisition, text

    def __getattr__(self, name):
        return getattr(self._acquisition, name)

    @property
    def stats(self):
        stats = self._acquisition.stats
        stats.link_warning = self._text
        return stats


def test_link_warning_is_in_the_tracker_tab_with_its_remedy(window, qtbot):
    warning = ("Liberty at 240 Hz needs 230400 baud; the link runs at 115200: lower the rate to "
               "120 Hz or connect by USB")
    window.connect_tracker(TrackerConfig.parse("sim:idle"))
    qtbot.waitUntil(lambda: window.tracking.last is not None
                    and window.tracking.last.state == "tracking", timeout=10000)
    panel = window.tracker_panel
    assert not panel.link_label.isVisible()
    window.tracking.acquisition = WithLinkWarning(window.tracking.acquisition, warning)
    window.panels.setCurrentWidget(panel)
    qtbot.waitUntil(panel.link_label.isVisible, timeout=3000)
    assert panel.link_label.text() == f"Link too slow: {warning}"
    window.tracking.stop()
    assert not panel.link_label.isVisible()


def fake_emulator_ports(monkeypatch, function) -> None:
    module = types.ModuleType("tmsnav.hardware.emulator_ports")
    module.running_emulator_ports = function  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tmsnav.hardware.emulator_ports", module)


def test_port_list_offers_the_pty_of_a_running_emulator(window, monkeypatch):
    fake_emulator_ports(monkeypatch, lambda: ["/dev/pts/77"])
    panel = window.tracker_panel
    panel.kind.setCurrentIndex(panel.kind.findData("polhemus"))
    index = panel.port.findText("/dev/pts/77")
    assert index >= 0
    assert "tmsnav-emulate" in panel.port.itemData(index, 3)     # 3: Qt.ToolTipRole


def test_a_broken_emulator_list_does_not_break_the_port_list(window, monkeypatch):
    def broken() -> list[str]:
        raise OSError("permission denied: the runtime folder")

    fake_emulator_ports(monkeypatch, broken)
    panel = window.tracker_panel
    panel.kind.setCurrentIndex(panel.kind.findData("ndi"))
    panel.port.setCurrentText("/dev/ttyUSB0")
    panel._fill_ports()
    assert panel.port.currentText() == "/dev/ttyUSB0"
