"""The target list: every target with its colour, method and depth; "why this target" with its
citation; the distances between targets.

The selected row IS the active target (the one guidance aims at and the e-field is computed
for): clicking or arrowing to a row makes it active, and the list always selects the active
one. An earlier list let the selected row differ from the active target, so the "why" box
described one target while the e-field and guidance used another (issue 12)."""

from __future__ import annotations

import html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.targeting.targets import Target, TargetSet

__all__ = ["TargetListBox", "target_colour", "PALETTE", "why_html"]

# distinct colours (Kelly / Trubetskoy "20 distinct colours" subset), readable on dark and light
PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
           "#bfef45", "#469990", "#9a6324")
SOURCE_LABELS = {"literature-mni": "literature (MNI)", "10-20": "10-20", "beam-f3": "Beam F3",
                 "5-cm-rule": "5-cm rule", "manual": "manual", "connectivity": "fMRI connectivity",
                 "qeeg": "qEEG", "efield": "e-field", "motor-grid": "motor map site",
                 "motor-hotspot": "motor hotspot"}


def target_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _xyz(p) -> str:
    return "({:+.1f}, {:+.1f}, {:+.1f})".format(*np.asarray(p, float))


def why_html(t: Target) -> str:
    """"Why this target": method, reason, citation, coordinates and notes, for a QLabel."""
    e = t.evidence
    parts = [f"<b>{html.escape(t.name)}</b> — {html.escape(SOURCE_LABELS.get(t.source, t.source))}",
             f"<b>Why:</b> {html.escape(e.why)}", f"<i>{html.escape(e.citation)}</i>"
             + (f" doi:{html.escape(e.doi)}" if e.doi else "")]
    coords = f"Scalp {_xyz(t.scalp_point_mm)}"
    if t.cortex_point_mm is not None:
        coords += f", cortex {_xyz(t.cortex_point_mm)}, depth {t.depth_mm:.1f} mm"
    if t.mni_point_mm is not None:
        coords += f", MNI {_xyz(t.mni_point_mm)}"
    parts.append(coords + " (mri RAS mm)")
    if t.notes:
        parts.append(f"<span style='color:#666'>{html.escape(t.notes)}</span>")
    return "<br>".join(parts)


def _item(text: str, bold: bool = False) -> QtWidgets.QTableWidgetItem:
    item = QtWidgets.QTableWidgetItem(text)
    item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEditable)
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item


class WhyView(QtWidgets.QTextBrowser):
    """"Why this target" in a box of fixed height (scrolls when a citation is long).

    A word-wrapped QLabel changes height with its text, so every click on another target
    re-laid out the whole Planning panel (~17 ms of a ~95 ms click under software rendering);
    this box repaints only itself. Links (doi) open in the browser."""

    LINES = 7

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("target_why")
        self.setOpenExternalLinks(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.viewport().setAutoFillBackground(False)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * self.LINES + 8)
        self._html = ""

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel-like API)
        """Show ``text`` (HTML or plain), unless it is shown already."""
        if text != self._html:
            self._html = text
            self.setHtml(text)

    def text(self) -> str:
        """The text given to :meth:`setText` (HTML)."""
        return self._html


class TargetListBox(QtWidgets.QGroupBox):
    targetClicked = QtCore.Signal(str)     # move the cursor there
    activateRequested = QtCore.Signal(str)  # the user selected another row: make it active
    renameRequested = QtCore.Signal(str)
    deleteRequested = QtCore.Signal(str)
    measureRequested = QtCore.Signal()     # along-the-scalp distances (a job)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Targets", parent)
        self.setObjectName("target_list_box")
        layout = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setObjectName("target_table")
        self.table.setHorizontalHeaderLabels(["", "Name", "Method", "Depth"])
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        # the mark column has a fixed width ("● active" fits): measuring it again on every
        # click (ResizeToContents) cost one more layout and repaint pass of the panel
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Fixed)
        bold = QtGui.QFont(self.table.font())
        bold.setBold(True)
        header.resizeSection(0, QtGui.QFontMetrics(bold).horizontalAdvance("● active") + 14)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setMaximumHeight(170)
        # long names wrap (rows sized to them) instead of ending in "..."
        self.table.setWordWrap(True)
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideNone)
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())
        self.table.setToolTip("Click a target to make it the active one: guidance, the 'why' box "
                              "and the e-field all follow the selected row")
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellClicked.connect(lambda row, _c: self._clicked(row))
        layout.addWidget(self.table)
        buttons = QtWidgets.QHBoxLayout()
        self.buttons = {}
        for key, text, signal in (("rename", "Rename…", self.renameRequested),
                                  ("delete", "Delete", self.deleteRequested)):
            b = QtWidgets.QPushButton(text)
            b.setObjectName(f"target_{key}")
            b.clicked.connect(lambda _=False, s=signal: self.selected_name() and s.emit(self.selected_name()))
            buttons.addWidget(b)
            self.buttons[key] = b
        layout.addLayout(buttons)
        self.why = WhyView()
        self.why.setText("Add a target to see why it is there.")
        layout.addWidget(self.why)
        self.distances = QtWidgets.QTableWidget(0, 5)
        self.distances.setObjectName("distance_table")
        self.distances.setHorizontalHeaderLabels(["From", "To", "Scalp", "Cortex", "Arc"])
        self.distances.verticalHeader().hide()
        # Names take the room they need (wrapped over two lines when long); the numbers fit
        # their text. Stretching all five equally cut "L-DLPFC Fox 2012 group target" to "L-DL…".
        dh = self.distances.horizontalHeader()
        for col in (0, 1):
            dh.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for col in (2, 3, 4):
            dh.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        # Rows get their wrapped height once per fill (resizeRowsToContents); a ResizeToContents
        # vertical header re-measured every row on every setItem: 0.6 s per target click.
        self.distances.setWordWrap(True)
        self.distances.setTextElideMode(QtCore.Qt.TextElideMode.ElideNone)
        self.distances.setMaximumHeight(180)
        dh.sectionResized.connect(lambda *_: self.distances.resizeRowsToContents())
        self.distances.setToolTip("Straight-line distances (mm) between coil points on the scalp and "
                                  "between cortex points; 'Arc' is along the scalp, what a tape measures")
        layout.addWidget(self.distances)
        self.measure = QtWidgets.QPushButton("Measure distances along the scalp")
        self.measure.setObjectName("measure_along_scalp")
        self.measure.clicked.connect(self.measureRequested)
        layout.addWidget(self.measure)
        self._names: list[str] = []
        self._targets: TargetSet | None = None
        self._arcs: dict[tuple[str, str], float] = {}
        self._distance_cells: list[tuple[str, ...]] = []

    # ----- showing ------------------------------------------------------------------------
    def show_targets(self, targets: TargetSet) -> None:
        """Show ``targets``; the active target's row is the selected one. Cells whose text did
        not change are left alone (a click that only changes the active target rewrites two
        rows, not the table)."""
        self._targets = targets
        self._names = targets.names
        active = targets.active.name if targets.active is not None else None
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._names))
        changed = False
        for row, t in enumerate(targets):
            is_active = t.name == active
            # "active" in the narrow first column, not after the name (nor a bold name): a
            # suffix made the active row taller, and each click re-laid out and repainted the
            # whole panel twice; names keep one font so their rows keep their height
            cells = ("● active" if is_active else "○", t.name,
                     SOURCE_LABELS.get(t.source, t.source),
                     "—" if t.depth_mm is None else f"{t.depth_mm:.1f} mm")
            colour = target_colour(row)
            for col, text in enumerate(cells):
                old = self.table.item(row, col)
                if old is not None and old.text() == text and (col != 0 or old.foreground().color().name() == colour):
                    continue
                item = _item(text, bold=col == 0)
                if col == 0:
                    item.setForeground(QtGui.QBrush(QtGui.QColor(colour)))
                    item.setToolTip("active target (guidance aims here)" if is_active else "")
                self.table.setItem(row, col, item)
                changed = changed or col == 1        # only names decide the row heights
        if changed:
            self.table.resizeRowsToContents()
        row = self._names.index(active) if active in self._names else -1
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.table.clearSelection()
        self.table.blockSignals(False)
        self._show_why()
        self.show_distances()

    def show_distances(self, arcs: dict[tuple[str, str], float] | None = None) -> None:
        """Distances from ``TargetSet.distance_table``; ``arcs`` (a, b) -> along-scalp mm."""
        if arcs is not None:
            self._arcs = dict(arcs)
        rows = self._targets.distance_table() if self._targets is not None else []
        table: list[tuple[str, ...]] = []
        for r in rows:
            arc = self._arcs.get((r["a"], r["b"]))
            table.append((r["a"], r["b"], f"{r['scalp_mm']:.1f} mm",
                          "—" if r["cortex_mm"] is None else f"{r['cortex_mm']:.1f} mm",
                          "—" if arc is None else f"{arc:.1f} mm"))
        if table == self._distance_cells:
            return                       # e.g. only the active target changed
        self._distance_cells = table
        self.distances.setUpdatesEnabled(False)
        self.distances.setRowCount(len(table))
        for i, cells in enumerate(table):
            for col, text in enumerate(cells):
                self.distances.setItem(i, col, _item(text))
        self.distances.resizeRowsToContents()
        self.distances.setUpdatesEnabled(True)

    def distance_rows(self) -> list[tuple[str, ...]]:
        """The distance table as shown: one tuple of cell texts per row."""
        return list(self._distance_cells)

    # ----- selection ----------------------------------------------------------------------
    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self._names[rows[0].row()] if rows and rows[0].row() < len(self._names) else None

    def select(self, name: str) -> None:
        """Select ``name``'s row as a user would: it becomes the active target."""
        if name in self._names:
            self.table.selectRow(self._names.index(name))
            self._clicked(self._names.index(name))

    def _selection_changed(self) -> None:
        name = self.selected_name()
        active = self._targets.active if self._targets is not None else None
        if name is not None and (active is None or active.name != name):
            self.activateRequested.emit(name)
        self._show_why()

    def _clicked(self, row: int) -> None:
        if 0 <= row < len(self._names):
            self.targetClicked.emit(self._names[row])

    def _show_why(self) -> None:
        name = self.selected_name()
        has = name is not None and self._targets is not None and name in self._targets
        for b in self.buttons.values():
            b.setEnabled(has)
        self.measure.setEnabled(self._targets is not None and len(self._targets) > 1)
        text = why_html(self._targets[name]) if has and self._targets is not None and name is not None \
            else "Add a target to see why it is there."
        self.why.setText(text)
