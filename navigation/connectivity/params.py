"""Parameters of the sgACC-anticorrelation target (Fox et al. 2012; Cash et al. 2021).

Defaults follow the published method as re-implemented in NIMH ConTarg's "seedmap + cluster"
route (Cash et al. 2021, Hum Brain Mapp 42:4155): a 10 mm sphere at the Fox 2012 subgenual
seed MNI (6, 16, -10); a search region that is the union of 20 mm spheres at the four a-priori
DLPFC sites of Fox 2012 (BA9, BA46, average 5-cm, average F3); 4 mm FWHM smoothing; 0.01-0.1 Hz
band-pass with global-signal regression; the most negative 10 % of the negative voxels; the
largest 26-connected cluster; its centre of mass.

Choices that are ours, with the reason:

* ``gm_threshold = 0.3``: at 2-3.5 mm BOLD voxels the 2-3 mm cortical ribbon is partial-volumed,
  so few cortical voxels reach a grey-matter probability of 0.5; 0.3 keeps the ribbon and still
  drops voxels that are mostly white matter or CSF (where a "target" would not be stimulable
  cortex). ConTarg intersects with the brain mask only; we add the grey-matter criterion.
* ``fd_threshold_mm = 0.5``: scrubbing threshold of Power et al. 2012 (NeuroImage 59:2142). It
  only tightens the hand-over's ``kept_volumes`` (both must keep a volume).
* ``alpha`` / ``null_surrogates``: the cluster must beat 99 phase-randomised copies of the seed
  (same power spectrum, so the same temporal autocorrelation; Theiler et al. 1992, Physica D
  58:77) at p < 0.05, otherwise "no cluster survives". Without such a test the percentile step
  always returns *some* cluster, even from pure noise.
* warning thresholds: mean FD > 0.25 mm is the "stringent" exclusion of Parkes et al. 2018
  (NeuroImage 171:415); > 20 % scrubbed volumes likewise; under 5 minutes of kept data
  correlations are unreliable (Birn et al. 2013, NeuroImage 83:550); seed temporal SNR < 20 flags
  the susceptibility dropout typical of the subgenual cingulate; a target moving > 3 mm between
  the two halves of the run is above the ~2 mm median test-retest distance of Cash et al. 2021.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from tmsnav.navigation.connectivity.method_errors import ConnectivityError

__all__ = ["ConnectivityParams", "FOX2012_SGACC_MNI", "DLPFC_SEARCH_CENTRES_MNI"]

FOX2012_SGACC_MNI: tuple[float, float, float] = (6.0, 16.0, -10.0)
#: BA9, BA46, average 5-cm site, average F3 site (Fox et al. 2012; ConTarg README "ROIs").
DLPFC_SEARCH_CENTRES_MNI: tuple[tuple[float, float, float], ...] = (
    (-36.0, 39.0, 43.0), (-44.0, 40.0, 29.0), (-41.0, 16.0, 54.0), (-37.0, 26.0, 49.0))
METHODS = ("cluster", "peak")


@dataclass(frozen=True)
class ConnectivityParams:
    """What the method does; stored with every result (``to_dict``) so a target can be redone."""

    seed_mni_mm: tuple[float, float, float] = FOX2012_SGACC_MNI
    seed_radius_mm: float = 10.0
    seed_map: str | None = None          # seed-weight NIfTI in MNI (seed-map variant, Fox 2013)
    search_centres_mni_mm: tuple[tuple[float, float, float], ...] = DLPFC_SEARCH_CENTRES_MNI
    search_radius_mm: float = 20.0
    gm_threshold: float = 0.3
    smoothing_fwhm_mm: float = 4.0
    band_hz: tuple[float, float] = (0.01, 0.1)
    method: str = "cluster"              # "cluster" (Cash 2021 / ConTarg) or "peak" (one voxel)
    percentile: float = 10.0
    fd_threshold_mm: float = 0.5
    # --- added after the contract: significance, stability and warning thresholds ---
    alpha: float = 0.05
    null_surrogates: int = 99
    n_blocks: int = 3
    stability_warn_mm: float = 3.0
    min_seed_tsnr: float = 20.0
    max_mean_fd_mm: float = 0.25
    max_scrubbed_fraction: float = 0.2
    min_kept_minutes: float = 5.0
    min_coverage: float = 0.5            # below: refuse (seed or search region not imaged)
    warn_coverage: float = 0.9           # below: warn

    def __post_init__(self) -> None:
        def num(name: str, lo: float, hi: float = float("inf")) -> None:
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not (lo <= float(v) <= hi):
                raise ConnectivityError(f"parameter {name} = {v!r} is outside {lo:g}..{hi:g}")
        object.__setattr__(self, "seed_mni_mm", _triple(self.seed_mni_mm, "seed_mni_mm"))
        centres = tuple(_triple(c, "search centre") for c in self.search_centres_mni_mm)
        if not centres:
            raise ConnectivityError("the search region needs at least one centre")
        object.__setattr__(self, "search_centres_mni_mm", centres)
        band = tuple(float(b) for b in self.band_hz)
        if len(band) != 2 or not 0 <= band[0] < band[1]:
            raise ConnectivityError(f"band_hz must be (low, high) Hz with low < high, got {self.band_hz!r}")
        object.__setattr__(self, "band_hz", band)
        if self.method not in METHODS:
            raise ConnectivityError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        num("seed_radius_mm", 1.0, 50.0)
        num("search_radius_mm", 1.0, 80.0)
        num("gm_threshold", 0.0, 1.0)
        num("smoothing_fwhm_mm", 0.0, 20.0)
        num("percentile", 0.1, 100.0)
        num("fd_threshold_mm", 0.0)
        num("alpha", 0.0, 1.0)
        num("null_surrogates", 0, 10000)
        num("n_blocks", 2, 20)
        num("min_coverage", 0.0, 1.0)
        num("warn_coverage", 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seed_mni_mm"] = list(self.seed_mni_mm)
        d["search_centres_mni_mm"] = [list(c) for c in self.search_centres_mni_mm]
        d["band_hz"] = list(self.band_hz)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ConnectivityParams":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConnectivityError(f"unknown connectivity parameters: {', '.join(unknown)}")
        kw = dict(d)
        if "search_centres_mni_mm" in kw:
            kw["search_centres_mni_mm"] = tuple(tuple(c) for c in kw["search_centres_mni_mm"])
        for key in ("seed_mni_mm", "band_hz"):
            if key in kw:
                kw[key] = tuple(kw[key])
        return cls(**kw)


def _triple(value: Any, what: str) -> tuple[float, float, float]:
    try:
        x, y, z = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConnectivityError(f"{what} must be three MNI coordinates in mm, got {value!r}") from None
    return (x, y, z)
