"""The stimulator box of the Treatment tab: connect, live status, intensity, ARM / FIRE / DISARM, STOP.

Safety (docs/treatment.md, "Safety behaviour"; the manufacturers' rules for a remote controller,
e.g. the MagVenture MagPro host-interface description and Magstim's remote-control notes):

* ARM and FIRE are sent only from the user's click on those buttons; connecting, polling,
  changing the intensity or a source never arms or fires.
* The intensity set is read back by the driver; the box shows what the UNIT reports, next to what
  was asked, and a mismatch is an error message (the driver disarms).
* A large STOP button is shown whenever the unit reports armed, here and in a strip at the top of
  the window (:mod:`.stop_bar`: in sight from every tab and the large chairside layout); Esc
  presses it too, from anywhere in the window. It disarms at once without waiting for queued
  commands.
* A lost link or a fault: the driver and the bridge attempt a disarm, the ARM/FIRE buttons are
  disabled and a red banner says the cause until the user reconnects.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.hardware.stimulators.base import Stimulator, StimulatorStatus

from .stimulator_bridge import StimulatorBridge
from .stop_bar import StopBar, install_stop_bar

__all__ = ["StimulatorBox", "MODELS", "EMULATOR_PORT"]

log = logging.getLogger(__name__)

#: (key, label) of the supported units.
MODELS = (("magventure", "MagVenture MagPro"), ("magstim-200", "Magstim 200²"),
          ("magstim-bistim", "Magstim BiStim²"), ("magstim-rapid", "Magstim Rapid²"))
EMULATOR_PORT = "emulator (built in)"
BANNER_STYLE = "color: white; background: #b00020; padding: 6px; font-weight: bold"
STOP_STYLE = ("QPushButton { background: #b00020; color: white; font-size: 26px; font-weight: bold;"
              " padding: 10px; }")
STALE_NS = 3_000_000_000          # status older than this is greyed: the poll is not getting through


def make_driver(model: str, port: str, unlock_code: str = "") -> Stimulator:
    """The driver for a model key of :data:`MODELS` on ``port`` (``unlock_code``: Rapid² v9+)."""
    if model == "magventure":
        from tmsnav.hardware.stimulators.magventure.driver import MagVentureDriver

        return MagVentureDriver(port)
    if model.startswith("magstim-"):
        from tmsnav.hardware.stimulators.magstim.driver import MagstimDriver

        return MagstimDriver(port, model=model.removeprefix("magstim-"), unlock_code=unlock_code or None)
    raise ValueError(f"unknown stimulator model {model!r}")


def start_emulator(model: str) -> tuple[Any, str]:
    """A built-in emulated unit on a pty (for training and demos): (emulator, its port)."""
    if model == "magventure":
        from tmsnav.hardware.stimulators.magventure.emulator import MagProEmulator

        mv = MagProEmulator()
        return mv, mv.serve_pty()
    from tmsnav.hardware.stimulators.magstim.emulator import MagstimEmulator

    ms = MagstimEmulator(model.removeprefix("magstim-"), version=(8, 0, 0))   # no unlock code needed
    return ms, ms.serve_pty()


class StimulatorBox(QtWidgets.QGroupBox):
    """Owns a :class:`StimulatorBridge`; ``bridge.pulse_sink`` is set by the panel."""

    def __init__(self, window: QtWidgets.QWidget | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Stimulator", parent)
        self.setObjectName("stimulator_box")
        self.bridge = StimulatorBridge(self)
        self.emulator: Any = None
        self.requested_pct: int | None = None
        layout = QtWidgets.QVBoxLayout(self)

        form = QtWidgets.QFormLayout()
        self.model = QtWidgets.QComboBox()
        self.model.setObjectName("stimulator_model")
        for key, label in MODELS:
            self.model.addItem(label, key)
        form.addRow("Unit", self.model)
        self.port = QtWidgets.QComboBox()
        self.port.setObjectName("stimulator_port")
        self.port.setEditable(True)
        self.port.setToolTip("The serial port of the unit's cable (MagPro: COM2 null-modem, 38400 bps; "
                             "Magstim: the remote-control port), a running tmsnav-emulate port, or "
                             "the built-in emulator")
        form.addRow("Port", self.port)
        self.unlock = QtWidgets.QLineEdit()
        self.unlock.setObjectName("stimulator_unlock_code")
        self.unlock.setPlaceholderText("Rapid² software 9 or later: the unit's code from Magstim")
        self.unlock.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        form.addRow("Unlock code", self.unlock)
        self._unlock_row = form.rowCount() - 1
        self._form = form
        self.model.currentIndexChanged.connect(self._model_changed)
        layout.addLayout(form)
        self._model_changed()
        row = QtWidgets.QHBoxLayout()
        self.connect_button = QtWidgets.QPushButton("Connect")
        self.connect_button.setObjectName("stimulator_connect")
        self.connect_button.clicked.connect(self.connect_clicked)
        self.refresh_button = QtWidgets.QPushButton("Refresh ports")
        self.refresh_button.clicked.connect(self.refresh_ports)
        row.addWidget(self.connect_button)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)

        self.banner = QtWidgets.QLabel("")
        self.banner.setObjectName("stimulator_banner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.hide()
        layout.addWidget(self.banner)

        status = QtWidgets.QFormLayout()
        self.values: dict[str, QtWidgets.QLabel] = {}
        for key, label in (("state", "State"), ("intensity", "Intensity (unit reports)"),
                           ("temperature", "Coil temperature"), ("remote", "Remote control")):
            value = QtWidgets.QLabel("—")
            value.setObjectName(f"stimulator_{key}")
            status.addRow(label, value)
            self.values[key] = value
        self.values["state"].setStyleSheet("font-weight: bold")
        layout.addLayout(status)

        power = QtWidgets.QHBoxLayout()
        self.power = QtWidgets.QSpinBox()
        self.power.setObjectName("stimulator_power")
        self.power.setRange(0, 100)
        self.power.setValue(50)
        self.power.setSuffix(" % MSO")
        self.set_power_button = QtWidgets.QPushButton("Set intensity")
        self.set_power_button.setObjectName("stimulator_set_power")
        self.set_power_button.clicked.connect(self.set_power_clicked)
        power.addWidget(self.power)
        power.addWidget(self.set_power_button)
        layout.addLayout(power)

        buttons = QtWidgets.QHBoxLayout()
        self.arm_button = QtWidgets.QPushButton("ARM")
        self.fire_button = QtWidgets.QPushButton("FIRE")
        self.disarm_button = QtWidgets.QPushButton("DISARM")
        for name, button in (("arm", self.arm_button), ("fire", self.fire_button),
                             ("disarm", self.disarm_button)):
            button.setObjectName(f"stimulator_{name}")
            buttons.addWidget(button)
        self.arm_button.setToolTip("Arm (enable) the unit. Only this click arms it.")
        self.fire_button.setToolTip("One pulse. Only this click fires it (pedal and trigger pulses are logged too).")
        self.arm_button.clicked.connect(self.bridge.arm)
        self.fire_button.clicked.connect(self.bridge.fire)
        self.disarm_button.clicked.connect(self.bridge.disarm)
        layout.addLayout(buttons)
        self.stop_button = QtWidgets.QPushButton("STOP (Esc)")
        self.stop_button.setObjectName("stimulator_stop")
        self.stop_button.setStyleSheet(STOP_STYLE)
        self.stop_button.setToolTip("Disarm now")
        self.stop_button.clicked.connect(self.stop_clicked)
        self.stop_button.hide()
        layout.addWidget(self.stop_button)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("stimulator_message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        #: the window-wide STOP and link-loss strip (out of the tab: seen from Navigate and Ctrl+L)
        self.stop_bar: StopBar | None = None
        if isinstance(window, QtWidgets.QMainWindow):
            self.stop_bar = install_stop_bar(window)
            self.stop_bar.button.clicked.connect(self.stop_clicked)
        host = window if window is not None else self
        self.stop_shortcut = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape), host)
        self.stop_shortcut.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        self.stop_shortcut.activated.connect(self.stop_clicked)

        b = self.bridge
        b.statusChanged.connect(self.show_status)
        b.connectionChanged.connect(self._connection_changed)
        b.linkLost.connect(self.show_link_lost)
        b.commandFailed.connect(self._command_failed)
        b.commandDone.connect(self._command_done)
        self._stale_timer = QtCore.QTimer(self)          # grey the values when polls stop arriving
        self._stale_timer.setInterval(1000)
        self._stale_timer.timeout.connect(self._grey_if_stale)
        self._stale_timer.start()
        self.refresh_ports()
        self._update_buttons()

    def _model_changed(self) -> None:
        """The unlock code is asked only for a Rapid² (the others take remote control without one)."""
        self._form.setRowVisible(self._unlock_row, self.model.currentData() == "magstim-rapid")

    # ----- ports --------------------------------------------------------------------------------
    def refresh_ports(self) -> None:
        current = self.port.currentText()
        ports = [EMULATOR_PORT]
        try:
            from serial.tools import list_ports

            ports += [p.device for p in list_ports.comports()]
        except Exception as exc:  # noqa: BLE001 - no port scan is no reason to stop the tab
            log.warning("serial port scan failed: %s", exc)
        try:
            from tmsnav.hardware.emulator_ports import running_emulators

            ports += [e.port for e in running_emulators() if e.device in ("magventure", "magstim")]
        except Exception as exc:  # noqa: BLE001
            log.warning("emulator list failed: %s", exc)
        self.port.clear()
        self.port.addItems(ports)
        if current:
            self.port.setCurrentText(current)

    # ----- clicks -------------------------------------------------------------------------------
    def connect_clicked(self) -> None:
        if self.bridge.driver is not None:
            self.disconnect_unit()
            return
        model = str(self.model.currentData())
        port = self.port.currentText().strip()
        if not port:
            self.message.setText("Choose the port of the stimulator's cable first.")
            return
        self.clear_banner()
        if port == EMULATOR_PORT:
            try:
                self.emulator, port = start_emulator(model)
            except (OSError, ValueError) as exc:
                self.message.setText(f"Cannot start the emulator: {exc}")
                return
        self.message.setText(f"Connecting to the {self.model.currentText()} on {port}…")
        self.connect_button.setEnabled(False)
        code = self.unlock.text().strip()
        self.bridge.connect_driver(lambda: make_driver(model, port, code), f"{self.model.currentText()} on {port}")

    def disconnect_unit(self) -> None:
        self.bridge.disconnect_driver()
        self._stop_emulator()
        self.message.setText("Disconnected (the unit was told to disarm and leave remote control).")

    def set_power_clicked(self) -> None:
        self.requested_pct = int(self.power.value())
        self.bridge.set_power(self.requested_pct)

    def stop_clicked(self) -> None:
        if self.bridge.driver is None:
            return
        self.bridge.emergency_stop()
        self.message.setText("STOP: disarm sent.")

    # ----- what the unit says ----------------------------------------------------------------------
    def show_status(self, status: StimulatorStatus) -> None:
        v = self.values
        if not status.connected:
            v["state"].setText("not connected")
        elif status.armed:
            v["state"].setText("ARMED, ready" if status.ready else "ARMED, charging")
        else:
            v["state"].setText("disarmed")
        v["state"].setStyleSheet("font-weight: bold; color: #b00020" if status.connected and status.armed
                                 else "font-weight: bold")
        power = "—" if status.power_a_pct is None else f"{status.power_a_pct} % MSO"
        if self.requested_pct is not None and status.power_a_pct is not None:
            power += f" (set {self.requested_pct} %)"
        v["intensity"].setText(power)
        v["temperature"].setText("—" if status.coil_temperature_c is None else f"{status.coil_temperature_c:.0f} °C")
        v["remote"].setText("yes" if status.connected and status.remote_control else "no")
        self._grey_if_stale()
        self._update_buttons()

    def _grey_if_stale(self) -> None:
        """Values not refreshed for :data:`STALE_NS` are greyed (the unit is not answering)."""
        status = self.bridge.last
        old = status is not None and status.connected and time.monotonic_ns() - status.host_time_ns > STALE_NS
        for label in self.values.values():
            if label.isEnabled() == old:
                label.setEnabled(not old)

    def show_link_lost(self, reason: str) -> None:
        self.banner.setText(f"STIMULATOR LINK LOST OR FAULT: {reason}. A disarm was sent; check the "
                            "unit's own display before continuing, then reconnect.")
        self.banner.show()
        self._update_buttons()

    def clear_banner(self) -> None:
        self.banner.setText("")
        self.banner.hide()

    def _connection_changed(self, connected: bool) -> None:
        if connected:
            self.message.setText(f"Connected: {self.bridge.description}.")
        else:
            self._stop_emulator_if_idle()
        self._update_buttons()

    def _command_failed(self, command: str, text: str) -> None:
        self.message.setText(f"{command.capitalize()} failed: {text}")
        if command == "connect":
            self._stop_emulator()
        self._update_buttons()

    def _command_done(self, command: str, _result: object) -> None:
        if command == "set intensity":
            self.message.setText(f"Intensity read back: {self.values['intensity'].text()}.")
        elif command in ("arm", "disarm"):
            self.message.setText(f"{command.capitalize()}ed." if command == "arm" else "Disarmed.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        b = self.bridge
        connected = b.driver is not None
        usable = connected and not b.lost_reason and b.last is not None and b.last.connected
        self.connect_button.setEnabled(True)
        self.connect_button.setText("Disconnect" if connected else "Connect")
        self.model.setEnabled(not connected)
        self.port.setEnabled(not connected)
        self.unlock.setEnabled(not connected)
        self.set_power_button.setEnabled(usable)
        self.arm_button.setEnabled(usable and not b.armed)
        self.fire_button.setEnabled(usable and b.armed and b.last is not None and b.last.ready)
        self.disarm_button.setEnabled(connected)
        self.stop_button.setVisible(connected and (b.armed or bool(b.lost_reason)))
        if self.stop_bar is not None:
            self.stop_bar.show_state(connected and b.armed, b.lost_reason if connected else "")

    def _stop_emulator_if_idle(self) -> None:
        if self.bridge.driver is None:
            self._stop_emulator()

    def _stop_emulator(self) -> None:
        emulator, self.emulator = self.emulator, None
        if emulator is not None:
            emulator.stop()

    def shutdown(self) -> None:
        self.bridge.shutdown()
        self._stop_emulator()
