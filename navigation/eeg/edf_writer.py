"""A small EDF / EDF+ writer, written from the published specifications.

EDF: Kemp, Värri, Rosa, Nielsen & Gade 1992, "A simple format for exchange of digitized
polygraphic recordings", Electroencephalogr Clin Neurophysiol 82:391-393. EDF+: Kemp & Olivan
2003, "European data format 'plus' (EDF+)", Clin Neurophysiol 114:1755-1761.

Why tmsnav writes EDF itself rather than through MNE's exporter: the sample recording must
exercise the reader path that clinic files take (old-style labels such as ``EEG T3-REF``, a
physical range per channel, an ``EDF Annotations`` signal with eyes-closed/open markers), and
the tests read it back with two independent readers (MNE and edfio), which would prove nothing if
one of them had written it. The tests also use it to make the damaged files a clinic sees (clipped
channels, a wrong unit label).

Layout (all header fields are left-aligned ASCII padded with spaces):
256-byte fixed header, 256 bytes per signal (label 16, transducer 80, physical dimension 8,
physical min/max 8+8, digital min/max 8+8, prefiltering 80, samples per record 8, reserved 32),
then data records: per signal its samples as 16-bit little-endian two's complement integers,
physical = (digital - dmin) * (pmax - pmin) / (dmax - dmin) + pmin. EDF+ annotations are
Time-stamped Annotation Lists (TALs): ``+onset[\\x15duration]\\x14text\\x14\\x00``, the first TAL of
every record being its time-keeping stamp ``+start\\x14\\x14\\x00``.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["write_edf", "DIGITAL_MIN", "DIGITAL_MAX"]

DIGITAL_MIN = -32768
DIGITAL_MAX = 32767
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _ascii(text: str, width: int) -> bytes:
    raw = text.encode("ascii", errors="replace")
    if len(raw) > width:
        raise ValueError(f"EDF header field '{text}' is longer than {width} characters")
    return raw.ljust(width, b" ")


def _num(x: float, width: int = 8) -> bytes:
    """A number in at most ``width`` characters (EDF numeric fields are ASCII)."""
    if float(x).is_integer() and len(str(int(x))) <= width:
        return _ascii(str(int(x)), width)
    for digits in range(width, 0, -1):
        text = f"{x:.{digits}g}"
        if len(text) <= width:
            return _ascii(text, width)
    raise ValueError(f"{x} does not fit an EDF number field")


def _tal(onset: float, text: str = "", duration: float | None = None) -> bytes:
    stamp = f"{onset:+.6f}".rstrip("0").rstrip(".")
    out = stamp.encode("ascii")
    if duration is not None and duration > 0:
        out += b"\x15" + f"{duration:.6f}".rstrip("0").rstrip(".").encode("ascii")
    return out + b"\x14" + text.encode("utf-8") + b"\x14\x00"


def _physical_range(x: np.ndarray) -> tuple[float, float]:
    peak = float(np.max(np.abs(x))) if x.size else 1.0
    top = float(np.ceil(max(peak, 1e-3) * 1.05 * 1000) / 1000)
    return -top, top


def write_edf(path: str | Path, physical: np.ndarray, sfreq_hz: float, labels: Sequence[str], *,
              unit: str = "uV", physical_min: Sequence[float] | None = None,
              physical_max: Sequence[float] | None = None,
              annotations: Sequence[tuple[float, float, str]] = (), record_s: float = 1.0,
              start: _dt.datetime = _dt.datetime(2020, 1, 1, 9, 0, 0),
              transducer: str = "AgAgCl electrode", prefilter: str = "HP:0.1Hz LP:100Hz",
              edf_plus: bool = True) -> Path:
    """Write ``physical`` (n_signals, n_samples; values in ``unit``) as EDF+ (or plain EDF).

    Values outside the physical range are clipped to the digital limits, as an amplifier does.
    The patient and recording fields are the EDF+ anonymous form ("X X X X"), never a name.
    ``n_samples`` must be a whole number of records (``sfreq_hz * record_s`` samples each).
    """
    x = np.asarray(physical, dtype=np.float64)
    n_sig, n_samp = x.shape
    per_rec = sfreq_hz * record_s
    if abs(per_rec - round(per_rec)) > 1e-9:
        raise ValueError("sfreq_hz * record_s must be a whole number of samples")
    spr = int(round(per_rec))
    if n_samp % spr:
        raise ValueError(f"{n_samp} samples are not a whole number of {spr}-sample records")
    n_rec = n_samp // spr
    if len(labels) != n_sig:
        raise ValueError("one label per signal")
    ranges = [_physical_range(row) for row in x]
    pmin = list(physical_min) if physical_min is not None else [r[0] for r in ranges]
    pmax = list(physical_max) if physical_max is not None else [r[1] for r in ranges]

    # Annotations: each TAL goes in the record holding its onset, after the record's time stamp.
    per_record: list[list[bytes]] = [[_tal(i * record_s)] for i in range(n_rec)]
    if edf_plus:
        for onset, dur, text in annotations:
            i = min(n_rec - 1, max(0, int(onset // record_s)))
            per_record[i].append(_tal(onset, text, dur))
    ann_bytes = max(len(b"".join(r)) for r in per_record) if edf_plus else 0
    ann_samples = max(30, (ann_bytes + 1) // 2 + 1) if edf_plus else 0

    sig_labels = list(labels) + (["EDF Annotations"] if edf_plus else [])
    ns = len(sig_labels)
    cols: list[list[bytes]] = [[] for _ in range(10)]
    for i, lab in enumerate(sig_labels):
        is_ann = edf_plus and i == n_sig
        cols[0].append(_ascii(lab, 16))
        cols[1].append(_ascii("" if is_ann else transducer, 80))
        cols[2].append(_ascii("" if is_ann else unit, 8))
        cols[3].append(_num(-1 if is_ann else pmin[i]))
        cols[4].append(_num(1 if is_ann else pmax[i]))
        cols[5].append(_num(DIGITAL_MIN))
        cols[6].append(_num(DIGITAL_MAX))
        cols[7].append(_ascii("" if is_ann else prefilter, 80))
        cols[8].append(_num(ann_samples if is_ann else spr))
        cols[9].append(_ascii("", 32))
    date = f"{start.day:02d}-{_MONTHS[start.month - 1]}-{start.year}"
    header = (_ascii("0", 8) + _ascii("X X X X", 80)
              + _ascii(f"Startdate {date} X X X" if edf_plus else "Startdate X", 80)
              + _ascii(start.strftime("%d.%m.%y"), 8) + _ascii(start.strftime("%H.%M.%S"), 8)
              + _num(256 * (ns + 1)) + _ascii("EDF+C" if edf_plus else "", 44)
              + _num(n_rec) + _num(record_s) + _num(ns, 4))
    header += b"".join(b"".join(c) for c in cols)

    scale = (DIGITAL_MAX - DIGITAL_MIN) / (np.asarray(pmax) - np.asarray(pmin))
    digital = np.round((x - np.asarray(pmin)[:, None]) * scale[:, None] + DIGITAL_MIN)
    digital = np.clip(digital, DIGITAL_MIN, DIGITAL_MAX).astype("<i2")
    blocks = digital.reshape(n_sig, n_rec, spr).transpose(1, 0, 2)   # record, signal, sample
    p = Path(path)
    with open(p, "wb") as f:
        f.write(header)
        for r in range(n_rec):
            f.write(blocks[r].tobytes())
            if edf_plus:
                f.write(b"".join(per_record[r]).ljust(2 * ann_samples, b"\x00"))
    return p
