"""The qEEG tab's two plots: a 2-D topomap of the chosen measure and the power spectrum of chosen
channels with the individual alpha frequency marked.

Matplotlib draws into a ``FigureCanvasQTAgg`` built from a ``matplotlib.figure.Figure`` (never
pyplot, which would keep global figures alive). The topomap is MNE-Python's ``plot_topomap``
(Gramfort et al. 2013, Front Neurosci 7:267) on the template 10-20 positions of the colin27 head
(MNE's ``colin27_1020`` montage): it is the conventional 2-D picture clinicians know from qEEG
reports; the 3-D map on this patient's head is drawn in the 3-D view.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6 import QtCore, QtWidgets

__all__ = ["EegPlots", "DEFAULT_SPECTRUM_CHANNELS", "CMAP", "colour_limits"]

#: Posterior channels where alpha is strongest eyes closed (the IAF channels by default).
DEFAULT_SPECTRUM_CHANNELS = ("O1", "O2", "Pz")
MONTAGE = "colin27_1020"
CMAP = "RdBu_r"              # the 3-D scalp map's colour map (app/eeg/scalp_view.py)
#: MNE's default "cubic" (Clough-Tocher) estimates gradients iteratively on every call: 0.3-1.7 s
#: per map on a loaded 2-core machine, a frozen window on each measure switch; "linear" takes
#: 70-220 ms. The smooth map is the 3-D one (spherical splines); this is the overview.
TOPOMAP_INTERP = "linear"
SPECTRUM_MAX_HZ = 45.0      # the cleaning's band-pass edge


def colour_limits(values: dict[str, float]) -> tuple[float, float]:
    """One scale for the topomap and the 3-D map: the electrode values' range, symmetric about
    0 when they have both signs (z-scores), so white means 0 there."""
    finite = np.array([v for v in values.values() if np.isfinite(v)], float)
    if not len(finite):
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo < 0.0 < hi:
        lo, hi = -max(-lo, hi), max(-lo, hi)
    return lo, (hi if hi > lo else lo + 1e-12)


class EegPlots(QtWidgets.QWidget):
    """Topomap (left) and spectrum (right) of the current measures."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("qeeg_plots")
        self.measures: Any = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.figure = Figure(figsize=(4.2, 5.6), dpi=80, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setObjectName("qeeg_canvas")
        self.canvas.setMinimumHeight(440)
        layout.addWidget(self.canvas)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Spectrum of"))
        self.channels = QtWidgets.QListWidget()
        self.channels.setObjectName("qeeg_spectrum_channels")
        self.channels.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.channels.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.channels.setWrapping(True)
        self.channels.setMaximumHeight(64)
        self.channels.itemSelectionChanged.connect(self.draw_spectrum)
        row.addWidget(self.channels, 1)
        layout.addLayout(row)
        self.topo_ax = self.figure.add_subplot(2, 1, 1)
        self.spec_ax = self.figure.add_subplot(2, 1, 2)
        self._colorbar: Any = None
        self.topo_title = ""
        self._clear_axes()

    def _clear_axes(self) -> None:
        for ax, text in ((self.topo_ax, "topomap"), (self.spec_ax, "spectrum")):
            ax.clear()
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"({text} after loading an EEG)", ha="center", va="center",
                    color="#777", transform=ax.transAxes)
        self.canvas.draw_idle()

    def set_measures(self, measures: Any) -> None:
        self.measures = measures
        self.channels.blockSignals(True)
        self.channels.clear()
        chosen = set(measures.iaf_channels or []) or set(DEFAULT_SPECTRUM_CHANNELS)
        for ch in measures.channels:
            item = QtWidgets.QListWidgetItem(ch)
            self.channels.addItem(item)
            item.setSelected(ch in chosen)
        self.channels.blockSignals(False)
        self.draw_spectrum()

    def selected_channels(self) -> list[str]:
        return [item.text() for item in self.channels.selectedItems()]

    def draw_topomap(self, values: dict[str, float], title: str, unit: str,
                     clim: tuple[float, float] | None = None) -> None:
        """The measure over the template 10-20 layout, nose up, left on the left, in ``clim``
        and :data:`CMAP` (the 3-D map's scale, so both pictures read the same)."""
        import mne   # heavy: imported when the first map is drawn, not at app start

        if self._colorbar is not None:
            self._colorbar.remove()
            self._colorbar = None
        ax = self.topo_ax
        ax.clear()
        names = [ch for ch in values if np.isfinite(values[ch])]
        montage = mne.channels.make_standard_montage(MONTAGE)
        known = set(montage.ch_names)
        names = [ch for ch in names if ch in known]
        if len(names) < 4:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "too few standard channels for a topomap", ha="center",
                    transform=ax.transAxes)
            self.canvas.draw_idle()
            return
        info = mne.create_info(names, 100.0, "eeg")
        info.set_montage(montage, on_missing="ignore")
        data = np.array([values[ch] for ch in names])
        image, _ = mne.viz.plot_topomap(data, info, axes=ax, show=False, names=names,
                                        cmap=CMAP, contours=4, vlim=clim or (None, None),
                                        image_interp=TOPOMAP_INTERP)
        self._colorbar = self.figure.colorbar(image, ax=ax, shrink=0.8, label=unit)
        self.topo_title = title
        ax.set_title(title, fontsize=10)
        self.canvas.draw_idle()

    def draw_spectrum(self) -> None:
        """PSD (µV²/Hz, log scale) of the selected channels; IAF and the alpha band marked."""
        m = self.measures
        ax = self.spec_ax
        ax.clear()
        if m is None:
            return
        ax.set_axis_on()
        freqs = np.asarray(m.freqs_hz)
        hi = min(float(freqs[-1]), SPECTRUM_MAX_HZ)
        shown = (freqs >= 1.0) & (freqs <= hi)     # outside the band-pass: only the filter's stop band
        for ch in self.selected_channels():
            i = m.channels.index(ch)
            ax.semilogy(freqs[shown], np.asarray(m.psd_v2_per_hz)[i, shown] * 1e12, lw=1.2, label=ch)
        ax.axvspan(8.0, 13.0, color="#ffd54f", alpha=0.25, lw=0)
        if m.iaf_hz is not None:
            ax.axvline(m.iaf_hz, color="#c62828", lw=1.5, ls="--", label=f"IAF {m.iaf_hz:.2f} Hz")
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("power (µV²/Hz)")
        ax.set_xlim(1.0, hi)
        if ax.lines:
            ax.legend(fontsize=8, loc="upper right")
        self.canvas.draw_idle()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(320, 520)
