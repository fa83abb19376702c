"""Offline reference data for the targeting tests (all shipped inside the mne wheel).

- fsaverage scalp ``fsaverage-head.fif`` (metres -> mm) and inner skull (stand-in brain surface),
  MRI frame = MNI305.
- ``fsaverage_1010.tsv``: 10-10 positions computed on the fsaverage head with FieldTrip's
  ft_electrodeplacement (Oostenveld & Praamstra 2001 method; mne-python PR #13936), incl. Iz.
- ``spherical_1010.tsv``: the eeg_positions package's ideal unit-sphere positions.
- ``colin27_10*.elc``: FieldTrip's standard_1005/1020 positions on the Colin27 scalp (mm).
Each test file loads this module by path (tests run with --import-mode=importlib, no conftest).
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pyvista as pv



def _mne_dir() -> str:
    import mne
    return os.path.dirname(mne.__file__)


def _surface(name: str) -> pv.PolyData:
    import mne
    s = mne.read_bem_surfaces(os.path.join(_mne_dir(), "data", "fsaverage", name), verbose=False)[0]
    return pv.PolyData.from_regular_faces(np.asarray(s["rr"], float) * 1000.0, np.asarray(s["tris"]))


@functools.lru_cache(maxsize=None)
def fsaverage_scalp() -> pv.PolyData:
    return _surface("fsaverage-head.fif")


@functools.lru_cache(maxsize=None)
def fsaverage_inner_skull() -> pv.PolyData:
    return _surface("fsaverage-inner_skull-bem.fif")


def _tsv(name: str, scale: float) -> dict[str, np.ndarray]:
    path = os.path.join(_mne_dir(), "channels", "data", "montages", name)
    out = {}
    with open(path) as fh:
        next(fh)
        for line in fh:
            label, x, y, z = line.split()
            out[label] = np.array([float(x), float(y), float(z)]) * scale
    return out


@functools.lru_cache(maxsize=None)
def fsaverage_1010() -> dict[str, np.ndarray]:
    return _tsv("fsaverage_1010.tsv", 1000.0)


@functools.lru_cache(maxsize=None)
def spherical_1010() -> dict[str, np.ndarray]:
    return _tsv("spherical_1010.tsv", 1.0)


@functools.lru_cache(maxsize=None)
def colin27(name: str = "colin27_1005.elc") -> dict[str, np.ndarray]:
    path = os.path.join(_mne_dir(), "channels", "data", "montages", name)
    lines = open(path).read().splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.strip() == "Positions")
    j = next(k for k, ln in enumerate(lines) if ln.strip() == "Labels")
    pos = [[float(v) for v in ln.split()[-3:]] for ln in lines[i + 1:j] if ln.strip()]
    labels = [w for ln in lines[j + 1:] for w in ln.split()]
    return dict(zip(labels, np.array(pos)))


# FreeSurfer's linear MNI305 -> MNI152 matrix (FreeSurfer's CoordinateSystems page)
MNI152_FROM_MNI305 = np.array([[0.9975, -0.0073, 0.0176, -0.0429],
                               [0.0146, 1.0009, -0.0024, 1.5496],
                               [-0.0130, -0.0093, 0.9971, 1.1840],
                               [0.0, 0.0, 0.0, 1.0]])


def oblique_pose() -> np.ndarray:
    """A rigid 4x4: yaw 25 deg, pitch -20 deg, roll 15 deg and a 40/-25/30 mm shift."""
    from scipy.spatial.transform import Rotation
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("zxy", [25, -20, 15], degrees=True).as_matrix()
    m[:3, 3] = [40.0, -25.0, 30.0]
    return m


def moved(mesh: pv.PolyData, matrix: np.ndarray) -> pv.PolyData:
    out = mesh.copy()
    out.points = np.asarray(mesh.points) @ matrix[:3, :3].T + matrix[:3, 3]
    return out


def sphere(radius: float = 90.0, resolution: int = 120) -> pv.PolyData:
    return pv.Sphere(radius=radius, theta_resolution=resolution, phi_resolution=resolution)
