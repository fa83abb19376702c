"""The qEEG measures group: the headline numbers in words, the per-channel table, the published
ranges with their citations, and the chooser of the measure painted on the head.

Conventions shown to the user (docs/qeeg.md has the sources):

* frontal alpha asymmetry FAA = ln P_alpha(F4) - ln P_alpha(F3) (and F8/F7). Alpha power is
  inversely related to cortical activity, so FAA < 0 means relatively *less* left-frontal
  activity, the withdrawal pattern linked to depression (Davidson 1998, Psychophysiology
  35:607; Allen et al. 2004, Biol Psychol 67:183);
* theta/beta ratio = P_theta / P_beta, absolute power, with the band edges printed because the
  value depends on them (Arns et al. 2013, J Atten Disord 17:374);
* individual alpha frequency from the 1/f-corrected spectrum (Donoghue et al. 2020, Nat
  Neurosci 23:1655) beside the plain peak pick (Klimesch 1999, Brain Res Rev 29:169);
* z-scores are within this recording, across channels: no open normative qEEG database exists.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.eeg.norms import NO_NORMATIVE_DATABASE, Comparison

from ..planning.method_forms import compact

__all__ = ["MeasuresBox", "measure_choices", "measure_values", "faa_words", "summary_lines", "bar_title",
           "NO_NORMS"]

V2_TO_UV2 = 1e12
NO_NORMS = NO_NORMATIVE_DATABASE
MEASURE_NAMES = {"iaf_hz": "IAF (Hz)", "faa_f4_f3": "FAA F4/F3", "faa_f8_f7": "FAA F8/F7",
                 "tbr_cz": "theta/beta at Cz", "tbr_fz": "theta/beta at Fz"}


def faa_words(value: float | None, pair: str = "F4/F3") -> str:
    """The sign convention of an asymmetry value, in words."""
    if value is None:
        return f"FAA {pair}: not available (channel missing or rejected)"
    right, left = pair.split("/")
    if value < 0:
        meaning = (f"< 0: more alpha over {left} than {right}, i.e. relatively LESS left-frontal "
                   "activity (the withdrawal / depression pattern)")
    elif value > 0:
        meaning = (f"> 0: more alpha over {right} than {left}, i.e. relatively MORE left-frontal "
                   "activity")
    else:
        meaning = "0: symmetric"
    return f"FAA {pair} = ln {right} - ln {left} alpha power = {value:+.3f} ({meaning})"


def _band_text(edges: Any) -> str:
    try:
        lo, hi = edges
        return f"{float(lo):g}-{float(hi):g} Hz"
    except (TypeError, ValueError):
        return str(edges)


def summary_lines(m: Any) -> list[str]:
    """The headline measures, each in words with its number."""
    lines = []
    if m.iaf_hz is not None:
        pick = "—" if m.iaf_peak_pick_hz is None else f"{m.iaf_peak_pick_hz:.2f} Hz"
        lines.append(f"IAF {m.iaf_hz:.2f} Hz ({m.iaf_method}); plain peak pick {pick}; "
                     f"channels {', '.join(m.iaf_channels) or '—'}")
    else:
        lines.append("IAF: no alpha peak found (" + (m.iaf_method or "no method") + ")")
    lines.append(faa_words(m.faa_f4_f3, "F4/F3"))
    lines.append(faa_words(m.faa_f8_f7, "F8/F7"))
    bands = m.tbr_band_hz or {}
    edges = ", ".join(f"{name} {_band_text(e)}" for name, e in bands.items())
    for site, value in (("Cz", m.tbr_cz), ("Fz", m.tbr_fz)):
        lines.append(f"theta/beta ratio at {site}: " + ("not available" if value is None else f"{value:.2f}")
                     + (f" ({edges}, absolute power)" if edges else ""))
    return lines


def _bands(m: Any) -> list[str]:
    first: dict[str, float] = next(iter(m.band_power_abs.values()), {})
    return list(first)


def measure_choices(m: Any) -> list[tuple[str, str]]:
    """(label, key) of every per-channel measure that can be painted on the head."""
    choices = []
    for band in _bands(m):
        choices.append((f"{band} relative power (%)", f"rel:{band}"))
        choices.append((f"{band} absolute power (µV²)", f"abs:{band}"))
        choices.append((f"{band} z-score (within recording)", f"z:{band}"))
    return choices


def measure_values(m: Any, key: str) -> tuple[dict[str, float], str]:
    """Per-channel values of ``key`` ("rel:alpha", "abs:theta", "z:beta") and their unit."""
    kind, band = key.split(":", 1)
    if kind == "rel":
        return {ch: 100.0 * v[band] for ch, v in m.band_power_rel.items()}, "%"
    if kind == "abs":
        return {ch: V2_TO_UV2 * v[band] for ch, v in m.band_power_abs.items()}, "µV²"
    if kind == "z":
        return {ch: v[band] for ch, v in m.zscores.items() if band in v}, "z"
    raise ValueError(f"unknown measure {key!r}")


def bar_title(key: str) -> str:
    """Short colour-bar title of a measure key ("alpha rel. %", "theta µV²", "beta z")."""
    kind, band = key.split(":", 1)
    return f"{band} " + {"rel": "rel. %", "abs": "µV²", "z": "z"}.get(kind, kind)


def comparison_text(c: Comparison) -> str:
    """One published range beside this recording's value, with where it comes from."""
    value = "not available" if c.value is None else f"{c.value:.2f}"
    verdict = ("no numeric range to compare with" if c.outside is None
               else "outside this range" if c.outside else "within this range")
    if c.approximate and c.outside is not None:
        verdict += " (the range is approximate)"
    note = f" {c.note.rstrip('.')}." if c.note else ""
    name = MEASURE_NAMES.get(c.measure, c.measure)
    return f"{name} = {value}: published {c.published}; {verdict}.{note} Source: {c.citation}"


class MeasuresBox(QtWidgets.QGroupBox):
    """Headline measures, per-channel table, published ranges and the measure chooser."""

    measureChosen = QtCore.Signal(str)     # a key of measure_choices

    TABLE_KINDS = (("relative power (%)", "rel"), ("absolute power (µV²)", "abs"),
                   ("z-score within recording", "z"))

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Measures", parent)
        self.setObjectName("qeeg_measures_box")
        self.measures: Any = None
        layout = QtWidgets.QVBoxLayout(self)
        self.summary = QtWidgets.QLabel("Load an EEG to see its measures.")
        self.summary.setObjectName("qeeg_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)

        form = QtWidgets.QFormLayout()
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.addLayout(form)
        self.chooser = compact(QtWidgets.QComboBox())
        self.chooser.setObjectName("qeeg_measure")
        self.chooser.setToolTip("Painted on the 3-D scalp and drawn as the topomap below")
        self.chooser.currentIndexChanged.connect(self._chosen)
        form.addRow("Show on head", self.chooser)
        self.table_kind = compact(QtWidgets.QComboBox())
        self.table_kind.setObjectName("qeeg_table_kind")
        for label, key in self.TABLE_KINDS:
            self.table_kind.addItem(label, key)
        self.table_kind.currentIndexChanged.connect(self._fill_table)
        form.addRow("Table", self.table_kind)
        self.table = QtWidgets.QTableWidget()
        self.table.setObjectName("qeeg_table")
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(160)
        self.table.verticalHeader().setDefaultSectionSize(20)
        layout.addWidget(self.table)

        self.ranges = QtWidgets.QLabel("")
        self.ranges.setObjectName("qeeg_ranges")
        self.ranges.setWordWrap(True)
        self.ranges.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.ranges)
        norms = QtWidgets.QLabel(NO_NORMS)
        norms.setObjectName("qeeg_no_norms")
        norms.setWordWrap(True)
        norms.setStyleSheet("color: #8a4b00")
        layout.addWidget(norms)

    def show_measures(self, m: Any) -> None:
        self.measures = m
        self.summary.setText("\n".join(summary_lines(m) + [f"warning: {w}" for w in m.warnings]))
        ranges = [comparison_text(c) for c in m.comparisons]
        self.ranges.setText("Published ranges:\n" + "\n".join(f"• {r}" for r in ranges) if ranges else "")
        previous = self.chooser.currentData()
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for label, key in measure_choices(m):
            self.chooser.addItem(label, key)
        index = self.chooser.findData(previous) if previous else -1
        self.chooser.setCurrentIndex(index if index >= 0 else max(0, self.chooser.findData("rel:alpha")))
        self.chooser.blockSignals(False)
        self._fill_table()
        self._chosen()

    def current_key(self) -> str | None:
        return self.chooser.currentData()

    def _chosen(self) -> None:
        key = self.chooser.currentData()
        if key:
            self.measureChosen.emit(key)

    def _fill_table(self) -> None:
        m = self.measures
        if m is None:
            return
        kind = self.table_kind.currentData()
        bands = _bands(m)
        channels = list(m.band_power_abs)
        self.table.clear()
        self.table.setRowCount(len(channels))
        self.table.setColumnCount(len(bands))
        self.table.setHorizontalHeaderLabels(bands)
        self.table.setVerticalHeaderLabels(channels)
        for col, band in enumerate(bands):
            values, _ = measure_values(m, f"{kind}:{band}")
            for row, ch in enumerate(channels):
                v = values.get(ch)
                text = "—" if v is None else (f"{v:+.2f}" if kind == "z" else f"{v:.3g}")
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
