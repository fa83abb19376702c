"""Time courses and spatial maps of the synthetic resting-state run (:mod:`.sample_run`).

The run is a low-rank sum, evaluated block by block along time so a 1200-volume run never sits
in memory: ``S(v, t) = base(v) * (1 + sum_k M[v, k] * C[k, t]) + thermal noise``. The columns of
``M`` are spatial maps (seed sphere, planted cluster, global, smooth "network" and physiological
fields, drift), the rows of ``C`` their time courses.

What the components imitate (each is something a real rs-fMRI pipeline has to cope with):

* **seed**: the sgACC time course, band-limited to 0.01-0.1 Hz, the band in which resting-state
  fluctuations are correlated (Biswal et al. 1995, MRM 34:537; Fox et al. 2012, Biol Psychiatry
  72:595). The planted DLPFC cluster carries the same course with the opposite sign.
* **global signal**: a brain-wide fluctuation (Power et al. 2017, NeuroImage 146:609); the method
  regresses it out.
* **networks**: smooth random fields with their own band-limited courses: spatially correlated
  signal unrelated to the seed, so spurious clusters are possible and the planted one must beat them.
* **physiological**: cardiac (~1.1 Hz) and respiratory (~0.3 Hz) fluctuations aliased by the TR
  (Birn 2012, NeuroImage 62:864), strongest in CSF.
* **drift**: slow linear and quadratic trends (scanner heating), removed by the band-pass.
* **thermal noise**: white, independent per voxel (added by the caller, after head motion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["band_limited", "aliased_frequency_hz", "smooth_field", "Components", "build_components"]

CARDIAC_HZ = 1.1
RESPIRATORY_HZ = 0.3


def band_limited(rng: np.random.Generator, n: int, tr_s: float, low_hz: float, high_hz: float) -> np.ndarray:
    """Unit-variance zero-mean noise whose spectrum is flat in ``[low_hz, high_hz]`` and zero elsewhere."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, d=tr_s)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0.0
    x = np.fft.irfft(spectrum, n)
    x -= x.mean()
    return x / max(float(x.std()), 1e-12)


def aliased_frequency_hz(f_hz: float, tr_s: float) -> float:
    """Where a frequency ``f_hz`` lands after sampling every ``tr_s`` seconds (folded into 0..fs/2)."""
    fs = 1.0 / tr_s
    folded = f_hz % fs
    return float(min(folded, fs - folded))


def _physio(rng: np.random.Generator, n: int, tr_s: float, f_hz: float) -> np.ndarray:
    """A quasi-periodic oscillation at ``f_hz`` (rate wandering +-5 %), sampled every TR: aliased."""
    rate = f_hz * (1.0 + 0.05 * band_limited(rng, n, tr_s, 0.0, 0.02))
    phase = 2 * np.pi * np.cumsum(rate) * tr_s + rng.uniform(0, 2 * np.pi)
    x = np.sin(phase)
    x -= x.mean()
    return x / max(float(x.std()), 1e-12)


def smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma_vox: np.ndarray) -> np.ndarray:
    """Gaussian-smoothed white noise, unit variance: a spatially correlated random map."""
    field = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_vox)
    return field / max(float(field.std()), 1e-12)


@dataclass
class Components:
    """``maps`` (V, K) float32 over the flattened grid, ``courses`` (K, T) float64, their names."""

    maps: np.ndarray
    courses: np.ndarray
    names: list[str]

    def fluctuation(self, start: int, stop: int) -> np.ndarray:
        """Fractional signal change (V, stop-start) of volumes ``start..stop``."""
        return self.maps @ self.courses[:, start:stop].astype(np.float32)


@dataclass(frozen=True)
class Amplitudes:
    """Fractional amplitudes (1 % = 0.01) of each component; sd of its course is 1."""

    seed: float = 0.012
    cluster: float = 0.012
    global_signal: float = 0.008
    networks: float = 0.002
    cardiac: float = 0.006
    respiratory: float = 0.005
    drift: float = 0.015


def build_components(rng: np.random.Generator, *, n: int, tr_s: float, grid: tuple[int, int, int],
                     voxel_mm: np.ndarray, brain: np.ndarray, csf: np.ndarray, seed_weight: np.ndarray,
                     cluster_weight: np.ndarray, spikes: np.ndarray, amplitudes: Amplitudes = Amplitudes(),
                     n_networks: int = 3) -> tuple[Components, np.ndarray]:
    """Maps and courses of every component (see the module docstring); also the seed course.

    ``spikes``: volumes with a sudden head movement; they get a brief smooth intensity change
    (spin-history-like), which is what scrubbing those volumes removes."""
    sigma = 8.0 / np.asarray(voxel_mm, float)          # ~8 mm smooth fields: network-sized blobs
    seed_course = band_limited(rng, n, tr_s, 0.01, 0.1)
    columns: list[np.ndarray] = []
    courses: list[np.ndarray] = []
    names: list[str] = []

    def add(name: str, spatial: np.ndarray, course: np.ndarray) -> None:
        columns.append(np.asarray(spatial, np.float32).ravel())
        courses.append(np.asarray(course, float))
        names.append(name)

    add("seed", amplitudes.seed * seed_weight, seed_course)
    add("cluster", -amplitudes.cluster * cluster_weight, seed_course)
    add("global", amplitudes.global_signal * brain, band_limited(rng, n, tr_s, 0.005, 0.1))
    for k in range(n_networks):
        add(f"network{k + 1}", amplitudes.networks * brain * smooth_field(rng, grid, sigma),
            band_limited(rng, n, tr_s, 0.01, 0.1))
    physio_weight = brain * (0.3 + 2.0 * csf)
    add("cardiac", amplitudes.cardiac * physio_weight * np.abs(smooth_field(rng, grid, sigma)),
        _physio(rng, n, tr_s, CARDIAC_HZ))
    add("respiratory", amplitudes.respiratory * physio_weight * np.abs(smooth_field(rng, grid, sigma)),
        _physio(rng, n, tr_s, RESPIRATORY_HZ))
    ramp = np.linspace(-0.5, 0.5, n)
    add("drift_linear", amplitudes.drift * (1.0 + 0.5 * smooth_field(rng, grid, 2 * sigma)), ramp)
    add("drift_quadratic", 0.3 * amplitudes.drift * smooth_field(rng, grid, 2 * sigma), ramp ** 2 - 1.0 / 12)
    spike_course = np.zeros(n)
    spike_course[np.asarray(spikes, int)] = 1.0
    add("spikes", 0.02 * brain * smooth_field(rng, grid, sigma), spike_course)
    maps = np.stack(columns, axis=1)
    return Components(maps, np.stack(courses), names), seed_course
