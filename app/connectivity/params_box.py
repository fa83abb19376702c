"""The method's parameters a clinician may change (the rest keep their published defaults:
Fox et al. 2012 seed and search sites, Cash et al. 2021 cluster step; see docs/connectivity.md)."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6 import QtWidgets

__all__ = ["ParamsBox"]

#: (field, label, unit, minimum, maximum, step, decimals, tooltip)
_SPINS = (
    ("seed_radius_mm", "sgACC seed radius", " mm", 2.0, 20.0, 1.0, 0,
     "Sphere around the Fox 2012 subgenual seed, MNI (6, 16, -10)"),
    ("search_radius_mm", "Search sphere radius", " mm", 5.0, 40.0, 1.0, 0,
     "Left-DLPFC search region: union of spheres at the BA9, BA46, 5-cm and F3 sites"),
    ("smoothing_fwhm_mm", "Smoothing (FWHM)", " mm", 0.0, 12.0, 1.0, 0,
     "Spatial smoothing of each volume before correlation"),
    ("percentile", "Most negative", " %", 1.0, 50.0, 1.0, 0,
     "Cluster method: keep this share of the negative voxels before finding the largest cluster"),
    ("fd_threshold_mm", "Scrub volumes above FD", " mm", 0.1, 2.0, 0.05, 2,
     "Framewise displacement above which a volume is left out (Power et al. 2012: 0.5 mm)"),
)


class ParamsBox(QtWidgets.QGroupBox):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Method", parent)
        self.setObjectName("fmri_params")
        from tmsnav.navigation.connectivity.params import ConnectivityParams

        self._defaults = ConnectivityParams()
        form = QtWidgets.QFormLayout(self)
        self.method = QtWidgets.QComboBox()
        self.method.setObjectName("fmri_method")
        self.method.addItem("Cluster (Cash 2021)", "cluster")
        self.method.addItem("Peak voxel (comparison)", "peak")
        self.method.setToolTip("Cluster: centre of mass of the largest cluster of the most negative voxels "
                               "(reproducible, Cash et al. 2021). Peak: the single most anticorrelated "
                               "voxel (for comparison; it moves more between runs).")
        form.addRow("Target", self.method)
        self.spins: dict[str, QtWidgets.QDoubleSpinBox] = {}
        for name, label, unit, lo, hi, step, decimals, tip in _SPINS:
            spin = QtWidgets.QDoubleSpinBox()
            spin.setObjectName(f"fmri_{name}")
            spin.setRange(lo, hi)
            spin.setSingleStep(step)
            spin.setDecimals(decimals)
            spin.setSuffix(unit)
            spin.setValue(float(getattr(self._defaults, name)))
            spin.setToolTip(tip)
            self.spins[name] = spin
            form.addRow(label, spin)
        reset = QtWidgets.QPushButton("Published defaults")
        reset.clicked.connect(self.reset)
        form.addRow(reset)

    def reset(self) -> None:
        self.method.setCurrentIndex(0)
        for name, spin in self.spins.items():
            spin.setValue(float(getattr(self._defaults, name)))

    def params(self) -> Any:
        """A ConnectivityParams (raises ConnectivityError for a combination it refuses)."""
        values: dict[str, Any] = {name: spin.value() for name, spin in self.spins.items()}
        values["method"] = self.method.currentData()
        return dataclasses.replace(self._defaults, **values)
