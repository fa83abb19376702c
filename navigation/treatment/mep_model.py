"""A simulated subject whose MEPs follow a known hotspot and a known resting motor threshold.

Used by the tests, the demo and the benchmark to measure how close the hotspot and threshold
methods come to a truth that real subjects never reveal. The model, kept deliberately simple:

* **Space.** The coil excites the cortex under it (its axis meets the cortex ``depth_mm`` below
  the scalp entry, or the Target's cortex point). The effective intensity falls off with the
  distance ``d`` between that point and the subject's hotspot as a Gaussian,
  ``I_eff = I * exp(-d^2 / (2 s^2))`` - the shape of a figure-8 coil's field-weighted excitability
  at the cortex, a few centimetres wide. Coil orientation is not modelled.
* **Intensity.** The median MEP rises with I_eff along a Boltzmann sigmoid (the usual
  recruitment-curve model, Devanne H, Lavoie BA, Capaday C. Input-output properties and gain
  changes in the human corticospinal pathway. Exp Brain Res 1997;114:329-338), placed so that
  the median MEP is exactly 50 µV at the true threshold.
* **Trial-to-trial variability.** Each MEP is the median times a log-normal factor
  ``exp(sigma * z)``; MEP amplitudes are right-skewed and roughly log-normal (Kiers L, Cros D,
  Chiappa KH, Fang J. Variability of motor potentials evoked by transcranial magnetic stimulation.
  Electroencephalogr Clin Neurophysiol 1993;89:415-423).

Because the log-normal factor has median 1, P(MEP >= 50 µV) is exactly 0.5 at ``rmt_pct`` on the
hotspot: the known threshold by the IFCN definition (Rossini et al. 2015). :meth:`p_response`
gives the exact probability at any intensity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.targets import Target
from tmsnav.navigation.transforms import Frame, Transform

__all__ = ["SimulatedSubject", "synthetic_emg_trace", "random_subject", "RESPONSE_UV"]

RESPONSE_UV = 50.0  # the IFCN response criterion (peak-to-peak)


@dataclass(frozen=True, eq=False)
class SimulatedSubject:
    """Hotspot (cortex point in ``mri`` mm), true resting motor threshold and the curve's shape."""

    hotspot_mm: np.ndarray
    rmt_pct: float = 45.0
    spatial_sd_mm: float = 20.0     # Gaussian fall-off of the excitability with cortical distance
    slope_pct: float = 4.0          # Boltzmann slope (% MSO) of the recruitment curve
    mep_max_uv: float = 2500.0      # plateau of the median MEP
    variability_sigma: float = 0.6  # SD of ln(MEP)
    depth_mm: float = 20.0          # scalp-to-cortex depth used when a pose has no cortex point
    noise_floor_uv: tuple[float, float] = (5.0, 15.0)  # EMG noise peak-to-peak in the window

    def __post_init__(self) -> None:
        h = np.asarray(self.hotspot_mm, float).reshape(3)
        h.setflags(write=False)
        object.__setattr__(self, "hotspot_mm", h)
        if not 1.0 <= self.rmt_pct <= 100.0:
            raise NavigationError(f"a threshold must lie within 1-100 % MSO, got {self.rmt_pct}")
        if min(self.spatial_sd_mm, self.slope_pct, self.depth_mm) <= 0 or self.variability_sigma < 0:
            raise NavigationError("spatial SD, slope and depth must be > 0 and variability >= 0")
        if not 0 <= self.noise_floor_uv[0] <= self.noise_floor_uv[1] < RESPONSE_UV:
            raise NavigationError("the EMG noise floor must lie below the 50 µV response criterion")
        if self.mep_max_uv <= 2 * RESPONSE_UV:
            raise NavigationError("the MEP plateau must be well above 50 µV")

    # ----- geometry ------------------------------------------------------------------------------
    def stimulated_point(self, where: "Target | Transform | np.ndarray") -> np.ndarray:
        """The cortical point a coil at ``where`` excites most.

        A Target gives its cortex point (or scalp + depth along its normal); a
        ``mri_from_hotspot``/``mri_from_target`` Transform gives origin + depth along its +z;
        three numbers are taken as that cortical point already."""
        if isinstance(where, Target):
            if where.cortex_point_mm is not None:
                return np.asarray(where.cortex_point_mm, float)
            return where.scalp_point_mm + self.depth_mm * where.normal
        if isinstance(where, Transform):
            if where.to_frame != Frame.MRI or where.from_frame not in (Frame.HOTSPOT, Frame.TARGET):
                raise NavigationError(f"a coil pose must be mri_from_hotspot, got {where.name}")
            m = where.matrix
            return m[:3, 3] + self.depth_mm * m[:3, 2]
        p = np.asarray(where, float)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise NavigationError(f"a stimulated point must be three finite numbers, got {where!r}")
        return p

    def effective_intensity(self, where: "Target | Transform | np.ndarray", intensity_pct: float) -> float:
        d = float(np.linalg.norm(self.stimulated_point(where) - self.hotspot_mm))
        return float(intensity_pct) * math.exp(-d * d / (2.0 * self.spatial_sd_mm ** 2))

    # ----- intensity -----------------------------------------------------------------------------
    @property
    def _i50(self) -> float:
        """Boltzmann midpoint, placed so that the median MEP is 50 µV at the threshold."""
        return self.rmt_pct + self.slope_pct * math.log(self.mep_max_uv / RESPONSE_UV - 1.0)

    def median_mep_uv(self, effective_pct: float) -> float:
        z = (self._i50 - float(effective_pct)) / self.slope_pct
        return self.mep_max_uv / (1.0 + math.exp(min(z, 700.0)))

    def p_response(self, intensity_pct: float, where: "Target | Transform | np.ndarray | None" = None) -> float:
        """Exact P(MEP >= 50 µV) at ``intensity_pct`` (at the hotspot when ``where`` is None)."""
        eff = float(intensity_pct) if where is None else self.effective_intensity(where, intensity_pct)
        med = self.median_mep_uv(eff)
        if self.variability_sigma == 0:
            return float(med >= RESPONSE_UV)
        zz = math.log(med / RESPONSE_UV) / self.variability_sigma
        return 0.5 * math.erfc(-zz / math.sqrt(2.0))

    def mep_uv(self, where: "Target | Transform | np.ndarray | None", intensity_pct: float,
               rng: np.random.Generator) -> float:
        """One simulated MEP (peak-to-peak µV) for a pulse at ``where`` (None = on the hotspot)."""
        if not 0.0 <= float(intensity_pct) <= 100.0:
            raise NavigationError(f"stimulator output must be 0-100 % MSO, got {intensity_pct}")
        eff = float(intensity_pct) if where is None else self.effective_intensity(where, intensity_pct)
        mep = self.median_mep_uv(eff) * math.exp(self.variability_sigma * float(rng.standard_normal()))
        # the peak-to-peak of EMG noise in the window is the floor of any measurement; a floor
        # below 50 µV leaves P(MEP >= 50 µV), hence the true threshold, unchanged
        return max(mep, float(rng.uniform(*self.noise_floor_uv)))


def random_subject(rng: np.random.Generator, hotspot_mm=(0.0, 0.0, 0.0)) -> SimulatedSubject:
    """A subject drawn from plausible ranges (threshold 30-75 % MSO, slope 2-7 %, ln-SD 0.3-0.9,
    plateau 1-4 mV): the population the benchmark and the tests average over."""
    return SimulatedSubject(np.asarray(hotspot_mm, float), rmt_pct=float(rng.uniform(30, 75)),
                            slope_pct=float(rng.uniform(2.0, 7.0)),
                            mep_max_uv=float(rng.uniform(1000, 4000)),
                            variability_sigma=float(rng.uniform(0.3, 0.9)))


def synthetic_emg_trace(amplitude_uv: float, sfreq_hz: float = 5000.0, *, pulse_offset_s: float = 0.1,
                        duration_s: float = 0.2, latency_s: float = 0.022, noise_uv: float = 3.0,
                        background_uv: float = 0.0, artefact_uv: float = 2000.0,
                        rng: np.random.Generator | None = None) -> np.ndarray:
    """A surface-EMG trace in volts: noise, a stimulus artefact decaying in ~2 ms, and a biphasic
    MEP of exactly ``amplitude_uv`` peak-to-peak (before noise) starting at ``latency_s``.
    ``background_uv`` adds a 30-150 Hz burst of voluntary activity of that peak-to-peak size
    throughout (a muscle that is not at rest)."""
    gen = rng if rng is not None else np.random.default_rng(0)
    n = int(round(duration_s * sfreq_hz))
    t = np.arange(n) / sfreq_hz - pulse_offset_s
    x = gen.normal(0.0, noise_uv / 6.0, n)  # ~noise_uv peak-to-peak
    after = t >= 0
    x[after] += artefact_uv * np.exp(-t[after] / 0.0007) * np.cos(2 * np.pi * 1500 * t[after])
    mep_t = t - latency_s
    dur = 0.012
    inside = (mep_t >= 0) & (mep_t <= dur)
    x[inside] += 0.5 * amplitude_uv * np.sin(2 * np.pi * mep_t[inside] / dur)
    if background_uv > 0:
        burst = sum(np.sin(2 * np.pi * f * t + gen.uniform(0, 2 * np.pi)) for f in (37.0, 71.0, 113.0, 149.0))
        x += burst * (background_uv / max(float(np.ptp(burst)), 1e-12))
    return x * 1e-6
