"""Nuisance regression, band-pass and scrubbing of the extracted time courses.

One call of nilearn's ``signal.clean`` (Abraham et al. 2014, Front Neuroinform 8:14) per set of
signals, with the confound set of Fox et al. 2012 / ConTarg: the six motion parameters and their
temporal derivatives (Friston 24's first half; Satterthwaite et al. 2013, NeuroImage 64:240),
the global signal (ConTarg regresses it: the sgACC-DLPFC anticorrelation of Fox 2012 was
measured with global-signal regression), and the white-matter and CSF means. Linear detrend,
then a Butterworth band-pass of 0.01-0.1 Hz applied to signals and confounds alike (orthogonal
filtering: Lindquist et al. 2019, Hum Brain Mapp 40:2358), then regression.

Scrubbing: high-motion volumes are *censored with interpolation*, not cut out before filtering.
nilearn replaces them by a cubic spline through the kept volumes, filters the whole run, then
drops them before the regression (Power et al. 2014, NeuroImage 84:320). Cutting volumes out
first would join two distant samples and the band-pass would spread the jump; filtering with
the spike in place would smear the spike into its neighbours. Leading or trailing censored
volumes cannot be interpolated and are dropped.

Cleaning is linear and uses the same regressors for every column, so cleaning the mean of the
seed voxels equals the mean of the cleaned seed voxels: the seed time course is cleaned once.
"""

from __future__ import annotations

import numpy as np

from tmsnav.navigation.connectivity.method_errors import ConnectivityError, DamagedRunError
from tmsnav.navigation.connectivity.prepared import PreparedBold

__all__ = ["MOTION", "TISSUE", "confound_matrix", "clean", "kept_indices"]

MOTION = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
TISSUE = ("global_signal", "white_matter", "csf")


def missing_tissue(prepared: PreparedBold) -> tuple[str, ...]:
    """Tissue signals absent from the confounds (the extraction computes them)."""
    return tuple(t for t in TISSUE if t not in prepared.confound_names)


def confound_matrix(prepared: PreparedBold, computed: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """(T, 15) confounds: 6 motion, their backward differences (fMRIPrep's ``_derivative1``,
    first row 0), global, white matter, CSF. A column given by the source is used as is."""
    names = list(prepared.confound_names)
    table = prepared.confounds

    def column(name: str) -> np.ndarray | None:
        if name in names:
            return np.nan_to_num(table[:, names.index(name)].astype(float), nan=0.0)
        return computed.get(name)

    missing = [m for m in MOTION if m not in names]
    if missing:
        raise ConnectivityError(f"the confounds lack the motion parameters {', '.join(missing)} "
                                f"(found: {', '.join(names) or 'none'})")
    cols, out_names = [], []
    for m in MOTION:
        x = column(m)
        assert x is not None
        cols.append(x)
        out_names.append(m)
    for m in MOTION:
        d = column(f"{m}_derivative1")
        if d is None:
            x = cols[MOTION.index(m)]
            d = np.concatenate([[0.0], np.diff(x)])
        cols.append(d)
        out_names.append(f"{m}_derivative1")
    for t in TISSUE:
        x = column(t)
        if x is None:
            raise ConnectivityError(f"no {t} signal: neither in the confounds nor computable")
        cols.append(np.asarray(x, float))
        out_names.append(t)
    mat = np.column_stack(cols)
    if not np.all(np.isfinite(mat)):
        bad = sorted({out_names[j] for j in np.nonzero(~np.isfinite(mat).all(axis=0))[0]})
        raise DamagedRunError(f"the confounds contain NaN or infinite values in {', '.join(bad)}")
    return mat, out_names


def kept_indices(prepared: PreparedBold, fd_threshold_mm: float) -> np.ndarray:
    """Volumes kept by the hand-over AND with FD <= threshold (Power et al. 2012); the first
    volume's FD is undefined (NaN in fMRIPrep) and counts as 0."""
    fd = np.nan_to_num(prepared.framewise_displacement_mm, nan=0.0)
    return prepared.kept_volumes & (fd <= fd_threshold_mm)


def clean(signals: np.ndarray, confounds: np.ndarray, kept: np.ndarray, tr_s: float,
          band_hz: tuple[float, float]) -> np.ndarray:
    """``signals`` (T, n) -> cleaned (n_kept', n) float64, step for step what
    ``nilearn.signal.clean(detrend=True, standardize=None, filter="butterworth",
    sample_mask=...)`` does (order-5 Butterworth, ``sosfiltfilt`` with odd padding; confounds
    z-scored; QR with pivoting, columns with ``|R_ii| <= 100 eps`` dropped), with two changes:

    * every voxel is filtered in one vectorised ``sosfiltfilt`` call: nilearn's ``clean`` filters
      column by column (``butterworth(copy=False)`` loops over columns in Python), ~1 ms per
      voxel, i.e. 10-60 s for a 10 000-voxel search region cleaned six times (run, halves, blocks);
    * every censored volume is interpolated. nilearn 0.14.1 indexes with ``~sample_mask`` on an
      *integer* index array, i.e. bitwise NOT = negative indices: a censored volume ``p`` is only
      replaced when volume ``T-1-p`` is kept, so two censored volumes at mirror positions keep
      their spikes through the filter (tests: test_cleaning.py).

    ``kept`` is a boolean mask over the T volumes. Raises when the low-pass edge is at or above
    the Nyquist frequency (TR too long for the band) or too few volumes are left to regress."""
    from scipy.interpolate import CubicSpline
    from scipy.linalg import qr
    from scipy.signal import butter, sosfiltfilt

    nyquist = 0.5 / tr_s
    if band_hz[1] >= nyquist:
        raise ConnectivityError(f"the band-pass upper edge {band_hz[1]:g} Hz is above the Nyquist "
                                f"frequency {nyquist:.3f} Hz of a {tr_s:g} s TR: check the TR or "
                                "lower the band")
    kept = np.asarray(kept, dtype=bool)
    idx = np.nonzero(kept)[0]
    if len(idx) < confounds.shape[1] + 10:
        raise DamagedRunError(f"only {len(idx)} volumes are left after scrubbing, too few to "
                              f"regress {confounds.shape[1]} nuisance signals and estimate a "
                              "correlation")
    sig = np.array(signals, dtype=np.float64).reshape(len(kept), -1)
    conf = np.array(confounds, dtype=np.float64).reshape(len(kept), -1)
    if len(idx) < len(kept):
        times = np.arange(len(kept)) * tr_s
        gone = ~kept
        for arr in (sig, conf):
            arr[gone] = CubicSpline(times[idx], arr[idx], extrapolate=False)(times[gone])
        first, last = int(idx[0]), int(idx[-1]) + 1     # leading/trailing gaps: no spline, dropped
        sig, conf, idx = sig[first:last], conf[first:last], idx - first
    sig, conf = _detrend(sig), _detrend(conf)
    if band_hz[0] > 0:
        sos = butter(5, [band_hz[0], band_hz[1]], btype="band", output="sos", fs=1.0 / tr_s)
    else:
        sos = butter(5, band_hz[1], btype="low", output="sos", fs=1.0 / tr_s)
    sig = sosfiltfilt(sos, sig, axis=0, padtype="odd")[idx]
    conf = sosfiltfilt(sos, conf, axis=0, padtype="odd")[idx]
    conf = conf - conf.mean(axis=0)
    sd = conf.std(axis=0, ddof=1)
    sd[sd < np.finfo(np.float64).eps] = 1.0
    conf /= sd
    q, r, _ = qr(conf, mode="economic", pivoting=True)
    q = q[:, np.abs(np.diag(r)) > np.finfo(np.float64).eps * 100.0]
    sig -= q @ (q.T @ sig)
    return sig


def _detrend(x: np.ndarray) -> np.ndarray:
    """Remove the mean and the least-squares line from each column (nilearn ``_detrend``)."""
    x = x - x.mean(axis=0)
    reg = np.arange(x.shape[0], dtype=np.float64)
    reg -= reg.mean()
    norm = np.sqrt((reg ** 2).sum())
    if norm >= np.finfo(np.float64).eps:
        reg /= norm
    return x - np.outer(reg, reg @ x)
