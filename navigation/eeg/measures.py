"""qEEG measures of one clean resting EEG: band powers, IAF, frontal alpha asymmetry, theta/beta.

Definitions (the spectrum and the band-edge convention are in ``spectra.py``, the IAF in ``iaf.py``):

* **Absolute band power** per channel and band (V²; ``band_power_abs_uv2`` gives µV²): the PSD
  integrated over the band. **Relative power**: over the 1-45 Hz total.
* **Frontal alpha asymmetry** FAA = ln P_alpha(F4) − ln P_alpha(F3), alpha 8-13 Hz, absolute power
  (Davidson 1998, Psychophysiology 35:607; conventions as reviewed by Allen, Coan & Nazarian 2004,
  Biol Psychol 67:183), and the same for F8/F7. Alpha power is inversely related to cortical
  activity, so FAA < 0 means relatively *less* left-frontal activity (the withdrawal pattern linked
  to depression) and FAA > 0 relatively more.
* **Theta/beta ratio** TBR = P_theta(4-8 Hz) / P_beta(13-21 Hz), absolute power, at Cz and Fz
  (Arns et al. 2013, J Atten Disord 17:374). The value depends on the band edges, so they are
  reported; ``tbr_beta_hz=(13, 30)`` gives the broad-beta variant.
* **Within-subject z-scores**: per band, each channel's relative power minus the mean over the
  good channels, over their SD (ddof 1). They show where on *this* head a band is strong; they are
  not comparisons with a population (``norms.py``: no open normative database exists).

FAA and TBR use fixed conventional bands, whatever ``bands`` is, so that a custom band table
cannot silently change them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tmsnav.navigation.eeg.cleaning import CleanEeg
from tmsnav.navigation.eeg.iaf import IafResult, individual_alpha_frequency
from tmsnav.navigation.eeg.norms import NO_NORMATIVE_DATABASE, Comparison, compare_with_published
from tmsnav.navigation.eeg.spectra import TOTAL_HZ, Bands, band_power, epoch_psd
from tmsnav.navigation.progress import ProgressCallback, report

__all__ = ["QeegMeasures", "compute_measures", "Bands", "FAA_ALPHA_HZ", "TBR_THETA_HZ", "TBR_BETA_HZ",
           "FAA_SIGN_CONVENTION", "V2_TO_UV2"]

FAA_ALPHA_HZ = (8.0, 13.0)
TBR_THETA_HZ = (4.0, 8.0)
TBR_BETA_HZ = (13.0, 21.0)
V2_TO_UV2 = 1e12
# Resting scalp EEG has a 1-45 Hz RMS of a few to some tens of µV; outside this band of plausibility
# the data are almost surely in the wrong unit (the reader checks too; this guards other callers).
PLAUSIBLE_RMS_UV = (0.5, 500.0)
FAA_SIGN_CONVENTION = ("FAA = ln(alpha power right) - ln(alpha power left), alpha 8-13 Hz. Alpha power is "
                       "inversely related to cortical activity: FAA < 0 means relatively LESS left-frontal "
                       "activity (the withdrawal/depression pattern); FAA > 0 relatively MORE left-frontal "
                       "activity.")


@dataclass
class QeegMeasures:
    """All measures of one recording; ``to_json_dict`` is what ``qeeg.json`` holds."""

    freqs_hz: np.ndarray
    psd_v2_per_hz: np.ndarray                         # (n_channels, n_freqs)
    channels: list[str]
    bands_hz: dict[str, tuple[float, float]]
    band_power_abs: dict[str, dict[str, float]]       # channel -> band -> V²
    band_power_rel: dict[str, dict[str, float]]       # channel -> band -> fraction of 1-45 Hz power
    iaf_hz: float | None
    iaf_method: str
    iaf_peak_pick_hz: float | None
    iaf_channels: list[str]
    faa_f4_f3: float | None
    faa_f8_f7: float | None
    tbr_cz: float | None
    tbr_fz: float | None
    tbr_band_hz: dict[str, tuple[float, float]]
    zscores: dict[str, dict[str, float]]
    comparisons: list[Comparison]
    condition: str = "eyes_closed"
    n_epochs: int = 0
    iaf_detail: IafResult | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def band_power_abs_uv2(self) -> dict[str, dict[str, float]]:
        """Absolute band powers in µV² (the unit qEEG reports use)."""
        return {ch: {b: V2_TO_UV2 * v for b, v in bands.items()} for ch, bands in self.band_power_abs.items()}

    def to_json_dict(self) -> dict:
        """Plain JSON types; powers in µV² (``_uv2``), frequencies in Hz."""
        detail = self.iaf_detail
        shown = np.asarray(self.freqs_hz) <= TOTAL_HZ[1]
        return {
            "iaf_hz": self.iaf_hz,
            "iaf_peak_pick_hz": self.iaf_peak_pick_hz,
            "iaf_method": self.iaf_method,
            "iaf_channels": list(self.iaf_channels),
            "iaf_per_channel": [] if detail is None else [
                {"channel": c.channel, "iaf_hz": c.iaf_hz, "peak_pick_hz": c.peak_pick_hz,
                 "aperiodic_exponent": c.aperiodic_exponent, "fit_r_squared": c.fit_r_squared,
                 "note": c.note} for c in detail.per_channel],
            "faa_f4_f3": self.faa_f4_f3,
            "faa_f8_f7": self.faa_f8_f7,
            "faa_alpha_band_hz": list(FAA_ALPHA_HZ),
            "faa_sign_convention": FAA_SIGN_CONVENTION,
            "tbr_cz": self.tbr_cz,
            "tbr_fz": self.tbr_fz,
            "tbr_band_hz": {k: list(v) for k, v in self.tbr_band_hz.items()},
            "bands_hz": {k: list(v) for k, v in self.bands_hz.items()},
            "band_power": {"unit": "µV²", "absolute": self.band_power_abs_uv2,
                           "relative_to_total": self.band_power_rel, "total_hz": list(TOTAL_HZ)},
            "zscores_within_recording": self.zscores,
            "normative_database": NO_NORMATIVE_DATABASE,
            "published_ranges": [c.to_json_dict() for c in self.comparisons],
            "condition": self.condition,
            "n_clean_epochs": self.n_epochs,
            "spectrum": {"freqs_hz": [float(f) for f in self.freqs_hz[shown]],     # the analysed 0-45 Hz
                         "channels": list(self.channels),
                         "psd_uv2_per_hz": (V2_TO_UV2 * self.psd_v2_per_hz[:, shown]).round(6).tolist()},
            "warnings": list(self.warnings),
        }


def _log_ratio(abs_power: dict[str, dict[str, float]], right: str, left: str, warnings: list[str],
               bad: dict[str, str], alpha: dict[str, float]) -> float | None:
    missing = [c for c in (right, left) if c not in abs_power]
    if missing:
        why = "; ".join(f"{c} {'rejected: ' + bad[c] if c in bad else 'not recorded'}" for c in missing)
        warnings.append(f"no FAA {right}/{left}: {why}")
        return None
    return float(np.log(alpha[right]) - np.log(alpha[left]))


def _zscores(rel: dict[str, dict[str, float]], names: list[str]) -> dict[str, dict[str, float]]:
    channels = list(rel)
    if len(channels) < 3:
        return {}
    out: dict[str, dict[str, float]] = {ch: {} for ch in channels}
    for band in names:
        values = np.array([rel[ch][band] for ch in channels])
        sd = values.std(ddof=1)
        for ch, v in zip(channels, values):
            out[ch][band] = float((v - values.mean()) / sd) if sd > 0 else 0.0
    return out


def compute_measures(clean: CleanEeg, bands: Bands = Bands(), progress: ProgressCallback | None = None,
                     tbr_beta_hz: tuple[float, float] = TBR_BETA_HZ) -> QeegMeasures:
    """Spectra, band powers, IAF, FAA, TBR, z-scores and published comparisons of ``clean``."""
    report(progress, 0.0, "spectra")
    freqs, psd = epoch_psd(clean.epochs_v, clean.sfreq_hz)
    channels = list(clean.channels)
    band_ranges = bands.as_dict()
    total = band_power(freqs, psd, *TOTAL_HZ)
    abs_power: dict[str, dict[str, float]] = {ch: {} for ch in channels}
    rel_power: dict[str, dict[str, float]] = {ch: {} for ch in channels}
    for name, (lo, hi) in band_ranges.items():
        values = band_power(freqs, psd, lo, hi)
        for i, ch in enumerate(channels):
            abs_power[ch][name] = float(values[i])
            rel_power[ch][name] = float(values[i] / total[i]) if total[i] > 0 else float("nan")
    warnings: list[str] = []
    rms_uv = float(np.sqrt(np.median(total)) * 1e6)
    if not PLAUSIBLE_RMS_UV[0] <= rms_uv <= PLAUSIBLE_RMS_UV[1]:
        warnings.append(f"implausible EEG amplitude: median 1-45 Hz RMS {rms_uv:.3g} µV (resting EEG is about "
                        f"{PLAUSIBLE_RMS_UV[0]:g}-{PLAUSIBLE_RMS_UV[1]:g} µV); check the units (volts vs microvolts): "
                        "absolute powers would be wrong by a factor of 1e12")
    report(progress, 0.3, "individual alpha frequency")
    iaf = individual_alpha_frequency(freqs, psd, channels, clean.condition)
    warnings.extend(iaf.warnings)
    report(progress, 0.8, "asymmetry and theta/beta")
    alpha = dict(zip(channels, map(float, band_power(freqs, psd, *FAA_ALPHA_HZ))))
    faa_f4_f3 = _log_ratio(abs_power, "F4", "F3", warnings, clean.bad_channels, alpha)
    faa_f8_f7 = _log_ratio(abs_power, "F8", "F7", warnings, clean.bad_channels, alpha)
    if clean.condition != "eyes_closed" and faa_f4_f3 is not None:
        warnings.append(f"FAA measured on {clean.condition.replace('_', '-')} data; published FAA work mostly "
                        "uses eyes-closed and eyes-open rest separately, compare like with like")
    theta = dict(zip(channels, map(float, band_power(freqs, psd, *TBR_THETA_HZ))))
    beta = dict(zip(channels, map(float, band_power(freqs, psd, *tbr_beta_hz))))

    def tbr(site: str) -> float | None:
        if site not in theta:
            reason = clean.bad_channels.get(site)
            warnings.append(f"no theta/beta ratio at {site}: " + (f"rejected: {reason}" if reason else "not recorded"))
            return None
        return theta[site] / beta[site] if beta[site] > 0 else None

    tbr_cz, tbr_fz = tbr("Cz"), tbr("Fz")
    beta_edges = (float(tbr_beta_hz[0]), float(tbr_beta_hz[1]))
    comparisons = compare_with_published(iaf.iaf_hz, faa_f4_f3, tbr_cz, tbr_beta_hz, clean.condition)
    report(progress, 1.0, "measures done")
    return QeegMeasures(
        freqs_hz=freqs, psd_v2_per_hz=psd, channels=channels, bands_hz=band_ranges,
        band_power_abs=abs_power, band_power_rel=rel_power, iaf_hz=iaf.iaf_hz, iaf_method=iaf.method,
        iaf_peak_pick_hz=iaf.peak_pick_hz, iaf_channels=iaf.channels, faa_f4_f3=faa_f4_f3, faa_f8_f7=faa_f8_f7,
        tbr_cz=tbr_cz, tbr_fz=tbr_fz, tbr_band_hz={"theta": TBR_THETA_HZ, "beta": beta_edges},
        zscores=_zscores(rel_power, list(band_ranges)), comparisons=comparisons, condition=clean.condition,
        n_epochs=clean.n_epochs, iaf_detail=iaf, warnings=warnings)
