"""Tracker panel: choose the device and port, load tool definitions, connect, watch each tool.

The status light per tool is grey before the first frame of that tool (so a wrong ROM is not
mistaken for "not yet seen", InVesalius #662), green when tracked, amber when stale or partly out
of volume, red when missing/out of volume. Stale data is never shown as tracked.

Above the tools: the tracker's state in large coloured words (the same words as the window banner
and the status bar, app/tracking_status.py), the device and model actually in use (read from the
driver, not from this form), the current error only while tracking is down, and the link warning
with its remedy when the serial link cannot carry the device's rate.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.hardware.config import KINDS, TrackerConfig

from ..tracking_advice import technology_label
from ..tracking_bridge import ROLES, TrackingSnapshot
from ..tracking_status import tracking_alert

__all__ = ["TrackerPanel"]

log = logging.getLogger(__name__)

LIGHT_COLORS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#9e9e9e"}
NDI_BAUDS = ["115200", "230400", "921600", "57600", "38400", "19200", "9600"]
POLHEMUS_BAUDS = ["115200", "57600", "38400", "19200", "9600"]


def _serial_ports() -> list[str]:
    try:
        from serial.tools import list_ports
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return []
    return [p.device for p in sorted(list_ports.comports(), key=lambda p: p.device)]


def _emulators(kind: str) -> list[tuple[str, str]]:
    """(port, spec) of each running ``tmsnav-emulate`` of this device ``kind`` ("ndi",
    "polhemus"): a pseudo-terminal is not listed by the serial-port scan
    (tmsnav.hardware.emulator_ports). Empty when that fails: the port list must open whatever
    happens (an unreadable runtime folder, a half-written file)."""
    try:
        from tmsnav.hardware.emulator_ports import running_emulators
        return [(e.port, e.spec) for e in running_emulators() if e.device == kind]
    except Exception:  # noqa: BLE001 - a stale or unreadable port file must not break the tab
        log.warning("could not list running tmsnav-emulate ports", exc_info=True)
        return []


def _big_label(name: str, points: int) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel("")
    label.setObjectName(name)
    label.setWordWrap(True)
    font = label.font()
    font.setPointSize(max(font.pointSize(), 9) + points)
    font.setBold(True)
    label.setFont(font)
    return label


class TrackerPanel(QtWidgets.QWidget):
    connectRequested = QtCore.Signal(object)     # TrackerConfig
    disconnectRequested = QtCore.Signal()
    recordRequested = QtCore.Signal(str)         # path to start recording, "" to stop
    rolesChanged = QtCore.Signal(dict)           # role -> tool name

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tracker_panel")
        layout = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
        layout.addLayout(form)

        self.kind = QtWidgets.QComboBox()
        self.kind.setObjectName("tracker_kind")
        for key, label in KINDS.items():
            self.kind.addItem(label, key)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        form.addRow("Device", self.kind)

        port_row = QtWidgets.QHBoxLayout()
        self.port = QtWidgets.QComboBox()
        self.port.setObjectName("tracker_port")
        self.port.setEditable(True)
        self.port.setMinimumContentsLength(18)
        self.port.activated.connect(self._port_chosen)
        refresh = QtWidgets.QPushButton("↻")
        refresh.setToolTip("Look for serial/USB ports again")
        refresh.setFixedWidth(32)
        refresh.clicked.connect(self._fill_ports)
        port_row.addWidget(self.port, 1)
        port_row.addWidget(refresh)
        self.port_label = QtWidgets.QLabel("Port")
        form.addRow(self.port_label, port_row)

        self.baud = QtWidgets.QComboBox()
        form.addRow("Baud rate", self.baud)
        self.model = QtWidgets.QComboBox()
        self.model.addItems(["fastrak", "liberty", "patriot"])
        form.addRow("Polhemus model", self.model)
        self.reply_format = QtWidgets.QComboBox()
        self.reply_format.addItems(["BX", "TX"])
        self.reply_format.setToolTip("BX: binary replies (faster). TX: text replies (some older firmware)")
        form.addRow("NDI replies", self.reply_format)

        self.roms = QtWidgets.QTableWidget(0, 2)
        self.roms.setObjectName("rom_table")
        self.roms.setHorizontalHeaderLabels(["Tool name", "Tool definition (.rom)"])
        self.roms.horizontalHeader().setStretchLastSection(True)
        self.roms.setMaximumHeight(100)
        rom_buttons = QtWidgets.QHBoxLayout()
        add_rom = QtWidgets.QPushButton("Add tool file…")
        add_rom.clicked.connect(self._add_rom)
        del_rom = QtWidgets.QPushButton("Remove")
        del_rom.clicked.connect(lambda: self.roms.removeRow(self.roms.currentRow()))
        rom_buttons.addWidget(add_rom)
        rom_buttons.addWidget(del_rom)
        self.rom_box = QtWidgets.QGroupBox("Passive tool definitions (NDI)")
        rom_layout = QtWidgets.QVBoxLayout(self.rom_box)
        rom_layout.addWidget(self.roms)
        rom_layout.addLayout(rom_buttons)
        layout.addWidget(self.rom_box)

        buttons = QtWidgets.QHBoxLayout()
        self.connect_button = QtWidgets.QPushButton("Connect")
        self.connect_button.setObjectName("tracker_connect")
        self.connect_button.clicked.connect(self._request_connect)
        self.disconnect_button = QtWidgets.QPushButton("Disconnect")
        self.disconnect_button.setObjectName("tracker_disconnect")
        self.disconnect_button.clicked.connect(self.disconnectRequested)
        self.disconnect_button.setEnabled(False)
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)
        layout.addLayout(buttons)

        self.state_label = _big_label("tracker_state", 7)
        layout.addWidget(self.state_label)
        self.device_label = QtWidgets.QLabel("")
        self.device_label.setObjectName("tracker_device")
        self.device_label.setWordWrap(True)
        layout.addWidget(self.device_label)
        self.error_label = QtWidgets.QLabel("")
        self.error_label.setObjectName("tracker_error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("color: white; background: #b00020; padding: 4px;")
        layout.addWidget(self.error_label)
        self.link_label = QtWidgets.QLabel("")
        self.link_label.setObjectName("tracker_link_warning")
        self.link_label.setWordWrap(True)
        self.link_label.setStyleSheet("color: #4e342e; background: #ffe0b2; padding: 4px;")
        layout.addWidget(self.link_label)

        self.tools = QtWidgets.QTableWidget(0, 4)
        self.tools.setObjectName("tool_table")
        self.tools.setHorizontalHeaderLabels(["Tool", "Status", "Rate (Hz)", "RMS (mm)"])
        self.tools.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.tools.verticalHeader().hide()
        self.tools.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(self.tools)

        roles_box = QtWidgets.QGroupBox("Which tool is which")
        roles_form = QtWidgets.QFormLayout(roles_box)
        self.role_combos: dict[str, QtWidgets.QComboBox] = {}
        for role in ROLES:
            combo = QtWidgets.QComboBox()
            combo.setEditable(True)
            combo.addItem(role)
            combo.currentTextChanged.connect(self._emit_roles)
            roles_form.addRow({"reference": "Head reference", "pointer": "Pointer",
                               "coil": "Coil"}[role], combo)
            self.role_combos[role] = combo
        layout.addWidget(roles_box)

        self.record_button = QtWidgets.QPushButton("Record tracking to file…")
        self.record_button.setObjectName("record_tracking")
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("Save every tracker frame (for a bug report, or to replay "
                                      "later as the 'Replay a recording' device)")
        self.record_button.clicked.connect(self._record_clicked)
        layout.addWidget(self.record_button)

        self.stats_label = QtWidgets.QLabel("")
        self.stats_label.setStyleSheet("color: grey")
        self.stats_label.setWordWrap(True)
        layout.addWidget(self.stats_label)
        layout.addStretch(1)
        self._known_tools: list[str] = []
        self._kind_changed()
        self._show_state(None)

    # ----- configuration ------------------------------------------------------------------
    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.rom_box.setVisible(kind == "ndi")
        self.model.setEnabled(kind == "polhemus")
        self.reply_format.setEnabled(kind == "ndi")
        self.baud.clear()
        self.baud.addItems(NDI_BAUDS if kind == "ndi" else POLHEMUS_BAUDS)
        self.baud.setEnabled(kind in ("ndi", "polhemus"))
        self.port.clear()
        if kind == "sim":
            from tmsnav.hardware.simulation.scenario_library import SCENARIO_NAMES

            self.port_label.setText("Scenario")
            self.port.addItems(list(SCENARIO_NAMES))
            self.port.setCurrentText("full_session")
        elif kind == "igtl":
            self.port_label.setText("Server")
            self.port.addItem("localhost:18944")
        elif kind == "replay":
            self.port_label.setText("Recording")
        else:
            self.port_label.setText("Port / URL")
            self._fill_ports()
            if kind == "ndi":
                self.port.setToolTip("Serial/USB port, or socket://HOST:8765 for a Polaris Vega")

    def _fill_ports(self) -> None:
        """Serial/USB ports, then the port of each running ``tmsnav-emulate`` of this kind (its
        tooltip says so; its spec rides along so choosing it also sets the model it emulates)."""
        current = self.port.currentText()
        kind = self.kind.currentData()
        if kind not in ("ndi", "polhemus"):
            return
        self.port.blockSignals(True)
        self.port.clear()
        self.port.addItems(_serial_ports())
        for path, spec in _emulators(kind):
            if self.port.findText(path) < 0:
                self.port.addItem(path, spec)
                self.port.setItemData(self.port.count() - 1, f"a running tmsnav-emulate: {spec}",
                                      QtCore.Qt.ItemDataRole.ToolTipRole)
        if current:
            self.port.setCurrentText(current)
        self.port.blockSignals(False)

    def _port_chosen(self, index: int) -> None:
        """An emulator's port: take the model, baud rate and format its spec names, so the form
        cannot pair its pty with another model (the Patriot-for-a-Liberty mistake)."""
        spec = self.port.itemData(index) if index >= 0 else None
        if not spec:
            return
        try:
            cfg = TrackerConfig.parse(str(spec))
        except ValueError:
            return
        if self.model.findText(cfg.model) >= 0:
            self.model.setCurrentText(cfg.model)
        if self.reply_format.findText(cfg.reply_format) >= 0:
            self.reply_format.setCurrentText(cfg.reply_format)

    def _add_rom(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Tool definition", "",
                                                        "NDI tool definitions (*.rom);;All files (*)")
        if path:
            row = self.roms.rowCount()
            self.roms.insertRow(row)
            self.roms.setItem(row, 0, QtWidgets.QTableWidgetItem(Path(path).stem))
            self.roms.setItem(row, 1, QtWidgets.QTableWidgetItem(path))

    def config(self) -> TrackerConfig:
        kind = self.kind.currentData()
        port = self.port.currentText().strip()
        if kind in ("ndi", "polhemus", "igtl", "replay") and not port:
            raise ValueError("Choose a port, URL or file first.")
        roms = {}
        for row in range(self.roms.rowCount()):
            name, path = self.roms.item(row, 0), self.roms.item(row, 1)
            if name and path and name.text().strip():
                roms[name.text().strip()] = path.text().strip()
        baud = int(self.baud.currentText()) if self.baud.currentText() else 115200
        return TrackerConfig(kind=kind, port=port, baud=baud, model=self.model.currentText(),
                             reply_format=self.reply_format.currentText(), rom_files=roms)

    def set_config(self, cfg: TrackerConfig) -> None:
        """Show ``cfg`` (e.g. from ``--tracker``) in the form: every field it sets, so the tab
        never shows a model or baud rate other than the one used to connect."""
        self.kind.setCurrentIndex(max(0, self.kind.findData(cfg.kind)))
        if cfg.port:
            self.port.setCurrentText(cfg.port)
        if self.baud.findText(str(cfg.baud)) < 0:
            self.baud.addItem(str(cfg.baud))
        self.baud.setCurrentText(str(cfg.baud))
        if self.model.findText(cfg.model) >= 0:
            self.model.setCurrentText(cfg.model)
        if self.reply_format.findText(cfg.reply_format) >= 0:
            self.reply_format.setCurrentText(cfg.reply_format)
        self.roms.setRowCount(0)
        for name, path in cfg.rom_files.items():
            row = self.roms.rowCount()
            self.roms.insertRow(row)
            self.roms.setItem(row, 0, QtWidgets.QTableWidgetItem(name))
            self.roms.setItem(row, 1, QtWidgets.QTableWidgetItem(str(path)))

    def _request_connect(self) -> None:
        try:
            cfg = self.config()
        except ValueError as exc:       # shown where errors are, not in the state's large letters
            self.error_label.setText(f"Error: {exc}")
            self.error_label.setVisible(True)
            return
        self.error_label.setVisible(False)
        self.connectRequested.emit(cfg)

    def _record_clicked(self, checked: bool) -> None:
        if not checked:
            self.recordRequested.emit("")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Record tracking to", "tracking.jsonl",
                                                        "Tracking recordings (*.jsonl)")
        if path:
            self.recordRequested.emit(path)
        else:
            self.record_button.setChecked(False)

    def roles(self) -> dict[str, str]:
        return {role: combo.currentText().strip() or role for role, combo in self.role_combos.items()}

    def _emit_roles(self) -> None:
        self.rolesChanged.emit(self.roles())

    # ----- live display -------------------------------------------------------------------
    def _show_state(self, snap: TrackingSnapshot | None) -> None:
        """The large coloured state, the device in use, the current error and the link warning."""
        alert = tracking_alert(snap)
        text = f"● {alert.state}"
        if self.state_label.text() != text:
            self.state_label.setText(text)
            self.state_label.setStyleSheet(f"color: {alert.color};")
        device = ""
        if snap is not None and snap.connected and snap.device:
            device = f"Device in use: {snap.device}"
            if snap.model and snap.model.lower() not in snap.device.lower():
                device += f" (model {snap.model})"
            if technology_label(snap.technology):
                device += f", {technology_label(snap.technology)}"
        self.device_label.setText(device)
        self.device_label.setVisible(bool(device))
        error = f"Error: {alert.error}" if alert.error else ""
        self.error_label.setText(error)
        self.error_label.setVisible(bool(error))
        link = "" if snap is None or not snap.connected else snap.link_warning
        self.link_label.setText(f"Link too slow: {link}" if link else "")
        self.link_label.setVisible(bool(link))

    def show_snapshot(self, snap: TrackingSnapshot) -> None:
        self.connect_button.setEnabled(not snap.connected)
        self.disconnect_button.setEnabled(snap.connected)
        for widget in (self.kind, self.port, self.baud, self.model, self.reply_format, self.rom_box):
            widget.setEnabled(not snap.connected and self._editable(widget))
        if snap.connected and snap.model and self.model.findText(snap.model) >= 0:
            self.model.setCurrentText(snap.model)    # the model in use, whatever the form said
        self._show_state(snap)
        self.stats_label.setText(snap.stats_text)
        names = sorted(snap.tools)
        if names != self._known_tools:
            self._known_tools = names
            self.tools.setRowCount(len(names))
            for combo in self.role_combos.values():
                current = combo.currentText()
                combo.blockSignals(True)
                combo.clear()
                combo.addItems(names or [current])
                combo.setCurrentText(current)
                combo.blockSignals(False)
        for row, name in enumerate(names):
            view = snap.tools[name]
            role = next((r for r, n in snap.roles.items() if n == name), "")
            label = f"{name} ({role})" if role and role != name else name
            status = QtWidgets.QTableWidgetItem(f"● {view.text}")
            status.setForeground(QtGui.QBrush(QtGui.QColor(LIGHT_COLORS[view.light])))
            status.setData(QtCore.Qt.ItemDataRole.UserRole, view.light)
            rms = "—" if view.quality_rms_mm is None or view.light != "green" else f"{view.quality_rms_mm:.2f}"
            # no rate beside a disconnected or stale tool: the last second's count is history
            rate = "—" if view.light == "grey" or view.text == "stale" else f"{view.rate_hz:.0f}"
            for col, item in enumerate((QtWidgets.QTableWidgetItem(label), status,
                                        QtWidgets.QTableWidgetItem(rate),
                                        QtWidgets.QTableWidgetItem(rms))):
                self.tools.setItem(row, col, item)

    def _editable(self, widget: QtWidgets.QWidget) -> bool:
        """Whether a settings widget applies to the chosen device kind (see _kind_changed)."""
        kind = self.kind.currentData()
        if widget is self.model:
            return kind == "polhemus"
        if widget is self.reply_format:
            return kind == "ndi"
        if widget is self.baud:
            return kind in ("ndi", "polhemus")
        return True

    def light_of(self, tool: str) -> str | None:
        """The light colour shown for ``tool`` (tests)."""
        for row in range(self.tools.rowCount()):
            name, status = self.tools.item(row, 0), self.tools.item(row, 1)
            if name is not None and status is not None and name.text().split(" (")[0] == tool:
                return status.data(QtCore.Qt.ItemDataRole.UserRole)
        return None
