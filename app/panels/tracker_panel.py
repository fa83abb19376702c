"""Tracker panel: choose the device and port, load tool definitions, connect, watch each tool.

The status light per tool is grey before the first frame of that tool (so a wrong ROM is not
mistaken for "not yet seen", InVesalius #662), green when tracked, amber when stale or partly out
of volume, red when missing/out of volume. Stale data is never shown as tracked.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.hardware.config import KINDS, TrackerConfig

from ..tracking_bridge import ROLES, TrackingSnapshot

__all__ = ["TrackerPanel"]

LIGHT_COLORS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#9e9e9e"}
NDI_BAUDS = ["115200", "230400", "921600", "57600", "38400", "19200", "9600"]
POLHEMUS_BAUDS = ["115200", "57600", "38400", "19200", "9600"]


def _serial_ports() -> list[str]:
    try:
        from serial.tools import list_ports
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return []
    return [p.device for p in sorted(list_ports.comports(), key=lambda p: p.device)]


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

        self.state_label = QtWidgets.QLabel("not connected")
        self.state_label.setObjectName("tracker_state")
        self.state_label.setWordWrap(True)
        layout.addWidget(self.state_label)

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
        current = self.port.currentText()
        if self.kind.currentData() not in ("ndi", "polhemus"):
            return
        self.port.clear()
        self.port.addItems(_serial_ports())
        if current:
            self.port.setCurrentText(current)

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
        self.kind.setCurrentIndex(max(0, self.kind.findData(cfg.kind)))
        if cfg.port:
            self.port.setCurrentText(cfg.port)

    def _request_connect(self) -> None:
        try:
            cfg = self.config()
        except ValueError as exc:
            self.state_label.setText(str(exc))
            return
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
    def show_snapshot(self, snap: TrackingSnapshot) -> None:
        self.connect_button.setEnabled(not snap.connected)
        self.disconnect_button.setEnabled(snap.connected)
        self.kind.setEnabled(not snap.connected)
        self.state_label.setText(snap.state if snap.connected else "not connected")
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
            for col, item in enumerate((QtWidgets.QTableWidgetItem(label), status,
                                        QtWidgets.QTableWidgetItem(f"{view.rate_hz:.0f}"),
                                        QtWidgets.QTableWidgetItem(rms))):
                self.tools.setItem(row, col, item)

    def light_of(self, tool: str) -> str | None:
        """The light colour shown for ``tool`` (tests)."""
        for row in range(self.tools.rowCount()):
            if self.tools.item(row, 0).text().split(" (")[0] == tool:
                return self.tools.item(row, 1).data(QtCore.Qt.ItemDataRole.UserRole)
        return None
